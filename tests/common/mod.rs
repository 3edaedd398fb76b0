//! Helpers shared by the browser tests: a clean page between tests, the demo config, DOM
//! queries and clicks, and waiting for the SDK's asynchronous work (microtasks, script loads).

#![allow(dead_code)]

use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Element, HtmlElement, HtmlInputElement};

pub fn document() -> web_sys::Document {
    web_sys::window().unwrap().document().unwrap()
}

/// The demo store's config as a JS object, optionally edited.
pub fn demo_config() -> JsValue {
    js_sys::JSON::parse(include_str!("../../www/kelisim.json")).unwrap()
}

/// The demo store's config compiled for `language`, whole: as the loader hands it to `init`
/// for a raw config, and as it lays a served one over with its documents apart.
pub fn compiled_config(language: &str) -> JsValue {
    js_sys::JSON::parse(&demo_compiled(language).to_whole_browser_json()).unwrap()
}

/// The demo store's config compiled for `language` as kelisim-server and `config build`
/// serve it: the preferences dialog and the forms apart.
pub fn served_config(language: &str) -> JsValue {
    js_sys::JSON::parse(&demo_compiled(language).to_browser_json()).unwrap()
}

/// [`served_config`] laid over with its preferences document, as the loader does when the
/// visitor opens the preferences (the demo has no banner variants).
pub fn served_config_with_preferences(language: &str) -> JsValue {
    let config = served_config(language);
    let document =
        js_sys::JSON::parse(&demo_compiled(language).to_preferences_json().unwrap()).unwrap();
    let get = |object: &JsValue, key: &str| js_sys::Reflect::get(object, &key.into()).unwrap();
    js_sys::Reflect::delete_property(
        config.unchecked_ref::<js_sys::Object>(),
        &"preferences_href".into(),
    )
    .unwrap();
    set(&config, &["preferences_style"], get(&document, "style"));
    set(
        &config,
        &["layers", "preferences"],
        get(&document, "preferences"),
    );
    config
}

fn demo_compiled(language: &str) -> kelisim_core::compile::CompiledConfig {
    kelisim_core::compile::compile_text(include_str!("../../www/kelisim.json"))
        .unwrap()
        .into_iter()
        .find(|config| config.language == language)
        .unwrap()
}

/// The `config_id` of the demo's compiled config in `language`.
pub fn compiled_config_id(language: &str) -> String {
    let config = compiled_config(language);
    js_sys::Reflect::get(&config, &"config_id".into())
        .unwrap()
        .as_string()
        .unwrap()
}

pub fn set(object: &JsValue, path: &[&str], value: JsValue) {
    let mut target = object.clone();
    for key in &path[..path.len() - 1] {
        target = js_sys::Reflect::get(&target, &JsValue::from_str(key)).unwrap();
    }
    js_sys::Reflect::set(&target, &JsValue::from_str(path[path.len() - 1]), &value).unwrap();
}

/// Stops the SDK and removes every trace of earlier tests: cookies, storage, fixtures.
pub fn reset(html_lang: &str) {
    kelisim::destroy();
    let html = document().document_element().unwrap();
    html.set_attribute("lang", html_lang).unwrap();
    let cookies: web_sys::HtmlDocument = document().unchecked_into();
    for pair in cookies.cookie().unwrap().split(';') {
        if let Some(name) = pair.trim().split('=').next().filter(|n| !n.is_empty()) {
            cookies
                .set_cookie(&format!("{name}=; Path=/; Max-Age=0"))
                .unwrap();
        }
    }
    web_sys::window()
        .unwrap()
        .local_storage()
        .unwrap()
        .unwrap()
        .clear()
        .unwrap();
    if let Some(fixture) = document().get_element_by_id("fixture") {
        fixture.remove();
    }
    if let Some(root) = document().get_element_by_id("kelisim") {
        root.remove();
    }
    let _ = js_sys::Reflect::set(
        &web_sys::window().unwrap(),
        &"testLog".into(),
        &js_sys::Array::new(),
    );
}

/// Adds markup (gated tags, links) to the page inside `#fixture`. Scripts inserted through
/// innerHTML do not run, exactly like `type="text/plain"` ones, so the SDK must activate them.
pub fn fixture(html: &str) -> Element {
    let fixture = document().create_element("div").unwrap();
    fixture.set_id("fixture");
    fixture.set_inner_html(html);
    document().body().unwrap().append_child(&fixture).unwrap();
    fixture
}

/// Starts the SDK as the loader does: a compiled config as it is; a raw one (a config object
/// without `format`) compiled first, here with the same compiler the loader's compiler module
/// runs, and started in the language the loader guesses, with the others behind `configFor`.
/// `false` when the raw config does not compile.
pub fn init(config: &JsValue) -> bool {
    init_with(config, js_sys::Object::new().into())
}

/// [`init`] with the loader's other options (`consentModeDefaults`).
pub fn init_with(config: &JsValue, options: JsValue) -> bool {
    let is_object = config.is_object() && !config.is_null();
    let raw = is_object && !js_sys::Reflect::has(config, &"format".into()).unwrap_or(false);
    if !raw {
        set_running(config);
        return kelisim::init(config.clone(), options);
    }
    let text = js_sys::JSON::stringify(config)
        .unwrap()
        .as_string()
        .unwrap();
    let Ok(compiled) = kelisim_core::compile::compile_text(&text) else {
        return false;
    };
    let configs = js_sys::Object::new();
    for language in kelisim_core::compile::SERVED_LANGUAGES {
        if let Some(config) = kelisim_core::compile::for_language(&compiled, language) {
            set(
                &configs,
                &[language],
                // As the compiler module gives them to the loader: whole.
                js_sys::JSON::parse(&config.to_whole_browser_json()).unwrap(),
            );
        }
    }
    set(
        &web_sys::window().unwrap().into(),
        &["kelisimTestCompiled"],
        configs.clone().into(),
    );
    let config_for = js_sys::Function::new_with_args(
        "language",
        "return Promise.resolve(window.kelisimTestCompiled[language]);",
    );
    set(&options, &["configFor"], config_for.into());
    let first = js_sys::Reflect::get(&configs, &guess_language().into()).unwrap();
    set_running(&first);
    kelisim::init(first, options)
}

/// Remembers the compiled config [`init`] started the runtime with, as the loader does for
/// the forms module.
fn set_running(config: &JsValue) {
    set(
        &web_sys::window().unwrap().into(),
        &["kelisimTestRunning"],
        config.clone(),
    );
}

/// The compiled config the last [`init`] started the runtime with.
pub fn running_config() -> JsValue {
    js_sys::Reflect::get(&web_sys::window().unwrap(), &"kelisimTestRunning".into()).unwrap()
}

/// The loader's guess of the visitor's language before the config is known: the saved
/// choice, then `<html lang>`, then the browser's languages, else `default`.
fn guess_language() -> String {
    let cookies: web_sys::HtmlDocument = document().unchecked_into();
    let saved = cookies.cookie().unwrap().split("; ").find_map(|pair| {
        let value = pair.strip_prefix("kelisim=")?;
        let language = value.split('.').nth(4)?;
        Some(language.to_owned())
    });
    let html_lang = document().document_element().unwrap().get_attribute("lang");
    let navigator: Vec<String> = web_sys::window()
        .unwrap()
        .navigator()
        .languages()
        .iter()
        .filter_map(|language| language.as_string())
        .collect();
    for candidate in saved.into_iter().chain(html_lang).chain(navigator) {
        let code = candidate.to_lowercase();
        let code = code.split('-').next().unwrap_or_default();
        let code = if code == "kz" { "kk" } else { code };
        if ["kk", "ru", "en"].contains(&code) {
            return code.to_owned();
        }
    }
    "default".to_owned()
}

pub fn query(selector: &str) -> Option<Element> {
    document().query_selector(selector).unwrap()
}

pub fn query_all(selector: &str) -> Vec<Element> {
    let list = document().query_selector_all(selector).unwrap();
    (0..list.length())
        .map(|i| list.item(i).unwrap().unchecked_into())
        .collect()
}

pub fn text(selector: &str) -> String {
    query(selector)
        .unwrap_or_else(|| panic!("no {selector}"))
        .text_content()
        .unwrap_or_default()
}

pub fn click(selector: &str) {
    query(selector)
        .unwrap_or_else(|| panic!("no {selector} to click"))
        .unchecked_into::<HtmlElement>()
        .click();
}

pub fn switch(selector: &str) -> HtmlInputElement {
    query(selector)
        .unwrap_or_else(|| panic!("no switch {selector}"))
        .unchecked_into()
}

/// Toggles a switch as a visitor would (click fires `change`).
pub fn toggle(selector: &str) {
    switch(selector).click();
}

pub fn cookie(name: &str) -> Option<String> {
    let cookies: web_sys::HtmlDocument = document().unchecked_into();
    cookies.cookie().unwrap().split(';').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

pub fn set_cookie(name: &str, value: &str) {
    let cookies: web_sys::HtmlDocument = document().unchecked_into();
    cookies
        .set_cookie(&format!("{name}={value}; Path=/"))
        .unwrap();
}

/// What gated test scripts pushed to `window.testLog`, in order.
pub fn log() -> Vec<String> {
    let log = js_sys::Reflect::get(&web_sys::window().unwrap(), &"testLog".into()).unwrap();
    js_sys::Array::from(&log)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

/// Waits `ms` milliseconds: lets microtasks, mutation observers and script loads finish.
pub async fn wait(ms: i32) {
    let promise = Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms)
            .unwrap();
    });
    JsFuture::from(promise).await.unwrap();
}

pub fn consent_field(field: &str) -> JsValue {
    js_sys::Reflect::get(&kelisim::get_consent(), &JsValue::from_str(field)).unwrap()
}

pub fn strings(value: &JsValue) -> Vec<String> {
    js_sys::Array::from(value)
        .iter()
        .filter_map(|v| v.as_string())
        .collect()
}

pub fn active_element() -> Option<Element> {
    document().active_element()
}

/// A window listener for a CustomEvent, kept alive by the recorder.
type EventListenerClosure = wasm_bindgen::closure::Closure<dyn Fn(web_sys::CustomEvent)>;

/// Records the `kelisim:<event>` CustomEvents of `events` (what the loader's `on` listens
/// to) while it lives: `event:action` for each, `action` from the detail when it has one.
pub struct EventRecorder {
    seen: js_sys::Array,
    listeners: Vec<(String, EventListenerClosure)>,
}

impl EventRecorder {
    pub fn new(events: &[&str]) -> EventRecorder {
        let seen = js_sys::Array::new();
        let mut listeners = Vec::new();
        for &event in events {
            let listener = EventListenerClosure::new({
                let seen = seen.clone();
                let event = event.to_owned();
                move |dispatched: web_sys::CustomEvent| {
                    let action = js_sys::Reflect::get(&dispatched.detail(), &"action".into())
                        .ok()
                        .and_then(|a| a.as_string())
                        .unwrap_or_default();
                    seen.push(&JsValue::from_str(&format!("{event}:{action}")));
                }
            });
            let name = format!("kelisim:{event}");
            web_sys::window()
                .unwrap()
                .add_event_listener_with_callback(&name, listener.as_ref().unchecked_ref())
                .unwrap();
            listeners.push((name, listener));
        }
        EventRecorder { seen, listeners }
    }

    /// What was recorded so far, in order.
    pub fn seen(&self) -> Vec<String> {
        strings(&self.seen)
    }
}

impl Drop for EventRecorder {
    fn drop(&mut self) {
        for (name, listener) in &self.listeners {
            web_sys::window()
                .unwrap()
                .remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref())
                .unwrap();
        }
    }
}

/// Runs `f` with `console.error` recording its first argument; returns what was recorded.
pub fn console_errors(f: impl FnOnce()) -> Vec<String> {
    console_messages("error", f)
}

/// Runs `f` with `console.<level>` recording its first argument; returns what was recorded.
pub fn console_messages(level: &str, f: impl FnOnce()) -> Vec<String> {
    let console = js_sys::Reflect::get(&web_sys::window().unwrap(), &"console".into()).unwrap();
    let original = js_sys::Reflect::get(&console, &level.into()).unwrap();
    let recorder = js_sys::Function::new_with_args(
        "message",
        "(window.testErrors = window.testErrors || []).push(String(message))",
    );
    js_sys::Reflect::set(&console, &level.into(), &recorder).unwrap();
    f();
    js_sys::Reflect::set(&console, &level.into(), &original).unwrap();
    let window = web_sys::window().unwrap();
    let recorded = js_sys::Reflect::get(&window, &"testErrors".into()).unwrap();
    let _ = js_sys::Reflect::delete_property(&window, &"testErrors".into());
    if recorded.is_undefined() {
        return Vec::new();
    }
    strings(&recorded)
}
