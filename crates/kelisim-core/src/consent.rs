//! The consent model: what a visitor granted, how a choice becomes grants, and when a stored
//! choice still counts.
//!
//! Owns `Consent`, `Choice` and `Action`. Pure: the caller supplies the consent id (random, from
//! the browser) and the time, so every rule here is testable natively.

use crate::config::Config;
use crate::ids::IdSet;
use crate::language::Language;

/// A visitor's standing choice for one site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// Random id of this browser's consent, kept across changes so its history can be proven.
    pub consent_id: String,
    /// The config `revision` the choice was made under.
    pub revision: u32,
    /// Unix time of the choice, in seconds.
    pub decided_at: u64,
    /// Interface language the choice was made in.
    pub language: Language,
    /// Granted category ids; always includes the required ones.
    pub granted_categories: IdSet,
    /// Granted service ids; a granted service's category is always granted too.
    pub granted_services: IdSet,
}

/// What the visitor (or the site, through the JS API) chose.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Choice {
    AcceptAll,
    RejectAll,
    /// Grant these categories; when `services` names any service of a category, only the
    /// named services of that category are granted, otherwise all of them.
    Custom {
        categories: Vec<String>,
        services: Vec<String>,
    },
}

/// The largest receipt (its JSON text, in bytes) the receipts server accepts, and so the
/// largest the SDK queues and sends: a bigger one could never be stored.
pub const MAX_RECEIPT_BYTES: usize = 16 * 1024;

/// How a choice came about; recorded in events and receipts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    AcceptAll,
    RejectAll,
    Custom,
    Withdraw,
    Gpc,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::AcceptAll => "accept_all",
            Action::RejectAll => "reject_all",
            Action::Custom => "custom",
            Action::Withdraw => "withdraw",
            Action::Gpc => "gpc",
        }
    }
}

impl Choice {
    pub fn action(&self) -> Action {
        match self {
            Choice::AcceptAll => Action::AcceptAll,
            Choice::RejectAll => Action::RejectAll,
            Choice::Custom { .. } => Action::Custom,
        }
    }
}

/// A choice named an id the config does not have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChoiceError {
    /// The unknown id and the config's categories.
    UnknownCategory(String, String),
    /// The unknown id and the config's services.
    UnknownService(String, String),
}

impl ChoiceError {
    /// The text of `Display`, built without the formatting machinery (see `ConfigError`).
    pub fn describe(&self) -> String {
        let (kind, id, known) = match self {
            ChoiceError::UnknownCategory(id, known) => ("category", id, known),
            ChoiceError::UnknownService(id, known) => ("service", id, known),
        };
        [
            "unknown ",
            kind,
            " `",
            id,
            "`; the config's ",
            kind,
            "s are: ",
            known,
        ]
        .concat()
    }
}

impl std::fmt::Display for ChoiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for ChoiceError {}

/// Granted categories and services resulting from a choice.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    pub categories: IdSet,
    pub services: IdSet,
}

impl Config {
    /// Turns a choice into grants. Required categories (and their services) are always granted.
    pub fn grants_for(&self, choice: &Choice) -> Result<Grants, ChoiceError> {
        let mut grants = Grants::default();
        let grant_category = |grants: &mut Grants, id: &str, only: Option<&Vec<&str>>| {
            grants.categories.insert(id.to_owned());
            if let Some(category) = self.category(id) {
                for service in &category.services {
                    if only.is_none_or(|only| only.contains(&service.id.as_str())) {
                        grants.services.insert(service.id.clone());
                    }
                }
            }
        };
        for category in self.categories.iter().filter(|c| c.required) {
            grant_category(&mut grants, &category.id, None);
        }
        match choice {
            Choice::AcceptAll => {
                for category in &self.categories {
                    grant_category(&mut grants, &category.id, None);
                }
            }
            Choice::RejectAll => {}
            Choice::Custom {
                categories,
                services,
            } => {
                for id in categories {
                    if self.category(id).is_none() {
                        let mut known: Vec<&str> = Vec::new();
                        for category in &self.categories {
                            known.push(&category.id);
                        }
                        return Err(ChoiceError::UnknownCategory(id.clone(), known.join(", ")));
                    }
                }
                let mut named_services: Vec<&str> = Vec::new();
                let mut categories_with_named_services: Vec<&str> = Vec::new();
                for id in services {
                    let Some((category, _)) = self.service(id) else {
                        let mut known: Vec<&str> = Vec::new();
                        for service in &self.services() {
                            known.push(&service.id);
                        }
                        return Err(ChoiceError::UnknownService(id.clone(), known.join(", ")));
                    };
                    named_services.push(id);
                    categories_with_named_services.push(&category.id);
                }
                for id in categories
                    .iter()
                    .map(String::as_str)
                    .chain(categories_with_named_services.iter().copied())
                {
                    let only = categories_with_named_services
                        .contains(&id)
                        .then_some(&named_services);
                    grant_category(&mut grants, id, only);
                }
                // Required services stay granted even when `services` did not name them.
                for category in &self.categories {
                    if category.required {
                        for service in &category.services {
                            grants.services.insert(service.id.clone());
                        }
                    }
                }
            }
        }
        Ok(grants)
    }
}

impl Consent {
    pub fn new(
        consent_id: String,
        config: &Config,
        decided_at: u64,
        language: Language,
        grants: Grants,
    ) -> Consent {
        Consent {
            consent_id,
            revision: config.revision,
            decided_at,
            language,
            granted_categories: grants.categories,
            granted_services: grants.services,
        }
    }

    /// A stored choice counts only under the same config revision and before it expires.
    /// A choice dated more than a day in the future (a tampered or broken clock) does not count.
    pub fn is_current(&self, config: &Config, now: u64) -> bool {
        let lifetime = u64::from(config.expiry_days) * 86_400;
        self.revision == config.revision
            && now < self.decided_at.saturating_add(lifetime)
            && self.decided_at <= now.saturating_add(86_400)
    }

    pub fn category_granted(&self, id: &str) -> bool {
        self.granted_categories.contains(id)
    }

    pub fn service_granted(&self, id: &str) -> bool {
        self.granted_services.contains(id)
    }

    /// Categories of the config this consent does not grant.
    pub fn denied_categories<'a>(&self, config: &'a Config) -> Vec<&'a str> {
        let mut denied = Vec::new();
        for category in &config.categories {
            if !self.category_granted(&category.id) {
                denied.push(category.id.as_str());
            }
        }
        denied
    }

    /// Services of the config this consent does not grant.
    pub fn denied_services<'a>(&self, config: &'a Config) -> Vec<&'a str> {
        let mut denied = Vec::new();
        for service in &config.services() {
            if !self.service_granted(&service.id) {
                denied.push(service.id.as_str());
            }
        }
        denied
    }

    /// Whether every optional category is granted (the switch "accept all" would leave).
    pub fn grants_everything(&self, config: &Config) -> bool {
        self.denied_categories(config).is_empty() && self.denied_services(config).is_empty()
    }
}

/// Services that `before` granted and `after` does not: their cookies and storage are cleared.
pub fn revoked_services<'a>(
    config: &'a Config,
    before: Option<&Consent>,
    after: &Consent,
) -> Vec<&'a crate::config::Service> {
    let Some(before) = before else {
        return Vec::new();
    };
    let mut revoked = Vec::new();
    for service in &config.services() {
        if before.service_granted(&service.id) && !after.service_granted(&service.id) {
            revoked.push(*service);
        }
    }
    revoked
}
