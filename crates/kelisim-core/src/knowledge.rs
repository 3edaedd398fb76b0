//! The vendor knowledge base (`knowledge/vendors.json`): what each tracker or widget Kazakh
//! stores run is known to call and store, who owns it, where it processes data and what it
//! collects. The compiler expands a service's `"preset"` from it; the scanner will match what
//! it finds against it.
//!
//! Compiled only with the compiler (feature `compile`): the runtime never reads a raw config,
//! so none of this reaches the browser module.

use serde::Deserialize;
use std::sync::OnceLock;

/// One vendor of the knowledge base.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KnownVendor {
    /// What a service's `"preset"` names, and the service id a preset gives by default.
    pub id: String,
    pub name: String,
    pub owner: String,
    /// ISO 3166-1 alpha-2 code of the country of processing.
    pub country: String,
    /// The category a store usually puts it in (`analytics`, `marketing`, `functional`).
    pub category: String,
    /// Kinds of data it collects, each one of `texts::DATA_KINDS`.
    pub data: Vec<String>,
    /// The kelisim vendor integration (consent API) it has, if any.
    #[serde(default)]
    pub vendor: Option<String>,
    /// Hosts its scripts call; `*.` matches any subdomain.
    pub hosts: Vec<String>,
    /// First-party cookie names or `*` patterns it writes.
    pub cookies: Vec<String>,
    /// localStorage keys or `*` patterns it writes.
    pub local_storage: Vec<String>,
    /// Real names each pattern must match (a test checks).
    pub examples: Examples,
    /// The vendor's own documentation the entry was checked against.
    pub sources: Vec<String>,
}

/// Real names the patterns of a [`KnownVendor`] are tested against.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default)]
    pub cookies: Vec<String>,
    #[serde(default)]
    pub local_storage: Vec<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeBase {
    #[allow(dead_code)]
    about: String,
    vendors: Vec<KnownVendor>,
}

/// Every vendor of the knowledge base, in file order.
pub fn known_vendors() -> &'static [KnownVendor] {
    static VENDORS: OnceLock<Vec<KnownVendor>> = OnceLock::new();
    VENDORS.get_or_init(|| {
        let base: KnowledgeBase = serde_json::from_str(include_str!("../knowledge/vendors.json"))
            .expect("knowledge/vendors.json is checked by the tests");
        base.vendors
    })
}

/// The vendor a preset names.
pub fn preset(id: &str) -> Option<&'static KnownVendor> {
    known_vendors().iter().find(|vendor| vendor.id == id)
}

/// The ids of every preset, for messages and the JSON Schema.
pub fn preset_ids() -> Vec<&'static str> {
    known_vendors()
        .iter()
        .map(|vendor| vendor.id.as_str())
        .collect()
}

/// Whether `host` is one of `patterns` (`*.example.com` matches any subdomain of it).
pub fn host_matches(patterns: &[String], host: &str) -> bool {
    patterns
        .iter()
        .any(|pattern| match pattern.strip_prefix("*.") {
            Some(domain) => host
                .strip_suffix(domain)
                .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
            None => pattern == host,
        })
}
