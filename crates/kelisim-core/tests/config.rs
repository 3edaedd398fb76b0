//! Config validation: the demo config is valid, and each bad case names its field.

use kelisim_core::{Config, ConfigError, Language, Layout, Vendor};
use serde_json::{json, Value};

fn demo_config_json() -> Value {
    serde_json::from_str(include_str!("../../../www/kelisim.json"))
        .expect("www/kelisim.json is JSON")
}

fn parse(value: &Value) -> Result<Config, ConfigError> {
    let tree: kelisim_core::Value = serde_json::from_value(value.clone()).expect("JSON value");
    Config::from_value(&tree)
}

/// Applies `edit` to the demo config and expects an error naming `field`.
fn check_bad(edit: impl FnOnce(&mut Value), field: &str) {
    let mut value = demo_config_json();
    edit(&mut value);
    match parse(&value) {
        Ok(_) => panic!("config with a bad `{field}` was accepted"),
        Err(error) => {
            assert_eq!(error.field, field, "wrong field in: {error}");
            assert!(
                error.to_string().contains(field),
                "message does not name the field: {error}"
            );
        }
    }
}

#[test]
fn demo_config_is_valid() {
    let config = parse(&demo_config_json()).expect("demo config");
    assert_eq!(config.site, "glazik-demo");
    assert_eq!(config.languages, [Language::Kk, Language::Ru, Language::En]);
    assert_eq!(config.default_language, Language::Kk);
    assert_eq!(config.expiry_days, 365);
    assert!(config.gpc);
    assert_eq!(config.ui.layout, Layout::Bar);
    assert_eq!(config.cross_border_countries(), ["RU", "US"]);
    assert!(config.uses_vendor(Vendor::GoogleConsentMode));
    assert!(config.category("necessary").unwrap().required);
    assert!(!config.category("analytics").unwrap().default_on);
    assert_eq!(config.policy_url(Language::Ru), "/privacy.html#ru");
    assert_eq!(
        config
            .category("analytics")
            .unwrap()
            .texts(Language::Kk)
            .title,
        "Аналитика"
    );
}

#[test]
fn minimal_config_gets_defaults() {
    let config = parse(&json!({
        "site": "nlg.kz",
        "operator": {"name": "ТОО «NLG»", "bin": "123456789012", "email": "dpo@nlg.kz", "address": "Астана"},
        "policy": {"version": "1", "url": {"kk": "https://nlg.kz/kk/privacy"}},
        "categories": [{"id": "necessary", "required": true}, {"id": "analytics"}]
    }))
    .expect("minimal config");
    assert_eq!(config.revision, 0);
    assert_eq!(config.expiry_days, 365);
    assert_eq!(config.default_language, Language::Kk);
    // A language without its own policy URL links the default language's policy.
    assert_eq!(config.policy_url(Language::En), "https://nlg.kz/kk/privacy");
    assert_eq!(config.texts(Language::Ru).accept_all(), "Принять все");
    assert!(config.endpoint.is_none());
}

#[test]
fn text_overrides_apply_per_language() {
    let mut value = demo_config_json();
    value["texts"] = json!({"ru": {"title": "Cookie на Глазик"}});
    let config = parse(&value).unwrap();
    assert_eq!(config.texts(Language::Ru).title(), "Cookie на Глазик");
    assert_eq!(
        config.texts(Language::Kk).title(),
        "Біз cookie файлдарын қолданамыз"
    );
}

#[test]
fn unknown_and_missing_fields() {
    check_bad(|v| v["colour"] = json!("red"), "colour");
    check_bad(
        |v| v["categories"][1]["services"][0]["countr"] = json!("US"),
        "categories[1].services[0].countr",
    );
    check_bad(
        |v| v["texts"] = json!({"kk": {"titel": "x"}}),
        "texts.kk.titel",
    );
    check_bad(|v| drop(v.as_object_mut().unwrap().remove("site")), "site");
    check_bad(
        |v| drop(v["operator"].as_object_mut().unwrap().remove("bin")),
        "operator.bin",
    );
    check_bad(|v| v["revision"] = json!("2"), "revision");
    check_bad(|v| v["revision"] = json!(-1), "revision");
}

#[test]
fn operator_and_policy() {
    check_bad(|v| v["site"] = json!("Glazik Shop"), "site");
    check_bad(|v| v["operator"]["name"] = json!("  "), "operator.name");
    check_bad(|v| v["operator"]["bin"] = json!("12345"), "operator.bin");
    check_bad(
        |v| v["operator"]["bin"] = json!("12345678901a"),
        "operator.bin",
    );
    check_bad(
        |v| v["operator"]["email"] = json!("privacy"),
        "operator.email",
    );
    check_bad(|v| v["operator"]["address"] = json!(""), "operator.address");
    check_bad(|v| v["policy"]["version"] = json!(""), "policy.version");
    check_bad(
        |v| v["policy"]["url"] = json!({"ru": "/ru/privacy"}),
        "policy.url.kk",
    );
    check_bad(
        |v| v["policy"]["url"]["ru"] = json!("javascript:alert(1)"),
        "policy.url.ru",
    );
    check_bad(
        |v| v["policy"]["url"]["ru"] = json!("//evil.example/x"),
        "policy.url.ru",
    );
    check_bad(|v| v["policy"]["url"]["de"] = json!("/de"), "policy.url.de");
    check_bad(|v| v["endpoint"] = json!("data:text/html,x"), "endpoint");
    check_bad(|v| v["expiry_days"] = json!(0), "expiry_days");
    check_bad(|v| v["expiry_days"] = json!(5000), "expiry_days");
}

#[test]
fn languages() {
    check_bad(|v| v["languages"] = json!([]), "languages");
    check_bad(|v| v["languages"] = json!(["kk", "de"]), "languages[1]");
    check_bad(
        |v| v["languages"] = json!(["kk", "ru", "kk"]),
        "languages[2]",
    );
    check_bad(|v| v["default_language"] = json!("de"), "default_language");
    check_bad(
        |v| {
            v["languages"] = json!(["ru"]);
            v["default_language"] = json!("kk");
        },
        "default_language",
    );
    check_bad(|v| v["texts"] = json!({"tr": {"title": "x"}}), "texts.tr");
    check_bad(
        |v| v["texts"] = json!({"kk": {"title": " "}}),
        "texts.kk.title",
    );
}

#[test]
fn categories_and_services() {
    check_bad(|v| v["categories"] = json!([]), "categories");
    check_bad(
        |v| v["categories"][1]["id"] = json!("Analytics!"),
        "categories[1].id",
    );
    // Ids in camelCase, as pages written for vanilla-cookieconsent have them, are kept.
    let mut camel = demo_config_json();
    camel["categories"][1]["services"][1]["id"] = json!("yandexMetrika");
    assert!(parse(&camel).is_ok(), "{:?}", parse(&camel).err());
    check_bad(
        |v| v["categories"][2]["id"] = json!("analytics"),
        "categories[2].id",
    );
    check_bad(
        |v| v["categories"][1]["services"][1]["id"] = json!("google-analytics"),
        "categories[1].services[1].id",
    );
    check_bad(
        |v| v["categories"][2]["services"][0]["id"] = json!("analytics"),
        "categories[2].services[0].id",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["name"] = json!(""),
        "categories[1].services[0].name",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["country"] = json!("usa"),
        "categories[1].services[0].country",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["data"] = json!(["ip", "dna"]),
        "categories[1].services[0].data[1]",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["vendor"] = json!("gtag"),
        "categories[1].services[0].vendor",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["cookies"] = json!(["_ga;x"]),
        "categories[1].services[0].cookies[0]",
    );
    check_bad(
        |v| v["categories"][1]["services"][1]["local_storage"] = json!([""]),
        "categories[1].services[1].local_storage[0]",
    );
    // A category without built-in texts needs them in every enabled language.
    check_bad(
        |v| v["categories"][3] = json!({"id": "chat", "title": {"kk": "Чат", "ru": "Чат"}, "description": {"kk": "a", "ru": "b", "en": "c"}}),
        "categories[3].title.en",
    );
    check_bad(
        |v| {
            v["categories"][3] =
                json!({"id": "chat", "title": {"kk": "Чат", "ru": "Чат", "en": "Chat"}})
        },
        "categories[3].description.kk",
    );
    check_bad(
        |v| v["categories"][1]["title"] = json!({"de": "Analytik"}),
        "categories[1].title.de",
    );
}

#[test]
fn custom_category_with_all_texts_is_valid() {
    let mut value = demo_config_json();
    value["languages"] = json!(["kk", "ru"]);
    value["categories"][3] = json!({
        "id": "chat",
        "title": {"kk": "Онлайн-чат", "ru": "Онлайн-чат"},
        "description": {"kk": "Jivo чаты", "ru": "Чат Jivo"}
    });
    let config = parse(&value).expect("custom category");
    let chat = config.category("chat").unwrap();
    assert_eq!(chat.texts(Language::Ru).description, "Чат Jivo");
    assert_eq!(chat.texts(Language::Kk).refusal, None);
}

#[test]
fn ui_and_theme() {
    check_bad(|v| v["ui"]["layout"] = json!("popup"), "ui.layout");
    check_bad(|v| v["ui"]["position"] = json!("left"), "ui.position");
    check_bad(|v| v["ui"]["variant"] = json!("A B"), "ui.variant");
    check_bad(
        |v| v["ui"]["theme"] = json!({"accent": "blue"}),
        "ui.theme.accent",
    );
    check_bad(
        |v| v["ui"]["theme"] = json!({"shadow": "#000"}),
        "ui.theme.shadow",
    );
    // Light grey text on white fails WCAG AA.
    check_bad(
        |v| v["ui"]["theme"] = json!({"text": "#aaaaaa"}),
        "ui.theme.text",
    );
    check_bad(
        |v| v["ui"]["theme"] = json!({"accent": "#ffdd00"}),
        "ui.theme.accent_text",
    );

    let mut value = demo_config_json();
    value["ui"] = json!({"layout": "box", "theme": {"accent": "#1a5e20"}});
    let config = parse(&value).expect("theme");
    assert_eq!(config.ui.position, kelisim_core::Position::BottomRight);
    let theme: Vec<(&str, &str)> = config
        .ui
        .theme
        .iter()
        .map(|(property, value)| (property.as_str(), value.as_str()))
        .collect();
    assert_eq!(
        theme,
        [
            ("--kelisim-background", "#ffffff"),
            ("--kelisim-text", "#1b1b1f"),
            ("--kelisim-accent", "#1a5e20"),
            ("--kelisim-accent-text", "#ffffff"),
            ("--kelisim-border", "#6b6b75"),
        ]
    );
}

#[test]
fn default_theme_passes_wcag_aa() {
    use kelisim_core::config::{contrast_ratio, THEME_DEFAULTS};
    let colour = |key: &str| THEME_DEFAULTS.iter().find(|(k, _)| *k == key).unwrap().1;
    assert!(contrast_ratio(colour("text"), colour("background")) >= 4.5);
    assert!(contrast_ratio(colour("accent_text"), colour("accent")) >= 4.5);
    assert!(
        contrast_ratio(colour("accent"), colour("background")) >= 4.5,
        "accent is also used for links"
    );
    assert!(
        contrast_ratio(colour("border"), colour("background")) >= 3.0,
        "switch borders need 3:1"
    );
}

#[test]
fn wrong_types_name_the_field() {
    check_bad(
        |v| v["categories"] = json!({"id": "analytics"}),
        "categories",
    );
    check_bad(
        |v| v["categories"][1]["required"] = json!("yes"),
        "categories[1].required",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["cookies"] = json!("_ga"),
        "categories[1].services[0].cookies",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["cookies"][0] = json!(1),
        "categories[1].services[0].cookies[0]",
    );
    check_bad(|v| v["policy"]["url"]["kk"] = json!(null), "policy.url.kk");
    check_bad(|v| v["expiry_days"] = json!(36.5), "expiry_days");
    check_bad(|v| v["ui"] = json!("bar"), "ui");
    check_bad(|v| v["texts"]["ru"] = json!("x"), "texts.ru");
}

#[test]
fn config_must_be_an_object() {
    let error = Config::from_value(&kelisim_core::Value::Array(Vec::new())).unwrap_err();
    assert_eq!(error.field, "config");
}

#[test]
fn texts_fingerprint_covers_what_is_shown() {
    let config = parse(&demo_config_json()).unwrap();
    let kk = config.texts_fingerprint(Language::Kk);
    assert!(kk.starts_with("language=kk\n"));
    for needle in [
        "title=Біз cookie файлдарын қолданамыз",
        "bin=180540012345",
        "country=US",
        "name=Яндекс Метрика",
    ] {
        assert!(kk.contains(needle), "{needle} missing");
    }
    assert_ne!(kk, config.texts_fingerprint(Language::Ru));
    // Changing any shown text changes the fingerprint.
    let mut value = demo_config_json();
    value["texts"] = json!({"kk": {"reject_all": "Жоқ"}});
    assert_ne!(parse(&value).unwrap().texts_fingerprint(Language::Kk), kk);
}

#[test]
fn vendors_add_what_they_are_known_to_store() {
    let config = parse(&demo_config_json()).unwrap();
    let (_, metrika) = config.service("yandex-metrika").unwrap();
    assert_eq!(metrika.vendor_id.as_deref(), Some("99999999"));
    assert!(metrika.local_storage.contains(&"_ym*".to_owned()));
    let (_, ga) = config.service("google-analytics").unwrap();
    assert!(
        ga.cookies.contains(&"_gat*".to_owned()),
        "GA's known cookies are added"
    );
    assert_eq!(
        ga.cookies.iter().filter(|c| *c == "_ga").count(),
        1,
        "no duplicates"
    );
    assert_eq!(ga.cookie_paths, ["/"]);
}

#[test]
fn cookie_domain_vendor_id_and_paths() {
    let mut value = demo_config_json();
    value["cookie_domain"] = json!(".glazik.kz");
    value["categories"][1]["services"][0]["cookie_paths"] = json!(["/", "/shop"]);
    let config = parse(&value).unwrap();
    assert_eq!(config.cookie_domain.as_deref(), Some("glazik.kz"));
    assert_eq!(
        config.service("google-analytics").unwrap().1.cookie_paths,
        ["/", "/shop"]
    );
    check_bad(|v| v["cookie_domain"] = json!("localhost"), "cookie_domain");
    check_bad(|v| v["cookie_domain"] = json!("Glazik.KZ"), "cookie_domain");
    check_bad(
        |v| v["categories"][1]["services"][1]["vendor_id"] = json!("abc"),
        "categories[1].services[1].vendor_id",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["vendor_id"] = json!("G X"),
        "categories[1].services[0].vendor_id",
    );
    check_bad(
        |v| v["categories"][1]["services"][0]["cookie_paths"] = json!(["shop"]),
        "categories[1].services[0].cookie_paths[0]",
    );
}

#[test]
fn form_purpose_sets() {
    let config = parse(&demo_config_json()).unwrap();
    let signup = config.form("signup").expect("demo signup form");
    let account = signup.purpose("account").unwrap();
    assert!(account.required && account.term_days == 1826);
    assert_eq!(
        account.title.get(Language::Ru).unwrap(),
        "создание личного кабинета, оформление и доставка заказов"
    );
    let sms = signup.purpose("sms").unwrap();
    assert!(!sms.required);
    assert_eq!(sms.countries, ["KZ"], "countries default to Kazakhstan");
    let fingerprint = config.form_fingerprint(signup, Language::Kk);
    assert!(fingerprint.contains("purpose=telegram") && fingerprint.contains("countries=AE"));

    check_bad(
        |v| v["forms"][0]["purposes"][0]["required"] = json!(false),
        "forms[0].purposes",
    );
    check_bad(
        |v| {
            drop(
                v["forms"][0]["purposes"][1]["title"]
                    .as_object_mut()
                    .unwrap()
                    .remove("en"),
            )
        },
        "forms[0].purposes[1].title.en",
    );
    check_bad(
        |v| v["forms"][0]["purposes"][1]["data"] = json!(["password"]),
        "forms[0].purposes[1].data[0]",
    );
    check_bad(
        |v| v["forms"][0]["purposes"][1]["data"] = json!([]),
        "forms[0].purposes[1].data",
    );
    check_bad(
        |v| {
            drop(
                v["forms"][0]["purposes"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("term_days"),
            )
        },
        "forms[0].purposes[1].term_days",
    );
    check_bad(
        |v| v["forms"][0]["purposes"][3]["countries"] = json!(["uae"]),
        "forms[0].purposes[3].countries[0]",
    );
    check_bad(
        |v| v["forms"][0]["purposes"][2]["id"] = json!("sms"),
        "forms[0].purposes[2].id",
    );
    check_bad(
        |v| v["forms"][0]["purposes"][0]["consent"] = json!(true),
        "forms[0].purposes[0].consent",
    );
}

#[test]
fn banner_variants_by_weight() {
    let mut value = demo_config_json();
    value["ui"] = json!({"variants": [
        {"id": "a", "weight": 3},
        {"id": "b", "weight": 1, "layout": "box", "texts": {"ru": {"title": "Печеньки?"}}}
    ]});
    let config = parse(&value).unwrap();
    let picks: Vec<&str> = [0.0, 0.5, 0.74, 0.75, 0.99]
        .iter()
        .map(|r| config.pick_variant(*r).unwrap().id.as_str())
        .collect();
    assert_eq!(picks, ["a", "a", "a", "b", "b"], "weights 3:1");
    let mut b = config.clone();
    assert!(b.apply_variant("b"));
    assert_eq!(b.ui.variant.as_deref(), Some("b"));
    assert_eq!(b.ui.layout, kelisim_core::Layout::Box);
    assert_eq!(b.texts(Language::Ru).title(), "Печеньки?");
    assert_eq!(
        b.texts(Language::Kk).title(),
        config.texts(Language::Kk).title()
    );
    let mut unchanged = config.clone();
    assert!(!unchanged.apply_variant("c"));
    assert_eq!(unchanged, config);
    assert!(parse(&demo_config_json())
        .unwrap()
        .pick_variant(0.3)
        .is_none());

    check_bad(
        |v| v["ui"] = json!({"variant": "a", "variants": [{"id": "a"}]}),
        "ui.variant",
    );
    check_bad(
        |v| v["ui"] = json!({"variants": [{"id": "a"}, {"id": "a"}]}),
        "ui.variants[1].id",
    );
    check_bad(
        |v| v["ui"] = json!({"variants": [{"id": "a", "weight": 0}]}),
        "ui.variants[0].weight",
    );
    check_bad(
        |v| v["ui"] = json!({"variants": [{"id": "a", "layout": "popup"}]}),
        "ui.variants[0].layout",
    );
    check_bad(
        |v| v["ui"] = json!({"variants": [{"id": "a", "texts": {"ru": {"titel": "x"}}}]}),
        "ui.variants[0].texts.ru.titel",
    );
}

/// The fingerprints are what receipts hash: their exact bytes change only when a text does,
/// never with the code that writes them. A change of wording updates these hashes on purpose.
#[test]
fn fingerprints_keep_their_exact_text() {
    let config = parse(&demo_config_json()).unwrap();
    let signup = config.form("signup").unwrap();
    assert_eq!(
        sha256_hex(&config.form_fingerprint(signup, Language::Ru)),
        "d7354150ee0d8df13afa834e0d4454d266ed2265573c1369d193d23edbcc875e"
    );
    assert_eq!(
        sha256_hex(&config.texts_fingerprint(Language::Kk)),
        "96f0fc7e1a754df6db3b7789dbf0392d3517e53c073011e47e5657b1af31e9b9"
    );
    assert_eq!(
        config.operator_line(Language::Ru, true),
        "Оператор: ТОО «Глазик Демо», БИН\u{a0}180540012345, г. Алматы, пр. Абая, 10, 050000, privacy@glazik-demo.kz"
    );
}

fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The operator's name and address may be written per language (a company's form is written
/// differently in Kazakh and Russian); a language without its own gets the default language's.
#[test]
fn operator_name_and_address_per_language() {
    let mut value = demo_config_json();
    value["operator"]["name"] = json!({"kk": "«Глазик Демо» ЖШС", "ru": "ТОО «Глазик Демо»"});
    value["operator"]["address"] =
        json!({"kk": "Алматы қ., Абай д-лы, 10", "ru": "г. Алматы, пр. Абая, 10"});
    let config = parse(&value).unwrap();
    assert_eq!(config.operator.name(Language::Kk), "«Глазик Демо» ЖШС");
    assert_eq!(config.operator.name(Language::Ru), "ТОО «Глазик Демо»");
    assert_eq!(config.operator.name(Language::En), "«Глазик Демо» ЖШС");
    assert!(config
        .operator_line(Language::Kk, true)
        .contains("«Глазик Демо» ЖШС, БСН\u{a0}180540012345, Алматы қ., Абай д-лы, 10"));
    assert!(config
        .texts_fingerprint(Language::Ru)
        .contains("operator=ТОО «Глазик Демо»"));
    check_bad(
        |v| v["operator"]["name"] = json!({"ru": "ТОО «Глазик Демо»"}),
        "operator.name.kk",
    );
    check_bad(
        |v| v["operator"]["name"] = json!({"kk": "«Глазик» ЖШС", "de": "Glasik GmbH"}),
        "operator.name.de",
    );
    check_bad(
        |v| v["operator"]["address"] = json!({"kk": " "}),
        "operator.address.kk",
    );
}
