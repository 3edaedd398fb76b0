//! Vendor integrations: Google Consent Mode v2 (`gtag('consent', ...)`), Yandex Metrika (which
//! has no consent API: `disableYaCounter<ID>`, set before tags run), Meta Pixel
//! (`fbq('consent', ...)`), Microsoft Clarity (`clarity('consentv2', ...)`), Microsoft UET
//! (`uetq.push('consent', ...)`) and the TikTok Pixel (`ttq.holdConsent/grantConsent/
//! revokeConsent`). Which Consent Mode signal each category stands for is decided in
//! `kelisim_core::consent_mode`; this module decides what each vendor hears and makes the
//! Consent Mode and Metrika calls; the other four are `helpers.js`'s `tell_vendor`.

use crate::browser::{set_property, window, window_property};
use crate::helpers::{gtag_push, tell_vendor};
use kelisim_core::consent_mode::consent_mode_signals;
use kelisim_core::{Config, Consent, Vendor};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Sends `gtag('consent', kind, {...signals})` with `kind` `default` or `update`.
pub fn send_consent_mode(kind: &str, config: &Config, consent: Option<&Consent>) {
    let signals = js_sys::Object::new();
    for &(signal, granted) in &consent_mode_signals(config, consent) {
        set_property(&signals, signal, &state(granted));
    }
    if kind == "default" {
        // Tags that load before the SDK finishes wait this long for the update.
        set_property(&signals, "wait_for_update", &JsValue::from(500));
    }
    let args = push(crate::boundary::list(&["consent", kind]), &signals);
    match window_property("gtag").dyn_into::<js_sys::Function>() {
        Ok(gtag) => {
            let _ = gtag.apply(window(), &args);
        }
        Err(_) => gtag_push(&args),
    }
}

/// Tells the vendors that have a consent API what the visitor chose (no choice yet counts as
/// refused), service by service: Meta Pixel, Clarity, UET and the TikTok Pixel (the calls each
/// gets are `helpers::tell_vendor`'s). With no choice it is called before any tag runs (a tag
/// already on the page hears it before it tracks); after a choice, once the tags it grants ran
/// (their snippets, now on the page, hear the grant too).
pub fn tell_vendors(config: &Config, consent: Option<&Consent>) {
    let ad_storage = consent_mode_signals(config, consent)
        .iter()
        .any(|&(signal, granted)| signal == "ad_storage" && granted);
    for service in &config.services() {
        if let Some(vendor) = service.vendor {
            let granted = consent.is_some_and(|consent| consent.service_granted(&service.id));
            tell_vendor(vendor.name(), granted, consent.is_some(), ad_storage);
        }
    }
}

/// Sets `window.disableYaCounter<ID>` for every Yandex Metrika counter: `true` unless granted,
/// which stops a counter collecting (Metrika has no consent API). Called before tags run, so a
/// counter activated by the same choice starts with its flag already cleared.
pub fn set_metrika_flags(config: &Config, consent: Option<&Consent>) {
    for service in &config.services() {
        if service.vendor != Some(Vendor::YandexMetrika) {
            continue;
        }
        let granted = consent.is_some_and(|consent| consent.service_granted(&service.id));
        if let Some(counter) = &service.vendor_id {
            let flag = ["disableYaCounter", counter].concat();
            set_property(window(), &flag, &JsValue::from_bool(!granted));
        }
    }
}

/// `"granted"` or `"denied"`, as Consent Mode and the vendors that follow it write them.
fn state(granted: bool) -> JsValue {
    JsValue::from_str(if granted { "granted" } else { "denied" })
}

/// `list` with `value` appended: the arguments of a vendor call.
fn push(list: JsValue, value: &JsValue) -> js_sys::Array {
    let args: js_sys::Array = list.unchecked_into();
    args.push(value);
    args
}
