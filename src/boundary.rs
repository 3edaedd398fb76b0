//! The one place where `JsValue`s from the page become typed Rust values and back: the
//! config object, string lists passed to `accept`, init options, and the plain object that
//! `getConsent()` returns.

use kelisim_core::compiled::Node;
use kelisim_core::value::index_path;
use kelisim_core::{Config, ConfigError, Consent};
use wasm_bindgen::{JsCast, JsValue};

/// A compiled config object (or its JSON text, parsed here once) as the object the modules
/// read: the reader and the layers read it where it is.
pub fn compiled_object(value: &JsValue) -> Result<JsValue, ConfigError> {
    match value.as_string() {
        Some(text) => js_sys::JSON::parse(&text).map_err(|_| ConfigError {
            field: "config".into(),
            message: "is a string that is not valid JSON".into(),
            suggestion: None,
        }),
        None => Ok(value.clone()),
    }
}

/// A compiled config object (see [`compiled_object`]) to a `Config`, showing the banner
/// variant `kept` names or one picked by weight when it has an A/B test
/// (`Config::from_compiled_showing`). Anything else is refused with one error naming what it
/// got: the loader compiles a raw `kelisim.json` before it gets here.
pub fn config_from_js(compiled: &JsValue, kept: Option<&str>) -> Result<Config, ConfigError> {
    Config::from_compiled_showing(
        Js(compiled.clone()),
        kept,
        crate::browser::random_fraction(),
    )
}

/// A compiled config object (see [`compiled_object`]) as the forms module reads it
/// (`Config::from_compiled_for_forms`): what its forms' receipts state, their blocks checked,
/// and the texts of their confirmation steps, not what only the runtime reads.
pub fn config_with_forms_from_js(compiled: &JsValue) -> Result<Config, ConfigError> {
    Config::from_compiled_for_forms(Js(compiled.clone()))
}

/// A JS value as the compiled-config reader walks it (`kelisim_core::compiled::Node`).
#[derive(Clone)]
pub struct Js(pub JsValue);

impl Node for Js {
    fn field(&self, name: &str) -> Option<Js> {
        if !self.0.is_object() {
            return None;
        }
        let value = crate::browser::property(&self.0, name);
        (!value.is_null() && !value.is_undefined()).then_some(Js(value))
    }
    fn is_object(&self) -> bool {
        self.0.is_object() && !js_sys::Array::is_array(&self.0)
    }
    fn items(&self) -> Option<Vec<Js>> {
        if !js_sys::Array::is_array(&self.0) {
            return None;
        }
        Some(
            self.0
                .unchecked_ref::<js_sys::Array>()
                .iter()
                .map(Js)
                .collect(),
        )
    }
    fn text(&self) -> Option<String> {
        self.0.as_string()
    }
    fn number(&self) -> Option<f64> {
        self.0.as_f64()
    }
    fn boolean(&self) -> Option<bool> {
        self.0.as_bool()
    }
    /// The layers' builder checks a tree by the same walk that builds it.
    fn layer_tree_allowed(&self) -> Option<bool> {
        Some(crate::dom::layer_tree(&self.0, None, 0))
    }
    fn entries(&self) -> Option<Vec<(String, Js)>> {
        if !self.is_object() {
            return None;
        }
        // Own enumerable string keys, as JSON.stringify would see them.
        let keys = js_sys::Object::keys(self.0.unchecked_ref::<js_sys::Object>());
        Some(
            keys.iter()
                .map(|key| {
                    let key = key.as_string().unwrap_or_default();
                    let value = Js(crate::browser::property(&self.0, &key));
                    (key, value)
                })
                .collect(),
        )
    }
}

/// What the loader tells `init` about work it already did.
#[derive(Clone, Debug, Default)]
pub struct InitOptions {
    /// The loader already sent `gtag('consent', 'default', ...)` before any other tag.
    pub consent_mode_defaults_sent: bool,
    /// Fetches a compiled config: called with a language code and whether the preferences
    /// dialog must be in it (a served config keeps it apart), answers a promise of the config,
    /// or of an error that says why not (a `data-config` without `{lang}` has one language).
    pub config_for: Option<js_sys::Function>,
}

/// `{consentModeDefaults: true, configFor}` from the loader; anything else means defaults not
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
        return Err([
            "`",
            argument,
            "` must be an array of ids, e.g. [\"analytics\"]",
        ]
        .concat());
    }
    let mut ids = Vec::new();
    let array = js_sys::Array::from(value);
    for index in 0..array.length() {
        match array.get_unchecked(index).as_string() {
            Some(id) => ids.push(id),
            None => {
                return Err([
                    "`",
                    &index_path(argument, index as usize),
                    "` must be a string id",
                ]
                .concat())
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
pub fn consent_to_js(config: &Config, consent: &Consent, receipt_id: Option<String>) -> JsValue {
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
    set(
        "receiptId",
        crate::browser::text_or_null(receipt_id.as_deref()),
    );
    object.into()
}
