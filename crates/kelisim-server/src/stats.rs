//! Opt-in statistics for marketers: the numbers behind `GET /v1/stats`, computed from the
//! receipts and the anonymous impressions of one site, grouped by day, language, variant, page
//! or category. Definitions (also in the README):
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

use crate::receipt::StoredReceipt;
use crate::store::ImpressionCount;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// How rows are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupBy {
    Day,
    Language,
    Variant,
    Page,
    Category,
}

impl GroupBy {
    pub fn parse(text: &str) -> Option<GroupBy> {
        Some(match text {
            "day" => GroupBy::Day,
            "language" => GroupBy::Language,
            "variant" => GroupBy::Variant,
            "page" => GroupBy::Page,
            "category" => GroupBy::Category,
            _ => return None,
        })
    }
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

const DECISIONS: [&str; 4] = ["accept_all", "reject_all", "custom", "gpc"];

/// Computes the rows for receipts (all of the site's, in chain order) and impressions between
/// `from` and `to` (days, inclusive).
pub fn compute(
    receipts: &[StoredReceipt],
    impressions: &[ImpressionCount],
    from: &str,
    to: &str,
    by: GroupBy,
) -> Vec<Row> {
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    for impression in impressions {
        let key = match by {
            GroupBy::Day => impression.day.clone(),
            GroupBy::Language => impression.language.clone(),
            GroupBy::Variant => impression.variant.clone(),
            GroupBy::Page => impression.page.clone(),
            // Impressions have no category: they count toward the site total below.
            GroupBy::Category => continue,
        };
        row(&mut rows, &key).impressions += impression.count;
    }
    let mut decided: HashSet<&str> = HashSet::new();
    for stored in receipts {
        let receipt = &stored.receipt;
        if receipt.action == "form" {
            continue;
        }
        let day = stored.server_time.get(..10).unwrap_or_default();
        let first = DECISIONS.contains(&receipt.action.as_str())
            && decided.insert(receipt.consent_id.as_str());
        if day < from || day > to {
            continue;
        }
        let page = page_path(&receipt.page_url);
        let keys: Vec<String> = match by {
            GroupBy::Day => vec![day.to_owned()],
            GroupBy::Language => vec![receipt.language.clone()],
            GroupBy::Variant => vec![receipt.variant.clone().unwrap_or_default()],
            GroupBy::Page => vec![page.to_owned()],
            GroupBy::Category => receipt
                .granted_categories
                .iter()
                .chain(&receipt.denied_categories)
                .cloned()
                .collect(),
        };
        for key in keys {
            let row = row(&mut rows, &key);
            if first {
                row.decisions += 1;
                match receipt.action.as_str() {
                    "accept_all" => row.accept_all += 1,
                    "reject_all" => row.reject_all += 1,
                    "custom" => row.custom += 1,
                    _ => row.gpc += 1,
                }
                for category in &receipt.granted_categories {
                    *row.granted.entry(category.clone()).or_default() += 1;
                }
                // A category only ever refused still gets its rate (0).
                for category in &receipt.denied_categories {
                    row.granted.entry(category.clone()).or_default();
                }
            } else if receipt.action == "withdraw" {
                row.withdrawals += 1;
            } else {
                row.changes += 1;
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
    use super::wilson_interval;

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
