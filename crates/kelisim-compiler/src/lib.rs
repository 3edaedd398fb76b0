//! The config compiler for the browser (`pkg/kelisim_compiler.js` and its module): the same
//! `kelisim_core::compile` that `kelisim-server config build` runs, for the pages that give the
//! loader a raw `kelisim.json` (`data-config` naming one, or `kelisim.init(object)`). The
//! runtime module reads compiled configs only; the loader fetches this module only when it
//! meets a raw config.
//!
//! Owns the answer's shape, which the loader reads: `{"configs": {"kk": {…}, "ru": {…},
//! "default": {…}}}` (a compiled config as browsers get it, for each language the site offers
//! and for `default`),
//! or `{"error": "…"}`, the one console error that lists every problem.

use kelisim_core::compile::{compile_text, for_language, Problem, SERVED_LANGUAGES};
use serde_json::{json, Map, Value};
use wasm_bindgen::prelude::*;

/// Compiles the text of a `kelisim.json` read from `source` (a URL, or
/// `kelisim.init()` for an object, whose text has no lines worth naming) and answers as JSON
/// text.
#[wasm_bindgen]
pub fn compile(text: &str, source: &str, from_file: bool) -> String {
    answer(text, source, from_file).to_string()
}

/// The answer to [`compile`], as a JSON value.
pub fn answer(text: &str, source: &str, from_file: bool) -> Value {
    match compile_text(text) {
        Ok(compiled) => {
            let mut configs = Map::new();
            for language in SERVED_LANGUAGES {
                // Only the languages the site offers, and `default`: the loader asks for
                // `default` when the visitor's language is none of them.
                let offered = compiled.iter().any(|config| config.language == language);
                if let Some(config) = for_language(&compiled, language) {
                    if offered || language == "default" {
                        configs.insert(language.to_owned(), config.to_whole_browser_value());
                    }
                }
            }
            json!({ "configs": configs })
        }
        Err(problems) => json!({ "error": problems_message(&problems, source, from_file) }),
    }
}

/// Every problem in one message: `kelisim: the config from /kelisim.json has 2 problems; …`,
/// then one line each, `/kelisim.json:3:5: `operater` is not a field (did you mean …?)`.
fn problems_message(problems: &[Problem], source: &str, from_file: bool) -> String {
    let (count, pronoun) = match problems.len() {
        1 => ("1 problem".to_owned(), "it is"),
        many => (format!("{many} problems"), "they are"),
    };
    let mut message = format!(
        "kelisim: the config from {source} has {count}; nothing is shown until {pronoun} fixed:"
    );
    for problem in problems {
        let mut problem = problem.clone();
        if !from_file {
            problem.line = None;
            problem.column = None;
        }
        message.push_str("\n  ");
        if problem.line.is_some() {
            message.push_str(source);
            message.push(':');
        }
        message.push_str(&problem.to_string());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::answer;

    #[test]
    fn the_demo_config_compiles_for_each_language_and_the_default() {
        let answer = answer(
            include_str!("../../../www/kelisim.json"),
            "/kelisim.json",
            true,
        );
        let configs = answer["configs"].as_object().expect("configs");
        let mut languages: Vec<&str> = configs.keys().map(String::as_str).collect();
        languages.sort_unstable();
        assert_eq!(languages, ["default", "en", "kk", "ru"]);
        assert_eq!(configs["kk"]["format"], kelisim_core::compiled::FORMAT);
        assert_eq!(
            configs["default"], configs["kk"],
            "the demo's default is kk"
        );
    }

    const BROKEN: &str = "{\n  \"site\": \"bad site\",\n  \"operater\": {}\n}";

    #[test]
    fn every_problem_comes_back_in_one_message_with_its_place() {
        let answer = answer(BROKEN, "/kelisim.json", true);
        assert!(answer.get("configs").is_none());
        let error = answer["error"].as_str().expect("error");
        let lines: Vec<&str> = error.lines().collect();
        assert!(
            lines[0].starts_with("kelisim: the config from /kelisim.json has ")
                && lines[0].ends_with(" problems; nothing is shown until they are fixed:"),
            "{error}"
        );
        assert!(lines.len() >= 4, "{error}");
        assert!(
            lines.iter().any(|line| line
                .starts_with("  /kelisim.json:3:3: `operater` is not a known field")
                && line.ends_with("(did you mean `operator`?)")),
            "{error}"
        );
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("  /kelisim.json:2:11: `site` ")),
            "{error}"
        );
    }

    #[test]
    fn an_object_given_to_init_has_no_lines() {
        let answer = answer(BROKEN, "kelisim.init()", false);
        let error = answer["error"].as_str().expect("error");
        assert!(error.contains("\n  `operater` "), "{error}");
        assert!(!error.contains(":3:"), "{error}");
    }
}
