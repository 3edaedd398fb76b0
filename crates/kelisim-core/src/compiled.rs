//! Reading a compiled config (`kelisim-compiled/1`, written by `compile`) into a [`Config`]
//! for the one language it was compiled for: what the browser runtime does instead of
//! validating a raw config. Nothing is checked but the shape of what is read (the compiler
//! checked the rest; fields the runtime does not read, such as a newer compiler's, are
//! ignored); a wrong format or a broken structure is one `ConfigError` naming the field, and the
//! caller shows nothing. The layers' node trees are checked for what could run or load.
//!
//! Owns [`FORMAT`], the field lists of the compiled format (the compiler's serde structs must
//! match them: a test compares), and [`Resolved`], what a compiled config resolved ahead (names
//! from the built-in tables, hashes of the texts) so the runtime needs no tables and no SHA-256.

use crate::config::{
    Category, Config, ConfigError, Form, Layout, Operator, PerLanguage, Position, Purpose, Reopen,
    Service, Ui, Variant, Vendor,
};
use crate::language::Language;
use crate::texts::{CategoryTexts, TextOverrides, Texts};
use crate::value::{Fields, Problems, Value};

/// The version of the compiled format, the first field of every compiled config.
pub const FORMAT: &str = "kelisim-compiled/1";

/// The fields of each object of a compiled config, as the compiler writes them.
pub const COMPILED_FIELDS: &[&str] = &[
    "format",
    "config_id",
    "site",
    "language",
    "languages",
    "default_language",
    "revision",
    "expiry_days",
    "policy_version",
    "policy_url",
    "operator",
    "endpoint",
    "gpc",
    "cookie_domain",
    "ui",
    "style",
    "texts",
    "expiry_words",
    "first_layer",
    "texts_hash",
    "categories",
    "cross_border",
    "forms",
    "variants",
    "layers",
];
/// The compiled operator has the raw one's fields (its texts in one language).
pub const COMPILED_OPERATOR_FIELDS: &[&str] = crate::config::OPERATOR_FIELDS;
pub const COMPILED_UI_FIELDS: &[&str] = &[
    "layout",
    "position",
    "hide_from_bots",
    "variant",
    "reopen",
    "reopen_position",
];
pub const COMPILED_NOTE_FIELDS: &[&str] = &["class", "text"];
/// The compiled category has the raw one's fields (its texts in one language).
pub const COMPILED_CATEGORY_FIELDS: &[&str] = crate::config::CATEGORY_FIELDS;
pub const COMPILED_SERVICE_FIELDS: &[&str] = &[
    "id",
    "name",
    "cookies",
    "local_storage",
    "cookie_paths",
    "data",
    "data_names",
    "country",
    "country_name",
    "vendor",
    "vendor_id",
];
pub const COMPILED_COUNTRY_FIELDS: &[&str] = &["code", "name"];
pub const COMPILED_FORM_FIELDS: &[&str] = &["id", "confirm", "texts", "texts_hash", "purposes"];
pub const COMPILED_PURPOSE_FIELDS: &[&str] = &[
    "id",
    "required",
    "title",
    "data",
    "data_names",
    "recipients",
    "countries",
    "term_days",
    "term_words",
    "publication",
];
pub const COMPILED_VARIANT_FIELDS: &[&str] =
    &["id", "weight", "layout", "texts", "texts_hash", "layers"];
pub const COMPILED_LAYERS_FIELDS: &[&str] = &["banner", "preferences"];

/// What a compiled config resolved ahead for its language.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved {
    pub language: Option<Language>,
    /// The compiled config's id: a receipt's `config_id`.
    pub config_id: String,
    /// A banner receipt's `texts_hash` (of the texts without a variant).
    pub texts_hash: String,
    /// The stylesheet with the site's theme.
    pub style: String,
    /// Country codes and their names in this language.
    pub country_names: Vec<(String, String)>,
    /// Data kinds and their names in this language.
    pub data_kind_names: Vec<(String, String)>,
    /// `texts_hash` of each form, by form id.
    pub form_hashes: Vec<(String, String)>,
    /// `texts_hash` of each banner variant, by variant id.
    pub variant_hashes: Vec<(String, String)>,
    /// The two layers as node trees (see `layers` in the compiler).
    pub layers: Layers,
    /// The layers of each banner variant, by variant id.
    pub variant_layers: Vec<(String, Layers)>,
    /// A number of days in words ("365 күн"), by the number: the consent's term and each
    /// purpose's.
    pub day_words: Vec<(String, String)>,
}

/// What a config that was not compiled resolved: nothing.
static NOTHING_RESOLVED: Resolved = Resolved {
    language: None,
    config_id: String::new(),
    texts_hash: String::new(),
    style: String::new(),
    country_names: Vec::new(),
    data_kind_names: Vec::new(),
    form_hashes: Vec::new(),
    variant_hashes: Vec::new(),
    layers: Layers {
        banner: Value::Null,
        preferences: Value::Null,
    },
    variant_layers: Vec::new(),
    day_words: Vec::new(),
};

/// The banner and the preferences dialog as node trees: `[tag, {attribute: value, …}, child,
/// …]`, a child being a tree or a text. Checked when read ([`check_tree`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Layers {
    pub banner: Value,
    pub preferences: Value,
}

impl Default for Layers {
    fn default() -> Layers {
        Layers {
            banner: Value::Null,
            preferences: Value::Null,
        }
    }
}

/// The tags a layer may have: what the compiler writes, and nothing that runs or loads.
const LAYER_TAGS: &[&str] = &[
    "div", "p", "h2", "h3", "span", "strong", "a", "button", "input", "section", "details",
    "summary", "ul", "li", "dl", "dt", "dd",
];

/// Checks a layer's node tree at `path`: known tags, attributes with plain names and text
/// values, no event handler attribute, links to http(s) or the site itself. A tree that fails is reported
/// and the config refused: a tampered compiled config shows nothing rather than run a handler.
pub fn check_tree(tree: &Value, path: &str, problems: &Problems) {
    let Value::Array(items) = tree else {
        return problems.at(path, "is not a node of a layer");
    };
    let (Some(Value::String(tag)), Some(Value::Object(attributes))) = (items.first(), items.get(1))
    else {
        return problems.at(path, "is not a node of a layer");
    };
    if !LAYER_TAGS.contains(&tag.as_str()) {
        return problems.at(path, "has a tag a layer does not use");
    }
    for (name, value) in attributes {
        let Value::String(value) = value else {
            return problems.at(path, "has an attribute that is not text");
        };
        // Only names `setAttribute` takes (lowercase letters, digits, `-`), and none of an
        // event handler.
        let malformed = name.is_empty()
            || !name
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
        let handler = malformed || name.starts_with("on");
        let link = name == "href"
            && !(value.starts_with("https://")
                || value.starts_with("http://")
                || (value.starts_with('/') && !value.starts_with("//")));
        if handler || link {
            return problems.at(path, "has an attribute a layer does not use");
        }
    }
    for (index, child) in items.iter().enumerate().skip(2) {
        if !matches!(child, Value::String(_)) {
            check_tree(child, &crate::value::index_path(path, index), problems);
        }
    }
}

/// Reads the `layers` object at `fields`' field `name`, checking both trees.
fn read_layers(fields: &Fields, problems: &Problems) -> Layers {
    let layers = fields.required_lenient_object("layers");
    let mut read = Layers::default();
    for (name, slot) in [
        ("banner", &mut read.banner),
        ("preferences", &mut read.preferences),
    ] {
        match layers.get(name) {
            Some(tree) => {
                check_tree(tree, &layers.path(name), problems);
                *slot = tree.clone();
            }
            None => problems.at(&layers.path(name), "is missing"),
        }
    }
    read
}

impl Resolved {
    /// The layers to show: the variant's when one is shown.
    pub fn layers(&self, variant: Option<&str>) -> &Layers {
        variant
            .and_then(|variant| {
                self.variant_layers
                    .iter()
                    .find(|(known, _)| known == variant)
                    .map(|(_, layers)| layers)
            })
            .unwrap_or(&self.layers)
    }

    /// The name of a country code (the code itself when the config did not name it).
    pub fn country_name<'a>(&'a self, code: &'a str) -> &'a str {
        lookup(&self.country_names, code).unwrap_or(code)
    }

    /// The `texts_hash` of a banner receipt: of the variant shown, if one is.
    pub fn banner_hash(&self, variant: Option<&str>) -> &str {
        variant
            .and_then(|variant| lookup(&self.variant_hashes, variant))
            .unwrap_or(&self.texts_hash)
    }

    /// The `texts_hash` of a form's receipt.
    pub fn form_hash(&self, form: &str) -> Option<&str> {
        lookup(&self.form_hashes, form)
    }

    /// The names of data kinds, in order (unknown kinds left out).
    pub fn data_kind_names(&self, kinds: &[String]) -> Vec<&str> {
        let mut names = Vec::new();
        for kind in kinds {
            if let Some(name) = lookup(&self.data_kind_names, kind) {
                names.push(name);
            }
        }
        names
    }

    /// `days` in words, as the compiler wrote them (the bare number for a term it did not).
    pub fn days(&self, days: u32) -> String {
        let number = crate::strings::decimal(days.into());
        lookup(&self.day_words, &number)
            .map(str::to_owned)
            .unwrap_or(number)
    }
}

impl Config {
    /// What the compiled config resolved ahead: names, words, hashes, the stylesheet (nothing
    /// for a config read from a raw kelisim.json).
    pub fn resolved(&self) -> &Resolved {
        self.resolved.as_deref().unwrap_or(&NOTHING_RESOLVED)
    }

    /// A country's name in the compiled language (the code when the config did not name it).
    pub fn country_name<'a>(&'a self, code: &'a str) -> &'a str {
        self.resolved().country_name(code)
    }

    /// The names of data kinds in the compiled language, joined by ", ".
    pub fn data_names(&self, kinds: &[String]) -> String {
        crate::strings::join(&self.resolved().data_kind_names(kinds), ", ")
    }
}

fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(known, _)| known == key)
        .map(|(_, value)| value.as_str())
}

/// Remembers `key`'s value once.
fn remember(pairs: &mut Vec<(String, String)>, key: String, value: String) {
    if lookup(pairs, &key).is_none() {
        pairs.push((key, value));
    }
}

impl Config {
    /// Reads a compiled config for its one language. The format must be [`FORMAT`]; every
    /// field read must be there with its type.
    pub fn from_compiled(value: &Value) -> Result<Config, ConfigError> {
        let problems = Problems::default();
        let config = read(value, &problems);
        problems.into_result(config)
    }
}

fn read(value: &Value, problems: &Problems) -> Config {
    // The format first: nothing else of another format (or of a raw kelisim.json) means
    // anything here, and the one error should say so rather than name a field.
    let format =
        match value {
            Value::Object(fields) => fields.iter().find(|(name, _)| name == "format").and_then(
                |(_, value)| match value {
                    Value::String(format) => Some(format.as_str()),
                    _ => None,
                },
            ),
            _ => None,
        };
    if format != Some(FORMAT) {
        problems.at(
            "format",
            &crate::strings::concat(&[
                "is not \"",
                FORMAT,
                "\": this is not a compiled config this version of kelisim reads (a raw kelisim.json goes through the compiler)",
            ]),
        );
        return empty_config();
    }
    let top = Fields::lenient(value, "", problems);
    let language = language(problems, "language", &top.string("language"));
    let mut languages = Vec::new();
    for (path, item) in &top.array("languages") {
        if let Value::String(code) = item {
            languages.push(self::language(problems, path, code));
        } else {
            problems.at(path, "must be a language code");
        }
    }
    let default_language = self::language(
        problems,
        "default_language",
        &top.string("default_language"),
    );
    let mut resolved = Resolved {
        language: Some(language),
        config_id: top.string("config_id"),
        texts_hash: top.string("texts_hash"),
        style: top.string("style"),
        ..Resolved::default()
    };
    // What only the layers show (the first layer's notes, the cross-border list, the term in
    // words, each service's data and each category's description) is in their node trees;
    // the runtime does not read it again.
    resolved.layers = read_layers(&top, problems);
    let operator = top.required_lenient_object("operator");
    let mut names = PerLanguage::default();
    names.set(language, operator.string("name"));
    let mut addresses = PerLanguage::default();
    addresses.set(language, operator.string("address"));

    let mut texts = PerLanguage::default();
    texts.set(
        language,
        Texts::from_fields(&top.required_lenient_object("texts")),
    );
    let mut policy_urls = PerLanguage::default();
    policy_urls.set(language, top.string("policy_url"));

    let mut categories = Vec::new();
    for (path, item) in &top.array("categories") {
        let category = Fields::lenient(item, path, problems);
        let mut services = Vec::new();
        for (path, item) in &category.array("services") {
            let service = Fields::lenient(item, path, problems);
            let country = service.string("country");
            remember(
                &mut resolved.country_names,
                country.clone(),
                service.string("country_name"),
            );
            let vendor = service.optional_string("vendor").and_then(|name| {
                let vendor = Vendor::ALL
                    .iter()
                    .find(|(known, _)| *known == name)
                    .map(|(_, vendor)| *vendor);
                if vendor.is_none() {
                    problems.at(&service.path("vendor"), "is not a vendor kelisim knows");
                }
                vendor
            });
            services.push(Service {
                id: service.string("id"),
                name: service.string("name"),
                cookies: service.strings("cookies"),
                local_storage: service.strings("local_storage"),
                data: Vec::new(),
                country,
                vendor,
                vendor_id: service.optional_string("vendor_id"),
                cookie_paths: service.strings("cookie_paths"),
            });
        }
        let mut category_texts = PerLanguage::default();
        category_texts.set(
            language,
            CategoryTexts {
                title: category.string("title"),
                description: String::new(),
                refusal: None,
            },
        );
        categories.push(Category {
            id: category.string("id"),
            required: required_bool(&category, "required"),
            default_on: required_bool(&category, "default"),
            services,
            texts: category_texts,
        });
    }

    // Each form's id, way to confirm and hash; its purposes and the texts of its confirmation
    // step are the forms module's to read (`read_compiled_forms`).
    let mut forms = Vec::new();
    for (path, item) in &top.array("forms") {
        let form = Fields::lenient(item, path, problems);
        let id = form.string("id");
        let confirm = form.optional_string("confirm").and_then(|text| {
            let confirm = crate::config::Confirmation::parse(&text);
            if confirm.is_none() {
                problems.at(
                    &crate::value::field_path(path, "confirm"),
                    "is not a way to confirm",
                );
            }
            confirm
        });
        remember(
            &mut resolved.form_hashes,
            id.clone(),
            form.string("texts_hash"),
        );
        forms.push(Form {
            id,
            confirm,
            purposes: Vec::new(),
        });
    }

    let ui = top.required_lenient_object("ui");
    let mut variants = Vec::new();
    for (path, item) in &top.array("variants") {
        let variant = Fields::lenient(item, path, problems);
        let id = variant.string("id");
        remember(
            &mut resolved.variant_hashes,
            id.clone(),
            variant.string("texts_hash"),
        );
        resolved
            .variant_layers
            .push((id.clone(), read_layers(&variant, problems)));
        let overrides = TextOverrides::from_fields(&variant.required_lenient_object("texts"));
        variants.push(Variant {
            id,
            weight: required_u32(&variant, "weight"),
            layout: variant
                .optional_string("layout")
                .map(|name| layout(problems, &variant.path("layout"), &name)),
            texts: vec![(language, overrides)],
        });
    }
    let position = |field: &str| {
        Position::from_name(&ui.string(field)).unwrap_or_else(|| {
            problems.at(&ui.path(field), "is not a position");
            Position::Bottom
        })
    };
    let ui = Ui {
        layout: layout(problems, "ui.layout", &ui.string("layout")),
        position: position("position"),
        // The theme is in the compiled stylesheet.
        theme: Vec::new(),
        variant: ui.optional_string("variant"),
        hide_from_bots: required_bool(&ui, "hide_from_bots"),
        variants,
        reopen: Reopen::from_name(&ui.string("reopen")).unwrap_or_else(|| {
            problems.at("ui.reopen", "is not button or link");
            Reopen::Button
        }),
        reopen_position: position("reopen_position"),
    };
    let expiry_days = required_u32(&top, "expiry_days");

    Config {
        site: top.string("site"),
        operator: Operator {
            names,
            bin: operator.string("bin"),
            email: operator.string("email"),
            addresses,
        },
        policy_version: top.string("policy_version"),
        revision: required_u32(&top, "revision"),
        expiry_days,
        languages,
        default_language,
        categories,
        endpoint: top.optional_string("endpoint"),
        gpc: required_bool(&top, "gpc"),
        ui,
        forms,
        cookie_domain: top.optional_string("cookie_domain"),
        policy_urls,
        texts,
        resolved: Some(Box::new(resolved)),
    }
}

impl Config {
    /// Reads the purposes of the compiled config's forms and the texts of their confirmation
    /// steps into a config [`Config::from_compiled`] read from the same `value`. The forms
    /// module needs them and the runtime does not, so the runtime module does not carry this
    /// reader.
    pub fn read_compiled_forms(&mut self, value: &Value) -> Result<(), ConfigError> {
        let problems = Problems::default();
        read_forms(self, value, &problems);
        problems.into_result(())
    }
}

fn read_forms(config: &mut Config, value: &Value, problems: &Problems) {
    let top = Fields::lenient(value, "", problems);
    let language = config
        .resolved()
        .language
        .unwrap_or(config.default_language);
    if !config.forms.is_empty() {
        // Served only to sites with a form, so the runtime's reader does not ask for them.
        let texts = top.required_lenient_object("texts");
        for name in crate::texts::FORM_TEXT_NAMES {
            if texts.get(name).is_none() {
                problems.at(&texts.path(name), "is missing");
            }
        }
    }
    let resolved = config.resolved.get_or_insert_with(Box::default);
    for ((path, item), form_read) in top.array("forms").iter().zip(config.forms.iter_mut()) {
        let form = Fields::lenient(item, path, problems);
        if let (Some(sms_texts), Some(texts)) = (
            form.get("texts")
                .map(|texts| Fields::lenient(texts, &form.path("texts"), problems)),
            config.texts.get_mut(language),
        ) {
            texts.set_confirmation_texts(&sms_texts);
        }
        let mut purposes = Vec::new();
        for (path, item) in &form.array("purposes") {
            let purpose = Fields::lenient(item, path, problems);
            let data = purpose.strings("data");
            for (kind, name) in data.iter().zip(purpose.strings("data_names")) {
                remember(&mut resolved.data_kind_names, kind.clone(), name);
            }
            let mut countries = Vec::new();
            for (path, item) in &purpose.array("countries") {
                let country = Fields::lenient(item, path, problems);
                let code = country.string("code");
                remember(
                    &mut resolved.country_names,
                    code.clone(),
                    country.string("name"),
                );
                countries.push(code);
            }
            let mut title = PerLanguage::default();
            title.set(language, purpose.string("title"));
            let term_days = required_u32(&purpose, "term_days");
            remember(
                &mut resolved.day_words,
                crate::strings::decimal(term_days.into()),
                purpose.string("term_words"),
            );
            purposes.push(Purpose {
                id: purpose.string("id"),
                required: required_bool(&purpose, "required"),
                title,
                data,
                recipients: purpose.strings("recipients"),
                countries,
                term_days,
                publication: required_bool(&purpose, "publication"),
            });
        }
        form_read.purposes = purposes;
    }
}

fn layout(problems: &Problems, field: &str, name: &str) -> Layout {
    Layout::from_name(name).unwrap_or_else(|| {
        problems.at(field, "is not a layout");
        Layout::Bar
    })
}

fn language(problems: &Problems, field: &str, code: &str) -> Language {
    code.parse().unwrap_or_else(|()| {
        problems.at(field, "is not a language kelisim has texts for");
        Language::Kk
    })
}

fn required_bool(fields: &Fields, name: &str) -> bool {
    if fields.get(name).is_none() {
        fields.problems().at(&fields.path(name), "is missing");
    }
    fields.bool_or(name, false)
}

fn required_u32(fields: &Fields, name: &str) -> u32 {
    fields.optional_u32(name).unwrap_or_else(|| {
        fields.problems().at(&fields.path(name), "is missing");
        0
    })
}

/// What a refused compiled config reads as: never used (the error is the answer).
fn empty_config() -> Config {
    Config {
        site: String::new(),
        operator: Operator {
            names: PerLanguage::default(),
            bin: String::new(),
            email: String::new(),
            addresses: PerLanguage::default(),
        },
        policy_version: String::new(),
        revision: 0,
        expiry_days: 0,
        languages: Vec::new(),
        default_language: Language::Kk,
        categories: Vec::new(),
        endpoint: None,
        gpc: true,
        ui: Ui {
            layout: crate::config::Layout::Bar,
            position: Position::Bottom,
            theme: Vec::new(),
            variant: None,
            hide_from_bots: false,
            variants: Vec::new(),
            reopen: Reopen::Button,
            reopen_position: Position::BottomLeft,
        },
        forms: Vec::new(),
        cookie_domain: None,
        policy_urls: PerLanguage::default(),
        texts: PerLanguage::default(),
        resolved: None,
    }
}
