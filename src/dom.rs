//! The DOM helpers every part of the modules shares (the layers, gating, the embeds'
//! placeholders, the forms' blocks, the API's selectors): create an element with a class,
//! append text as text, check and build a layer's node tree, make a switch, find and match
//! with selectors of kelisim's own. Text is always set with `textContent`, so config texts can
//! never become markup.

use crate::browser::{document, nodes_of};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlInputElement};

// The DOM calls below get kelisim's own tag names, attribute names and selectors and fresh
// nodes, for which the DOM never throws; web-sys still returns a `Result` for each (the DOM
// throws for an invalid name or selector). These helpers set that `Result` aside in one place,
// so call sites stay plain calls.

/// Sets an attribute whose name is one of kelisim's constants (or checked by the layers' rules,
/// `compiled::is_layer_attribute`).
pub fn set_attr(element: &Element, name: &str, value: &str) {
    let _ = element.set_attribute(name, value);
}

pub fn remove_attr(element: &Element, name: &str) {
    let _ = element.remove_attribute(name);
}

/// Appends `child` (a new node) as the last child of `parent`.
pub fn append_node(parent: &Element, child: &Element) {
    let _ = parent.append_child(child);
}

/// Inserts `child` (a new node) as the first child of `parent`.
pub fn prepend_node(parent: &Element, child: &Element) {
    let _ = parent.prepend_with_node_1(child);
}

/// Inserts `sibling` (a new node) just before `element`.
pub fn insert_before(element: &Element, sibling: &Element) {
    let _ = element.before_with_node_1(sibling);
}

/// Puts `replacement` where `element` is (nothing happens when `element` is detached).
pub fn replace(element: &Element, replacement: &Element) {
    let _ = element.replace_with_with_node_1(replacement);
}

/// Moves the keyboard focus to `element` (an HTML element; nothing happens if it cannot take it).
pub fn focus(element: &Element) {
    let _ = element.unchecked_ref::<web_sys::HtmlElement>().focus();
}

/// The nearest of `element` and its ancestors that `selector` (one of ours) matches.
pub fn closest(element: &Element, selector: &str) -> Option<Element> {
    element.closest(selector).ok().flatten()
}

/// Whether `selector` (one of ours) matches `element`.
pub fn matches(element: &Element, selector: &str) -> bool {
    element.matches(selector).unwrap_or(false)
}

/// Sets one CSS property (a custom property too) in `element`'s inline style.
pub fn set_style(element: &Element, property: &str, value: &str) {
    let _ = element
        .unchecked_ref::<web_sys::HtmlElement>()
        .style()
        .set_property(property, value);
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
        remove_attr(element, "hidden");
    }
}

/// The first element under `parent` that `selector` matches (the selectors are ours, so the
/// only failure is "none").
pub fn find(parent: &Element, selector: &str) -> Option<Element> {
    parent.query_selector(selector).ok().flatten()
}

/// The first element of the page that `selector` (one of ours) matches.
pub fn find_in_page(selector: &str) -> Option<Element> {
    document().query_selector(selector).ok().flatten()
}

/// A new element. Infallible for the builders' callers: `createElement` only fails for an
/// invalid tag name, and every tag here is a constant (were one wrong, the JS exception names
/// it). Returning `Option` instead made every node of a layer an early-return path that drops
/// all the nodes built before it, code the module carried for a failure a constant tag never has.
pub fn element(tag: &str, class: &str) -> Element {
    let element = document()
        .create_element(tag)
        .expect("kelisim's tag names are valid");
    if !class.is_empty() {
        set_attr(&element, "class", class);
    }
    element
}

pub fn append(parent: &Element, tag: &str, class: &str) -> Element {
    let child = element(tag, class);
    append_node(parent, &child);
    child
}

pub fn append_text(parent: &Element, tag: &str, class: &str, text: &str) -> Element {
    let child = append(parent, tag, class);
    child.set_text_content(Some(text));
    child
}

/// The element a layer's node tree describes (`[tag, {attribute: value}, child…]`, a child
/// being a tree or a text), as the compiler wrote it; texts become text nodes. An empty `div`
/// when the tree has anything a layer does not have (see [`layer_tree`]): nothing of it.
pub fn build(tree: &JsValue) -> Element {
    let holder = element("div", "");
    // A node joins its parent only once all of it was built, so a tree that breaks the rules
    // leaves the holder empty.
    layer_tree(tree, Some(&holder), 0);
    holder.first_element_child().unwrap_or(holder)
}

/// Walks a layer's node tree by the rules of `kelisim_core::compiled` (the tags a layer uses,
/// attributes with plain names and text values, no event handler, links to http(s) or the site
/// itself, not deeper than `MAX_LAYER_DEPTH`) and, given `parent`, builds it into `parent`.
/// `false` at the first node that breaks them. One walk serves both: the config reader checks
/// every tree with it before anything is shown or run, and the layers are built with it from
/// the config object, which is the page's own when the page gave `init` one, so what the page
/// changed after the check is never built either, and never a throw in the middle of a render.
pub fn layer_tree(tree: &JsValue, parent: Option<&Element>, depth: usize) -> bool {
    use kelisim_core::compiled::{is_layer_attribute, is_layer_tag, MAX_LAYER_DEPTH};
    if depth > MAX_LAYER_DEPTH || !js_sys::Array::is_array(tree) {
        return false;
    }
    let items: &js_sys::Array = tree.unchecked_ref();
    let Some(tag) = items.get(0).as_string().filter(|tag| is_layer_tag(tag)) else {
        return false;
    };
    let attributes = items.get(1);
    if !attributes.is_object() || js_sys::Array::is_array(&attributes) {
        return false;
    }
    let node = parent.map(|_| element(&tag, ""));
    for name in js_sys::Object::keys(attributes.unchecked_ref::<js_sys::Object>()).iter() {
        let name = name.as_string().unwrap_or_default();
        let value = crate::browser::property(&attributes, &name).as_string();
        let Some(value) = value.filter(|value| is_layer_attribute(&name, value)) else {
            return false;
        };
        if let Some(node) = &node {
            set_attr(node, &name, &value);
        }
    }
    for child in items.iter().skip(2) {
        match child.as_string() {
            Some(text) => {
                if let Some(node) = &node {
                    let _ = node.append_with_str_1(&text);
                }
            }
            None if layer_tree(&child, node.as_ref(), depth + 1) => {}
            None => return false,
        }
    }
    if let (Some(parent), Some(node)) = (parent, &node) {
        append_node(parent, node);
    }
    true
}

/// The `input` elements `selector` (which names the tag) matches under `parent`.
pub fn inputs(parent: &Element, selector: &str) -> Vec<HtmlInputElement> {
    let mut inputs = Vec::new();
    for element in &nodes_of(parent.query_selector_all(selector)) {
        inputs.push(element.clone().unchecked_into());
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
