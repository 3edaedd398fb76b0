//! Who may do what. Five roles, each with its own credentials: `admin` (everything), `dpo`
//! (receipts, consent histories, exports, staff withdrawals), `marketer` (the stats and the
//! dashboard's numbers: no personal data), `monitor` (the metrics, for Prometheus: no
//! consent data at all) and `kiosk` (a store's tablet: starting SMS confirmations for one
//! site, from one store location, and nothing else; it reads no receipt). Every route asks for one [`Permission`]; [`Role::may`] is the one
//! table that says which role has it.
//!
//! Credentials are bearer tokens. The admin's comes from the environment or a file (see
//! `main.rs`); the others live in the credentials file, as SHA-256 digests only, written by
//! `kelisim-server credential add`, which shows each new token once. Tokens are random
//! (24 bytes from the OS), so a plain digest is as strong as a slow password hash here.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Dpo,
    Marketer,
    Monitor,
    Kiosk,
}

/// What a route needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// `GET /v1/stats`, the dashboard's numbers.
    ReadStats,
    /// Receipts by id, consent histories, the export: personal data.
    ReadReceipts,
    /// Recording a withdrawal the staff received.
    RecordWithdrawal,
    /// `GET /metrics`.
    ReadMetrics,
    /// The store's tablet (`/kiosk/…`): SMS confirmations for its own site.
    Kiosk,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Dpo,
        Role::Marketer,
        Role::Monitor,
        Role::Kiosk,
    ];

    /// The one table of who may do what.
    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        match self {
            Role::Admin => true,
            Role::Dpo => matches!(permission, ReadReceipts | RecordWithdrawal),
            Role::Marketer => permission == ReadStats,
            Role::Monitor => permission == ReadMetrics,
            Role::Kiosk => permission == Kiosk,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Dpo => "dpo",
            Role::Marketer => "marketer",
            Role::Monitor => "monitor",
            Role::Kiosk => "kiosk",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.name() == text)
    }
}

/// Who a request or a session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub role: Role,
    /// A kiosk's site and store location.
    pub kiosk: Option<KioskScope>,
}

/// What a kiosk credential is limited to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KioskScope {
    /// The site (as in the sites file) whose forms it may show.
    pub site: String,
    /// The store it stands in (`Алматы, ТРЦ Mega, 1 этаж`), recorded in each receipt.
    pub location: String,
}

/// One entry of the credentials file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Who holds it (a person or a system), unique in the file.
    pub name: String,
    pub role: Role,
    /// SHA-256 of the token, hex.
    pub token_sha256: String,
    /// Role `kiosk` only (and required there): its site and location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kiosk: Option<KioskScope>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CredentialsFile {
    pub credentials: Vec<Credential>,
}

impl CredentialsFile {
    /// Reads the file; a missing file is an empty one only when `may_be_missing`.
    pub fn load(path: &Path, may_be_missing: bool) -> Result<CredentialsFile> {
        if may_be_missing && !path.exists() {
            return Ok(CredentialsFile::default());
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the credentials file {}", path.display()))?;
        let file: CredentialsFile = serde_json::from_str(&text)
            .with_context(|| format!("parsing the credentials file {}", path.display()))?;
        for (index, credential) in file.credentials.iter().enumerate() {
            let where_ = format!("{}: credentials[{index}]", path.display());
            if credential.name.trim().is_empty() {
                bail!("{where_}: the name is empty");
            }
            if credential.token_sha256.len() != 64
                || !credential
                    .token_sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit())
            {
                bail!(
                    "{where_} ({}): token_sha256 must be 64 hex digits",
                    credential.name
                );
            }
            match (&credential.kiosk, credential.role) {
                (None, Role::Kiosk) => bail!(
                    "{where_} ({}): a kiosk credential needs kiosk.site and kiosk.location",
                    credential.name
                ),
                (Some(_), role) if role != Role::Kiosk => bail!(
                    "{where_} ({}): only a kiosk credential has a kiosk scope",
                    credential.name
                ),
                (Some(scope), _)
                    if scope.site.trim().is_empty() || scope.location.trim().is_empty() =>
                {
                    bail!(
                        "{where_} ({}): kiosk.site and kiosk.location must not be empty",
                        credential.name
                    )
                }
                _ => {}
            }
            if file.credentials[..index]
                .iter()
                .any(|other| other.name == credential.name)
            {
                bail!("{where_}: the name {} is used twice", credential.name);
            }
        }
        Ok(file)
    }

    /// Writes the file (readable by its owner only), replacing it whole.
    pub fn save(&self, path: &Path) -> Result<()> {
        let text = serde_json::to_string_pretty(self)? + "\n";
        let temporary = path.with_extension("json.writing");
        let _ = std::fs::remove_file(&temporary);
        crate::chain::write_private(&temporary, &text)?;
        std::fs::rename(&temporary, path)
            .with_context(|| format!("writing the credentials file {}", path.display()))?;
        Ok(())
    }
}

/// The credentials a running server accepts: the admin token and the file's entries.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    entries: Vec<(Identity, [u8; 32])>,
}

impl Credentials {
    pub fn new(admin_token: &str, file: &CredentialsFile) -> Credentials {
        let mut entries = vec![(
            Identity {
                name: "admin".into(),
                role: Role::Admin,
                kiosk: None,
            },
            digest(admin_token),
        )];
        for credential in &file.credentials {
            let mut hash = [0u8; 32];
            if hex::decode_to_slice(&credential.token_sha256, &mut hash).is_ok() {
                entries.push((
                    Identity {
                        name: credential.name.clone(),
                        role: credential.role,
                        kiosk: credential.kiosk.clone(),
                    },
                    hash,
                ));
            }
        }
        Credentials { entries }
    }

    /// The identity of credential `name` as the file says now (a session names its holder;
    /// a credential removed or changed since takes effect at once).
    pub fn named(&self, name: &str) -> Option<Identity> {
        self.entries
            .iter()
            .find(|(identity, _)| identity.name == name)
            .map(|(identity, _)| identity.clone())
    }

    /// Who holds `token`, if anyone. Every entry is compared, and digests rather than tokens,
    /// so the time taken tells nothing about where a wrong token differs.
    pub fn identify(&self, token: &str) -> Option<Identity> {
        let given = digest(token);
        let mut found = None;
        for (identity, hash) in &self.entries {
            let differs = given
                .iter()
                .zip(hash)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if differs == 0 && found.is_none() {
                found = Some(identity.clone());
            }
        }
        found
    }
}

/// SHA-256 of a token or session id.
pub fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

/// A new random token (48 hex digits).
pub fn new_token() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_may_do_only_its_part() {
        use Permission::*;
        let table = [
            (Role::Admin, [true, true, true, true, true]),
            (Role::Dpo, [false, true, true, false, false]),
            (Role::Marketer, [true, false, false, false, false]),
            (Role::Monitor, [false, false, false, true, false]),
            (Role::Kiosk, [false, false, false, false, true]),
        ];
        for (role, expected) in table {
            let got = [
                ReadStats,
                ReadReceipts,
                RecordWithdrawal,
                ReadMetrics,
                Kiosk,
            ]
            .map(|p| role.may(p));
            assert_eq!(got, expected, "{role:?}");
            assert_eq!(Role::parse(role.name()), Some(role));
        }
    }

    #[test]
    fn tokens_identify_their_holders() {
        let marketer = new_token();
        let file = CredentialsFile {
            credentials: vec![Credential {
                name: "aruzhan".into(),
                role: Role::Marketer,
                token_sha256: hex::encode(digest(&marketer)),
                kiosk: None,
            }],
        };
        let credentials = Credentials::new("the-admin-token-0000", &file);
        assert_eq!(
            credentials.identify("the-admin-token-0000").unwrap().role,
            Role::Admin
        );
        let identity = credentials.identify(&marketer).unwrap();
        assert_eq!(
            (identity.name.as_str(), identity.role),
            ("aruzhan", Role::Marketer)
        );
        assert!(credentials.identify("").is_none());
        assert!(credentials.identify(&format!("{marketer}x")).is_none());
    }
}
