//! The config compiler on any text, and both compiled-config readers (the server's and the
//! runtime's) on what it wrote and on any text: never a panic; a refused config lists problems that each name a path, with a
//! line and column inside the text; an accepted one round-trips through its JSON, the body
//! browsers get reads as the whole config does, and the server's reader accepts only what
//! hashes to its own `config_id`.
#![no_main]

use kelisim_core::compile::{compile_text, CompiledConfig};
use kelisim_core::{Config, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let lines = text.lines().count().max(1);
    match compile_text(text) {
        Ok(compiled) => {
            for config in &compiled {
                let json = config.to_json();
                assert_eq!(CompiledConfig::from_json(&json).as_ref(), Ok(config));
                // The browser modules' reader takes whatever the compiler writes: the whole
                // config (the archive's) and the body browsers get, and reads the same from both.
                let value: Value = serde_json::from_str(&json).expect("compiled JSON");
                let mut whole = Config::from_compiled(&value).expect("the runtime reads it");
                // And the forms module's reader of the forms' purposes.
                assert!(whole.read_compiled_forms(&value).is_ok());
                let body: Value =
                    serde_json::from_str(&config.to_browser_json()).expect("browser JSON");
                let mut served = Config::from_compiled(&body).expect("the runtime reads it");
                assert!(served.read_compiled_forms(&body).is_ok());
                assert_eq!(served, whole);
            }
        }
        Err(problems) => {
            assert!(!problems.is_empty());
            for problem in &problems {
                assert!(!problem.path.is_empty() && !problem.message.is_empty());
                if let Some(line) = problem.line {
                    assert!(line >= 1 && line <= lines + 1, "{problem}");
                }
            }
        }
    }
    // The runtime's reader on any JSON: an answer, never a panic.
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        if let Ok(mut config) = Config::from_compiled(&value) {
            let _ = config.read_compiled_forms(&value);
        }
    }
    if let Ok(compiled) = CompiledConfig::from_json(text) {
        assert_eq!(CompiledConfig::from_json(&compiled.to_json()), Ok(compiled));
    }
});
