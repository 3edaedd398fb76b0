//! Consent decisions, revision and expiry handling, and Consent Mode signals.

use kelisim_core::consent::revoked_services;
use kelisim_core::consent_mode::consent_mode_signals;
use kelisim_core::{Choice, ChoiceError, Config, Consent, Language};

const NOW: u64 = 1_795_000_000;
const ID: &str = "3f2a9c1e-7d4b-4e8a-9a51-0c6b2d8e4f10";

fn config() -> Config {
    let value: kelisim_core::Value =
        serde_json::from_str(include_str!("../../../www/kelisim.json")).unwrap();
    Config::from_value(&value).unwrap()
}

fn decide(config: &Config, choice: Choice) -> Consent {
    let grants = config.grants_for(&choice).expect("valid choice");
    Consent::new(ID.into(), config, NOW, Language::Ru, grants)
}

fn custom(categories: &[&str], services: &[&str]) -> Choice {
    Choice::Custom {
        categories: categories.iter().map(|s| s.to_string()).collect(),
        services: services.iter().map(|s| s.to_string()).collect(),
    }
}

fn check(choice: Choice, categories: &[&str], services: &[&str]) {
    let config = config();
    let consent = decide(&config, choice.clone());
    let got_categories: Vec<&str> = consent.granted_categories.iter().collect();
    let got_services: Vec<&str> = consent.granted_services.iter().collect();
    assert_eq!(got_categories, categories, "categories of {choice:?}");
    assert_eq!(got_services, services, "services of {choice:?}");
}

#[test]
fn accept_all_grants_everything() {
    check(
        Choice::AcceptAll,
        &["analytics", "functional", "marketing", "necessary"],
        &[
            "2gis",
            "google-analytics",
            "meta-pixel",
            "shop-session",
            "yandex-metrika",
        ],
    );
}

#[test]
fn reject_all_keeps_only_required() {
    check(Choice::RejectAll, &["necessary"], &["shop-session"]);
}

#[test]
fn custom_by_category() {
    check(
        custom(&["analytics"], &[]),
        &["analytics", "necessary"],
        &["google-analytics", "shop-session", "yandex-metrika"],
    );
    check(custom(&[], &[]), &["necessary"], &["shop-session"]);
}

#[test]
fn custom_services_narrow_only_their_category() {
    check(
        custom(&["analytics", "marketing"], &["yandex-metrika"]),
        &["analytics", "marketing", "necessary"],
        &["meta-pixel", "shop-session", "yandex-metrika"],
    );
    // Naming a service grants its category even when the category is not listed.
    check(
        custom(&[], &["2gis"]),
        &["functional", "necessary"],
        &["2gis", "shop-session"],
    );
}

#[test]
fn unknown_ids_are_errors() {
    let config = config();
    assert!(
        matches!(config.grants_for(&custom(&["analitics"], &[])), Err(ChoiceError::UnknownCategory(id, _)) if id == "analitics")
    );
    assert!(
        matches!(config.grants_for(&custom(&[], &["ga"])), Err(ChoiceError::UnknownService(id, _)) if id == "ga")
    );
}

#[test]
fn revision_and_expiry() {
    let config = config();
    let consent = decide(&config, Choice::AcceptAll);
    assert!(consent.is_current(&config, NOW));
    assert!(consent.is_current(&config, NOW + 364 * 86_400));
    assert!(
        !consent.is_current(&config, NOW + 365 * 86_400),
        "expired after expiry_days"
    );
    let mut raised = config.clone();
    raised.revision += 1;
    assert!(
        !consent.is_current(&raised, NOW),
        "a raised revision re-prompts"
    );
    assert!(
        !consent.is_current(&config, NOW - 2 * 86_400),
        "a choice from the future does not count"
    );
}

#[test]
fn denied_lists() {
    let config = config();
    let consent = decide(&config, custom(&["analytics"], &["google-analytics"]));
    assert_eq!(
        consent.denied_categories(&config),
        ["marketing", "functional"]
    );
    assert_eq!(
        consent.denied_services(&config),
        ["yandex-metrika", "meta-pixel", "2gis"]
    );
    assert!(!consent.grants_everything(&config));
    assert!(decide(&config, Choice::AcceptAll).grants_everything(&config));
}

#[test]
fn revoked_services_are_those_granted_before_only() {
    let config = config();
    let before = decide(&config, Choice::AcceptAll);
    let after = decide(&config, custom(&["analytics"], &["yandex-metrika"]));
    let revoked: Vec<&str> = revoked_services(&config, Some(&before), &after)
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    assert_eq!(revoked, ["google-analytics", "meta-pixel", "2gis"]);
    assert!(revoked_services(&config, None, &after).is_empty());
}

#[test]
fn consent_mode_defaults_and_updates() {
    let config = config();
    let granted = |consent: Option<&Consent>| -> Vec<&str> {
        consent_mode_signals(&config, consent)
            .into_iter()
            .filter(|(_, g)| *g)
            .map(|(s, _)| s)
            .collect()
    };
    assert_eq!(granted(None), ["security_storage"]);
    assert_eq!(
        granted(Some(&decide(&config, custom(&["analytics"], &[])))),
        ["analytics_storage", "security_storage"]
    );
    assert_eq!(consent_mode_signals(&config, None).len(), 7);
    assert_eq!(granted(Some(&decide(&config, Choice::AcceptAll))).len(), 7);
}
