//! The vendor knowledge base (`knowledge/vendors.json`): every entry is well formed, every
//! `*` pattern matches a real name it lists (and every listed name is matched), and every
//! preset compiles into the service it describes, with a config's own fields winning.

use kelisim_core::cleanup::matches_pattern;
use kelisim_core::compile::compile_text;
use kelisim_core::knowledge::{host_matches, known_vendors, preset};
use kelisim_core::texts::{country_name, DATA_KINDS};
use kelisim_core::{Language, Vendor};

#[test]
fn every_entry_is_well_formed() {
    let vendors = known_vendors();
    assert!(vendors.len() >= 14);
    for (index, vendor) in vendors.iter().enumerate() {
        let id = &vendor.id;
        assert!(
            vendors[..index].iter().all(|other| &other.id != id),
            "{id} twice"
        );
        assert!(
            id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{id}"
        );
        assert!(!vendor.name.is_empty() && !vendor.owner.is_empty(), "{id}");
        assert_ne!(
            country_name(&vendor.country, Language::Ru),
            vendor.country,
            "{id}: the country {} has no name in the texts",
            vendor.country
        );
        assert!(
            ["necessary", "analytics", "marketing", "functional"]
                .contains(&vendor.category.as_str()),
            "{id}: {}",
            vendor.category
        );
        assert!(!vendor.data.is_empty(), "{id}");
        for kind in &vendor.data {
            assert!(DATA_KINDS.contains(&kind.as_str()), "{id}: {kind}");
        }
        if let Some(integration) = &vendor.vendor {
            assert!(
                Vendor::ALL.iter().any(|(name, _)| name == integration),
                "{id}: {integration}"
            );
        }
        assert!(!vendor.hosts.is_empty(), "{id} has no host");
        assert!(!vendor.sources.is_empty(), "{id} has no source");
    }
}

#[test]
fn every_pattern_matches_the_names_it_lists() {
    let both_ways = |id: &str, what: &str, patterns: &[String], examples: &[String]| {
        // A name without `*` is its own example.
        for pattern in patterns.iter().filter(|pattern| pattern.contains('*')) {
            assert!(
                examples.iter().any(|name| matches_pattern(pattern, name)),
                "{id}: the {what} pattern {pattern} has no example"
            );
        }
        for name in examples {
            assert!(
                patterns
                    .iter()
                    .any(|pattern| matches_pattern(pattern, name)),
                "{id}: the {what} example {name} matches no pattern"
            );
        }
    };
    for vendor in known_vendors() {
        both_ways(
            &vendor.id,
            "cookie",
            &vendor.cookies,
            &vendor.examples.cookies,
        );
        both_ways(
            &vendor.id,
            "localStorage",
            &vendor.local_storage,
            &vendor.examples.local_storage,
        );
        for pattern in vendor.hosts.iter().filter(|host| host.starts_with("*.")) {
            assert!(
                vendor
                    .examples
                    .hosts
                    .iter()
                    .any(|host| host_matches(std::slice::from_ref(pattern), host)),
                "{}: the host {pattern} has no example",
                vendor.id
            );
        }
        for host in &vendor.examples.hosts {
            assert!(
                host_matches(&vendor.hosts, host),
                "{}: {host} matches no host",
                vendor.id
            );
        }
    }
}

#[test]
fn host_patterns_match_subdomains_only() {
    let patterns = ["*.clarity.ms".to_owned(), "t.me".to_owned()];
    assert!(host_matches(&patterns, "www.clarity.ms"));
    assert!(host_matches(&patterns, "t.me"));
    assert!(!host_matches(&patterns, "clarity.ms"));
    assert!(!host_matches(&patterns, "evilclarity.ms"));
    assert!(!host_matches(&patterns, "at.me"));
}

/// The demo config with its own optional services taken out and one more category whose
/// services are `services` (JSON).
fn demo_with(services: &str) -> String {
    let demo = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../www/kelisim.json"
    ))
    .unwrap();
    let mut config: serde_json::Value = serde_json::from_str(&demo).unwrap();
    for category in config["categories"].as_array_mut().unwrap() {
        if category["required"] != true {
            category["services"] = serde_json::json!([]);
        }
    }
    config["categories"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "statistics",
            "title": {"kk": "Статистика", "ru": "Статистика", "en": "Statistics"},
            "description": {"kk": "Сипаттама.", "ru": "Описание.", "en": "Description."},
            "services": serde_json::from_str::<serde_json::Value>(services).unwrap(),
        }));
    config.to_string()
}

#[test]
fn every_preset_compiles_into_the_service_it_describes() {
    for vendor in known_vendors() {
        let text = demo_with(&format!("[{{\"preset\": \"{}\"}}]", vendor.id));
        let compiled =
            compile_text(&text).unwrap_or_else(|problems| panic!("{}: {problems:?}", vendor.id));
        let json: serde_json::Value = serde_json::from_str(&compiled[0].to_json()).unwrap();
        let category = json["categories"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        let service = &category["services"][0];
        assert_eq!(service["id"], vendor.id.as_str());
        assert_eq!(service["name"], vendor.name.as_str());
        assert_eq!(service["country"], vendor.country.as_str());
        assert_eq!(service["data"], serde_json::json!(vendor.data));
        for cookie in &vendor.cookies {
            assert!(
                service["cookies"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|c| c == cookie.as_str()),
                "{}: {cookie}",
                vendor.id
            );
        }
        assert_eq!(
            service["vendor"].as_str(),
            vendor.vendor.as_deref(),
            "{}",
            vendor.id
        );
    }
}

#[test]
fn a_configs_own_fields_win_over_its_preset() {
    let text = demo_with(
        r#"[{"preset": "yandex-metrika", "id": "metrika", "vendor_id": "12345678", "data": ["ip"]}]"#,
    );
    let compiled = compile_text(&text).unwrap();
    let json: serde_json::Value = serde_json::from_str(&compiled[1].to_json()).unwrap();
    let service = &json["categories"].as_array().unwrap().last().unwrap()["services"][0];
    let known = preset("yandex-metrika").unwrap();
    assert_eq!(service["id"], "metrika");
    assert_eq!(service["data"], serde_json::json!(["ip"]));
    assert_eq!(service["vendor_id"], "12345678");
    assert_eq!(service["name"], known.name.as_str());
    assert_eq!(service["country"], "RU");
    assert_eq!(service["vendor"], "yandex-metrika");
}

#[test]
fn an_unknown_preset_is_named_with_the_one_probably_meant() {
    let text = demo_with(r#"[{"preset": "yandex-metrica"}]"#);
    let problems = compile_text(&text).unwrap_err();
    let problem = problems
        .iter()
        .find(|problem| problem.path.ends_with(".preset"))
        .unwrap_or_else(|| panic!("{problems:?}"));
    assert!(problem.message.contains("not a preset"), "{problem}");
    assert_eq!(problem.suggestion.as_deref(), Some("yandex-metrika"));
    assert!(problem.line.is_some());
}
