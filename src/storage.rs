//! The browser side of storage: reading and writing the `kelisim` cookie, localStorage reads
//! and writes that tolerate a disabled or full storage, and deleting the cookies and
//! localStorage keys of revoked services.
//!
//! The encoding itself lives in `kelisim_core::cookie`; the matching rules in
//! `kelisim_core::cleanup`. This module only talks to `document.cookie` and `localStorage`.

use crate::browser::{console_warn, html_document, page_hostname, page_origin, window};
use kelisim_core::cleanup::{consent_cookie_domain, cookie_domains, matches_pattern};
use kelisim_core::strings::{decimal, split_at, split_once_at};
use kelisim_core::COOKIE_NAME;

/// Value of the named cookie, if the page has it.
pub fn read_cookie(name: &str) -> Option<String> {
    let cookies = html_document().cookie().ok()?;
    split_at(&cookies, b';').iter().find_map(|pair| {
        let (key, value) = split_once_at(pair.trim_ascii(), b'=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// Names of all cookies visible to the page.
pub fn cookie_names() -> Vec<String> {
    let cookies = html_document().cookie().unwrap_or_default();
    let mut names = Vec::new();
    for pair in split_at(&cookies, b';') {
        let name = split_at(pair.trim_ascii(), b'=')[0];
        if !name.is_empty() {
            names.push(name.to_owned());
        }
    }
    names
}

/// Writes the consent cookie: first-party, `Path=/`, `SameSite=Lax`, `Secure` on https,
/// expiring after `expiry_days`, on `domain` when the page is on it (so subdomains share one
/// choice) and on the current host otherwise.
pub fn write_consent_cookie(value: &str, expiry_days: u32, domain: Option<&str>) {
    let max_age = u64::from(expiry_days) * 86_400;
    let secure = if is_https() { "; Secure" } else { "" };
    let hostname = page_hostname();
    let domain = match (domain, consent_cookie_domain(&hostname, domain)) {
        (_, Some(domain)) => ["; Domain=", domain].concat(),
        (Some(domain), None) => {
            console_warn(
                &[
                    "cookie_domain \"",
                    domain,
                    "\" does not contain this page's host ",
                    &hostname,
                    "; the choice is stored for ",
                    &hostname,
                    " only",
                ]
                .concat(),
            );
            String::new()
        }
        (None, None) => String::new(),
    };
    let cookie = [
        COOKIE_NAME,
        "=",
        value,
        "; Path=/; Max-Age=",
        &decimal(max_age),
        "; SameSite=Lax",
        &domain,
        secure,
    ]
    .concat();
    // Setting document.cookie cannot fail in a normal page; in a sandboxed frame it throws and
    // the choice simply lasts for this page view.
    let _ = html_document().set_cookie(&cookie);
}

/// Deletes every cookie whose name matches one of `patterns`, on each of `paths`, on the host
/// and every parent domain (see `cookie_domains`): a cookie is only deleted by a write with the
/// same domain and path it was set with. The `kelisim` cookie itself is never deleted here.
pub fn clear_cookies(patterns: &[String], paths: &[String]) {
    for name in &cookie_names() {
        if name != COOKIE_NAME
            && patterns
                .iter()
                .any(|pattern| matches_pattern(pattern, name))
        {
            for path in paths {
                expire_cookie(name, path);
            }
        }
    }
}

/// The page's localStorage; `None` where it is disabled or blocked.
fn local_storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// A localStorage value; `None` when absent or when there is no storage.
pub fn get_item(key: &str) -> Option<String> {
    local_storage()?.get_item(key).ok().flatten()
}

/// `false` when the write failed (quota exceeded, storage disabled).
pub fn set_item(key: &str, value: &str) -> bool {
    local_storage().is_some_and(|storage| storage.set_item(key, value).is_ok())
}

pub fn remove_item(key: &str) {
    if let Some(storage) = local_storage() {
        let _ = storage.remove_item(key);
    }
}

/// Removes every localStorage key that matches one of `patterns`.
pub fn clear_local_storage(patterns: &[String]) {
    let Some(storage) = local_storage() else {
        return;
    };
    // The keys as an array taken first (`Object.keys` of a Storage lists its keys), so removing
    // some while going through them skips none.
    for key in js_sys::Object::keys(&storage).iter() {
        let key = key.as_string().unwrap_or_default();
        if patterns
            .iter()
            .any(|pattern| matches_pattern(pattern, &key))
        {
            let _ = storage.remove_item(&key);
        }
    }
}

fn expire_cookie(name: &str, path: &str) {
    let document = html_document();
    let hostname = page_hostname();
    let expired = [
        name,
        "=; Path=",
        path,
        "; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
    ]
    .concat();
    let _ = document.set_cookie(&expired);
    for domain in &cookie_domains(&hostname) {
        let _ = document.set_cookie(&[&expired, "; Domain=", domain].concat());
    }
}

fn is_https() -> bool {
    page_origin().starts_with("https:")
}
