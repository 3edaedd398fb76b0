//! Opt-in statistics for marketers: the numbers behind `GET /v1/stats`, computed from the
//! receipts and the anonymous impressions of one site, grouped by day, language, variant, page
//! or category. Definitions (also in docs/server.md):
//!
//! - impressions: first-layer shows (one per page view that showed it);
//! - decisions: the *first* choice of each consent id (accept_all, reject_all, custom or gpc),
//!   counted on the day it was made; a visitor who saw the banner on three pages and then chose
//!   is three impressions and one decision;
//! - opt-in rate of a category: decisions granting it / decisions;
//! - decision rate: decisions / impressions;
//! - changes (later choices of a consent id) and withdrawals are counted apart.
//!
//! Form receipts (consent in forms) are not banner decisions and are left out.
//!
//! Speed: the numbers are read from daily rollups (`decision_counts`, `page_decision_counts`
//! and the `impressions` counts), never from the receipts. [`Rollup`] turns stored receipts into
//! the increments `Store::insert_receipts` adds in the same transaction as the receipts, so the
//! rollups are always exactly the receipts' numbers. They are anonymous aggregates and are kept
//! when a purge deletes old receipts.

use crate::receipt::StoredReceipt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// How rows are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Language,
    Variant,
    Device,
    Page,
    Category,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<GroupBy> {
        Some(match text {
            "day" => GroupBy::Day,
            "language" => GroupBy::Language,
            "variant" => GroupBy::Variant,
            "device" => GroupBy::Device,
            "page" => GroupBy::Page,
            "category" => GroupBy::Category,
            _ => return None,
        })
    }
}

/// Which days and which visitors a stats query counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// First and last day counted (`YYYY-MM-DD`, inclusive).
    pub from: String,
    pub to: String,
    pub language: Option<String>,
    pub variant: Option<String>,
    pub device: Option<String>,
}

impl Filter {
    /// Whether it narrows by language, variant or device (pages are not split that way).
    pub fn narrows(&self) -> bool {
        self.language.is_some() || self.variant.is_some() || self.device.is_some()
    }
}

/// Rolled-up decisions of one group, as a stats query reads them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecisionCount {
    /// The group (a day, language, variant, device or page; empty when grouping by category).
    pub key: String,
    /// `accept_all`, `reject_all`, `custom`, `gpc` (first decisions), `change` or `withdraw`.
    pub kind: String,
    /// Granted and denied category ids, space-separated.
    pub granted: String,
    pub denied: String,
    pub count: i64,
}

/// Impressions of one group (empty key when grouping by category).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImpressionCount {
    pub key: String,
    pub count: i64,
}

/// Rolled-up decisions split every way but by page, as one query reads them for all the
/// groupings of a dashboard page (each regrouped in memory by [`regroup_decisions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitDecision {
    pub day: String,
    pub language: String,
    pub variant: String,
    pub device: String,
    pub kind: String,
    pub granted: String,
    pub denied: String,
    pub count: i64,
}

/// Impressions split every way but by page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SplitImpression {
    pub day: String,
    pub language: String,
    pub variant: String,
    pub device: String,
    pub count: i64,
}

/// The key of a split row in a grouping (`None` for pages, which are not in the split).
fn split_key<'a>(
    by: GroupBy,
    day: &'a str,
    language: &'a str,
    variant: &'a str,
    device: &'a str,
) -> Option<&'a str> {
    match by {
        GroupBy::Day => Some(day),
        GroupBy::Language => Some(language),
        GroupBy::Variant => Some(variant),
        GroupBy::Device => Some(device),
        GroupBy::Category => Some(""),
        GroupBy::Page => None,
    }
}

/// The decision counts of one grouping, summed from split rows: what
/// `Store::decision_counts` reads for that grouping.
pub fn regroup_decisions(rows: &[SplitDecision], by: GroupBy) -> Vec<DecisionCount> {
    let mut sums: BTreeMap<(&str, &str, &str, &str), i64> = BTreeMap::new();
    for row in rows {
        if let Some(key) = split_key(by, &row.day, &row.language, &row.variant, &row.device) {
            *sums
                .entry((key, &row.kind, &row.granted, &row.denied))
                .or_default() += row.count;
        }
    }
    sums.into_iter()
        .map(|((key, kind, granted, denied), count)| DecisionCount {
            key: key.to_owned(),
            kind: kind.to_owned(),
            granted: granted.to_owned(),
            denied: denied.to_owned(),
            count,
        })
        .collect()
}

/// The impression counts of one grouping, summed from split rows.
pub fn regroup_impressions(rows: &[SplitImpression], by: GroupBy) -> Vec<ImpressionCount> {
    let mut sums: BTreeMap<&str, i64> = BTreeMap::new();
    for row in rows {
        if let Some(key) = split_key(by, &row.day, &row.language, &row.variant, &row.device) {
            *sums.entry(key).or_default() += row.count;
        }
    }
    sums.into_iter()
        .map(|(key, count)| ImpressionCount {
            key: key.to_owned(),
            count,
        })
        .collect()
}

/// One group's numbers.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Row {
    pub key: String,
    pub impressions: i64,
    pub decisions: i64,
    /// decisions / impressions, when there were impressions.
    pub decision_rate: Option<f64>,
    pub accept_all: i64,
    pub reject_all: i64,
    pub custom: i64,
    pub gpc: i64,
    pub changes: i64,
    pub withdrawals: i64,
    /// Category id → decisions granting it / decisions.
    pub opt_in: BTreeMap<String, f64>,
    /// Category id → 95% Wilson score interval `[low, high]` of that rate: two variants whose
    /// intervals overlap are not yet shown to differ.
    pub opt_in_interval: BTreeMap<String, [f64; 2]>,
    #[serde(skip)]
    granted: BTreeMap<String, i64>,
}

/// Actions that are banner decisions (the first one of a consent id is "the" decision).
pub const DECISIONS: [&str; 4] = ["accept_all", "reject_all", "custom", "gpc"];

/// The rollup kind of a receipt, or `None` for form receipts (not banner decisions). `first`
/// says whether it is its consent id's first decision.
pub fn kind(action: &str, first: bool) -> Option<&'static str> {
    match action {
        "withdraw" => Some("withdraw"),
        "form" => None,
        _ if !first => Some("change"),
        "accept_all" => Some("accept_all"),
        "reject_all" => Some("reject_all"),
        "gpc" => Some("gpc"),
        _ => Some("custom"),
    }
}

/// The device class of a user agent: `mobile`, `tablet`, `desktop`, or `unknown` without one.
/// iPads that announce themselves as desktop Safari (the iPadOS default) count as desktop.
pub fn device_class(user_agent: &str) -> &'static str {
    let android = user_agent.contains("Android");
    if user_agent.trim().is_empty() {
        "unknown"
    } else if user_agent.contains("iPad")
        || user_agent.contains("Tablet")
        || (android && !user_agent.contains("Mobile"))
    {
        "tablet"
    } else if user_agent.contains("Mobi") || user_agent.contains("iPhone") || android {
        "mobile"
    } else {
        "desktop"
    }
}

/// Key of a `decision_counts` row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DecisionKey {
    pub site: String,
    pub day: String,
    pub language: String,
    pub variant: String,
    pub device: String,
    pub kind: &'static str,
    pub granted: String,
    pub denied: String,
}

/// Key of a `page_decision_counts` row.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PageKey {
    pub site: String,
    pub day: String,
    pub page: String,
    pub kind: &'static str,
    pub granted: String,
    pub denied: String,
}

/// Increments of the rollup tables for a set of receipts.
#[derive(Debug, Default)]
pub struct Rollup {
    pub decisions: HashMap<DecisionKey, i64>,
    pub pages: HashMap<PageKey, i64>,
}

impl Rollup {
    /// Counts one stored receipt; `first` says whether it is its consent id's first decision.
    pub fn add(&mut self, stored: &StoredReceipt, first: bool) {
        let receipt = &stored.receipt;
        let Some(kind) = kind(&receipt.action, first) else {
            return;
        };
        let day = stored.server_time.get(..10).unwrap_or_default().to_owned();
        let granted = sorted_ids(&receipt.granted_categories);
        let denied = sorted_ids(&receipt.denied_categories);
        *self
            .pages
            .entry(PageKey {
                site: receipt.site.clone(),
                day: day.clone(),
                page: page_path(&receipt.page_url).to_owned(),
                kind,
                granted: granted.clone(),
                denied: denied.clone(),
            })
            .or_default() += 1;
        *self
            .decisions
            .entry(DecisionKey {
                site: receipt.site.clone(),
                day,
                language: receipt.language.clone(),
                variant: receipt.variant.clone().unwrap_or_default(),
                device: device_class(&receipt.user_agent).to_owned(),
                kind,
                granted,
                denied,
            })
            .or_default() += 1;
    }
}

fn sorted_ids(ids: &[String]) -> String {
    let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.join(" ")
}

/// Computes the rows of one grouping from the rolled-up counts of the query's days.
pub fn compute(
    decisions: &[DecisionCount],
    impressions: &[ImpressionCount],
    by: GroupBy,
) -> Vec<Row> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    if by != GroupBy::Category {
        for impression in impressions {
            row(&mut rows, &impression.key).impressions += impression.count;
        }
    }
    for counted in decisions {
        let keys: Vec<&str> = match by {
            GroupBy::Category => counted
                .granted
                .split(' ')
                .chain(counted.denied.split(' '))
                .filter(|id| !id.is_empty())
                .collect(),
            _ => vec![counted.key.as_str()],
        };
        let n = counted.count;
        for key in keys {
            let row = row(&mut rows, key);
            match counted.kind.as_str() {
                "withdraw" => row.withdrawals += n,
                "change" => row.changes += n,
                first => {
                    row.decisions += n;
                    match first {
                        "accept_all" => row.accept_all += n,
                        "reject_all" => row.reject_all += n,
                        "gpc" => row.gpc += n,
                        _ => row.custom += n,
                    }
                    for category in counted.granted.split(' ').filter(|id| !id.is_empty()) {
                        *row.granted.entry(category.to_owned()).or_default() += n;
                    }
                    // A category only ever refused still gets its rate (0).
                    for category in counted.denied.split(' ').filter(|id| !id.is_empty()) {
                        row.granted.entry(category.to_owned()).or_default();
                    }
                }
            }
        }
    }
    let total_impressions: i64 = impressions.iter().map(|i| i.count).sum();
    rows.into_values()
        .map(|mut row| {
            if by == GroupBy::Category {
                row.impressions = total_impressions;
            }
            row.decision_rate =
                (row.impressions > 0).then(|| row.decisions as f64 / row.impressions as f64);
            if row.decisions > 0 {
                let decisions = row.decisions as f64;
                row.opt_in = row
                    .granted
                    .iter()
                    .filter(|(category, _)| by != GroupBy::Category || **category == row.key)
                    .map(|(category, n)| (category.clone(), *n as f64 / decisions))
                    .collect();
                row.opt_in_interval = row
                    .opt_in
                    .keys()
                    .map(|category| {
                        (
                            category.clone(),
                            wilson_interval(row.granted[category], row.decisions),
                        )
                    })
                    .collect();
            }
            row
        })
        .collect()
}

/// The 95% Wilson score interval of `successes` out of `trials` (trials > 0).
pub fn wilson_interval(successes: i64, trials: i64) -> [f64; 2] {
    const Z: f64 = 1.959_963_984_540_054;
    let n = trials as f64;
    let p = successes as f64 / n;
    let denominator = 1.0 + Z * Z / n;
    let centre = (p + Z * Z / (2.0 * n)) / denominator;
    let margin = Z * ((p * (1.0 - p) / n) + Z * Z / (4.0 * n * n)).sqrt() / denominator;
    [(centre - margin).max(0.0), (centre + margin).min(1.0)]
}

/// The row of `key`, created empty on first use.
fn row<'a>(rows: &'a mut BTreeMap<String, Row>, key: &str) -> &'a mut Row {
    rows.entry(key.to_owned()).or_insert_with(|| Row {
        key: key.to_owned(),
        ..Row::default()
    })
}

/// The path of a page URL (`https://shop.kz/catalog` → `/catalog`).
fn page_path(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find('/')
        .map_or("/", |slash| &after_scheme[slash..])
}

#[cfg(test)]
mod tests {
    use super::{device_class, kind, wilson_interval};

    #[test]
    fn device_classes() {
        let android_phone = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
        let android_tablet = "Mozilla/5.0 (Linux; Android 13; SM-X200) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
        let ipad = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";
        let windows = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
        assert_eq!(device_class(android_phone), "mobile");
        assert_eq!(device_class(iphone), "mobile");
        assert_eq!(device_class(android_tablet), "tablet");
        assert_eq!(device_class(ipad), "tablet");
        assert_eq!(device_class(windows), "desktop");
        assert_eq!(device_class(" "), "unknown");
    }

    #[test]
    fn kinds() {
        assert_eq!(kind("accept_all", true), Some("accept_all"));
        assert_eq!(kind("accept_all", false), Some("change"));
        assert_eq!(kind("withdraw", false), Some("withdraw"));
        assert_eq!(kind("form", true), None);
        assert_eq!(kind("custom", true), Some("custom"));
    }

    fn check(successes: i64, trials: i64, expected: [f64; 2]) {
        let [low, high] = wilson_interval(successes, trials);
        assert!(
            (low - expected[0]).abs() < 5e-4 && (high - expected[1]).abs() < 5e-4,
            "{successes}/{trials}: {low} {high}"
        );
    }

    #[test]
    fn wilson_intervals_match_published_values() {
        // Reference values computed with the textbook formula (z = 1.96).
        check(50, 100, [0.4038, 0.5962]);
        check(0, 10, [0.0, 0.2775]);
        check(10, 10, [0.7225, 1.0]);
        check(2, 3, [0.2077, 0.9385]);
    }
}
