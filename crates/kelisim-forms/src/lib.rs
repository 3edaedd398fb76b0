//! The forms module (`pkg/kelisim_forms.js` and its wasm): consent blocks in forms, with their
//! SMS and signing steps (`block`). The loader finds the forms (`data-kelisim-form`,
//! `kelisim.formConsent`), checks the purpose set and imports this module the first time it
//! has a form for it, so a page without forms never loads it. Its one export, [`command`],
//! takes what the loader sends: `attach` (the compiled config the runtime runs on, in the
//! visitor's language, the form and the purpose set) and `destroy`.

mod block;

use kelisim::browser::console_error;
use kelisim_core::compiled::form_block_of;
use kelisim_core::{decode_cookie, COOKIE_NAME};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub use block::{ATTACHED_ATTRIBUTE, PURPOSES_FIELD, RECEIPT_FIELD};

/// The forms' stylesheet, minified by the build script.
const STYLESHEET: &str = include_str!(concat!(env!("OUT_DIR"), "/forms.min.css"));

thread_local! {
    /// The consent blocks added, each owning its nodes and listeners.
    static BLOCKS: RefCell<Vec<block::FormHandle>> = const { RefCell::new(Vec::new()) };
    /// Whether the stylesheet is on the page (added with the first block, kept after).
    static STYLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs the runtime's command `name` with `args` (see the module's documentation).
#[wasm_bindgen]
pub fn command(name: &str, args: js_sys::Array) {
    let arg = |index| args.get_unchecked(index);
    match name {
        "attach" => attach(&arg(0), arg(1), &arg(2).as_string().unwrap_or_default()),
        "destroy" => BLOCKS.with_borrow_mut(Vec::clear),
        _ => console_error(&["the forms module has no command `", name, "`"].concat()),
    }
}

/// Adds the consent block of purpose set `set` to `form`, in the language of `compiled`. The
/// form consent joins the browser's consent history: its consent id is the `kelisim`
/// cookie's, when there is one (also a choice outdated since, as the runtime keeps it).
fn attach(compiled: &JsValue, form: JsValue, set: &str) {
    // The loader checked that it is a <form> (`kelisim.formConsent`, `form[data-kelisim-form]`).
    let form: web_sys::HtmlFormElement = form.unchecked_into();
    // Without a block the form is not handled after all: a later `formConsent` may try again.
    let refuse = |message: &str| {
        kelisim::dom::remove_attr(&form, ATTACHED_ATTRIBUTE);
        console_error(message);
    };
    let read = kelisim::boundary::compiled_object(compiled).and_then(|compiled| {
        let config = kelisim::boundary::config_with_forms_from_js(&compiled)?;
        Ok((config, compiled))
    });
    let (config, compiled) = match read {
        Ok((config, compiled)) => (Rc::new(config), compiled),
        Err(error) => return refuse(&error.describe()),
    };
    // Checked with the rest of the forms by the reader.
    let tree = form_block_of(&kelisim::boundary::Js(compiled), set)
        .map(|tree| tree.0)
        .unwrap_or_default();
    let language = config
        .resolved
        .as_ref()
        .and_then(|resolved| resolved.language)
        .unwrap_or(config.default_language);
    let consent_id = kelisim::storage::read_cookie(COOKIE_NAME)
        .and_then(|value| decode_cookie(&value).ok())
        .map(|consent| consent.consent_id);
    if !STYLED.replace(true) {
        kelisim::ui::add_stylesheet(STYLESHEET, "kelisim-forms-style");
    }
    match block::attach(&config, form.clone(), set, language, consent_id, &tree) {
        Some(handle) => BLOCKS.with_borrow_mut(|blocks| blocks.push(handle)),
        None => refuse(&["formConsent: no purpose set `", set, "`"].concat()),
    }
}
