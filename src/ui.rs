//! The two layers a visitor sees: the first-layer banner (three equal choices) and the
//! preferences dialog (a switch per category and per service, with the legal details).
//!
//! Owns the `#kelisim` root element, its listeners and its styles. A `Ui` handle owns every
//! node and listener it creates: dropping it removes them. The compiler wrote both layers as
//! node trees with every text in place (`kelisim_core::layers`); they are built with
//! `dom::build`, texts as text nodes, never as HTML, so the layers also work on pages that
//! require Trusted Types (`require-trusted-types-for 'script'`), where `innerHTML` with a string
//! throws. This module sets only what depends on the visit: the switches, the Global Privacy
//! Control note, the values of the visitor's own consent. One listener on the root serves the
//! keyboard (keydown); clicks, on buttons and switches alike, reach the SDK's one listener on
//! the document, which asks [`clicked`] what a click means (what an action does is decided by
//! `crate::sdk`). This module reports `UiAction`s and keeps the switches in step.

pub(crate) mod reopen;

use crate::browser::document;
use crate::dom::{self, inputs, set_attr};
use gloo_events::{EventListener, EventListenerOptions};

use kelisim_core::{Config, Consent, IdSet, Language};
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, HtmlInputElement, KeyboardEvent};

/// What the visitor asked for through the interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UiAction {
    AcceptAll,
    RejectAll,
    OpenPreferences,
    /// Save the switches: granted categories and services.
    Save {
        categories: Vec<String>,
        services: Vec<String>,
    },
    /// Close the preferences (Escape, the × button).
    Close,
    Language(Language),
    Withdraw,
}

/// Everything a layer shows.
pub struct View<'a> {
    pub config: std::rc::Rc<Config>,
    /// The compiled config object `config` was read from, which holds the layers.
    pub compiled: wasm_bindgen::JsValue,
    pub language: Language,
    pub consent: Option<&'a Consent>,
    /// The last receipt the server acknowledged for this consent, if any.
    pub last_receipt: Option<crate::receipts::LastReceipt>,
    /// The browser's Global Privacy Control signal was honoured on this page view.
    pub gpc_honoured: bool,
}

impl View<'_> {
    /// The banner's and the preferences' node trees, of the banner variant shown (checked
    /// when the config was read; the SDK opens the preferences only once their tree is in).
    fn layers(&self) -> (wasm_bindgen::JsValue, wasm_bindgen::JsValue) {
        let variant = self.config.ui.variant.as_deref();
        kelisim_core::compiled::layers_of(&crate::boundary::Js(self.compiled.clone()), variant)
            .map(|(banner, preferences)| {
                (banner.0, preferences.map(|tree| tree.0).unwrap_or_default())
            })
            .unwrap_or_default()
    }
}

/// Which switches are on: kept across a language switch so no state is lost.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Switches {
    pub categories: IdSet,
    pub services: IdSet,
}

/// The rendered interface. Dropping it removes the root and its listeners and gives focus
/// back to where it was before the preferences opened.
pub struct Ui {
    root: HtmlElement,
    banner: Option<HtmlElement>,
    preferences: Option<HtmlElement>,
    return_focus: Option<Element>,
    _keydown: EventListener,
}

const STYLE_ID: &str = "kelisim-style";

thread_local! {
    static STYLES_INSTALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static PREFERENCES_STYLES_INSTALLED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

impl Ui {
    /// Creates the (empty) root as the first child of `<body>`, so keyboard and screen-reader
    /// users reach the banner before the page. `on_action` receives the keyboard's actions
    /// (Escape closes the preferences).
    pub fn mount(config: &Config, on_action: impl Fn(UiAction) + 'static) -> Option<Ui> {
        install_styles(config);
        let document = document();
        let body = document.body()?;
        let root: HtmlElement = dom::element("div", "").unchecked_into();
        set_attr(&root, "id", "kelisim");
        let classes = [
            "kelisim--",
            config.ui.layout.as_str(),
            " kelisim--",
            config.ui.position.as_str(),
        ]
        .concat();
        set_attr(&root, "class", &classes);
        dom::prepend_node(&body, &root);

        let root_for_keys = root.clone();
        let keydown = EventListener::new_with_options(
            &root,
            "keydown",
            EventListenerOptions::enable_prevent_default(),
            move |event| {
                // A `keydown` listener only ever gets keyboard events.
                let event: &KeyboardEvent = event.unchecked_ref();
                let open_dialog = dom::find(
                    &root_for_keys,
                    ".kelisim-preferences, .kelisim--modal .kelisim-banner:not([hidden])",
                );
                match event.key().as_str() {
                    "Escape" if dom::find(&root_for_keys, ".kelisim-preferences").is_some() => {
                        event.prevent_default();
                        on_action(UiAction::Close);
                    }
                    "Tab" => {
                        if let Some(dialog) = open_dialog {
                            trap_focus(&dialog, event);
                        }
                    }
                    _ => {}
                }
            },
        );
        Some(Ui {
            root,
            banner: None,
            preferences: None,
            return_focus: None,
            _keydown: keydown,
        })
    }

    pub fn banner_shown(&self) -> bool {
        self.banner
            .as_ref()
            .is_some_and(|banner| !banner.has_attribute("hidden"))
    }

    pub fn preferences_shown(&self) -> bool {
        self.preferences.is_some()
    }

    /// Shows the first layer (rendering it if needed).
    pub fn show_banner(&mut self, view: &View) {
        let root = &self.root;
        let banner = self.banner.get_or_insert_with(|| render_banner(root, view));
        dom::set_hidden(banner, false);
        set_attr(&self.root, "lang", view.language.code());
    }

    /// Opens the preferences dialog over the page and moves focus into it.
    pub fn open_preferences(&mut self, view: &View, switches: &Switches) {
        if self.preferences.is_some() {
            return;
        }
        self.return_focus = document().active_element();
        if let Some(banner) = &self.banner {
            dom::set_hidden(banner, true);
        }
        self.preferences = Some(render_preferences(&self.root, view, switches));
        set_attr(&self.root, "lang", view.language.code());
        if let Some(dialog) = self.dialog() {
            dom::focus(&dialog);
        }
    }

    /// Closes the preferences; the banner comes back if it was there, and focus returns.
    pub fn close_preferences(&mut self) {
        if let Some(preferences) = self.preferences.take() {
            preferences.remove();
        }
        if let Some(banner) = &self.banner {
            dom::set_hidden(banner, false);
        }
        // Focusing an element that has left the page meanwhile does nothing.
        if let Some(element) = self.return_focus.take() {
            dom::focus(&element);
        }
    }

    /// Re-renders whatever is shown in another language, keeping the switches and putting
    /// focus back on the language button that was pressed.
    pub fn rerender(&mut self, view: &View) {
        let switches = self.switches();
        let banner_hidden = self
            .banner
            .as_ref()
            .map(|banner| banner.has_attribute("hidden"));
        if let Some(old) = self.banner.take() {
            let banner = render_banner(&self.root, view);
            dom::replace(&old, &banner);
            dom::set_hidden(&banner, banner_hidden.unwrap_or(false));
            self.banner = Some(banner);
        }
        if let Some(old) = self.preferences.take() {
            let preferences = render_preferences(&self.root, view, &switches.unwrap_or_default());
            dom::replace(&old, &preferences);
            self.preferences = Some(preferences);
        }
        set_attr(&self.root, "lang", view.language.code());
        let selector = [
            ".kelisim-languages [data-kelisim-language=\"",
            view.language.code(),
            "\"]",
        ]
        .concat();
        let visible_layer = self.preferences.as_ref().or(self.banner.as_ref());
        if let Some(button) = visible_layer.and_then(|layer| dom::find(layer, &selector)) {
            dom::focus(&button);
        }
    }

    /// The switches of the open preferences dialog.
    pub fn switches(&self) -> Option<Switches> {
        let preferences = self.preferences.as_ref()?;
        let mut switches = Switches::default();
        for input in &inputs(preferences, "input[data-kelisim-category]") {
            if input.checked() {
                switches.categories.insert(
                    input
                        .get_attribute("data-kelisim-category")
                        .unwrap_or_default(),
                );
            }
        }
        for input in &inputs(preferences, "input[data-kelisim-service]") {
            if input.checked() {
                switches.services.insert(
                    input
                        .get_attribute("data-kelisim-service")
                        .unwrap_or_default(),
                );
            }
        }
        Some(switches)
    }

    fn dialog(&self) -> Option<HtmlElement> {
        let dialog = dom::find(self.preferences.as_ref()?, ".kelisim-preferences")?;
        // Our own `div`.
        Some(dialog.unchecked_into())
    }
}

impl Drop for Ui {
    fn drop(&mut self) {
        self.root.remove();
        // Focusing an element that has left the page meanwhile does nothing.
        if let Some(element) = self.return_focus.take() {
            dom::focus(&element);
        }
    }
}

/// Initial switches for the preferences: the standing consent, or each category's default.
pub fn initial_switches(config: &Config, consent: Option<&Consent>) -> Switches {
    let mut switches = Switches::default();
    for category in &config.categories {
        let on = match consent {
            Some(consent) => consent.category_granted(&category.id),
            None => category.default_on,
        };
        if on {
            switches.categories.insert(category.id.clone());
        }
        for service in &category.services {
            let service_on = match consent {
                Some(consent) => consent.service_granted(&service.id),
                None => on,
            };
            if service_on || category.required {
                switches.services.insert(service.id.clone());
            }
        }
    }
    switches
}

pub(crate) fn install_styles(config: &Config) {
    if STYLES_INSTALLED.get() {
        return;
    }
    STYLES_INSTALLED.set(true);
    // The compiled config brings the stylesheet with the site's theme.
    add_stylesheet(config.resolved().style.as_str(), STYLE_ID);
}

/// Adds the preferences dialog's rules once, when they came apart from the stylesheet (a
/// served config laid over with its preferences document), before the dialog first opens.
fn install_preferences_styles(config: &Config) {
    let css = config.resolved().preferences_style.as_str();
    if css.is_empty() || PREFERENCES_STYLES_INSTALLED.replace(true) {
        return;
    }
    add_stylesheet(css, "kelisim-preferences-style");
}

/// Adds `css` to the page. A constructed stylesheet is not subject to a page's `style-src` CSP,
/// so stores with a strict policy need no exception for kelisim; browsers without one get a
/// `<style id="{fallback_id}">` element.
pub fn add_stylesheet(css: &str, fallback_id: &str) {
    let document = document();
    let adopted = web_sys::CssStyleSheet::new().ok().and_then(|sheet| {
        sheet.replace_sync(css).ok()?;
        let sheets = document.adopted_style_sheets();
        sheets.push(&sheet);
        document.set_adopted_style_sheets(&sheets);
        Some(())
    });
    if adopted.is_none() {
        if let Some(head) = document.head() {
            let style = dom::element("style", "");
            set_attr(&style, "id", fallback_id);
            style.set_text_content(Some(css));
            dom::append_node(&head, &style);
        }
    }
}

/// The first layer, from the compiled config's node tree (the shown variant's, if any). The
/// Global Privacy Control note is in the tree, hidden until a visit honours the signal.
fn render_banner(root: &HtmlElement, view: &View) -> HtmlElement {
    let banner: HtmlElement = dom::build(&view.layers().0).unchecked_into();
    if view.gpc_honoured {
        if let Some(note) = dom::find(&banner, ".kelisim-gpc") {
            dom::set_hidden(&note, false);
        }
    }
    dom::append_node(root, &banner);
    banner
}

/// The preferences dialog, from the compiled config's node tree, with the switches set and
/// the visitor's own consent filled in.
fn render_preferences(root: &HtmlElement, view: &View, switches: &Switches) -> HtmlElement {
    install_preferences_styles(&view.config);
    let overlay: HtmlElement = dom::build(&view.layers().1).unchecked_into();
    for (selector, attribute, on) in [
        (
            "input[data-kelisim-category]",
            "data-kelisim-category",
            &switches.categories,
        ),
        (
            "input[data-kelisim-service]",
            "data-kelisim-service",
            &switches.services,
        ),
    ] {
        for input in &inputs(&overlay, selector) {
            // A required category's switches are locked on.
            let id = input.get_attribute(attribute).unwrap_or_default();
            input.set_checked(on.contains(&id) || input.has_attribute("disabled"));
        }
    }
    fill_your_consent(&overlay, view);
    dom::append_node(root, &overlay);
    overlay
}

/// "Your consent", which the compiler wrote last in the dialog's body: its values filled in
/// (when the standing choice was made, what it grants, its receipt) and the receipt's download
/// link shown once the server acknowledged one; removed while there is no choice.
fn fill_your_consent(overlay: &Element, view: &View) {
    let Some(section) = dom::find(overlay, ".kelisim-your-consent") else {
        // Only a compiled config of an older `config build` lacks it: say so, for the visitor
        // would find no way to withdraw here.
        return crate::browser::console_error(
            "the preferences lack \"your consent\" and its withdraw button: this compiled config is of an older `kelisim-server config build`; run it again",
        );
    };
    let Some(consent) = view.consent else {
        return section.remove();
    };
    let decided = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(
        consent.decided_at as f64 * 1000.0,
    ));
    let locale = match view.language {
        Language::Kk => "kk-KZ",
        Language::Ru => "ru-RU",
        Language::En => "en-GB",
    };
    let mut granted: Vec<&str> = Vec::new();
    for category in &view.config.categories {
        if consent.category_granted(&category.id) {
            granted.push(&category.texts(view.language).title);
        }
    }
    let set_text = |selector: &str, text: &str| {
        if let Some(value) = dom::find(&section, selector) {
            value.set_text_content(Some(text));
        }
    };
    set_text(
        ".kelisim-decided",
        &String::from(decided.to_locale_string(locale, &wasm_bindgen::JsValue::UNDEFINED)),
    );
    set_text(".kelisim-granted", &granted.join(", "));
    let (Some(last), Some(link)) = (&view.last_receipt, dom::find(&section, ".kelisim-download"))
    else {
        return;
    };
    set_text(".kelisim-receipt", &last.receipt_id);
    // The visitor's own copy of the server's answer, as a file. A data: URL rather than a Blob
    // and an object URL: the answer is small, and the link needs no click handler and nothing
    // to revoke afterwards.
    let encoded = String::from(js_sys::encode_uri_component(&last.json));
    set_attr(
        &link,
        "href",
        &["data:application/json;charset=utf-8,", &encoded].concat(),
    );
    set_attr(
        &link,
        "download",
        &["kelisim-receipt-", &last.receipt_id, ".json"].concat(),
    );
    dom::set_hidden(&link, false);
}

/// What a click on `target` means for the layers: a switch keeps its category and services in
/// step (a switch toggled by mouse, keyboard or its label gets a click, and is toggled by the
/// time the click reaches the document), a button asks for its action.
pub fn clicked(target: &Element) -> Option<UiAction> {
    if dom::matches(target, "#kelisim input") {
        sync_switches(target.unchecked_ref());
        return None;
    }
    action_of(target)
}

/// The action of a click on `target`, if it hit a button of a layer.
fn action_of(target: &Element) -> Option<UiAction> {
    let button = dom::closest(target, "#kelisim [data-kelisim-action]")?;
    let action = match button.get_attribute("data-kelisim-action")?.as_str() {
        "accept-all" => UiAction::AcceptAll,
        "reject-all" => UiAction::RejectAll,
        "preferences" => UiAction::OpenPreferences,
        "close" => UiAction::Close,
        "withdraw" => UiAction::Withdraw,
        "language" => UiAction::Language(
            button
                .get_attribute("data-kelisim-language")?
                .parse()
                .ok()?,
        ),
        "save" => {
            let preferences = dom::closest(&button, ".kelisim-preferences")?;
            let checked = |selector: &str, attribute: &str| -> Vec<String> {
                let mut ids = Vec::new();
                for input in &inputs(&preferences, selector) {
                    if input.checked() && !input.has_attribute("disabled") {
                        if let Some(id) = input.get_attribute(attribute) {
                            ids.push(id);
                        }
                    }
                }
                ids
            };
            UiAction::Save {
                categories: checked("input[data-kelisim-category]", "data-kelisim-category"),
                services: checked("input[data-kelisim-service]", "data-kelisim-service"),
            }
        }
        _ => return None,
    };
    Some(action)
}

/// A category switch sets all its services; a service switch turns its category on when any
/// of the category's services is on, and off when none is.
fn sync_switches(input: &HtmlInputElement) {
    let Some(dialog) = dom::closest(input, ".kelisim-preferences") else {
        return;
    };
    let services_of = |category: &str| {
        inputs(
            &dialog,
            &["input[data-kelisim-service-category=\"", category, "\"]"].concat(),
        )
    };
    if let Some(category) = input.get_attribute("data-kelisim-category") {
        for service in &services_of(&category) {
            service.set_checked(input.checked());
        }
    } else if let Some(category) = input.get_attribute("data-kelisim-service-category") {
        let any_on = services_of(&category).iter().any(HtmlInputElement::checked);
        if let Some(category_switch) = dom::find(
            &dialog,
            &["input[data-kelisim-category=\"", &category, "\"]"].concat(),
        ) {
            // The selector names an input.
            category_switch
                .unchecked_ref::<HtmlInputElement>()
                .set_checked(any_on);
        }
    }
}

/// Keeps Tab and Shift+Tab inside `dialog`. Its first and last focusable elements are known
/// from kelisim's own markup, so nothing is measured: the first in document order is always
/// a button of its head (a language or the close button), the last is the last button of
/// its actions row (neither can be hidden inside a closed `<details>` or be disabled).
fn trap_focus(dialog: &Element, event: &KeyboardEvent) {
    let (Some(first), Some(last)) = (
        dom::find(dialog, "button, [href]"),
        dom::find(dialog, ".kelisim-actions button:last-child"),
    ) else {
        return;
    };
    // Where the focus is, asked of the elements themselves (`:focus`, `:focus-within`).
    let focused = |element: &Element| dom::matches(element, ":focus");
    let outside = !dom::matches(dialog, ":focus-within");
    if event.shift_key() && (focused(&first) || outside || focused(dialog)) {
        event.prevent_default();
        dom::focus(&last);
    } else if !event.shift_key() && (focused(&last) || outside) {
        event.prevent_default();
        dom::focus(&first);
    }
}
