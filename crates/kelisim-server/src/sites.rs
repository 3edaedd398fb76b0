//! The sites file: which site ids this server accepts receipts for, from which origins, and
//! how long their receipts are kept.
//!
//! ```json
//! {"sites": [{"id": "glazik-kz", "origins": ["https://glazik.kz"], "retention_days": 1826,
//!             "config": "glazik/kelisim.json",
//!             "sms": {"gateway": "mobizon", "key_file": "secrets/mobizon.key", "sender": "GLAZIK"}}]}
//! ```
//!
//! A site's `sms` (see `sms::SmsSettings`) lets its forms confirm consent by SMS code; its key
//! file is read here too, so a missing or empty key stops the file like a broken config.
//!
//! A site's `config` (a path relative to the sites file) is compiled when the file is read:
//! a config that does not compile makes the whole file fail, so `serve` does not start and a
//! reload keeps the sites it had.

use crate::configs::{compile_file, SiteConfigs};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Five years: the longest retention in the stores' own policies.
pub const DEFAULT_RETENTION_DAYS: u32 = 1826;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SitesFile {
    sites: Vec<Site>,
}

/// One site: its id (as in `kelisim.json`), allowed origins and retention.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub id: String,
    /// Origins allowed to post receipts, e.g. `https://glazik.kz`.
    pub origins: Vec<String>,
    #[serde(default = "default_retention")]
    pub retention_days: u32,
    /// Keep each receipt's full user agent instead of the browser, system and device class
    /// (`user_agent::reduce`). Off unless a site's DPO needs more.
    #[serde(default)]
    pub full_user_agent: bool,
    /// The site's `kelisim.json`, served compiled at `/v1/config/{site}/{language}`.
    #[serde(default)]
    pub config: Option<PathBuf>,
    /// The SMS gateway for forms that confirm consent by SMS code.
    #[serde(default)]
    pub sms: Option<crate::sms::SmsSettings>,
    /// `sms` with its key read (by [`Sites::load`]).
    #[serde(skip)]
    pub sms_gateway: Option<crate::sms::Gateway>,
    /// Electronic signatures: the CA certificates a signer's certificate must chain to.
    #[serde(default)]
    pub eds: Option<EdsSettings>,
    /// `eds` with its certificates read (by [`Sites::load`]).
    #[serde(skip)]
    pub eds_roots: Option<Vec<x509_cert::Certificate>>,
}

/// A site's `eds` object in the sites file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct EdsSettings {
    /// PEM or DER files (relative to the sites file) of the root CA certificates trusted for
    /// consent signatures: the national CA's RSA root (and intermediates are found in the
    /// signatures themselves, or may be listed here too).
    pub ca_certificates: Vec<PathBuf>,
    /// The OCSP responder asked whether a signer's certificate was revoked [default: the one
    /// each certificate names].
    #[serde(default)]
    pub ocsp_url: Option<String>,
    /// An NCANode the operator runs (its HTTP API, `…/cms/verify`): it verifies GOST
    /// signatures, which this server cannot. Without one they are kept as not verified.
    #[serde(default)]
    pub ncanode_url: Option<String>,
}

fn default_retention() -> u32 {
    DEFAULT_RETENTION_DAYS
}

#[derive(Clone, Debug, Default)]
pub struct Sites(Vec<Site>, SiteConfigs);

impl Sites {
    /// Sites without compiled configs.
    pub fn new(sites: Vec<Site>) -> Sites {
        Sites(sites, SiteConfigs::default())
    }

    pub fn load(path: &Path) -> Result<Sites> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the sites file {}", path.display()))?;
        let file: SitesFile = serde_json::from_str(&text)
            .with_context(|| format!("parsing the sites file {}", path.display()))?;
        for site in &file.sites {
            if site.id.is_empty() {
                bail!("{}: a site has an empty id", path.display());
            }
            for origin in &site.origins {
                if !(origin.starts_with("https://") || origin.starts_with("http://"))
                    || origin.ends_with('/')
                {
                    bail!("{}: site `{}`: origin \"{origin}\" must look like https://shop.kz (no path, no trailing slash)", path.display(), site.id);
                }
            }
            if site.retention_days == 0 {
                bail!(
                    "{}: site `{}`: retention_days must be at least 1",
                    path.display(),
                    site.id
                );
            }
        }
        let mut configs = SiteConfigs::default();
        let folder = path.parent().unwrap_or(Path::new(""));
        let mut failures = Vec::new();
        let mut file = file;
        for site in &mut file.sites {
            let Some(settings) = site.eds.clone() else {
                continue;
            };
            if site.config.is_none() {
                failures.push(format!(
                    "site `{}`: `eds` needs the site's `config`: the documents are written from it",
                    site.id
                ));
                continue;
            }
            match read_roots(&settings, folder) {
                Ok(roots) => site.eds_roots = Some(roots),
                Err(error) => failures.push(format!("site `{}`: {error:#}", site.id)),
            }
        }
        for site in &mut file.sites {
            let Some(settings) = &site.sms else { continue };
            if site.config.is_none() {
                failures.push(format!(
                    "site `{}`: `sms` needs the site's `config`: the SMS texts and the purpose sets come from it",
                    site.id
                ));
                continue;
            }
            match crate::sms::Gateway::from_settings(settings, folder) {
                Ok(gateway) => site.sms_gateway = Some(gateway),
                Err(error) => failures.push(format!("site `{}`: {error:#}", site.id)),
            }
        }
        for site in &file.sites {
            if let Some(config) = &site.config {
                match compile_file(&folder.join(config), Some(&site.id)) {
                    Ok(compiled) => configs.insert(&site.id, compiled),
                    Err(error) => failures.push(format!("site `{}`: {error:#}", site.id)),
                }
            }
        }
        if !failures.is_empty() {
            bail!(
                "{}: a site's config does not compile\n{}",
                path.display(),
                failures.join("\n")
            );
        }
        Ok(Sites(file.sites, configs))
    }

    /// The compiled configs of the sites that name one.
    pub fn configs(&self) -> &SiteConfigs {
        &self.1
    }

    pub fn get(&self, id: &str) -> Option<&Site> {
        self.0.iter().find(|site| site.id == id)
    }

    pub fn all(&self) -> &[Site] {
        &self.0
    }

    /// Whether any site allows `origin` (CORS preflight, before the body names the site).
    pub fn any_allows(&self, origin: &str) -> bool {
        self.0.iter().any(|site| site.allows(origin))
    }
}

/// The CA certificates of `settings`: at least one, each file readable and holding certificates.
fn read_roots(settings: &EdsSettings, folder: &Path) -> Result<Vec<x509_cert::Certificate>> {
    if settings.ca_certificates.is_empty() {
        bail!("eds.ca_certificates is empty: name the CA certificates signers must chain to");
    }
    let mut roots = Vec::new();
    for path in &settings.ca_certificates {
        let path = folder.join(path);
        let bytes = std::fs::read(&path)
            .with_context(|| format!("reading eds.ca_certificates {}", path.display()))?;
        let certificates = crate::cms_check::read_certificates(&bytes).with_context(|| {
            format!(
                "eds.ca_certificates {} holds no certificate",
                path.display()
            )
        })?;
        if certificates.is_empty() {
            bail!(
                "eds.ca_certificates {} holds no certificate",
                path.display()
            );
        }
        roots.extend(certificates);
    }
    Ok(roots)
}

impl Site {
    pub fn allows(&self, origin: &str) -> bool {
        self.origins.iter().any(|allowed| allowed == origin)
    }
}
