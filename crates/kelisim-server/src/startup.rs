//! What `serve` checks before it signs anything: that the signing key is the one that signed
//! the database's receipts, and that the database reaches every chain head the server signed
//! before (the head log). Either failure means the database or the key is not the one the
//! server ran with: restored without its key, restored from an older backup, or edited. The
//! server then refuses to start rather than extend such a chain and sign over the gap.
//! Each check reads one receipt per site, so it costs nothing at start.

use crate::chain::PublicKey;
use crate::heads::SignedHead;
use anyhow::{bail, Result};
use std::collections::BTreeMap;
use std::path::Path;

pub async fn check_database(
    store: &crate::store::Store,
    key: PublicKey,
    signed_heads: &BTreeMap<String, SignedHead>,
    heads_path: &Path,
) -> Result<()> {
    let ring = crate::keys::KeyRing::build(key, &store.rotations().await?)?;
    let heads = store.heads().await?;
    let checkpoints = store.checkpoints().await?;
    for (site, seq, hash) in &heads {
        if *seq == 0 {
            continue;
        }
        if let Some((stored_hash, signature)) = store.link_at(site, *seq).await? {
            let signer = ring.key_for(site, *seq);
            if stored_hash != *hash || signer.verify(&stored_hash, &signature).is_err() {
                bail!(
                    "the last receipt of site {site} (receipt {seq}) was not signed by this signing key \
                     (public key {}) nor by a key it took over from (`rotate-key`): start with the key \
                     that signed this database (restore it from the backup the database came from), \
                     or rotate to a new key with the old one, and run `kelisim-server verify`",
                    key.to_hex()
                );
            }
        }
    }
    for head in signed_heads.values() {
        let site = &head.site;
        if !head.verify_with(&ring) {
            bail!(
                "the head log {} holds a head of site {site} that this signing key did not sign: \
                 the log and the key are from different servers",
                heads_path.display()
            );
        }
        let purged_to = checkpoints
            .iter()
            .find(|c| c.site == *site)
            .map_or(0, |c| c.seq);
        if head.seq <= purged_to {
            continue;
        }
        let reaches = heads
            .iter()
            .find(|(s, _, _)| s == site)
            .map_or(0, |(_, seq, _)| *seq);
        let matches = match store.link_at(site, head.seq).await? {
            Some((hash, _)) => hash == head.hash,
            None => false,
        };
        if reaches < head.seq || !matches {
            bail!(
                "the database does not hold receipt {} of site {site}, which the server signed as \
                 its chain's head on {} (the database reaches receipt {reaches}): receipts were \
                 deleted or rewritten, or the database was restored from an older backup. Run \
                 `kelisim-server verify` to see what is missing. To go on with this database on \
                 purpose, keep {} as the record of what was lost, move it aside, and start again.",
                head.seq,
                head.signed_at,
                heads_path.display()
            );
        }
    }
    Ok(())
}
