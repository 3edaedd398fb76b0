//! Tiny DOM builders for the layers: create an element with a class, append text as text,
//! make a button that carries a `data-kelisim-action`, make a switch. Text is always set with
//! `textContent`, so config texts can never become markup.

use crate::browser::{document, nodes_of};
use wasm_bindgen::{JsCast, UnwrapThrowExt};
use web_sys::{Element, HtmlInputElement};

/// Sets an attribute. Its name is a constant of ours or one the element already had, so it
/// cannot be invalid and there is no error to handle; one out-of-line copy keeps every call
/// site a plain call.
#[inline(never)]
pub fn set_attr(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

/// A number not handed out before on this page (1, 2, 3, ...): makes the ids of the nodes
/// kelisim inserts in the store's page (form blocks, embed placeholders) unique.
pub fn next_number() -> u32 {
    thread_local! {
        static NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(1) };
    }
    NEXT.with(|next| next.replace(next.get() + 1))
}

/// Shows or hides `element` through its `hidden` attribute (what the `hidden` property
/// reflects), so no property binding is needed beside `set_attr`.
pub fn set_hidden(element: &Element, hidden: bool) {
    if hidden {
        set_attr(element, "hidden", "");
    } else {
        let _ = element.remove_attribute("hidden");
    }
}

/// The first element under `parent` that `selector` matches. Out of line, like `set_attr`:
/// the selectors are ours, so the only failure is "none", and no call site handles a `Result`.
#[inline(never)]
pub fn find(parent: &Element, selector: &str) -> Option<Element> {
    parent.query_selector(selector).ok().flatten()
}

/// A new element. Infallible for the builders' callers: `createElement` only fails for an
/// invalid tag name, and every tag here is a constant (were one wrong, the JS exception names
/// it). Returning `Option` instead made every node of a layer an early-return path that drops
/// all the nodes built before it: 1 KB of gzip in the wasm.
pub fn element(tag: &str, class: &str) -> Element {
    let element = document().create_element(tag).unwrap_throw();
    if !class.is_empty() {
        set_attr(&element, "class", class);
    }
    element
}

pub fn append(parent: &Element, tag: &str, class: &str) -> Element {
    let child = element(tag, class);
    // A new element always fits under an element.
    let _ = parent.append_child(&child);
    child
}

pub fn append_text(parent: &Element, tag: &str, class: &str, text: &str) -> Element {
    let child = append(parent, tag, class);
    child.set_text_content(Some(text));
    child
}

pub fn button(parent: &Element, class: &str, action: &str, text: &str) -> Element {
    let button = append_text(parent, "button", class, text);
    set_attr(&button, "type", "button");
    set_attr(&button, "data-kelisim-action", action);
    button
}

/// A `<dl>` of label and value pairs under `parent` (service facts, the consent's details, a
/// form's Art. 8 p.4 items).
pub fn facts(parent: &Element, rows: &[(&str, &str)]) {
    let list = append(parent, "dl", "");
    for (label, value) in rows {
        append_text(&list, "dt", "", label);
        append_text(&list, "dd", "", value);
    }
}

/// The `input` elements `selector` (which names the tag) matches under `parent`.
pub fn inputs(parent: &Element, selector: &str) -> Vec<HtmlInputElement> {
    let mut inputs = Vec::new();
    for element in nodes_of(parent.query_selector_all(selector)) {
        inputs.push(element.unchecked_into());
    }
    inputs
}

/// A checkbox with `role="switch"`: native keyboard and screen-reader support, styled as a switch.
pub fn switch(parent: &Element, checked: bool, locked: bool) -> HtmlInputElement {
    let input: HtmlInputElement = append(parent, "input", "kelisim-switch").unchecked_into();
    set_attr(&input, "type", "checkbox");
    set_attr(&input, "role", "switch");
    input.set_checked(checked);
    if locked {
        // `disabled` is a reflected attribute: the same as the property, without its binding.
        set_attr(&input, "disabled", "");
    }
    input
}
