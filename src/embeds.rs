//! Placeholders for blocked embeds: an `<iframe data-category data-service data-src>` (a 2GIS
//! or Yandex map, a YouTube video) that may not load yet is hidden behind a placeholder in the
//! visitor's language naming the service and its country of processing, with "load once" (this
//! embed, this page view, no change of consent) and "always allow" (grant the service).
//!
//! Owns the placeholder nodes, which live beside their iframe in the store's page (not under
//! `#kelisim`); each is a stand-in `gating` removes when its iframe is activated.

use crate::dom::{
    append_text, closest, element, find_in_page, insert_before, matches, next_number, set_attr,
    set_hidden, set_style,
};
use crate::gating::{
    STAND_IN_FOR_ATTRIBUTE as FOR_ATTRIBUTE, STAND_IN_ID_ATTRIBUTE as ID_ATTRIBUTE,
};
use kelisim_core::strings::decimal;
use kelisim_core::texts::fill;
use kelisim_core::{Config, Consent, Language};
use web_sys::Element;

const PLACEHOLDER_CLASS: &str = "kelisim-embed";

/// What a placeholder button asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EmbedAction {
    LoadOnce(Element),
    AlwaysAllow(String),
}

/// Puts a placeholder in front of every gated iframe that may not load under `consent`
/// (all of them before a choice), and removes those whose iframe may now load.
pub fn sync(config: &Config, consent: Option<&Consent>, language: Language, elements: &[Element]) {
    for element in elements {
        if !matches(element, "iframe") || element.has_attribute("data-kelisim-activated") {
            continue;
        }
        let Some(rule) = crate::gating::rule_of(element) else {
            continue;
        };
        let allowed = consent.is_some_and(|consent| rule.allows(consent));
        // A `!` rule is a fallback shown when something is denied: it needs no placeholder.
        if allowed
            || element.has_attribute(ID_ATTRIBUTE)
            || rule.category_negated
            || rule.service_negated
        {
            continue;
        }
        let Some((_, service)) = rule.service.as_deref().and_then(|id| config.service(id)) else {
            continue;
        };
        if let Some(placeholder) = render(
            config,
            language,
            element,
            &service.id,
            &service.name,
            &service.country,
        ) {
            insert_before(element, &placeholder);
            set_hidden(element, true);
        }
    }
}

/// The placeholder action of a click on `target`, if it hit a placeholder button.
pub fn action_of(target: &Element) -> Option<EmbedAction> {
    let button = closest(target, "[data-kelisim-embed-action]")?;
    let placeholder = closest(&button, &[".", PLACEHOLDER_CLASS].concat())?;
    let id = placeholder.get_attribute(FOR_ATTRIBUTE)?;
    let iframe = find_in_page(&["[", ID_ATTRIBUTE, "=\"", &id, "\"]"].concat())?;
    match button.get_attribute("data-kelisim-embed-action")?.as_str() {
        "load-once" => Some(EmbedAction::LoadOnce(iframe)),
        "always-allow" => Some(EmbedAction::AlwaysAllow(
            iframe.get_attribute("data-service")?,
        )),
        _ => None,
    }
}

fn render(
    config: &Config,
    language: Language,
    iframe: &Element,
    service_id: &str,
    name: &str,
    country: &str,
) -> Option<Element> {
    let id = decimal(next_number().into());
    set_attr(iframe, ID_ATTRIBUTE, &id);
    let texts = config.texts(language);
    let placeholder = element("div", PLACEHOLDER_CLASS);
    set_attr(&placeholder, FOR_ATTRIBUTE, &id);
    set_attr(&placeholder, "lang", language.code());
    set_attr(&placeholder, "data-kelisim-service", service_id);
    // Keep the iframe's box so the page does not jump when the embed loads.
    for &(attribute, property) in &[("width", "width"), ("height", "min-height")] {
        if let Some(value) = iframe.get_attribute(attribute) {
            let value = if value.bytes().all(|b| b.is_ascii_digit()) {
                value + "px"
            } else {
                value
            };
            set_style(&placeholder, property, &value);
        }
    }
    let notice = fill(
        &fill(texts.embed_notice(), "service", name),
        "country",
        config.country_name(country),
    );
    append_text(&placeholder, "p", "", &notice);
    for &(action, label) in &[
        ("load-once", texts.load_once()),
        ("always-allow", texts.always_allow()),
    ] {
        let button = append_text(&placeholder, "button", "", label);
        set_attr(&button, "type", "button");
        set_attr(&button, "data-kelisim-embed-action", action);
    }
    Some(placeholder)
}
