//! The config compiler on any text, and the compiled-config reader on what it wrote and on
//! any text: never a panic; a refused config lists problems that each name a path, with a
//! line and column inside the text; an accepted one round-trips through its JSON, and the
//! reader accepts only what hashes to its own `config_id`.
#![no_main]

use kelisim_core::compile::{compile_text, CompiledConfig};
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
    if let Ok(compiled) = CompiledConfig::from_json(text) {
        assert_eq!(CompiledConfig::from_json(&compiled.to_json()), Ok(compiled));
    }
});
