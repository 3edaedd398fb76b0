//! What a scan found, judged: per vendor of the knowledge base, what it ran or stored before
//! consent, what survived a rejection, whether the store's config declares it; what the config
//! declares but was never seen; what no vendor explains; and the config fragment that declares
//! what was found. Rendered as Markdown, JSON or HTML.

use super::{Kind, Phase, PhaseResult, Seen};
use kelisim_core::cleanup::matches_pattern;
use kelisim_core::compile::CompiledConfig;
use kelisim_core::knowledge::{host_matches, known_vendors, KnownVendor};
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Write;

/// A service the store's config declares.
#[derive(Clone, Debug)]
pub struct DeclaredService {
    pub id: String,
    pub category: String,
    /// Its category is necessary: it may run before any choice.
    pub required: bool,
    pub cookies: Vec<String>,
    pub local_storage: Vec<String>,
    pub vendor: Option<String>,
}

/// The services of a compiled config (any language: they are the same in all).
pub fn declared_services(compiled: &[CompiledConfig]) -> Vec<DeclaredService> {
    let Some(config) = compiled.first() else {
        return Vec::new();
    };
    let mut services = Vec::new();
    for category in &config.categories {
        for service in &category.services {
            services.push(DeclaredService {
                id: service.id.clone(),
                category: category.id.clone(),
                required: category.required,
                cookies: service.cookies.clone(),
                local_storage: service.local_storage.clone(),
                vendor: service.vendor.clone(),
            });
        }
    }
    services
}

/// One vendor the scan saw.
#[derive(Clone, Debug, Serialize)]
pub struct VendorFinding {
    pub id: String,
    pub name: String,
    pub category: String,
    pub country: String,
    /// What it requested or stored before any choice (empty when declared as necessary).
    pub before_consent: Vec<String>,
    /// What it requested or stored after "reject all".
    pub after_rejection: Vec<String>,
    /// Everything it was seen doing, in any phase.
    pub seen: Vec<String>,
    /// The service of the config that declares it; `None` without a config or when none does.
    pub declared_as: Option<String>,
}

impl VendorFinding {
    /// The platform the store is built on (category `necessary`): it runs before any choice by
    /// design, is never flagged and never proposed.
    pub fn is_platform(&self) -> bool {
        self.category == "necessary"
    }
}

/// The judged scan.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub url: String,
    /// Pages visited in each phase, with the ones that failed.
    pub phases: Vec<PhaseSummary>,
    pub vendors: Vec<VendorFinding>,
    /// First-party cookies and storage keys no vendor of the knowledge base explains and the
    /// config does not declare.
    pub unknown: Vec<Seen>,
    /// Hosts the pages called that no vendor of the knowledge base explains.
    pub unknown_hosts: Vec<Seen>,
    /// Services the config declares that were never seen.
    pub declared_not_seen: Vec<String>,
    /// Whether a config was compared.
    pub compared_with_config: bool,
    /// A `categories` fragment declaring the vendors the config does not.
    pub proposed_fragment: Value,
}

#[derive(Clone, Debug, Serialize)]
pub struct PhaseSummary {
    pub phase: Phase,
    pub choice_made: Option<bool>,
    /// The pages visited.
    pub pages: Vec<String>,
    /// Pages that could not be looked at, and why.
    pub failed_pages: Vec<(String, String)>,
}

impl Report {
    /// Something ran or was stored before consent: the scan fails (exit code 1).
    pub fn ran_before_consent(&self) -> bool {
        self.vendors
            .iter()
            .any(|vendor| !vendor.before_consent.is_empty())
    }

    /// Nothing before consent, nothing left after a rejection, nothing undeclared.
    pub fn is_clean(&self) -> bool {
        !self.ran_before_consent()
            && self
                .vendors
                .iter()
                .all(|vendor| vendor.after_rejection.is_empty())
            && (!self.compared_with_config
                || (self.unknown.is_empty()
                    && self
                        .vendors
                        .iter()
                        .all(|vendor| vendor.declared_as.is_some() || vendor.is_platform())))
    }
}

/// Judges the phases of a scan of `url` against the knowledge base and, when given, the
/// services a config declares.
pub fn judge(url: &str, phases: &[PhaseResult], declared: Option<&[DeclaredService]>) -> Report {
    // Which vendors explain each thing seen, worked out once per thing.
    let explained: Vec<Vec<Vec<&'static KnownVendor>>> = phases
        .iter()
        .map(|phase| phase.seen.iter().map(explainers).collect())
        .collect();
    let vendors = vendor_findings(phases, &explained, declared);
    let (unknown, unknown_hosts) = unexplained(phases, &explained, declared);
    let declared_not_seen = declared
        .map(|services| declared_not_seen(services, &vendors, phases))
        .unwrap_or_default();

    let phases_summary = phases
        .iter()
        .map(|phase| PhaseSummary {
            phase: phase.phase,
            choice_made: phase.choice_made,
            pages: phase.pages.iter().map(|page| page.url.clone()).collect(),
            failed_pages: phase
                .pages
                .iter()
                .filter_map(|page| Some((page.url.clone(), page.error.clone()?)))
                .collect(),
        })
        .collect();
    let proposed_fragment = fragment(&vendors);
    Report {
        url: url.to_owned(),
        phases: phases_summary,
        vendors,
        unknown,
        unknown_hosts,
        declared_not_seen,
        compared_with_config: declared.is_some(),
        proposed_fragment,
    }
}

/// What each vendor of the knowledge base was seen doing, in each phase.
fn vendor_findings(
    phases: &[PhaseResult],
    explained: &[Vec<Vec<&'static KnownVendor>>],
    declared: Option<&[DeclaredService]>,
) -> Vec<VendorFinding> {
    // A host several vendors call (gtag.js serves GA4, Google Ads and Tag Manager) goes to the
    // ones something distinctive (a cookie, a host of their own) shows are there, else to the
    // first of them in the knowledge base.
    let evidenced: Vec<&str> = explained
        .iter()
        .flatten()
        .filter_map(|candidates| match candidates.as_slice() {
            [only] => Some(only.id.as_str()),
            _ => None,
        })
        .collect();
    let attributed = |candidates: &[&'static KnownVendor]| -> Vec<&'static KnownVendor> {
        let present: Vec<&'static KnownVendor> = candidates
            .iter()
            .copied()
            .filter(|candidate| evidenced.contains(&candidate.id.as_str()))
            .collect();
        if present.is_empty() {
            candidates.iter().take(1).copied().collect()
        } else {
            present
        }
    };

    let mut vendors = Vec::new();
    for known in known_vendors() {
        let mut finding = VendorFinding {
            id: known.id.clone(),
            name: known.name.clone(),
            category: known.category.clone(),
            country: known.country.clone(),
            before_consent: Vec::new(),
            after_rejection: Vec::new(),
            seen: Vec::new(),
            declared_as: declared.and_then(|services| declaring(services, known)),
        };
        // The platform the store is built on, or a service the config declares necessary, may
        // run before any choice.
        let necessary = finding.is_platform()
            || declared
                .and_then(|services| {
                    services
                        .iter()
                        .find(|s| Some(&s.id) == finding.declared_as.as_ref())
                })
                .is_some_and(|service| service.required);
        for (phase, candidates) in phases.iter().zip(explained) {
            for (item, candidates) in phase.seen.iter().zip(candidates) {
                if !attributed(candidates).iter().any(|v| v.id == known.id) {
                    continue;
                }
                let line = describe(item);
                if !finding.seen.contains(&line) {
                    finding.seen.push(line.clone());
                }
                match phase.phase {
                    Phase::NoChoice if !necessary => finding.before_consent.push(line),
                    Phase::RejectAll if !necessary && phase.choice_made == Some(true) => {
                        finding.after_rejection.push(line)
                    }
                    _ => {}
                }
            }
        }
        if !finding.seen.is_empty() {
            vendors.push(finding);
        }
    }
    vendors
}

/// What no vendor of the knowledge base explains: first-party storage the config does not
/// declare, and hosts.
fn unexplained(
    phases: &[PhaseResult],
    explained: &[Vec<Vec<&'static KnownVendor>>],
    declared: Option<&[DeclaredService]>,
) -> (Vec<Seen>, Vec<Seen>) {
    let mut unknown: Vec<Seen> = Vec::new();
    let mut unknown_hosts: Vec<Seen> = Vec::new();
    for (phase, candidates) in phases.iter().zip(explained) {
        for (item, candidates) in phase.seen.iter().zip(candidates) {
            if !candidates.is_empty() || is_kelisims_own(item) {
                continue;
            }
            let list = if item.kind == Kind::Request {
                &mut unknown_hosts
            } else if !item.first_party
                || declared.is_some_and(|services| declared_storage(services, item))
            {
                continue;
            } else {
                &mut unknown
            };
            if !list
                .iter()
                .any(|known| known.kind == item.kind && known.name == item.name)
            {
                list.push(item.clone());
            }
        }
    }
    (unknown, unknown_hosts)
}

/// The services the config declares that nothing of the scan showed.
fn declared_not_seen(
    services: &[DeclaredService],
    vendors: &[VendorFinding],
    phases: &[PhaseResult],
) -> Vec<String> {
    services
        .iter()
        .filter(|service| {
            !vendors
                .iter()
                .any(|v| v.declared_as.as_ref() == Some(&service.id))
        })
        .filter(|service| {
            !phases.iter().any(|phase| {
                phase
                    .seen
                    .iter()
                    .any(|item| declared_storage(std::slice::from_ref(service), item))
            })
        })
        .map(|service| service.id.clone())
        .collect()
}

/// The vendors of the knowledge base whose doing `item` may be, in knowledge-base order.
fn explainers(item: &Seen) -> Vec<&'static KnownVendor> {
    known_vendors()
        .iter()
        .filter(|known| explains(known, item))
        .collect()
}

/// Whether `item` is `known`'s doing: a first-party cookie or storage key of its patterns, or a
/// request to one of its hosts.
fn explains(known: &KnownVendor, item: &Seen) -> bool {
    match item.kind {
        Kind::Cookie => {
            item.first_party && known.cookies.iter().any(|p| matches_pattern(p, &item.name))
        }
        Kind::LocalStorage | Kind::SessionStorage => known
            .local_storage
            .iter()
            .any(|p| matches_pattern(p, &item.name)),
        Kind::IndexedDb => false,
        Kind::Request => host_matches(&known.hosts, &item.name),
    }
}

/// kelisim's own cookie and storage keys are the consent itself.
fn is_kelisims_own(item: &Seen) -> bool {
    match item.kind {
        Kind::Cookie => item.name == kelisim_core::COOKIE_NAME,
        Kind::LocalStorage | Kind::SessionStorage => item.name.starts_with("kelisim:"),
        _ => false,
    }
}

/// The declared service that stands for `known`: the same id, the same vendor integration, or
/// cookie patterns that cover the vendor's own examples.
fn declaring(services: &[DeclaredService], known: &KnownVendor) -> Option<String> {
    services
        .iter()
        .find(|service| {
            service.id == known.id
                || (known.vendor.is_some() && service.vendor == known.vendor)
                || known.examples.cookies.iter().any(|example| {
                    service
                        .cookies
                        .iter()
                        .any(|pattern| matches_pattern(pattern, example))
                })
        })
        .map(|service| service.id.clone())
}

/// Whether a declared service's patterns cover a cookie or storage key.
fn declared_storage(services: &[DeclaredService], item: &Seen) -> bool {
    services.iter().any(|service| {
        let patterns: &[String] = match item.kind {
            Kind::Cookie => &service.cookies,
            Kind::LocalStorage | Kind::SessionStorage => &service.local_storage,
            _ => &[],
        };
        patterns
            .iter()
            .any(|pattern| matches_pattern(pattern, &item.name))
    })
}

fn describe(item: &Seen) -> String {
    match item.kind {
        Kind::Request => format!("request to {} ({})", item.name, item.page),
        _ => format!("{} {} ({})", item.kind.describe(), item.name, item.page),
    }
}

/// `{"categories": [{"id": "analytics", "services": [{"preset": "…"}]}]}` for the vendors no
/// declared service stands for (with a config), or for every vendor seen (without one).
fn fragment(vendors: &[VendorFinding]) -> Value {
    let mut categories: Vec<(String, Vec<Value>)> = Vec::new();
    for vendor in vendors
        .iter()
        .filter(|vendor| vendor.declared_as.is_none() && !vendor.is_platform())
    {
        let service = json!({"preset": vendor.id});
        match categories.iter_mut().find(|(id, _)| *id == vendor.category) {
            Some((_, services)) => services.push(service),
            None => categories.push((vendor.category.clone(), vec![service])),
        }
    }
    json!({
        "categories": categories
            .into_iter()
            .map(|(id, services)| json!({"id": id, "services": services}))
            .collect::<Vec<_>>()
    })
}

/// The report as Markdown.
pub fn markdown(report: &Report) -> String {
    let mut out = format!("# kelisim scan of {}\n\n", report.url);
    for phase in &report.phases {
        let _ = write!(
            out,
            "- {}: {} pages",
            phase.phase.describe(),
            phase.pages.len()
        );
        match phase.choice_made {
            Some(false) => {
                out.push_str(" (the page does not run kelisim: no choice could be made)")
            }
            Some(true) => out.push_str(" (chosen through kelisim)"),
            None => {}
        }
        for (page, error) in &phase.failed_pages {
            let _ = write!(out, "; {page} failed: {error}");
        }
        out.push('\n');
    }
    out.push_str(if report.ran_before_consent() {
        "\n**Something ran or stored data before consent.**\n"
    } else {
        "\nNothing known ran or stored data before consent.\n"
    });
    for vendor in &report.vendors {
        let _ = write!(
            out,
            "\n## {} (`{}`, {}, {})\n\n",
            vendor.name, vendor.id, vendor.category, vendor.country
        );
        if report.compared_with_config {
            match &vendor.declared_as {
                Some(service) => {
                    let _ = writeln!(out, "- declared as service `{service}`");
                }
                None => out.push_str("- **not declared in the config**\n"),
            }
        }
        for (title, items) in [
            ("**before consent**", &vendor.before_consent),
            ("**survived a rejection**", &vendor.after_rejection),
        ] {
            for item in items {
                let _ = writeln!(out, "- {title}: {item}");
            }
        }
        for item in &vendor.seen {
            let _ = writeln!(out, "- seen: {item}");
        }
    }
    if !report.unknown.is_empty() {
        out.push_str("\n## Not in the knowledge base and not declared\n\n");
        for item in &report.unknown {
            let _ = writeln!(
                out,
                "- {} `{}` ({})",
                item.kind.describe(),
                item.name,
                item.page
            );
        }
    }
    if !report.unknown_hosts.is_empty() {
        out.push_str("\n## Other hosts the pages called\n\n");
        for item in &report.unknown_hosts {
            let _ = writeln!(out, "- {} ({})", item.name, item.page);
        }
    }
    if !report.declared_not_seen.is_empty() {
        out.push_str("\n## Declared but never seen\n\n");
        for id in &report.declared_not_seen {
            let _ = writeln!(out, "- `{id}`");
        }
    }
    let services = report.proposed_fragment["categories"]
        .as_array()
        .is_some_and(|categories| !categories.is_empty());
    if services {
        let _ = write!(
            out,
            "\n## Proposed config\n\nServices to add to the categories of kelisim.json (a preset fills in cookies, data and country):\n\n```json\n{}\n```\n",
            serde_json::to_string_pretty(&report.proposed_fragment).unwrap_or_default()
        );
    }
    out
}

/// The report as a standalone HTML page (every value escaped).
pub fn html(report: &Report) -> String {
    let markdown = markdown(report);
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>kelisim scan of {}</title>\
         <style>body{{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}}pre{{white-space:pre-wrap}}</style>\
         </head><body><pre>{}</pre></body></html>\n",
        escape(&report.url),
        escape(&markdown)
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::{PageVisit, Seen};

    fn seen(kind: Kind, name: &str) -> Seen {
        Seen {
            kind,
            name: name.to_owned(),
            detail: String::new(),
            page: "http://shop.test/".to_owned(),
            first_party: true,
        }
    }

    fn phase(phase: Phase, items: Vec<Seen>) -> PhaseResult {
        PhaseResult {
            phase,
            choice_made: (phase != Phase::NoChoice).then_some(true),
            pages: vec![PageVisit {
                url: "http://shop.test/".to_owned(),
                error: None,
            }],
            seen: items,
        }
    }

    fn service(id: &str, category: &str, required: bool, cookies: &[&str]) -> DeclaredService {
        DeclaredService {
            id: id.to_owned(),
            category: category.to_owned(),
            required,
            cookies: cookies.iter().map(|c| (*c).to_owned()).collect(),
            local_storage: Vec::new(),
            vendor: None,
        }
    }

    #[test]
    fn judges_each_phase_against_the_knowledge_base_and_the_config() {
        let phases = [
            phase(
                Phase::NoChoice,
                vec![
                    seen(Kind::Cookie, "_ym_uid"),
                    seen(Kind::Request, "mc.yandex.ru"),
                    seen(Kind::Cookie, "kelisim"),
                    seen(Kind::Cookie, "cart_id"),
                    seen(Kind::Cookie, "mystery"),
                ],
            ),
            phase(Phase::AcceptAll, vec![seen(Kind::Cookie, "_ga")]),
            phase(Phase::RejectAll, vec![seen(Kind::Cookie, "_fbp")]),
        ];
        let declared = [
            service("ga", "analytics", false, &["_ga", "_ga_*"]),
            service("cart", "necessary", true, &["cart_id"]),
            service("never", "marketing", false, &["_never"]),
        ];
        let report = judge("http://shop.test/", &phases, Some(&declared));
        let vendor = |id: &str| report.vendors.iter().find(|v| v.id == id).unwrap();
        assert!(report.ran_before_consent());
        assert!(!report.is_clean());
        assert_eq!(vendor("yandex-metrika").before_consent.len(), 2);
        assert_eq!(vendor("yandex-metrika").declared_as, None);
        assert!(vendor("google-analytics").before_consent.is_empty());
        assert_eq!(
            vendor("google-analytics").declared_as.as_deref(),
            Some("ga")
        );
        assert_eq!(vendor("meta-pixel").after_rejection.len(), 1);
        // kelisim's own cookie and a declared necessary one are not unknown; "mystery" is.
        let unknown: Vec<&str> = report.unknown.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(unknown, ["mystery"]);
        assert_eq!(report.declared_not_seen, ["never"]);
        assert_eq!(
            report.proposed_fragment,
            json!({"categories": [
                {"id": "analytics", "services": [{"preset": "yandex-metrika"}]},
                {"id": "marketing", "services": [{"preset": "meta-pixel"}]}
            ]})
        );
        let markdown = markdown(&report);
        assert!(
            markdown.contains("**before consent**: cookie _ym_uid"),
            "{markdown}"
        );
        assert!(html(&report).contains("&lt;") || !markdown.contains('<'));
    }

    #[test]
    fn the_stores_platform_may_run_before_a_choice_and_is_not_proposed() {
        let phases = [phase(
            Phase::NoChoice,
            vec![seen(Kind::Request, "static.tildacdn.com")],
        )];
        let report = judge("http://shop.test/", &phases, Some(&[]));
        assert_eq!(report.vendors[0].id, "tilda");
        assert!(!report.ran_before_consent());
        assert!(report.is_clean());
        assert_eq!(report.proposed_fragment, json!({"categories": []}));
    }

    #[test]
    fn a_vendor_declared_necessary_may_run_before_a_choice() {
        let phases = [phase(Phase::NoChoice, vec![seen(Kind::Cookie, "_ym_uid")])];
        let declared = [service("metrika", "necessary", true, &["_ym*"])];
        let report = judge("http://shop.test/", &phases, Some(&declared));
        assert!(!report.ran_before_consent());
        assert!(report.is_clean());
    }
}
