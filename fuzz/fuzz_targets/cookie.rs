//! The `kelisim` cookie decoder on any text: never a panic, and whatever it accepts encodes
//! back to a cookie that decodes to the same choice.
#![no_main]

use kelisim_core::{decode_cookie, encode_cookie};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    if let Ok(consent) = decode_cookie(text) {
        let again = decode_cookie(&encode_cookie(&consent)).expect("an encoded cookie decodes");
        assert_eq!(again, consent);
    }
});
