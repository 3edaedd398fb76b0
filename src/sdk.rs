//! The running SDK: one `Sdk` per page, holding the validated config, the standing consent,
//! the language and the handles of everything it put on the page.
//!
//! Owns the order of effects of a choice: cookie, clean-up of revoked services, Consent Mode
//! update, activation of newly allowed tags, then events. Invariant: no `RefCell` borrow is
//! held while site code runs (event listeners, activated scripts), so that code may call the
//! API again.

use crate::boundary::{consent_to_js, InitOptions};
use crate::browser::{
    console_warn, document, is_automated_browser, navigator_languages, now_seconds, random_uuid,
};
use crate::dom;
use crate::embeds::{self, EmbedAction};
use crate::events;
use crate::gating::{self, GateObserver};
use crate::receipts;
use crate::storage;
use crate::ui::reopen::ReopenButton;
use crate::ui::{initial_switches, Ui, UiAction, View};
use crate::vendors::{send_consent_mode, set_metrika_flags, tell_vendors};
use gloo_events::{EventListener, EventListenerOptions};
use kelisim_core::consent::revoked_services;
use kelisim_core::{
    choose_language, decode_cookie, encode_cookie, Action, Choice, Config, Consent, Language,
    Reopen, Vendor, COOKIE_NAME,
};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Element;

thread_local! {
    static SDK: RefCell<Option<Rc<Sdk>>> = const { RefCell::new(None) };
}

pub struct Sdk {
    /// Replaced whole when a compiled config of another language arrives (`set_language`).
    config: RefCell<Rc<Config>>,
    /// The compiled config object `config` was read from: the layers' node trees are built
    /// from it.
    compiled: RefCell<JsValue>,
    consent: RefCell<Option<Consent>>,
    /// The consent id of an expired or outdated choice: reused so one browser keeps one id.
    earlier_consent_id: Option<String>,
    language: Cell<Language>,
    ui: RefCell<Option<Ui>>,
    observer: RefCell<Option<GateObserver>>,
    /// An impression is counted once per page view, however often the banner is shown.
    impression_sent: Cell<bool>,
    /// This page view recorded a Global Privacy Control refusal: the banner says so.
    gpc_honoured: Cell<bool>,
    _click: EventListener,
    _pagehide: EventListener,
    _popstate: EventListener,
    /// A layer asked for while the page had no `<body>` yet, shown once the parser adds it
    /// (see `wait_for_body`); a choice or `hide()` in between cancels it.
    waiting_for_body: Cell<Option<Layer>>,
    /// The floating "Cookie settings" button, once a choice exists (`ui.reopen: "button"`).
    reopen: RefCell<Option<ReopenButton>>,
    /// See [`InitOptions::config_for`].
    config_for: Option<js_sys::Function>,
    /// The config last asked of `config_for`: only that one is taken when it arrives.
    requested: Cell<Option<Language>>,
    /// The preferences were asked for while their dialog was apart from the config
    /// (`preferences_href`): they open when the config arrives whole, unless a choice or
    /// `hide()` came first.
    preferences_wanted: Cell<bool>,
}

/// The two layers the SDK can be asked to show.
#[derive(Clone, Copy)]
enum Layer {
    Banner,
    Preferences,
}

/// The running SDK, if `init` succeeded. The `Rc` is cloned out so no borrow of the slot
/// outlives the call.
pub fn current() -> Option<Rc<Sdk>> {
    SDK.with_borrow(Clone::clone)
}

/// Starts the SDK with a validated config, read showing the banner variant `kept_variant` (the
/// one this browser kept) when it is still one. A second `init` is refused: one banner, one
/// set of listeners per page.
pub fn init(
    config: Config,
    compiled: JsValue,
    options: InitOptions,
    kept_variant: Option<&str>,
) -> Result<(), String> {
    if current().is_some() {
        return Err(
            "init() was called twice; call destroy() first to start again with another config"
                .into(),
        );
    }
    keep_variant(&config, kept_variant);
    let stored = storage::read_cookie(COOKIE_NAME).and_then(|value| decode_cookie(&value).ok());
    let now = now_seconds();
    let (consent, earlier_consent_id) = match stored {
        Some(consent) if consent.is_current(&config, now) => (Some(consent), None),
        Some(outdated) => (None, Some(outdated.consent_id)),
        None => (None, None),
    };
    let html_lang = crate::browser::root().get_attribute("lang");
    let language = choose_language(
        consent.as_ref().map(|c| c.language),
        html_lang.as_deref(),
        &navigator_languages(),
        &config.languages,
        config.default_language,
    );

    let click = click_listener();

    // Receipts still in the outbox get one more chance as the page goes away.
    let pagehide = listen(crate::browser::window(), "pagehide", passive(), |_| {
        if let Some(sdk) = current() {
            receipts::beacon_pending(&sdk.config());
        }
    });

    // Single-page apps: a history navigation may bring gated markup back without a DOM
    // insertion the observer sees (restored from the back/forward cache); look again.
    let popstate = listen(crate::browser::window(), "popstate", passive(), |_| {
        if let Some(sdk) = current() {
            sdk.activate(gating::gated_elements());
        }
    });

    // A compiled config holds one language: start in it, and fetch the chosen one if it differs.
    let chosen = language;
    let language = config
        .resolved
        .as_ref()
        .and_then(|resolved| resolved.language)
        .unwrap_or(chosen);
    let sdk = Rc::new(Sdk {
        config: RefCell::new(Rc::new(config)),
        compiled: RefCell::new(compiled),
        consent: RefCell::new(consent.clone()),
        earlier_consent_id,
        language: Cell::new(language),
        ui: RefCell::new(None),
        observer: RefCell::new(None),
        impression_sent: Cell::new(false),
        gpc_honoured: Cell::new(false),
        _click: click,
        _pagehide: pagehide,
        _popstate: popstate,
        waiting_for_body: Cell::new(None),
        reopen: RefCell::new(None),
        config_for: options.config_for.clone(),
        requested: Cell::new(None),
        preferences_wanted: Cell::new(false),
    });
    SDK.with_borrow_mut(|slot| *slot = Some(sdk.clone()));

    start_consent_mode(&sdk, options.consent_mode_defaults_sent, consent.as_ref());

    receipts::retry_pending(&sdk.config());

    start_observing(&sdk);

    if sdk.config().ui.reopen == Reopen::Link {
        warn_without_open_link();
    }

    // `ready` comes first, so a site hears it before `shown` or any tag activation.
    events::emit("ready", &detail(&[("consent", sdk.consent_js())]));
    let effects = first_effects(&sdk, consent.as_ref());
    // The floating button (and the stylesheet it brings) after the tags: on most page views
    // the choice stands, and its tags need not wait for the button.
    sdk.sync_reopen();
    effects?;
    if language != chosen && sdk.config_for.is_some() {
        if let Err(message) = sdk.set_language(chosen.code()) {
            crate::browser::console_error(&message);
        }
    }
    Ok(())
}

/// One click listener on the document serves every control: the buttons of the layers, every
/// `data-kelisim="open"` element (the floating button's and the site's own, present or added
/// later), the `data-cc` buttons of pages written for vanilla-cookieconsent, and the buttons
/// of embed placeholders.
fn click_listener() -> EventListener {
    listen(
        document(),
        "click",
        EventListenerOptions::enable_prevent_default(),
        |event| {
            let target = crate::browser::event_element(event);
            if let Some(action) = target.as_ref().and_then(crate::ui::clicked) {
                return on_ui_action(action);
            }
            let opener = target
                .as_ref()
                .and_then(|target| dom::closest(target, "[data-kelisim=\"open\"],[data-cc]"));
            if let Some(opener) = opener {
                let action = match opener.get_attribute("data-cc").as_deref() {
                    None | Some("show-preferencesModal") => Some(UiAction::OpenPreferences),
                    Some("show-consentModal") => None,
                    Some("accept-all") => Some(UiAction::AcceptAll),
                    Some("accept-necessary") => Some(UiAction::RejectAll),
                    // Another `data-cc` value is not kelisim's to handle.
                    Some(_) => return,
                };
                event.prevent_default();
                match action {
                    Some(action) => on_ui_action(action),
                    None => {
                        if let Some(sdk) = current() {
                            sdk.show();
                        }
                    }
                }
                return;
            }
            // The same listener serves the buttons of embed placeholders.
            let embed_action = target.as_ref().and_then(embeds::action_of);
            if let (Some(action), Some(sdk)) = (embed_action, current()) {
                sdk.on_embed_action(action);
            }
        },
    )
}

/// A listener on `target` that calls `handler`. The SDK's listeners capture nothing: they find
/// the running SDK with [`current`].
fn listen(
    target: &web_sys::EventTarget,
    event_type: &'static str,
    options: EventListenerOptions,
    handler: impl FnMut(&web_sys::Event) + 'static,
) -> EventListener {
    EventListener::new_with_options(target, event_type, options, handler)
}

/// gloo's default options: a listener that never calls `preventDefault`.
fn passive() -> EventListenerOptions {
    EventListenerOptions::default()
}

/// Google Consent Mode at start: a warning when the loader's defaults and the config do not
/// go together, the defaults when the loader did not send them, the standing choice.
fn start_consent_mode(sdk: &Sdk, defaults_sent: bool, consent: Option<&Consent>) {
    let config = sdk.config();
    if defaults_sent && !config.uses_vendor(Vendor::GoogleConsentMode) {
        // The defaults deny every signal, and only a service with this vendor sends updates:
        // Google's tags would stay cookieless whatever the visitor chose, and nothing said so.
        console_warn(
            "the script tag has data-google-consent-mode, so Google's tags start denied, but no service has \"vendor\": \"google-consent-mode\": no choice will update them. Add it to the Google service",
        );
    }
    if config.uses_vendor(Vendor::GoogleConsentMode) {
        if !defaults_sent {
            console_warn(
                "Google Consent Mode defaults were sent late; add data-google-consent-mode to the kelisim script tag so the loader sends them before any tag",
            );
            send_consent_mode("default", &config, None);
        }
        if let Some(consent) = consent {
            send_consent_mode("update", &config, Some(consent));
        }
    }
}

/// Elements added later: gated ones, and the page's <body> when the SDK started before the
/// parser reached it.
fn start_observing(sdk: &Sdk) {
    let observer = GateObserver::start(|elements| {
        if let Some(sdk) = current() {
            if !elements.is_empty() {
                sdk.activate(elements);
            }
            sdk.show_waiting_layer();
            sdk.sync_reopen();
        }
    });
    *sdk.observer.borrow_mut() = Some(observer);
}

/// What the standing choice (or its absence) does on arrival: tags, vendors, the banner, and
/// a refusal by Global Privacy Control.
fn first_effects(sdk: &Sdk, consent: Option<&Consent>) -> Result<(), String> {
    let config = sdk.config();
    let automated_hidden = config.ui.hide_from_bots && is_automated_browser();
    // Vendors hear the standing choice once the tags it grants ran (their snippets are then on
    // the page); with no choice yet, a pixel already on the page (not gated) hears "revoke"
    // (or "hold") before it can track anything.
    set_metrika_flags(&config, consent);
    if consent.is_none() {
        tell_vendors(&config, None);
    }
    match consent {
        Some(consent) => {
            sdk.activate(gating::gated_elements());
            tell_vendors(&config, Some(consent));
        }
        // Global Privacy Control with no choice yet: refuse every optional category, record it
        // once (cookie and a `gpc` receipt), and tell the visitor, who may still choose otherwise.
        None if config.gpc && global_privacy_control() => {
            sdk.gpc_honoured.set(true);
            sdk.apply(Choice::RejectAll, Action::Gpc, "gpc")?;
            if !automated_hidden {
                sdk.show();
            }
        }
        None if automated_hidden => sdk.activate(gating::gated_elements()),
        None => {
            sdk.activate(gating::gated_elements());
            sdk.show();
        }
    }
    Ok(())
}

/// Where a browser keeps the banner variant of an A/B test it was shown.
pub const VARIANT_KEY: &str = "kelisim:variant";

/// With an A/B test (`variants`), keeps the variant shown (the one kept before, or a new pick),
/// so that every page and every receipt of this browser agree; written only when it is not
/// the one `kept` already.
fn keep_variant(config: &Config, kept: Option<&str>) {
    let shown = config.ui.variant.as_deref();
    if let Some(id) = shown.filter(|_| config.resolved().variant_picked && shown != kept) {
        storage::set_item(VARIANT_KEY, id);
    }
}

/// With `ui.reopen: "link"` the site promises its own `data-kelisim="open"` element; a page
/// without one leaves a visitor no way back to the preferences, so say so once the page is
/// parsed.
fn warn_without_open_link() {
    let check = |_| {
        if document()
            .query_selector("[data-kelisim=\"open\"]")
            .ok()
            .flatten()
            .is_none()
        {
            console_warn(
                "ui.reopen is \"link\" but the page has no data-kelisim=\"open\" element: visitors cannot reopen the preferences to withdraw consent",
            );
        }
    };
    if document().ready_state() == "loading" {
        let _ = document().add_event_listener_with_callback(
            "DOMContentLoaded",
            crate::browser::once(check).unchecked_ref(),
        );
    } else {
        check(JsValue::UNDEFINED);
    }
}

/// Runs `task` once after `delay_ms` milliseconds.
fn schedule(delay_ms: i32, task: impl FnOnce() + 'static) {
    crate::browser::schedule(delay_ms, &crate::browser::once(move |_| task()));
}

/// `navigator.globalPrivacyControl === true`.
fn global_privacy_control() -> bool {
    crate::browser::property(
        &crate::browser::window().navigator(),
        "globalPrivacyControl",
    )
    .as_bool()
        == Some(true)
}

/// Stops the SDK: removes the interface and every listener and observer. Tags already run
/// stay run; the cookie stays.
pub fn destroy() {
    let sdk = SDK.with_borrow_mut(Option::take);
    if let Some(sdk) = sdk {
        sdk.ui.borrow_mut().take();
        sdk.reopen.borrow_mut().take();
        sdk.observer.borrow_mut().take();
    }
}

/// Carries out a visitor's action from the interface.
pub fn on_ui_action(action: UiAction) {
    let Some(sdk) = current() else { return };
    let result = match action {
        UiAction::AcceptAll => sdk.decide(Choice::AcceptAll, "button:accept-all"),
        UiAction::RejectAll => sdk.decide(Choice::RejectAll, "button:reject-all"),
        UiAction::Save {
            categories,
            services,
        } => sdk.decide(
            Choice::Custom {
                categories,
                services,
            },
            "button:save",
        ),
        UiAction::Withdraw => sdk.withdraw("button:withdraw"),
        UiAction::OpenPreferences => {
            sdk.show_preferences();
            Ok(())
        }
        UiAction::Close => {
            sdk.close_preferences();
            Ok(())
        }
        UiAction::Language(language) => sdk.set_language(language.code()),
    };
    if let Err(message) = result {
        crate::browser::console_error(&message);
    }
}

impl Sdk {
    /// The config in force (an `Rc`: a language switch may replace it meanwhile).
    pub fn config(&self) -> Rc<Config> {
        self.config.borrow().clone()
    }

    pub fn consent(&self) -> Option<Consent> {
        self.consent.borrow().clone()
    }

    pub fn language(&self) -> Language {
        self.language.get()
    }

    /// Shows the first layer.
    pub fn show(&self) {
        if self.wait_for_body(Layer::Banner) {
            return;
        }
        let shown = {
            let consent = self.consent.borrow();
            let view = self.view(consent.as_ref());
            self.mounted_ui()
                .as_mut()
                .map(|ui| ui.show_banner(&view))
                .is_some()
        };
        if shown {
            if !self.impression_sent.replace(true) {
                receipts::impression(&self.config(), self.language.get());
            }
            emit_shown("banner");
        }
    }

    /// Opens the preferences dialog, switches set from the standing consent.
    pub fn show_preferences(&self) {
        if self.wait_for_body(Layer::Preferences) {
            return;
        }
        if self.preferences_apart() {
            self.preferences_wanted.set(true);
            let language = self.requested.get().unwrap_or(self.language.get());
            if let Err(message) = self.fetch_config(language, true) {
                crate::browser::console_error(&message);
            }
            return;
        }
        let shown = {
            let consent = self.consent.borrow();
            let view = self.view(consent.as_ref());
            let switches = initial_switches(&self.config(), consent.as_ref());
            match self.mounted_ui().as_mut() {
                Some(ui) if !ui.preferences_shown() => {
                    ui.open_preferences(&view, &switches);
                    true
                }
                _ => false,
            }
        };
        if shown {
            emit_shown("preferences");
        }
    }

    /// The interface, mounted on first use.
    fn mounted_ui(&self) -> std::cell::RefMut<'_, Option<Ui>> {
        let mut ui = self.ui.borrow_mut();
        if ui.is_none() {
            *ui = Ui::mount(&self.config(), on_ui_action);
        }
        ui
    }

    /// Shows the floating "Cookie settings" button once a choice exists and the page has a
    /// body (`ui.reopen: "button"`); idempotent.
    fn sync_reopen(&self) {
        let wanted = self.config().ui.reopen == Reopen::Button
            && self.consent.borrow().is_some()
            && document().body().is_some();
        let mut reopen = self.reopen.borrow_mut();
        if wanted && reopen.is_none() {
            *reopen = ReopenButton::mount(&self.config(), self.language.get());
        }
    }

    /// Removes the interface (the choice, if any, stands).
    pub fn hide(&self) {
        self.waiting_for_body.set(None);
        self.preferences_wanted.set(false);
        let ui = self.ui.borrow_mut().take();
        drop(ui);
    }

    /// Whether `layer` has to wait for the page's `<body>`, which is then remembered and
    /// shown by `show_waiting_layer` once the document observer sees the body added. The
    /// module can be ready while the parser is still in `<head>` (its files cached or
    /// preloaded, a slow script before `<body>`); the interface is mounted in the body, and a
    /// banner asked for then must still appear. Asking again while waiting replaces the
    /// layer; a choice or `hide()` in between cancels it.
    fn wait_for_body(&self, layer: Layer) -> bool {
        if document().body().is_some() {
            return false;
        }
        self.waiting_for_body.set(Some(layer));
        true
    }

    /// Shows the layer that was waiting for the page's `<body>`, if any and the body exists.
    fn show_waiting_layer(&self) {
        if document().body().is_none() {
            return;
        }
        match self.waiting_for_body.take() {
            Some(Layer::Banner) => self.show(),
            Some(Layer::Preferences) => self.show_preferences(),
            None => {}
        }
    }

    /// Closing the preferences before any choice returns to the first layer: the visitor
    /// still has to choose, and must not be left with no way to reject.
    fn close_preferences(&self) {
        let decided = self.consent.borrow().is_some();
        if decided {
            self.hide();
            return;
        }
        let needs_banner = {
            let mut ui = self.ui.borrow_mut();
            match ui.as_mut() {
                Some(ui) => {
                    ui.close_preferences();
                    !ui.banner_shown()
                }
                None => true,
            }
        };
        if needs_banner {
            self.show();
        }
    }

    /// Switches the interface language; what is shown is re-rendered with its state.
    pub fn set_language(&self, code: &str) -> Result<(), String> {
        let language = code
            .parse::<Language>()
            .ok()
            .filter(|language| self.config().languages.contains(language))
            .ok_or_else(|| {
                let mut enabled: Vec<&str> = Vec::new();
                for language in &self.config().languages {
                    enabled.push(language.code());
                }
                [
                    "setLanguage: `",
                    code,
                    "` is not one of this site's languages (",
                    &enabled.join(", "),
                    ")",
                ]
                .concat()
            })?;
        let compiled_language = self
            .config()
            .resolved
            .as_ref()
            .and_then(|resolved| resolved.language);
        let preferences_open = self.ui.borrow().as_ref().is_some_and(Ui::preferences_shown);
        // Re-rendered once the config of that language is here, whole if the dialog is open.
        if compiled_language.is_some_and(|loaded| loaded != language)
            || (preferences_open && self.preferences_apart())
        {
            return self.fetch_config(language, preferences_open);
        }
        self.language.set(language);
        if let Some(reopen) = self.reopen.borrow().as_ref() {
            reopen.set_language(&self.config(), language);
        }
        let consent = self.consent.borrow();
        let view = self.view(consent.as_ref());
        if let Some(ui) = self.ui.borrow_mut().as_mut() {
            ui.rerender(&view);
        }
        Ok(())
    }

    /// Whether the running config keeps its preferences dialog apart (`preferences_href`).
    fn preferences_apart(&self) -> bool {
        kelisim_core::compiled::preferences_apart(&crate::boundary::Js(
            self.compiled.borrow().clone(),
        ))
    }

    /// A compiled config holds one language, and as served keeps the preferences dialog
    /// apart: fetches the config of `language` (laid over with the dialog when `whole`)
    /// through the loader, then switches to it, and opens the preferences if they were asked
    /// for meanwhile. What is shown stays as it is until it arrives.
    fn fetch_config(&self, language: Language, whole: bool) -> Result<(), String> {
        let Some(config_for) = &self.config_for else {
            return Err(
                "kelisim.js fetches the configs of other languages and the preferences dialog, and this page started kelisim without it"
                    .into(),
            );
        };
        self.requested.set(Some(language));
        let promise = config_for
            .call2(
                &JsValue::NULL,
                &JsValue::from_str(language.code()),
                &JsValue::from_bool(whole),
            )
            .unwrap_or(JsValue::UNDEFINED);
        let then = crate::browser::property(&promise, "then");
        let Some(then) = then.dyn_ref::<js_sys::Function>() else {
            return Err("the loader gave no config".into());
        };
        let site = self.config().site.clone();
        let arrived = crate::browser::once(move |value| {
            let Some(sdk) = current() else { return };
            // A later request (another language switch) supersedes this one.
            if sdk.requested.get() != Some(language) {
                return;
            }
            sdk.requested.set(None);
            let preferences_wanted = sdk.preferences_wanted.take();
            // The variant shown stays the one shown.
            let shown = sdk.config().ui.variant.clone();
            let read = crate::boundary::compiled_object(&value).and_then(|value| {
                let config = crate::boundary::config_from_js(&value, shown.as_deref())?;
                Ok((config, value))
            });
            match read {
                Ok((config, value)) if config.site == site && config.resolved.is_some() => {
                    *sdk.config.borrow_mut() = Rc::new(config);
                    *sdk.compiled.borrow_mut() = value;
                    if let Err(message) = sdk.set_language(language.code()) {
                        crate::browser::console_error(&message);
                    }
                    if preferences_wanted {
                        sdk.show_preferences();
                    }
                }
                Ok(_) => crate::browser::console_error(
                    "the config fetched is not a compiled config of this site",
                ),
                Err(error) => crate::browser::console_error(&error.describe()),
            }
        });
        let failed = crate::browser::once(move |error| {
            // The visitor may ask again; nothing opens by itself later.
            if let Some(sdk) = current().filter(|sdk| sdk.requested.get() == Some(language)) {
                sdk.requested.set(None);
                sdk.preferences_wanted.set(false);
            }
            crate::browser::console_error(
                &[
                    "the config of `",
                    language.code(),
                    "` did not load: ",
                    &crate::browser::property(&error, "message")
                        .as_string()
                        .unwrap_or_default(),
                ]
                .concat(),
            );
        });
        let _ = then.call2(&promise, &arrived, &failed);
        Ok(())
    }

    /// Applies a choice: stores it, cleans up what was revoked, tells vendors, activates what
    /// is now allowed, and emits `consent` (first choice) or `change`.
    /// `method` records how the choice was collected (`button:save`, `api:acceptAll`, ...).
    pub fn decide(&self, choice: Choice, method: &str) -> Result<(), String> {
        let action = choice.action();
        self.apply(choice, action, method)
    }

    /// Withdraws consent: every optional category is refused, with its own event.
    pub fn withdraw(&self, method: &str) -> Result<(), String> {
        if self.consent.borrow().is_none() {
            return Err("withdraw: there is no consent to withdraw yet".into());
        }
        self.apply(Choice::RejectAll, Action::Withdraw, method)
    }

    pub fn accepted(&self, category: &str) -> bool {
        self.consent
            .borrow()
            .as_ref()
            .is_some_and(|c| c.category_granted(category))
    }

    pub fn accepted_service(&self, service: &str) -> bool {
        self.consent
            .borrow()
            .as_ref()
            .is_some_and(|c| c.service_granted(service))
    }

    /// `getConsent()`: a plain object, or `null` before any choice.
    pub fn consent_js(&self) -> JsValue {
        match self.consent.borrow().as_ref() {
            Some(consent) => consent_to_js(&self.config(), consent, Self::receipt_id(consent)),
            None => JsValue::NULL,
        }
    }

    fn apply(&self, choice: Choice, action: Action, method: &str) -> Result<(), String> {
        let config = self.config();
        let grants = config
            .grants_for(&choice)
            .map_err(|error| error.describe())?;
        let previous = self.consent();
        let consent_id = previous
            .as_ref()
            .map(|c| c.consent_id.clone())
            .or_else(|| self.earlier_consent_id.clone())
            .unwrap_or_else(random_uuid);
        let consent = Consent::new(
            consent_id,
            &config,
            now_seconds(),
            self.language.get(),
            grants,
        );
        storage::write_consent_cookie(
            &encode_cookie(&consent),
            config.expiry_days,
            config.cookie_domain.as_deref(),
        );
        *self.consent.borrow_mut() = Some(consent.clone());
        // After the new consent is stored: `clear_revoked` skips whatever it still grants.
        let mut revoked: Vec<String> = Vec::new();
        for service in revoked_services(&config, previous.as_ref(), &consent) {
            revoked.push(service.id.clone());
        }
        self.clear_revoked(&revoked);
        if !revoked.is_empty() {
            // Some vendors write their cookies again from timers or late callbacks: look again
            // after the page's own scripts had their turn.
            // Only this SDK instance: after destroy() and a new init the timers do nothing.
            let this: *const Sdk = self;
            for &delay in &[1_500, 5_000] {
                let revoked = revoked.clone();
                schedule(delay, move || {
                    if let Some(sdk) = current().filter(|sdk| std::ptr::eq(Rc::as_ptr(sdk), this)) {
                        sdk.clear_revoked(&revoked);
                    }
                });
            }
        }
        // An explicit choice replaces the GPC refusal, and the banner stops mentioning it.
        self.gpc_honoured.set(action == Action::Gpc);
        self.hide();
        self.sync_reopen();

        if config.uses_vendor(Vendor::GoogleConsentMode) {
            send_consent_mode("update", &config, Some(&consent));
        }
        set_metrika_flags(&config, Some(&consent));
        self.activate(gating::gated_elements());
        // After activation: the snippets of vendors just granted are on the page now and hear
        // it too (a tag that was there already hears a revocation as soon).
        tell_vendors(&config, Some(&consent));
        receipts::record(&config, &consent, action, method);

        let event = match (action, &previous) {
            (Action::Withdraw, _) => "withdraw",
            (_, None) => "consent",
            (_, Some(_)) => "change",
        };
        if config.uses_vendor(Vendor::Gtm) {
            events::push_data_layer(
                event,
                &[
                    (
                        "kelisim_categories",
                        crate::boundary::list(consent.granted_categories.as_slice()),
                    ),
                    ("kelisim_action", action.as_str().into()),
                ],
            );
        }
        let consent_js = consent_to_js(&config, &consent, Self::receipt_id(&consent));
        events::emit(
            event,
            &detail(&[("action", action.as_str().into()), ("consent", consent_js)]),
        );
        Ok(())
    }

    /// Deletes the cookies and storage of services that are still revoked.
    fn clear_revoked(&self, service_ids: &[String]) {
        let consent = self.consent();
        for id in service_ids {
            if consent.as_ref().is_some_and(|c| c.service_granted(id)) {
                continue;
            }
            if let Some((_, service)) = self.config().service(id) {
                storage::clear_cookies(&service.cookies, &service.cookie_paths);
                storage::clear_local_storage(&service.local_storage);
            }
        }
    }

    fn activate(&self, elements: Vec<Element>) {
        let consent = self.consent();
        embeds::sync(
            &self.config(),
            consent.as_ref(),
            self.language.get(),
            &elements,
        );
        if let Some(consent) = consent {
            gating::activate(&self.config(), &consent, &elements);
        }
    }

    /// "Load once" activates one embed for this page view; "always allow" grants its service
    /// on top of what the visitor already granted.
    fn on_embed_action(&self, action: EmbedAction) {
        match action {
            EmbedAction::LoadOnce(iframe) => gating::activate_now(&iframe),
            EmbedAction::AlwaysAllow(service) => {
                let mut categories = Vec::new();
                let mut services = Vec::new();
                if let Some(consent) = self.consent() {
                    for id in consent.granted_categories.iter() {
                        categories.push(id.to_owned());
                    }
                    for id in consent.granted_services.iter() {
                        services.push(id.to_owned());
                    }
                }
                services.push(service);
                let choice = Choice::Custom {
                    categories,
                    services,
                };
                if let Err(message) = self.decide(choice, "button:embed-allow") {
                    crate::browser::console_error(&message);
                }
            }
        }
    }

    /// The id of the last receipt of `consent` the receipts server acknowledged.
    fn receipt_id(consent: &Consent) -> Option<String> {
        receipts::last_receipt(&consent.consent_id).map(|last| last.receipt_id)
    }

    fn view<'a>(&'a self, consent: Option<&'a Consent>) -> View<'a> {
        View {
            config: self.config(),
            compiled: self.compiled.borrow().clone(),
            language: self.language.get(),
            consent,
            last_receipt: consent.and_then(|c| receipts::last_receipt(&c.consent_id)),
            gpc_honoured: self.gpc_honoured.get(),
        }
    }
}

/// The `shown` event for `layer` (`banner` or `preferences`).
fn emit_shown(layer: &str) {
    events::emit("shown", &detail(&[("layer", layer.into())]));
}

/// An event detail object from key/value pairs.
fn detail(fields: &[(&str, JsValue)]) -> JsValue {
    let object = js_sys::Object::new();
    crate::browser::set_properties(&object, fields);
    object.into()
}
