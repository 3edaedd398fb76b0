//! Browser tests of the visitor-facing layers: language, the three equal choices, the
//! preferences dialog and its legal details, keyboard and focus, safety of config texts,
//! invalid configs, stored choices and revisions.

#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use kelisim_core::{choose_language, decode_cookie, encode_cookie, Consent, Language};
use wasm_bindgen::JsCast;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;
use web_sys::HtmlElement;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn first_layer_in_kazakh_with_three_equal_choices() {
    reset("kk");
    assert!(init(&demo_config()));
    let banner = query("#kelisim .kelisim-banner").expect("banner shown");
    assert_eq!(banner.get_attribute("role").as_deref(), Some("dialog"));
    assert_eq!(
        banner.get_attribute("aria-labelledby").as_deref(),
        Some("kelisim-title")
    );
    assert_eq!(text("#kelisim-title"), "Біз cookie файлдарын қолданамыз");
    let buttons = query_all("#kelisim .kelisim-actions button");
    let labels: Vec<String> = buttons.iter().map(|b| b.text_content().unwrap()).collect();
    assert_eq!(
        labels,
        ["Барлығын қабылдау", "Барлығынан бас тарту", "Баптаулар"]
    );
    // Equal prominence: one class and the same rendered size and colours.
    let styles: Vec<(String, String, String)> = buttons
        .iter()
        .map(|b| {
            let style = web_sys::window()
                .unwrap()
                .get_computed_style(b)
                .unwrap()
                .unwrap();
            let get = |p: &str| style.get_property_value(p).unwrap();
            assert_eq!(b.class_name(), "kelisim-button");
            (get("background-color"), get("color"), get("font-size"))
        })
        .collect();
    assert!(
        styles.windows(2).all(|pair| pair[0] == pair[1]),
        "buttons differ: {styles:?}"
    );
    let heights: Vec<i32> = buttons
        .iter()
        .map(|b| b.unchecked_ref::<HtmlElement>().offset_height())
        .collect();
    assert!(
        heights.windows(2).all(|pair| pair[0] == pair[1]),
        "heights differ: {heights:?}"
    );
    // The cross-border transfer and the operator are visible before any choice.
    let notes = text("#kelisim .kelisim-notes");
    assert!(
        notes.contains("трансшекаралық беру") && notes.contains("Ресей") && notes.contains("АҚШ"),
        "{notes}"
    );
    assert!(
        notes.contains("«Глазик Демо» ЖШС") && notes.contains("БСН\u{a0}180540012345"),
        "{notes}"
    );
    // So are the data collected, its recipients, the term and how to withdraw (Art. 8 p.4).
    for needle in [
        "IP-мекенжай",
        "Деректерді алушылар (үшінші тұлғалар): Google Analytics 4, Яндекс Метрика",
        "365\u{a0}күн",
        "келісімді кері қайтарып алуға",
    ] {
        assert!(notes.contains(needle), "{needle}: {notes}");
    }
    assert_eq!(
        query("#kelisim .kelisim-policy")
            .unwrap()
            .get_attribute("href")
            .as_deref(),
        Some("/privacy.html#kk")
    );
    // Fixed position: the banner takes no room in the page flow (no layout shift).
    let position = web_sys::window()
        .unwrap()
        .get_computed_style(&banner)
        .unwrap()
        .unwrap()
        .get_property_value("position")
        .unwrap();
    assert_eq!(position, "fixed");
}

#[wasm_bindgen_test]
fn language_comes_from_html_lang_then_the_browser() {
    reset("ru-RU");
    init(&demo_config());
    assert_eq!(text("#kelisim-title"), "Мы используем файлы cookie");
    assert_eq!(
        query("#kelisim").unwrap().get_attribute("lang").as_deref(),
        Some("ru")
    );

    reset("");
    init(&demo_config());
    let navigator: Vec<String> = kelisim::browser::navigator_languages();
    let expected = choose_language(None, None, &navigator, &Language::ALL, Language::Kk);
    let title = text("#kelisim-title");
    let expected_title = kelisim_core::texts::builtin_texts(expected)
        .title()
        .to_owned();
    assert_eq!(title, expected_title, "navigator.languages = {navigator:?}");
}

#[wasm_bindgen_test]
async fn switching_language_keeps_the_switches_and_focus() {
    reset("kk");
    init(&demo_config());
    click("[data-kelisim-action=preferences]");
    toggle("input[data-kelisim-category=analytics]");
    click(".kelisim-preferences [data-kelisim-language=ru]");
    // The other language's compiled config arrives through the loader's `configFor`.
    wait(0).await;
    assert_eq!(text("#kelisim-preferences-title"), "Настройки cookie");
    assert!(
        switch("input[data-kelisim-category=analytics]").checked(),
        "analytics switch lost"
    );
    assert!(switch("input[data-kelisim-service=yandex-metrika]").checked());
    assert!(!switch("input[data-kelisim-category=marketing]").checked());
    let focused = active_element().unwrap();
    assert_eq!(
        focused.get_attribute("data-kelisim-language").as_deref(),
        Some("ru")
    );
    assert_eq!(
        focused.get_attribute("aria-pressed").as_deref(),
        Some("true")
    );
    // Saving now records the language the visitor chose.
    click(".kelisim-preferences [data-kelisim-action=save]");
    let consent = decode_cookie(&cookie("kelisim").unwrap()).unwrap();
    assert_eq!(consent.language, Language::Ru);
    assert_eq!(consent_field("language").as_string().as_deref(), Some("ru"));
}

#[wasm_bindgen_test]
fn accept_all_and_reject_all_store_the_choice() {
    reset("kk");
    init(&demo_config());
    click("[data-kelisim-action=accept-all]");
    assert!(query("#kelisim").is_none(), "banner still shown");
    let consent = decode_cookie(&cookie("kelisim").expect("cookie written")).unwrap();
    assert_eq!(consent.granted_categories.len(), 4);
    assert_eq!(consent.revision, 1);
    assert!(kelisim::accepted("marketing") && kelisim::accepted_service("2gis"));

    reset("kk");
    init(&demo_config());
    click("[data-kelisim-action=reject-all]");
    let consent = decode_cookie(&cookie("kelisim").unwrap()).unwrap();
    assert_eq!(
        consent.granted_categories.iter().collect::<Vec<_>>(),
        ["necessary"]
    );
    assert!(!kelisim::accepted("analytics"));
    assert_eq!(
        strings(&consent_field("deniedCategories")),
        ["analytics", "marketing", "functional"]
    );
}

#[wasm_bindgen_test]
fn preferences_list_categories_services_and_legal_details() {
    reset("ru");
    init(&demo_config());
    click("[data-kelisim-action=preferences]");
    let dialog = query(".kelisim-preferences").expect("preferences open");
    assert_eq!(dialog.get_attribute("role").as_deref(), Some("dialog"));
    assert_eq!(dialog.get_attribute("aria-modal").as_deref(), Some("true"));
    assert!(query("#kelisim .kelisim-banner")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .hidden());
    // Necessary: on and locked. Others: off, no pre-ticked boxes.
    let necessary = switch("input[data-kelisim-category=necessary]");
    assert!(necessary.checked() && necessary.disabled());
    for id in ["analytics", "marketing", "functional"] {
        let category = switch(&format!("input[data-kelisim-category={id}]"));
        assert!(
            !category.checked() && !category.disabled(),
            "{id} pre-ticked or locked"
        );
        assert_eq!(category.get_attribute("role").as_deref(), Some("switch"));
    }
    for id in ["google-analytics", "yandex-metrika", "meta-pixel", "2gis"] {
        assert!(
            !switch(&format!("input[data-kelisim-service=\"{id}\"]")).checked(),
            "{id} pre-ticked"
        );
    }
    let body = text(".kelisim-preferences__body");
    for needle in [
        "ТОО «Глазик Демо», БИН\u{a0}180540012345",
        "privacy@glazik-demo.kz",
        "365\u{a0}дней",
        "Страна обработки",
        "США",
        "Россия",
        "IP-адрес",
        "_ga_*",
        "При отказе",
        "Всегда включены",
    ] {
        assert!(body.contains(needle), "preferences lack {needle:?}");
    }
    // Every service processed outside Kazakhstan carries the cross-border badge.
    let badges = query_all(".kelisim-service .kelisim-badge");
    assert_eq!(badges.len(), 4);
    assert!(badges
        .iter()
        .all(|b| b.text_content().unwrap() == "Трансграничная передача"));
    assert_eq!(
        query(".kelisim-preferences .kelisim-policy")
            .unwrap()
            .get_attribute("href")
            .as_deref(),
        Some("/privacy.html#ru")
    );
    let labels: Vec<String> = query_all(".kelisim-preferences__foot button")
        .iter()
        .map(|b| b.text_content().unwrap())
        .collect();
    assert_eq!(labels, ["Отклонить все", "Сохранить выбор", "Принять все"]);
}

#[wasm_bindgen_test]
fn switches_follow_each_other_and_save_per_service() {
    reset("en");
    init(&demo_config());
    click("[data-kelisim-action=preferences]");
    toggle("input[data-kelisim-category=analytics]");
    assert!(switch("input[data-kelisim-service=google-analytics]").checked());
    toggle("input[data-kelisim-service=google-analytics]");
    assert!(
        switch("input[data-kelisim-category=analytics]").checked(),
        "category stays on while a service is on"
    );
    toggle("input[data-kelisim-service=yandex-metrika]");
    assert!(
        !switch("input[data-kelisim-category=analytics]").checked(),
        "category goes off with its last service"
    );
    toggle("input[data-kelisim-service=yandex-metrika]");
    click("[data-kelisim-action=save]");
    assert!(kelisim::accepted("analytics"));
    assert!(kelisim::accepted_service("yandex-metrika"));
    assert!(!kelisim::accepted_service("google-analytics"));
    assert!(!kelisim::accepted("marketing"));
}

#[wasm_bindgen_test]
fn keyboard_escape_focus_trap_and_focus_return() {
    reset("kk");
    init(&demo_config());
    let opener = query("[data-kelisim-action=preferences]")
        .unwrap()
        .unchecked_into::<HtmlElement>();
    opener.focus().unwrap();
    opener.click();
    let dialog = query(".kelisim-preferences").unwrap();
    assert_eq!(
        active_element().as_ref(),
        Some(&dialog),
        "focus moves into the dialog"
    );

    let first = query(".kelisim-preferences button")
        .unwrap()
        .unchecked_into::<HtmlElement>();
    let last = query(".kelisim-preferences__foot button:last-child")
        .unwrap()
        .unchecked_into::<HtmlElement>();
    assert_tab_wraps(&first, &last);

    // Escape closes the dialog; before a choice the banner comes back, focus returns.
    press(&last, "Escape", false);
    assert!(
        query(".kelisim-preferences").is_none(),
        "Escape did not close"
    );
    assert!(!query("#kelisim .kelisim-banner")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .hidden());
    assert_eq!(
        active_element().as_ref(),
        Some(opener.unchecked_ref()),
        "focus did not return"
    );
    assert!(cookie("kelisim").is_none(), "closing is not a choice");
}

#[wasm_bindgen_test]
fn the_modal_banner_keeps_focus_inside() {
    reset("kk");
    let config = demo_config();
    set(&config, &["ui"], js_sys::Object::new().into());
    set(&config, &["ui", "layout"], "modal".into());
    init(&config);
    // The first focusable control is the first language button, the last the last choice.
    let first = query(".kelisim-banner button")
        .unwrap()
        .unchecked_into::<HtmlElement>();
    assert!(first.has_attribute("data-kelisim-language"));
    let last = query(".kelisim-banner .kelisim-actions button:last-child")
        .unwrap()
        .unchecked_into::<HtmlElement>();
    assert_tab_wraps(&first, &last);
}

/// Tab from `last` wraps to `first`; Shift+Tab from `first` wraps to `last`.
fn assert_tab_wraps(first: &HtmlElement, last: &HtmlElement) {
    last.focus().unwrap();
    press(last, "Tab", false);
    assert_eq!(
        active_element().as_ref(),
        Some(first.unchecked_ref()),
        "Tab did not wrap"
    );
    press(first, "Tab", true);
    assert_eq!(
        active_element().as_ref(),
        Some(last.unchecked_ref()),
        "Shift+Tab did not wrap"
    );
}

fn press(target: &HtmlElement, key: &str, shift: bool) {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(key);
    init.set_shift_key(shift);
    init.set_bubbles(true);
    init.set_cancelable(true);
    let event =
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap();
    target.dispatch_event(&event).unwrap();
}

#[wasm_bindgen_test]
fn config_texts_are_text_never_markup() {
    reset("kk");
    let config = demo_config();
    let hostile = "<img src=x onerror=\"window.pwned=1\">Cookie";
    set(
        &config,
        &["texts"],
        js_sys::JSON::parse(&format!("{{\"kk\":{{\"title\":{:?}}}}}", hostile)).unwrap(),
    );
    set(
        &config,
        &["operator", "name"],
        JsValue::from_str("<b>ТОО</b>"),
    );
    assert!(init(&config));
    assert_eq!(text("#kelisim-title"), hostile);
    assert!(
        query("#kelisim img").is_none() && query("#kelisim b").is_none(),
        "config text became markup"
    );
}

#[wasm_bindgen_test]
fn invalid_config_shows_nothing() {
    reset("kk");
    let config = demo_config();
    set(
        &config,
        &["categories", "1", "services", "0", "country"],
        JsValue::from_str("USA"),
    );
    assert!(!init(&config), "invalid config accepted");
    assert!(
        query("#kelisim").is_none(),
        "something was shown for an invalid config"
    );
    assert!(kelisim::get_consent().is_null());
    // The runtime itself reads compiled configs only: a raw one handed to it past the loader
    // is one error naming what it got.
    let errors = console_errors(|| {
        assert!(!kelisim::init(demo_config(), JsValue::UNDEFINED));
        assert!(!init(&JsValue::from_str("{not json")));
        assert!(!init(&JsValue::NULL));
    });
    assert_eq!(errors.len(), 3, "{errors:?}");
    assert!(
        errors[0].contains("`format` is not \"kelisim-compiled/1\"")
            && errors[0].contains("raw kelisim.json"),
        "{}",
        errors[0]
    );
    assert!(query("#kelisim").is_none());
    assert!(
        init(&demo_config()),
        "a valid config still works afterwards"
    );
}

#[wasm_bindgen_test]
fn open_links_reopen_the_preferences() {
    reset("kk");
    let link = fixture("<a href=\"#\" data-kelisim=\"open\"><span>Cookie баптаулары</span></a>");
    init(&demo_config());
    click("[data-kelisim-action=accept-all]");
    assert!(query("#kelisim").is_none());
    link.query_selector("span")
        .unwrap()
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
    assert!(
        query(".kelisim-preferences").is_some(),
        "preferences not opened"
    );
    assert!(
        switch("input[data-kelisim-category=marketing]").checked(),
        "switches show the standing consent"
    );
    assert!(
        query("[data-kelisim-action=withdraw]").is_some(),
        "withdraw offered once a choice exists"
    );
    click("[data-kelisim-action=close]");
    assert!(
        query("#kelisim").is_none(),
        "closing after a choice hides everything"
    );
}

/// After a choice, kelisim's own "Cookie settings" button stays in a corner: a real button,
/// last in the tab order, that opens the preferences (to change the choice or withdraw).
#[wasm_bindgen_test]
async fn the_floating_button_reopens_the_preferences_after_a_choice() {
    reset("ru");
    init(&demo_config());
    assert!(
        query("#kelisim-reopen").is_none(),
        "shown before any choice"
    );
    click("[data-kelisim-action=reject-all]");
    let reopen = query("#kelisim-reopen").expect("shown after a choice");
    assert_eq!(reopen.tag_name(), "BUTTON");
    assert_eq!(reopen.get_attribute("type").as_deref(), Some("button"));
    assert_eq!(reopen.text_content().as_deref(), Some("Настройки cookie"));
    let body = document().body().unwrap();
    assert!(body
        .last_element_child()
        .unwrap()
        .is_same_node(Some(&reopen)));
    reopen.unchecked_ref::<HtmlElement>().click();
    assert!(
        query(".kelisim-preferences").is_some(),
        "preferences not opened"
    );
    assert!(query("[data-kelisim-action=withdraw]").is_some());
    click("[data-kelisim-action=language][data-kelisim-language=kk]");
    wait(0).await;
    assert_eq!(
        query("#kelisim-reopen").unwrap().text_content().as_deref(),
        Some("Cookie баптаулары")
    );
    kelisim::destroy();
    assert!(
        query("#kelisim-reopen").is_none(),
        "destroy() leaves it behind"
    );

    // A returning visitor has it at once.
    init(&demo_config());
    assert!(query("#kelisim-reopen").is_some());
}

/// `ui.reopen: "link"`: the site's own link reopens the preferences, no button is added, and
/// a page without such a link is reported in the console.
#[wasm_bindgen_test]
fn the_floating_button_gives_way_to_the_sites_own_link() {
    reset("kk");
    let config = demo_config();
    set(&config, &["ui", "reopen"], "link".into());
    let warnings = console_messages("warn", || {
        init(&config);
    });
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("ui.reopen is \"link\"") && w.contains("data-kelisim=\"open\"")),
        "{warnings:?}"
    );
    click("[data-kelisim-action=accept-all]");
    assert!(query("#kelisim-reopen").is_none());

    reset("kk");
    fixture("<a href=\"#\" data-kelisim=\"open\">Cookie баптаулары</a>");
    let warnings = console_messages("warn", || {
        init(&config);
    });
    assert!(
        !warnings.iter().any(|w| w.contains("ui.reopen")),
        "{warnings:?}"
    );
}

/// A page written for vanilla-cookieconsent keeps its markup: camelCase service ids and the
/// `data-cc` buttons work as they did.
#[wasm_bindgen_test]
fn vanilla_cookieconsent_markup_works_unchanged() {
    reset("ru");
    fixture(
        "<button type=\"button\" data-cc=\"show-preferencesModal\">Настройки</button>\
         <button type=\"button\" data-cc=\"accept-necessary\">Только необходимые</button>\
         <button type=\"button\" data-cc=\"show-consentModal\">Баннер</button>\
         <button type=\"button\" data-cc=\"accept-all\">Принять все</button>",
    );
    let config = demo_config();
    set(
        &config,
        &["categories", "1", "services", "1", "id"],
        "yandexMetrika".into(),
    );
    init(&config);
    click("[data-cc=show-preferencesModal]");
    assert!(query(".kelisim-preferences").is_some());
    assert!(query("input[data-kelisim-service=yandexMetrika]").is_some());
    click("[data-cc=accept-all]");
    assert!(kelisim::accepted_service("yandexMetrika"));
    click("[data-cc=show-consentModal]");
    assert!(query("#kelisim .kelisim-banner").is_some());
    click("[data-cc=accept-necessary]");
    assert!(!kelisim::accepted_service("yandexMetrika"));
    assert!(!kelisim::accepted("analytics"));
}

/// Consent Mode defaults sent by the loader, but no service that ever updates them: GA4 would
/// stay cookieless whatever the visitor chose, so the SDK says so.
#[wasm_bindgen_test]
fn consent_mode_defaults_without_the_vendor_are_reported() {
    reset("ru");
    let config = demo_config();
    set(
        &config,
        &["categories", "1", "services", "0", "vendor"],
        JsValue::NULL,
    );
    let options = js_sys::Object::new();
    set(&options, &["consentModeDefaults"], true.into());
    let warnings = console_messages("warn", || {
        init_with(&config, options.into());
    });
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("data-google-consent-mode") && w.contains("google-consent-mode")),
        "{warnings:?}"
    );
    reset("ru");
    let options = js_sys::Object::new();
    set(&options, &["consentModeDefaults"], true.into());
    let warnings = console_messages("warn", || {
        init_with(&demo_config(), options.into());
    });
    assert!(
        !warnings
            .iter()
            .any(|w| w.contains("data-google-consent-mode")),
        "{warnings:?}"
    );
}

fn stored(revision: u32, decided_at: u64) -> String {
    encode_cookie(&Consent {
        consent_id: "3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10".into(),
        revision,
        decided_at,
        language: Language::Ru,
        granted_categories: ["analytics", "necessary"].into_iter().collect(),
        granted_services: ["google-analytics", "yandex-metrika", "shop-session"]
            .into_iter()
            .collect(),
    })
}

fn now() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

#[wasm_bindgen_test]
fn stored_choice_hides_the_banner_until_revision_or_expiry() {
    reset("kk");
    set_cookie("kelisim", &stored(1, now() - 60));
    init(&demo_config());
    assert!(
        query("#kelisim").is_none(),
        "banner shown despite a current choice"
    );
    assert!(kelisim::accepted("analytics"));
    assert_eq!(
        consent_field("consentId").as_string().as_deref(),
        Some("3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10")
    );

    reset("kk");
    set_cookie("kelisim", &stored(0, now() - 60));
    init(&demo_config());
    assert!(
        query("#kelisim .kelisim-banner").is_some(),
        "raised revision did not re-prompt"
    );
    assert!(!kelisim::accepted("analytics"));
    click("[data-kelisim-action=reject-all]");
    assert_eq!(
        consent_field("consentId").as_string().as_deref(),
        Some("3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10"),
        "the browser keeps its consent id across revisions"
    );

    reset("kk");
    set_cookie("kelisim", &stored(1, now() - 366 * 86_400));
    init(&demo_config());
    assert!(
        query("#kelisim .kelisim-banner").is_some(),
        "expired choice did not re-prompt"
    );
}

#[wasm_bindgen_test]
fn undecodable_cookie_counts_as_no_choice() {
    for garbage in [
        "garbage",
        "1.x.y",
        "2.3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10.1.t4b2k0.ru.analytics.",
        "%E2%82%AC",
    ] {
        reset("kk");
        set_cookie("kelisim", garbage);
        assert!(init(&demo_config()));
        assert!(
            query("#kelisim .kelisim-banner").is_some(),
            "no banner with cookie {garbage:?}"
        );
        assert!(kelisim::get_consent().is_null());
    }
}

#[wasm_bindgen_test]
fn hide_from_bots_is_opt_in() {
    // Headless Chromium under WebDriver is an automated browser.
    reset("kk");
    init(&demo_config());
    assert!(
        query("#kelisim .kelisim-banner").is_some(),
        "automated browsers see the banner by default"
    );
    reset("kk");
    let config = demo_config();
    set(&config, &["ui", "hide_from_bots"], JsValue::TRUE);
    init(&config);
    assert_eq!(
        query("#kelisim").is_none(),
        kelisim::browser::is_automated_browser()
    );
}

#[wasm_bindgen_test]
fn preferences_show_your_consent_and_its_receipt() {
    reset("en");
    init(&demo_config());
    click("[data-kelisim-action=accept-all]");
    let consent_id = consent_field("consentId").as_string().unwrap();
    click_open_preferences();
    let section = text(".kelisim-your-consent");
    assert!(
        section.contains("Your consent") && section.contains("Analytics"),
        "{section}"
    );
    assert!(
        section.contains("not sent yet"),
        "no receipt yet: {section}"
    );
    assert!(query(".kelisim-your-consent a[download]").is_none());

    // The server's answer, as the outbox stores it once acknowledged.
    let answer = format!(
        "{{\"seq\":1,\"server_time\":\"2026-11-22T08:00:00Z\",\"ip_prefix\":null,\"receipt\":{{\"receipt_id\":\"00000000-0000-4000-8000-000000000001\",\"consent_id\":\"{consent_id}\"}},\"prev_hash\":\"0\",\"hash\":\"1\",\"signature\":\"2\"}}"
    );
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage
        .set_item(kelisim::receipts::LAST_RECEIPT_KEY, &answer)
        .unwrap();
    click("[data-kelisim-action=close]");
    click_open_preferences();
    assert!(text(".kelisim-your-consent").contains("00000000-0000-4000-8000-000000000001"));
    assert!(query(".kelisim-your-consent a[download]").is_some());
    assert_eq!(
        consent_field("receiptId").as_string().as_deref(),
        Some("00000000-0000-4000-8000-000000000001")
    );

    // The download is a link whose data: URL holds the server's answer as it is.
    let prototype = js_sys::eval("HTMLAnchorElement.prototype").unwrap();
    let original = js_sys::Reflect::get(&prototype, &"click".into()).unwrap();
    let recorder = js_sys::Function::new_no_args(
        "window.testDownload = [this.getAttribute('download'), this.getAttribute('href')]",
    );
    js_sys::Reflect::set(&prototype, &"click".into(), &recorder).unwrap();
    click(".kelisim-your-consent a[download]");
    js_sys::Reflect::set(&prototype, &"click".into(), &original).unwrap();
    let recorded = strings(
        &js_sys::Reflect::get(&web_sys::window().unwrap(), &"testDownload".into()).unwrap(),
    );
    assert_eq!(
        recorded[0],
        "kelisim-receipt-00000000-0000-4000-8000-000000000001.json"
    );
    let prefix = "data:application/json;charset=utf-8,";
    assert!(recorded[1].starts_with(prefix), "{}", recorded[1]);
    let decoded = js_sys::decode_uri_component(&recorded[1][prefix.len()..]).unwrap();
    assert_eq!(String::from(decoded), answer);
}

fn click_open_preferences() {
    kelisim::show_preferences();
    assert!(query(".kelisim-preferences").is_some());
}

fn set_global_privacy_control(on: bool) {
    let navigator = web_sys::window().unwrap().navigator();
    let descriptor = js_sys::Object::new();
    js_sys::Reflect::set(&descriptor, &"value".into(), &JsValue::from_bool(on)).unwrap();
    js_sys::Reflect::set(&descriptor, &"configurable".into(), &JsValue::TRUE).unwrap();
    js_sys::Object::define_property(&navigator, &"globalPrivacyControl".into(), &descriptor);
}

#[wasm_bindgen_test]
fn global_privacy_control_is_honoured_until_the_visitor_chooses() {
    reset("ru");
    set_global_privacy_control(true);
    let recorder = EventRecorder::new(&["consent", "change"]);
    init(&demo_config());
    // Refused and recorded once, and the visitor is told.
    assert!(!kelisim::accepted("analytics"));
    assert!(cookie("kelisim").is_some(), "the GPC refusal is stored");
    assert!(text("#kelisim .kelisim-notes").contains("Global Privacy Control"));
    // A later page view does not record it again.
    kelisim::destroy();
    init(&demo_config());
    assert!(
        query("#kelisim").is_none(),
        "no banner once the GPC refusal is stored"
    );
    // An explicit choice by the visitor wins.
    kelisim::accept_all();
    assert!(kelisim::accepted("analytics"));
    assert_eq!(recorder.seen(), ["consent:gpc", "change:accept_all"]);
    set_global_privacy_control(false);
}

#[wasm_bindgen_test]
fn config_that_is_not_plain_data_names_the_field() {
    reset("kk");
    let errors = console_errors(|| {
        let with_function = compiled_config("kk");
        set(
            &with_function,
            &["operator", "name"],
            js_sys::Function::new_no_args("").into(),
        );
        assert!(!init(&with_function), "a function accepted as a name");
        // A cyclic object is read field by field like any other (never walked whole), so
        // it ends at the first field it lacks.
        let cyclic = compiled_config("kk");
        set(&cyclic, &["ui"], cyclic.clone());
        assert!(!init(&cyclic), "a cyclic config accepted");
    });
    assert_eq!(errors.len(), 2, "one error per config: {errors:?}");
    assert!(
        errors[0].contains("`operator.name` must be a string"),
        "{}",
        errors[0]
    );
    assert!(
        errors[1].contains("`ui.layout` is missing"),
        "{}",
        errors[1]
    );
    assert!(query("#kelisim").is_none());
}

#[wasm_bindgen_test]
fn global_privacy_control_can_be_ignored_by_config() {
    reset("ru");
    set_global_privacy_control(true);
    let config = demo_config();
    set(&config, &["gpc"], JsValue::FALSE);
    init(&config);
    assert!(
        cookie("kelisim").is_none(),
        "gpc: false must not decide for the visitor"
    );
    assert!(query("#kelisim .kelisim-gpc").is_none());
    set_global_privacy_control(false);
}

#[wasm_bindgen_test]
fn a_browser_keeps_its_banner_variant() {
    reset("ru");
    let config = demo_config();
    let variants = js_sys::JSON::parse(
        r#"[{"id": "a", "weight": 1}, {"id": "b", "weight": 1, "texts": {"ru": {"title": "Вариант Б"}}}]"#,
    )
    .unwrap();
    set(&config, &["ui"], js_sys::JSON::parse("{}").unwrap());
    set(&config, &["ui", "variants"], variants);
    init(&config);
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let picked = storage
        .get_item("kelisim:variant")
        .unwrap()
        .expect("the variant is kept");
    let expected_title = if picked == "b" {
        "Вариант Б"
    } else {
        "Мы используем файлы cookie"
    };
    assert_eq!(text("#kelisim-title"), expected_title);
    // Every later page view shows the same variant.
    for _ in 0..5 {
        kelisim::destroy();
        init(&config);
        assert_eq!(text("#kelisim-title"), expected_title);
    }
    storage.set_item("kelisim:variant", "b").unwrap();
    kelisim::destroy();
    init(&config);
    assert_eq!(text("#kelisim-title"), "Вариант Б");
}

#[wasm_bindgen_test]
fn the_one_export_runs_every_command_by_name() {
    reset("kk");
    let args = |values: &[JsValue]| values.iter().collect::<js_sys::Array>();
    let config = compiled_config("kk");
    assert_eq!(
        kelisim::command("init", args(&[config])),
        JsValue::TRUE,
        "init answers whether it started"
    );
    assert!(query("#kelisim .kelisim-banner").is_some());
    assert_eq!(
        kelisim::command("accept", args(&[args(&["analytics".into()]).into()])),
        JsValue::TRUE
    );
    assert_eq!(
        kelisim::command("accepted", args(&["analytics".into()])),
        JsValue::TRUE
    );
    assert_eq!(
        kelisim::command("acceptedService", args(&["meta-pixel".into()])),
        JsValue::FALSE
    );
    assert!(kelisim::command("getConsent", args(&[])).is_object());
    assert!(kelisim::command("withdraw", args(&[])).is_undefined());
    assert_eq!(
        kelisim::command("accepted", args(&["analytics".into()])),
        JsValue::FALSE
    );
    let errors = console_errors(|| {
        assert!(kelisim::command("acceptEverything", args(&[])).is_undefined());
    });
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("unknown command `acceptEverything`")
            && errors[0].ends_with(&kelisim::COMMANDS.join(", ")),
        "{}",
        errors[0]
    );
    kelisim::command("destroy", args(&[]));
    assert!(query("#kelisim").is_none());
}

/// Regression: a module ready while the parser was still in `<head>` (its files cached or
/// preloaded) found no `<body>` to mount in and never showed the banner. It now shows it as
/// soon as the body is added, unless a choice came first. The body is put back before any
/// assertion, and nothing may log while it is away: the test runner reports (and captures the
/// console) through elements in the body. So the loader's Consent Mode defaults count as sent.
#[wasm_bindgen_test]
async fn a_banner_asked_for_before_the_body_exists_is_shown_when_it_is_added() {
    let html = document().document_element().unwrap();
    let start = || {
        let options = js_sys::Object::new();
        set(&options, &["consentModeDefaults"], JsValue::TRUE);
        init_with(&demo_config(), options.into())
    };
    reset("ru");
    let recorder = EventRecorder::new(&["shown"]);
    let body = document().body().unwrap();
    body.remove();
    let started = start();
    let mounted_early = query("#kelisim").is_some();
    let shown_early = recorder.seen();
    html.append_child(&body).unwrap();
    assert!(started);
    assert!(!mounted_early, "mounted without a body");
    assert!(
        shown_early.is_empty(),
        "shown without a banner: {shown_early:?}"
    );
    wait(0).await;
    assert!(
        query("#kelisim .kelisim-banner").is_some(),
        "no banner once the body was added"
    );
    assert_eq!(recorder.seen(), ["shown:"]);
    fixture("<p>more of the page</p>");
    wait(0).await;
    assert_eq!(query_all("#kelisim").len(), 1, "shown twice");

    // A choice made before the body exists cancels the banner that was waiting.
    reset("ru");
    body.remove();
    let started = start();
    kelisim::accept_all();
    html.append_child(&body).unwrap();
    assert!(started);
    wait(0).await;
    assert!(query("#kelisim").is_none(), "banner shown after a choice");
    assert!(kelisim::accepted("analytics"));
}
