//! Kazakh mobile numbers, as SMS-confirmed forms take them: one normal form (`+77XXXXXXXXX`),
//! shared by the browser (which refuses a wrong number before anything is sent) and the
//! server (which hashes and texts only normal forms), and the masked form a page may show.

/// `+77XXXXXXXXX` for a Kazakh mobile number written any usual way (`+7 701 123 45 67`,
/// `8 (701) 123-45-67`, `87011234567`, `7011234567`), `None` for anything else: a landline,
/// a Russian `+7 9…` number, letters, too few or too many digits.
pub fn normalize_kz_mobile(text: &str) -> Option<String> {
    // Bytes, not chars: the browser module carries no Unicode tables for this. The only
    // non-ASCII separator taken is the no-break space (C2 A0), which phones paste.
    let mut digits = String::new();
    for byte in text.bytes() {
        match byte {
            b'0'..=b'9' => digits.push(char::from(byte)),
            b'+' if digits.is_empty() => {}
            b' ' | b'-' | b'(' | b')' | b'\t' | 0xC2 | 0xA0 => {}
            _ => return None,
        }
    }
    // The national number: ten digits. Mobile operators' codes are 70x, 74x, 75x, 76x and
    // 77x; 71x-73x are landlines (Astana 7172, Almaty 727).
    let national = match digits.len() {
        10 => digits.as_str(),
        11 if digits.starts_with('7') || digits.starts_with('8') => &digits[1..],
        _ => return None,
    };
    let operator = national.as_bytes();
    if operator[0] != b'7' || !matches!(operator[1], b'0' | b'4'..=b'7') {
        return None;
    }
    let mut normal = String::from("+7");
    normal.push_str(national);
    Some(normal)
}

/// A normal number (`+77011234567`) as a page may show it to its owner without showing it to
/// anyone looking over their shoulder: `+7 701 *** ** 67`.
pub fn mask(normal: &str) -> String {
    let national = normal.strip_prefix("+7").unwrap_or(normal);
    let mut masked = String::from("+7 ");
    masked.push_str(national.get(..3).unwrap_or(""));
    masked.push_str(" *** ** ");
    masked.push_str(national.get(8..).unwrap_or(""));
    masked
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usual_ways_of_writing_a_number_are_one_number() {
        for written in [
            "+7 701 123 45 67",
            "+77011234567",
            "8 (701) 123-45-67",
            "87011234567",
            "77011234567",
            "7011234567",
            " +7\u{a0}701 123 45 67 ",
        ] {
            assert_eq!(
                normalize_kz_mobile(written).as_deref(),
                Some("+77011234567"),
                "{written}"
            );
        }
    }

    #[test]
    fn other_numbers_are_refused() {
        for written in [
            "",
            "+7 727 123 45 67",
            "+7 916 123 45 67",
            "+44 7911 123456",
            "701 123 45 6",
            "+7 701 123 45 678",
            "+7 701 ABC 45 67",
            "7+7011234567",
            "+7 701 123 45 67\u{2003}",
            "97011234567",
        ] {
            assert_eq!(normalize_kz_mobile(written), None, "{written}");
        }
    }

    #[test]
    fn a_masked_number_keeps_the_operator_and_the_last_digits() {
        assert_eq!(mask("+77011234567"), "+7 701 *** ** 67");
    }
}
