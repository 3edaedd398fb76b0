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
        for dir in ["src", "crates", "xtask/src", "xtask/harness/src", "tests"] {
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
        // The forms' sheet too, and it holds only the forms' rules.
        let forms = minify_css(kelisim_core::css::FORMS_STYLESHEET);
        assert!(!forms.contains("/*") && !forms.contains("#kelisim"));
        assert_eq!(forms.matches('{').count(), forms.matches('}').count());
        assert!(!minified.contains("kelisim-form-"));
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

    /// `cargo xtask build` compiles no server, TLS or browser-driving crate: those are the
    /// harness's (`xtask/harness`).
    #[test]
    fn building_pkg_needs_none_of_the_harness_crates() {
        let manifest = std::fs::read_to_string(root().join("xtask/Cargo.toml")).unwrap();
        let dependencies = manifest.split("[dependencies]").nth(1).unwrap();
        for crate_name in [
            "axum",
            "hyper",
            "tokio",
            "rustls",
            "rcgen",
            "ureq",
            "xtask-harness",
        ] {
            assert!(
                !dependencies.contains(crate_name),
                "xtask depends on {crate_name}"
            );
        }
        let harness = std::fs::read_to_string(root().join("xtask/harness/Cargo.toml")).unwrap();
        assert!(harness.contains("axum") && harness.contains("xtask = { path"));
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

    /// A browser's compiled config holds only the texts listed as read (the rest are in the
    /// layers' node trees): a module that reads another would show it empty.
    #[test]
    fn the_browser_modules_read_only_the_texts_a_browser_is_served() {
        use kelisim_core::texts::{RUNTIME_TEXT_NAMES, TEXT_NAMES};
        // The functions of kelisim-core by name, each with its body (the text up to the next
        // `fn`): a module reads the texts of the core functions it calls too.
        let mut core_functions: Vec<(String, String)> = Vec::new();
        for path in walk(&root().join("crates/kelisim-core/src")).unwrap() {
            let text = std::fs::read_to_string(&path).unwrap();
            let starts: Vec<usize> = text.match_indices("fn ").map(|(at, _)| at).collect();
            for (index, &start) in starts.iter().enumerate() {
                let end = starts.get(index + 1).copied().unwrap_or(text.len());
                let name: String = text[start + 3..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                core_functions.push((name, text[start..end].to_owned()));
            }
        }
        let mut unserved = Vec::new();
        for (dir, forms) in [("src", false), ("crates/kelisim-forms/src", true)] {
            for path in walk(&root().join(dir)).unwrap() {
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                // The code only: a comment may name an API call (`kelisim.withdraw()`).
                let mut text: String = std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let called: Vec<&String> = core_functions
                    .iter()
                    .filter(|(name, _)| {
                        !name.is_empty()
                            && (text.contains(&format!(".{name}("))
                                || text.contains(&format!("::{name}(")))
                    })
                    .map(|(_, body)| body)
                    .collect();
                for body in called {
                    text.push_str(body);
                }
                for name in TEXT_NAMES {
                    let served = RUNTIME_TEXT_NAMES.contains(name)
                        || (forms && kelisim_core::config::Confirmation::of_text(name).is_some());
                    if !served && text.contains(&format!(".{name}()")) {
                        let file = path.strip_prefix(root()).unwrap().display().to_string();
                        unserved.push(format!("{file}: {name}"));
                    }
                }
            }
        }
        assert!(
            unserved.is_empty(),
            "texts read in the browser but not served to it (add them to kelisim_core::texts's \
             RUNTIME_TEXT_NAMES, or write them into the layers' trees): {unserved:?}"
        );
    }

    /// The modules of the runtime and of kelisim-core use each other in one direction only: no
    /// chain of `crate::` uses (outside tests) leads back to where it started.
    #[test]
    fn the_module_graphs_have_no_cycle() {
        for dir in ["src", "crates/kelisim-core/src"] {
            let dir = root().join(dir);
            let mut uses: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
                Default::default();
            for path in walk(&dir).unwrap() {
                if path.extension().is_none_or(|e| e != "rs") {
                    continue;
                }
                // A file in a folder (`ui/reopen.rs`) is part of the folder's module.
                let relative = path.strip_prefix(&dir).unwrap();
                let module = match relative.components().next() {
                    Some(first) if relative.components().count() > 1 => {
                        first.as_os_str().to_str().unwrap().to_owned()
                    }
                    _ => path.file_stem().unwrap().to_str().unwrap().to_owned(),
                };
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap();
                let used = uses.entry(module.clone()).or_default();
                for line in code
                    .lines()
                    .filter(|line| !line.trim_start().starts_with("//"))
                {
                    for (at, _) in line.match_indices("crate::") {
                        let name: String = line[at + "crate::".len()..]
                            .chars()
                            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                            .collect();
                        if !name.is_empty() && name != module {
                            used.insert(name);
                        }
                    }
                }
            }
            // Depth-first from every module; a module met again on the current path closes a
            // cycle.
            fn visit(
                module: &str,
                uses: &std::collections::BTreeMap<String, std::collections::BTreeSet<String>>,
                path: &mut Vec<String>,
                done: &mut std::collections::BTreeSet<String>,
            ) -> Option<Vec<String>> {
                if let Some(start) = path.iter().position(|known| known == module) {
                    let mut cycle = path[start..].to_vec();
                    cycle.push(module.to_owned());
                    return Some(cycle);
                }
                if !done.insert(module.to_owned()) {
                    return None;
                }
                path.push(module.to_owned());
                for next in uses.get(module).into_iter().flatten() {
                    if let Some(cycle) = visit(next, uses, path, done) {
                        return Some(cycle);
                    }
                }
                path.pop();
                None
            }
            let mut done = Default::default();
            for module in uses.keys() {
                if let Some(cycle) = visit(module, &uses, &mut Vec::new(), &mut done) {
                    panic!(
                        "{}: modules use each other: {}",
                        dir.display(),
                        cycle.join(" -> ")
                    );
                }
            }
            assert!(uses.len() > 5, "no modules found under {}", dir.display());
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

    /// The Markdown documents of the repository (not the build's or the tools' folders).
    fn documents() -> Vec<std::path::PathBuf> {
        let mut documents = Vec::new();
        for path in walk(root()).unwrap() {
            let relative = path.strip_prefix(root()).unwrap();
            let first = relative.components().next().unwrap().as_os_str();
            let skipped = ["target", ".tools", "pkg", "node_modules", ".git", "fuzz"];
            if path.extension().is_some_and(|e| e == "md")
                && !skipped.iter().any(|skip| first == *skip)
            {
                documents.push(path);
            }
        }
        documents
    }

    /// The README is the first screen a store's developer and operator read, and the
    /// architecture a newcomer's map: both stay short, the reference lives in `docs/`.
    #[test]
    fn readme_and_architecture_stay_short() {
        let architecture = std::fs::metadata(root().join("ARCHITECTURE.md"))
            .unwrap()
            .len();
        assert!(
            architecture < 15_000,
            "ARCHITECTURE.md is {architecture} bytes; keep it under 15,000"
        );
        let readme = std::fs::metadata(root().join("README.md")).unwrap().len();
        assert!(
            readme < 20_000,
            "README.md is {readme} bytes; keep it under 20,000 (move reference material to docs/)"
        );
        let first_screen: String = std::fs::read_to_string(root().join("README.md"))
            .unwrap()
            .lines()
            .take(60)
            .collect::<Vec<_>>()
            .join("\n");
        for needed in ["cargo xtask demo", "cargo xtask test", "<script src="] {
            assert!(
                first_screen.contains(needed),
                "the README's first screen must show {needed}"
            );
        }
    }

    /// Every relative link of every document names a file or folder that exists (links that
    /// leave the repository, such as the workplace's `../shared/SPEC.md`, are not checked).
    #[test]
    fn every_link_in_the_documents_resolves() {
        let mut broken = Vec::new();
        for document in documents() {
            let text = std::fs::read_to_string(&document).unwrap();
            let mut rest = text.as_str();
            while let Some(start) = rest.find("](") {
                rest = &rest[start + 2..];
                let Some(end) = rest.find(')') else { break };
                let target = &rest[..end];
                rest = &rest[end..];
                let path = target.split('#').next().unwrap_or_default();
                if path.is_empty() || path.contains("://") || path.starts_with("mailto:") {
                    continue;
                }
                let resolved = document.parent().unwrap().join(path);
                let inside = resolved
                    .canonicalize()
                    .map(|full| full.starts_with(root().canonicalize().unwrap()));
                match inside {
                    Ok(true) => {}
                    // Outside the repository: not ours to check.
                    Ok(false) => {}
                    Err(_) if !normalized(&resolved).starts_with(root()) => {}
                    Err(_) => broken.push(format!(
                        "{}: {target}",
                        document.strip_prefix(root()).unwrap().display()
                    )),
                }
            }
        }
        assert!(broken.is_empty(), "links to nothing: {broken:?}");
    }

    /// `path` with its `..` and `.` resolved without touching the file system.
    fn normalized(path: &Path) -> std::path::PathBuf {
        let mut out = std::path::PathBuf::new();
        for component in path.components() {
            match component {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::CurDir => {}
                other => out.push(other),
            }
        }
        out
    }

    /// The README's example config is one a store can start from: it compiles.
    #[test]
    fn the_readme_example_config_compiles() {
        let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
        let start = readme
            .find("```json\n{\n  \"site\"")
            .expect("the README shows an example kelisim.json");
        let body = &readme[start + "```json\n".len()..];
        let example = &body[..body.find("```").unwrap()];
        if let Err(problems) = kelisim_core::compile::compile_text(example) {
            panic!("the README's example config does not compile: {problems:?}");
        }
    }

    /// Whether a comment line states how many bytes something weighs or saved (a number, a unit,
    /// then gzip, less, of…): such numbers go stale with the next change and belong in
    /// `bench/RESULTS.md` and commit messages. gzip's window size is a fact of gzip, not one.
    fn states_a_size(comment: &str) -> bool {
        let words: Vec<&str> = comment
            .split(|c: char| c.is_whitespace() || "(),;:".contains(c))
            .filter(|word| !word.is_empty())
            .collect();
        let units = ["KB", "kB", "bytes"];
        let after = [
            "gzip", "brotli", "less", "smaller", "larger", "more", "lower", "higher", "of",
        ];
        words.windows(3).any(|window| {
            let number = window[0].chars().any(|c| c.is_ascii_digit())
                && window[0]
                    .trim_start_matches('~')
                    .chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',');
            number && units.contains(&window[1]) && after.contains(&window[2])
        }) && !comment.contains("window")
    }

    #[test]
    fn no_comment_states_a_size() {
        assert!(states_a_size("// measured: 7 KB gzip less than stable"));
        assert!(states_a_size(
            "/// routine (about 800 bytes of the browser module)"
        ));
        assert!(!states_a_size(
            "/// browsers cap a cookie at 4096 bytes anyway."
        ));
        let mut found = Vec::new();
        for dir in [
            "src",
            "crates",
            "xtask/src",
            "xtask/harness/src",
            "tests",
            "pkg-template",
            "fuzz/fuzz_targets",
        ] {
            for path in walk(&root().join(dir)).unwrap() {
                let source = path
                    .extension()
                    .is_some_and(|e| ["rs", "js", "css", "ts"].iter().any(|x| e == *x));
                if !source || path.components().any(|c| c.as_os_str() == "target") {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap();
                for (number, line) in text.lines().enumerate() {
                    let line = line.trim_start();
                    let comment = ["//", "/*", "* ", "#"].iter().any(|p| line.starts_with(p));
                    if comment && states_a_size(line) {
                        found.push(format!(
                            "{}:{}: {line}",
                            path.strip_prefix(root()).unwrap().display(),
                            number + 1
                        ));
                    }
                }
            }
        }
        assert!(found.is_empty(), "comments stating a size (move the number to bench/RESULTS.md or the commit message): {found:#?}");
    }

    /// The quoted strings of the first `[...]` after `marker` in `text`.
    fn quoted_list(text: &str, marker: &str) -> Vec<String> {
        let start = text
            .find(marker)
            .unwrap_or_else(|| panic!("{marker} not found"));
        // Past the marker's own line up to `=` (a type such as `[&str; 14]` is not the list).
        let rest = &text[start + marker.len()..];
        let rest = &rest[rest.find('=').unwrap()..];
        let open = rest.find('[').unwrap();
        let close = rest.find(']').unwrap();
        rest[open + 1..close]
            .split(',')
            .map(|item| {
                item.trim()
                    .trim_matches(|c| c == '"' || c == '\'')
                    .to_owned()
            })
            .filter(|item| !item.is_empty())
            .collect()
    }

    /// The API's command names and event names are written in the module, the loader, the
    /// types and the README: every place names the same ones.
    #[test]
    fn the_api_lists_agree_everywhere() {
        let read = |path: &str| std::fs::read_to_string(root().join(path)).unwrap();
        let (lib, loader, types, readme) = (
            read("src/lib.rs"),
            read("src/loader.js"),
            read("pkg-template/index.d.ts"),
            read("README.md"),
        );
        let mut commands = quoted_list(&lib, "pub const COMMANDS");
        assert!(commands.len() > 10, "{commands:?}");
        // The loader answers `formConsent` itself (the forms module's hand-over).
        assert!(loader.contains("if (name === 'formConsent') return formConsent("));
        commands.push("formConsent".to_owned());
        // The loader queues every command but the queries, which answer at once.
        let queries = ["accepted", "acceptedService", "getConsent"];
        let mut queued = quoted_list(&loader, "var COMMANDS");
        queued.extend(queries.iter().map(|query| query.to_string()));
        queued.sort();
        let mut expected = commands.clone();
        expected.sort();
        assert_eq!(
            queued, expected,
            "src/loader.js COMMANDS and src/lib.rs COMMANDS"
        );
        for query in queries {
            assert!(
                loader.contains(&format!("{query}: function")),
                "the loader answers {query}"
            );
        }
        for command in &commands {
            assert!(
                types.contains(&format!("  {command}(")),
                "index.d.ts lacks {command}"
            );
            assert!(
                readme.contains(&format!("`{command}(")),
                "the README's API lacks {command}"
            );
        }
        let events = quoted_list(&loader, "var EVENTS");
        assert_eq!(events, ["ready", "shown", "consent", "change", "withdraw"]);
        for event in &events {
            assert!(
                types.contains(&format!("'kelisim:{event}'")),
                "index.d.ts lacks {event}"
            );
            assert!(
                readme.contains(&format!("`{event}`")),
                "the README lacks the {event} event"
            );
        }
    }

    /// The loader marks a form it hands to the forms module with the attribute the forms
    /// module removes when it lets the form go.
    #[test]
    fn the_loader_and_the_forms_module_mark_forms_alike() {
        let read = |path: &str| std::fs::read_to_string(root().join(path)).unwrap();
        let block = read("crates/kelisim-forms/src/block.rs");
        let name = block
            .split("pub const ATTACHED_ATTRIBUTE: &str = \"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("crates/kelisim-forms/src/block.rs defines ATTACHED_ATTRIBUTE");
        assert!(
            read("src/loader.js").contains(&format!("var FORM_ATTACHED = '{name}';")),
            "src/loader.js marks forms with {name}"
        );
    }

    /// The vendors kelisim talks to are one list (`Vendor::ALL`); the types and the
    /// configuration reference name every one of them, and the JavaScript that calls their
    /// tags names no other.
    #[test]
    fn the_vendor_list_agrees_everywhere() {
        let read = |path: &str| std::fs::read_to_string(root().join(path)).unwrap();
        let types = read("pkg-template/index.d.ts");
        let reference = read("docs/configuration.md");
        let union = types
            .split("export type KelisimVendor =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .expect("index.d.ts has KelisimVendor");
        let mut typed: Vec<&str> = union
            .split('|')
            .map(|name| name.trim().trim_matches('\''))
            .filter(|name| !name.is_empty())
            .collect();
        typed.sort();
        let mut known: Vec<&str> = kelisim_core::config::Vendor::ALL
            .iter()
            .map(|(name, _)| *name)
            .collect();
        known.sort();
        assert_eq!(typed, known, "index.d.ts KelisimVendor and Vendor::ALL");
        // The vendors `helpers.js` calls by name are vendors a config names so.
        let helpers = read("src/helpers.js");
        let called: Vec<&str> = helpers
            .split("vendor == \"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .collect();
        assert!(called.len() >= 4, "helpers.js calls no vendor by name");
        for name in called {
            assert!(
                known.contains(&name),
                "src/helpers.js calls the vendor {name:?}, which Vendor::ALL does not have"
            );
        }
        for name in known {
            assert!(
                reference.contains(&format!("`{name}`")),
                "docs/configuration.md does not name the vendor {name}"
            );
        }
    }

    /// A receipt's actions are one list (`receipt::ACTIONS`, which the server's test holds
    /// `receipt.schema.json` to); the receipts reference names every one.
    #[test]
    fn the_receipt_actions_agree_with_the_reference() {
        let reference = std::fs::read_to_string(root().join("docs/receipts.md")).unwrap();
        let listed = reference
            .split("`action`")
            .nth(1)
            .and_then(|rest| rest.split(')').next())
            .expect("docs/receipts.md lists the actions after `action`");
        let mut named: Vec<&str> = listed
            .split('|')
            .map(|action| {
                action
                    .trim()
                    .trim_matches(|c| c == '`' || c == '(' || c == '\n')
            })
            .filter(|action| !action.is_empty())
            .collect();
        named.sort();
        let mut actions = kelisim_core::receipt::ACTIONS.to_vec();
        actions.sort();
        assert_eq!(named, actions, "docs/receipts.md and receipt::ACTIONS");
    }
}
