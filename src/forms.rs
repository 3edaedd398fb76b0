//! Consent in forms, the runtime's side: finds `<form data-kelisim-form="<set>">` and takes
//! `kelisim.formConsent(form, {set})`, checks the purpose set, marks the form as handled, and
//! hands it to the forms module (`crates/kelisim-forms`, `pkg/kelisim_forms.js`), which renders
//! the consent block, its SMS or signing step, and sends the `form` receipt. The loader imports
//! that module the first time a form is handed over, so pages without forms never load it.

use crate::browser::{nodes_of, root};
use crate::dom::set_attr;
use kelisim_core::strings::{concat, join};
use kelisim_core::Config;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::HtmlFormElement;

/// Marks a form kelisim already handles (set here, removed by the forms module when it lets
/// the form go).
pub const ATTACHED_ATTRIBUTE: &str = "data-kelisim-form-attached";

/// Forms marked `data-kelisim-form` that are not handled yet.
pub fn declared_forms() -> Vec<(HtmlFormElement, String)> {
    let mut forms = Vec::new();
    for form in nodes_of(root().query_selector_all(&concat(&[
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

/// Hands `form` to the forms module through `hook` (the loader's, see
/// [`crate::boundary::InitOptions::forms`]) with everything it needs: the compiled config as the
/// page gave it, the purpose set, the language and the browser's consent id.
pub fn hand_over(
    hook: Option<&js_sys::Function>,
    config: &Config,
    compiled: &JsValue,
    form: &HtmlFormElement,
    set: &str,
    language: &str,
    consent_id: Option<&str>,
) -> Result<(), String> {
    if config.form(set).is_none() {
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
    }
    if form.has_attribute(ATTACHED_ATTRIBUTE) {
        return Err("formConsent: this form already has a consent block".into());
    }
    let Some(hook) = hook else {
        return Err(
            "formConsent: the forms module is loaded by kelisim.js (kelisim_forms.js beside it); this page started kelisim without the loader, so the form gets no consent block"
                .into(),
        );
    };
    set_attr(form, ATTACHED_ATTRIBUTE, set);
    let args = js_sys::Array::of5(
        compiled,
        form,
        &JsValue::from_str(set),
        &JsValue::from_str(language),
        &crate::browser::text_or_null(consent_id),
    );
    let _ = hook.call2(&JsValue::NULL, &JsValue::from_str("attach"), &args);
    Ok(())
}

/// Tells the forms module to remove every consent block it added (`destroy()`).
pub fn release_all(hook: Option<&js_sys::Function>) {
    if let Some(hook) = hook {
        let _ = hook.call2(
            &JsValue::NULL,
            &JsValue::from_str("destroy"),
            &js_sys::Array::new(),
        );
    }
}
