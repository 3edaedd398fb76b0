//! The one place where `JsValue`s from the page become typed Rust values and back: the
//! config object, string lists passed to `accept`, init options, and the plain object that
//! `getConsent()` returns.

use crate::sdk::InitOptions;
use kelisim_core::{Config, ConfigError, Consent};
use serde::Serialize;
use wasm_bindgen::JsValue;

/// A config object (or its JSON text) to a validated `Config`.
pub fn config_from_js(value: &JsValue) -> Result<Config, ConfigError> {
    let value = match value.as_string() {
        Some(text) => js_sys::JSON::parse(&text).map_err(|_| ConfigError {
            field: "config".into(),
            message: "is a string that is not valid JSON".into(),
        })?,
        None => value.clone(),
    };
    if !value.is_object() {
        return Err(ConfigError {
            field: "config".into(),
            message: "must be an object (or the URL in data-config must return one)".into(),
        });
    }
    Config::from_deserializer(serde_wasm_bindgen::Deserializer::from(value))
}

/// `{consentModeDefaults: true}` from the loader; anything else means defaults not sent.
pub fn init_options_from_js(value: &JsValue) -> InitOptions {
    let sent = js_sys::Reflect::get(value, &"consentModeDefaults".into()).map(|v| v.is_truthy());
    InitOptions {
        consent_mode_defaults_sent: value.is_object() && sent.unwrap_or(false),
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
        return Err(format!("`{argument}` must be an array of ids, e.g. [\"analytics\"]"));
    }
    js_sys::Array::from(value)
        .iter()
        .enumerate()
        .map(|(index, item)| item.as_string().ok_or_else(|| format!("`{argument}[{index}]` must be a string id")))
        .collect()
}

/// The `getConsent()` object. Field names are part of the JS API (README, `kelisim.d.ts`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ConsentObject<'a> {
    consent_id: &'a str,
    revision: u32,
    /// ISO 8601 time of the choice.
    timestamp: String,
    language: &'a str,
    granted_categories: Vec<&'a str>,
    denied_categories: Vec<&'a str>,
    granted_services: Vec<&'a str>,
    denied_services: Vec<&'a str>,
    /// Set once receipts are sent and acknowledged by the receipts server.
    receipt_id: Option<&'a str>,
}

pub fn consent_to_js(config: &Config, consent: &Consent) -> JsValue {
    let millis = consent.decided_at as f64 * 1000.0;
    let object = ConsentObject {
        consent_id: &consent.consent_id,
        revision: consent.revision,
        timestamp: js_sys::Date::new(&JsValue::from_f64(millis)).to_iso_string().into(),
        language: consent.language.code(),
        granted_categories: consent.granted_categories.iter().map(String::as_str).collect(),
        denied_categories: consent.denied_categories(config),
        granted_services: consent.granted_services.iter().map(String::as_str).collect(),
        denied_services: consent.denied_services(config),
        receipt_id: None,
    };
    object
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .unwrap_or(JsValue::NULL)
}
