//! The config compiler on any text, and both compiled-config readers (the server's and the
//! runtime's) on what it wrote and on any text: never a panic; a refused config lists problems that each name a path, with a
//! line and column inside the text; an accepted one round-trips through its JSON, the body
//! browsers get (laid over with its documents apart) reads as the whole config does, and the
//! server's reader accepts only what hashes to its own `config_id`.
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
                // With the forms' purposes, as the forms module's reader reads them too.
                assert!(whole.read_compiled_forms(&value).is_ok());
                let forms = Config::from_compiled_for_forms(&value).expect("the forms module reads it");
                assert_eq!(forms.forms, whole.forms);
                // The body browsers get reads alone (the preferences dialog apart); laid over
                // with its documents apart, as the loader does, it reads as the whole config,
                // and so does the body with everything in it (a raw config's, in the browser).
                let body = config.to_browser_json();
                let bare: Value = serde_json::from_str(&body).expect("browser JSON");
                assert!(Config::from_compiled(&bare).is_ok());
                // A browser shows every variant it may pick.
                for variant in &config.variants {
                    let shown = Config::from_compiled_showing(&bare, Some(&variant.id), 0.5)
                        .expect("the runtime reads it showing each variant");
                    assert_eq!(shown.ui.variant.as_deref(), Some(variant.id.as_str()));
                }
                let whole_body = config.to_whole_browser_json();
                for json in [laid_over(config, &body), whole_body] {
                    let body: Value = serde_json::from_str(&json).expect("browser JSON");
                    let mut served = Config::from_compiled(&body).expect("the runtime reads it");
                    assert!(served.read_compiled_forms(&body).is_ok());
                    assert!(Config::from_compiled_for_forms(&body).is_ok());
                    assert_eq!(without_style(served), without_style(whole.clone()));
                }
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
    // The modules' readers on any JSON: an answer, never a panic.
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        if let Ok(mut config) = Config::from_compiled(&value) {
            let _ = config.read_compiled_forms(&value);
        }
        let _ = Config::from_compiled_for_forms(&value);
        let _ = Config::from_compiled_showing(&value, Some("b"), 0.999);
    }
    if let Ok(compiled) = CompiledConfig::from_json(text) {
        assert_eq!(CompiledConfig::from_json(&compiled.to_json()), Ok(compiled));
    }
});

/// The browser `body` of `config` laid over with its preferences and forms documents, as the
/// loader does (`src/loader.js`: `withPreferences`, `withForms`).
fn laid_over(config: &CompiledConfig, body: &str) -> String {
    let mut body: serde_json::Value = serde_json::from_str(body).expect("browser JSON");
    if let Some(preferences) = config.to_preferences_json() {
        let part: serde_json::Value = serde_json::from_str(&preferences).expect("JSON");
        assert_eq!(part["config_id"], body["config_id"]);
        let object = body.as_object_mut().expect("an object");
        object.remove("preferences_href");
        object.insert("preferences_style".into(), part["style"].clone());
        body["layers"]["preferences"] = part["preferences"].clone();
        for variant in body["variants"].as_array_mut().expect("variants") {
            let own = part["variants"]
                .as_array()
                .expect("variants")
                .iter()
                .find(|item| item["id"] == variant["id"])
                .expect("each variant's dialog");
            variant["layers"]["preferences"] = own["preferences"].clone();
        }
    }
    if let Some(forms) = config.to_forms_json() {
        let part: serde_json::Value = serde_json::from_str(&forms).expect("JSON");
        assert_eq!(part["config_id"], body["config_id"]);
        body["forms"] = part["forms"].clone();
    }
    body.to_string()
}

/// `config` without its stylesheet, which a served body splits between itself and the
/// preferences document.
fn without_style(mut config: Config) -> Config {
    if let Some(resolved) = config.resolved.as_mut() {
        resolved.style.clear();
        resolved.preferences_style.clear();
    }
    config
}
