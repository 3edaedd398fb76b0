//! The sending side of consent receipts: every choice becomes a receipt object (the schema of
//! `kelisim-server`'s `POST /v1/receipts`, published as `receipt.schema.json`), kept in a
//! localStorage outbox until the server acknowledges it. Impressions (the first layer was shown)
//! are posted once per page view.
//!
//! Nothing is lost and nothing is stored twice: a receipt leaves the outbox only after a 2xx
//! (or a 4xx, which retrying cannot fix); failures back off (30 s doubling to 1 h) and are
//! retried on a later page view; `pagehide` hands what is left to `sendBeacon`; the server
//! treats a repeated receipt id as the same receipt. Without localStorage (full, disabled) the
//! receipt is still sent once from memory, and the banner works as before.

use crate::boundary::list;
use crate::browser::{
    console_warn, now_seconds, once, page_origin, page_path, property, random_uuid, window,
    window_property,
};
use crate::helpers::post_text;
use crate::storage::{get_item, remove_item, set_item};
use kelisim_core::config::{Form, Purpose};
use kelisim_core::consent::MAX_RECEIPT_BYTES;
use kelisim_core::ids::insert_sorted;
use kelisim_core::strings::{decimal, parse_digits};
use kelisim_core::{Action, Config, Consent, Language};
use wasm_bindgen::prelude::*;

const OUTBOX_KEY: &str = "kelisim:outbox";
const RETRY_AT_KEY: &str = "kelisim:outbox-retry-at";
const ATTEMPTS_KEY: &str = "kelisim:outbox-attempts";
/// A browser keeps at most this many unsent receipts (a server down for weeks must not fill
/// the store's localStorage); past it the oldest are dropped with a warning.
const MAX_OUTBOX: usize = 100;
/// Said when the outbox drops what it cannot send: one text for both causes.
const OUTBOX_DROPPED: &str =
    "receipts outbox: items that are not receipts, or the oldest past 100 unsent, were dropped";
/// The last acknowledged receipt (the server's answer), shown to the visitor.
pub const LAST_RECEIPT_KEY: &str = "kelisim:receipt";

/// What the preferences layer shows under "your consent".
pub struct LastReceipt {
    pub receipt_id: String,
    pub consent_id: String,
    pub server_time: String,
    /// The whole server answer as JSON text, for the download.
    pub json: String,
}

/// Builds the receipt of a choice and sends it (after hashing the texts shown).
pub fn record(config: &Config, consent: &Consent, action: Action, method: &str) {
    let Some(endpoint) = config.endpoint.clone() else {
        return;
    };
    let receipt = base_receipt(
        config,
        &Common {
            receipt_id: &random_uuid(),
            consent_id: &consent.consent_id,
            language: consent.language,
            action: action.as_str(),
            method,
            client_time: consent.decided_at,
            expires_at: consent.decided_at + u64::from(config.expiry_days) * 86_400,
        },
    );
    let mut countries: Vec<&str> = Vec::new();
    for service in &config.services() {
        if consent.service_granted(&service.id) {
            insert_sorted(&mut countries, &service.country);
        }
    }
    set(
        &receipt,
        "granted_categories",
        list(consent.granted_categories.as_slice()),
    );
    set(
        &receipt,
        "denied_categories",
        list(&consent.denied_categories(config)),
    );
    set(
        &receipt,
        "granted_services",
        list(consent.granted_services.as_slice()),
    );
    set(
        &receipt,
        "denied_services",
        list(&consent.denied_services(config)),
    );
    set(&receipt, "countries", list(&countries));
    // The compiler hashed the texts ahead (those of the banner variant shown, if any).
    let texts_hash = &config.resolved().texts_hash;
    deliver(endpoint, &receipt, texts_hash);
}

/// A consent given in a form: purposes granted and refused, for the form's purpose set.
pub struct FormConsent<'a> {
    pub form: &'a Form,
    pub receipt_id: &'a str,
    pub consent_id: &'a str,
    pub language: Language,
    pub granted: &'a [String],
    pub denied: &'a [String],
}

/// Builds the `form` receipt of a submitted form and sends it. No form field value is in it.
pub fn record_form(config: &Config, consent: &FormConsent) {
    let Some(endpoint) = config.endpoint.clone() else {
        return;
    };
    let now = now_seconds();
    let mut granted: Vec<&Purpose> = Vec::new();
    for purpose in &consent.form.purposes {
        if consent.granted.contains(&purpose.id) {
            granted.push(purpose);
        }
    }
    // The consent lasts as long as the longest term of what was granted (10 years at most).
    let term_days = granted
        .iter()
        .map(|p| p.term_days)
        .max()
        .unwrap_or(1)
        .min(3_650);
    let receipt = base_receipt(
        config,
        &Common {
            receipt_id: consent.receipt_id,
            consent_id: consent.consent_id,
            language: consent.language,
            action: "form",
            method: "form:submit",
            client_time: now,
            expires_at: now + u64::from(term_days) * 86_400,
        },
    );
    let mut countries: Vec<&str> = Vec::new();
    for purpose in &granted {
        for country in &purpose.countries {
            insert_sorted(&mut countries, country);
        }
    }
    let none = || list::<&str>(&[]);
    set(&receipt, "granted_categories", none());
    set(&receipt, "denied_categories", none());
    set(&receipt, "granted_services", none());
    set(&receipt, "denied_services", none());
    set(&receipt, "countries", list(&countries));
    set_text(&receipt, "form_id", &consent.form.id);
    set(&receipt, "granted_purposes", list(consent.granted));
    set(&receipt, "denied_purposes", list(consent.denied));
    let texts_hash = config
        .resolved()
        .form_hash(&consent.form.id)
        .unwrap_or_default();
    deliver(endpoint, &receipt, texts_hash);
}

/// Puts the hash of the texts shown (the compiler's) into the receipt, then queues it in the
/// outbox and sends it.
fn deliver(endpoint: String, receipt: &js_sys::Object, texts_hash: &str) {
    set_text(receipt, "texts_hash", texts_hash);
    let text = json_text(receipt);
    if push_outbox(&text) {
        flush(endpoint);
    } else {
        post(
            &endpoint,
            &text,
            Box::new(|answer| {
                if let Some(answer) = answer {
                    remember_answer(&answer);
                }
            }),
        );
    }
}

/// Sends what earlier page views could not, unless a back-off is still running.
pub fn retry_pending(config: &Config) {
    let Some(endpoint) = config.endpoint.clone() else {
        return;
    };
    let retry_at = get_item(RETRY_AT_KEY)
        .and_then(|t| parse_digits(&t, 10))
        .unwrap_or(0);
    if outbox().is_empty() || now_seconds() < retry_at {
        return;
    }
    flush(endpoint);
}

/// Hands every pending receipt to `sendBeacon` (called on `pagehide`). They stay in the outbox:
/// the next page view sends them again, and the server answers a known id with the same receipt.
pub fn beacon_pending(config: &Config) {
    let Some(endpoint) = &config.endpoint else {
        return;
    };
    let navigator = window().navigator();
    for text in &outbox() {
        let _ = navigator.send_beacon_with_opt_str(endpoint, Some(text));
    }
}

/// The kelisim-server endpoint `name` beside the config's receipts endpoint (…/v1/receipts →
/// …/v1/impressions, …/v1/confirmations, …/v1/signatures); `None` without an endpoint that ends
/// in `/receipts` (the compiler requires one for forms confirmed by SMS or signature).
pub fn endpoint_beside_receipts(config: &Config, name: &str) -> Option<String> {
    let base = config.endpoint.as_deref()?.strip_suffix("/receipts")?;
    Some([base, "/", name].concat())
}

/// Posts one anonymous impression (first layer shown) for this page view.
pub fn impression(config: &Config, language: Language) {
    let Some(url) = endpoint_beside_receipts(config, "impressions") else {
        return;
    };
    let body = js_sys::Object::new();
    set_text(&body, "site", &config.site);
    set_text(&body, "language", language.code());
    set(
        &body,
        "variant",
        crate::browser::text_or_null(config.ui.variant.as_deref()),
    );
    set(&body, "page", JsValue::from_str(&page_path()));
    let text = json_text(&body);
    let _ = window()
        .navigator()
        .send_beacon_with_opt_str(&url, Some(&text));
}

/// The last acknowledged receipt of `consent_id`, if this browser has it.
pub fn last_receipt(consent_id: &str) -> Option<LastReceipt> {
    let json = get_item(LAST_RECEIPT_KEY)?;
    let answer = js_sys::JSON::parse(&json).ok()?;
    let receipt = crate::browser::property(&answer, "receipt");
    let field = |object: &JsValue, name: &str| crate::browser::property(object, name).as_string();
    let last = LastReceipt {
        receipt_id: field(&receipt, "receipt_id")?,
        consent_id: field(&receipt, "consent_id")?,
        server_time: field(&answer, "server_time")?,
        json,
    };
    (last.consent_id == consent_id).then_some(last)
}

/// What every receipt (banner or form) states besides its choice.
struct Common<'a> {
    receipt_id: &'a str,
    consent_id: &'a str,
    language: Language,
    action: &'a str,
    method: &'a str,
    /// Unix seconds.
    client_time: u64,
    expires_at: u64,
}

fn base_receipt(config: &Config, common: &Common) -> js_sys::Object {
    let receipt = js_sys::Object::new();
    let origin = page_origin();
    let page_url = [origin.as_str(), &page_path()].concat();
    // Validation allows only http(s) URLs and site paths ("/privacy"), so a path only needs the
    // page's origin in front to be absolute.
    let policy = config.policy_url(common.language);
    let policy_url = if policy.starts_with("/") {
        [&origin, policy].concat()
    } else {
        policy.to_owned()
    };
    let iso = crate::browser::iso_time;
    set_text(&receipt, "receipt_id", common.receipt_id);
    set_text(&receipt, "consent_id", common.consent_id);
    set_text(&receipt, "site", &config.site);
    set_text(&receipt, "policy_version", &config.policy_version);
    set_text(&receipt, "policy_url", &policy_url);
    set(&receipt, "revision", JsValue::from(config.revision));
    set_text(&receipt, "language", common.language.code());
    set_text(&receipt, "action", common.action);
    set(
        &receipt,
        "variant",
        crate::browser::text_or_null(config.ui.variant.as_deref()),
    );
    set_text(&receipt, "operator", config.operator.name(common.language));
    if let Some(resolved) = &config.resolved {
        set_text(&receipt, "config_id", &resolved.config_id);
    }
    set_text(&receipt, "bin", &config.operator.bin);
    set(&receipt, "expires_at", iso(common.expires_at));
    set_text(&receipt, "method", common.method);
    set_text(&receipt, "page_url", &page_url);
    let user_agent = property(&window_property("navigator"), "userAgent");
    set(&receipt, "user_agent", user_agent);
    set(&receipt, "client_time", iso(common.client_time));
    receipt
}

/// Sends the outbox oldest first, one receipt after the other; stops at the first failure and
/// schedules a retry. Each step reads the outbox again, so a receipt another step (or tab)
/// already sent is not sent twice from here; a step that cannot remove what it sent stops.
fn flush(endpoint: String) {
    let Some(text) = outbox().first().cloned() else {
        remove_item(ATTEMPTS_KEY);
        remove_item(RETRY_AT_KEY);
        return;
    };
    post(
        &endpoint.clone(),
        &text.clone(),
        Box::new(move |answer| match answer {
            Some(answer) => {
                remember_answer(&answer);
                if remove_from_outbox(&text) {
                    flush(endpoint);
                }
            }
            None => {
                let attempts = get_item(ATTEMPTS_KEY)
                    .and_then(|t| parse_digits(&t, 10))
                    .unwrap_or(0)
                    + 1;
                let delay = (30u64 << attempts.min(7)).min(3_600);
                set_item(ATTEMPTS_KEY, &decimal(attempts));
                set_item(RETRY_AT_KEY, &decimal(now_seconds() + delay));
            }
        }),
    );
}

/// POSTs one receipt and calls `settled` with the outcome. `Some(answer)` when it is settled:
/// stored (2xx, the server's answer), or refused for good because the body itself is bad (400,
/// 413, 422: sending it again cannot succeed, so it is dropped with a warning). `None` when it
/// should be retried: network errors, 5xx, 429, and also 401/403/404, which a fixed server
/// configuration (origins, site) cures. `settled` is boxed so both callers share one copy of
/// this function and of its callback.
fn post(endpoint: &str, text: &str, settled: Box<dyn FnOnce(Option<String>)>) {
    let done = once(move |answer| {
        // `[status, text]` from post_text.
        let answer = js_sys::Array::from(&answer);
        let status = answer.get_unchecked(0).as_f64().unwrap_or(0.0) as u16;
        let body = answer.get_unchecked(1).as_string().unwrap_or_default();
        settled(match status {
            200..=299 => Some(body),
            400 | 413 | 422 => {
                console_warn(
                    &[
                        "the receipts server refused a receipt (",
                        &decimal(status.into()),
                        "): ",
                        &body,
                    ]
                    .concat(),
                );
                Some(String::new())
            }
            _ => None,
        })
    });
    post_text(endpoint, text, &done);
}

fn remember_answer(answer: &str) {
    if !answer.is_empty() {
        set_item(LAST_RECEIPT_KEY, answer);
    }
}

/// The receipts waiting to be sent, oldest first. The outbox lives in the store's own
/// localStorage, where any script of the origin can write: anything in it that is not a
/// receipt this SDK could send (not a string, larger than the server accepts or a keepalive
/// request carries, not a receipt as `base_receipt` starts one) is dropped with a warning, and
/// so are the oldest receipts past [`MAX_OUTBOX`], so that nothing put there blocks a real
/// receipt for ever. A receipt too large is thus never queued: `send` posts it once from
/// memory, and the server's refusal is logged.
fn outbox() -> Vec<String> {
    let Some(text) = get_item(OUTBOX_KEY) else {
        return Vec::new();
    };
    let mut items = Vec::new();
    let mut dropped = false;
    if let Ok(value) = js_sys::JSON::parse(&text) {
        for item in js_sys::Array::from(&value).iter() {
            match item.as_string() {
                Some(text)
                    if text.len() <= MAX_RECEIPT_BYTES
                        && text.starts_with("{\"receipt_id\":\"") =>
                {
                    items.push(text)
                }
                _ => dropped = true,
            }
        }
    }
    while items.len() > MAX_OUTBOX {
        items.remove(0);
        dropped = true;
    }
    if dropped {
        console_warn(OUTBOX_DROPPED);
        save_outbox(&items);
    }
    items
}

/// Adds a receipt to the outbox; `false` when localStorage cannot hold it.
fn push_outbox(text: &str) -> bool {
    let mut items = outbox();
    items.push(text.to_owned());
    if items.len() > MAX_OUTBOX {
        console_warn(OUTBOX_DROPPED);
        items.remove(0);
    }
    save_outbox(&items) && outbox().last().is_some_and(|last| last == text)
}

/// `false` when localStorage refused the shorter outbox. Receipts are unique (each has its
/// own id), so removing the first match removes it.
fn remove_from_outbox(text: &str) -> bool {
    let mut items = outbox();
    if let Some(index) = items.iter().position(|item| item == text) {
        items.remove(index);
    }
    save_outbox(&items)
}

fn save_outbox(items: &[String]) -> bool {
    if items.is_empty() {
        remove_item(OUTBOX_KEY);
        return true;
    }
    let text = json_text(&list(items));
    set_item(OUTBOX_KEY, &text)
}

/// `value` as JSON text (receipts, impressions and the outbox are plain data, so this cannot
/// fail; "" if it ever did).
fn json_text(value: &JsValue) -> String {
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

/// `set` for a string value.
fn set_text(object: &js_sys::Object, key: &str, value: &str) {
    set(object, key, JsValue::from_str(value));
}

fn set(object: &js_sys::Object, key: &str, value: JsValue) {
    crate::browser::set_property(object, key, &value);
}
