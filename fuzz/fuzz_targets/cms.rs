//! The check of an electronic signature on any bytes a browser may send as a CMS: an answer
//! (checked, or refused with its reason), never a panic, and never "verified" for bytes that
//! no trusted CA's signer made (there is no trusted CA here).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let document = "Согласие на сбор и обработку персональных данных\n".as_bytes();
    if let Ok(checked) = kelisim_server::cms_check::check(data, document, &[], 0, true) {
        assert!(
            !checked.verified,
            "verified without a trusted CA: {checked:?}"
        );
    }
    let _ = kelisim_server::cms_check::check(data, document, &[], 0, false);
});
