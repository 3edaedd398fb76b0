//! The receipt validator on any body: never a panic, and an accepted receipt survives being
//! stored as JSON and read back unchanged.
#![no_main]

use kelisim_server::receipt::{parse_receipt, Receipt};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let now = time::macros::datetime!(2026-11-22 10:00 UTC);
    if let Ok(receipt) = parse_receipt(data, now) {
        let text = serde_json::to_string(&receipt).expect("a receipt serialises");
        let again: Receipt = serde_json::from_str(&text).expect("and parses back");
        assert_eq!(again, receipt);
    }
});
