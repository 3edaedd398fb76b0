//! The forms module (`pkg/kelisim_forms.js` and its wasm): consent blocks in forms, with their
//! SMS and signing steps (`block`). The runtime finds the forms and checks the purpose set
//! (`kelisim::forms`); the loader imports this module the first time the runtime hands one
//! over, so a page without forms never loads it. Its one export, [`command`], takes what the
//! runtime sends: `attach` (the compiled config, the form, the purpose set, the language, the
//! consent id) and `destroy`.

mod block;

use kelisim::browser::console_error;
use kelisim_core::strings::concat;
use kelisim_core::Language;
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

pub use block::{PURPOSES_FIELD, RECEIPT_FIELD};

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
        "attach" => attach(
            &arg(0),
            arg(1),
            &arg(2).as_string().unwrap_or_default(),
            &arg(3).as_string().unwrap_or_default(),
            arg(4).as_string(),
        ),
        "destroy" => BLOCKS.with_borrow_mut(Vec::clear),
        _ => console_error(&concat(&["the forms module has no command `", name, "`"])),
    }
}

/// Adds the consent block of purpose set `set` to `form`, in `language`.
fn attach(
    compiled: &JsValue,
    form: JsValue,
    set: &str,
    language: &str,
    consent_id: Option<String>,
) {
    let config = match kelisim::boundary::config_with_forms_from_js(compiled) {
        Ok(config) => Rc::new(config),
        Err(error) => return console_error(&error.describe()),
    };
    let language = language
        .parse::<Language>()
        .unwrap_or(config.default_language);
    // The runtime checked that it is a <form> (`kelisim.formConsent`, `form[data-kelisim-form]`).
    let form: web_sys::HtmlFormElement = form.unchecked_into();
    if !STYLED.replace(true) {
        kelisim::ui::add_stylesheet(STYLESHEET, "kelisim-forms-style");
    }
    match block::attach(&config, form, set, language, consent_id) {
        Some(handle) => BLOCKS.with_borrow_mut(|blocks| blocks.push(handle)),
        None => console_error(&concat(&["formConsent: no purpose set `", set, "`"])),
    }
}

/// [`command`] as a JS function: what the runtime's `forms` init option takes. For pages and
/// tests that link both into one module instead of letting the loader import this one.
pub fn hook() -> js_sys::Function {
    Closure::<dyn Fn(String, js_sys::Array)>::new(|name: String, args| command(&name, args))
        .into_js_value()
        .unchecked_into()
}
