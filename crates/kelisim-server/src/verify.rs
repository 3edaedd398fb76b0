//! `kelisim-server verify`: walks every site's chain from its genesis (or purge checkpoint) to
//! its head and checks each link: sequence numbers without gaps, `prev_hash` equal to the
//! previous hash, the hash equal to the hash of the stored text, the signature, and that the
//! head row points at the last link. Anything altered, deleted or reordered is reported with
//! the first bad sequence number.

use crate::chain::{link_hash, PublicKey, GENESIS_HASH};
use crate::receipt::StoredReceipt;
use crate::store::{Checkpoint, Store};
use anyhow::Result;
use std::collections::BTreeMap;

/// The first problem found in a site's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub site: String,
    /// The first bad sequence number.
    pub seq: i64,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "site {}: receipt {}: {}", self.site, self.seq, self.what)
    }
}

/// What verification found: receipts checked per site, and the first problem of each bad site.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checked: BTreeMap<String, usize>,
    pub problems: Vec<Problem>,
}

pub async fn verify(store: &Store, key: PublicKey) -> Result<Report> {
    let rows = store.chain_rows().await?;
    let checkpoints = store.checkpoints().await?;
    let heads = store.heads().await?;
    let mut report = Report::default();
    let mut sites: Vec<String> = heads.iter().map(|(site, _, _)| site.clone()).collect();
    for row in &rows {
        if !sites.contains(&row.site) {
            sites.push(row.site.clone());
        }
    }
    for site in sites {
        let checkpoint = checkpoints.iter().find(|c| c.site == site);
        let (mut expected_seq, mut expected_prev) = match checkpoint {
            Some(checkpoint) => {
                let text = Checkpoint::signed_text(
                    &site,
                    checkpoint.seq,
                    &checkpoint.hash,
                    &checkpoint.purged_before,
                );
                if key.verify(&text, &checkpoint.signature).is_err() {
                    report.problems.push(Problem {
                        site: site.clone(),
                        seq: checkpoint.seq,
                        what: "the purge checkpoint's signature does not match".into(),
                    });
                    continue;
                }
                (checkpoint.seq + 1, checkpoint.hash.clone())
            }
            None => (1, GENESIS_HASH.to_owned()),
        };
        let mut checked = 0;
        let mut problem = None;
        for row in rows.iter().filter(|row| row.site == site) {
            let bad = |what: &str| Problem {
                site: site.clone(),
                seq: row.seq.min(expected_seq),
                what: what.to_owned(),
            };
            if row.seq != expected_seq {
                problem = Some(Problem {
                    site: site.clone(),
                    seq: expected_seq,
                    what: format!("is missing (the next stored receipt is {})", row.seq),
                });
                break;
            }
            if row.prev_hash != expected_prev {
                problem = Some(bad(
                    "does not chain to the receipt before it (deleted, inserted or reordered)",
                ));
                break;
            }
            if link_hash(&row.prev_hash, &row.body) != row.hash {
                problem = Some(bad(
                    "was altered: its hash does not match its stored contents",
                ));
                break;
            }
            if key.verify(&row.hash, &row.signature).is_err() {
                problem = Some(bad("has a signature that does not match the server's key"));
                break;
            }
            match serde_json::from_str::<StoredReceipt>(&row.body) {
                Ok(stored)
                    if stored.seq == row.seq
                        && stored.receipt.site == site
                        && stored.receipt.receipt_id == row.receipt_id => {}
                _ => {
                    problem = Some(bad("has columns that disagree with its signed contents"));
                    break;
                }
            }
            expected_prev = row.hash.clone();
            expected_seq += 1;
            checked += 1;
        }
        if problem.is_none() {
            if let Some((_, head_seq, head_hash)) = heads.iter().find(|(s, _, _)| *s == site) {
                if *head_seq != expected_seq - 1 || *head_hash != expected_prev {
                    problem = Some(Problem {
                        site: site.clone(),
                        seq: expected_seq,
                        what: format!(
                            "is missing: the chain head says the last receipt is {head_seq}"
                        ),
                    });
                }
            }
        }
        report.checked.insert(site.clone(), checked);
        report.problems.extend(problem);
    }
    Ok(report)
}
