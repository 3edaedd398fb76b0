//! The runtime on compiled configs, in headless Chromium: it shows the compiled texts and
//! stylesheet, its receipts carry the compiled config's id and texts hash, a language switch
//! fetches the other language through the loader's `configFor`, the preferences dialog kept
//! apart opens once `configFor` brought the config whole, and anything that is not a compiled
//! config of this format shows nothing and runs no tag.

mod common;

use common::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// The receipts waiting in the outbox (the test page has no receipts server).
fn outbox() -> Vec<serde_json_lite::Receipt> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let text = storage
        .get_item("kelisim:outbox")
        .unwrap()
        .unwrap_or("[]".into());
    let items = js_sys::JSON::parse(&text).unwrap();
    js_sys::Array::from(&items)
        .iter()
        .map(|item| serde_json_lite::Receipt::from(item.as_string().unwrap()))
        .collect()
}

/// Just enough of a receipt to check, read with the browser's JSON.
mod serde_json_lite {
    pub struct Receipt(pub wasm_bindgen::JsValue);
    impl From<String> for Receipt {
        fn from(text: String) -> Receipt {
            Receipt(js_sys::JSON::parse(&text).unwrap())
        }
    }
    impl Receipt {
        pub fn text(&self, field: &str) -> Option<String> {
            js_sys::Reflect::get(&self.0, &field.into())
                .ok()?
                .as_string()
        }
    }
}

fn options_with_config_for() -> JsValue {
    let options = js_sys::Object::new();
    let config_for = js_sys::Function::new_with_args(
        "language",
        "return Promise.resolve(window.kelisimTestConfigs[language]);",
    );
    let configs = js_sys::Object::new();
    for language in ["kk", "ru", "en"] {
        set(&configs, &[language], compiled_config(language));
    }
    set(
        &web_sys::window().unwrap().into(),
        &["kelisimTestConfigs"],
        configs.into(),
    );
    set(&options, &["configFor"], config_for.into());
    options.into()
}

#[wasm_bindgen_test]
fn a_compiled_config_shows_its_texts_and_its_receipts_name_it() {
    reset("ru");
    assert!(kelisim::init(compiled_config("ru"), JsValue::UNDEFINED));
    assert_eq!(
        text("#kelisim .kelisim-title"),
        "Мы используем файлы cookie"
    );
    assert!(text("#kelisim .kelisim-notes").contains("Получатели данных"));
    click("[data-kelisim-action=accept-all]");
    let receipts = outbox();
    assert_eq!(receipts.len(), 1);
    assert_eq!(
        receipts[0].text("config_id"),
        Some(compiled_config_id("ru"))
    );
    let texts_hash = js_sys::Reflect::get(&compiled_config("ru"), &"texts_hash".into())
        .unwrap()
        .as_string();
    assert_eq!(receipts[0].text("texts_hash"), texts_hash);
}

#[wasm_bindgen_test]
async fn a_language_switch_fetches_the_other_compiled_config() {
    reset("kk");
    assert!(kelisim::init(
        compiled_config("kk"),
        options_with_config_for()
    ));
    assert_eq!(
        text("#kelisim .kelisim-title"),
        "Біз cookie файлдарын қолданамыз"
    );
    click("[data-kelisim-action=language][data-kelisim-language=ru]");
    wait(50).await;
    assert_eq!(
        text("#kelisim .kelisim-title"),
        "Мы используем файлы cookie"
    );
    click("[data-kelisim-action=accept-all]");
    let receipts = outbox();
    assert_eq!(
        receipts[0].text("config_id"),
        Some(compiled_config_id("ru"))
    );
    assert_eq!(receipts[0].text("language").as_deref(), Some("ru"));
}

#[wasm_bindgen_test]
async fn the_visitors_language_is_fetched_when_the_loader_guessed_another() {
    // The page says Russian; the loader handed over Kazakh: the runtime fetches Russian.
    reset("ru");
    assert!(kelisim::init(
        compiled_config("kk"),
        options_with_config_for()
    ));
    wait(50).await;
    assert_eq!(
        text("#kelisim .kelisim-title"),
        "Мы используем файлы cookie"
    );
}

/// Options as the loader gives them for served configs: `configFor(language, whole)` answers
/// a language's served body, or with `whole` the body laid over with its preferences dialog
/// (after a turn of the event loop, as a fetch).
fn options_for_served_configs() -> JsValue {
    let served = js_sys::Object::new();
    let whole = js_sys::Object::new();
    for language in ["kk", "ru", "en"] {
        set(&served, &[language], served_config(language));
        set(
            &whole,
            &[language],
            served_config_with_preferences(language),
        );
    }
    let window: JsValue = web_sys::window().unwrap().into();
    set(&window, &["kelisimTestServed"], served.into());
    set(&window, &["kelisimTestWhole"], whole.into());
    let options = js_sys::Object::new();
    set(
        &options,
        &["configFor"],
        js_sys::Function::new_with_args(
            "language, whole",
            "var configs = whole ? window.kelisimTestWhole : window.kelisimTestServed; return new Promise(function (resolve) { setTimeout(function () { resolve(configs[language]); }, 5); });",
        )
        .into(),
    );
    options.into()
}

/// A served config keeps the preferences dialog apart: it opens once the loader brought the
/// config whole, follows a language switch, stays closed when a choice came first, and
/// without the loader the attempt is an error, not a silent nothing.
#[wasm_bindgen_test]
async fn the_preferences_kept_apart_open_once_the_loader_brought_them() {
    reset("kk");
    assert!(kelisim::init(
        served_config("kk"),
        options_for_served_configs()
    ));
    assert!(query("#kelisim .kelisim-banner").is_some());
    click("[data-kelisim-action=preferences]");
    assert!(query(".kelisim-preferences").is_none());
    wait(50).await;
    assert_eq!(text(".kelisim-preferences h2"), "Cookie баптаулары");
    // The dialog's own rules came with it: a switch is drawn as one.
    let switch = query("input[data-kelisim-category=analytics]").unwrap();
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&switch)
        .unwrap()
        .unwrap();
    assert_eq!(style.get_property_value("appearance").unwrap(), "none");
    click("input[data-kelisim-category=analytics]");
    // A language switch with the dialog open: the other language's body, then its dialog.
    kelisim::set_language("ru");
    wait(50).await;
    assert_eq!(text(".kelisim-preferences h2"), "Настройки cookie");
    let analytics = query("input[data-kelisim-category=analytics]").unwrap();
    assert!(
        analytics
            .unchecked_into::<web_sys::HtmlInputElement>()
            .checked(),
        "the switch survived the switch"
    );
    click(".kelisim-preferences [data-kelisim-action=save]");
    assert!(kelisim::accepted("analytics"));

    // A choice while the dialog is on its way: it does not open over the choice.
    reset("kk");
    assert!(kelisim::init(
        served_config("kk"),
        options_for_served_configs()
    ));
    click("[data-kelisim-action=preferences]");
    click("[data-kelisim-action=accept-all]");
    wait(50).await;
    assert!(query(".kelisim-preferences").is_none());

    // Without the loader nothing brings the dialog: one error says so.
    reset("kk");
    assert!(kelisim::init(served_config("kk"), JsValue::UNDEFINED));
    let errors = console_errors(|| click("[data-kelisim-action=preferences]"));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].contains("kelisim.js fetches"), "{errors:?}");
    assert!(query(".kelisim-preferences").is_none());
}

#[wasm_bindgen_test]
fn what_is_not_a_compiled_config_of_this_format_shows_nothing() {
    reset("ru");
    fixture("<script type=\"text/plain\" data-category=\"necessary\">window.testLog.push('ran')</script>");
    let config = compiled_config("ru");
    set(&config, &["format"], "kelisim-compiled/0".into());
    assert!(!kelisim::init(config, JsValue::UNDEFINED));
    assert!(query("#kelisim").is_none());
    assert!(log().is_empty(), "a tag ran: {:?}", log());

    reset("ru");
    let config = compiled_config("ru");
    set(&config, &["categories"], JsValue::from(7));
    assert!(!kelisim::init(config, JsValue::UNDEFINED));
    assert!(query("#kelisim").is_none());

    // A layer's tree with what could run or load, below the preferences' root: refused whole,
    // naming the tree; no tag ran.
    reset("ru");
    fixture("<script type=\"text/plain\" data-category=\"necessary\">window.testLog.push('ran')</script>");
    let config = compiled_config("ru");
    let hostile = js_sys::JSON::parse(
        r#"["p", {}, "text", ["img", {"src": "x", "onerror": "window.pwned = 1"}]]"#,
    )
    .unwrap();
    let preferences = js_sys::Reflect::get(&config, &"layers".into())
        .and_then(|layers| js_sys::Reflect::get(&layers, &"preferences".into()))
        .unwrap();
    preferences.unchecked_ref::<js_sys::Array>().push(&hostile);
    let errors = console_errors(|| assert!(!kelisim::init(config, JsValue::UNDEFINED)));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("`layers.preferences` is not a node tree a layer may have"),
        "{}",
        errors[0]
    );
    assert!(query("#kelisim").is_none());
    assert!(log().is_empty(), "a tag ran: {:?}", log());
}

/// The layers are built from the config object the page gave, by the walk that checked it:
/// a tree the page changes in its object after `init` to hold what could run or load is not
/// built at all, and no render throws.
#[wasm_bindgen_test]
fn a_config_object_changed_after_init_builds_nothing_that_runs() {
    reset("ru");
    let config = compiled_config("ru");
    assert!(kelisim::init(config.clone(), JsValue::UNDEFINED));
    assert!(query("#kelisim .kelisim-title").is_some());
    kelisim::hide();
    let tampered = js_sys::JSON::parse(
        r#"["script", {"src": "/x.js"}, ["img", {"src": "x", "onerror": "window.pwned = 1"}, "text"], ["a", {"href": "javascript:alert(1)"}, "link"]]"#,
    )
    .unwrap();
    set(&config, &["layers", "banner"], tampered);
    kelisim::show();
    assert!(query("#kelisim script").is_none() && query("#kelisim img").is_none());
    assert!(query("#kelisim [onerror]").is_none() && query("#kelisim [href]").is_none());
    assert!(
        query("#kelisim a").is_none(),
        "nothing of the changed tree is built"
    );
    kelisim::hide();
    set(&config, &["layers", "banner"], JsValue::from(7));
    kelisim::show();
    assert!(query("#kelisim").is_some(), "the render went through");
}

/// A compiled config of an older `config build` has no "your consent" in its preferences
/// tree: the dialog opens, and one console error says to run `config build` again.
#[wasm_bindgen_test]
fn an_older_preferences_tree_without_your_consent_is_said() {
    reset("ru");
    let config = compiled_config("ru");
    let body = js_sys::eval(
        "(function (c) { var body = c.layers.preferences[2][3]; body.pop(); return body; })",
    )
    .unwrap()
    .unchecked_into::<js_sys::Function>()
    .call1(&JsValue::NULL, &config)
    .unwrap();
    assert!(
        !js_sys::JSON::stringify(&body)
            .unwrap()
            .as_string()
            .unwrap()
            .contains("kelisim-your-consent"),
        "the test took the section out"
    );
    assert!(kelisim::init(config, JsValue::UNDEFINED));
    kelisim::accept_all();
    let errors = console_errors(kelisim::show_preferences);
    assert!(query(".kelisim-preferences").is_some());
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("older `kelisim-server config build`"),
        "{}",
        errors[0]
    );
}

/// A browser kept in banner variant `b` shows b, and its receipt names b and b's texts
/// fingerprint.
#[wasm_bindgen_test]
fn a_receipt_names_the_banner_variant_shown_and_its_texts() {
    reset("ru");
    let raw = demo_config();
    let ui = js_sys::JSON::parse(
        r#"{"variants": [{"id": "a", "weight": 1}, {"id": "b", "weight": 1, "texts": {"ru": {"title": "Вариант Б"}}}]}"#,
    )
    .unwrap();
    set(&raw, &["ui"], ui);
    let raw = js_sys::JSON::stringify(&raw).unwrap().as_string().unwrap();
    let compiled = kelisim_core::compile::compile_text(&raw)
        .unwrap()
        .into_iter()
        .find(|config| config.language == "ru")
        .unwrap();
    let b_hash = compiled
        .variants
        .iter()
        .find(|variant| variant.id == "b")
        .unwrap()
        .texts_hash
        .clone();
    assert_ne!(b_hash, compiled.texts_hash);
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage.set_item("kelisim:variant", "b").unwrap();
    let config = js_sys::JSON::parse(&compiled.to_whole_browser_json()).unwrap();
    assert!(kelisim::init(config, JsValue::UNDEFINED));
    assert_eq!(text("#kelisim-title"), "Вариант Б");
    click("[data-kelisim-action=accept-all]");
    let receipts = outbox();
    assert_eq!(receipts.len(), 1);
    assert_eq!(receipts[0].text("variant").as_deref(), Some("b"));
    assert_eq!(receipts[0].text("texts_hash"), Some(b_hash));
    assert_eq!(
        storage.get_item("kelisim:variant").unwrap().as_deref(),
        Some("b")
    );
}
