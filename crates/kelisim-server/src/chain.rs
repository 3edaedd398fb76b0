//! The hash chain and the server's signature. Each receipt's hash is
//! `SHA-256(prev_hash || "\n" || body)` in hex, where `body` is the exact stored JSON text; the
//! first receipt of a site (or the first after a purge checkpoint) chains to the checkpoint's
//! hash, or to 64 zeros. The hash is signed with the server's Ed25519 key, which lives in a file
//! outside the database so that whoever can edit the database cannot re-sign it.

use anyhow::{bail, Context, Result};
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};
use std::path::Path;

/// `prev_hash` of a site's first receipt.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The hash of a chain link, in hex.
pub fn link_hash(prev_hash: &str, body: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(body.as_bytes());
    hex::encode(hasher.finalize())
}

/// The server's signing key.
pub struct Signer {
    key: SigningKey,
}

impl Signer {
    /// Loads the key from `path`, which must exist.
    pub fn load(path: &Path) -> Result<Signer> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the signing key {}", path.display()))?;
        let bytes = hex::decode(text.trim()).context("the signing key file is not hex")?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| anyhow::anyhow!("the signing key must be 32 bytes"))?;
        Ok(Signer {
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Loads the key from `path`, or creates it (readable by the owner only) on first run.
    pub fn load_or_create(path: &Path) -> Result<Signer> {
        if path.exists() {
            return Signer::load(path);
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let key = SigningKey::generate(&mut rand_core::OsRng);
        write_private(path, &hex::encode(key.to_bytes()))?;
        tracing::info!("created a new signing key at {}", path.display());
        Ok(Signer { key })
    }

    pub fn from_seed(seed: [u8; 32]) -> Signer {
        Signer {
            key: SigningKey::from_bytes(&seed),
        }
    }

    /// Signs many hashes, in order. Signing is most of the CPU time of storing a receipt and
    /// the chain no longer needs order once the hashes exist, so a large batch is split over
    /// the machine's cores (scoped threads: no allocation of a pool, nothing outlives the call).
    pub fn sign_all(&self, hashes: &[&str]) -> Vec<String> {
        const PER_THREAD_AT_LEAST: usize = 16;
        let threads = std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(hashes.len() / PER_THREAD_AT_LEAST)
            .max(1);
        if threads == 1 {
            return hashes.iter().map(|hash| self.sign(hash)).collect();
        }
        let per_thread = hashes.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let parts: Vec<_> = hashes
                .chunks(per_thread)
                .map(|part| {
                    scope.spawn(move || part.iter().map(|hash| self.sign(hash)).collect::<Vec<_>>())
                })
                .collect();
            parts
                .into_iter()
                .flat_map(|part| part.join().expect("signing does not panic"))
                .collect()
        })
    }

    /// Signs a hash (hex) and returns the signature in hex.
    pub fn sign(&self, hash: &str) -> String {
        hex::encode(self.key.sign(hash.as_bytes()).to_bytes())
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.key.verifying_key())
    }
}

/// The public half, served at `/v1/public-key` so anyone can verify receipts.
#[derive(Clone, Copy, Debug)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    pub fn to_hex(self) -> String {
        hex::encode(self.0.to_bytes())
    }

    pub fn from_hex(text: &str) -> Result<PublicKey> {
        let bytes: [u8; 32] = hex::decode(text.trim())?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a public key is 32 bytes"))?;
        Ok(PublicKey(VerifyingKey::from_bytes(&bytes)?))
    }

    /// Whether `signature` (hex) signs `hash` (hex).
    pub fn verify(self, hash: &str, signature: &str) -> Result<()> {
        let bytes: [u8; 64] = hex::decode(signature)?
            .try_into()
            .map_err(|_| anyhow::anyhow!("a signature is 64 bytes"))?;
        if self
            .0
            .verify(hash.as_bytes(), &Signature::from_bytes(&bytes))
            .is_err()
        {
            bail!("the signature does not match");
        }
        Ok(())
    }
}

/// Writes a new secret file readable by its owner only; fails if the file exists.
#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    Ok(())
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signing_many_in_parallel_keeps_the_order() {
        let signer = Signer::from_seed([3; 32]);
        let hashes: Vec<String> = (0..100)
            .map(|n| link_hash(GENESIS_HASH, &n.to_string()))
            .collect();
        let hashes: Vec<&str> = hashes.iter().map(String::as_str).collect();
        let one_by_one: Vec<String> = hashes.iter().map(|hash| signer.sign(hash)).collect();
        assert_eq!(signer.sign_all(&hashes), one_by_one);
        assert_eq!(signer.sign_all(&hashes[..3]), one_by_one[..3]);
        assert!(signer.sign_all(&[]).is_empty());
    }

    #[test]
    fn sign_and_verify() {
        let signer = Signer::from_seed([7; 32]);
        let hash = link_hash(GENESIS_HASH, "{}");
        let signature = signer.sign(&hash);
        let public = signer.public_key();
        assert!(public.verify(&hash, &signature).is_ok());
        assert!(public
            .verify(&link_hash(GENESIS_HASH, "{ }"), &signature)
            .is_err());
        assert!(PublicKey::from_hex(&public.to_hex())
            .unwrap()
            .verify(&hash, &signature)
            .is_ok());
    }

    #[test]
    fn key_file_round_trip() {
        let dir = std::env::temp_dir().join(format!("kelisim-key-{}", std::process::id()));
        let path = dir.join("signing.key");
        let _ = std::fs::remove_dir_all(&dir);
        let first = Signer::load_or_create(&path).unwrap();
        let again = Signer::load_or_create(&path).unwrap();
        assert_eq!(first.public_key().to_hex(), again.public_key().to_hex());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
