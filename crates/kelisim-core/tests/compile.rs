//! The config compiler: every config the project ships compiles, a broken one yields every
//! problem at once with where it is, and a compiled config that was changed is refused.

use kelisim_core::compile::{compile_text, sha256_hex, CompiledConfig, FORMAT};
use kelisim_core::{Config, Language, Value};

fn read(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::read_to_string(root.join(path)).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Every config the project ships: the demo's, the end-to-end pages', the benchmark's.
const SHIPPED_CONFIGS: [&str; 5] = [
    "www/kelisim.json",
    "tests/e2e/config.json",
    "tests/e2e/receipts-config.json",
    "tests/e2e/vanilla-config.json",
    "bench/pages/kelisim.json",
];

#[test]
fn every_shipped_config_compiles() {
    for path in SHIPPED_CONFIGS {
        let compiled = compile_text(&read(path)).unwrap_or_else(|problems| {
            panic!("{path}: {problems:#?}");
        });
        assert!(!compiled.is_empty(), "{path}");
        for config in &compiled {
            let json = config.to_json();
            assert!(
                json.starts_with(&format!("{{\"format\":\"{FORMAT}\"")),
                "{path}"
            );
            assert_eq!(
                CompiledConfig::from_json(&json).as_ref(),
                Ok(config),
                "{path}"
            );
        }
    }
}

#[test]
fn the_demo_compiles_to_one_config_per_language_with_the_hashes_receipts_carry() {
    let text = read("www/kelisim.json");
    let compiled = compile_text(&text).unwrap();
    let value: Value = serde_json::from_str(&text).unwrap();
    let config = Config::from_value(&value).unwrap();
    let languages: Vec<&str> = compiled.iter().map(|c| c.language.as_str()).collect();
    assert_eq!(languages, ["kk", "ru", "en"]);
    for (compiled, language) in compiled.iter().zip(Language::ALL) {
        assert_eq!(
            compiled.texts_hash,
            sha256_hex(&config.texts_fingerprint(language))
        );
        assert_eq!(
            compiled.texts["accept_all"],
            config.texts(language).accept_all()
        );
        assert_eq!(compiled.config_id.len(), 64);
        // The theme is applied after the defaults, so it wins.
        assert!(compiled.style.starts_with("#kelisim,#kelisim *{"));
        for (form, config_form) in compiled.forms.iter().zip(&config.forms) {
            assert_eq!(
                form.texts_hash,
                sha256_hex(&config.form_fingerprint(config_form, language))
            );
        }
    }
    let kk = &compiled[0];
    let metrika = kk
        .categories
        .iter()
        .flat_map(|category| &category.services)
        .find(|service| service.vendor.as_deref() == Some("yandex-metrika"))
        .expect("the demo runs Metrika");
    assert_eq!(metrika.country_name, "Ресей");
    assert!(kk.cross_border.iter().any(|country| country.code == "RU"));
    // Same input, same id; another text, another id.
    assert_eq!(compile_text(&text).unwrap()[0].config_id, kk.config_id);
    let edited = text.replacen("\"revision\": ", "\"revision\": 1", 1);
    assert_ne!(compile_text(&edited).unwrap()[0].config_id, kk.config_id);
}

#[test]
fn every_problem_at_once_with_lines_and_suggestions() {
    let text = r#"{
  "site": "glazik-kz",
  "operator": {"name": "ТОО «Глазик»", "bin": "12345", "email": "dpo@glazik.kz", "adress": "Алматы"},
  "policy": {"version": "1", "url": {"kk": "/privacy"}},
  "categories": [
    {"id": "necessary", "required": true},
    {"id": "analytics", "services": [
      {"id": "metrika", "name": "Яндекс Метрика", "contry": "RU", "data": ["ip", "cookie_id"]},
      {"id": "ga", "name": "Google Analytics", "country": "Russia"}
    ]}
  ],
  "ui": {"layout": "bar", "vendor": 1}
}"#;
    let problems = compile_text(text).unwrap_err();
    let find = |path: &str| {
        problems
            .iter()
            .find(|problem| problem.path == path)
            .unwrap_or_else(|| panic!("no problem at {path}: {problems:#?}"))
    };
    let bin = find("operator.bin");
    assert_eq!((bin.line, bin.column), (Some(3), Some(47)));
    let adress = find("operator.adress");
    assert_eq!(adress.suggestion.as_deref(), Some("address"));
    assert_eq!(adress.line, Some(3));
    let contry = find("categories[1].services[0].contry");
    assert_eq!(contry.suggestion.as_deref(), Some("country"));
    assert_eq!(contry.line, Some(8));
    let data = find("categories[1].services[0].data[1]");
    assert_eq!(data.suggestion.as_deref(), Some("cookie_ids"));
    let country = find("categories[1].services[1].country");
    assert_eq!(country.suggestion.as_deref(), Some("RU"));
    assert_eq!(country.line, Some(9));
    assert!(find("ui.vendor").message.contains("not a known field"));
    assert!(problems.len() >= 6, "{problems:#?}");
    // The problem text says where, what and what was meant.
    assert_eq!(
        country.to_string(),
        "9:59: `categories[1].services[1].country` \"Russia\" must be an ISO 3166-1 alpha-2 \
         code in capitals, e.g. \"KZ\" or \"US\" (did you mean `RU`?)"
    );
}

#[test]
fn syntax_errors_have_a_line() {
    let problems = compile_text("{\n  \"site\": \"x\",\n}").unwrap_err();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, Some(2), "the trailing comma");
    assert!(problems[0].message.starts_with("is not valid JSON"));
}

#[test]
fn a_changed_compiled_config_is_refused() {
    let compiled = &compile_text(&read("www/kelisim.json")).unwrap()[0];
    let json = compiled.to_json();
    let edited = json.replacen("\"accept_all\":\"", "\"accept_all\":\"!", 1);
    assert!(CompiledConfig::from_json(&edited)
        .unwrap_err()
        .contains("config_id does not match"));
    let other_version = json.replacen(FORMAT, "kelisim-compiled/0", 1);
    assert!(CompiledConfig::from_json(&other_version)
        .unwrap_err()
        .contains("format"));
    assert!(CompiledConfig::from_json("{\"format\":\"kelisim-compiled/1\"}").is_err());
    assert!(CompiledConfig::from_json("[1,2").is_err());
}

/// Every field a valid config may have is in the schema at the same place, and the schema
/// allows nothing else: walked over the demo config, which uses almost every field.
#[test]
fn the_json_schema_describes_what_the_compiler_reads() {
    fn walk(value: &serde_json::Value, schema: &serde_json::Value, path: &str) {
        // One of several shapes (a string or one per language): the one of the value's type.
        if let Some(shapes) = schema["anyOf"].as_array() {
            let kind = if value.is_object() {
                "object"
            } else {
                "string"
            };
            let shape = shapes
                .iter()
                .find(|shape| shape["type"] == kind)
                .unwrap_or_else(|| panic!("the schema allows no {kind} at `{path}`"));
            return walk(value, shape, path);
        }
        match value {
            serde_json::Value::Object(fields) => {
                for (name, inner) in fields {
                    let inner_schema = schema["properties"]
                        .get(name)
                        .or_else(|| schema.get("additionalProperties").filter(|s| s.is_object()))
                        .unwrap_or_else(|| panic!("the schema has no `{path}.{name}`"));
                    walk(inner, inner_schema, &format!("{path}.{name}"));
                }
                assert_eq!(schema["type"], "object", "{path}");
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    walk(item, &schema["items"], &format!("{path}[]"));
                }
            }
            _ => {}
        }
    }
    let schema = kelisim_core::compile::json_schema();
    let demo: serde_json::Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    walk(&demo, &schema, "");
    assert_eq!(schema["additionalProperties"], false);
    let fields: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut expected = kelisim_core::config::CONFIG_FIELDS.to_vec();
    expected.sort_unstable();
    assert_eq!(fields, expected);
}

/// Law 94-V Art. 8 p.4: before the button that gives consent, the first layer names the
/// operator and its BIN, the personal data collected, its recipients, the countries it goes
/// to, how long the consent lasts and how to withdraw it. Checked in every built-in language
/// on the compiled demo config.
#[test]
fn the_first_layer_states_every_item_the_law_asks_for() {
    let compiled = compile_text(&read("www/kelisim.json")).unwrap();
    for config in &compiled {
        let language = config.language.as_str();
        let text: String = config
            .first_layer
            .iter()
            .map(|note| note.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let mut items = vec![
            ("operator", config.operator.name.clone()),
            ("BIN", config.operator.bin.clone()),
            ("term", config.expiry_words.clone()),
        ];
        for category in config.categories.iter().filter(|c| !c.required) {
            for service in &category.services {
                items.push(("recipient", service.name.clone()));
                for name in &service.data_names {
                    items.push(("data", name.clone()));
                }
            }
        }
        for country in &config.cross_border {
            items.push(("country", country.name.clone()));
        }
        let (withdraw, personal_data) = match language {
            "kk" => ("келісімді кері қайтарып алу", "дербес деректер"),
            "ru" => ("отозвать согласие", "персональные данные"),
            _ => ("withdraw consent", "personal data"),
        };
        items.push(("withdrawal", withdraw.to_owned()));
        items.push(("personal data", personal_data.to_owned()));
        for (item, needle) in items {
            assert!(
                text.to_lowercase().contains(&needle.to_lowercase()),
                "{language}: the first layer lacks the {item} {needle:?}:\n{text}"
            );
        }
        // The number and its unit never wrap apart.
        assert!(config.expiry_words.contains('\u{a0}'));
    }
}

/// The migration guide's example is a config that compiles.
#[test]
fn the_migration_example_compiles() {
    let guide = read("docs/migrating.md");
    let section = guide
        .split("## From vanilla-cookieconsent v3")
        .nth(1)
        .expect("docs/migrating.md has the guide from vanilla-cookieconsent");
    let json = section
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("the guide shows the kelisim.json");
    let compiled = compile_text(json).unwrap_or_else(|problems| panic!("{problems:#?}"));
    let ids: Vec<&str> = compiled[0]
        .categories
        .iter()
        .flat_map(|category| category.services.iter().map(|s| s.id.as_str()))
        .collect();
    assert_eq!(ids, ["googleAnalytics", "yandexMetrika"]);
}

/// A config that is not an object is one problem, not one per missing field.
#[test]
fn a_config_that_is_not_an_object_is_one_problem() {
    let problems = compile_text("[1, 2]").unwrap_err();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].path, "config");
    assert!(problems[0].message.contains("must be an object"));
}

/// What the runtime reads back from a compiled config is, for its language, the config the
/// compiler was given: the same texts, categories, services (what the layers alone show, such
/// as a service's data, is in their node trees), forms (the forms module's fingerprints) and
/// settings, and the layers the compiler built.
#[test]
fn a_compiled_config_reads_back_as_the_config_it_was_compiled_from() {
    use kelisim_core::compile::compile;
    use kelisim_core::compiled::layers_of;
    for path in SHIPPED_CONFIGS {
        let raw: Value = serde_json::from_str(&read(path)).unwrap();
        let config = Config::check(&raw).unwrap();
        for compiled in compile(&config) {
            let language: Language = compiled.language.parse().unwrap();
            let value: Value = serde_json::from_str(&compiled.to_json()).unwrap();
            let mut read_back = Config::from_compiled(&value)
                .unwrap_or_else(|error| panic!("{path} {language}: {error}"));
            // The runtime reads no forms; the forms module reads them.
            assert!(read_back.forms.is_empty());
            read_back
                .read_compiled_forms(&value)
                .unwrap_or_else(|error| panic!("{path} {language}: {error}"));
            let at = format!("{path} {language}");
            // The texts the browser modules read themselves; the rest are in the layers.
            let interface_texts = |c: &Config| -> Vec<(String, String)> {
                use kelisim_core::texts::RUNTIME_TEXT_NAMES;
                c.texts(language)
                    .entries()
                    .filter(|(name, _)| RUNTIME_TEXT_NAMES.contains(name))
                    .map(|(name, text)| (name.to_owned(), text.to_owned()))
                    .collect()
            };
            assert_eq!(
                interface_texts(&read_back),
                interface_texts(&config),
                "{at}"
            );
            let tree = |tree: &serde_json::Value| -> Value {
                serde_json::from_value(tree.clone()).unwrap()
            };
            let (banner, preferences) = layers_of(&&value, None).unwrap();
            assert_eq!(*banner, tree(&compiled.layers.banner), "{at}");
            assert_eq!(
                *preferences.unwrap(),
                tree(&compiled.layers.preferences),
                "{at}"
            );
            for variant in &compiled.variants {
                let (banner, _) = layers_of(&&value, Some(&variant.id)).unwrap();
                assert_eq!(*banner, tree(&variant.layers.banner), "{at}");
            }
            // A variant the config does not have shows the config's own layers.
            let (banner, _) = layers_of(&&value, Some("no-such-variant")).unwrap();
            assert_eq!(*banner, tree(&compiled.layers.banner), "{at}");
            // Of a form, what its receipt states; its block (checked above) states the rest.
            for (form, compiled_form) in config.forms.iter().zip(&compiled.forms) {
                let again = read_back.form(&form.id).unwrap();
                assert_eq!(again.confirm, form.confirm, "{at}");
                assert_eq!(
                    read_back.resolved().form_hash(&form.id),
                    Some(compiled_form.texts_hash.as_str()),
                    "{at}"
                );
                let stated = |purposes: &[kelisim_core::config::Purpose]| {
                    purposes
                        .iter()
                        .map(|p| (p.id.clone(), p.required, p.countries.clone(), p.term_days))
                        .collect::<Vec<_>>()
                };
                assert_eq!(stated(&again.purposes), stated(&form.purposes), "{at}");
            }
            for (category, again) in config.categories.iter().zip(&read_back.categories) {
                assert_eq!(
                    (&category.id, category.required, category.default_on),
                    (&again.id, again.required, again.default_on)
                );
                assert_eq!(category.texts(language).title, again.texts(language).title);
                for (service, again) in category.services.iter().zip(&again.services) {
                    let runtime_reads = kelisim_core::config::Service {
                        data: Vec::new(),
                        ..service.clone()
                    };
                    assert_eq!(&runtime_reads, again, "{at}");
                }
                assert_eq!(category.services.len(), again.services.len(), "{at}");
            }
            assert_eq!(read_back.categories.len(), config.categories.len());
            let settings = |c: &Config| {
                (
                    c.site.clone(),
                    c.revision,
                    c.expiry_days,
                    c.languages.clone(),
                    c.default_language,
                    c.endpoint.clone(),
                    c.gpc,
                    c.cookie_domain.clone(),
                    c.policy_version.clone(),
                )
            };
            let ui = |c: &Config| {
                (
                    c.ui.layout,
                    c.ui.position,
                    c.ui.hide_from_bots,
                    c.ui.variant.clone(),
                    c.ui.reopen,
                    c.ui.reopen_position,
                )
            };
            assert_eq!(settings(&read_back), settings(&config), "{at}");
            assert_eq!(ui(&read_back), ui(&config), "{at}");
            let resolved = read_back.resolved.as_ref().unwrap();
            assert_eq!(resolved.config_id, compiled.config_id);
            assert_eq!(
                resolved.texts_hash,
                sha256_hex(&config.texts_fingerprint(language))
            );
            for service in config.categories.iter().flat_map(|c| &c.services) {
                assert_eq!(
                    resolved.country_name(&service.country),
                    kelisim_core::texts::country_name(&service.country, language)
                );
            }
        }
    }
}

/// The runtime refuses anything but a compiled config of its format, naming the field.
#[test]
fn the_runtime_refuses_what_is_not_a_compiled_config() {
    let compiled = &compile_text(&read("www/kelisim.json")).unwrap()[1];
    let good: Value = serde_json::from_str(&compiled.to_browser_json()).unwrap();
    let refused = |edit: &dyn Fn(&mut serde_json::Value), field: &str| {
        let mut json: serde_json::Value =
            serde_json::from_str(&compiled.to_browser_json()).unwrap();
        edit(&mut json);
        let value: Value = serde_json::from_value(json).unwrap();
        let error = Config::from_compiled(&value).unwrap_err();
        assert_eq!(error.field, field, "{error}");
    };
    assert!(Config::from_compiled(&good).is_ok());
    // The whole compiled config (the archive's) reads too.
    let whole: Value = serde_json::from_str(&compiled.to_json()).unwrap();
    assert!(Config::from_compiled(&whole).is_ok());
    refused(&|v| v["format"] = "kelisim-compiled/0".into(), "format");
    refused(
        &|v| {
            v.as_object_mut().unwrap().remove("format");
        },
        "format",
    );
    refused(
        &|v| v["categories"][0]["services"] = 7.into(),
        "categories[0].services",
    );
    refused(
        &|v| {
            v["texts"].as_object_mut().unwrap().remove("policy_link");
        },
        "texts.policy_link",
    );
    // The forms module asks for what a form receipt states.
    let mut json = compiled.to_whole_browser_value();
    json["forms"][0]["purposes"][0]
        .as_object_mut()
        .unwrap()
        .remove("term_days");
    let value: Value = serde_json::from_value(json).unwrap();
    let error = Config::from_compiled_for_forms(&value).unwrap_err();
    assert_eq!(error.field, "forms[0].purposes[0].term_days", "{error}");
    let mut config = Config::from_compiled(&value).unwrap();
    let error = config.read_compiled_forms(&value).unwrap_err();
    assert_eq!(error.field, "forms[0].purposes[0].term_days", "{error}");
    // A field the runtime does not read (a newer compiler's) is no reason to show nothing.
    let mut newer: serde_json::Value = serde_json::from_str(&compiled.to_json()).unwrap();
    newer["extra"] = 1.into();
    newer["categories"][0]["extra"] = 1.into();
    let newer: Value = serde_json::from_value(newer).unwrap();
    assert!(Config::from_compiled(&newer).is_ok());
    // A raw kelisim.json is not a compiled config.
    let raw: Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    assert_eq!(Config::from_compiled(&raw).unwrap_err().field, "format");
}

/// The runtime's field lists are the compiler's: one format, written and read alike.
#[test]
fn the_compiled_format_has_the_fields_the_runtime_reads() {
    use kelisim_core::compiled::*;
    // Its form confirms by SMS, so the form has every field it may have.
    let mut raw: serde_json::Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    raw["forms"][0]["confirm"] = "sms".into();
    let compiled = &compile_text(&raw.to_string()).unwrap()[0];
    let json: serde_json::Value = serde_json::from_str(&compiled.to_json()).unwrap();
    let keys = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    let sorted = |fields: &[&str]| -> Vec<String> {
        let mut fields: Vec<String> = fields.iter().map(|f| (*f).to_owned()).collect();
        fields.sort();
        fields
    };
    assert_eq!(keys(&json), sorted(COMPILED_FIELDS));
    assert_eq!(keys(&json["operator"]), sorted(COMPILED_OPERATOR_FIELDS));
    assert_eq!(keys(&json["ui"]), sorted(COMPILED_UI_FIELDS));
    assert_eq!(keys(&json["first_layer"][0]), sorted(COMPILED_NOTE_FIELDS));
    assert_eq!(
        keys(&json["categories"][0]),
        sorted(COMPILED_CATEGORY_FIELDS)
    );
    assert_eq!(
        keys(&json["categories"][1]["services"][0]),
        sorted(COMPILED_SERVICE_FIELDS)
    );
    assert_eq!(
        keys(&json["cross_border"][0]),
        sorted(COMPILED_COUNTRY_FIELDS)
    );
    assert_eq!(keys(&json["forms"][0]), sorted(COMPILED_FORM_FIELDS));
    assert_eq!(
        keys(&json["forms"][0]["purposes"][0]),
        sorted(COMPILED_PURPOSE_FIELDS)
    );
    let with_variants = r#"{"ui": {"variants": [{"id": "a"}, {"id": "b", "layout": "box"}]}}"#;
    let mut raw: serde_json::Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    raw["ui"] = serde_json::from_str::<serde_json::Value>(with_variants).unwrap()["ui"].clone();
    let compiled = &compile_text(&raw.to_string()).unwrap()[0];
    let json: serde_json::Value = serde_json::from_str(&compiled.to_json()).unwrap();
    assert_eq!(keys(&json["variants"][0]), sorted(COMPILED_VARIANT_FIELDS));
}

/// A compiled config read for one language answers any language's texts with that one's
/// (never a panic in the browser for a language that is not loaded yet).
#[test]
fn a_compiled_config_has_texts_for_any_language_asked() {
    let compiled = &compile_text(&read("www/kelisim.json")).unwrap()[1];
    let value: Value = serde_json::from_str(&compiled.to_json()).unwrap();
    let config = Config::from_compiled(&value).unwrap();
    for language in Language::ALL {
        assert_eq!(
            config.texts(language).preferences_title(),
            "Настройки cookie"
        );
    }
}

/// The runtime builds the layers from the compiled config's node trees, so a tampered config
/// must not smuggle in what runs or loads: such a tree refuses the whole config, naming where.
#[test]
fn a_layer_tree_that_could_run_or_load_something_refuses_the_config() {
    let compiled = &compile_text(&read("www/kelisim.json")).unwrap()[0];
    let good: serde_json::Value = serde_json::from_str(&compiled.to_json()).unwrap();
    let tampered = [
        (
            r#"["script", {}, "alert(1)"]"#,
            "has a tag a layer does not use",
        ),
        (
            r#"["iframe", {"src": "https://evil.example/"}]"#,
            "has a tag a layer does not use",
        ),
        (
            r#"["button", {"onclick": "alert(1)"}, "OK"]"#,
            "has an attribute a layer does not use",
        ),
        (
            r#"["button", {"ONCLICK": "alert(1)"}, "OK"]"#,
            "has an attribute a layer does not use",
        ),
        (
            r#"["a", {"href": "javascript:alert(1)"}, "policy"]"#,
            "has an attribute a layer does not use",
        ),
        (
            r#"["a", {"href": "//evil.example/"}, "policy"]"#,
            "has an attribute a layer does not use",
        ),
        (
            r#"["p", {"class x": "y"}]"#,
            "has an attribute a layer does not use",
        ),
        (
            r#"["p", {"class": 1}]"#,
            "has an attribute that is not text",
        ),
        (r#"["p"]"#, "is not a node of a layer"),
        (r#"[1, {}]"#, "is not a node of a layer"),
    ];
    for (node, message) in tampered {
        let mut json = good.clone();
        // Deep in the preferences dialog: the reader checks every level.
        let preferences = &mut json["layers"]["preferences"];
        let dialog = &mut preferences[2];
        let body = &mut dialog[3];
        body.as_array_mut()
            .unwrap()
            .push(serde_json::from_str(node).unwrap());
        let value: Value = serde_json::from_value(json).unwrap();
        let error = Config::from_compiled(&value).unwrap_err();
        assert!(
            error.field.starts_with("layers.preferences[2][3]") && error.message == message,
            "{node}: {error:?}"
        );
    }
    // A layer is an element, not a text.
    let mut json = good.clone();
    json["layers"]["banner"] = serde_json::json!("just text");
    let value: Value = serde_json::from_value(json).unwrap();
    assert_eq!(
        Config::from_compiled(&value).unwrap_err().field,
        "layers.banner"
    );
    // Links to the site itself and to http(s) are what a policy link is.
    for href in [
        "/privacy",
        "https://glazik.kz/privacy",
        "http://127.0.0.1:8080/privacy",
    ] {
        let mut json = good.clone();
        let link = serde_json::json!(["a", {"href": href}, "policy"]);
        json["layers"]["banner"].as_array_mut().unwrap().push(link);
        let value: Value = serde_json::from_value(json).unwrap();
        assert!(Config::from_compiled(&value).is_ok(), "{href}");
    }
}

/// A config compiled before the layers were part of the format reads on the server (its
/// archive) but not in the runtime, which says what is missing.
#[test]
fn a_compiled_config_without_layers_is_refused_by_the_runtime_only() {
    let compiled = &compile_text(&read("www/kelisim.json")).unwrap()[0];
    let mut old = compiled.clone();
    old.layers = Default::default();
    // As the server archived it: with the id of that content.
    old.config_id = old.content_id();
    let text = old.to_json();
    assert!(!text.contains("\"layers\""));
    assert!(kelisim_core::compile::CompiledConfig::from_json(&text).is_ok());
    let value: Value = serde_json::from_str(&text).unwrap();
    let error = Config::from_compiled(&value).unwrap_err();
    assert_eq!(error.field, "layers");
}

/// A browser gets the compiled config less what only the layers show, with the texts the
/// runtime reads and the forms' ids, under the whole config's id; the preferences and forms
/// documents hold the rest, and laid over the body (as the loader does) give the modules what
/// the whole config gives them.
#[test]
fn the_browser_body_holds_what_the_modules_read() {
    use kelisim_core::texts::RUNTIME_TEXT_NAMES;
    let text = read("www/kelisim.json");
    let compiled = &compile_text(&text).unwrap()[0];
    let body: serde_json::Value = serde_json::from_str(&compiled.to_browser_json()).unwrap();
    // What the modules read, but the stylesheet (its split is checked below).
    let read_value = |value: &serde_json::Value| {
        let value: Value = serde_json::from_value(value.clone()).unwrap();
        let mut config = Config::from_compiled(&value).unwrap();
        config.read_compiled_forms(&value).unwrap();
        config.resolved.as_mut().unwrap().style.clear();
        config
    };
    let whole: serde_json::Value = serde_json::from_str(&compiled.to_json()).unwrap();
    // The runtime reads the same from the body as from the whole config, but the rules of
    // the preferences dialog, which come with it (below).
    let runtime_read = |json: &serde_json::Value| {
        let mut config =
            Config::from_compiled(&serde_json::from_value::<Value>(json.clone()).unwrap()).unwrap();
        config.resolved.as_mut().unwrap().style.clear();
        config
    };
    assert_eq!(runtime_read(&body), runtime_read(&whole));
    assert_eq!(body["config_id"], compiled.content_id().as_str());
    assert_eq!(body["forms"], serde_json::json!([{"id": "signup"}]));
    assert_eq!(body["forms_href"], "kk.forms.json");
    // The body and its forms document, laid over each other, are the whole config to the
    // forms module; so is the body with the forms in it (the raw path's).
    let forms: serde_json::Value =
        serde_json::from_str(&compiled.to_forms_json().unwrap()).unwrap();
    assert_eq!(forms["config_id"], body["config_id"]);
    let mut laid = body.clone();
    laid["forms"] = forms["forms"].clone();
    assert!(
        forms.get("texts").is_none(),
        "a block holds the texts it states"
    );
    assert_eq!(read_value(&laid), read_value(&whole));
    // The forms module's reader reads the same but the categories and the interface, which
    // it leaves out; so it needs no layers, and does not check them.
    let forms_read = |json: &serde_json::Value| {
        let mut config = Config::from_compiled_for_forms(
            &serde_json::from_value::<Value>(json.clone()).unwrap(),
        )
        .unwrap();
        config.resolved.as_mut().unwrap().style.clear();
        config
    };
    let mut whole_read = read_value(&laid);
    assert!(!whole_read.categories.is_empty() && !whole_read.forms.is_empty());
    let forms_config = forms_read(&laid);
    assert!(forms_config.categories.is_empty());
    whole_read.categories.clear();
    whole_read.ui = forms_config.ui.clone();
    // The countries are named for the runtime (the services'); a block has its own written in.
    assert!(forms_config.resolved().country_names.is_empty());
    whole_read.resolved.as_mut().unwrap().country_names.clear();
    assert_eq!(forms_config, whole_read);
    let mut without_layers = laid.clone();
    without_layers["layers"] = serde_json::json!({"banner": ["script", {}]});
    assert_eq!(forms_read(&without_layers), forms_config);
    let with_forms = compiled.to_whole_browser_value();
    assert!(with_forms.get("forms_href").is_none());
    assert_eq!(read_value(&with_forms), read_value(&whole));
    // The preferences dialog is apart too, and the body laid over with it (as the loader does)
    // is the whole body; the body alone reads, its preferences apart.
    use kelisim_core::compiled::{layers_of, preferences_apart};
    assert_eq!(body["preferences_href"], "kk.preferences.json");
    assert!(body["layers"].get("preferences").is_none() && body["layers"]["banner"].is_array());
    let as_value =
        |json: &serde_json::Value| -> Value { serde_json::from_value(json.clone()).unwrap() };
    assert!(preferences_apart(&&as_value(&body)));
    assert!(!preferences_apart(&&as_value(&with_forms)));
    let preferences: serde_json::Value =
        serde_json::from_str(&compiled.to_preferences_json().unwrap()).unwrap();
    assert_eq!(preferences["config_id"], body["config_id"]);
    let mut laid = body.clone();
    laid["layers"]["preferences"] = preferences["preferences"].clone();
    let laid = as_value(&laid);
    let (_, tree) = layers_of(&&laid, None).unwrap();
    assert_eq!(
        *tree.unwrap(),
        as_value(&with_forms["layers"]["preferences"])
    );
    assert!(Config::from_compiled(&laid).is_ok());
    // The dialog's rules travel with it: the body's stylesheet and the document's hold every
    // rule between them, and none of the banner's classes is among the dialog's.
    let (body_style, dialog_style) = (
        body["style"].as_str().unwrap(),
        preferences["style"].as_str().unwrap(),
    );
    assert!(
        dialog_style.contains(".kelisim-switch:checked{")
            && !body_style.contains(".kelisim-switch")
    );
    assert!(body_style.contains(".kelisim-button{"));
    // So do the rules of elements only the dialog has, and none of the body's rules that
    // follow one of them in the stylesheet styles its element (they would now come first).
    assert!(dialog_style.contains("#kelisim dl{") && !body_style.contains("#kelisim dl{"));
    assert!(body_style.contains("#kelisim h2{") && !body_style.contains("#kelisim h3{"));
    // Every style rule in order (inside `@media` too), as `selectors{body}`.
    let rules: Vec<String> = compiled
        .style
        .split('}')
        .filter_map(|piece| {
            let (prelude, body) = piece.rsplit_once('{')?;
            let selectors = prelude.rsplit('{').next().unwrap_or(prelude);
            (!selectors.starts_with('@')).then(|| format!("{selectors}{{{body}}}"))
        })
        .collect();
    let elements_of = |rule: &str| -> Vec<Option<String>> {
        let selectors = rule.split('{').next().unwrap_or("");
        let styled = kelisim_core::css::styled_element;
        selectors
            .split(',')
            .map(|selector| styled(selector).map(str::to_owned))
            .collect()
    };
    for (at, rule) in rules.iter().enumerate() {
        let moved = dialog_style.contains(rule.as_str()) && !body_style.contains(rule.as_str());
        if !moved || !rule.starts_with("#kelisim ") {
            continue;
        }
        for element in elements_of(rule).into_iter().flatten() {
            for later in rules[at + 1..]
                .iter()
                .filter(|r| body_style.contains(r.as_str()))
            {
                assert!(
                    !elements_of(later).contains(&Some(element.clone())),
                    "{later} follows {rule} and styles {element}"
                );
            }
        }
    }
    // Every rule is in one of the two; two `@media` blocks are in both.
    let media = "@media (prefers-reduced-motion:no-preference){}@media (max-width:480px){}";
    assert_eq!(
        body_style.len() + dialog_style.len(),
        compiled.style.len() + media.len()
    );
    let banner = body["layers"]["banner"].to_string();
    for class in kelisim_core::compile::PREFERENCES_CLASSES {
        assert!(
            !banner.contains(&format!("\"{class}\"")) && !banner.contains(&format!("{class} ")),
            "{class}"
        );
    }
    for dropped in ["first_layer", "cross_border", "expiry_words"] {
        assert!(body.get(dropped).is_none(), "{dropped}");
    }
    // A receipt names the operator; its address and email are written into the trees.
    assert_eq!(
        body["operator"],
        serde_json::json!({"name": whole["operator"]["name"], "bin": whole["operator"]["bin"]})
    );
    let category = &body["categories"][1];
    assert!(category.get("description").is_none() && category["title"].is_string());
    assert!(category["services"][0].get("data").is_none());
    let names = |value: &serde_json::Value| -> Vec<String> {
        value["texts"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect()
    };
    let mut runtime: Vec<String> = RUNTIME_TEXT_NAMES.iter().map(|n| n.to_string()).collect();
    runtime.sort_unstable();
    assert_eq!(names(&body), runtime);
    // Every text the first layer states is in its node tree.
    let banner = body["layers"]["banner"].to_string();
    for note in &compiled.first_layer {
        let escaped = serde_json::to_string(&note.text).unwrap();
        assert!(banner.contains(escaped.trim_matches('"')), "{}", note.text);
    }

    let mut without_forms: serde_json::Value = serde_json::from_str(&text).unwrap();
    without_forms.as_object_mut().unwrap().remove("forms");
    let compiled = &compile_text(&without_forms.to_string()).unwrap()[0];
    let body: serde_json::Value = serde_json::from_str(&compiled.to_browser_json()).unwrap();
    assert_eq!(
        body["texts"].as_object().unwrap().len(),
        RUNTIME_TEXT_NAMES.len()
    );
    assert!(body.get("forms_href").is_none() && compiled.to_forms_json().is_none());
}

/// The compiled stylesheet holds the rules of the layouts the config and its variants show, in
/// its position, and none of the others.
#[test]
fn the_stylesheet_holds_only_the_layouts_shown() {
    let mut raw: serde_json::Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    raw["ui"] = serde_json::json!({"layout": "bar", "position": "bottom"});
    let style = |raw: &serde_json::Value| compile_text(&raw.to_string()).unwrap()[0].style.clone();
    let bar = style(&raw);
    assert!(bar.contains(".kelisim--bar.kelisim--bottom .kelisim-banner"));
    for gone in [".kelisim--box", ".kelisim--modal", ".kelisim--top"] {
        assert!(!bar.contains(gone), "{gone}");
    }
    // Rules that name no layout stay, and so does every at-rule still needed.
    assert!(bar.contains(".kelisim-button{") && bar.contains("@media print"));
    raw["ui"]["variants"] = serde_json::json!([{"id": "a"}, {"id": "b", "layout": "modal"}]);
    let with_modal = style(&raw);
    assert!(with_modal.contains(".kelisim--modal .kelisim-banner"));
    assert!(!with_modal.contains(".kelisim--box"));
}

/// The stylesheet sets the theme's defaults itself, so a compiled config writes only the
/// colours its site changed, after the defaults (so they win), for the banner and the
/// floating button alike.
#[test]
fn the_theme_writes_only_the_colours_a_site_changed() {
    use kelisim_core::config::THEME_DEFAULTS;
    let mut raw: serde_json::Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    let style = |raw: &serde_json::Value| compile_text(&raw.to_string()).unwrap()[0].style.clone();
    let defaults = style(&raw);
    let base = &defaults[..defaults.find("#kelisim-reopen").unwrap()];
    for (key, value) in THEME_DEFAULTS {
        let property = ["--kelisim-", &key.replace('_', "-"), ":", value].concat();
        assert!(base.contains(&property), "the stylesheet sets {property}");
    }
    assert!(
        !defaults.contains("#kelisim,#kelisim-reopen{"),
        "{defaults}"
    );

    raw["ui"]["theme"] = serde_json::json!({"accent": "#0b6b3a", "text": "#1b1b1f"});
    let themed = style(&raw);
    let theme = &themed[themed
        .rfind("#kelisim,#kelisim-reopen{")
        .expect("a theme block")..];
    assert_eq!(theme, "#kelisim,#kelisim-reopen{--kelisim-accent:#0b6b3a}");
}

/// A browser reads the banner variant it shows as the config's banner: the one it kept, or a
/// pick by weight; every variant's trees are checked all the same.
#[test]
fn a_browser_reads_the_banner_variant_it_shows() {
    let mut raw: serde_json::Value = serde_json::from_str(&read("www/kelisim.json")).unwrap();
    raw["ui"] = serde_json::json!({"variants": [
        {"id": "a", "weight": 3},
        {"id": "b", "weight": 1, "layout": "box",
         "texts": {"ru": {"title": "Печеньки?", "preferences_title": "Настройки"}}}
    ]});
    let compiled = compile_text(&raw.to_string())
        .unwrap()
        .into_iter()
        .find(|config| config.language == "ru")
        .unwrap();
    let body: Value = serde_json::from_str(&compiled.to_browser_json()).unwrap();
    let json: serde_json::Value = serde_json::from_str(&compiled.to_json()).unwrap();
    let hash_of = |id: &str| {
        json["variants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|variant| variant["id"] == id)
            .unwrap()["texts_hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };

    let b = Config::from_compiled_showing(&body, Some("b"), 0.0).unwrap();
    assert_eq!(b.ui.variant.as_deref(), Some("b"));
    assert_eq!(b.ui.layout, kelisim_core::Layout::Box);
    assert_eq!(b.texts(Language::Ru).preferences_title(), "Настройки");
    assert_eq!(b.resolved().texts_hash, hash_of("b"));
    assert!(b.resolved().variant_picked);

    // A variant no longer in the test (or none kept): a pick by weight, 3:1.
    for (random, picked) in [(0.0, "a"), (0.74, "a"), (0.75, "b"), (0.99, "b")] {
        let config = Config::from_compiled_showing(&body, Some("gone"), random).unwrap();
        assert_eq!(config.ui.variant.as_deref(), Some(picked), "{random}");
    }
    let a = Config::from_compiled_showing(&body, None, 0.1).unwrap();
    assert_eq!(a.ui.layout, kelisim_core::Layout::Bar);
    assert_eq!(
        a.texts(Language::Ru).preferences_title(),
        "Настройки cookie"
    );
    assert_eq!(a.resolved().texts_hash, hash_of("a"));

    // Without an A/B test nothing is picked or kept.
    let demo = &compile_text(&read("www/kelisim.json")).unwrap()[1];
    let plain: Value = serde_json::from_str(&demo.to_browser_json()).unwrap();
    let config = Config::from_compiled_showing(&plain, Some("b"), 0.5).unwrap();
    assert!(!config.resolved().variant_picked);
    assert_eq!(config.resolved().texts_hash, demo.texts_hash);

    // A broken tree in a variant not shown refuses the config too.
    let mut broken: serde_json::Value = serde_json::from_str(&compiled.to_browser_json()).unwrap();
    broken["variants"][1]["layers"]["banner"] = serde_json::json!(["script", {}]);
    let broken: Value = serde_json::from_value(broken).unwrap();
    let error = Config::from_compiled_showing(&broken, Some("a"), 0.0).unwrap_err();
    assert_eq!(error.field, "variants[1].layers.banner", "{error}");
}

/// A form's consent block is compiled like the layers: the archived config holds what the
/// form shows, word for word, and the forms module builds nothing else. A config archived
/// before blocks were compiled still reads on the server, and the forms module says which
/// field it lacks; a block that could run or load anything is refused like a layer.
#[test]
fn a_forms_block_is_compiled_checked_and_required_by_the_forms_module() {
    let compiled = &compile_text(&read("www/kelisim.json")).unwrap()[0];
    let block = compiled.forms[0].block.to_string();
    for needle in [
        "kelisim-form-consent",
        "kelisim_purposes",
        "kelisim_receipt_id",
        "kelisim-form-operator",
        "privacy@glazik-demo.kz",
        "Telegram Messenger Inc.",
    ] {
        assert!(
            block.contains(needle),
            "the block lacks {needle:?}: {block}"
        );
    }
    assert_eq!(
        block.matches("\"checkbox\"").count(),
        compiled.forms[0].purposes.len(),
        "one checkbox per purpose"
    );
    let whole: Value = serde_json::from_str(&compiled.to_whole_browser_json()).unwrap();
    assert!(Config::from_compiled_for_forms(&whole).is_ok());

    let mut old = compiled.clone();
    for form in &mut old.forms {
        form.block = serde_json::Value::Null;
    }
    old.config_id = old.content_id();
    let text = old.to_json();
    assert!(!text.contains("\"block\""));
    assert!(kelisim_core::compile::CompiledConfig::from_json(&text).is_ok());
    let value: Value = serde_json::from_str(&old.to_whole_browser_json()).unwrap();
    let error = Config::from_compiled_for_forms(&value).unwrap_err();
    assert_eq!(error.field, "forms[0].block", "{error}");

    for node in [
        r#"["script", {}, "alert(1)"]"#,
        r#"["button", {"onclick": "alert(1)"}, "x"]"#,
        r#"["a", {"href": "javascript:alert(1)"}, "x"]"#,
    ] {
        let mut json: serde_json::Value =
            serde_json::from_str(&compiled.to_whole_browser_json()).unwrap();
        json["forms"][0]["block"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::from_str(node).unwrap());
        let value: Value = serde_json::from_value(json).unwrap();
        let error = Config::from_compiled_for_forms(&value).unwrap_err();
        assert!(
            error.field.starts_with("forms[0].block"),
            "{node}: {error:?}"
        );
    }
}
