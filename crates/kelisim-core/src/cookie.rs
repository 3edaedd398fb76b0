//! The `kelisim` cookie: a compact, versioned text encoding of a [`Consent`].
//!
//! Format, version 1 (fields separated by `.`, list items by `~`, all cookie-safe):
//!
//! ```text
//! 1.<consent id>.<revision>.<decided_at, base 36 seconds>.<language>.<categories>.<services>
//! 1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru.analytics~necessary.yandex-metrika
//! ```
//!
//! Ids never contain `.` or `~` (config validation guarantees it). Decoding is total: any
//! other input is an error, never a panic, and the SDK treats it as "no choice".

use crate::consent::Consent;
use crate::ids::IdSet;
use crate::strings::{decimal, parse_digits, split_at};

/// Name of the first-party cookie.
pub const COOKIE_NAME: &str = "kelisim";

/// Current encoding version, the first field.
pub const COOKIE_VERSION: &str = "1";

/// Longest value accepted for decoding; browsers cap a cookie at 4096 bytes anyway.
const MAX_COOKIE_LENGTH: usize = 4096;

/// Why a cookie value did not decode.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    #[error("the cookie is longer than {MAX_COOKIE_LENGTH} bytes")]
    TooLong,
    #[error("the cookie has {0} fields; version 1 has 7")]
    FieldCount(usize),
    #[error("unsupported cookie version `{0}`")]
    Version(String),
    #[error("invalid {0} field in the cookie")]
    Field(&'static str),
}

/// Encodes a consent as the cookie value.
pub fn encode_cookie(consent: &Consent) -> String {
    let join = |ids: &IdSet| {
        let mut joined = String::new();
        for id in ids.iter() {
            if !joined.is_empty() {
                joined.push_str("~");
            }
            joined.push_str(id);
        }
        joined
    };
    [
        COOKIE_VERSION,
        ".",
        &consent.consent_id,
        ".",
        &decimal(consent.revision.into()),
        ".",
        &to_base36(consent.decided_at),
        ".",
        consent.language.code(),
        ".",
        &join(&consent.granted_categories),
        ".",
        &join(&consent.granted_services),
    ]
    .concat()
}

/// Decodes a cookie value written by [`encode_cookie`].
pub fn decode_cookie(value: &str) -> Result<Consent, CookieError> {
    if value.len() > MAX_COOKIE_LENGTH {
        return Err(CookieError::TooLong);
    }
    let fields = split_at(value, b'.');
    if fields.first() != Some(&COOKIE_VERSION) {
        // At most the first 8 bytes, cut at a character boundary, for the message.
        let version = fields[0];
        let end = (0..=version.len().min(8))
            .rev()
            .find(|&end| version.is_char_boundary(end))
            .unwrap_or(0);
        return Err(CookieError::Version(version[..end].to_owned()));
    }
    let [_, consent_id, revision, decided_at, language, categories, services] = fields[..] else {
        return Err(CookieError::FieldCount(fields.len()));
    };
    if !is_consent_id(consent_id) {
        return Err(CookieError::Field("consent id"));
    }
    let revision = parse_digits(revision, 10)
        .and_then(|revision| u32::try_from(revision).ok())
        .ok_or(CookieError::Field("revision"))?;
    let decided_at = from_base36(decided_at).ok_or(CookieError::Field("time"))?;
    let language = language
        .parse()
        .map_err(|()| CookieError::Field("language"))?;
    let ids = |list: &str, name| -> Result<IdSet, CookieError> {
        if list.is_empty() {
            return Ok(IdSet::new());
        }
        let mut set = IdSet::new();
        for id in &split_at(list, b'~') {
            if !is_id(id) {
                return Err(CookieError::Field(name));
            }
            set.insert((*id).to_owned());
        }
        Ok(set)
    };
    Ok(Consent {
        consent_id: consent_id.to_owned(),
        revision,
        decided_at,
        language,
        granted_categories: ids(categories, "categories")?,
        granted_services: ids(services, "services")?,
    })
}

/// A consent id is a UUID in lowercase hex with hyphens (36 characters).
pub fn is_consent_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_digit() || (b'a'..=b'f').contains(&b),
        })
}

fn is_id(id: &str) -> bool {
    crate::ids::is_valid_id(id, 40, false)
}

fn to_base36(value: u64) -> String {
    crate::strings::digits(value, 36)
}

fn from_base36(text: &str) -> Option<u64> {
    // At most 13 digits: the longest `u64` in base 36.
    if text.len() > 13 {
        return None;
    }
    parse_digits(text, 36)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;

    fn consent(categories: &[&str], services: &[&str]) -> Consent {
        Consent {
            consent_id: "3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10".into(),
            revision: 3,
            decided_at: 1_795_000_000,
            language: Language::Ru,
            granted_categories: categories.iter().map(|s| s.to_string()).collect(),
            granted_services: services.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn round_trips() {
        for c in [
            consent(&["necessary"], &[]),
            consent(&["analytics", "necessary"], &["yandex-metrika"]),
            consent(&[], &[]),
            consent(&["a_b", "marketing"], &["meta-pixel", "ga4"]),
        ] {
            let encoded = encode_cookie(&c);
            assert_eq!(decode_cookie(&encoded), Ok(c.clone()), "{encoded}");
        }
    }

    #[test]
    fn documented_example_decodes() {
        let decoded = decode_cookie(
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru.analytics~necessary.yandex-metrika",
        )
        .unwrap();
        assert_eq!(decoded.revision, 3);
        assert_eq!(decoded.language, Language::Ru);
        assert!(decoded.category_granted("analytics"));
        assert!(decoded.service_granted("yandex-metrika"));
        assert_eq!(to_base36(decoded.decided_at), "t4b2k0");
        // And the encoder writes exactly the documented form back.
        assert_eq!(
            encode_cookie(&decoded),
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru.analytics~necessary.yandex-metrika"
        );
    }

    #[test]
    fn is_compact() {
        let encoded = encode_cookie(&consent(
            &["analytics", "marketing", "necessary"],
            &["google-analytics", "meta-pixel"],
        ));
        assert!(encoded.len() < 120, "{} bytes: {encoded}", encoded.len());
    }

    fn check_garbage(value: &str) {
        assert!(decode_cookie(value).is_err(), "decoded garbage {value:?}");
    }

    #[test]
    fn an_unknown_version_is_named_in_at_most_eight_bytes() {
        assert_eq!(
            decode_cookie("2.x"),
            Err(CookieError::Version("2".to_owned()))
        );
        assert_eq!(
            decode_cookie("ёёёёёё.x"),
            Err(CookieError::Version("ёёёё".to_owned()))
        );
        assert_eq!(
            decode_cookie("abcdefghij"),
            Err(CookieError::Version("abcdefgh".to_owned()))
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let good = encode_cookie(&consent(&["necessary"], &["x"]));
        for value in [
            "",
            ".",
            "1",
            "2.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru.",
            "1.not-a-uuid.3.t4b2k0.ru..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.-1.t4b2k0.ru..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.+t4b2k0.ru..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.zzzzzzzzzzzzzz.ru..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.de..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru.analyt!cs.",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru.a~~b.",
            "1.3F2A9C1E-7D4B-4E8A-9A51-0C6B2D8E4F10.3.t4b2k0.ru..",
            "1.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.3.t4b2k0.ru...",
            "{\"categories\":[\"analytics\"]}",
            "1.ёёёёёёёёёёёёёёёёёё.3.t4b2k0.ru..",
        ] {
            check_garbage(value);
        }
        // Every truncation before the last separator drops a field, so it is garbage too.
        for end in 0..good.rfind('.').unwrap() {
            if good.is_char_boundary(end) {
                check_garbage(&good[..end]);
            }
        }
        check_garbage(&"1.".repeat(5000));
    }
}
