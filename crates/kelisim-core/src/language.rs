//! Interface languages and the rule that picks one for a visitor.
//!
//! Owns the `Language` enum and `choose_language`; knows nothing about where the inputs come
//! from (cookie, `<html lang>`, `navigator.languages`): the SDK reads those and passes them in.

use std::fmt;
use std::str::FromStr;

/// A language kelisim has built-in texts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Language {
    /// Kazakh, in Cyrillic script.
    Kk,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Language {
    /// Every built-in language, in the order the switcher shows them.
    pub const ALL: [Language; 3] = [Language::Kk, Language::Ru, Language::En];

    /// The ISO 639-1 code used in configs, cookies and `lang` attributes.
    pub fn code(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    /// Position in [`Language::ALL`], for per-language arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The language's own name, as the switcher shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Language::Kk => "Қазақша",
            Language::Ru => "Русский",
            Language::En => "English",
        }
    }

    /// Parses a BCP 47 tag loosely: `ru-RU`, `kk_KZ`, `EN` and the common mistake `kz` all
    /// map to a language; anything else is `None`.
    pub fn from_tag(tag: &str) -> Option<Language> {
        let tag = tag.trim_ascii();
        let end = tag
            .bytes()
            .position(|b| b == b'-' || b == b'_')
            .unwrap_or(tag.len());
        // The primary subtag, compared without a lowercased copy.
        let primary = tag.get(..end)?;
        if primary.eq_ignore_ascii_case("kz") {
            return Some(Language::Kk);
        }
        Language::ALL
            .iter()
            .copied()
            .find(|language| primary.eq_ignore_ascii_case(language.code()))
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Language {
    type Err = ();

    /// Strict parse of the exact codes `kk`, `ru`, `en` (configs and cookies use these).
    fn from_str(code: &str) -> Result<Self, Self::Err> {
        Language::ALL
            .iter()
            .copied()
            .find(|language| language.code() == code)
            .ok_or(())
    }
}

/// Picks the interface language: the saved choice, then `<html lang>`, then each of
/// `navigator.languages` in order, then `default`. Only languages in `enabled` are taken.
pub fn choose_language(
    saved: Option<Language>,
    html_lang: Option<&str>,
    navigator_languages: &[String],
    enabled: &[Language],
    default: Language,
) -> Language {
    let from_tags = navigator_languages
        .iter()
        .map(|tag| Language::from_tag(tag));
    [saved, html_lang.and_then(Language::from_tag)]
        .into_iter()
        .chain(from_tags)
        .flatten()
        .find(|language| enabled.contains(language))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;
    use Language::*;

    fn check(
        saved: Option<Language>,
        html: Option<&str>,
        navigator: &[&str],
        enabled: &[Language],
        expected: Language,
    ) {
        let navigator: Vec<String> = navigator.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            choose_language(saved, html, &navigator, enabled, Kk),
            expected,
            "saved={saved:?} html={html:?} navigator={navigator:?}"
        );
    }

    #[test]
    fn saved_choice_wins() {
        check(Some(En), Some("ru"), &["kk"], &[Kk, Ru, En], En);
    }

    #[test]
    fn html_lang_comes_before_navigator() {
        check(None, Some("ru-RU"), &["en-US"], &[Kk, Ru, En], Ru);
        check(None, Some("kz"), &["en-US"], &[Kk, Ru, En], Kk);
    }

    #[test]
    fn navigator_languages_in_order() {
        check(None, None, &["de-DE", "en-GB", "ru"], &[Kk, Ru, En], En);
        check(None, Some("de"), &["ru_RU"], &[Kk, Ru, En], Ru);
    }

    #[test]
    fn default_when_nothing_matches() {
        check(None, None, &[], &[Kk, Ru, En], Kk);
        check(None, Some("tr"), &["de"], &[Kk, Ru, En], Kk);
    }

    #[test]
    fn languages_not_enabled_are_skipped() {
        check(Some(En), Some("en"), &["en", "ru"], &[Kk, Ru], Ru);
    }

    #[test]
    fn tags_are_read_loosely() {
        for (tag, expected) in [
            ("kk", Some(Kk)),
            ("KK-kz", Some(Kk)),
            (" kz ", Some(Kk)),
            ("kk_KZ", Some(Kk)),
            ("ru-RU", Some(Ru)),
            ("RU", Some(Ru)),
            ("en-GB", Some(En)),
            ("EN_us", Some(En)),
            ("ky", None),
            ("kkk", None),
            ("", None),
            ("-ru", None),
            ("қаз", None),
        ] {
            assert_eq!(Language::from_tag(tag), expected, "{tag:?}");
        }
    }

    #[test]
    fn strict_codes() {
        assert_eq!("kk".parse(), Ok(Kk));
        assert_eq!("KK".parse::<Language>(), Err(()));
        assert_eq!("kz".parse::<Language>(), Err(()));
    }
}
