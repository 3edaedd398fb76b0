//! Activation of gated elements: `<script type="text/plain" data-category>` becomes an
//! executable script, `data-src` becomes `src`, in document order, once each; and the
//! MutationObserver that does the same for elements added later.
//!
//! Which element may run is decided by `kelisim_core::GateRule`; this module owns the DOM
//! work. Invariant: an element is activated at most once (it is marked before anything waits), and
//! nothing here ever runs while the visitor has made no choice.

use crate::browser::{console_warn, nodes_of, property, root, set_property};
use crate::dom::{self, set_attr};
use kelisim_core::{Config, Consent, GateRule};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlScriptElement};

/// Elements kelisim gates: anything with `data-category` that has not been activated yet.
const GATED_SELECTOR: &str = "[data-category]:not([data-kelisim-activated])";
/// Set on an element once it is handled (activated, or re-created as a running script).
const ACTIVATED_ATTRIBUTE: &str = "data-kelisim-activated";
/// On a gated element that has a stand-in in front of it while it may not load (an embed's
/// placeholder, `crate::embeds`): its id among them.
pub const STAND_IN_ID_ATTRIBUTE: &str = "data-kelisim-embed";
/// On a stand-in: the id of the gated element it stands for.
pub const STAND_IN_FOR_ATTRIBUTE: &str = "data-kelisim-embed-for";

thread_local! {
    static WARNED_CATEGORIES: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// Watches the document for elements added after start-up (by the parser still reading the
/// page, or by scripts). Dropping it disconnects.
pub struct GateObserver {
    observer: web_sys::MutationObserver,
    _callback: Closure<dyn FnMut(js_sys::Array)>,
}

impl GateObserver {
    /// Starts observing; after each batch of mutations that added an element, `on_added`
    /// receives the gated elements found in the added subtrees (perhaps none: the page's
    /// `<body>` matters too).
    pub fn start(on_added: impl Fn(Vec<Element>) + 'static) -> GateObserver {
        let callback = Closure::<dyn FnMut(js_sys::Array)>::new(move |records: js_sys::Array| {
            let mut found = Vec::new();
            let mut added = false;
            for record in records.iter() {
                for node in js_sys::Array::from(&property(&record, "addedNodes")).iter() {
                    if let Ok(element) = node.dyn_into::<Element>() {
                        added = true;
                        collect_gated(&element, &mut found);
                    }
                }
            }
            if added {
                on_added(found);
            }
        });
        let observer = web_sys::MutationObserver::new(callback.as_ref().unchecked_ref())
            .expect("a MutationObserver takes a function");
        let options = web_sys::MutationObserverInit::new();
        options.set_child_list(true);
        options.set_subtree(true);
        let _ = observer.observe_with_options(&root(), &options);
        GateObserver {
            observer,
            _callback: callback,
        }
    }
}

impl Drop for GateObserver {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// Every gated element of the document not yet handled, in document order.
pub fn gated_elements() -> Vec<Element> {
    nodes_of(crate::browser::document().query_selector_all(GATED_SELECTOR))
}

fn collect_gated(element: &Element, found: &mut Vec<Element>) {
    if dom::matches(element, GATED_SELECTOR) {
        found.push(element.clone());
    }
    found.append(&mut nodes_of(element.query_selector_all(GATED_SELECTOR)));
}

/// Activates those of `elements` that `consent` allows, in order. Each is marked first, so a
/// second call (a mutation, a consent change) never activates it again. Scripts with `src` are
/// waited for one by one so that a later inline script sees what an earlier one defined.
pub fn activate(config: &Config, consent: &Consent, elements: &[Element]) {
    let mut allowed = Vec::new();
    for element in elements {
        if element.has_attribute(ACTIVATED_ATTRIBUTE) {
            continue;
        }
        let Some(rule) = rule_of(element) else {
            continue;
        };
        warn_unknown(config, &rule);
        if rule.allows(consent) {
            set_attr(element, ACTIVATED_ATTRIBUTE, "");
            allowed.push(element.clone());
        }
    }
    activate_in_order(allowed, 0);
}

/// The rule of a gated element, from its `data-category` and `data-service`; `None` when it has
/// no category (it is then left alone).
pub fn rule_of(element: &Element) -> Option<GateRule> {
    let category = element.get_attribute("data-category").unwrap_or_default();
    let service = element.get_attribute("data-service");
    GateRule::parse(&category, service.as_deref())
}

/// Activates `elements[next..]` in order. After a script with `src` it goes on only once that
/// script has loaded, from its `load` (or `error`) event: a failed load still lets the next tag
/// run, as it would without kelisim.
fn activate_in_order(elements: Vec<Element>, next: usize) {
    let mut index = next;
    while let Some(element) = elements.get(index) {
        index += 1;
        if let Some(loading) = activate_one(element) {
            // Called once: a script fires `load` or `error`, never both.
            let resume = crate::browser::once(move |_| activate_in_order(elements, index));
            loading.set_onload(Some(resume.unchecked_ref()));
            loading.set_onerror(Some(resume.unchecked_ref()));
            return;
        }
    }
}

/// Activates one element now, whatever the consent ("load once" on an embed placeholder).
pub fn activate_now(element: &Element) {
    if element.has_attribute(ACTIVATED_ATTRIBUTE) {
        return;
    }
    set_attr(element, ACTIVATED_ATTRIBUTE, "");
    activate_one(element);
}

/// Removes the stand-in of `element` (it is being activated), if it has one, and shows it.
fn remove_stand_in(element: &Element) {
    let Some(id) = element.get_attribute(STAND_IN_ID_ATTRIBUTE) else {
        return;
    };
    let selector = ["[", STAND_IN_FOR_ATTRIBUTE, "=\"", &id, "\"]"].concat();
    if let Some(stand_in) = dom::find_in_page(&selector) {
        stand_in.remove();
    }
    dom::set_hidden(element, false);
}

/// Activates one element; returns the new script when it loads a `src` (the caller waits for
/// it before the next one).
fn activate_one(element: &Element) -> Option<HtmlScriptElement> {
    if dom::matches(element, "script") {
        return activate_script(element);
    }
    remove_stand_in(element);
    if let Some(source) = element.get_attribute("data-src") {
        set_attr(element, "src", &source);
    }
    for &(from, to) in &[("data-srcset", "srcset"), ("data-href", "href")] {
        if let Some(value) = element.get_attribute(from) {
            set_attr(element, to, &value);
        }
    }
    None
}

fn activate_script(old: &Element) -> Option<HtmlScriptElement> {
    let script: HtmlScriptElement = dom::element("script", "").unchecked_into();
    for name in old.get_attribute_names().iter() {
        let name = name.as_string().unwrap_or_default();
        if name != "type" && name != "data-type" && name != "data-src" {
            if let Some(value) = old.get_attribute(&name) {
                // The page's own attribute names: the HTML parser accepts some that
                // `setAttribute` refuses (`@click`); such an attribute is skipped rather than
                // stopping the activation.
                let _ = script.set_attribute(&name, &value);
            }
        }
    }
    // `nonce` reads back empty from getAttribute once parsed; copy the property instead so a
    // CSP with nonces keeps working.
    set_property(&script, "nonce", &property(old, "nonce"));
    if let Some(original_type) = old.get_attribute("data-type") {
        set_attr(&script, "type", &original_type);
    }
    let source = old
        .get_attribute("data-src")
        .or_else(|| old.get_attribute("src"));
    match &source {
        Some(source) => set_attr(&script, "src", source),
        None => script.set_text_content(old.text_content().as_deref()),
    }
    dom::replace(old, &script);
    source.map(|_| script)
}

/// A typo in `data-category` would silently never run: say so once per unknown id.
fn warn_unknown(config: &Config, rule: &GateRule) {
    let mut unknown = Vec::new();
    if config.category(&rule.category).is_none() {
        unknown.push(["data-category=\"", &rule.category, "\""].concat());
    }
    if let Some(service) = &rule.service {
        if config.service(service).is_none() {
            unknown.push(["data-service=\"", service, "\""].concat());
        }
    }
    for markup in &unknown {
        let first_time = WARNED_CATEGORIES.with_borrow_mut(|warned| {
            let new = !warned.contains(markup);
            if new {
                warned.push(markup.clone());
            }
            new
        });
        if first_time {
            console_warn(
                &[
                    markup,
                    " is not in the config, so elements marked with it never run",
                ]
                .concat(),
            );
        }
    }
}
