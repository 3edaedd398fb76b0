//! `kelisim-server verify`: walks every site's chain from its genesis (or purge checkpoint) to
//! its end and checks each link: sequence numbers without gaps, `prev_hash` equal to the
//! previous hash, the hash equal to the hash of the stored text, the signature, and every
//! column the server looks rows up by, purges by or counts by equal to the signed text. Then
//! it checks where each chain ends: the `chain_heads` row, and the signed heads kept outside
//! the database (`heads`), which catch receipts cut from the end of a chain. Each site's first
//! problem is reported with its sequence number and the kind of tampering it shows.
//!
//! The per-row work (hashing, parsing, checking the signature) runs on every core; only the
//! comparison of each link with the one before it is sequential.

use crate::chain::{link_hash, PublicKey, GENESIS_HASH};
use crate::heads::SignedHead;
use crate::keys::KeyRing;
use crate::receipt::StoredReceipt;
use crate::store::{ChainRow, Checkpoint, Store};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet};

/// What a problem shows was done to the database.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tampering {
    /// A receipt's stored text was changed.
    Altered,
    /// A receipt in the middle of a chain is gone.
    Deleted,
    /// Receipts at the end of a chain (or a whole site) are gone: the server had signed a
    /// later head.
    Truncated,
    /// A receipt was moved, inserted or replaced by one that does not chain.
    Reordered,
    /// A receipt was signed by another key (forged, or another server's).
    Forged,
    /// A column outside the signature (look-ups, purge and stats read it) was edited.
    ColumnEdited,
    /// The `chain_heads` row does not point at the last receipt.
    HeadRowEdited,
    /// A purge checkpoint was edited.
    CheckpointEdited,
    /// A signed head does not verify with the key, or the chain differs from it.
    HeadMismatch,
}

impl Tampering {
    pub fn name(self) -> &'static str {
        match self {
            Tampering::Altered => "altered",
            Tampering::Deleted => "deleted",
            Tampering::Truncated => "truncated",
            Tampering::Reordered => "reordered or inserted",
            Tampering::Forged => "forged signature",
            Tampering::ColumnEdited => "column edited",
            Tampering::HeadRowEdited => "head row edited",
            Tampering::CheckpointEdited => "checkpoint edited",
            Tampering::HeadMismatch => "signed head mismatch",
        }
    }
}

/// The first problem found in a site's chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub site: String,
    /// The first bad sequence number.
    pub seq: i64,
    pub kind: Tampering,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] site {}: receipt {}: {}",
            self.kind.name(),
            self.site,
            self.seq,
            self.what
        )
    }
}

/// What verification found: receipts checked per site, the last sequence number the signed
/// heads vouch for per site, and the first problem of each bad site.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub checked: BTreeMap<String, usize>,
    pub signed_heads: BTreeMap<String, i64>,
    pub problems: Vec<Problem>,
}

/// Verifies every chain of `store` with `key` (the current key; earlier keys come from the
/// recorded rotations, see `keys`), and its ends against `signed_heads` (from the
/// head log or copies of `/v1/chain-heads`; empty: the ends are checked against the database's
/// own head rows only).
pub async fn verify(store: &Store, key: PublicKey, signed_heads: &[SignedHead]) -> Result<Report> {
    let ring = KeyRing::build(key, &store.rotations().await?)?;
    let mut rows = store.chain_rows().await?;
    // In byte order of the site id, as `verify_rows` slices them: PostgreSQL's `ORDER BY`
    // follows the database's collation, which may put `glazik-kz` and `glazik_kz` otherwise.
    rows.sort_by(|a, b| (a.site.as_str(), a.seq).cmp(&(b.site.as_str(), b.seq)));
    let checkpoints = store.checkpoints().await?;
    let heads = store.heads().await?;
    Ok(verify_rows(
        &rows,
        &checkpoints,
        &heads,
        signed_heads,
        &ring,
    ))
}

/// [`verify`] over rows already read, sorted by site (byte order), then seq.
pub fn verify_rows(
    rows: &[ChainRow],
    checkpoints: &[Checkpoint],
    heads: &[(String, i64, String)],
    signed_heads: &[SignedHead],
    ring: &KeyRing,
) -> Report {
    let mut report = Report::default();
    let mut sites: BTreeSet<&str> = rows.iter().map(|row| row.site.as_str()).collect();
    sites.extend(heads.iter().map(|(site, _, _)| site.as_str()));
    sites.extend(checkpoints.iter().map(|c| c.site.as_str()));
    let mut valid_heads: Vec<&SignedHead> = Vec::new();
    for head in signed_heads {
        if head.verify_with(ring) {
            valid_heads.push(head);
            sites.insert(head.site.as_str());
        } else {
            report.problems.push(Problem {
                site: head.site.clone(),
                seq: head.seq,
                kind: Tampering::HeadMismatch,
                what: format!(
                    "the signed head of {} does not verify with this key (edited, or another server's)",
                    head.signed_at
                ),
            });
        }
    }
    let checks = check_rows(rows, ring);
    for site in sites {
        let start = rows.partition_point(|row| row.site.as_str() < site);
        let end = rows.partition_point(|row| row.site.as_str() <= site);
        let site_heads: Vec<&SignedHead> = valid_heads
            .iter()
            .copied()
            .filter(|head| head.site == site)
            .collect();
        if let Some(last) = site_heads.iter().map(|head| head.seq).max() {
            report.signed_heads.insert(site.to_owned(), last);
        }
        let chain = SiteChain {
            site,
            rows: &rows[start..end],
            checks: &checks[start..end],
            checkpoint: checkpoints.iter().find(|c| c.site == site),
            head_row: heads
                .iter()
                .find(|(s, _, _)| s == site)
                .map(|(_, seq, hash)| (*seq, hash.as_str())),
            signed_heads: &site_heads,
        };
        let (checked, problem) = chain.check(ring);
        report.checked.insert(site.to_owned(), checked);
        report.problems.extend(problem);
    }
    report
}

/// What can be checked of a row on its own.
struct RowCheck {
    hash_matches: bool,
    signature_matches: bool,
    /// The first column that disagrees with the signed text, described.
    column_problem: Option<String>,
}

/// Checks every row on its own, over the machine's cores.
fn check_rows(rows: &[ChainRow], ring: &KeyRing) -> Vec<RowCheck> {
    let check = |row: &ChainRow| RowCheck {
        hash_matches: link_hash(&row.prev_hash, &row.body) == row.hash,
        signature_matches: ring
            .key_for(&row.site, row.seq)
            .verify(&row.hash, &row.signature)
            .is_ok(),
        column_problem: column_problem(row),
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .min(rows.len() / 256)
        .max(1);
    if threads == 1 {
        return rows.iter().map(check).collect();
    }
    let per_thread = rows.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let parts: Vec<_> = rows
            .chunks(per_thread)
            .map(|part| scope.spawn(move || part.iter().map(check).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("checking a row does not panic"))
            .collect()
    })
}

/// The first column of `row` that disagrees with its signed text.
fn column_problem(row: &ChainRow) -> Option<String> {
    let Ok(stored) = serde_json::from_str::<StoredReceipt>(&row.body) else {
        return Some("its stored text is not a receipt".into());
    };
    let receipt = &stored.receipt;
    let seq = stored.seq.to_string();
    let row_seq = row.seq.to_string();
    let problem = [
        ("site", &row.site, &receipt.site),
        ("seq", &row_seq, &seq),
        ("receipt_id", &row.receipt_id, &receipt.receipt_id),
        ("consent_id", &row.consent_id, &receipt.consent_id),
        ("server_time", &row.server_time, &stored.server_time),
        ("action", &row.action, &receipt.action),
    ]
    .into_iter()
    .find(|(_, column, signed)| column != signed)
    .map(|(name, column, signed)| {
        format!("its {name} column says \"{column}\" but its signed text says \"{signed}\"")
    });
    let signed_phone = receipt.sms.as_ref().map(|sms| &sms.phone_hash);
    problem
        .or_else(|| {
            (row.phone_hash.as_ref() != signed_phone).then(|| {
                format!(
                    "its phone_hash column says {:?} but its signed text says {:?}",
                    row.phone_hash, signed_phone
                )
            })
        })
        .or_else(|| receipt.eds.as_ref().and_then(signature_problem))
}

/// An electronic signature kept in a receipt that no longer verifies over its document (the
/// certificates' chain and validity were checked when it was made; the signature and the
/// digest are checked again here, for as long as the receipt is kept).
fn signature_problem(eds: &kelisim_core::receipt::EdsSignature) -> Option<String> {
    let checked = crate::cms_check::decode_base64(&eds.cms)
        .and_then(|der| crate::cms_check::check(&der, eds.document.as_bytes(), &[], 0, false));
    match checked {
        // A GOST signature (verified by the operator's NCANode, if at all) cannot be checked
        // again here: only that its content is the document.
        Ok(checked) if checked.algorithm == "GOST" => None,
        Ok(checked) if checked.verified == eds.verified => None,
        Ok(_) => Some("its electronic signature does not verify as it was recorded to".into()),
        Err(error) => Some(format!(
            "its electronic signature does not verify over its document: {error}"
        )),
    }
}

/// One site's part of the database, and the signed heads of that site.
struct SiteChain<'a> {
    site: &'a str,
    rows: &'a [ChainRow],
    checks: &'a [RowCheck],
    checkpoint: Option<&'a Checkpoint>,
    head_row: Option<(i64, &'a str)>,
    signed_heads: &'a [&'a SignedHead],
}

impl SiteChain<'_> {
    /// Receipts verified, and the first problem.
    fn check(&self, ring: &KeyRing) -> (usize, Option<Problem>) {
        let problem = |seq: i64, kind: Tampering, what: String| Problem {
            site: self.site.to_owned(),
            seq,
            kind,
            what,
        };
        let (first_seq, mut previous_hash) = match self.checkpoint {
            Some(checkpoint) => {
                let text = Checkpoint::signed_text(
                    self.site,
                    checkpoint.seq,
                    &checkpoint.hash,
                    &checkpoint.purged_before,
                );
                if !ring.verify_any(&text, &checkpoint.signature) {
                    let what = "the purge checkpoint's signature does not match".to_owned();
                    return (
                        0,
                        Some(problem(checkpoint.seq, Tampering::CheckpointEdited, what)),
                    );
                }
                (checkpoint.seq + 1, checkpoint.hash.as_str())
            }
            None => (1, GENESIS_HASH),
        };
        let mut expected_seq = first_seq;
        for (row, check) in self.rows.iter().zip(self.checks) {
            let found = if row.seq != expected_seq {
                Some((
                    expected_seq,
                    Tampering::Deleted,
                    format!("is missing (the next stored receipt is {})", row.seq),
                ))
            } else if row.prev_hash != previous_hash {
                Some((
                    row.seq,
                    Tampering::Reordered,
                    "does not chain to the receipt before it (deleted, inserted or reordered)"
                        .to_owned(),
                ))
            } else if !check.hash_matches {
                Some((
                    row.seq,
                    Tampering::Altered,
                    "was altered: its hash does not match its stored contents".to_owned(),
                ))
            } else if !check.signature_matches {
                Some((
                    row.seq,
                    Tampering::Forged,
                    "has a signature that does not match the server's key".to_owned(),
                ))
            } else {
                check
                    .column_problem
                    .clone()
                    .map(|what| (row.seq, Tampering::ColumnEdited, what))
            };
            if let Some((seq, kind, what)) = found {
                let checked = (seq - first_seq).max(0) as usize;
                return (checked, Some(problem(seq, kind, what)));
            }
            previous_hash = &row.hash;
            expected_seq += 1;
        }
        let last_seq = expected_seq - 1;
        let checked = (last_seq - first_seq + 1) as usize;
        if let Some((head_seq, head_hash)) = self.head_row {
            if head_seq != last_seq || head_hash != previous_hash {
                let (kind, missing) = if head_seq > last_seq {
                    (Tampering::Deleted, "is missing: ")
                } else {
                    (Tampering::HeadRowEdited, "")
                };
                let what = format!(
                    "{missing}the chain_heads row says the last receipt is {head_seq}, the chain ends at {last_seq}"
                );
                return (checked, Some(problem(last_seq + 1, kind, what)));
            }
        }
        (checked, self.check_signed_heads(first_seq, last_seq))
    }

    /// The chain, which verified from `first_seq` to `last_seq`, against the signed heads.
    fn check_signed_heads(&self, first_seq: i64, last_seq: i64) -> Option<Problem> {
        let mut heads: Vec<&SignedHead> = self.signed_heads.to_vec();
        // The latest head first: a cut is reported with the last receipt the server signed.
        heads.sort_by_key(|head| std::cmp::Reverse(head.seq));
        for head in heads {
            let known_hash = if head.seq == first_seq - 1 {
                // The purge checkpoint's receipt (or the genesis).
                self.checkpoint.map(|c| c.hash.as_str())
            } else if head.seq >= first_seq && head.seq <= last_seq {
                Some(self.rows[(head.seq - first_seq) as usize].hash.as_str())
            } else if head.seq > last_seq {
                let lost = if head.seq == last_seq + 1 {
                    format!("receipt {}", head.seq)
                } else {
                    format!("receipts {} to {}", last_seq + 1, head.seq)
                };
                return Some(Problem {
                    site: self.site.to_owned(),
                    seq: last_seq + 1,
                    kind: Tampering::Truncated,
                    what: format!(
                        "is missing: the server signed its chain's head at receipt {} on {}, the database ends at {last_seq} ({lost} deleted)",
                        head.seq, head.signed_at
                    ),
                });
            } else {
                // Purged since the head was signed.
                None
            };
            if known_hash.is_some_and(|hash| hash != head.hash) {
                return Some(Problem {
                    site: self.site.to_owned(),
                    seq: head.seq,
                    kind: Tampering::HeadMismatch,
                    what: format!(
                        "differs from the receipt the server signed as its chain's head on {} (the chain was cut and written again)",
                        head.signed_at
                    ),
                });
            }
        }
        None
    }
}

/// What `verify` found of the receipts' compiled configs.
#[derive(Debug, Default)]
pub struct ConfigReport {
    /// Receipts that name a compiled config.
    pub with_config: usize,
    /// Receipts whose config the archive does not hold: site, seq, config id. Their texts
    /// cannot be shown (a config compiled for static hosting without `config build --db`).
    pub unknown: Vec<(String, i64, String)>,
    /// Archived configs whose body no longer hashes to their id: site, config id.
    pub altered: Vec<(String, String)>,
}

/// Checks every archived compiled config against its own id, and that every receipt naming
/// a config names one the archive holds.
pub async fn check_configs(store: &Store) -> Result<ConfigReport> {
    let mut report = ConfigReport::default();
    let mut archived = std::collections::HashSet::new();
    for (site, config_id, body) in store.config_archive().await? {
        let intact = kelisim_core::compile::CompiledConfig::from_json(&body)
            .is_ok_and(|compiled| compiled.site == site && compiled.config_id == config_id);
        if !intact {
            report.altered.push((site.clone(), config_id.clone()));
        }
        archived.insert((site, config_id));
    }
    #[derive(serde::Deserialize)]
    struct Named {
        receipt: NamedConfig,
    }
    #[derive(serde::Deserialize)]
    struct NamedConfig {
        config_id: Option<String>,
    }
    for row in store.chain_rows().await? {
        let Ok(named) = serde_json::from_str::<Named>(&row.body) else {
            continue; // a body that is not a receipt is the chain check's finding
        };
        if let Some(config_id) = named.receipt.config_id {
            report.with_config += 1;
            if !archived.contains(&(row.site.clone(), config_id.clone())) {
                report.unknown.push((row.site, row.seq, config_id));
            }
        }
    }
    Ok(report)
}
