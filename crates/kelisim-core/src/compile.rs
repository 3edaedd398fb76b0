//! The config compiler: a `kelisim.json` as its author wrote it in, every problem found in one
//! pass (each with its JSON path, line and column, and a suggestion where one is likely), or
//! one compiled config per language out.
//!
//! A compiled config holds what a visitor's browser needs and nothing it would have to check:
//! the texts of one language merged with the built-in ones and the overrides, country and data
//! kind names resolved, the stylesheet with the theme applied, the fingerprints a receipt's
//! `texts_hash` is the SHA-256 of, and `config_id`, the SHA-256 of the compiled config itself.
//! Its format is versioned ([`FORMAT`]); the runtime refuses any other.
//!
//! Native code only (feature `compile`): size does not matter here, so this module uses serde,
//! `format!` and a JSON parser that knows where each value is written.

use crate::config::{Config, ConfigError, Layout, Position};
use crate::language::Language;
use crate::texts::{country_name, data_kind_name, format_days, TEXT_NAMES};
use crate::value::Value;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

pub use crate::compiled::FORMAT;

/// One problem of a config: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// JSON path in the config's own names, `categories[1].services[0].country`.
    pub path: String,
    /// Line and column (from 1, in characters) of the value or field, when read from text.
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
    pub suggestion: Option<String>,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(f, "{line}:{column}: ")?;
        }
        write!(f, "`{}` {}", self.path, self.message)?;
        if let Some(suggestion) = &self.suggestion {
            write!(f, " (did you mean `{suggestion}`?)")?;
        }
        Ok(())
    }
}

/// The compiled config of one language: what `GET /v1/config/{site}/{language}` and
/// `config build` serve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledConfig {
    /// Always [`FORMAT`].
    pub format: String,
    /// SHA-256 (hex) of this config serialized with `config_id` empty.
    pub config_id: String,
    pub site: String,
    /// The language of these texts.
    pub language: String,
    /// Every language the site offers, and the one for visitors none of them fits.
    pub languages: Vec<String>,
    pub default_language: String,
    pub revision: u32,
    pub expiry_days: u32,
    pub policy_version: String,
    pub policy_url: String,
    pub operator: CompiledOperator,
    pub endpoint: Option<String>,
    pub gpc: bool,
    pub cookie_domain: Option<String>,
    pub ui: CompiledUi,
    /// The banner's stylesheet, minified, with the site's theme.
    pub style: String,
    /// Every interface text in this language, by name (built-in, then the config's own).
    pub texts: BTreeMap<String, String>,
    /// The choice's lifetime in words ("365 күн").
    pub expiry_words: String,
    /// The notes of the first layer, in order: what Law 94-V Art. 8 p.4 wants stated before
    /// the consent is given ([`Config::first_layer_notes`]).
    pub first_layer: Vec<CompiledNote>,
    /// SHA-256 (hex) of [`Config::texts_fingerprint`]: a banner receipt's `texts_hash`.
    pub texts_hash: String,
    pub categories: Vec<CompiledCategory>,
    /// Countries outside Kazakhstan where a service processes data, code and name.
    pub cross_border: Vec<CompiledCountry>,
    pub forms: Vec<CompiledForm>,
    pub variants: Vec<CompiledVariant>,
    /// The two layers as node trees ([`crate::layers`]). Absent in configs compiled before
    /// the runtime rendered them this way (the server still reads those from its archive).
    #[serde(default, skip_serializing_if = "CompiledLayers::is_absent")]
    pub layers: CompiledLayers,
}

/// The banner and the preferences dialog of one language as node trees.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledLayers {
    pub banner: serde_json::Value,
    pub preferences: serde_json::Value,
}

impl CompiledLayers {
    fn of(config: &Config, language: Language) -> CompiledLayers {
        CompiledLayers {
            banner: crate::layers::banner(config, language),
            preferences: crate::layers::preferences(config, language),
        }
    }

    fn is_absent(&self) -> bool {
        self.banner.is_null() && self.preferences.is_null()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledNote {
    /// The class it is shown with (`kelisim-data`, `kelisim-expiry`, …).
    pub class: String,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledOperator {
    pub name: String,
    pub bin: String,
    pub email: String,
    pub address: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledUi {
    pub layout: String,
    pub position: String,
    pub hide_from_bots: bool,
    /// The fixed variant (`ui.variant`), if the config names one.
    pub variant: Option<String>,
    /// `button` (kelisim's floating button after a choice) or `link` (the site's own).
    pub reopen: String,
    pub reopen_position: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledCategory {
    pub id: String,
    pub required: bool,
    pub default: bool,
    pub title: String,
    pub description: String,
    pub refusal: Option<String>,
    pub services: Vec<CompiledService>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledService {
    pub id: String,
    pub name: String,
    pub cookies: Vec<String>,
    pub local_storage: Vec<String>,
    pub cookie_paths: Vec<String>,
    /// Data kinds as the config names them, and their names in this language.
    pub data: Vec<String>,
    pub data_names: Vec<String>,
    pub country: String,
    pub country_name: String,
    pub vendor: Option<String>,
    pub vendor_id: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledCountry {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledForm {
    pub id: String,
    /// `sms` when a code sent to the visitor's phone confirms the consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confirm: Option<String>,
    /// The SMS texts (`sms_*`) when `confirm` is `sms`: the form block's and the messages the
    /// server sends. Only such forms carry them, so other sites do not load them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub texts: BTreeMap<String, String>,
    /// SHA-256 (hex) of [`Config::form_fingerprint`]: a form receipt's `texts_hash`.
    pub texts_hash: String,
    pub purposes: Vec<CompiledPurpose>,
    /// The consent block the form shows, as a node tree (`layers::form_block`): what the
    /// archive keeps of a form receipt's statement, exactly as shown. Absent only in configs
    /// archived before blocks were compiled.
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub block: serde_json::Value,
}

impl CompiledForm {
    /// Text `name` of a confirmed form (`sms_*`, `eds_*`), else `config`'s.
    pub fn text<'a>(&'a self, config: &'a CompiledConfig, name: &str) -> &'a str {
        self.texts
            .get(name)
            .map_or_else(|| config.text(name), String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledPurpose {
    pub id: String,
    pub required: bool,
    pub title: String,
    pub data: Vec<String>,
    pub data_names: Vec<String>,
    pub recipients: Vec<String>,
    pub countries: Vec<CompiledCountry>,
    pub term_days: u32,
    pub term_words: String,
    pub publication: bool,
}

/// A banner variant of an A/B test: what it changes, and the `texts_hash` of its texts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CompiledVariant {
    pub id: String,
    pub weight: u32,
    pub layout: Option<String>,
    /// The texts this variant replaces, by name.
    pub texts: BTreeMap<String, String>,
    pub texts_hash: String,
    /// The layers with this variant's texts and layout.
    #[serde(default, skip_serializing_if = "CompiledLayers::is_absent")]
    pub layers: CompiledLayers,
}

impl CompiledConfig {
    /// Interface text `name` in this config's language (empty for a name it does not hold).
    pub fn text(&self, name: &str) -> &str {
        self.texts.get(name).map_or("", String::as_str)
    }

    /// The compiled config as served: JSON, fields in a fixed order.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a compiled config always serializes")
    }

    /// The compiled config as a browser gets it (`GET /v1/config/{site}/{language}`, the files
    /// of `config build`): JSON without what only the layers show, which the node trees
    /// already hold (the first layer's notes, the cross-border list, the term in words, the
    /// categories' descriptions, the services' data), with only the `texts` the runtime reads
    /// ([`crate::texts::RUNTIME_TEXT_NAMES`]). Two parts that not every page view needs are
    /// documents apart, named relative to this body's URL, which the loader fetches and lays
    /// over it when they are needed: the preferences dialog's tree (`preferences_href`,
    /// [`CompiledConfig::to_preferences_json`]) the first time the visitor opens it, and of the
    /// forms all but their ids (`forms_href`, [`CompiledConfig::to_forms_json`]) the first
    /// time a page has a form. `config_id` stays the id of the whole compiled config, which
    /// the archive keeps ([`CompiledConfig::to_json`]): a receipt's texts are looked up there.
    pub fn to_browser_json(&self) -> String {
        serde_json::to_string(&self.browser_view(Parts::Apart))
            .expect("a compiled config always serializes")
    }

    /// [`CompiledConfig::to_browser_json`] with every part in the body itself (the forms and
    /// their texts, the preferences dialog): what the compiler module gives the loader for a
    /// raw config, which it compiled in the browser and has whole already.
    pub fn to_whole_browser_json(&self) -> String {
        serde_json::to_string(&self.browser_view(Parts::InBody))
            .expect("a compiled config always serializes")
    }

    /// [`CompiledConfig::to_whole_browser_json`] as a JSON value.
    pub fn to_whole_browser_value(&self) -> serde_json::Value {
        serde_json::to_value(self.browser_view(Parts::InBody))
            .expect("a compiled config always serializes")
    }

    /// The preferences dialog's node tree, and each banner variant's, with the `config_id`
    /// they belong to: what [`CompiledConfig::to_browser_json`] leaves out for the first visit,
    /// fetched when the visitor opens the preferences. `None` for a config without layers.
    pub fn to_preferences_json(&self) -> Option<String> {
        if self.layers.is_absent() {
            return None;
        }
        let document = PreferencesDocument {
            format: &self.format,
            config_id: &self.config_id,
            language: &self.language,
            preferences: &self.layers.preferences,
            style: self.split_style().1,
            variants: self
                .variants
                .iter()
                .map(|variant| VariantPreferences {
                    id: &variant.id,
                    preferences: &variant.layers.preferences,
                })
                .collect(),
        };
        Some(serde_json::to_string(&document).expect("a compiled config always serializes"))
    }

    /// The documents a browser body keeps apart, each as where the body says it is (relative
    /// to the body's URL) and its JSON: the preferences document, then the forms document of a
    /// site with forms. What kelisim-server serves and `config build` writes beside the body.
    pub fn documents_apart(&self) -> Vec<(String, String)> {
        let mut documents = Vec::new();
        if let (Some(href), Some(json)) = (self.preferences_href(), self.to_preferences_json()) {
            documents.push((href, json));
        }
        if let (Some(href), Some(json)) = (self.forms_href(), self.to_forms_json()) {
            documents.push((href, json));
        }
        documents
    }

    /// The stylesheet split in two: the rules a served body keeps, and those of the preferences
    /// dialog only, which its preferences document brings: of its classes
    /// ([`PREFERENCES_CLASSES`]), and of elements under the layers' root (`#kelisim `) that no
    /// banner (the config's or a variant's) has. The reopen button and the embeds'
    /// placeholders, which no tree holds, are outside that root.
    fn split_style(&self) -> (String, String) {
        let mut banner_elements = Vec::new();
        for layers in std::iter::once(&self.layers).chain(self.variants.iter().map(|v| &v.layers)) {
            tree_elements(&layers.banner, &mut banner_elements);
        }
        crate::css::split_rules(&self.style, &|selector| {
            PREFERENCES_CLASSES
                .iter()
                .any(|class| crate::css::names_class(selector, class))
                || (selector.starts_with("#kelisim ")
                    && crate::css::styled_element(selector).is_some_and(|element| {
                        !banner_elements.iter().any(|known| known == element)
                    }))
        })
    }

    /// Where a browser body's preferences dialog is, relative to the body's own URL (see
    /// [`CompiledConfig::forms_href`]). `None` for a config without layers.
    pub fn preferences_href(&self) -> Option<String> {
        (!self.layers.is_absent()).then(|| format!("{}{PREFERENCES_SUFFIX}", self.language))
    }

    /// What a form's consent block needs beyond [`CompiledConfig::to_browser_json`]: the forms
    /// as the forms module reads them (each with its block's tree), with the `config_id` they
    /// belong to. `None` for a site without forms. The loader lays it over the body (`forms`
    /// replaced) before it hands a form to the forms module.
    pub fn to_forms_json(&self) -> Option<String> {
        if self.forms.is_empty() {
            return None;
        }
        let document = FormsDocument {
            format: &self.format,
            config_id: &self.config_id,
            language: &self.language,
            forms: self.forms.iter().map(BrowserForm::of).collect(),
        };
        Some(serde_json::to_string(&document).expect("a compiled config always serializes"))
    }

    /// Where a browser body's forms are, relative to the body's own URL: `kk.forms.json`
    /// beside `kk.json` (`config build`), or `/v1/config/{site}/kk.forms.json` beside
    /// `/v1/config/{site}/kk` (the receipts server). `None` for a site without forms.
    pub fn forms_href(&self) -> Option<String> {
        (!self.forms.is_empty()).then(|| format!("{}{FORMS_SUFFIX}", self.language))
    }

    fn browser_view(&self, parts: Parts) -> BrowserConfig<'_> {
        let wanted = |name: &str| crate::texts::RUNTIME_TEXT_NAMES.contains(&name);
        let texts = |texts: &'_ BTreeMap<String, String>| -> BTreeMap<String, String> {
            texts
                .iter()
                .filter(|(name, _)| wanted(name))
                .map(|(name, text)| (name.clone(), text.clone()))
                .collect()
        };
        let forms = match parts {
            Parts::InBody => BrowserForms::Whole(self.forms.iter().map(BrowserForm::of).collect()),
            Parts::Apart => BrowserForms::Ids(
                self.forms
                    .iter()
                    .map(|form| FormId { id: &form.id })
                    .collect(),
            ),
        };
        BrowserConfig {
            format: &self.format,
            config_id: &self.config_id,
            site: &self.site,
            language: &self.language,
            languages: &self.languages,
            default_language: &self.default_language,
            revision: self.revision,
            expiry_days: self.expiry_days,
            policy_version: &self.policy_version,
            policy_url: &self.policy_url,
            operator: BrowserOperator {
                name: &self.operator.name,
                bin: &self.operator.bin,
            },
            endpoint: &self.endpoint,
            gpc: self.gpc,
            cookie_domain: &self.cookie_domain,
            ui: &self.ui,
            style: match parts {
                Parts::InBody => self.style.clone(),
                Parts::Apart => self.split_style().0,
            },
            texts: texts(&self.texts),
            texts_hash: &self.texts_hash,
            categories: self
                .categories
                .iter()
                .map(|category| BrowserCategory {
                    id: &category.id,
                    required: category.required,
                    default: category.default,
                    title: &category.title,
                    services: category
                        .services
                        .iter()
                        .map(|service| BrowserService {
                            id: &service.id,
                            name: &service.name,
                            cookies: &service.cookies,
                            local_storage: &service.local_storage,
                            cookie_paths: &service.cookie_paths,
                            country: &service.country,
                            country_name: &service.country_name,
                            vendor: &service.vendor,
                            vendor_id: &service.vendor_id,
                        })
                        .collect(),
                })
                .collect(),
            forms,
            forms_href: match parts {
                Parts::InBody => None,
                Parts::Apart => self.forms_href(),
            },
            preferences_href: match parts {
                Parts::InBody => None,
                Parts::Apart => self.preferences_href(),
            },
            variants: self
                .variants
                .iter()
                .map(|variant| BrowserVariant {
                    id: &variant.id,
                    weight: variant.weight,
                    layout: &variant.layout,
                    texts: texts(&variant.texts),
                    texts_hash: &variant.texts_hash,
                    layers: BrowserLayers::of(&variant.layers, parts),
                })
                .collect(),
            layers: BrowserLayers::of(&self.layers, parts),
        }
    }

    /// Reads a compiled config and checks that it is one: the format, the structure, and
    /// that `config_id` is the hash of the rest.
    pub fn from_json(text: &str) -> Result<CompiledConfig, String> {
        let format = serde_json::from_str::<serde_json::Value>(text)
            .map_err(|error| format!("is not JSON: {error}"))?
            .get("format")
            .and_then(|format| format.as_str().map(str::to_owned));
        if format.as_deref() != Some(FORMAT) {
            return Err(format!(
                "has format {format:?}; this version of kelisim reads \"{FORMAT}\""
            ));
        }
        let compiled: CompiledConfig = serde_json::from_str(text)
            .map_err(|error| format!("is not a compiled config: {error}"))?;
        if compiled.config_id != compiled.content_id() {
            return Err("was changed after it was compiled: its config_id does not match".into());
        }
        Ok(compiled)
    }

    /// SHA-256 (hex) of this config serialized with `config_id` empty: what `config_id` must be.
    pub fn content_id(&self) -> String {
        let mut unnamed = self.clone();
        unnamed.config_id.clear();
        sha256_hex(&unnamed.to_json())
    }
}

/// [`CompiledConfig::to_browser_json`]'s shape: the compiled config's fields in its order,
/// less what a browser does not read.
#[derive(Serialize)]
struct BrowserConfig<'a> {
    format: &'a str,
    config_id: &'a str,
    site: &'a str,
    language: &'a str,
    languages: &'a [String],
    default_language: &'a str,
    revision: u32,
    expiry_days: u32,
    policy_version: &'a str,
    policy_url: &'a str,
    operator: BrowserOperator<'a>,
    endpoint: &'a Option<String>,
    gpc: bool,
    cookie_domain: &'a Option<String>,
    ui: &'a CompiledUi,
    style: String,
    texts: BTreeMap<String, String>,
    texts_hash: &'a str,
    categories: Vec<BrowserCategory<'a>>,
    forms: BrowserForms<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    forms_href: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferences_href: Option<String>,
    variants: Vec<BrowserVariant<'a>>,
    #[serde(skip_serializing_if = "BrowserLayers::is_absent")]
    layers: BrowserLayers<'a>,
}

/// The operator as a receipt names it; the forms' blocks and the layers have the rest
/// (address, email) written in.
#[derive(Serialize)]
struct BrowserOperator<'a> {
    name: &'a str,
    bin: &'a str,
}

/// Where the parts of a browser body that not every page view needs are: in the body, or
/// apart (in a document of their own: the preferences dialog's tree; the forms but their ids).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parts {
    InBody,
    Apart,
}

/// A browser body's layers: the banner's tree, and the preferences' when they are in the body.
#[derive(Serialize)]
struct BrowserLayers<'a> {
    banner: &'a serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferences: Option<&'a serde_json::Value>,
}

impl<'a> BrowserLayers<'a> {
    fn of(layers: &'a CompiledLayers, parts: Parts) -> BrowserLayers<'a> {
        BrowserLayers {
            banner: &layers.banner,
            preferences: (parts == Parts::InBody).then_some(&layers.preferences),
        }
    }

    fn is_absent(&self) -> bool {
        self.banner.is_null()
    }
}

/// [`CompiledConfig::to_preferences_json`]'s shape.
#[derive(Serialize)]
struct PreferencesDocument<'a> {
    format: &'a str,
    config_id: &'a str,
    language: &'a str,
    preferences: &'a serde_json::Value,
    /// The stylesheet's rules of the preferences dialog only, which the body leaves out.
    style: String,
    variants: Vec<VariantPreferences<'a>>,
}

#[derive(Serialize)]
struct VariantPreferences<'a> {
    id: &'a str,
    preferences: &'a serde_json::Value,
}

#[derive(Serialize)]
#[serde(untagged)]
enum BrowserForms<'a> {
    Whole(Vec<BrowserForm<'a>>),
    Ids(Vec<FormId<'a>>),
}

#[derive(Serialize)]
struct FormId<'a> {
    id: &'a str,
}

/// [`CompiledConfig::to_forms_json`]'s shape.
#[derive(Serialize)]
struct FormsDocument<'a> {
    format: &'a str,
    config_id: &'a str,
    language: &'a str,
    forms: Vec<BrowserForm<'a>>,
}

/// A form as a browser gets it: what the forms module reads (its receipt's purposes, terms
/// and countries, its confirmation step's texts) and the block it builds, which states the
/// rest. The archive keeps the [`CompiledForm`] whole.
#[derive(Serialize)]
struct BrowserForm<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: &'a Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    texts: &'a BTreeMap<String, String>,
    texts_hash: &'a str,
    purposes: Vec<BrowserPurpose<'a>>,
    block: &'a serde_json::Value,
}

#[derive(Serialize)]
struct BrowserPurpose<'a> {
    id: &'a str,
    required: bool,
    countries: &'a [CompiledCountry],
    term_days: u32,
}

impl<'a> BrowserForm<'a> {
    fn of(form: &'a CompiledForm) -> BrowserForm<'a> {
        BrowserForm {
            id: &form.id,
            confirm: &form.confirm,
            texts: &form.texts,
            texts_hash: &form.texts_hash,
            purposes: form
                .purposes
                .iter()
                .map(|purpose| BrowserPurpose {
                    id: &purpose.id,
                    required: purpose.required,
                    countries: &purpose.countries,
                    term_days: purpose.term_days,
                })
                .collect(),
            block: &form.block,
        }
    }
}

/// Every element name of a layer's node tree (`[tag, {attributes}, children...]`), added to
/// `names` once each.
fn tree_elements(tree: &serde_json::Value, names: &mut Vec<String>) {
    let Some(items) = tree.as_array() else { return };
    if let Some(tag) = items.first().and_then(serde_json::Value::as_str) {
        if !names.iter().any(|name| name == tag) {
            names.push(tag.to_owned());
        }
    }
    for child in items.iter().skip(2) {
        tree_elements(child, names);
    }
}

/// How the forms document of a language is named beside its body (see
/// [`CompiledConfig::forms_href`]).
pub const FORMS_SUFFIX: &str = ".forms.json";
/// The classes only the preferences dialog has (its tree, and what the runtime renders in
/// it): their rules travel with the dialog's document. A test checks the banner has none.
pub const PREFERENCES_CLASSES: &[&str] = &[
    "kelisim-overlay",
    "kelisim-preferences",
    "kelisim-preferences__head",
    "kelisim-preferences__foot",
    "kelisim-preferences__body",
    "kelisim-close",
    "kelisim-category",
    "kelisim-category__head",
    "kelisim-always-on",
    "kelisim-services",
    "kelisim-service",
    "kelisim-service__head",
    "kelisim-service__name",
    "kelisim-badge",
    "kelisim-your-consent",
    "kelisim-link-button",
    "kelisim-switch",
];

/// How the preferences document of a language is named beside its body (see
/// [`CompiledConfig::preferences_href`]).
pub const PREFERENCES_SUFFIX: &str = ".preferences.json";
/// The names of a body's documents apart after its language ([`CompiledConfig::documents_apart`]).
pub const DOCUMENT_SUFFIXES: [&str; 2] = [PREFERENCES_SUFFIX, FORMS_SUFFIX];

#[derive(Serialize)]
struct BrowserCategory<'a> {
    id: &'a str,
    required: bool,
    default: bool,
    title: &'a str,
    services: Vec<BrowserService<'a>>,
}

#[derive(Serialize)]
struct BrowserService<'a> {
    id: &'a str,
    name: &'a str,
    cookies: &'a [String],
    local_storage: &'a [String],
    cookie_paths: &'a [String],
    country: &'a str,
    country_name: &'a str,
    vendor: &'a Option<String>,
    vendor_id: &'a Option<String>,
}

#[derive(Serialize)]
struct BrowserVariant<'a> {
    id: &'a str,
    weight: u32,
    layout: &'a Option<String>,
    texts: BTreeMap<String, String>,
    texts_hash: &'a str,
    #[serde(skip_serializing_if = "BrowserLayers::is_absent")]
    layers: BrowserLayers<'a>,
}

/// What a browser may ask for: a language kelisim has texts for, or the site's default.
pub const SERVED_LANGUAGES: [&str; 4] = ["kk", "ru", "en", "default"];

/// Which of a config's compiled languages answers a request for `language` (one of
/// [`SERVED_LANGUAGES`]): that language when the site offers it, the default language
/// otherwise (`default` included). `None` for a name that is not a language.
pub fn for_language<'a>(
    compiled: &'a [CompiledConfig],
    language: &str,
) -> Option<&'a CompiledConfig> {
    if !SERVED_LANGUAGES.contains(&language) {
        return None;
    }
    compiled
        .iter()
        .find(|config| config.language == language)
        .or_else(|| {
            compiled
                .iter()
                .find(|config| config.language == config.default_language)
        })
}

/// Reads `text` as a `kelisim.json` and compiles it: every problem with its line and column,
/// or one compiled config per language the config offers, in its `languages` order.
pub fn compile_text(text: &str) -> Result<Vec<CompiledConfig>, Vec<Problem>> {
    let source = Source::parse(text)?;
    compile_value(&source.value).map_err(|errors| {
        errors
            .into_iter()
            .map(|error| source.locate(problem(error)))
            .collect()
    })
}

/// Compiles a config already read into a [`Value`] (an object passed to `kelisim.init`):
/// every problem, without lines, or one compiled config per language.
pub fn compile_value(value: &Value) -> Result<Vec<CompiledConfig>, Vec<ConfigError>> {
    Config::check(value).map(|config| compile(&config))
}

fn problem(error: ConfigError) -> Problem {
    Problem {
        path: error.field,
        line: None,
        column: None,
        message: error.message,
        suggestion: error.suggestion,
    }
}

/// One compiled config per language of a validated config.
pub fn compile(config: &Config) -> Vec<CompiledConfig> {
    config
        .languages
        .iter()
        .map(|&language| compile_language(config, language))
        .collect()
}

fn compile_language(config: &Config, language: Language) -> CompiledConfig {
    let texts = config.texts(language);
    let mut compiled = CompiledConfig {
        format: FORMAT.to_owned(),
        config_id: String::new(),
        site: config.site.clone(),
        language: language.code().to_owned(),
        languages: config
            .languages
            .iter()
            .map(|language| language.code().to_owned())
            .collect(),
        default_language: config.default_language.code().to_owned(),
        revision: config.revision,
        expiry_days: config.expiry_days,
        policy_version: config.policy_version.clone(),
        policy_url: config.policy_url(language).to_owned(),
        operator: CompiledOperator {
            name: config.operator.name(language).to_owned(),
            bin: config.operator.bin.clone(),
            email: config.operator.email.clone(),
            address: config.operator.address(language).to_owned(),
        },
        endpoint: config.endpoint.clone(),
        gpc: config.gpc,
        cookie_domain: config.cookie_domain.clone(),
        ui: CompiledUi {
            layout: config.ui.layout.as_str().to_owned(),
            position: config.ui.position.as_str().to_owned(),
            hide_from_bots: config.ui.hide_from_bots,
            variant: config.ui.variant.clone(),
            reopen: config.ui.reopen.as_str().to_owned(),
            reopen_position: config.ui.reopen_position.as_str().to_owned(),
        },
        style: stylesheet(config),
        texts: texts
            .entries()
            .filter(|(name, _)| crate::config::Confirmation::of_text(name).is_none())
            .map(|(name, text)| (name.to_owned(), text.to_owned()))
            .collect(),
        expiry_words: format_days(language, config.expiry_days),
        first_layer: config
            .first_layer_notes(language)
            .into_iter()
            .map(|(class, text)| CompiledNote {
                class: class.to_owned(),
                text,
            })
            .collect(),
        texts_hash: sha256_hex(&config.texts_fingerprint(language)),
        categories: compile_categories(config, language),
        cross_border: countries(&config.cross_border_countries(), language),
        forms: compile_forms(config, language),
        variants: compile_variants(config, language),
        layers: CompiledLayers::of(config, language),
    };
    compiled.config_id = compiled.content_id();
    compiled
}

/// Country codes with their names in `language`.
fn countries(codes: &[&str], language: Language) -> Vec<CompiledCountry> {
    codes
        .iter()
        .map(|code| CompiledCountry {
            code: (*code).to_owned(),
            name: country_name(code, language),
        })
        .collect()
}

/// The names of data kinds in `language` (unknown kinds left out).
fn data_names(kinds: &[String], language: Language) -> Vec<String> {
    kinds
        .iter()
        .filter_map(|kind| data_kind_name(kind, language))
        .collect()
}

/// The categories and services in `language`.
fn compile_categories(config: &Config, language: Language) -> Vec<CompiledCategory> {
    config
        .categories
        .iter()
        .map(|category| {
            let category_texts = category.texts(language);
            CompiledCategory {
                id: category.id.clone(),
                required: category.required,
                default: category.default_on,
                title: category_texts.title.clone(),
                description: category_texts.description.clone(),
                refusal: category_texts.refusal.clone(),
                services: category
                    .services
                    .iter()
                    .map(|service| CompiledService {
                        id: service.id.clone(),
                        name: service.name.clone(),
                        cookies: service.cookies.clone(),
                        local_storage: service.local_storage.clone(),
                        cookie_paths: service.cookie_paths.clone(),
                        data: service.data.clone(),
                        data_names: data_names(&service.data, language),
                        country: service.country.clone(),
                        country_name: country_name(&service.country, language),
                        vendor: service.vendor.map(|vendor| vendor.name().to_owned()),
                        vendor_id: service.vendor_id.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The forms in `language`, each with the texts of its confirmation step and its fingerprint.
fn compile_forms(config: &Config, language: Language) -> Vec<CompiledForm> {
    let texts = config.texts(language);
    config
        .forms
        .iter()
        .map(|form| CompiledForm {
            id: form.id.clone(),
            confirm: form.confirm.map(|confirm| confirm.as_str().to_owned()),
            texts: texts
                .entries()
                .filter(|(name, _)| {
                    form.confirm.is_some()
                        && crate::config::Confirmation::of_text(name) == form.confirm
                })
                .map(|(name, text)| (name.to_owned(), text.to_owned()))
                .collect(),
            texts_hash: sha256_hex(&config.form_fingerprint(form, language)),
            purposes: form
                .purposes
                .iter()
                .map(|purpose| {
                    let codes: Vec<&str> = purpose.countries.iter().map(String::as_str).collect();
                    CompiledPurpose {
                        id: purpose.id.clone(),
                        required: purpose.required,
                        title: purpose.title.get(language).cloned().unwrap_or_default(),
                        data: purpose.data.clone(),
                        data_names: data_names(&purpose.data, language),
                        recipients: purpose.recipients.clone(),
                        countries: countries(&codes, language),
                        term_days: purpose.term_days,
                        term_words: format_days(language, purpose.term_days),
                        publication: purpose.publication,
                    }
                })
                .collect(),
            block: crate::layers::form_block(config, form, language),
        })
        .collect()
}

/// The banner variants in `language`: what each changes, its fingerprint and its layers.
fn compile_variants(config: &Config, language: Language) -> Vec<CompiledVariant> {
    config
        .ui
        .variants
        .iter()
        .map(|variant| {
            let mut shown = config.clone();
            shown.apply_variant(&variant.id);
            CompiledVariant {
                id: variant.id.clone(),
                weight: variant.weight,
                layout: variant.layout.map(|layout| layout.as_str().to_owned()),
                texts: variant
                    .texts
                    .iter()
                    .filter(|(of, _)| *of == language)
                    .flat_map(|(_, overrides)| overrides.entries())
                    .map(|(name, text)| (name.to_owned(), text.to_owned()))
                    .collect(),
                texts_hash: sha256_hex(&shown.texts_fingerprint(language)),
                layers: CompiledLayers::of(&shown, language),
            }
        })
        .collect()
}

/// The minified stylesheet, then the theme's custom properties on `#kelisim` (later in the
/// sheet, so they win over the defaults). Only the colours a site changed are written: the
/// stylesheet already sets the defaults.
fn stylesheet(config: &Config) -> String {
    let theme: Vec<&(String, String)> = config.ui.changed_colours().collect();
    // Only the layouts the config and its variants show, in its one position.
    let layouts: Vec<Layout> = std::iter::once(config.ui.layout)
        .chain(
            config
                .ui
                .variants
                .iter()
                .filter_map(|variant| variant.layout),
        )
        .collect();
    let mut unused: Vec<String> = Vec::new();
    for layout in [Layout::Bar, Layout::Box, Layout::Modal] {
        if !layouts.contains(&layout) {
            unused.push(format!("kelisim--{}", layout.as_str()));
        }
    }
    for position in [
        Position::Bottom,
        Position::Top,
        Position::BottomLeft,
        Position::BottomRight,
    ] {
        if position != config.ui.position {
            unused.push(format!("kelisim--{}", position.as_str()));
        }
    }
    let unused: Vec<&str> = unused.iter().map(String::as_str).collect();
    let mut style =
        crate::css::without_classes(&crate::css::minify_css(crate::css::STYLESHEET), &unused);
    if !theme.is_empty() {
        let properties: Vec<String> = theme
            .iter()
            .map(|(property, value)| format!("{property}:{value}"))
            .collect();
        style.push_str(&format!(
            "#kelisim,#kelisim-reopen{{{}}}",
            properties.join(";")
        ));
    }
    style
}

/// SHA-256 of `text` in lowercase hex, as the browser's `crypto.subtle` digest is written.
pub fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A config's text parsed, with where each value is written, for errors with lines.
struct Source<'a> {
    text: &'a str,
    value: Value,
    ast: jsonc_parser::ast::Value<'a>,
}

impl<'a> Source<'a> {
    /// Strict JSON (no comments, no trailing commas): what the browser's `JSON.parse` reads.
    fn parse(text: &'a str) -> Result<Source<'a>, Vec<Problem>> {
        let options = jsonc_parser::ParseOptions {
            allow_comments: false,
            allow_loose_object_property_names: false,
            allow_trailing_commas: false,
            allow_missing_commas: false,
            allow_single_quoted_strings: false,
            allow_hexadecimal_numbers: false,
            allow_unary_plus_numbers: false,
        };
        let syntax = |line: Option<usize>, column: Option<usize>, message: String| {
            vec![Problem {
                path: "config".into(),
                line,
                column,
                message,
                suggestion: None,
            }]
        };
        let parsed =
            jsonc_parser::parse_to_ast(text, &Default::default(), &options).map_err(|error| {
                syntax(
                    Some(error.line_display()),
                    Some(error.column_display()),
                    format!("is not valid JSON: {}", error.kind()),
                )
            })?;
        let Some(ast) = parsed.value else {
            return Err(syntax(None, None, "is empty".into()));
        };
        Ok(Source {
            text,
            value: to_value(&ast),
            ast,
        })
    }

    /// `problem` with the line and column of its path: the field's name for a field that
    /// should not be there, its value otherwise; the closest enclosing value that exists
    /// when the field is missing.
    fn locate(&self, mut problem: Problem) -> Problem {
        use jsonc_parser::common::Ranged;
        let mut node = &self.ast;
        let mut at = node.start();
        for step in path_steps(&problem.path) {
            let next = match (node, step) {
                (jsonc_parser::ast::Value::Object(object), Step::Field(name)) => object
                    .properties
                    .iter()
                    .find(|property| property.name.as_str() == name)
                    .map(|property| (&property.value, property.name.start())),
                (jsonc_parser::ast::Value::Array(array), Step::Index(index)) => array
                    .elements
                    .get(index)
                    .map(|element| (element, element.start())),
                _ => None,
            };
            match next {
                Some((value, name_at)) => {
                    node = value;
                    at = if problem.message.starts_with("is not a known field") {
                        name_at
                    } else {
                        value.start()
                    };
                }
                None => break,
            }
        }
        let (line, column) = line_and_column(self.text, at);
        problem.line = Some(line);
        problem.column = Some(column);
        problem
    }
}

enum Step<'a> {
    Field(&'a str),
    Index(usize),
}

/// `categories[1].services[0].country` as its steps. Names never hold `.` or `[` in a config
/// path that kelisim writes (ids, field names and language codes).
fn path_steps(path: &str) -> Vec<Step<'_>> {
    let mut steps = Vec::new();
    if path == "config" {
        return steps;
    }
    for part in path.split('.') {
        let mut pieces = part.split('[');
        if let Some(name) = pieces.next().filter(|name| !name.is_empty()) {
            steps.push(Step::Field(name));
        }
        for index in pieces {
            if let Ok(index) = index.trim_end_matches(']').parse() {
                steps.push(Step::Index(index));
            }
        }
    }
    steps
}

/// Line and column from 1 of byte `offset`, the column counted in characters.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn to_value(ast: &jsonc_parser::ast::Value<'_>) -> Value {
    use jsonc_parser::ast::Value as Ast;
    match ast {
        Ast::NullKeyword(_) => Value::Null,
        Ast::BooleanLit(literal) => Value::Bool(literal.value),
        Ast::NumberLit(literal) => Value::Number(literal.value.parse().unwrap_or(f64::NAN)),
        Ast::StringLit(literal) => Value::String(literal.value.to_string()),
        Ast::Array(array) => Value::Array(array.elements.iter().map(to_value).collect()),
        Ast::Object(object) => Value::Object(
            object
                .properties
                .iter()
                .map(|property| (property.name.as_str().to_owned(), to_value(&property.value)))
                .collect(),
        ),
    }
}

/// The JSON Schema of `kelisim.json` for editors (`pkg/kelisim.schema.json`), made from the
/// reader's own field lists, names and values, so the two cannot disagree. It describes the
/// shape; the compiler checks the rest (ids unique, contrast, URLs) and says so precisely.
pub fn json_schema() -> serde_json::Value {
    use crate::config::*;
    use serde_json::json;
    let string = json!({"type": "string"});
    let strings = json!({"type": "array", "items": {"type": "string"}});
    let boolean = json!({"type": "boolean"});
    let whole = json!({"type": "integer", "minimum": 0});
    let languages: Vec<&str> = Language::ALL.iter().map(|l| l.code()).collect();
    let per_language = json!({
        "type": "object",
        "propertyNames": {"enum": languages},
        "additionalProperties": {"type": "string", "minLength": 1}
    });
    let texts = json!({
        "type": "object",
        "propertyNames": {"enum": languages},
        "additionalProperties": object(
            TEXT_NAMES,
            |_| json!({"type": "string", "minLength": 1}),
            &[],
        )
    });
    let country = json!({"type": "string", "pattern": "^[A-Z]{2}$"});
    let data_kinds = json!({"type": "array", "items": {"enum": crate::texts::DATA_KINDS}});
    let layout = json!({"enum": ["bar", "box", "modal"]});
    let service = object(
        SERVICE_FIELDS,
        |name| match name {
            "cookies" | "local_storage" | "cookie_paths" => strings.clone(),
            "data" => data_kinds.clone(),
            "country" => country.clone(),
            "vendor" => json!({"enum": Vendor::ALL.map(|(name, _)| name)}),
            "preset" => json!({"enum": crate::knowledge::preset_ids()}),
            _ => string.clone(),
        },
        &[],
    );
    // A preset gives the id, name and country; without one the service must write them.
    let mut service = service;
    service["if"] = json!({"not": {"required": ["preset"]}});
    service["then"] = json!({"required": ["id", "name", "country"]});
    let category = object(
        CATEGORY_FIELDS,
        |name| match name {
            "required" | "default" => boolean.clone(),
            "title" | "description" | "refusal" => per_language.clone(),
            "services" => json!({"type": "array", "items": service}),
            _ => string.clone(),
        },
        &["id"],
    );
    let variant = object(
        VARIANT_FIELDS,
        |name| match name {
            "weight" => whole.clone(),
            "layout" => layout.clone(),
            "texts" => texts.clone(),
            _ => string.clone(),
        },
        &["id"],
    );
    let theme_keys: Vec<&str> = THEME_DEFAULTS.iter().map(|(key, _)| *key).collect();
    let ui = object(
        UI_FIELDS,
        |name| match name {
            "layout" => layout.clone(),
            "position" => json!({"enum": ["bottom", "top", "bottom-left", "bottom-right"]}),
            "theme" => object(
                &theme_keys,
                |_| json!({"type": "string", "pattern": "^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"}),
                &[],
            ),
            "hide_from_bots" => boolean.clone(),
            "reopen" => json!({"enum": ["button", "link"]}),
            "reopen_position" => json!({"enum": ["bottom-left", "bottom-right"]}),
            "variants" => json!({"type": "array", "items": variant}),
            _ => string.clone(),
        },
        &[],
    );
    let purpose = object(
        PURPOSE_FIELDS,
        |name| match name {
            "required" | "publication" => boolean.clone(),
            "title" => per_language.clone(),
            "data" => data_kinds.clone(),
            "recipients" => strings.clone(),
            "countries" => json!({"type": "array", "items": country}),
            "term_days" => whole.clone(),
            _ => string.clone(),
        },
        &["id"],
    );
    let form = object(
        FORM_FIELDS,
        |name| match name {
            "purposes" => json!({"type": "array", "items": purpose}),
            "confirm" => json!({"enum": ["sms", "eds"]}),
            _ => string.clone(),
        },
        &["id", "purposes"],
    );
    let mut schema = object(
        CONFIG_FIELDS,
        |name| match name {
            "operator" => object(
                OPERATOR_FIELDS,
                |name| match name {
                    "bin" => json!({"type": "string", "pattern": "^[0-9]{12}$"}),
                    "name" | "address" => json!({"anyOf": [string, per_language]}),
                    _ => string.clone(),
                },
                OPERATOR_FIELDS,
            ),
            "policy" => object(
                POLICY_FIELDS,
                |name| match name {
                    "url" => per_language.clone(),
                    _ => string.clone(),
                },
                POLICY_FIELDS,
            ),
            "revision" | "expiry_days" => whole.clone(),
            "languages" => json!({"type": "array", "items": {"enum": languages}, "minItems": 1}),
            "default_language" => json!({"enum": languages}),
            "categories" => json!({"type": "array", "items": category, "minItems": 1}),
            "gpc" => boolean.clone(),
            "ui" => ui.clone(),
            "texts" => texts.clone(),
            "forms" => json!({"type": "array", "items": form}),
            _ => string.clone(),
        },
        &["site", "operator", "policy", "categories"],
    );
    let fields = schema.as_object_mut().expect("an object schema");
    fields.insert(
        "$schema".into(),
        json!("https://json-schema.org/draft/2020-12/schema"),
    );
    fields.insert("title".into(), json!("kelisim.json"));
    fields.insert(
        "description".into(),
        json!("A kelisim site config. `kelisim-server config check` checks everything this schema cannot."),
    );
    schema
}

/// An object schema with exactly `fields` (each typed by `type_of`), `required` among them.
fn object(
    fields: &[&str],
    type_of: impl Fn(&str) -> serde_json::Value,
    required: &[&str],
) -> serde_json::Value {
    let properties: serde_json::Map<String, serde_json::Value> = fields
        .iter()
        .map(|name| ((*name).to_owned(), type_of(name)))
        .collect();
    serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}
