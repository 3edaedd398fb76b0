//! Small string routines the browser modules use instead of the standard library's generic
//! ones: splitting at one-byte separators, and numbers written and read in a base.
//!
//! Why: `str::split` with a `char` brings the character searcher (UTF-8 encoding, `memchr`,
//! the `Split` iterator), and integer formatting brings `core::fmt`, which the runtime does not
//! carry at all; each costs the wasm far more than these loops. Everything else goes through
//! the standard library (`[..].concat()`, `join`, `trim`). Each is tested against the standard
//! library below.

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
    reversed.concat()
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
}
