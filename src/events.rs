//! The SDK's events: `on`/`off` listeners, the `kelisim:<event>` CustomEvents on `window`,
//! and the `dataLayer` pushes for Google Tag Manager.
//!
//! Listeners live outside the SDK state because a site may subscribe (through the loader's
//! queue) before `init`. A listener is called with no SDK state borrowed, so it may call back
//! into the API; one that throws is reported and the others still run.

use crate::browser::{console_error, set_property, window, window_property};
use kelisim_core::strings::concat;
use std::cell::RefCell;
use wasm_bindgen::JsValue;

/// The events of the SPEC, in the order a visitor usually meets them (`check_event_name`'s
/// message lists them too).
pub const EVENT_NAMES: [&str; 5] = ["ready", "shown", "consent", "change", "withdraw"];

thread_local! {
    static LISTENERS: RefCell<Vec<(String, js_sys::Function)>> = const { RefCell::new(Vec::new()) };
    /// The last `ready` detail, `None` until `ready` fired: a listener added after `ready` is
    /// called at once with it, so `on("ready", fn)` never misses the event however late it is
    /// registered.
    static READY_DETAIL: RefCell<Option<JsValue>> = const { RefCell::new(None) };
}

/// Subscribes `listener` to `event`; an unknown event name is an error naming the valid ones.
pub fn on(event: &str, listener: js_sys::Function) -> Result<(), String> {
    check_event_name(event)?;
    if event == "ready" {
        if let Some(detail) = READY_DETAIL.with_borrow(Clone::clone) {
            call_listener(event, &listener, &detail);
        }
    }
    LISTENERS.with_borrow_mut(|listeners| listeners.push((event.to_owned(), listener)));
    Ok(())
}

/// Removes a listener added with `on` (the same function object).
pub fn off(event: &str, listener: &js_sys::Function) -> Result<(), String> {
    check_event_name(event)?;
    LISTENERS.with_borrow_mut(|listeners| {
        listeners.retain(|(name, existing)| {
            !(name == event && JsValue::from(existing) == JsValue::from(listener))
        })
    });
    Ok(())
}

/// Calls the listeners of `event`, then dispatches `kelisim:<event>` on `window`.
pub fn emit(event: &str, detail: &JsValue) {
    if event == "ready" {
        READY_DETAIL.with_borrow_mut(|ready| *ready = Some(detail.clone()));
    }
    let mut listeners: Vec<js_sys::Function> = Vec::new();
    LISTENERS.with_borrow(|all| {
        for (name, listener) in all {
            if name == event {
                listeners.push(listener.clone());
            }
        }
    });
    for listener in &listeners {
        call_listener(event, listener, detail);
    }
    crate::browser::dispatch_custom_event(&concat(&["kelisim:", event]), detail);
}

/// Pushes `{event: "kelisim_<event>", ...fields}` to `window.dataLayer`, creating it if needed.
pub fn push_data_layer(event: &str, fields: &[(&str, JsValue)]) {
    let mut data_layer = window_property("dataLayer");
    if !js_sys::Array::is_array(&data_layer) {
        data_layer = js_sys::Array::new().into();
        set_property(window(), "dataLayer", &data_layer);
    }
    let entry = js_sys::Object::new();
    set_property(
        &entry,
        "event",
        &JsValue::from_str(&concat(&["kelisim_", event])),
    );
    crate::browser::set_properties(&entry, fields);
    js_sys::Array::from(&data_layer).push(&entry);
}

/// Forgets every listener and the `ready` state (used by `destroy`).
pub fn reset() {
    LISTENERS.with_borrow_mut(Vec::clear);
    reset_ready();
}

/// Forgets only the `ready` state, keeping listeners (a re-`init` after `destroy`).
pub fn reset_ready() {
    READY_DETAIL.with_borrow_mut(|ready| *ready = None);
}

fn call_listener(event: &str, listener: &js_sys::Function, detail: &JsValue) {
    // `apply` with an argument array: the SDK's one way of calling a page function.
    let arguments = js_sys::Array::new();
    arguments.push(detail);
    if let Err(error) = listener.apply(&JsValue::NULL, &arguments) {
        console_error(&concat(&[
            "a `",
            event,
            "` listener threw: ",
            &describe(&error),
        ]));
    }
}

fn check_event_name(event: &str) -> Result<(), String> {
    if EVENT_NAMES.contains(&event) {
        Ok(())
    } else {
        Err(concat(&[
            "unknown event `",
            event,
            "`; use one of ready, shown, consent, change, withdraw",
        ]))
    }
}

fn describe(error: &JsValue) -> String {
    error
        .as_string()
        .or_else(|| crate::browser::property(error, "message").as_string())
        .unwrap_or_else(|| "a non-Error value".to_owned())
}
