//! Consent in forms (sign-up, checkout, loyalty): `kelisim.formConsent(form, {set})` and
//! `<form data-kelisim-form="<set>">` add, in the visitor's language, one unticked checkbox per
//! purpose of the config's purpose set (the required one blocks submission with an accessible
//! error), a "details" view with every Law 94-V Art. 8 p.4 item, and a hidden
//! `kelisim_receipt_id` field: the block the compiler wrote as a node tree
//! (`kelisim_core::layers::form_block`), so the archived config holds it as shown. On submit a
//! `form` receipt records the purposes granted and refused (never a form value), and the
//! store's backend links its record to that receipt id.
//!
//! A purpose set with `"confirm": "sms"` adds a phone field (or uses the form's own
//! `[data-kelisim-phone]` input), "send code", a code field and "confirm": the code goes
//! through kelisim-server's `/v1/confirmations`, which stores the SMS-confirmed receipt itself;
//! the form cannot be sent until the code is confirmed for exactly the purposes ticked, and no
//! `form` receipt is sent for it then.
//!
//! A `FormHandle` owns the inserted nodes and the listeners; dropping it removes them.

use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use kelisim::browser::random_uuid;
use kelisim::dom::{
    append, append_node, append_text, build, closest, find, focus, inputs, insert_before,
    next_number, remove_attr, set_attr, set_hidden,
};
use kelisim::receipts::{record_form, FormConsent};
use kelisim_core::config::{Confirmation, FORM_ID_PREFIX};
use kelisim_core::confirm::Refusal;
use kelisim_core::strings::decimal;
use kelisim_core::texts::fill;
use kelisim_core::{Config, Language};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Element, HtmlFormElement, HtmlInputElement};

/// The hidden field the store's backend reads.
pub const RECEIPT_FIELD: &str = kelisim_core::config::FORM_RECEIPT_FIELD;
/// The checkboxes' name: the granted purposes reach the backend too.
pub const PURPOSES_FIELD: &str = kelisim_core::config::FORM_PURPOSES_FIELD;
/// Marks a form kelisim handles: set by the loader as it hands the form over (so the form is
/// never handed over twice), removed here when the block goes. `src/loader.js` writes the
/// same name (a tidy test compares).
pub const ATTACHED_ATTRIBUTE: &str = "data-kelisim-form-attached";

/// The consent block of one form and its submit listener.
pub struct FormHandle {
    block: Element,
    form: HtmlFormElement,
    _submit: EventListener,
    /// The SMS or signing step's buttons (confirmed forms).
    _confirm_click: Option<EventListener>,
}

impl Drop for FormHandle {
    fn drop(&mut self) {
        self.block.remove();
        remove_attr(&self.form, ATTACHED_ATTRIBUTE);
    }
}

/// Adds the consent block for purpose set `set` to `form`. `consent_id` is the browser's
/// consent id when it has one (so the form consent joins its history). The loader checked
/// that `set` is a purpose set of `config` and marked the form as handled
/// ([`ATTACHED_ATTRIBUTE`]) before it handed the form over.
pub fn attach(
    config: &Rc<Config>,
    form: HtmlFormElement,
    set: &str,
    language: Language,
    consent_id: Option<String>,
    tree: &JsValue,
) -> Option<FormHandle> {
    let purpose_set = config.form(set)?;
    let block = render(tree, next_number());
    let confirm = purpose_set.confirm;
    match confirm {
        Some(Confirmation::Sms) => render_sms_step(&block, &form, config, language),
        Some(Confirmation::Eds) => render_eds_step(&block, config, language),
        None => {}
    }
    // Before the submit button, so the person reads it before sending; at the end otherwise.
    let submit = find(&form, "[type=submit], button:not([type])");
    match &submit {
        Some(button) => insert_before(button, &block),
        None => append_node(&form, &block),
    }
    set_attr(&form, ATTACHED_ATTRIBUTE, set);

    let set_id = set.to_owned();
    let consent_id_for_confirm = consent_id.clone();
    let config_for_confirm = Rc::clone(config);
    let config = Rc::clone(config);
    let set = set.to_owned();
    let block_for_submit = block.clone();
    // Capture phase and preventDefault: a submission without the required consent stops here,
    // before the store's own handlers.
    let options = EventListenerOptions {
        phase: EventListenerPhase::Capture,
        passive: false,
    };
    let submit_listener = EventListener::new_with_options(&form, "submit", options, move |event| {
        let stop = || {
            event.prevent_default();
            event.stop_immediate_propagation();
        };
        if !required_given(&block_for_submit) {
            stop();
            return;
        }
        let Some(purpose_set) = config.form(&set) else {
            return;
        };
        let (granted, denied) = purposes_ticked(&block_for_submit);
        if let Some(kind) = confirm {
            // Sent only when a code or a signature confirmed exactly what is ticked now; the
            // server stored that receipt, so no `form` receipt is sent here.
            if block_for_submit.get_attribute(CONFIRMED_ATTRIBUTE) != Some(granted.join(",")) {
                stop();
                let texts = config.texts(language);
                let (message, focus_on) = match kind {
                    Confirmation::Sms => (texts.sms_needed(), ".kelisim-form-sms input"),
                    Confirmation::Eds => (texts.eds_needed(), ".kelisim-form-eds button"),
                };
                say_status(&block_for_submit, message, Some(focus_on));
            }
            return;
        }
        // Without a receipts endpoint no receipt exists, so the backend gets no id to keep.
        if config.endpoint.is_none() {
            return;
        }
        let receipt_id = random_uuid();
        if let Some(field) = find(
            &block_for_submit,
            &["input[name=", RECEIPT_FIELD, "]"].concat(),
        ) {
            // A hidden input's value is its `value` attribute.
            set_attr(&field, "value", &receipt_id);
        }
        let consent_id = consent_id.clone().unwrap_or_else(random_uuid);
        record_form(
            &config,
            &FormConsent {
                form: purpose_set,
                receipt_id: &receipt_id,
                consent_id: &consent_id,
                language,
                granted: &granted,
                denied: &denied,
            },
        );
    });
    let confirm_click = confirm.map(|kind| match kind {
        Confirmation::Sms => sms_listener(
            &block,
            &config_for_confirm,
            set_id,
            language,
            consent_id_for_confirm,
        ),
        Confirmation::Eds => eds_listener(
            &block,
            &config_for_confirm,
            set_id,
            language,
            consent_id_for_confirm,
        ),
    });
    Some(FormHandle {
        block,
        form,
        _submit: submit_listener,
        _confirm_click: confirm_click,
    })
}

/// Whether every required purpose is ticked; if not, marks the first one missing, shows the
/// error and moves the focus there.
fn required_given(block: &Element) -> bool {
    let boxes = checkboxes(block);
    let missing = boxes
        .iter()
        .find(|input| input.has_attribute("data-kelisim-required") && !input.checked());
    // The error of the first required purpose missing shows, each other one hides.
    let shown = missing.and_then(|input| input.get_attribute("aria-describedby"));
    for error in kelisim::browser::nodes_of(block.query_selector_all(".kelisim-form-error")) {
        set_hidden(&error, error.get_attribute("id") != shown);
    }
    for input in &boxes {
        if Some(input) == missing {
            set_attr(input, "aria-invalid", "true");
        } else {
            remove_attr(input, "aria-invalid");
        }
    }
    if let Some(missing) = missing {
        focus(missing);
        return false;
    }
    true
}

/// The purposes ticked and not ticked, in the block's order.
fn purposes_ticked(block: &Element) -> (Vec<String>, Vec<String>) {
    let mut granted: Vec<String> = Vec::new();
    let mut denied: Vec<String> = Vec::new();
    for input in &checkboxes(block) {
        let purposes = if input.checked() {
            &mut granted
        } else {
            &mut denied
        };
        // Our checkbox: its value is the `value` attribute set when it was made.
        purposes.push(input.get_attribute("value").unwrap_or_default());
    }
    (granted, denied)
}

/// Set on the block once a code is confirmed: the purposes it confirmed, comma-joined.
const CONFIRMED_ATTRIBUTE: &str = "data-kelisim-confirmed";
/// Set on the block once a code is sent: the confirmation it belongs to.
const CONFIRMATION_ATTRIBUTE: &str = "data-kelisim-confirmation";

/// The SMS step under the purposes: the phone field (unless the form has its own
/// `[data-kelisim-phone]`), "send code", the code field and "confirm" (hidden until a code is
/// sent), and a status line read out by screen readers.
fn render_sms_step(block: &Element, form: &HtmlFormElement, config: &Config, language: Language) {
    let texts = config.texts(language);
    let step = append(block, "div", "kelisim-form-sms");
    if find(form, "[data-kelisim-phone]").is_none() {
        let label = append_text(&step, "label", "", texts.sms_phone_label());
        let phone = append(&label, "input", "");
        for (name, value) in [
            ("type", "tel"),
            ("name", "kelisim_phone"),
            ("autocomplete", "tel"),
            ("data-kelisim-phone", ""),
        ] {
            set_attr(&phone, name, value);
        }
    }
    sms_button(&step, "send", texts.sms_send());
    let code = append_text(&step, "label", "kelisim-form-code", texts.sms_code_label());
    set_hidden(&code, true);
    let input = append(&code, "input", "");
    for (name, value) in [
        ("inputmode", "numeric"),
        ("autocomplete", "one-time-code"),
        ("maxlength", "6"),
    ] {
        set_attr(&input, name, value);
    }
    set_hidden(&sms_button(&step, "confirm", texts.sms_confirm()), true);
    let status = append(&step, "p", "kelisim-form-status");
    set_attr(&status, "role", "status");
}

fn sms_button(parent: &Element, step: &str, text: &str) -> Element {
    let button = append_text(parent, "button", "", text);
    set_attr(&button, "type", "button");
    set_attr(&button, "data-kelisim-sms", step);
    button
}

/// Shows `message` in the confirmation step's status line (SMS code or signature) and moves
/// the focus to `focus_on` (a selector under the form) when given.
fn say_status(block: &Element, message: &str, focus_on: Option<&str>) {
    if let Some(status) = find(block, ".kelisim-form-status") {
        status.set_text_content(Some(message));
    }
    let form = closest(block, "form");
    if let Some(target) = focus_on
        .zip(form)
        .and_then(|(selector, form)| find(&form, selector))
    {
        focus(&target);
    }
}

/// The listener of the SMS step's two buttons.
fn sms_listener(
    block: &Element,
    config: &Rc<Config>,
    set: String,
    language: Language,
    consent_id: Option<String>,
) -> EventListener {
    let config = Rc::clone(config);
    let block_for_click = block.clone();
    EventListener::new(block, "click", move |event| {
        let Some(step) = kelisim::browser::event_element(event)
            .and_then(|target| closest(&target, "[data-kelisim-sms]"))
            .and_then(|button| button.get_attribute("data-kelisim-sms"))
        else {
            return;
        };
        let block = &block_for_click;
        let texts = config.texts(language);
        let form = closest(block, "form");
        let phone_input = form
            .as_ref()
            .and_then(|form| find(form, "[data-kelisim-phone]"));
        let phone_text = phone_input
            .as_ref()
            .map(|input| input.unchecked_ref::<HtmlInputElement>().value())
            .unwrap_or_default();
        let Some(base) = kelisim::receipts::endpoint_beside_receipts(&config, "confirmations")
        else {
            return;
        };
        if step == "send" {
            if !required_given(block) {
                return;
            }
            let Some(phone) = kelisim_core::phone::normalize_kz_mobile(&phone_text) else {
                if let Some(input) = &phone_input {
                    set_attr(input, "aria-invalid", "true");
                }
                say_status(
                    block,
                    texts.sms_invalid_phone(),
                    Some("[data-kelisim-phone]"),
                );
                return;
            };
            if let Some(input) = &phone_input {
                remove_attr(input, "aria-invalid");
            }
            let (granted, denied) = purposes_ticked(block);
            // The normal phone needs no escaping either (see `choice_json`).
            let request = [
                &choice_json(
                    &config,
                    &set,
                    language,
                    &granted,
                    &denied,
                    consent_id.as_deref(),
                ),
                ",\"phone\":\"",
                &phone,
                "\"}",
            ]
            .concat();
            let block = block.clone();
            let config = Rc::clone(&config);
            post_json(
                &base,
                request,
                Box::new(move |status, answer| {
                    let texts = config.texts(language);
                    if status != 201 {
                        say_status(&block, refusal(texts, &answer, Confirmation::Sms), None);
                        return;
                    }
                    let id = kelisim::browser::property(&answer, "confirmation_id")
                        .as_string()
                        .unwrap_or_default();
                    set_attr(&block, CONFIRMATION_ATTRIBUTE, &id);
                    for selector in [".kelisim-form-code", "[data-kelisim-sms=confirm]"] {
                        if let Some(element) = find(&block, selector) {
                            set_hidden(&element, false);
                        }
                    }
                    let masked = kelisim::browser::property(&answer, "phone")
                        .as_string()
                        .unwrap_or_default();
                    say_status(
                        &block,
                        &fill(texts.sms_sent(), "phone", &masked),
                        Some(".kelisim-form-code input"),
                    );
                }),
            );
            return;
        }
        // "confirm"
        let id = block
            .get_attribute(CONFIRMATION_ATTRIBUTE)
            .unwrap_or_default();
        let code = find(block, ".kelisim-form-code input")
            .map(|input| input.unchecked_into::<HtmlInputElement>().value())
            .unwrap_or_default();
        // Digits only, and the number in its normal form: nothing to escape.
        let code: String = code.chars().filter(char::is_ascii_digit).collect();
        let phone = kelisim_core::phone::normalize_kz_mobile(&phone_text).unwrap_or_default();
        let request = ["{\"code\":\"", &code, "\",\"phone\":\"", &phone, "\"}"].concat();
        let (granted, _) = purposes_ticked(block);
        send_confirmation(
            &[&base, "/", &id].concat(),
            request,
            (block, &config, language),
            (Confirmation::Sms, Some(".kelisim-form-code input")),
            granted,
            |block, texts, _| {
                for selector in [".kelisim-form-code", "[data-kelisim-sms=confirm]"] {
                    if let Some(element) = find(block, selector) {
                        set_hidden(&element, true);
                    }
                }
                say_status(block, texts.sms_confirmed(), None);
            },
        );
    })
}

/// The signing step under the purposes: "sign with ЭЦҚ/ЭЦП", the document signed (shown once
/// the server has written it), and the status line.
fn render_eds_step(block: &Element, config: &Config, language: Language) {
    let texts = config.texts(language);
    let step = append(block, "div", "kelisim-form-eds");
    let button = append_text(&step, "button", "", texts.eds_sign());
    set_attr(&button, "type", "button");
    set_attr(&button, "data-kelisim-eds", "sign");
    let details = append(&step, "details", "");
    set_hidden(&details, true);
    append_text(&details, "summary", "", texts.eds_document());
    append(&details, "pre", "");
    let status = append(&step, "p", "kelisim-form-status");
    set_attr(&status, "role", "status");
}

/// The signing step: the server writes the document, NCALayer signs it, the server checks
/// the signature and stores the receipt.
fn eds_listener(
    block: &Element,
    config: &Rc<Config>,
    set: String,
    language: Language,
    consent_id: Option<String>,
) -> EventListener {
    let config = Rc::clone(config);
    let block_for_click = block.clone();
    EventListener::new(block, "click", move |event| {
        let on_sign = kelisim::browser::event_element(event)
            .and_then(|target| closest(&target, "[data-kelisim-eds]"))
            .is_some();
        let block = &block_for_click;
        if !on_sign || !required_given(block) {
            return;
        }
        let Some(base) = kelisim::receipts::endpoint_beside_receipts(&config, "signatures") else {
            return;
        };
        // The IIN the form collects, when it marks that field: the signer must be that person.
        let iin = closest(block, "form")
            .and_then(|form| find(&form, "[data-kelisim-iin]"))
            .map(|input| input.unchecked_into::<HtmlInputElement>().value())
            .filter(|iin| iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()))
            .unwrap_or_default();
        let (granted, denied) = purposes_ticked(block);
        let request: String = [
            choice_json(
                &config,
                &set,
                language,
                &granted,
                &denied,
                consent_id.as_deref(),
            )
            .as_str(),
            if iin.is_empty() { "" } else { ",\"iin\":\"" },
            &iin,
            if iin.is_empty() { "}" } else { "\"}" },
        ]
        .concat();
        let block = block.clone();
        let config = Rc::clone(&config);
        let url = base.clone();
        post_json(
            &url,
            request,
            Box::new(move |status, answer| {
                let texts = config.texts(language);
                if status != 201 {
                    say_status(&block, refusal(texts, &answer, Confirmation::Eds), None);
                    return;
                }
                let text_of = |key: &str| {
                    kelisim::browser::property(&answer, key)
                        .as_string()
                        .unwrap_or_default()
                };
                if let Some(details) = find(&block, ".kelisim-form-eds details") {
                    if let Some(pre) = find(&details, "pre") {
                        pre.set_text_content(Some(&text_of("document")));
                    }
                    set_hidden(&details, false);
                }
                let id = text_of("signature_id");
                let done = kelisim::browser::once(move |answer| {
                    let answer = js_sys::Array::from(&answer);
                    let outcome = answer.get_unchecked(0).as_string().unwrap_or_default();
                    let value = answer.get_unchecked(1).as_string().unwrap_or_default();
                    let texts = config.texts(language);
                    match outcome.as_str() {
                        "ok" => {}
                        "cancelled" => return say_status(&block, texts.eds_cancelled(), None),
                        "not_running" => {
                            // The page's developer may be the one to fix it.
                            kelisim::browser::console_warn(
                                "kelisim: NCALayer did not answer on wss://127.0.0.1:13579: it is not running, or the page's Content-Security-Policy lacks connect-src wss://127.0.0.1:13579",
                            );
                            return say_status(&block, texts.eds_not_running(), None);
                        }
                        _ => {
                            kelisim::browser::console_warn(&["NCALayer: ", &value].concat());
                            return say_status(&block, texts.eds_failed(), None);
                        }
                    }
                    let body = ["{\"cms\":\"", &value, "\"}"].concat();
                    send_confirmation(
                        &[&base, "/", &id].concat(),
                        body,
                        (&block, &config, language),
                        (Confirmation::Eds, None),
                        granted,
                        |block, texts, receipt| {
                            let signer = kelisim::browser::property(
                                &kelisim::browser::property(receipt, "eds"),
                                "signer_name",
                            )
                            .as_string()
                            .unwrap_or_default();
                            say_status(block, &fill(texts.eds_signed(), "name", &signer), None);
                        },
                    );
                });
                kelisim::helpers::ncalayer_sign(
                    &text_of("document_base64"),
                    language.code(),
                    &iin,
                    &done,
                );
            }),
        );
    })
}

/// Sends the last step of a confirmation to `url` (the code, or the signature) and settles
/// `block`: a refusal is said in its status line (focus on `focus_on`); a stored receipt marks
/// the block confirmed for `granted`, then `stored` adds what its kind says.
fn send_confirmation(
    url: &str,
    body: String,
    (block, config, language): (&Element, &Rc<Config>, Language),
    (kind, focus_on): (Confirmation, Option<&'static str>),
    granted: Vec<String>,
    stored: impl FnOnce(&Element, &kelisim_core::texts::Texts, &JsValue) + 'static,
) {
    let block = block.clone();
    let config = Rc::clone(config);
    post_json(
        url,
        body,
        Box::new(move |status, answer| {
            let texts = config.texts(language);
            if status != 201 {
                return say_status(&block, refusal(texts, &answer, kind), focus_on);
            }
            let receipt = kelisim::browser::property(&answer, "receipt");
            confirmed(&block, &receipt, &granted);
            stored(&block, texts, &receipt);
        }),
    );
}

/// Marks the block confirmed for `granted` and puts the stored receipt's id in the hidden
/// field the store's backend reads.
fn confirmed(block: &Element, receipt: &JsValue, granted: &[String]) {
    let receipt_id = kelisim::browser::property(receipt, "receipt_id")
        .as_string()
        .unwrap_or_default();
    if let Some(field) = find(block, &["input[name=", RECEIPT_FIELD, "]"].concat()) {
        set_attr(&field, "value", &receipt_id);
    }
    set_attr(block, CONFIRMED_ATTRIBUTE, &granted.join(","));
}

/// The visitor's choice as the start of a JSON request (without its closing brace): site,
/// form, language, the compiled config, the purposes, the consent id and the page. Written as
/// text directly: every value is an id, a hex hash, a UUID or a URL path (which
/// percent-encodes quotes and backslashes), so none needs escaping.
fn choice_json(
    config: &Config,
    set: &str,
    language: Language,
    granted: &[String],
    denied: &[String],
    consent_id: Option<&str>,
) -> String {
    let list = |ids: &[String]| {
        if ids.is_empty() {
            "[]".to_owned()
        } else {
            ["[\"", &ids.join("\",\""), "\"]"].concat()
        }
    };
    let consent = consent_id.map_or_else(|| "null".to_owned(), |id| ["\"", id, "\""].concat());
    [
        "{\"site\":\"",
        &config.site,
        "\",\"form\":\"",
        set,
        "\",\"language\":\"",
        language.code(),
        "\",\"config_id\":\"",
        &config.resolved().config_id,
        "\",\"granted_purposes\":",
        &list(granted),
        ",\"denied_purposes\":",
        &list(denied),
        ",\"consent_id\":",
        &consent,
        ",\"page_url\":\"",
        &kelisim::browser::page_origin(),
        &kelisim::browser::page_path(),
        "\"",
    ]
    .concat()
}

/// The visitor's words for a refused step, from the server's `reason` (the gateway's
/// trouble when the answer has none: no answer, a proxy's page).
fn refusal<'a>(
    texts: &'a kelisim_core::texts::Texts,
    answer: &JsValue,
    kind: Confirmation,
) -> &'a str {
    kelisim::browser::property(answer, "reason")
        .as_string()
        .and_then(|reason| Refusal::parse(&reason))
        .unwrap_or(Refusal::GatewayUnavailable)
        .text(texts, kind)
}

/// POSTs `body` (JSON text) to `url`; `settled(status, answer)` gets the status (0 without an
/// answer) and the answer parsed (`undefined` when it is not JSON).
fn post_json(url: &str, body: String, settled: Box<dyn FnOnce(u16, JsValue)>) {
    let done = kelisim::browser::once(move |answer| {
        let answer = js_sys::Array::from(&answer);
        let status = answer.get_unchecked(0).as_f64().unwrap_or(0.0) as u16;
        let parsed = answer
            .get_unchecked(1)
            .as_string()
            .and_then(|text| js_sys::JSON::parse(&text).ok())
            .unwrap_or(JsValue::UNDEFINED);
        settled(status, parsed);
    });
    kelisim::helpers::post_text(url, &body, &done);
}

fn checkboxes(block: &Element) -> Vec<HtmlInputElement> {
    inputs(block, &["input[name=", PURPOSES_FIELD, "]"].concat())
}

/// The block as the compiler wrote it (`kelisim_core::layers::form_block`), its ids numbered
/// after this block so two blocks on one page keep theirs apart. An empty `div` when the tree
/// is not one a block may have (the reader refused such a config before it got here).
fn render(tree: &JsValue, number: u32) -> Element {
    let block = build(tree);
    let numbered = [FORM_ID_PREFIX, &decimal(number.into()), "-"].concat();
    let mut elements =
        kelisim::browser::nodes_of(block.query_selector_all("[id],[aria-describedby]"));
    elements.push(block.clone());
    for element in &elements {
        for attribute in ["id", "aria-describedby"] {
            let value = element.get_attribute(attribute);
            if let Some(id) = value
                .as_deref()
                .and_then(|value| value.strip_prefix(FORM_ID_PREFIX))
            {
                set_attr(element, attribute, &[numbered.as_str(), id].concat());
            }
        }
    }
    block
}
