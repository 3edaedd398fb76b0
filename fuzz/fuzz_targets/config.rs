//! The config reader and validator on any JSON: never a panic; a rejected config always names
//! the field at fault; an accepted one yields its texts and fingerprints.
#![no_main]

use kelisim_core::config::Config;
use kelisim_core::value::Value;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match Config::from_value(&value) {
        Ok(config) => {
            let _ = config.texts_fingerprint(config.default_language);
        }
        Err(error) => assert!(!error.to_string().is_empty()),
    }
});
