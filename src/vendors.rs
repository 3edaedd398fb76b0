//! Vendor integrations: Google Consent Mode v2 (`gtag('consent', ...)`) and the GTM
//! `dataLayer`. Which signal each category stands for is decided in
//! `kelisim_core::consent_mode`; this module only makes the calls.

use crate::browser::{window, window_property};
use kelisim_core::consent_mode::consent_mode_signals;
use kelisim_core::{Config, Consent};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(
    inline_js = "export function gtag_push() { (window.dataLayer = window.dataLayer || []).push(arguments); }"
)]
extern "C" {
    /// Google's own `gtag` stub: it must push the `arguments` object, not an array, or
    /// Google tags ignore the command. Shipped as a module snippet so no eval is needed (CSP).
    #[wasm_bindgen(variadic)]
    fn gtag_push(args: &js_sys::Array);
}

/// Sends `gtag('consent', kind, {...signals})` with `kind` `default` or `update`.
pub fn send_consent_mode(kind: &str, config: &Config, consent: Option<&Consent>) {
    let signals = js_sys::Object::new();
    for (signal, granted) in consent_mode_signals(config, consent) {
        let value = if granted { "granted" } else { "denied" };
        let _ = js_sys::Reflect::set(
            &signals,
            &JsValue::from_str(signal),
            &JsValue::from_str(value),
        );
    }
    if kind == "default" {
        // Tags that load before the SDK finishes wait this long for the update.
        let _ = js_sys::Reflect::set(&signals, &"wait_for_update".into(), &JsValue::from(500));
    }
    let args = js_sys::Array::of3(&"consent".into(), &JsValue::from_str(kind), &signals);
    match window_property("gtag").dyn_into::<js_sys::Function>() {
        Ok(gtag) => {
            let _ = gtag.apply(&window(), &args);
        }
        Err(_) => gtag_push(&args),
    }
}
