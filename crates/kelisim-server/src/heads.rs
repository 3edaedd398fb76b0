//! Signed chain heads: a record, outside the database, of how far the server had taken each
//! site's chain. Each link of a chain proves the links before it, but nothing in the database
//! proves where a chain ended: whoever can write to it could delete the newest receipts and
//! move the `chain_heads` row back. So the receipt writer signs the head of every chain it
//! extended (site, sequence number, hash, time) and appends it to the head log, a JSON-lines
//! file beside the signing key; `GET /v1/chain-heads` serves the latest ones in the same form
//! for monitoring to fetch and keep; `verify --heads` checks a database against any such
//! file, and `serve` refuses to extend a database that ends before the log says it did.
//!
//! The log is appended after the database commit, never before, so it can only lag behind
//! the database (by at most [`HEAD_INTERVAL`], or a crash's last interval), never lead it: a
//! database that ends before a signed head lost receipts the server had acknowledged. Once
//! the file passes [`COMPACT_AT_BYTES`] it is rewritten with the latest head of each site.

use crate::chain::{PublicKey, Signer};
use crate::receipt::format_time;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// The least time between two appends of a site's head.
pub const HEAD_INTERVAL: Duration = Duration::from_secs(1);

/// Past this size the log is compacted to one line per site.
const COMPACT_AT_BYTES: u64 = 1024 * 1024;

/// The head log's file name, beside the signing key unless `--heads` says otherwise.
pub const DEFAULT_FILE_NAME: &str = "kelisim-heads.jsonl";

/// One signed head: the server vouches that `site`'s chain reached `seq`, whose hash is `hash`,
/// at `signed_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedHead {
    pub site: String,
    pub seq: i64,
    pub hash: String,
    /// RFC 3339, UTC.
    pub signed_at: String,
    /// Ed25519 over [`SignedHead::signed_text`], hex.
    pub signature: String,
}

impl SignedHead {
    pub fn new(signer: &Signer, site: &str, seq: i64, hash: &str, now: OffsetDateTime) -> Self {
        let signed_at = format_time(now);
        SignedHead {
            signature: signer.sign(&Self::signed_text(site, seq, hash, &signed_at)),
            site: site.to_owned(),
            seq,
            hash: hash.to_owned(),
            signed_at,
        }
    }

    /// The text the signature covers. Its first line sets it apart from what else the key
    /// signs (a receipt's hash, a purge checkpoint).
    pub fn signed_text(site: &str, seq: i64, hash: &str, signed_at: &str) -> String {
        format!("kelisim-head\n{site}\n{seq}\n{hash}\n{signed_at}")
    }

    /// Whether a key of the ring signed it (heads signed before a key rotation stay valid).
    pub fn verify_with(&self, ring: &crate::keys::KeyRing) -> bool {
        ring.verify_any(
            &Self::signed_text(&self.site, self.seq, &self.hash, &self.signed_at),
            &self.signature,
        )
    }

    pub fn verify(&self, key: PublicKey) -> Result<()> {
        key.verify(
            &Self::signed_text(&self.site, self.seq, &self.hash, &self.signed_at),
            &self.signature,
        )
    }
}

/// Reads signed heads from a JSON-lines file (the head log, or lines fetched from
/// `/v1/chain-heads` and kept). A last line cut short by a crash is skipped; any other line
/// that is not a signed head is an error naming it.
pub fn read(path: &Path) -> Result<Vec<SignedHead>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the signed heads {}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let mut heads = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<SignedHead>(line) {
            Ok(head) => heads.push(head),
            Err(_) if index + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(error) => {
                anyhow::bail!(
                    "{}:{}: not a signed head: {error}",
                    path.display(),
                    index + 1
                )
            }
        }
    }
    Ok(heads)
}

/// Cuts a last line left unfinished by a crash, so that the next append starts a line of its
/// own.
fn drop_torn_line(path: &Path) -> Result<()> {
    let bytes = std::fs::read(path)?;
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return Ok(());
    }
    let keep = bytes
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |at| at + 1);
    let file = std::fs::OpenOptions::new().write(true).open(path)?;
    file.set_len(keep as u64)?;
    file.sync_all()?;
    tracing::warn!(
        "the head log {} ended in an unfinished line (a crash while writing); it was cut",
        path.display()
    );
    Ok(())
}

/// The latest head of each site among `heads` (by sequence number).
pub fn latest(heads: &[SignedHead]) -> BTreeMap<String, SignedHead> {
    let mut latest: BTreeMap<String, SignedHead> = BTreeMap::new();
    for head in heads {
        match latest.get(&head.site) {
            Some(known) if known.seq >= head.seq => {}
            _ => {
                latest.insert(head.site.clone(), head.clone());
            }
        }
    }
    latest
}

/// The latest signed head of each site, shared with `GET /v1/chain-heads`.
pub type Published = Arc<Mutex<BTreeMap<String, SignedHead>>>;

/// The appending side, owned by the receipt writer.
pub struct HeadLog {
    path: PathBuf,
    /// Heads committed to the database but not yet signed into the log.
    pending: BTreeMap<String, (i64, String)>,
    last_write: Option<Instant>,
    published: Published,
}

impl HeadLog {
    /// Opens the log at `path` (created empty when missing) and what it already holds.
    pub fn open(path: &Path) -> Result<HeadLog> {
        let heads = if path.exists() {
            drop_torn_line(path)?;
            read(path)?
        } else {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            Vec::new()
        };
        Ok(HeadLog {
            path: path.to_owned(),
            pending: BTreeMap::new(),
            last_write: None,
            published: Arc::new(Mutex::new(latest(&heads))),
        })
    }

    pub fn published(&self) -> Published {
        self.published.clone()
    }

    /// The latest signed head of each site.
    pub fn latest(&self) -> BTreeMap<String, SignedHead> {
        self.published.lock().map(|m| m.clone()).unwrap_or_default()
    }

    /// Notes that `site`'s chain now ends at `seq` with `hash` (committed).
    pub fn note(&mut self, site: &str, seq: i64, hash: &str) {
        match self.pending.get(site) {
            Some((known, _)) if *known >= seq => {}
            _ => {
                self.pending.insert(site.to_owned(), (seq, hash.to_owned()));
            }
        }
    }

    /// When the pending heads are next due to be written, if any are pending.
    pub fn due_at(&self) -> Option<Instant> {
        if self.pending.is_empty() {
            return None;
        }
        Some(
            self.last_write
                .map_or_else(Instant::now, |last| last + HEAD_INTERVAL),
        )
    }

    /// Signs and appends the pending heads (and syncs the file), then publishes them.
    pub fn write(&mut self, signer: &Signer) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let now = OffsetDateTime::now_utc();
        let heads: Vec<SignedHead> = std::mem::take(&mut self.pending)
            .into_iter()
            .map(|(site, (seq, hash))| SignedHead::new(signer, &site, seq, &hash, now))
            .collect();
        let mut text = String::new();
        for head in &heads {
            text.push_str(&serde_json::to_string(head)?);
            text.push('\n');
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .with_context(|| format!("opening the head log {}", self.path.display()))?;
        file.write_all(text.as_bytes())?;
        file.sync_data()?;
        let size = file.metadata()?.len();
        self.last_write = Some(Instant::now());
        let mut published = self
            .published
            .lock()
            .expect("the head map is never poisoned");
        for head in heads {
            published.insert(head.site.clone(), head);
        }
        if size > COMPACT_AT_BYTES {
            let latest: Vec<SignedHead> = published.values().cloned().collect();
            drop(published);
            self.compact(&latest)?;
        }
        Ok(())
    }

    /// Rewrites the log with one line per site: written to a temporary file, synced, then
    /// renamed over the log, so a crash leaves either the old log or the new one.
    fn compact(&self, latest: &[SignedHead]) -> Result<()> {
        let temporary = self.path.with_extension("jsonl.compacting");
        let mut file = std::fs::File::create(&temporary)?;
        for head in latest {
            writeln!(file, "{}", serde_json::to_string(head)?)?;
        }
        file.sync_all()?;
        std::fs::rename(&temporary, &self.path)?;
        if let Some(parent) = self.path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::File::open(parent)?.sync_all()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_round_trip_and_a_torn_last_line_is_skipped() {
        let dir = std::env::temp_dir().join(format!("kelisim-heads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join(DEFAULT_FILE_NAME);
        let signer = Signer::from_seed([5; 32]);
        let mut log = HeadLog::open(&path).unwrap();
        log.note("a", 3, &"1".repeat(64));
        log.note("a", 2, &"0".repeat(64));
        log.note("b", 1, &"2".repeat(64));
        log.write(&signer).unwrap();
        log.note("a", 4, &"3".repeat(64));
        log.write(&signer).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        file.write_all(b"{\"site\":\"a\",\"se").unwrap();
        let heads = read(&path).unwrap();
        assert_eq!(heads.len(), 3);
        for head in &heads {
            head.verify(signer.public_key()).unwrap();
        }
        let latest = latest(&heads);
        assert_eq!(latest["a"].seq, 4);
        assert_eq!(latest["b"].seq, 1);
        assert_eq!(HeadLog::open(&path).unwrap().latest(), latest);
        let mut forged = latest["a"].clone();
        forged.seq = 3;
        assert!(forged.verify(signer.public_key()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
