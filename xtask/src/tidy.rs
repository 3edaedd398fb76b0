//! Tidy checks that run as ordinary tests (`cargo test -p xtask`): every Rust file starts with
//! a `//!` doc saying what it owns, and kelisim-core depends on nothing from the browser or the
//! server world.

#[cfg(test)]
mod tests {
    use crate::build::walk;
    use std::path::Path;

    fn root() -> &'static Path {
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
    }

    #[test]
    fn every_rust_file_starts_with_a_module_doc() {
        let mut missing = Vec::new();
        for dir in ["src", "crates", "xtask/src", "tests"] {
            let dir = root().join(dir);
            if !dir.exists() {
                continue;
            }
            for path in walk(&dir).unwrap() {
                if path.extension().is_some_and(|e| e == "rs")
                    && !path.components().any(|c| c.as_os_str() == "target")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    if !text.trim_start().starts_with("//!") {
                        missing.push(path.strip_prefix(root()).unwrap().display().to_string());
                    }
                }
            }
        }
        assert!(
            missing.is_empty(),
            "files without a `//!` module doc: {missing:?}"
        );
    }

    #[test]
    fn stylesheet_minifier_keeps_what_css_needs() {
        use kelisim_core::css::minify_css;
        let css = "/* a comment */\n#kelisim  .a > .b ,\n.c:hover {\n  color : red ;\n  width: calc(100% - 1rem - 2px);\n  font: 15px/1.45 \"Segoe  UI\", sans-serif;\n}\n@media (max-width: 480px) { .a { top: 0; } }\n";
        assert_eq!(
            minify_css(css),
            "#kelisim .a > .b,.c:hover{color :red;width:calc(100% - 1rem - 2px);font:15px/1.45 \"Segoe  UI\",sans-serif}@media (max-width:480px){.a{top:0}}"
        );
        // The real stylesheet: smaller, no comment left, braces balanced.
        let source =
            std::fs::read_to_string(root().join("crates/kelisim-core/src/kelisim.css")).unwrap();
        let minified = minify_css(&source);
        assert!(minified.len() < source.len() * 9 / 10);
        assert!(!minified.contains("/*"));
        assert_eq!(minified.matches('{').count(), minified.matches('}').count());
    }

    #[test]
    fn core_has_no_browser_or_server_dependency() {
        let manifest =
            std::fs::read_to_string(root().join("crates/kelisim-core/Cargo.toml")).unwrap();
        let dependencies = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap()
            .split("\n[")
            .next()
            .unwrap();
        for forbidden in [
            "wasm-bindgen",
            "web-sys",
            "js-sys",
            "gloo",
            "axum",
            "sqlx",
            "tokio",
            "hyper",
            "reqwest",
        ] {
            assert!(
                !dependencies.contains(forbidden),
                "kelisim-core depends on {forbidden}"
            );
        }
    }

    #[test]
    fn typescript_types_name_every_overridable_text() {
        let types = std::fs::read_to_string(root().join("pkg-template/index.d.ts")).unwrap();
        for name in kelisim_core::texts::TEXT_NAMES {
            assert!(
                types.contains(&format!("{name}?: string")),
                "index.d.ts KelisimTexts lacks `{name}`"
            );
        }
    }

    #[test]
    fn readme_shows_the_ci_test_command() {
        let ci = std::fs::read_to_string(root().join(".ci/run")).unwrap();
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        assert!(
            ci.contains("cargo xtask test"),
            ".ci/run must call `cargo xtask test`"
        );
        assert!(
            readme.contains("cargo xtask test"),
            "README must show `cargo xtask test`"
        );
        assert!(
            readme.contains("cargo xtask demo"),
            "README must show `cargo xtask demo`"
        );
    }
}
