//! Small string routines the browser module uses instead of the standard library's generic
//! ones: joining pieces, splitting at one-byte separators, digits in a base, blank tests.
//!
//! Why: `[&str]::concat`, `str::split` with a `char`, `trim` and integer formatting each bring
//! generic machinery (a join routine, the character searcher with `memchr` and UTF-8
//! encoding, `core::fmt`) that costs the wasm far more than these loops (ARCHITECTURE.md,
//! "Size"). Each is tested against the standard library below.

/// `parts` one after the other. `[&str]::concat` is the standard library's generic join
/// routine, larger in the browser module; this loop is a fraction of it, and the
/// SDK and core build every message and attribute value with it.
pub fn concat(parts: &[&str]) -> String {
    join(parts, "")
}

/// `items` joined by `separator`. The standard `join` is a generic copy routine several times
/// the size of this loop (and the browser module needs only this one, for `String` and `&str`
/// lists alike).
pub fn join<S: AsRef<str>>(items: &[S], separator: &str) -> String {
    let mut out = String::new();
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            out.push_str(separator);
        }
        out.push_str(item.as_ref());
    }
    out
}

/// `text` cut at every `separator`, an ASCII character (`"a;b;"` gives `a`, `b` and `""`).
/// Cookies, cookie patterns and domains are split at one-byte separators; `str::split` with a
/// `char` would bring the standard library's character searcher (UTF-8 encoding, `memchr`,
/// the `Split` iterator) into the browser module for them.
pub fn split_at(text: &str, separator: u8) -> Vec<&str> {
    debug_assert!(separator.is_ascii());
    let mut parts = Vec::new();
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        if byte == separator {
            parts.push(&text[start..index]);
            start = index + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// `text` before and after its first `separator` (an ASCII character), if it has one.
pub fn split_once_at(text: &str, separator: u8) -> Option<(&str, &str)> {
    debug_assert!(separator.is_ascii());
    let index = text.bytes().position(|byte| byte == separator)?;
    Some((&text[..index], &text[index + 1..]))
}

/// Whether `text` contains the ASCII character `byte`.
pub fn has_byte(text: &str, byte: u8) -> bool {
    text.bytes().any(|b| b == byte)
}

/// Whether `text` is empty or only whitespace (what `text.trim().is_empty()` says, without
/// the trimming machinery, which the browser module otherwise needs nowhere).
pub fn is_blank(text: &str) -> bool {
    text.chars().all(char::is_whitespace)
}

/// The decimal digits of `number`: `to_string` and `format!` would bring the formatting
/// machinery (several kilobytes) into the browser module.
pub fn decimal(number: u64) -> String {
    digits(number, 10)
}

/// `number` written in `base` (2 to 36) with the digits `0`-`9` and `a`-`z`. The digits are
/// slices of one constant string, so no `char` is encoded at run time.
pub fn digits(mut number: u64, base: u64) -> String {
    debug_assert!((2..=36).contains(&base));
    let mut reversed = Vec::new();
    loop {
        reversed.push(digit((number % base) as usize));
        number /= base;
        if number == 0 {
            break;
        }
    }
    reversed.reverse();
    concat(&reversed)
}

/// The number `text` writes in `base` (2 to 36) with the digits of [`digits`] (`0`-`9`, then
/// lowercase `a`-`z`): `None` for an empty text, any other character (no sign, no capitals) or
/// a value past `u64`. One small loop for every number kelisim reads back (cookie fields,
/// outbox counters) instead of a copy of the standard library's generic parser per type.
pub fn parse_digits(text: &str, base: u64) -> Option<u64> {
    debug_assert!((2..=36).contains(&base));
    if text.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for byte in text.bytes() {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'z' => byte - b'a' + 10,
            _ => return None,
        };
        let digit = u64::from(digit);
        // `value * base + digit` would pass `u64::MAX`: tested by division, because an
        // overflow-checked multiplication is a 128-bit multiply routine in the browser module.
        if digit >= base || value > (u64::MAX - digit) / base {
            return None;
        }
        value = value * base + digit;
    }
    Some(value)
}

/// The digit for `value` (0 to 35): `0`-`9`, then `a`-`z`. A slice of one constant string,
/// shared by every number kelisim writes (decimal, base 36, hex).
pub fn digit(value: usize) -> &'static str {
    const DIGITS: &str = "0123456789abcdefghijklmnopqrstuvwxyz";
    &DIGITS[value..value + 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_is_what_trim_leaves_empty() {
        for text in ["", " ", "\t\n", "\u{a0}\u{3000}", " a ", "ә", "\u{200b}"] {
            assert_eq!(is_blank(text), text.trim().is_empty(), "{text:?}");
        }
    }

    #[test]
    fn digits_in_base_10_and_36() {
        for number in [0u64, 7, 10, 35, 36, 1_799_999_999, u64::MAX] {
            assert_eq!(decimal(number), number.to_string());
            assert_eq!(u64::from_str_radix(&digits(number, 36), 36), Ok(number));
        }
        assert_eq!(digits(35, 36), "z");
    }

    #[test]
    fn parsed_digits_match_the_standard_library() {
        for text in [
            "0",
            "7",
            "10",
            "z",
            "zz",
            "4294967295",
            "18446744073709551615",
            "3w5e11264sgsf",
        ] {
            for base in [10, 36] {
                assert_eq!(
                    parse_digits(text, base),
                    u64::from_str_radix(text, base as u32).ok(),
                    "{text:?} in base {base}"
                );
            }
        }
        for bad in [
            "",
            "+1",
            "-1",
            " 1",
            "1 ",
            "A",
            "1.5",
            "18446744073709551616",
            "ё",
        ] {
            assert_eq!(parse_digits(bad, 10), None, "{bad:?}");
        }
        assert_eq!(parse_digits("3w5e11264sgsg", 36), None, "past u64::MAX");
        assert_eq!(
            parse_digits(&digits(1_799_999_999, 36), 36),
            Some(1_799_999_999)
        );
    }

    #[test]
    fn byte_splits_match_the_standard_library() {
        for text in ["", ";", "a", "a;b", ";a;;b;", "ключ=значение; b=2", "_ga_*"] {
            for separator in [b';', b'=', b'*'] {
                let expected: Vec<&str> = text.split(char::from(separator)).collect();
                assert_eq!(split_at(text, separator), expected, "{text:?}");
                assert_eq!(
                    split_once_at(text, separator),
                    text.split_once(char::from(separator)),
                    "{text:?}"
                );
                assert_eq!(
                    has_byte(text, separator),
                    text.contains(char::from(separator))
                );
            }
        }
    }

    #[test]
    fn concat_and_join_match_the_standard_library() {
        assert_eq!(concat(&["a", "", "bc", "д"]), ["a", "", "bc", "д"].concat());
        assert_eq!(concat(&[]), "");
        let owned = vec!["kk".to_owned(), "ru".to_owned()];
        assert_eq!(join(&owned, ", "), owned.join(", "));
        assert_eq!(join(&["x"], ", "), "x");
        assert_eq!(join::<&str>(&[], ", "), "");
    }
}
