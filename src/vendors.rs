//! Vendor integrations: Google Consent Mode v2 (`gtag('consent', ...)`), Yandex Metrika (which
//! has no consent mode: `disableYaCounter<ID>`), and Meta Pixel (`fbq('consent', ...)`). Which
//! Consent Mode signal each category stands for is decided in `kelisim_core::consent_mode`;
//! this module only makes the calls.

use crate::browser::{set_property, window, window_property};
use crate::helpers::gtag_push;
use kelisim_core::consent_mode::consent_mode_signals;
use kelisim_core::strings::concat;
use kelisim_core::{Config, Consent, Vendor};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Sends `gtag('consent', kind, {...signals})` with `kind` `default` or `update`.
pub fn send_consent_mode(kind: &str, config: &Config, consent: Option<&Consent>) {
    let signals = js_sys::Object::new();
    for &(signal, granted) in &consent_mode_signals(config, consent) {
        let value = if granted { "granted" } else { "denied" };
        set_property(&signals, signal, &JsValue::from_str(value));
    }
    if kind == "default" {
        // Tags that load before the SDK finishes wait this long for the update.
        set_property(&signals, "wait_for_update", &JsValue::from(500));
    }
    let args: js_sys::Array = crate::boundary::list(&["consent", kind]).unchecked_into();
    args.push(&signals);
    match window_property("gtag").dyn_into::<js_sys::Function>() {
        Ok(gtag) => {
            let _ = gtag.apply(window(), &args);
        }
        Err(_) => gtag_push(&args),
    }
}

/// Tells the vendors that have a consent API what the visitor chose (no choice yet counts as
/// refused): Meta Pixel gets `fbq('consent', 'grant' | 'revoke')` when it is on the page, and a
/// Yandex Metrika counter that is not granted gets `window.disableYaCounter<ID> = true`, which
/// stops it collecting.
pub fn tell_vendors(config: &Config, consent: Option<&Consent>) {
    for service in &config.services() {
        let granted = consent.is_some_and(|consent| consent.service_granted(&service.id));
        match service.vendor {
            Some(Vendor::MetaPixel) => {
                if let Ok(fbq) = window_property("fbq").dyn_into::<js_sys::Function>() {
                    let state = if granted { "grant" } else { "revoke" };
                    let arguments = crate::boundary::list(&["consent", state]);
                    let _ = fbq.apply(&JsValue::NULL, arguments.unchecked_ref());
                }
            }
            Some(Vendor::YandexMetrika) => {
                if let Some(counter) = &service.vendor_id {
                    let flag = concat(&["disableYaCounter", counter]);
                    set_property(window(), &flag, &JsValue::from_bool(!granted));
                }
            }
            _ => {}
        }
    }
}
