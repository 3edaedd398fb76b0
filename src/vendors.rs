//! Vendor integrations: Google Consent Mode v2 (`gtag('consent', ...)`), Yandex Metrika (which
//! has no consent API: `disableYaCounter<ID>`, set before tags run), Meta Pixel (`fbq('consent', ...)`), Microsoft
//! Clarity (`clarity('consentv2', ...)`), Microsoft UET (`uetq.push('consent', ...)`) and the
//! TikTok Pixel (`ttq.holdConsent/grantConsent/revokeConsent`). Which Consent Mode signal each
//! category stands for is decided in `kelisim_core::consent_mode`; this module only makes the
//! calls.

use crate::browser::{set_property, window, window_property};
use crate::helpers::{clarity_call, gtag_push, uet_push};
use kelisim_core::consent_mode::consent_mode_signals;
use kelisim_core::strings::concat;
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
/// refused): Meta Pixel gets `fbq('consent', 'grant' | 'revoke')` when it is on the page;
/// Clarity gets `consentv2` with `analytics_Storage` (its service granted) and `ad_Storage` (its
/// service and Consent Mode's `ad_storage` granted); UET gets `consent default` (no choice yet)
/// or `consent update` with `ad_storage`; the TikTok Pixel, when on the page, is held before a
/// choice and then granted or revoked. With no choice it is called before any tag runs (a tag
/// already on the page hears it before it tracks); after a choice, once the tags it grants ran
/// (their snippets, now on the page, hear the grant too).
pub fn tell_vendors(config: &Config, consent: Option<&Consent>) {
    let ad_storage = consent_mode_signals(config, consent)
        .iter()
        .any(|&(signal, granted)| signal == "ad_storage" && granted);
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
            Some(Vendor::MicrosoftClarity) => {
                let storage = js_sys::Object::new();
                set_property(&storage, "ad_Storage", &state(granted && ad_storage));
                set_property(&storage, "analytics_Storage", &state(granted));
                let args = crate::boundary::list(&["consentv2"]);
                clarity_call(&push(args, &storage));
            }
            Some(Vendor::MicrosoftUet) => {
                let storage = js_sys::Object::new();
                set_property(&storage, "ad_storage", &state(granted));
                let kind = if consent.is_some() {
                    "update"
                } else {
                    "default"
                };
                uet_push(&push(crate::boundary::list(&["consent", kind]), &storage));
            }
            Some(Vendor::TiktokPixel) => {
                let ttq = window_property("ttq");
                let method = match consent {
                    None => "holdConsent",
                    Some(_) if granted => "grantConsent",
                    Some(_) => "revokeConsent",
                };
                if let Ok(call) =
                    crate::browser::property(&ttq, method).dyn_into::<js_sys::Function>()
                {
                    let _ = call.call0(&ttq);
                }
            }
            _ => {}
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
            let flag = concat(&["disableYaCounter", counter]);
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
