//! Browser tests of consent in forms: the block in the visitor's language with the Art. 8 p.4
//! details, the required checkbox blocking submission accessibly, optional purposes, the hidden
//! receipt field, and the `form` receipt that carries purposes but no form value.

#![cfg(target_arch = "wasm32")]

#[path = "../../../tests/common/mod.rs"]
mod common;

use common::*;

/// Starts the runtime with `config`, then hands this crate every declared form as the loader
/// does (`src/loader.js`, whose own checks and observer the end-to-end form page exercises):
/// the form marked as handled, then `attach` with the compiled config the runtime runs on.
fn init(config: &JsValue) -> bool {
    kelisim_forms::command("destroy", js_sys::Array::new());
    let started = common::init(config);
    let running = running_config();
    for form in query_all("form[data-kelisim-form]") {
        let set = form.get_attribute("data-kelisim-form").unwrap();
        form.set_attribute(kelisim_forms::ATTACHED_ATTRIBUTE, &set)
            .unwrap();
        kelisim_forms::command(
            "attach",
            js_sys::Array::of3(&running, &form, &JsValue::from_str(&set)),
        );
    }
    started
}
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{HtmlElement, HtmlFormElement, HtmlInputElement};

wasm_bindgen_test_configure!(run_in_browser);

const FORM: &str = r#"
<form id="signup" data-kelisim-form="signup" action="/never">
  <input name="phone" value="+7 701 555 12 34">
  <button type="submit">Тіркелу</button>
</form>"#;

/// A config whose receipts go to an endpoint that does not answer, so they stay in the outbox.
fn config_with_endpoint() -> JsValue {
    let config = demo_config();
    set(
        &config,
        &["endpoint"],
        JsValue::from_str("http://127.0.0.1:9/v1/receipts"),
    );
    config
}

fn form() -> HtmlFormElement {
    query("#signup").unwrap().unchecked_into()
}

fn purpose(id: &str) -> HtmlInputElement {
    query(&format!("input[name=kelisim_purposes][value=\"{id}\"]"))
        .unwrap()
        .unchecked_into()
}

/// Submits like a person pressing the button, and tells whether the store's own handler ran.
fn submit() -> bool {
    let reached = std::rc::Rc::new(std::cell::Cell::new(false));
    let handler = Closure::<dyn Fn(web_sys::Event)>::new({
        let reached = reached.clone();
        move |event: web_sys::Event| {
            // The store sends the form itself (fetch): keep the test page where it is.
            event.prevent_default();
            reached.set(true);
        }
    });
    form()
        .add_event_listener_with_callback("submit", handler.as_ref().unchecked_ref())
        .unwrap();
    form().request_submit().unwrap();
    form()
        .remove_event_listener_with_callback("submit", handler.as_ref().unchecked_ref())
        .unwrap();
    reached.get()
}

#[wasm_bindgen_test]
fn the_block_states_everything_article_8_asks_for() {
    reset("kk");
    fixture(FORM);
    init(&demo_config());
    let block = text(".kelisim-form-consent");
    assert!(
        block.contains("«Глазик Демо» ЖШС, БСН\u{a0}180540012345"),
        "{block}"
    );
    let boxes = query_all("input[name=kelisim_purposes]");
    assert_eq!(boxes.len(), 4);
    assert!(
        boxes
            .iter()
            .all(|b| !b.unchecked_ref::<HtmlInputElement>().checked()),
        "a box is pre-ticked"
    );
    assert_eq!(
        purpose("account").get_attribute("aria-required").as_deref(),
        Some("true")
    );
    assert!(
        block.contains("«жеке кабинет ашу, тапсырыстарды рәсімдеу және жеткізу» мақсатында"),
        "{block}"
    );
    assert!(
        text(".kelisim-form-withdrawal").contains("кері қайтарып алуға болады")
            && text(".kelisim-form-withdrawal").contains("privacy@glazik-demo.kz"),
        "the block says how to withdraw"
    );
    let details = text(".kelisim-form-details");
    for needle in [
        "аты-жөні",
        "телефон нөмірі",
        "1826\u{a0}күн",
        "Келісімнің қолданылу мерзімі",
        "ТОО «Курьер Экспресс»",
        "БАӘ",
        "Telegram Messenger Inc.",
        "Жалпыға қолжетімді дереккөздерде тарату",
    ] {
        assert!(
            details.contains(needle),
            "details lack {needle:?}: {details}"
        );
    }
    // Inserted before the submit button, with an empty hidden receipt field.
    let hidden: HtmlInputElement = query("input[name=kelisim_receipt_id]")
        .unwrap()
        .unchecked_into();
    assert_eq!(hidden.value(), "");
    assert!(query("#signup .kelisim-form-consent + button[type=submit]").is_some());
}

/// With two required purposes each has its own error: the one of the first box missing shows,
/// and that box is the one marked invalid.
#[wasm_bindgen_test]
fn each_required_purpose_says_its_own_error() {
    reset("ru");
    fixture(FORM);
    let config = demo_config();
    set(
        &config,
        &["forms", "0", "purposes", "1", "required"],
        JsValue::TRUE,
    );
    init(&config);
    let error_of = |id: &str| -> HtmlElement {
        let described_by = purpose(id).get_attribute("aria-describedby").unwrap();
        document()
            .get_element_by_id(&described_by)
            .unwrap()
            .unchecked_into()
    };
    assert_ne!(error_of("account").id(), error_of("sms").id());
    assert!(!submit());
    assert!(!error_of("account").hidden() && error_of("sms").hidden());
    purpose("account").set_checked(true);
    assert!(!submit());
    assert!(error_of("account").hidden() && !error_of("sms").hidden());
    assert_eq!(purpose("account").get_attribute("aria-invalid"), None);
    assert_eq!(
        purpose("sms").get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        active_element().as_ref(),
        Some(purpose("sms").unchecked_ref())
    );
    purpose("sms").set_checked(true);
    assert!(submit());
    assert!(error_of("account").hidden() && error_of("sms").hidden());
}

/// The block is the compiler's tree, built as written; its ids are numbered per block, so two
/// forms of one purpose set on a page each describe themselves by their own nodes.
#[wasm_bindgen_test]
fn two_blocks_on_one_page_keep_their_ids_apart() {
    reset("ru");
    fixture(&[FORM, &FORM.replace("id=\"signup\"", "id=\"signup-again\"")].concat());
    init(&demo_config());
    let blocks = query_all(".kelisim-form-consent");
    assert_eq!(blocks.len(), 2);
    let mut ids = Vec::new();
    for block in &blocks {
        let described_by = block.get_attribute("aria-describedby").unwrap();
        let operator = document().get_element_by_id(&described_by).unwrap();
        assert!(
            block.contains(Some(&operator)),
            "{described_by} is another block's"
        );
        assert!(operator.class_list().contains("kelisim-form-operator"));
        let required = block
            .query_selector("input[data-kelisim-required]")
            .unwrap()
            .unwrap();
        let error = document()
            .get_element_by_id(&required.get_attribute("aria-describedby").unwrap())
            .unwrap();
        assert!(block.contains(Some(&error)));
        assert!(error.class_list().contains("kelisim-form-error"));
        ids.push(described_by);
    }
    assert_ne!(ids[0], ids[1]);
}

#[wasm_bindgen_test]
fn the_form_cannot_be_sent_without_the_required_consent() {
    reset("ru");
    fixture(FORM);
    init(&config_with_endpoint());
    assert!(!submit(), "the store's handler ran without consent");
    let error: HtmlElement = query(".kelisim-form-error").unwrap().unchecked_into();
    assert!(!error.hidden());
    assert_eq!(error.get_attribute("role").as_deref(), Some("alert"));
    assert_eq!(
        text(".kelisim-form-error"),
        "Чтобы продолжить, дайте согласие на сбор и обработку персональных данных."
    );
    let account = purpose("account");
    assert_eq!(
        account.get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        active_element().as_ref(),
        Some(account.unchecked_ref()),
        "focus goes to the checkbox"
    );
    assert!(
        outbox().is_empty(),
        "no receipt for a form that was not sent"
    );
}

#[wasm_bindgen_test]
async fn the_form_receipt_is_queued_with_purposes_granted_and_refused() {
    reset("ru");
    fixture(FORM);
    init(&config_with_endpoint());
    purpose("account").click();
    purpose("sms").click();
    assert!(
        submit(),
        "the store's handler did not run with consent given"
    );
    assert!(query(".kelisim-form-error")
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .hidden());
    // The receipt is queued after the texts are hashed (a promise).
    wait(200).await;
    let receipt_id = query("input[name=kelisim_receipt_id]")
        .unwrap()
        .unchecked_into::<HtmlInputElement>()
        .value();
    let queued = outbox();
    assert_eq!(queued.len(), 1, "{queued:?}");
    let receipt = js_sys::JSON::parse(&queued[0]).unwrap();
    let field = |name: &str| js_sys::Reflect::get(&receipt, &name.into()).unwrap();
    assert_eq!(field("action").as_string().as_deref(), Some("form"));
    assert_eq!(field("form_id").as_string().as_deref(), Some("signup"));
    assert_eq!(field("receipt_id").as_string(), Some(receipt_id));
    assert_eq!(strings(&field("granted_purposes")), ["account", "sms"]);
    assert_eq!(
        strings(&field("denied_purposes")),
        ["email-news", "telegram"]
    );
    assert_eq!(field("texts_hash").as_string().unwrap().len(), 64);
    assert!(
        !queued[0].contains("555 12 34"),
        "a form value leaked into the receipt"
    );
}

/// The forms module brings its own stylesheet: the compiled config does not carry it.
#[wasm_bindgen_test]
fn the_block_is_styled_by_the_forms_module() {
    reset("ru");
    fixture(&format!(
        "{FORM}<form id=\"second\" data-kelisim-form=\"signup\"><button>OK</button></form>"
    ));
    init(&demo_config());
    assert_eq!(query_all(".kelisim-form-consent").len(), 2);
    let purpose = query(".kelisim-form-purpose").unwrap();
    let style = web_sys::window()
        .unwrap()
        .get_computed_style(&purpose)
        .unwrap()
        .unwrap();
    assert_eq!(style.get_property_value("display").unwrap(), "flex");
    // The banner's sheet (from the compiled config) holds none of the forms' rules.
    let compiled = compiled_config("ru");
    let sheet = js_sys::Reflect::get(&compiled, &"style".into())
        .unwrap()
        .as_string()
        .unwrap();
    assert!(!sheet.contains("kelisim-form-"));
}

fn outbox() -> Vec<String> {
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    match storage.get_item("kelisim:outbox").unwrap() {
        Some(text) => strings(&js_sys::JSON::parse(&text).unwrap()),
        None => Vec::new(),
    }
}

/// Whatever another script of the store's origin puts in the outbox (an item too large for
/// any request, thousands of non-receipts, a receipt among them) is dropped or kept so that a
/// real receipt is queued and sent, never buried behind it.
#[wasm_bindgen_test]
async fn junk_in_the_outbox_never_blocks_a_real_receipt() {
    reset("ru");
    let junk = js_sys::Array::new();
    junk.push(&JsValue::from_str(&format!(
        "{{\"receipt_id\":\"{}\"}}",
        "x".repeat(3_000_000)
    )));
    for n in 0..100_000 {
        junk.push(&JsValue::from_f64(f64::from(n)));
    }
    junk.push(&JsValue::from_str("not json"));
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    storage
        .set_item(
            "kelisim:outbox",
            &js_sys::JSON::stringify(&junk).unwrap().as_string().unwrap(),
        )
        .unwrap();
    init(&config_with_endpoint());
    click("[data-kelisim-action=accept-all]");
    // The receipt is queued after the texts are hashed (a promise).
    wait(200).await;
    let queued = outbox();
    assert_eq!(queued.len(), 1, "junk left beside the receipt");
    let receipt = js_sys::JSON::parse(&queued[0]).unwrap();
    let action = js_sys::Reflect::get(&receipt, &"action".into()).unwrap();
    assert_eq!(action.as_string().as_deref(), Some("accept_all"));
}

/// The demo's sign-up form confirmed by SMS code, its receipts going to an endpoint that does
/// not answer.
fn sms_config() -> JsValue {
    let config = config_with_endpoint();
    set(
        &config,
        &["forms", "0", "confirm"],
        JsValue::from_str("sms"),
    );
    config
}

fn click(selector: &str) {
    query(selector)
        .unwrap()
        .unchecked_into::<HtmlElement>()
        .click();
}

#[wasm_bindgen_test]
fn a_form_confirmed_by_sms_is_not_sent_before_the_code_and_refuses_a_foreign_number() {
    reset("ru");
    fixture(FORM);
    init(&sms_config());
    // Its own phone field, since the form has none marked `data-kelisim-phone`.
    let phone: HtmlInputElement = query(".kelisim-form-sms input[name=kelisim_phone]")
        .unwrap()
        .unchecked_into();
    assert_eq!(phone.get_attribute("autocomplete").as_deref(), Some("tel"));
    assert!(text(".kelisim-form-sms").contains("Номер мобильного телефона"));
    assert!(query(".kelisim-form-code").unwrap().has_attribute("hidden"));
    purpose("account").set_checked(true);
    assert!(!submit(), "sent without a confirmed code");
    assert_eq!(
        text(".kelisim-form-status"),
        "Перед отправкой подтвердите согласие кодом из SMS."
    );
    // A Russian number is refused before anything is sent.
    phone.set_value("+7 916 123 45 67");
    click("[data-kelisim-sms=send]");
    assert_eq!(
        text(".kelisim-form-status"),
        "Введите казахстанский мобильный номер: +7 7XX XXX XX XX."
    );
    assert_eq!(phone.get_attribute("aria-invalid").as_deref(), Some("true"));
    // Without the required purpose, "send code" asks for it first.
    purpose("account").set_checked(false);
    phone.set_value("+7 701 123 45 67");
    click("[data-kelisim-sms=send]");
    assert!(!query(".kelisim-form-error")
        .unwrap()
        .has_attribute("hidden"));
    assert_eq!(
        purpose("account").get_attribute("aria-invalid").as_deref(),
        Some("true")
    );
}

#[wasm_bindgen_test]
fn a_form_with_its_own_phone_field_is_not_given_a_second_one() {
    reset("kk");
    fixture(
        r#"<form id="signup" data-kelisim-form="signup" action="/never">
        <input name="phone" data-kelisim-phone value="+7 701 555 12 34">
        <button type="submit">Тіркелу</button></form>"#,
    );
    init(&sms_config());
    assert!(query(".kelisim-form-sms input[name=kelisim_phone]").is_none());
    assert!(text(".kelisim-form-sms").contains("Код жіберу"));
}

#[wasm_bindgen_test]
fn a_signed_form_is_not_sent_before_the_signature() {
    reset("ru");
    fixture(FORM);
    let config = config_with_endpoint();
    set(
        &config,
        &["forms", "0", "confirm"],
        JsValue::from_str("eds"),
    );
    init(&config);
    assert!(text(".kelisim-form-eds").contains("Подписать ЭЦП"));
    // The document appears only once the server has written it.
    assert!(query(".kelisim-form-eds details")
        .unwrap()
        .has_attribute("hidden"));
    purpose("account").set_checked(true);
    assert!(!submit(), "sent without a signature");
    assert_eq!(
        text(".kelisim-form-status"),
        "Перед отправкой подпишите согласие ЭЦП."
    );
    assert!(query(".kelisim-form-sms").is_none());
}
