//! Compiled configs on the server: compiling the `kelisim.json` each site names (refusing one
//! that does not compile, with every problem), answering which compiled config a language
//! gets, writing them out for static hosting, and the text of `config check`.
//!
//! The compiler itself is `kelisim_core::compile`; the archive of every compiled config served
//! or built is in `store`.

use anyhow::{bail, Context, Result};
use axum::body::Bytes;
use kelisim_core::compile::{compile_text, CompiledConfig, Problem};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

pub use kelisim_core::compile::SERVED_LANGUAGES as LANGUAGE_NAMES;

/// The compiled configs of every site that names a config file, and each one's body as
/// browsers get it ([`CompiledConfig::to_browser_json`]) and the documents it keeps apart
/// ([`CompiledConfig::documents_apart`]), serialized once.
#[derive(Clone, Debug, Default)]
pub struct SiteConfigs {
    compiled: BTreeMap<String, Vec<CompiledConfig>>,
    /// By `config_id`: the browser body and its ETag.
    served: BTreeMap<String, ServedConfig>,
    /// By `config_id` and the name the body gives it: the documents apart from the body.
    served_documents: BTreeMap<(String, String), ServedConfig>,
}

/// A compiled config's body (or a document apart from it) as browsers get it.
#[derive(Clone, Debug)]
pub struct ServedConfig {
    /// Shared, so answering a request copies no bytes.
    pub body: axum::body::Bytes,
    /// The SHA-256 of `body`, quoted: the body is what the archived config's `config_id`
    /// names, less what browsers do not read, so a new kelisim may serve the same config
    /// differently; the ETag follows the bytes.
    pub etag: String,
    /// The body in each [`Coding`], compressed at the encoders' best settings once (in the
    /// background after start, [`SiteConfigs::compress_in_background`], or by a request that
    /// comes first) and kept while the config is served, by `Coding as usize`. Shared by the
    /// clones a request or that background task takes.
    encoded: Arc<[OnceLock<Bytes>; 2]>,
}

/// A content coding the configs are sent in (`Accept-Encoding`), best first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Brotli = 0,
    Gzip = 1,
}

impl Coding {
    /// Every coding, in the order of `ServedConfig`'s slots.
    pub const ALL: [Coding; 2] = [Coding::Brotli, Coding::Gzip];

    /// Its name in `Content-Encoding`.
    pub fn name(self) -> &'static str {
        match self {
            Coding::Brotli => "br",
            Coding::Gzip => "gzip",
        }
    }

    /// What the file of this form ends with, beside the plain one (nginx's `brotli_static`
    /// and `gzip_static` look for these).
    pub fn extension(self) -> &'static str {
        match self {
            Coding::Brotli => ".br",
            Coding::Gzip => ".gz",
        }
    }

    /// The coding a request's `Accept-Encoding` headers prefer: brotli over gzip, skipping
    /// any the browser refuses with `q=0`; `None`: the body as it is.
    pub fn preferred(accept_encoding: &[&str]) -> Option<Coding> {
        let (mut accepted, mut refused_names) = (Vec::new(), Vec::new());
        for item in accept_encoding.iter().flat_map(|value| value.split(',')) {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|parameter| {
                let parameter = parameter.trim();
                parameter
                    .strip_prefix("q=")
                    .or_else(|| parameter.strip_prefix("Q="))
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            if refused {
                refused_names.push(name);
            } else {
                accepted.push(name);
            }
        }
        // A coding named with `q=0` is refused even when `*` accepts the rest.
        let accepts = |name: &str| {
            !refused_names.iter().any(|item| item == name)
                && accepted.iter().any(|item| item == name || item == "*")
        };
        if accepts("br") {
            Some(Coding::Brotli)
        } else if accepts("gzip") || accepted.iter().any(|item| item == "x-gzip") {
            Some(Coding::Gzip)
        } else {
            None
        }
    }
}

impl SiteConfigs {
    pub fn insert(&mut self, site: &str, compiled: Vec<CompiledConfig>) {
        for config in &compiled {
            self.served.insert(
                config.config_id.clone(),
                ServedConfig::of(config.to_browser_json()),
            );
            for (href, document) in config.documents_apart() {
                self.served_documents
                    .insert((config.config_id.clone(), href), ServedConfig::of(document));
            }
        }
        self.compiled.insert(site.to_owned(), compiled);
    }

    /// The compiled config a browser gets for `language` (see [`LANGUAGE_NAMES`]): that
    /// language when the site offers it, the site's default language otherwise. `None` for
    /// a site without a config or a name that is not a language.
    pub fn get(&self, site: &str, language: &str) -> Option<&CompiledConfig> {
        kelisim_core::compile::for_language(self.compiled.get(site)?, language)
    }

    /// What [`SiteConfigs::get`] answers, as browsers get it.
    pub fn served(&self, site: &str, language: &str) -> Option<(&CompiledConfig, &ServedConfig)> {
        let config = self.get(site, language)?;
        Some((config, self.served.get(&config.config_id)?))
    }

    /// The document apart named `suffix` after the language (one of
    /// [`kelisim_core::compile::DOCUMENT_SUFFIXES`]) of the config [`SiteConfigs::served`]
    /// answers for `language`, as browsers get it; `None` also for a config without it (a
    /// site without forms).
    pub fn served_document(
        &self,
        site: &str,
        language: &str,
        suffix: &str,
    ) -> Option<(&CompiledConfig, &ServedConfig)> {
        let config = self.get(site, language)?;
        let key = (
            config.config_id.clone(),
            format!("{}{suffix}", config.language),
        );
        Some((config, self.served_documents.get(&key)?))
    }

    /// The documents apart from the body of the config `config_id`, each with the name its body
    /// gives it, as browsers get them.
    fn documents_of<'a>(
        &'a self,
        config_id: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a ServedConfig)> {
        self.served_documents
            .iter()
            .filter(move |((id, _), _)| id == config_id)
            .map(|((_, href), served)| (href.as_str(), served))
    }

    /// Compresses every body and document served in each [`Coding`] on a blocking thread, so
    /// that no visitor waits for it (a request that comes first compresses its own). Must be
    /// called within the server's runtime.
    pub fn compress_in_background(&self) {
        let served: Vec<ServedConfig> = self
            .served
            .values()
            .chain(self.served_documents.values())
            .cloned()
            .collect();
        if served.is_empty() {
            return;
        }
        tokio::task::spawn_blocking(move || {
            for config in served {
                for coding in Coding::ALL {
                    if let Err(error) = config.encoded(coding) {
                        tracing::warn!("a config could not be compressed by {coding:?}: {error}");
                    }
                }
            }
        });
    }

    /// Every compiled config of every site (for the archive).
    pub fn all(&self) -> impl Iterator<Item = &CompiledConfig> {
        self.compiled.values().flatten()
    }
}

impl ServedConfig {
    fn of(body: String) -> ServedConfig {
        let body = Bytes::from(body);
        let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body)));
        ServedConfig {
            body,
            etag,
            encoded: Arc::default(),
        }
    }

    /// The ETag of the body in `coding`: each form has its own (a strong validator names one
    /// sequence of bytes), the body's with the coding's name.
    pub fn etag_in(&self, coding: Option<Coding>) -> String {
        match coding {
            None => self.etag.clone(),
            Some(coding) => format!("{}-{}\"", self.etag.trim_end_matches('"'), coding.name()),
        }
    }

    /// The body in `coding` if it was compressed before.
    pub fn encoded_before(&self, coding: Coding) -> Option<Bytes> {
        self.encoded[coding as usize].get().cloned()
    }

    /// The body in `coding`, compressed now if neither the background task nor a request did
    /// it before.
    pub fn encoded(&self, coding: Coding) -> std::io::Result<Bytes> {
        let slot = &self.encoded[coding as usize];
        if let Some(bytes) = slot.get() {
            return Ok(bytes.clone());
        }
        let compressed = match coding {
            Coding::Brotli => kelisim_core::precompress::brotli(&self.body)?,
            Coding::Gzip => kelisim_core::precompress::gzip(&self.body)?,
        };
        Ok(slot.get_or_init(|| Bytes::from(compressed)).clone())
    }
}

/// Compiles the config file of a site, refusing it, with every problem, when it does not
/// compile or names another site.
pub fn compile_file(path: &Path, site: Option<&str>) -> Result<Vec<CompiledConfig>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config {}", path.display()))?;
    match compile_text(&text) {
        Ok(compiled) => {
            if let (Some(site), Some(first)) = (site, compiled.first()) {
                if first.site != site {
                    bail!(
                        "{}: the config is for site `{}`, but the sites file names it for `{site}`",
                        path.display(),
                        first.site
                    );
                }
            }
            Ok(compiled)
        }
        Err(problems) => bail!("{}", describe_problems(path, &problems)),
    }
}

/// Every problem on a line of its own, `file:line:column: …`, then how many there are.
pub fn describe_problems(path: &Path, problems: &[Problem]) -> String {
    let mut text = String::new();
    for problem in problems {
        text.push_str(&format!("{}:{problem}\n", path.display()));
    }
    let count = problems.len();
    text.push_str(&format!(
        "{}: {count} problem{} found; nothing was compiled",
        path.display(),
        if count == 1 { "" } else { "s" }
    ));
    text
}

/// The one-line summary of a config that compiled.
pub fn summary(path: &Path, compiled: &[CompiledConfig]) -> String {
    let Some(first) = compiled.first() else {
        return format!("{}: no language", path.display());
    };
    let services: usize = first.categories.iter().map(|c| c.services.len()).sum();
    let ids: Vec<String> = compiled
        .iter()
        .map(|config| format!("{} {}", config.language, &config.config_id[..12]))
        .collect();
    format!(
        "{}: ok: site `{}`, {}, {}, {}, {}; config ids {}",
        path.display(),
        first.site,
        counted(first.categories.len(), "category", "categories"),
        counted(services, "service", "services"),
        counted(first.forms.len(), "form", "forms"),
        counted(first.variants.len(), "variant", "variants"),
        ids.join(", ")
    )
}

/// `1 form`, `2 forms`, `0 forms`.
fn counted(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// Writes the compiled configs for static hosting: a folder named by their content
/// (`<site>-<hash>`), so every file in it can be cached for a year, holding `kk.json`,
/// `ru.json`, `en.json` and `default.json` (a language the site does not offer, and
/// `default`, hold the default language's config, as the server answers) and beside them
/// each offered language's documents apart (`kk.preferences.json`, and `kk.forms.json` for a
/// site with forms: the `preferences_href` and `forms_href` of `kk.json`), each with its
/// brotli and gzip forms beside it (`kk.json.br`, `kk.json.gz`) for a server that sends
/// precompressed files. Returns the folder.
pub fn write_build(compiled: &[CompiledConfig], out: &Path) -> Result<PathBuf> {
    let Some(first) = compiled.first() else {
        bail!("nothing to write");
    };
    let mut all = SiteConfigs::default();
    all.insert(&first.site, compiled.to_vec());
    // Named by the bytes written (not only the config ids): another kelisim may write the same
    // compiled configs for browsers differently, and a cached folder must never change.
    let mut hasher = Sha256::new();
    for config in compiled {
        hasher.update(&all.served[&config.config_id].body);
        for (_, document) in all.documents_of(&config.config_id) {
            hasher.update(&document.body);
        }
    }
    let hash = hex::encode(hasher.finalize());
    let folder = out.join(format!("{}-{}", first.site, &hash[..16]));
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    for language in LANGUAGE_NAMES {
        let (_, served) = all
            .served(&first.site, language)
            .expect("a compiled config has its default language");
        write_with_encodings(&folder.join(format!("{language}.json")), served)?;
    }
    for config in compiled {
        for (href, document) in all.documents_of(&config.config_id) {
            write_with_encodings(&folder.join(href), document)?;
        }
    }
    Ok(folder)
}

/// Writes `served` at `path` and, beside it, its form in each [`Coding`].
fn write_with_encodings(path: &Path, served: &ServedConfig) -> Result<()> {
    std::fs::write(path, &served.body).with_context(|| format!("writing {}", path.display()))?;
    for coding in Coding::ALL {
        let encoded = served
            .encoded(coding)
            .with_context(|| format!("compressing {}", path.display()))?;
        let mut beside = path.as_os_str().to_owned();
        beside.push(coding.extension());
        let beside = PathBuf::from(beside);
        std::fs::write(&beside, encoded)
            .with_context(|| format!("writing {}", beside.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Coding;

    #[test]
    fn the_preferred_coding_is_brotli_then_gzip_and_never_one_refused() {
        let preferred = |headers: &[&str]| Coding::preferred(headers);
        assert_eq!(
            preferred(&["gzip, deflate, br, zstd"]),
            Some(Coding::Brotli)
        );
        assert_eq!(preferred(&["gzip", "br"]), Some(Coding::Brotli));
        assert_eq!(preferred(&["GZIP, deflate"]), Some(Coding::Gzip));
        assert_eq!(preferred(&["x-gzip"]), Some(Coding::Gzip));
        assert_eq!(preferred(&["br;q=0, gzip;q=0.5"]), Some(Coding::Gzip));
        assert_eq!(preferred(&["br; q=0.0, gzip ; Q=0"]), None);
        assert_eq!(preferred(&["*"]), Some(Coding::Brotli));
        assert_eq!(preferred(&["br;q=0, *"]), Some(Coding::Gzip));
        assert_eq!(preferred(&["identity", "deflate"]), None);
        assert_eq!(preferred(&[]), None);
    }
}
