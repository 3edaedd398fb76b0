//! The one place where `JsValue`s from the page become typed Rust values and back: the
//! config object, string lists passed to `accept`, init options, and the plain object that
//! `getConsent()` returns.

use crate::sdk::InitOptions;
use kelisim_core::strings::concat;
use kelisim_core::value::{field_path, index_path, Problems};
use kelisim_core::{Config, ConfigError, Consent, Value};
use wasm_bindgen::{JsCast, JsValue};

/// Deeper than this is not a config (and guards against cyclic objects). The layers' node
/// trees are the deepest part of a compiled config.
const MAX_DEPTH: usize = 32;

/// A compiled config object (or its JSON text) to a `Config`. Anything else is refused with
/// one error naming what it got: the loader compiles a raw `kelisim.json` before it gets here.
pub fn config_from_js(value: &JsValue) -> Result<Config, ConfigError> {
    Config::from_compiled(&compiled_tree(value)?)
}

/// [`config_from_js`] with the purposes of the config's forms and the texts of their
/// confirmation steps too: the forms module's reader (the runtime needs only the forms' ids).
pub fn config_with_forms_from_js(value: &JsValue) -> Result<Config, ConfigError> {
    let tree = compiled_tree(value)?;
    let mut config = Config::from_compiled(&tree)?;
    config.read_compiled_forms(&tree)?;
    Ok(config)
}

/// A compiled config object (or its JSON text) as a `Value` tree.
fn compiled_tree(value: &JsValue) -> Result<Value, ConfigError> {
    let value = match value.as_string() {
        Some(text) => js_sys::JSON::parse(&text).map_err(|_| ConfigError {
            field: "config".into(),
            message: "is a string that is not valid JSON".into(),
            suggestion: None,
        })?,
        None => value.clone(),
    };
    let problems = Problems::default();
    let tree = value_from_js(&value, "config", 0, &problems);
    problems.into_result(tree)
}

/// Copies a JS value into a `Value` tree. Functions, symbols and the like are reported to
/// `problems` naming where they are (a config is plain data), and read as `null`. After the
/// first problem nothing more is read, so a cyclic or huge object is not walked any further.
/// No early returns through `?`: each would drop the items read so far (see `Problems`).
fn value_from_js(value: &JsValue, path: &str, depth: usize, problems: &Problems) -> Value {
    let unsupported = |what: &str| {
        problems.report(ConfigError {
            field: path.to_owned(),
            message: concat(&[
                "is ",
                what,
                "; a config holds only strings, numbers, booleans, arrays and objects",
            ]),
            suggestion: None,
        });
        Value::Null
    };
    if problems.found() {
        return Value::Null;
    }
    if depth > MAX_DEPTH {
        return unsupported("nested too deeply");
    }
    if value.is_null() || value.is_undefined() {
        return Value::Null;
    }
    if let Some(boolean) = value.as_bool() {
        return Value::Bool(boolean);
    }
    if let Some(number) = value.as_f64() {
        return Value::Number(number);
    }
    if let Some(text) = value.as_string() {
        return Value::String(text);
    }
    if value.is_function() {
        return unsupported("a function");
    }
    if js_sys::Array::is_array(value) {
        let mut items = Vec::new();
        let array = js_sys::Array::from(value);
        for index in 0..array.length() {
            items.push(value_from_js(
                &array.get_unchecked(index),
                &index_path(path, index as usize),
                depth + 1,
                problems,
            ));
        }
        return Value::Array(items);
    }
    // Any object, whatever its prototype (an `instanceof Object` test would be one more
    // import, and would refuse `Object.create(null)`).
    if value.is_object() {
        let mut fields = Vec::new();
        // Own enumerable string keys, as JSON.stringify would see them.
        for key in js_sys::Object::keys(value.unchecked_ref::<js_sys::Object>()).iter() {
            let key = key.as_string().unwrap_or_default();
            let child_path = if depth == 0 {
                key.clone()
            } else {
                field_path(path, &key)
            };
            let child = crate::browser::property(value, &key);
            fields.push((key, value_from_js(&child, &child_path, depth + 1, problems)));
        }
        return Value::Object(fields);
    }
    unsupported("not plain data")
}

/// `{consentModeDefaults: true, configFor, forms}` from the loader; anything else means defaults not
/// sent and no other language to fetch.
pub fn init_options_from_js(value: &JsValue) -> InitOptions {
    if !value.is_object() {
        return InitOptions::default();
    }
    InitOptions {
        consent_mode_defaults_sent: crate::browser::property(value, "consentModeDefaults")
            .as_bool()
            == Some(true),
        config_for: crate::browser::property(value, "configFor")
            .dyn_into::<js_sys::Function>()
            .ok(),
        forms: crate::browser::property(value, "forms")
            .dyn_into::<js_sys::Function>()
            .ok(),
    }
}

/// A list of ids: an array of strings, one string, or `undefined`/`null` for none.
pub fn string_list(value: &JsValue, argument: &str) -> Result<Vec<String>, String> {
    if value.is_undefined() || value.is_null() {
        return Ok(Vec::new());
    }
    if let Some(single) = value.as_string() {
        return Ok(vec![single]);
    }
    if !js_sys::Array::is_array(value) {
        return Err(concat(&[
            "`",
            argument,
            "` must be an array of ids, e.g. [\"analytics\"]",
        ]));
    }
    let mut ids = Vec::new();
    let array = js_sys::Array::from(value);
    for index in 0..array.length() {
        match array.get_unchecked(index).as_string() {
            Some(id) => ids.push(id),
            None => {
                return Err(concat(&[
                    "`",
                    &index_path(argument, index as usize),
                    "` must be a string id",
                ]))
            }
        }
    }
    Ok(ids)
}

/// A JS array of ids (for `getConsent()` and receipts). Takes a slice, of `String`s or of
/// `&str`s: two small copies, where a `dyn Iterator` brought a vtable of four iterator methods
/// for every kind of iterator passed.
pub fn list<Id: AsRef<str>>(ids: &[Id]) -> JsValue {
    let array = js_sys::Array::new();
    for id in ids {
        array.push(&JsValue::from_str(id.as_ref()));
    }
    array.into()
}

/// The `getConsent()` object. Field names are part of the JS API (README, `index.d.ts`);
/// `receiptId` is the last receipt of this consent the receipts server acknowledged.
pub fn consent_to_js(config: &Config, consent: &Consent) -> JsValue {
    let object = js_sys::Object::new();
    let set = |key: &str, value: JsValue| {
        crate::browser::set_property(&object, key, &value);
    };
    set("consentId", JsValue::from_str(&consent.consent_id));
    set("revision", JsValue::from(consent.revision));
    set("timestamp", crate::browser::iso_time(consent.decided_at));
    set("language", JsValue::from_str(consent.language.code()));
    set(
        "grantedCategories",
        list(consent.granted_categories.as_slice()),
    );
    set("deniedCategories", list(&consent.denied_categories(config)));
    set("grantedServices", list(consent.granted_services.as_slice()));
    set("deniedServices", list(&consent.denied_services(config)));
    let receipt_id = crate::receipts::last_receipt(&consent.consent_id).map(|last| last.receipt_id);
    set(
        "receiptId",
        crate::browser::text_or_null(receipt_id.as_deref()),
    );
    object.into()
}
