//! kelisim browser SDK: a bilingual consent banner that keeps a store's tags inert until the
//! visitor grants their category.
//!
//! This file is the JS API boundary. The module exports one function, [`command`], which the
//! loader and the npm entry call as `command(name, args)`; it hands the arguments to the API
//! function of that name, which converts them once (`boundary`) and calls the typed SDK
//! (`sdk`). API functions never throw: bad input is reported with one `console.error` that
//! names the argument or config field, and the call does nothing (`init` and `accept` return
//! `false`).
//!
//! Code map: `sdk` (state and the effects of a choice), `ui` (the two layers), `gating`
//! (activating tags), `embeds` (placeholders of blocked iframes), `receipts` (outbox, sending,
//! impressions), `storage` (cookie, clean-up), `events` (listeners, CustomEvents, dataLayer),
//! `vendors` (Consent Mode, Meta Pixel, Metrika), `browser` (checked access to window/document).
//! Consent in forms is the forms module's (`crates/kelisim-forms`), which the loader imports
//! and hands forms to; this module knows nothing of forms.

#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: lol_alloc::LockedAllocator<lol_alloc::FreeListAllocator> =
    lol_alloc::LockedAllocator::new(lol_alloc::FreeListAllocator::new());

pub mod boundary;
pub mod browser;
pub mod dom;
pub mod embeds;
pub mod events;
pub mod gating;
pub mod helpers;
pub mod receipts;
pub mod sdk;
pub mod storage;
pub mod ui;
pub mod vendors;

use browser::{console_error, console_warn};
use kelisim_core::Choice;
use wasm_bindgen::prelude::*;

/// Every API call `command` knows, in the order the README lists them.
pub const COMMANDS: [&str; 13] = [
    "init",
    "show",
    "showPreferences",
    "hide",
    "acceptAll",
    "rejectAll",
    "accept",
    "withdraw",
    "accepted",
    "acceptedService",
    "getConsent",
    "setLanguage",
    "destroy",
];

/// The module's one export: runs API call `name` (`kelisim.<name>(...)`) with the arguments
/// in `args` and returns its result (`undefined` for calls without one). One export instead of
/// one per call: each export is a wrapper in the module and another in the glue.
#[cfg_attr(feature = "export", wasm_bindgen)]
pub fn command(name: &str, args: js_sys::Array) -> JsValue {
    // `get_unchecked` is JS's `args[index]` (`undefined` past the end), the accessor
    // js-sys's array iterator imports too.
    let arg = |index| args.get_unchecked(index);
    let text = |index| arg(index).as_string().unwrap_or_default();
    match name {
        "init" => return init(arg(0), arg(1)).into(),
        "accept" => return accept(arg(0), arg(1)).into(),
        "accepted" => return accepted(&text(0)).into(),
        "acceptedService" => return accepted_service(&text(0)).into(),
        "getConsent" => return get_consent(),
        "show" => show(),
        "showPreferences" => show_preferences(),
        "hide" => hide(),
        "acceptAll" => accept_all(),
        "rejectAll" => reject_all(),
        "withdraw" => withdraw(),
        "setLanguage" => set_language(&text(0)),
        "destroy" => destroy(),
        _ => console_error(
            &[
                "unknown command `",
                name,
                "`; use one of ",
                &COMMANDS.join(", "),
            ]
            .concat(),
        ),
    }
    JsValue::UNDEFINED
}

/// `kelisim.init(config)`: validates the config and starts. An invalid config logs one error
/// naming the field and shows nothing. `options` is for the loader (`consentModeDefaults`).
pub fn init(compiled: JsValue, options: JsValue) -> bool {
    let kept_variant = storage::get_item(sdk::VARIANT_KEY);
    let read = boundary::compiled_object(&compiled).and_then(|compiled| {
        let config = boundary::config_from_js(&compiled, kept_variant.as_deref())?;
        Ok((config, compiled))
    });
    let (config, compiled) = match read {
        Ok(read) => read,
        Err(error) => {
            console_error(
                &[
                    &error.describe(),
                    ". Nothing is shown until the config is fixed.",
                ]
                .concat(),
            );
            return false;
        }
    };
    let options = boundary::init_options_from_js(&options);
    match sdk::init(config, compiled, options, kept_variant.as_deref()) {
        Ok(()) => true,
        Err(message) => {
            console_warn(&message);
            false
        }
    }
}

/// `kelisim.show()`: shows the first layer, even when a choice exists.
pub fn show() {
    with_sdk("show", |sdk| sdk.show());
}

/// `kelisim.showPreferences()`: opens the preferences dialog.
pub fn show_preferences() {
    with_sdk("showPreferences", |sdk| sdk.show_preferences());
}

/// `kelisim.hide()`: removes the banner and dialog without choosing.
pub fn hide() {
    with_sdk("hide", |sdk| sdk.hide());
}

/// `kelisim.acceptAll()`.
pub fn accept_all() {
    with_sdk("acceptAll", |sdk| {
        report(sdk.decide(Choice::AcceptAll, "api:acceptAll"))
    });
}

/// `kelisim.rejectAll()`.
pub fn reject_all() {
    with_sdk("rejectAll", |sdk| {
        report(sdk.decide(Choice::RejectAll, "api:rejectAll"))
    });
}

/// `kelisim.accept(categories, services?)`: grants exactly these categories (required ones
/// always); `services`, when it names services of a category, narrows that category to them.
pub fn accept(categories: JsValue, services: JsValue) -> bool {
    let choice = boundary::string_list(&categories, "categories").and_then(|categories| {
        Ok(Choice::Custom {
            categories,
            services: boundary::string_list(&services, "services")?,
        })
    });
    let choice = match choice {
        Ok(choice) => choice,
        Err(message) => {
            console_error(&["accept: ", &message].concat());
            return false;
        }
    };
    with_sdk("accept", |sdk| report(sdk.decide(choice, "api:accept"))).unwrap_or(false)
}

/// `kelisim.withdraw()`: withdraws consent; every optional category is refused.
pub fn withdraw() {
    with_sdk("withdraw", |sdk| report(sdk.withdraw("api:withdraw")));
}

/// `kelisim.accepted(category)`: `false` before `init` and before any choice.
pub fn accepted(category: &str) -> bool {
    sdk::current().is_some_and(|sdk| sdk.accepted(category))
}

/// `kelisim.acceptedService(id)`.
pub fn accepted_service(service: &str) -> bool {
    sdk::current().is_some_and(|sdk| sdk.accepted_service(service))
}

/// `kelisim.getConsent()`: the standing choice as a plain object, or `null`.
pub fn get_consent() -> JsValue {
    sdk::current()
        .map(|sdk| sdk.consent_js())
        .unwrap_or(JsValue::NULL)
}

/// `kelisim.setLanguage(code)`.
pub fn set_language(code: &str) {
    with_sdk("setLanguage", |sdk| report(sdk.set_language(code)));
}

/// `kelisim.destroy()`: removes the interface, listeners and observer (for SPA frameworks and
/// tests); `init` may be called again afterwards.
pub fn destroy() {
    sdk::destroy();
}

fn with_sdk<T>(call: &str, f: impl FnOnce(&sdk::Sdk) -> T) -> Option<T> {
    running_sdk(call).map(|sdk| f(&sdk))
}

/// The running SDK, or a console error naming `call`.
fn running_sdk(call: &str) -> Option<std::rc::Rc<sdk::Sdk>> {
    let sdk = sdk::current();
    if sdk.is_none() {
        console_error(
            &[
                call,
                "() was called before init() succeeded; it did nothing",
            ]
            .concat(),
        );
    }
    sdk
}

fn report(result: Result<(), String>) -> bool {
    match result {
        Ok(()) => true,
        Err(message) => {
            console_error(&message);
            false
        }
    }
}
