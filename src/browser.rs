//! Small, checked accessors for the browser environment: window, document, clock, randomness,
//! console. Everything else in the SDK goes through these rather than unwrapping on its own.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlDocument, NodeList, Window};

#[wasm_bindgen]
extern "C" {
    /// The page's `window`, bound directly: `web_sys::window()` finds the global object by
    /// trying `globalThis`, `self`, `window` and `global` and then checks it is a `Window`,
    /// five imports for what kelisim (which runs in pages only) knows already.
    #[wasm_bindgen(thread_local_v2, js_name = window)]
    static WINDOW: Window;
}

/// The window, borrowed for the whole page life: a reference to one leaked handle instead of
/// a new handle (and its release) at each of the two dozen places that use it.
pub fn window() -> &'static Window {
    thread_local! {
        static LEAKED: &'static Window = Box::leak(Box::new(WINDOW.with(Window::clone)));
    }
    LEAKED.with(|window| *window)
}

/// The document, lent for the whole page life like the window.
pub fn document() -> &'static Document {
    thread_local! {
        static LEAKED: &'static Document =
            Box::leak(Box::new(window().document().expect("the window has a document")));
    }
    LEAKED.with(|document| *document)
}

/// The `<html>` element.
pub fn root() -> Element {
    document()
        .document_element()
        .expect("the document has a root element")
}

/// `object[key] = value`. Setting a property of a plain object kelisim made cannot fail.
pub fn set_property(object: &JsValue, key: &str, value: &JsValue) {
    let _ = js_sys::Reflect::set(object, &JsValue::from_str(key), value);
}

/// Sets each `(key, value)` of `fields` on `object`, in order (event details, dataLayer
/// entries).
pub fn set_properties(object: &JsValue, fields: &[(&str, JsValue)]) {
    for (key, value) in fields {
        set_property(object, key, value);
    }
}

/// A JS function that runs `callback` once with its first argument, then frees it: every
/// one-shot callback of the SDK (timers, script loads, receipt requests).
pub fn once(callback: impl FnOnce(JsValue) + 'static) -> JsValue {
    Closure::once_into_js(callback)
}

/// The document as an `HtmlDocument`, for `document.cookie`.
pub fn html_document() -> &'static HtmlDocument {
    document().unchecked_ref()
}

/// Unix time `seconds` as an ISO 8601 string (`2026-11-22T08:00:00.000Z`), as JSON dates go.
pub fn iso_time(seconds: u64) -> JsValue {
    js_sys::Date::new(&JsValue::from_f64(seconds as f64 * 1000.0))
        .to_iso_string()
        .into()
}

/// Unix time in seconds.
pub fn now_seconds() -> u64 {
    (js_sys::Date::now() / 1000.0) as u64
}

/// A random version-4 UUID from `crypto.getRandomValues` (a consent id must not be guessable).
/// Every browser that runs WebAssembly has it, in insecure contexts too.
pub fn random_uuid() -> String {
    let mut bytes = [0u8; 16];
    fill_random(&mut bytes);
    kelisim_core::ids::uuid_v4(bytes)
}

/// A random number in [0, 1) from `crypto.getRandomValues` (the one source of randomness the
/// module imports; picks a banner variant).
pub fn random_fraction() -> f64 {
    let mut bytes = [0u8; 4];
    fill_random(&mut bytes);
    f64::from(u32::from_le_bytes(bytes)) / 4_294_967_296.0
}

/// Fills `bytes` from `crypto.getRandomValues` (never fails for a buffer this small).
fn fill_random(bytes: &mut [u8]) {
    window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(bytes))
        .expect("crypto.getRandomValues fills a small buffer");
}

/// Runs `callback` (a JS function) once after `delay_ms` milliseconds.
pub fn schedule(delay_ms: i32, callback: &JsValue) {
    let _ = window()
        .set_timeout_with_callback_and_timeout_and_arguments_0(callback.unchecked_ref(), delay_ms);
}

/// Dispatches `CustomEvent(name, {detail})` on the window.
pub fn dispatch_custom_event(name: &str, detail: &JsValue) {
    let init = web_sys::CustomEventInit::new();
    init.set_detail(detail);
    let event = web_sys::CustomEvent::new_with_event_init_dict(name, &init)
        .expect("a CustomEvent takes any name");
    let _ = window().dispatch_event(&event);
}

/// The page's origin (`https://shop.kz`).
pub fn page_origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// The page's host name, without the port.
pub fn page_hostname() -> String {
    window().location().hostname().unwrap_or_default()
}

/// The page's path, without the query string.
pub fn page_path() -> String {
    window().location().pathname().unwrap_or_default()
}

pub fn console_error(message: &str) {
    web_sys::console::error_1(&JsValue::from_str(&["kelisim: ", message].concat()));
}

pub fn console_warn(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(&["kelisim: ", message].concat()));
}

/// `object[key]`, or `undefined` when reading it throws (a getter, a revoked proxy).
pub fn property(object: &JsValue, key: &str) -> JsValue {
    js_sys::Reflect::get(object, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

/// A property of `window` (e.g. `gtag`, `dataLayer`), or `undefined`.
pub fn window_property(name: &str) -> JsValue {
    property(window(), name)
}

/// `navigator.webdriver`: true in automated browsers (used only when `ui.hide_from_bots`).
pub fn is_automated_browser() -> bool {
    property(&window().navigator(), "webdriver").as_bool() == Some(true)
}

/// `navigator.languages` as strings.
pub fn navigator_languages() -> Vec<String> {
    let mut languages = Vec::new();
    for value in window().navigator().languages().iter() {
        if let Some(language) = value.as_string() {
            languages.push(language);
        }
    }
    languages
}

/// The elements of a `querySelectorAll` result, in document order (an invalid selector gives
/// none); a caller whose selector names the tag casts.
pub fn nodes_of(list: Result<NodeList, JsValue>) -> Vec<Element> {
    let mut elements = Vec::new();
    if let Ok(list) = list {
        for index in 0..list.length() {
            // querySelectorAll matches elements only.
            if let Some(node) = list.item(index) {
                elements.push(node.unchecked_into());
            }
        }
    }
    elements
}

/// `text` as a JS string, or `null` (optional receipt and consent fields).
pub fn text_or_null(text: Option<&str>) -> JsValue {
    match text {
        Some(text) => JsValue::from_str(text),
        None => JsValue::NULL,
    }
}

/// The element an event happened on, if its target is an element.
pub fn event_element(event: &web_sys::Event) -> Option<web_sys::Element> {
    event.target()?.dyn_into::<web_sys::Element>().ok()
}
