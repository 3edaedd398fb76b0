//! The rule on a gated element: `data-category` (optionally `!negated`) and `data-service`,
//! as in vanilla-cookieconsent v3 markup, and whether a consent lets the element run.
//!
//! Pure: the SDK reads the attributes and activates the element; this module only decides.

use crate::consent::Consent;

/// The parsed gating attributes of one element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GateRule {
    pub category: String,
    /// `data-category="!analytics"`: runs when the category is *denied* (e.g. a fallback).
    pub category_negated: bool,
    pub service: Option<String>,
    /// `data-service="!yandex-metrika"`: runs when that service is denied.
    pub service_negated: bool,
}

impl GateRule {
    /// Parses the attribute values; `None` for an empty category (such an element is ignored).
    pub fn parse(category_attribute: &str, service_attribute: Option<&str>) -> Option<GateRule> {
        let (category_negated, category) = split_negation(category_attribute.trim_ascii());
        if category.is_empty() {
            return None;
        }
        let (service_negated, service) = match service_attribute.map(str::trim_ascii) {
            Some(value) if !split_negation(value).1.is_empty() => {
                let (negated, service) = split_negation(value);
                (negated, Some(service.to_owned()))
            }
            _ => (false, None),
        };
        Some(GateRule {
            category: category.to_owned(),
            category_negated,
            service,
            service_negated,
        })
    }

    /// Whether the element may run under `consent`. Nothing runs before a choice is made, not
    /// even `!category` elements: the visitor has not denied anything yet.
    pub fn allows(&self, consent: &Consent) -> bool {
        if self.category_negated {
            return !consent.category_granted(&self.category);
        }
        if !consent.category_granted(&self.category) {
            return false;
        }
        match &self.service {
            None => true,
            Some(service) => consent.service_granted(service) != self.service_negated,
        }
    }
}

fn split_negation(value: &str) -> (bool, &str) {
    match value.strip_prefix("!") {
        Some(rest) => (true, rest.trim_ascii()),
        None => (false, value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;

    fn consent(categories: &[&str], services: &[&str]) -> Consent {
        Consent {
            consent_id: "3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10".into(),
            revision: 0,
            decided_at: 0,
            language: Language::Kk,
            granted_categories: categories.iter().map(|s| s.to_string()).collect(),
            granted_services: services.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn check(category: &str, service: Option<&str>, consent: &Consent, expected: bool) {
        let rule = GateRule::parse(category, service).expect("rule parses");
        assert_eq!(rule.allows(consent), expected, "{category} / {service:?}");
    }

    #[test]
    fn category_only() {
        let analytics = consent(&["necessary", "analytics"], &["yandex-metrika"]);
        check("analytics", None, &analytics, true);
        check("marketing", None, &analytics, false);
        check(" analytics ", None, &analytics, true);
    }

    #[test]
    fn category_and_service() {
        let only_metrika = consent(&["analytics"], &["yandex-metrika"]);
        check("analytics", Some("yandex-metrika"), &only_metrika, true);
        check("analytics", Some("google-analytics"), &only_metrika, false);
        check("analytics", Some("!google-analytics"), &only_metrika, true);
        check("analytics", Some(""), &only_metrika, true);
    }

    #[test]
    fn negated_category_runs_when_denied() {
        let rejected = consent(&["necessary"], &[]);
        check("!marketing", None, &rejected, true);
        check("!necessary", None, &rejected, false);
        check("!analytics", None, &consent(&["analytics"], &[]), false);
    }

    #[test]
    fn empty_category_is_not_a_rule() {
        assert_eq!(GateRule::parse("", None), None);
        assert_eq!(GateRule::parse("!", Some("x")), None);
    }
}
