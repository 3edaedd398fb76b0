//! Consent in forms (sign-up, checkout, loyalty): `kelisim.formConsent(form, {set})` and
//! `<form data-kelisim-form="<set>">` add, in the visitor's language, one unticked checkbox per
//! purpose of the config's purpose set (the required one blocks submission with an accessible
//! error), a "details" view with every Law 94-V Art. 8 p.4 item, and a hidden
//! `kelisim_receipt_id` field. On submit a `form` receipt records the purposes granted and
//! refused (never a form value), and the store's backend links its record to that receipt id.
//!
//! A `FormHandle` owns the inserted nodes and the submit listener; dropping it removes both.

use crate::browser::{random_uuid, root};
use crate::receipts::{record_form, FormConsent};
use crate::ui::dom::{
    append, append_node, append_text, element, facts, find, focus, inputs, insert_before,
    next_number, remove_attr, set_attr, set_hidden,
};
use gloo_events::{EventListener, EventListenerOptions, EventListenerPhase};
use kelisim_core::config::Form;
use kelisim_core::strings::{concat, decimal, join};
use kelisim_core::texts::fill;
use kelisim_core::{Config, Language};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlFormElement, HtmlInputElement};

/// Marks a form kelisim already handles.
const ATTACHED_ATTRIBUTE: &str = "data-kelisim-form-attached";
/// The hidden field the store's backend reads.
pub const RECEIPT_FIELD: &str = "kelisim_receipt_id";
/// The checkboxes' name: the granted purposes reach the backend too.
pub const PURPOSES_FIELD: &str = "kelisim_purposes";

/// The consent block of one form and its submit listener.
pub struct FormHandle {
    block: Element,
    form: HtmlFormElement,
    _submit: EventListener,
}

impl Drop for FormHandle {
    fn drop(&mut self) {
        self.block.remove();
        remove_attr(&self.form, ATTACHED_ATTRIBUTE);
    }
}

/// Adds the consent block for purpose set `set` to `form`. `consent_id` is the browser's
/// consent id when it has one (so the form consent joins its history).
pub fn attach(
    config: &Rc<Config>,
    form: HtmlFormElement,
    set: &str,
    language: Language,
    consent_id: Option<String>,
) -> Result<FormHandle, String> {
    let Some(purpose_set) = config.form(set) else {
        let mut known: Vec<&str> = Vec::new();
        for form in &config.forms {
            known.push(&form.id);
        }
        return Err(concat(&[
            "formConsent: `",
            set,
            "` is not a purpose set of the config (forms: ",
            &join(&known, ", "),
            ")",
        ]));
    };
    if form.has_attribute(ATTACHED_ATTRIBUTE) {
        return Err("formConsent: this form already has a consent block".into());
    }
    let number = next_number();
    let block = render(config, purpose_set, language, number);
    // Before the submit button, so the person reads it before sending; at the end otherwise.
    let submit = find(&form, "[type=submit], button:not([type])");
    match &submit {
        Some(button) => insert_before(button, &block),
        None => append_node(&form, &block),
    }
    set_attr(&form, ATTACHED_ATTRIBUTE, set);

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
        let boxes = checkboxes(&block_for_submit);
        let missing = boxes
            .iter()
            .find(|input| input.has_attribute("data-kelisim-required") && !input.checked());
        let error = find(&block_for_submit, ".kelisim-form-error");
        if let Some(missing) = missing {
            event.prevent_default();
            event.stop_immediate_propagation();
            set_attr(missing, "aria-invalid", "true");
            if let Some(error) = &error {
                set_hidden(error, false);
            }
            focus(missing);
            return;
        }
        if let Some(error) = &error {
            set_hidden(error, true);
        }
        for input in &boxes {
            remove_attr(input, "aria-invalid");
        }
        let Some(purpose_set) = config.form(&set) else {
            return;
        };
        let mut granted: Vec<String> = Vec::new();
        let mut denied: Vec<String> = Vec::new();
        for input in &boxes {
            let purposes = if input.checked() {
                &mut granted
            } else {
                &mut denied
            };
            // Our checkbox: its value is the `value` attribute set when it was made.
            purposes.push(input.get_attribute("value").unwrap_or_default());
        }
        // Without a receipts endpoint no receipt exists, so the backend gets no id to keep.
        if config.endpoint.is_none() {
            return;
        }
        let receipt_id = random_uuid();
        if let Some(field) = find(
            &block_for_submit,
            &concat(&["input[name=", RECEIPT_FIELD, "]"]),
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
    Ok(FormHandle {
        block,
        form,
        _submit: submit_listener,
    })
}

/// Forms marked `data-kelisim-form` that are not handled yet.
pub fn declared_forms() -> Vec<(HtmlFormElement, String)> {
    let mut forms = Vec::new();
    for form in crate::browser::nodes_of(root().query_selector_all(&concat(&[
        "form[data-kelisim-form]:not([",
        ATTACHED_ATTRIBUTE,
        "])",
    ]))) {
        if let Some(set) = form.get_attribute("data-kelisim-form") {
            forms.push((form.unchecked_into(), set));
        }
    }
    forms
}

fn checkboxes(block: &Element) -> Vec<HtmlInputElement> {
    inputs(block, &concat(&["input[name=", PURPOSES_FIELD, "]"]))
}

fn render(config: &Config, form: &Form, language: Language, number: u32) -> Element {
    let texts = config.texts(language);
    let block = element("div", "kelisim-form-consent");
    set_attr(&block, "role", "group");
    set_attr(&block, "lang", language.code());
    let number = decimal(number.into());
    let statement_id = concat(&["kelisim-form-", &number, "-operator"]);
    set_attr(&block, "aria-describedby", &statement_id);
    let operator_line = config.operator_line(language, false);
    set_attr(
        &append_text(&block, "p", "kelisim-form-operator", &operator_line),
        "id",
        &statement_id,
    );

    let error_id = concat(&["kelisim-form-", &number, "-error"]);
    for purpose in &form.purposes {
        let label = append(&block, "label", "kelisim-form-purpose");
        let input = append(&label, "input", "");
        set_attr(&input, "type", "checkbox");
        set_attr(&input, "name", PURPOSES_FIELD);
        set_attr(&input, "value", &purpose.id);
        if purpose.required {
            set_attr(&input, "data-kelisim-required", "");
            set_attr(&input, "aria-required", "true");
            set_attr(&input, "aria-describedby", &error_id);
        }
        let title = purpose.title.get(language).map_or("", String::as_str);
        append_text(
            &label,
            "span",
            "",
            &concat(&[" ", &fill(texts.form_consent(), "purpose", title)]),
        );
        if purpose.required {
            let error = append_text(
                &block,
                "p",
                "kelisim-form-error",
                texts.form_required_error(),
            );
            set_attr(&error, "id", &error_id);
            set_attr(&error, "role", "alert");
            set_hidden(&error, true);
        }
    }

    let details = append(&block, "details", "kelisim-form-details");
    append_text(&details, "summary", "", texts.form_details());
    for purpose in &form.purposes {
        let data = config.data_names(&purpose.data);
        let mut abroad: Vec<&str> = Vec::new();
        for country in &purpose.countries {
            if country != "KZ" {
                abroad.push(config.country_name(country));
            }
        }
        let recipients = if purpose.recipients.is_empty() {
            texts.no().to_owned()
        } else {
            join(&purpose.recipients, "; ")
        };
        let cross_border = if abroad.is_empty() {
            texts.no().to_owned()
        } else {
            join(&abroad, ", ")
        };
        let title = purpose.title.get(language).map_or("", String::as_str);
        let publication = if purpose.publication {
            texts.yes()
        } else {
            texts.no()
        };
        facts(
            &details,
            &[
                (texts.purpose_label(), title),
                (texts.data_label(), &data),
                (
                    texts.term_label(),
                    &config.resolved().days(purpose.term_days),
                ),
                (texts.recipients_label(), &recipients),
                (texts.cross_border_badge(), &cross_border),
                (texts.publication_label(), publication),
            ],
        );
    }
    append_text(&details, "p", "", &config.operator_line(language, true));
    crate::ui::dom::policy_link(&details, config, language);
    // Withdrawing must be as easy as consenting: said under the boxes, not inside the details.
    append_text(
        &block,
        "p",
        "kelisim-form-withdrawal",
        &fill(texts.form_withdrawal(), "email", &config.operator.email),
    );

    let hidden = append(&block, "input", "");
    set_attr(&hidden, "type", "hidden");
    set_attr(&hidden, "name", RECEIPT_FIELD);
    block
}
