//! Google Consent Mode v2: which of the seven signals each category stands for, and their
//! values for a consent (or for no consent yet: everything denied but security).
//!
//! Pure; the loader and the SDK call `gtag('consent', ...)` with what this returns.

use crate::config::Config;
use crate::consent::Consent;

/// The seven Consent Mode v2 signals.
pub const SIGNALS: [&str; 7] = [
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
];

/// Signals a well-known category id stands for. `security_storage` belongs to no optional
/// category: it covers fraud prevention and authentication, which are necessary.
pub fn signals_of_category(id: &str) -> &'static [&'static str] {
    match id {
        "analytics" | "statistics" | "performance" => &["analytics_storage"],
        "marketing" | "advertising" | "ads" => {
            &["ad_storage", "ad_user_data", "ad_personalization"]
        }
        "functional" | "functionality" | "preferences" => {
            &["functionality_storage", "personalization_storage"]
        }
        "personalization" => &["personalization_storage"],
        _ => &[],
    }
}

/// Each signal with `true` for granted. Without a consent only `security_storage` is granted,
/// which is the default the loader sets before any tag runs.
pub fn consent_mode_signals(
    config: &Config,
    consent: Option<&Consent>,
) -> Vec<(&'static str, bool)> {
    let mut signals = Vec::new();
    for &signal in &SIGNALS {
        let granted = signal == "security_storage"
            || consent.is_some_and(|consent| {
                config.categories.iter().any(|category| {
                    consent.category_granted(&category.id)
                        && signals_of_category(&category.id).contains(&signal)
                })
            });
        signals.push((signal, granted));
    }
    signals
}
