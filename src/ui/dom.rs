//! Tiny DOM builders for the layers: create an element with a class, append text as text,
//! make a button that carries a `data-kelisim-action`, make a switch. Text is always set with
//! `textContent`, so config texts can never become markup.

use crate::browser::document;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement};

/// Sets an attribute. Its name is a constant of ours or one the element already had, so it
/// cannot be invalid and there is no error to handle; one out-of-line copy keeps every call
/// site a plain call.
#[inline(never)]
pub fn set_attr(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

pub fn element(tag: &str, class: &str) -> Option<Element> {
    let element = document().create_element(tag).ok()?;
    if !class.is_empty() {
        element.set_class_name(class);
    }
    Some(element)
}

pub fn append(parent: &Element, tag: &str, class: &str) -> Option<Element> {
    let child = element(tag, class)?;
    parent.append_child(&child).ok()?;
    Some(child)
}

pub fn append_text(parent: &Element, tag: &str, class: &str, text: &str) -> Option<Element> {
    let child = append(parent, tag, class)?;
    child.set_text_content(Some(text));
    Some(child)
}

pub fn button(parent: &Element, class: &str, action: &str, text: &str) -> Option<Element> {
    let button = append_text(parent, "button", class, text)?;
    set_attr(&button, "type", "button");
    set_attr(&button, "data-kelisim-action", action);
    Some(button)
}

/// A checkbox with `role="switch"`: native keyboard and screen-reader support, styled as a switch.
pub fn switch(parent: &Element, checked: bool, locked: bool) -> Option<HtmlInputElement> {
    let input: HtmlInputElement = append(parent, "input", "kelisim-switch")?.unchecked_into();
    input.set_type("checkbox");
    set_attr(&input, "role", "switch");
    input.set_checked(checked);
    input.set_disabled(locked);
    Some(input)
}
