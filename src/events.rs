//! The SDK's events: the `kelisim:<event>` CustomEvents on `window`, and the `dataLayer`
//! pushes for Google Tag Manager.
//!
//! `kelisim.on`/`off` are the loader's (`src/loader.js`): a listener added with `on` is a
//! window listener for the CustomEvent, so it works before the module has loaded, and the
//! loader replays the last `ready` to a late subscriber and reports one that throws. Events
//! are dispatched with no SDK state borrowed, so listeners may call back into the API.

use crate::browser::{set_property, window, window_property};
use wasm_bindgen::JsValue;

/// Dispatches `kelisim:<event>` with `detail` on `window` (`event` is one of the SPEC's: ready,
/// shown, consent, change, withdraw).
pub fn emit(event: &str, detail: &JsValue) {
    crate::browser::dispatch_custom_event(&["kelisim:", event].concat(), detail);
}

/// Pushes `{event: "kelisim_<event>", ...fields}` to `window.dataLayer`, creating it if needed.
pub fn push_data_layer(event: &str, fields: &[(&str, JsValue)]) {
    let mut data_layer = window_property("dataLayer");
    if !js_sys::Array::is_array(&data_layer) {
        data_layer = js_sys::Array::new().into();
        set_property(window(), "dataLayer", &data_layer);
    }
    let entry = js_sys::Object::new();
    set_property(
        &entry,
        "event",
        &JsValue::from_str(&["kelisim_", event].concat()),
    );
    crate::browser::set_properties(&entry, fields);
    js_sys::Array::from(&data_layer).push(&entry);
}
