//! Which key signed which receipt, across signing-key rotations. A rotation (`kelisim-server
//! rotate-key`, with the server stopped) makes a new key and records, signed by both keys, from
//! which sequence number of each site the new key signs. [`KeyRing::build`] starts from the
//! key the verifier trusts (the current one) and walks the rotations back: each must be signed
//! by the key it hands over to (so no one without that key can invent a predecessor) and by
//! the key it hands over from (so the old key's holder agreed). `verify` and `serve`'s start-up
//! check then ask [`KeyRing::key_for`] for each receipt's key; heads and purge checkpoints may
//! be signed by any key of the ring.

use crate::chain::{PublicKey, Signer};
use crate::receipt::format_time;
use anyhow::{bail, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// One stored rotation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rotation {
    pub rotated_at: String,
    pub from_public: String,
    pub to_public: String,
    /// Site id → the first sequence number the new key signs (JSON in the database).
    pub starts: BTreeMap<String, i64>,
    pub from_signature: String,
    pub to_signature: String,
}

impl Rotation {
    /// A rotation from `from` to `to` for chains whose next sequence numbers are `starts`.
    pub fn new(
        from: &Signer,
        to: &Signer,
        starts: BTreeMap<String, i64>,
        now: OffsetDateTime,
    ) -> Rotation {
        let rotated_at = format_time(now);
        let from_public = from.public_key().to_hex();
        let to_public = to.public_key().to_hex();
        let text = Rotation::signed_text(&from_public, &to_public, &rotated_at, &starts);
        Rotation {
            from_signature: from.sign(&text),
            to_signature: to.sign(&text),
            rotated_at,
            from_public,
            to_public,
            starts,
        }
    }

    /// The text both signatures cover; its first line sets it apart from everything else the
    /// keys sign.
    pub fn signed_text(
        from_public: &str,
        to_public: &str,
        rotated_at: &str,
        starts: &BTreeMap<String, i64>,
    ) -> String {
        let starts = serde_json::to_string(starts).unwrap_or_default();
        format!("kelisim-key-rotation\n{from_public}\n{to_public}\n{rotated_at}\n{starts}")
    }

    fn text(&self) -> String {
        Rotation::signed_text(
            &self.from_public,
            &self.to_public,
            &self.rotated_at,
            &self.starts,
        )
    }
}

/// The keys a verifier trusts, and the span of sequence numbers each signed per site.
#[derive(Clone, Debug)]
pub struct KeyRing {
    current: PublicKey,
    /// Per site: (first sequence number, key) in ascending order, after the first key.
    spans: BTreeMap<String, Vec<(i64, PublicKey)>>,
    /// Every key of the ring, newest first.
    keys: Vec<PublicKey>,
}

impl KeyRing {
    /// The ring of `current` and the keys the `rotations` lead back to from it. A rotation
    /// that hands over to a key of the ring but is not signed by both keys is an error naming
    /// it; rotations that lead to no key of the ring are not trusted and play no part.
    pub fn build(current: PublicKey, rotations: &[Rotation]) -> Result<KeyRing> {
        let mut ring = KeyRing {
            current,
            spans: BTreeMap::new(),
            keys: vec![current],
        };
        let mut newest = current;
        // Each step finds the rotation that handed over to the oldest key found so far.
        while let Some(rotation) = rotations.iter().find(|r| r.to_public == newest.to_hex()) {
            let previous = PublicKey::from_hex(&rotation.from_public)?;
            if ring.keys.iter().any(|k| k.to_hex() == previous.to_hex()) {
                bail!(
                    "the key rotations of {} go round in a circle",
                    rotation.rotated_at
                );
            }
            let text = rotation.text();
            if newest.verify(&text, &rotation.to_signature).is_err()
                || previous.verify(&text, &rotation.from_signature).is_err()
            {
                bail!(
                    "the key rotation of {} is not signed by both of its keys (edited, or invented)",
                    rotation.rotated_at
                );
            }
            for (site, first_seq) in &rotation.starts {
                ring.spans
                    .entry(site.clone())
                    .or_default()
                    .insert(0, (*first_seq, newest));
            }
            // Sites that had no receipt at the rotation start with the new key; the old one
            // is the key before every recorded start.
            ring.keys.push(previous);
            newest = previous;
        }
        Ok(ring)
    }

    /// The key that signed (or signs) `site`'s receipt `seq`.
    pub fn key_for(&self, site: &str, seq: i64) -> PublicKey {
        let Some(spans) = self.spans.get(site) else {
            return self.oldest_for_missing_site();
        };
        let mut key = self.key_before(spans);
        for (first_seq, span_key) in spans {
            if seq >= *first_seq {
                key = *span_key;
            }
        }
        key
    }

    /// The key before a site's first recorded start: the one the oldest of its rotations
    /// handed over from.
    fn key_before(&self, spans: &[(i64, PublicKey)]) -> PublicKey {
        let first = spans.first().map(|(_, key)| key.to_hex());
        let position = self
            .keys
            .iter()
            .position(|k| Some(k.to_hex()) == first)
            .unwrap_or(0);
        *self.keys.get(position + 1).unwrap_or(&self.current)
    }

    /// A site no rotation mentions had no receipt at any rotation: the current key signs it.
    fn oldest_for_missing_site(&self) -> PublicKey {
        self.current
    }

    /// Whether any key of the ring signed `text` (heads and purge checkpoints).
    pub fn verify_any(&self, text: &str, signature: &str) -> bool {
        self.keys
            .iter()
            .any(|key| key.verify(text, signature).is_ok())
    }

    pub fn current(&self) -> PublicKey {
        self.current
    }

    /// How many keys the ring holds (1 without rotations).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_receipt_gets_the_key_of_its_span() {
        let (a, b, c) = (
            Signer::from_seed([1; 32]),
            Signer::from_seed([2; 32]),
            Signer::from_seed([3; 32]),
        );
        let now = time::macros::datetime!(2026-12-01 0:00 UTC);
        let first = Rotation::new(&a, &b, BTreeMap::from([("x".to_owned(), 11)]), now);
        let second = Rotation::new(
            &b,
            &c,
            BTreeMap::from([("x".to_owned(), 21), ("y".to_owned(), 4)]),
            now + time::Duration::days(1),
        );
        let ring = KeyRing::build(c.public_key(), &[first.clone(), second.clone()]).unwrap();
        assert_eq!(ring.len(), 3);
        let hex = |key: PublicKey| key.to_hex();
        assert_eq!(hex(ring.key_for("x", 1)), hex(a.public_key()));
        assert_eq!(hex(ring.key_for("x", 10)), hex(a.public_key()));
        assert_eq!(hex(ring.key_for("x", 11)), hex(b.public_key()));
        assert_eq!(hex(ring.key_for("x", 21)), hex(c.public_key()));
        assert_eq!(hex(ring.key_for("y", 3)), hex(b.public_key()));
        assert_eq!(hex(ring.key_for("y", 4)), hex(c.public_key()));
        assert_eq!(hex(ring.key_for("z", 1)), hex(c.public_key()));
        // Trusting only the middle key: the later rotation is not part of its ring.
        assert_eq!(
            KeyRing::build(b.public_key(), &[first.clone(), second.clone()])
                .unwrap()
                .len(),
            2
        );
        // An invented predecessor, signed by a key of the attacker's only, is refused.
        let mut forged = second;
        forged.from_public = Signer::from_seed([9; 32]).public_key().to_hex();
        assert!(KeyRing::build(c.public_key(), &[first, forged]).is_err());
    }
}
