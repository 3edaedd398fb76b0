//! Receipts on the server: the validation of a posted `kelisim_core::receipt::Receipt`, and the
//! stored form that the hash chain covers.

use crate::error::AppError;
use kelisim_core::cookie::is_consent_id;
use kelisim_core::ids::is_valid_id;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

pub use kelisim_core::consent::MAX_RECEIPT_BYTES;
pub use kelisim_core::receipt::{Receipt, ACTIONS};
const MAX_IDS: usize = 64;

/// What the server stores and hashes: the input plus what only the server knows.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct StoredReceipt {
    pub seq: i64,
    /// Server time of storage (RFC 3339, UTC).
    pub server_time: String,
    /// The client's IP address truncated to its network (/24 for IPv4, /48 for IPv6): never
    /// the raw address.
    pub ip_prefix: Option<String>,
    pub receipt: Receipt,
}

/// A stored receipt with its place in the chain: the answer to `POST /v1/receipts`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
pub struct ReceiptRecord {
    #[serde(flatten)]
    pub stored: StoredReceipt,
    pub prev_hash: String,
    pub hash: String,
    pub signature: String,
}

/// Parses and validates a posted body; every error names its field.
pub fn parse_receipt(body: &[u8], now: OffsetDateTime) -> Result<Receipt, AppError> {
    if body.len() > MAX_RECEIPT_BYTES {
        return Err(AppError::TooLarge(MAX_RECEIPT_BYTES));
    }
    let mut receipt: Receipt = parse_json(body)?;
    validate(&mut receipt, now)?;
    Ok(receipt)
}

/// Parses a JSON body strictly; an error names the field (`body` when it is not about one).
pub fn parse_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AppError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| AppError::bad("body", "the body is not valid UTF-8"))?;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.inner().to_string();
        // serde reports a missing field at the object holding it; name the field itself.
        let missing = message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        // serde_path_to_error says "." for the top level and "?" before any key was read.
        let field = match (path.as_str(), missing) {
            ("." | "?", Some(name)) => name.to_owned(),
            ("." | "?", None) => "body".to_owned(),
            (path, Some(name)) => format!("{path}.{name}"),
            (path, None) => path.to_owned(),
        };
        AppError::bad(field, message)
    })?;
    // One JSON value and nothing after it but white space: `{…}{…}` or `{…}GARBAGE` is not a
    // receipt, whatever its first part says.
    deserializer
        .end()
        .map_err(|_| AppError::bad("body", "has data after the JSON object"))?;
    Ok(value)
}

fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn validate(receipt: &mut Receipt, now: OffsetDateTime) -> Result<(), AppError> {
    for (field, id) in [
        ("receipt_id", &receipt.receipt_id),
        ("consent_id", &receipt.consent_id),
    ] {
        if !is_consent_id(id) {
            return Err(AppError::bad(field, "must be a lowercase UUID"));
        }
    }
    check_id("site", &receipt.site, 64, true)?;
    check_text("policy_version", &receipt.policy_version, 64)?;
    check_text("policy_url", &receipt.policy_url, 2048)?;
    check_language(&receipt.language)?;
    if !ACTIONS.contains(&receipt.action.as_str()) {
        return Err(AppError::bad(
            "action",
            format!("must be one of {}", ACTIONS.join(", ")),
        ));
    }
    for (field, ids) in [
        ("granted_categories", &receipt.granted_categories),
        ("denied_categories", &receipt.denied_categories),
        ("granted_services", &receipt.granted_services),
        ("denied_services", &receipt.denied_services),
    ] {
        if ids.len() > MAX_IDS {
            return Err(AppError::bad(field, format!("has more than {MAX_IDS} ids")));
        }
        for (index, id) in ids.iter().enumerate() {
            check_id(&format!("{field}[{index}]"), id, 40, false)?;
        }
    }
    for (field, ids) in [
        ("granted_purposes", &receipt.granted_purposes),
        ("denied_purposes", &receipt.denied_purposes),
    ] {
        if ids.len() > MAX_IDS {
            return Err(AppError::bad(field, format!("has more than {MAX_IDS} ids")));
        }
        for (index, id) in ids.iter().enumerate() {
            check_id(&format!("{field}[{index}]"), id, 40, false)?;
        }
    }
    // SMS-confirmed receipts are made by the server once the code is entered
    // (`confirmations`); a browser cannot claim one.
    if receipt.sms.is_some() {
        return Err(AppError::bad(
            "sms",
            "is recorded by the server when an SMS code confirms a consent (POST /v1/confirmations); a receipt cannot carry it",
        ));
    }
    if receipt.eds.is_some() {
        return Err(AppError::bad(
            "eds",
            "is recorded by the server when it has checked an electronic signature (POST /v1/signatures); a receipt cannot carry it",
        ));
    }
    if receipt.method == "sms" || receipt.method == "eds" {
        return Err(AppError::bad(
            "method",
            "`sms` and `eds` are recorded by the server when an SMS code or an electronic signature confirms a consent (POST /v1/confirmations, /v1/signatures)",
        ));
    }
    match (&receipt.form_id, receipt.action.as_str()) {
        (Some(form_id), _) => check_id("form_id", form_id, 40, false)?,
        (None, "form") => return Err(AppError::bad("form_id", "is required with action `form`")),
        (None, _) => {}
    }
    if receipt.countries.len() > MAX_IDS {
        return Err(AppError::bad(
            "countries",
            format!("has more than {MAX_IDS} entries"),
        ));
    }
    for (index, country) in receipt.countries.iter().enumerate() {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(AppError::bad(
                format!("countries[{index}]"),
                "must be an ISO 3166-1 alpha-2 code",
            ));
        }
    }
    if let Some(variant) = &receipt.variant {
        check_id("variant", variant, 32, true)?;
    }
    if receipt.texts_hash.len() != 64 || !receipt.texts_hash.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return Err(AppError::bad(
            "texts_hash",
            "must be a SHA-256 in hex (64 characters)",
        ));
    }
    if let Some(config_id) = &receipt.config_id {
        if !is_sha256_hex(config_id) {
            return Err(AppError::bad(
                "config_id",
                "must be the SHA-256 of a compiled config in lowercase hex (64 characters)",
            ));
        }
    }
    check_text("operator", &receipt.operator, 256)?;
    if receipt.bin.len() != 12 || !receipt.bin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad("bin", "must be 12 digits"));
    }
    check_text("method", &receipt.method, 64)?;
    check_text("page_url", &receipt.page_url, 2048)?;
    check_text("user_agent", &receipt.user_agent, 512)?;
    receipt.page_url = clean_page_url(&receipt.page_url);
    let client_time = parse_time("client_time", &receipt.client_time)?;
    let earliest = time::macros::datetime!(2020-01-01 0:00 UTC);
    if client_time < earliest || client_time > now + time::Duration::days(1) {
        return Err(AppError::bad(
            "client_time",
            "is not a plausible time of a choice",
        ));
    }
    let expires_at = parse_time("expires_at", &receipt.expires_at)?;
    if expires_at <= client_time || expires_at > client_time + time::Duration::days(3651) {
        return Err(AppError::bad(
            "expires_at",
            "must be after client_time and within 10 years of it",
        ));
    }
    Ok(())
}

/// A page URL as a receipt keeps it. The query and fragment may carry personal data (e-mail in
/// a link, order ids), credentials (`https://user:pass@…`) and path parameters
/// (`;jsessionid=…`) may carry secrets: none of them is kept.
pub fn clean_page_url(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match url.find("://") {
        Some(at) => url.split_at(at + 3),
        None => ("", url),
    };
    let (authority, path) = match rest.find('/') {
        Some(at) if !scheme.is_empty() => rest.split_at(at),
        _ if !scheme.is_empty() => (rest, ""),
        _ => ("", rest),
    };
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = host.split(';').next().unwrap_or_default();
    let path: Vec<&str> = path
        .split('/')
        .map(|segment| segment.split(';').next().unwrap_or_default())
        .collect();
    format!("{scheme}{host}{}", path.join("/"))
}

pub fn parse_time(field: &str, text: &str) -> Result<OffsetDateTime, AppError> {
    OffsetDateTime::parse(text, &Rfc3339)
        .map_err(|_| AppError::bad(field, "must be an RFC 3339 time, e.g. 2026-11-22T08:00:00Z"))
}

fn check_text(field: &str, text: &str, max: usize) -> Result<(), AppError> {
    if text.trim().is_empty() || text.len() > max || text.chars().any(char::is_control) {
        return Err(AppError::bad(
            field,
            format!("must be 1 to {max} bytes of text without control characters"),
        ));
    }
    Ok(())
}

/// A banner language: kk, ru or en (receipts, impressions and stats filters).
pub fn check_language(language: &str) -> Result<(), AppError> {
    if ["kk", "ru", "en"].contains(&language) {
        Ok(())
    } else {
        Err(AppError::bad("language", "must be kk, ru or en"))
    }
}

/// A banner variant as impressions carry it and stats filter by it (empty: no variant).
pub fn check_variant(variant: &str) -> Result<(), AppError> {
    if variant.len() > 32
        || variant
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
    {
        return Err(AppError::bad(
            "variant",
            "must be at most 32 characters of a-z, A-Z, 0-9, '-', '_'",
        ));
    }
    Ok(())
}

fn check_id(field: &str, id: &str, max: usize, allow_dot: bool) -> Result<(), AppError> {
    if is_valid_id(id, max, allow_dot) {
        Ok(())
    } else {
        Err(AppError::bad(
            field,
            format!("must be 1 to {max} characters of a-z, A-Z, 0-9, '-', '_'"),
        ))
    }
}

/// The client's address truncated to its network: /24 for IPv4, /48 for IPv6. An IPv4-mapped
/// IPv6 address (`::ffff:a.b.c.d`, as a dual-stack listener sees IPv4 visitors) is IPv4.
pub fn ip_prefix(address: std::net::IpAddr) -> String {
    match address.to_canonical() {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
        }
    }
}

/// A random version-4 UUID (receipt ids the server itself creates).
pub fn random_uuid() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    kelisim_core::ids::uuid_v4(bytes)
}

/// The `withdraw` receipt of a consent whose last receipt is `last`: everything it granted (or
/// only `purposes`, of a form consent) becomes refused. The caller sets how it was received
/// (`method`, `page_url`, `user_agent`).
pub fn withdrawal_of(
    last: &Receipt,
    purposes: Option<&[String]>,
    now: OffsetDateTime,
) -> Result<Receipt, AppError> {
    let mut withdrawal = last.clone();
    let withdrawn: Vec<String> = match purposes {
        Some(purposes) => {
            for (index, purpose) in purposes.iter().enumerate() {
                if !withdrawal.granted_purposes.contains(purpose) {
                    return Err(AppError::bad(
                        format!("purposes[{index}]"),
                        format!("`{purpose}` is not granted in this consent"),
                    ));
                }
            }
            purposes.to_vec()
        }
        None => withdrawal.granted_purposes.clone(),
    };
    withdrawal
        .granted_purposes
        .retain(|purpose| !withdrawn.contains(purpose));
    withdrawal.denied_purposes.extend(withdrawn);
    if purposes.is_none() {
        let granted_categories = std::mem::take(&mut withdrawal.granted_categories);
        withdrawal.denied_categories.extend(granted_categories);
        let granted_services = std::mem::take(&mut withdrawal.granted_services);
        withdrawal.denied_services.extend(granted_services);
        withdrawal.countries.clear();
    }
    withdrawal.receipt_id = random_uuid();
    withdrawal.action = "withdraw".into();
    withdrawal.client_time = format_time(now);
    withdrawal.expires_at = format_time(now + time::Duration::days(3650));
    withdrawal.sms = None;
    withdrawal.eds = None;
    Ok(withdrawal)
}

/// Now, as stored: RFC 3339 in UTC.
pub fn format_time(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).expect("UTC times always format")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_urls_lose_queries_fragments_credentials_and_path_parameters() {
        for (given, kept) in [
            (
                "https://glazik.kz/catalog?email=a@b.kz#top",
                "https://glazik.kz/catalog",
            ),
            (
                "https://user:secret@glazik.kz/cart",
                "https://glazik.kz/cart",
            ),
            (
                "https://glazik.kz/cart;jsessionid=ABC123/step;x=1",
                "https://glazik.kz/cart/step",
            ),
            ("https://glazik.kz", "https://glazik.kz"),
            ("/catalog;jsessionid=1", "/catalog"),
            ("https://a@b@glazik.kz/p", "https://glazik.kz/p"),
        ] {
            assert_eq!(clean_page_url(given), kept, "{given}");
        }
    }

    #[test]
    fn trailing_data_after_the_json_is_refused() {
        #[derive(serde::Deserialize, Debug)]
        struct Small {
            #[allow(dead_code)]
            x: u32,
        }
        assert!(parse_json::<Small>(br#"{"x":1}"#).is_ok());
        assert!(parse_json::<Small>(b"{\"x\":1}\n ").is_ok());
        for body in [
            &br#"{"x":1}}{"x":1}"#[..],
            br#"{"x":1}GARBAGE"#,
            br#"{"x":1} 2"#,
        ] {
            match parse_json::<Small>(body) {
                Err(AppError::BadRequest { field, .. }) => {
                    assert_eq!(field.as_deref(), Some("body"))
                }
                other => panic!("{other:?} for {}", String::from_utf8_lossy(body)),
            }
        }
    }
}
