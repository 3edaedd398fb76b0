//! The site's configuration: `RawConfig` exactly as written in `kelisim.json`, and `Config`,
//! the validated form every other part of kelisim works with.
//!
//! Validation is pure (no I/O) and all-or-nothing: a config either becomes a `Config` or yields
//! one `ConfigError` naming the offending field, so an invalid config is never half-applied.
//! Owns the rules for ids, URLs, colours and per-language texts; does not know where the JSON
//! came from (fetch, `kelisim.init`, a test).

use crate::language::Language;
use crate::strings::{decimal, has_byte, split_at, split_once_at};
use crate::texts::{
    builtin_category_texts, builtin_texts, country_name, data_kind_names, fill, format_days,
    CategoryTexts, TextOverrides, Texts, DATA_KINDS,
};
use crate::value::{field_path, index_path, Fields, Problems, Value};

pub use crate::value::ConfigError;

/// Texts per language as written in the config: `{"kk": "...", "ru": "..."}`, in order.
pub type LocalizedText = Vec<(String, String)>;

/// The config exactly as written, before validation. Unknown fields were already rejected
/// when it was read from a [`Value`].
#[derive(Clone, Debug, Default)]
pub struct RawConfig {
    pub site: String,
    pub operator: RawOperator,
    pub policy: RawPolicy,
    pub revision: u32,
    pub expiry_days: Option<u32>,
    pub languages: Option<Vec<String>>,
    pub default_language: Option<String>,
    pub categories: Vec<RawCategory>,
    pub endpoint: Option<String>,
    pub gpc: Option<bool>,
    pub ui: Option<RawUi>,
    pub texts: Vec<(String, TextOverrides)>,
    pub cookie_domain: Option<String>,
    pub forms: Vec<RawForm>,
}

/// A purpose set for consent in forms (`forms[]`).
#[derive(Clone, Debug, Default)]
pub struct RawForm {
    pub id: String,
    /// `"sms"`: the consent is confirmed by a code sent to the visitor's phone.
    pub confirm: Option<String>,
    pub purposes: Vec<RawPurpose>,
}

#[derive(Clone, Debug, Default)]
pub struct RawPurpose {
    pub id: String,
    pub required: bool,
    pub title: Option<LocalizedText>,
    pub data: Vec<String>,
    pub recipients: Vec<String>,
    pub countries: Vec<String>,
    pub term_days: Option<u32>,
    pub publication: bool,
}

#[derive(Clone, Debug, Default)]
pub struct RawOperator {
    /// A string (every language) or one per language (`{"kk": "«Глазик» ЖШС", "ru": "ТОО «Глазик»"}`);
    /// a string is kept under the empty key.
    pub name: LocalizedText,
    pub bin: String,
    pub email: String,
    pub address: LocalizedText,
}

#[derive(Clone, Debug, Default)]
pub struct RawPolicy {
    pub version: String,
    pub url: LocalizedText,
}

#[derive(Clone, Debug, Default)]
pub struct RawCategory {
    pub id: String,
    pub required: bool,
    pub default: bool,
    pub title: Option<LocalizedText>,
    pub description: Option<LocalizedText>,
    pub refusal: Option<LocalizedText>,
    pub services: Vec<RawService>,
}

#[derive(Clone, Debug, Default)]
pub struct RawService {
    pub id: String,
    pub name: String,
    pub cookies: Vec<String>,
    pub local_storage: Vec<String>,
    pub data: Vec<String>,
    pub country: String,
    pub vendor: Option<String>,
    pub vendor_id: Option<String>,
    pub cookie_paths: Vec<String>,
}

#[derive(Clone, Debug, Default)]
pub struct RawUi {
    pub layout: Option<String>,
    pub position: Option<String>,
    pub theme: Option<Vec<(String, String)>>,
    pub variant: Option<String>,
    pub hide_from_bots: bool,
    pub variants: Vec<RawVariant>,
    pub reopen: Option<String>,
    pub reopen_position: Option<String>,
}

/// A banner variant of an A/B test (`ui.variants[]`).
#[derive(Clone, Debug, Default)]
pub struct RawVariant {
    pub id: String,
    pub weight: Option<u32>,
    pub layout: Option<String>,
    pub texts: Vec<(String, TextOverrides)>,
}

/// The fields each object of `kelisim.json` may have: what the reader accepts, and what the
/// JSON Schema (`compile::json_schema`) lists.
pub const CONFIG_FIELDS: &[&str] = &[
    "site",
    "operator",
    "policy",
    "revision",
    "expiry_days",
    "languages",
    "default_language",
    "categories",
    "endpoint",
    "gpc",
    "ui",
    "texts",
    "cookie_domain",
    "forms",
];
pub const OPERATOR_FIELDS: &[&str] = &["name", "bin", "email", "address"];
pub const POLICY_FIELDS: &[&str] = &["version", "url"];
pub const CATEGORY_FIELDS: &[&str] = &[
    "id",
    "required",
    "default",
    "title",
    "description",
    "refusal",
    "services",
];
pub const SERVICE_FIELDS: &[&str] = &[
    "preset",
    "id",
    "name",
    "cookies",
    "local_storage",
    "data",
    "country",
    "vendor",
    "vendor_id",
    "cookie_paths",
];
pub const UI_FIELDS: &[&str] = &[
    "layout",
    "position",
    "theme",
    "variant",
    "hide_from_bots",
    "variants",
    "reopen",
    "reopen_position",
];
pub const VARIANT_FIELDS: &[&str] = &["id", "weight", "layout", "texts"];
pub const FORM_FIELDS: &[&str] = &["id", "confirm", "purposes"];
pub const PURPOSE_FIELDS: &[&str] = &[
    "id",
    "required",
    "title",
    "data",
    "recipients",
    "countries",
    "term_days",
    "publication",
];

impl RawConfig {
    /// Reads the config's shape (types, required and unknown fields) from a value tree. The
    /// first problem is reported to `problems`; what could not be read is left empty.
    fn read(value: &Value, problems: &Problems) -> RawConfig {
        let config = Fields::new(value, "", CONFIG_FIELDS, problems);
        let operator = config.required_object("operator", OPERATOR_FIELDS);
        let policy = config.required_object("policy", POLICY_FIELDS);
        if config.get("categories").is_none() {
            problems.at("categories", "is missing");
        }
        let categories = read_categories(&config, problems);
        let ui = config
            .object("ui", UI_FIELDS)
            .map(|ui| read_ui(&ui, problems));
        let forms = read_forms(&config, problems);
        let texts = text_overrides(&config);
        RawConfig {
            site: config.string("site"),
            operator: RawOperator {
                name: operator.string_or_map("name"),
                bin: operator.string("bin"),
                email: operator.string("email"),
                address: operator.string_or_map("address"),
            },
            policy: RawPolicy {
                version: policy.string("version"),
                url: policy.string_map("url").unwrap_or_else(|| {
                    problems.at("policy.url", "is missing");
                    Vec::new()
                }),
            },
            revision: config.optional_u32("revision").unwrap_or(0),
            expiry_days: config.optional_u32("expiry_days"),
            languages: config.get("languages").map(|_| config.strings("languages")),
            default_language: config.optional_string("default_language"),
            categories,
            endpoint: config.optional_string("endpoint"),
            gpc: config.get("gpc").map(|_| config.bool_or("gpc", true)),
            ui,
            texts,
            cookie_domain: config.optional_string("cookie_domain"),
            forms,
        }
    }

    /// Reads the config's shape; the first problem found is the error.
    pub fn from_value(value: &Value) -> Result<RawConfig, ConfigError> {
        let problems = Problems::default();
        let raw = RawConfig::read(value, &problems);
        problems.into_result(raw)
    }
}

/// `categories[]` and their services as written (a preset fills in what a service leaves out).
fn read_categories(config: &Fields, problems: &Problems) -> Vec<RawCategory> {
    let mut categories = Vec::new();
    for (path, item) in &config.array("categories") {
        let category = Fields::new(item, path, CATEGORY_FIELDS, problems);
        let mut services = Vec::new();
        for (path, item) in &category.array("services") {
            let service = Fields::new(item, path, SERVICE_FIELDS, problems);
            // With a preset, its id, name and country stand in for missing ones.
            let preset = service.optional_string("preset");
            let required = |name: &str| match preset {
                Some(_) => service.optional_string(name).unwrap_or_default(),
                None => service.string(name),
            };
            let mut raw = RawService {
                id: required("id"),
                name: required("name"),
                cookies: service.strings("cookies"),
                local_storage: service.strings("local_storage"),
                data: service.strings("data"),
                country: required("country"),
                vendor: service.optional_string("vendor"),
                vendor_id: service.optional_string("vendor_id"),
                cookie_paths: service.strings("cookie_paths"),
            };
            if let Some(preset) = &preset {
                expand_preset(&mut raw, &service, preset);
            }
            services.push(raw);
        }
        categories.push(RawCategory {
            id: category.string("id"),
            required: category.bool_or("required", false),
            default: category.bool_or("default", false),
            title: category.string_map("title"),
            description: category.string_map("description"),
            refusal: category.string_map("refusal"),
            services,
        });
    }
    categories
}

/// `ui` as written.
fn read_ui(ui: &Fields, problems: &Problems) -> RawUi {
    let mut variants = Vec::new();
    for (path, item) in &ui.array("variants") {
        let variant = Fields::new(item, path, VARIANT_FIELDS, problems);
        variants.push(RawVariant {
            id: variant.string("id"),
            weight: variant.optional_u32("weight"),
            layout: variant.optional_string("layout"),
            texts: text_overrides(&variant),
        });
    }
    RawUi {
        layout: ui.optional_string("layout"),
        position: ui.optional_string("position"),
        theme: ui.string_map("theme"),
        variant: ui.optional_string("variant"),
        hide_from_bots: ui.bool_or("hide_from_bots", false),
        variants,
        reopen: ui.optional_string("reopen"),
        reopen_position: ui.optional_string("reopen_position"),
    }
}

/// `forms[]` and their purposes as written.
fn read_forms(config: &Fields, problems: &Problems) -> Vec<RawForm> {
    let mut forms = Vec::new();
    for (path, item) in &config.array("forms") {
        let form = Fields::new(item, path, FORM_FIELDS, problems);
        let mut purposes = Vec::new();
        for (path, item) in &form.array("purposes") {
            let purpose = Fields::new(item, path, PURPOSE_FIELDS, problems);
            purposes.push(RawPurpose {
                id: purpose.string("id"),
                required: purpose.bool_or("required", false),
                title: purpose.string_map("title"),
                data: purpose.strings("data"),
                recipients: purpose.strings("recipients"),
                countries: purpose.strings("countries"),
                term_days: purpose.optional_u32("term_days"),
                publication: purpose.bool_or("publication", false),
            });
        }
        forms.push(RawForm {
            id: form.string("id"),
            confirm: form.optional_string("confirm"),
            purposes,
        });
    }
    forms
}

/// The `texts` object of the config or of a variant: overrides per language code.
/// Fills the fields a service with `"preset"` left out from the knowledge base: its id, name,
/// cookies, localStorage keys, data, country and vendor (the fields it writes win).
#[cfg(feature = "compile")]
fn expand_preset(raw: &mut RawService, service: &Fields, preset: &str) {
    let Some(known) = crate::knowledge::preset(preset) else {
        let ids = crate::knowledge::preset_ids();
        let problems = service.problems();
        problems.report(ConfigError {
            field: service.path("preset"),
            message: [
                "`",
                preset,
                "` is not a preset kelisim knows; the presets are ",
                &ids.join(", "),
            ]
            .concat(),
            suggestion: crate::suggest::closest(preset, &ids).map(str::to_owned),
        });
        return;
    };
    let absent = |name: &str| service.get(name).is_none();
    if absent("id") {
        raw.id = known.id.clone();
    }
    if absent("name") {
        raw.name = known.name.clone();
    }
    if absent("cookies") {
        raw.cookies = known.cookies.clone();
    }
    if absent("local_storage") {
        raw.local_storage = known.local_storage.clone();
    }
    if absent("data") {
        raw.data = known.data.clone();
    }
    if absent("country") {
        raw.country = known.country.clone();
    }
    if absent("vendor") {
        raw.vendor = known.vendor.clone();
    }
}

/// Without the compiler there is no knowledge base to expand a preset from.
#[cfg(not(feature = "compile"))]
fn expand_preset(_raw: &mut RawService, service: &Fields, _preset: &str) {
    service.problems().at(
        &service.path("preset"),
        "is expanded by the compiler (kelisim-server config build, or the loader's compiler module)",
    );
}

fn text_overrides(parent: &Fields) -> Vec<(String, TextOverrides)> {
    let mut texts = Vec::new();
    for (path, language, value) in &parent.entries("texts").unwrap_or_default() {
        let fields = Fields::new(value, path, crate::texts::TEXT_NAMES, parent.problems());
        texts.push(((*language).to_owned(), TextOverrides::from_fields(&fields)));
    }
    texts
}

/// One value per built-in language: the config's per-language texts and URLs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PerLanguage<T>([Option<T>; 3]);

impl<T> Default for PerLanguage<T> {
    fn default() -> Self {
        PerLanguage([None, None, None])
    }
}

impl<T> PerLanguage<T> {
    pub fn get(&self, language: Language) -> Option<&T> {
        self.0[language.index()].as_ref()
    }

    pub fn get_mut(&mut self, language: Language) -> Option<&mut T> {
        self.0[language.index()].as_mut()
    }

    pub fn set(&mut self, language: Language, value: T) {
        self.0[language.index()] = Some(value);
    }
}

/// A validated config. Every category and service id is unique, every enabled language has
/// every text, every URL is http(s) or site-relative.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    pub site: String,
    pub operator: Operator,
    pub policy_version: String,
    pub revision: u32,
    pub expiry_days: u32,
    pub languages: Vec<Language>,
    pub default_language: Language,
    pub categories: Vec<Category>,
    pub endpoint: Option<String>,
    pub gpc: bool,
    pub ui: Ui,
    /// Purpose sets for consent in forms (sign-up, checkout, loyalty).
    pub forms: Vec<Form>,
    /// Domain of the `kelisim` cookie (`example.kz` shares one choice between shop.example.kz
    /// and pay.example.kz); `None`: the current host only.
    pub cookie_domain: Option<String>,
    pub(crate) policy_urls: PerLanguage<String>,
    pub(crate) texts: PerLanguage<Texts>,
    /// What a compiled config resolved ahead for its one language; `None` for a config
    /// validated here.
    pub resolved: Option<Box<Resolved>>,
}

/// The operator of personal data, as Law 94-V Art. 8 p.4 requires the consent to name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operator {
    /// The legal name in each language (a company's form is written differently: «Глазик» ЖШС,
    /// ТОО «Глазик»).
    pub(crate) names: PerLanguage<String>,
    /// Business identification number: 12 digits.
    pub bin: String,
    pub email: String,
    pub(crate) addresses: PerLanguage<String>,
}

impl Operator {
    /// The legal name as the consent in `language` states it.
    pub fn name(&self, language: Language) -> &str {
        self.names.get(language).map_or("", String::as_str)
    }

    pub fn address(&self, language: Language) -> &str {
        self.addresses.get(language).map_or("", String::as_str)
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    pub id: String,
    /// Necessary cookies: always granted, not switchable.
    pub required: bool,
    /// Initial position of the switch in the preferences layer (never consent by itself).
    pub default_on: bool,
    pub services: Vec<Service>,
    pub(crate) texts: PerLanguage<CategoryTexts>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    pub name: String,
    /// Cookie names or `*` patterns cleared when the service is revoked.
    pub cookies: Vec<String>,
    /// localStorage keys or `*` patterns cleared when the service is revoked.
    pub local_storage: Vec<String>,
    /// Kinds of data collected, each one of [`DATA_KINDS`].
    pub data: Vec<String>,
    /// ISO 3166-1 alpha-2 code of the country of processing.
    pub country: String,
    pub vendor: Option<Vendor>,
    /// The vendor's own id where its API needs one (the Yandex Metrika counter number).
    pub vendor_id: Option<String>,
    /// Paths the service's cookies may be set on (default `/`), all cleared on revoke.
    pub cookie_paths: Vec<String>,
}

impl Service {
    /// Processing outside Kazakhstan is a cross-border transfer under Law 94-V.
    pub fn is_cross_border(&self) -> bool {
        self.country != "KZ"
    }
}

/// The name of a form block's checkboxes: the granted purposes reach the store's backend too.
pub const FORM_PURPOSES_FIELD: &str = "kelisim_purposes";
/// The name of a form block's hidden field, which carries the form receipt's id to the
/// store's backend.
pub const FORM_RECEIPT_FIELD: &str = "kelisim_receipt_id";
/// What every id in a form block starts with; the forms module numbers the ids of each block
/// after it (`kelisim-form-3-operator`), since a page may show one purpose set twice.
pub const FORM_ID_PREFIX: &str = "kelisim-form-";
/// The id of a form block's operator line, which describes the block.
pub const FORM_OPERATOR_ID: &str = "kelisim-form-operator";
/// The id of a form block's error for a required purpose (`kelisim-form-error-<purpose>`),
/// shown when its checkbox is not ticked.
pub const FORM_ERROR_ID: &str = "kelisim-form-error";

/// A purpose set for a form: what a `data-kelisim-form="<id>"` form asks consent for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    pub id: String,
    /// How the consent is confirmed beyond the ticked boxes.
    pub confirm: Option<Confirmation>,
    pub purposes: Vec<Purpose>,
}

/// A stronger proof a form's consent needs (`forms[].confirm`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Confirmation {
    /// A one-time code sent by SMS to the visitor's phone (kelisim-server's `/v1/confirmations`).
    Sms,
    /// The visitor's electronic digital signature through NCALayer (kelisim-server's
    /// `/v1/signatures`).
    Eds,
}

impl Confirmation {
    pub fn as_str(self) -> &'static str {
        match self {
            Confirmation::Sms => "sms",
            Confirmation::Eds => "eds",
        }
    }

    /// Which kind of confirmed form text `name` belongs to (`sms_…`, `eds_…`): such texts are
    /// written with those forms only.
    pub fn of_text(name: &str) -> Option<Confirmation> {
        if name.starts_with("sms_") {
            Some(Confirmation::Sms)
        } else if name.starts_with("eds_") {
            Some(Confirmation::Eds)
        } else {
            None
        }
    }

    pub fn parse(text: &str) -> Option<Confirmation> {
        match text {
            "sms" => Some(Confirmation::Sms),
            "eds" => Some(Confirmation::Eds),
            _ => None,
        }
    }
}

/// One purpose of processing, with every item Law 94-V Art. 8 p.4 wants a consent to state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Purpose {
    pub id: String,
    /// The form cannot be sent without it (the processing the form exists for).
    pub required: bool,
    pub title: PerLanguage<String>,
    /// Kinds of data, each one of [`DATA_KINDS`].
    pub data: Vec<String>,
    /// Third parties the data is transferred to.
    pub recipients: Vec<String>,
    /// Countries of processing; anything but `KZ` is a cross-border transfer.
    pub countries: Vec<String>,
    /// How long the data is kept.
    pub term_days: u32,
    /// Whether the data is published in public sources.
    pub publication: bool,
}

/// Which of the variants with these `weights` a browser gets for `random` in `[0, 1)`: each
/// in proportion to its weight; `None` without variants.
pub fn pick_by_weight(weights: &[u32], random: f64) -> Option<usize> {
    let mut total: u64 = 0;
    for weight in weights {
        total += u64::from(*weight);
    }
    let mut point = (random.clamp(0.0, 0.999_999) * total as f64) as u64;
    for (index, weight) in weights.iter().enumerate() {
        if point < u64::from(*weight) {
            return Some(index);
        }
        point -= u64::from(*weight);
    }
    weights.len().checked_sub(1)
}

impl Form {
    pub fn purpose(&self, id: &str) -> Option<&Purpose> {
        self.purposes.iter().find(|purpose| purpose.id == id)
    }
}

impl Config {
    /// The variant a browser gets for `random` in `[0, 1)`, by weight; `None` without a test.
    pub fn pick_variant(&self, random: f64) -> Option<&Variant> {
        let weights: Vec<u32> = self.ui.variants.iter().map(|v| v.weight).collect();
        pick_by_weight(&weights, random).and_then(|index| self.ui.variants.get(index))
    }

    /// Makes this config show variant `id`: its layout and texts applied, `ui.variant` set.
    /// `false` (and nothing changed) when there is no such variant.
    pub fn apply_variant(&mut self, id: &str) -> bool {
        let Some(variant) = self.ui.variants.iter().find(|v| v.id == id) else {
            return false;
        };
        if let Some(layout) = variant.layout {
            self.ui.layout = layout;
        }
        for (language, overrides) in &variant.texts {
            if let Some(texts) = self.texts.get_mut(*language) {
                texts.apply(overrides);
            }
        }
        self.ui.variant = Some(variant.id.clone());
        true
    }

    /// "Оператор: ТОО «…», БИН …" and, when `full`, the address and e-mail: how the consent
    /// names the operator (Law 94-V Art. 8 p.4) in the banner, preferences and forms.
    pub fn operator_line(&self, language: Language, full: bool) -> String {
        let texts = self.texts(language);
        let operator = &self.operator;
        let mut line = [
            texts.operator_label(),
            ": ",
            operator.name(language),
            ", ",
            texts.bin_label(),
            // A no-break space keeps the label and the number on one line.
            "\u{a0}",
            &operator.bin,
        ]
        .concat();
        if full {
            line.push_str(&[", ", operator.address(language), ", ", &operator.email].concat());
        } else {
            line.push_str(".");
        }
        line
    }

    /// The notes of the first layer in `language`, each with its class: what Law 94-V Art. 8
    /// p.4 wants a consent to state before the button that gives it. The cross-border
    /// countries, the personal data collected and its recipients (the services of optional
    /// categories, third parties), the term of the consent and how to withdraw it, and the
    /// operator with its BIN.
    pub fn first_layer_notes(&self, language: Language) -> Vec<(&'static str, String)> {
        let texts = self.texts(language);
        let mut notes = Vec::new();
        let countries = self.cross_border_countries();
        if !countries.is_empty() {
            let mut names: Vec<String> = Vec::new();
            for code in &countries {
                names.push(country_name(code, language));
            }
            notes.push((
                "kelisim-cross-border",
                fill(texts.cross_border_notice(), "countries", &names.join(", ")),
            ));
        }
        let mut kinds: Vec<String> = Vec::new();
        let mut recipients: Vec<&str> = Vec::new();
        for category in &self.categories {
            if category.required {
                continue;
            }
            for service in &category.services {
                if !recipients.contains(&service.name.as_str()) {
                    recipients.push(&service.name);
                }
                for kind in &service.data {
                    if !kinds.contains(kind) {
                        kinds.push(kind.clone());
                    }
                }
            }
        }
        if !recipients.is_empty() {
            // The kinds in the one fixed order of `DATA_KINDS`, whatever the services' order.
            let mut ordered: Vec<String> = Vec::new();
            for kind in DATA_KINDS {
                if kinds.iter().any(|k| k == kind) {
                    ordered.push((*kind).to_owned());
                }
            }
            let summary = fill(
                texts.data_summary(),
                "data",
                &data_kind_names(&ordered, language),
            );
            notes.push((
                "kelisim-data",
                fill(&summary, "recipients", &recipients.join(", ")),
            ));
        }
        notes.push((
            "kelisim-expiry",
            fill(
                texts.expiry(),
                "days",
                &format_days(language, self.expiry_days),
            ),
        ));
        notes.push(("kelisim-operator", self.operator_line(language, false)));
        notes
    }

    pub fn form(&self, id: &str) -> Option<&Form> {
        self.forms.iter().find(|form| form.id == id)
    }

    /// Every text a form's consent shows in `language` (the statement, each purpose with its
    /// Art. 8 p.4 items, the operator): what a `form` receipt's `texts_hash` is the SHA-256 of.
    pub fn form_fingerprint(&self, form: &Form, language: Language) -> String {
        let texts = self.texts(language);
        let mut out = String::new();
        // Ids, data kinds, countries and numbers cannot hold a newline, so escaping every
        // value (as push_line does) writes the same bytes as before.
        let mut line = |name: &str, value: &str| push_line(&mut out, name, value);
        line("language", language.code());
        line("form", &form.id);
        if let Some(confirm) = form.confirm {
            // What a confirmed form adds to what the visitor reads: its own texts.
            line("confirm", confirm.as_str());
            for (name, text) in texts.entries() {
                if crate::config::Confirmation::of_text(name) == Some(confirm) {
                    line(name, text);
                }
            }
        }
        line("operator", self.operator.name(language));
        line("bin", &self.operator.bin);
        line("policy_url", self.policy_url(language));
        line("form_consent", texts.form_consent());
        line("form_details", texts.form_details());
        line(
            "form_withdrawal",
            &fill(texts.form_withdrawal(), "email", &self.operator.email),
        );
        for purpose in &form.purposes {
            line("purpose", &purpose.id);
            line("required", yes_no(purpose.required));
            line(
                "title",
                purpose.title.get(language).map_or("", String::as_str),
            );
            line("data", &purpose.data.join(","));
            line("recipients", &purpose.recipients.join(";"));
            line("countries", &purpose.countries.join(","));
            line("term_days", &decimal(purpose.term_days.into()));
            line("publication", yes_no(purpose.publication));
        }
        out
    }
}

/// Vendor integrations a service may name: the vendor's consent API the runtime calls on every
/// choice, and the cookies its script is known to write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vendor {
    GoogleConsentMode,
    YandexMetrika,
    MetaPixel,
    Gtm,
    /// `clarity('consentv2', {ad_Storage, analytics_Storage})`.
    MicrosoftClarity,
    /// `uetq.push('consent', 'default' | 'update', {ad_storage})`.
    MicrosoftUet,
    /// `ttq.holdConsent()`, `ttq.grantConsent()`, `ttq.revokeConsent()`.
    TiktokPixel,
}

impl Vendor {
    /// Cookie and localStorage patterns the vendor's script is known to write on the site.
    pub fn known_storage(self) -> (&'static [&'static str], &'static [&'static str]) {
        match self {
            Vendor::GoogleConsentMode => (&["_ga", "_ga_*", "_gid", "_gat*"], &[]),
            Vendor::YandexMetrika => (&["_ym*"], &["_ym*"]),
            Vendor::MetaPixel => (&["_fbp", "_fbc"], &[]),
            Vendor::Gtm => (&[], &[]),
            Vendor::MicrosoftClarity => (&["_clck", "_clsk"], &[]),
            Vendor::MicrosoftUet => (&["_uet*"], &["_uet*"]),
            Vendor::TiktokPixel => (&["_ttp", "_tt_enable_cookie", "ttcsid*"], &[]),
        }
    }

    /// The vendor's name as a config writes it.
    pub fn name(self) -> &'static str {
        Vendor::ALL
            .iter()
            .find(|(_, vendor)| *vendor == self)
            .map_or("", |(name, _)| name)
    }

    pub const ALL: [(&'static str, Vendor); 7] = [
        ("google-consent-mode", Vendor::GoogleConsentMode),
        ("yandex-metrika", Vendor::YandexMetrika),
        ("meta-pixel", Vendor::MetaPixel),
        ("gtm", Vendor::Gtm),
        ("microsoft-clarity", Vendor::MicrosoftClarity),
        ("microsoft-uet", Vendor::MicrosoftUet),
        ("tiktok-pixel", Vendor::TiktokPixel),
    ];
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ui {
    pub layout: Layout,
    pub position: Position,
    /// CSS custom properties (`--kelisim-background`, ...) with validated hex colours.
    pub theme: Vec<(String, String)>,
    /// The banner variant shown (set from `ui.variant`, or picked from `variants`).
    pub variant: Option<String>,
    pub hide_from_bots: bool,
    /// A/B test variants with their weights; empty when there is no test.
    pub variants: Vec<Variant>,
    /// How a visitor reopens the preferences after a choice (to change it or withdraw).
    pub reopen: Reopen,
    /// Corner of the floating button: `BottomLeft` or `BottomRight`.
    pub reopen_position: Position,
}

impl Ui {
    /// The theme's custom properties whose colour is not the default: the stylesheet sets the
    /// defaults itself.
    pub fn changed_colours(&self) -> impl Iterator<Item = &(String, String)> {
        self.theme.iter().filter(|(property, value)| {
            let default = THEME_PROPERTIES
                .iter()
                .position(|known| known == property)
                .map(|index| THEME_DEFAULTS[index].1);
            default != Some(value.as_str())
        })
    }
}

/// How the preferences are reopened after a choice: withdrawing must be as easy as consenting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reopen {
    /// kelisim's own floating "Cookie settings" button (the default).
    Button,
    /// The site's own `data-kelisim="open"` link; the SDK warns when the page has none.
    Link,
}

impl Reopen {
    /// The way a config names (`button`, `link`); `None` for another word.
    pub fn from_name(name: &str) -> Option<Reopen> {
        match name {
            "button" => Some(Reopen::Button),
            "link" => Some(Reopen::Link),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reopen::Button => "button",
            Reopen::Link => "link",
        }
    }
}

/// One banner variant: its weight and what it changes (layout, texts per language).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Variant {
    pub id: String,
    pub weight: u32,
    pub layout: Option<Layout>,
    pub texts: Vec<(Language, TextOverrides)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    Bar,
    Box,
    Modal,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    Bottom,
    Top,
    BottomLeft,
    BottomRight,
}

impl Layout {
    /// The layout a config names (`box`); `None` for another word.
    pub fn from_name(name: &str) -> Option<Layout> {
        match name {
            "bar" => Some(Layout::Bar),
            "box" => Some(Layout::Box),
            "modal" => Some(Layout::Modal),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Layout::Bar => "bar",
            Layout::Box => "box",
            Layout::Modal => "modal",
        }
    }
}

impl Position {
    /// The position a config names (`bottom-left`); `None` for another word.
    pub fn from_name(name: &str) -> Option<Position> {
        match name {
            "bottom" => Some(Position::Bottom),
            "top" => Some(Position::Top),
            "bottom-left" => Some(Position::BottomLeft),
            "bottom-right" => Some(Position::BottomRight),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Position::Bottom => "bottom",
            Position::Top => "top",
            Position::BottomLeft => "bottom-left",
            Position::BottomRight => "bottom-right",
        }
    }
}

/// Theme keys a config may set, and the defaults they replace. The defaults pass WCAG AA:
/// text on background 17.2:1, accent text on accent 7.2:1.
pub const THEME_DEFAULTS: [(&str, &str); 5] = [
    ("background", "#ffffff"),
    ("text", "#1b1b1f"),
    ("accent", "#0b57a4"),
    ("accent_text", "#ffffff"),
    ("border", "#6b6b75"),
];

/// The CSS custom property of each theme key, in [`THEME_DEFAULTS`] order.
const THEME_PROPERTIES: [&str; 5] = [
    "--kelisim-background",
    "--kelisim-text",
    "--kelisim-accent",
    "--kelisim-accent-text",
    "--kelisim-border",
];

/// Text and the background it is read on, as indexes into [`THEME_DEFAULTS`]: each pair must
/// reach WCAG AA contrast.
const THEME_CONTRAST_PAIRS: [(usize, usize); 2] = [(1, 0), (3, 2)];

const MAX_ID_LENGTH: usize = 40;

impl Config {
    /// Reads and validates in one step: the first problem found becomes a `ConfigError`
    /// naming its field.
    pub fn from_value(value: &Value) -> Result<Config, ConfigError> {
        let problems = Problems::default();
        // One pass with one problem slot: a problem found while reading stays the first one
        // (validating what could be read, with missing parts read as empty, reports only after
        // it).
        let config = Config::validate(RawConfig::read(value, &problems), &problems);
        problems.into_result(config)
    }

    /// Reads and validates in one pass that finds every problem (each with its field, and a
    /// suggestion where one is likely): what `config check` and the compiler report.
    pub fn check(value: &Value) -> Result<Config, Vec<ConfigError>> {
        let problems = Problems::default();
        let config = Config::validate(RawConfig::read(value, &problems), &problems);
        problems.into_all(config)
    }

    /// Texts of the first and preferences layers in `language` (built-in plus overrides).
    /// (A compiled config holds one language: asked for another, it answers with that one
    /// rather than nothing.)
    pub fn texts(&self, language: Language) -> &Texts {
        let mut texts = self.texts.get(language);
        for fallback in [
            self.default_language,
            Language::Kk,
            Language::Ru,
            Language::En,
        ] {
            texts = texts.or_else(|| self.texts.get(fallback));
        }
        texts.expect("validation fills texts for every enabled language; a compiled config its one")
    }

    /// The policy URL in `language`, or in the default language when there is none.
    pub fn policy_url(&self, language: Language) -> &str {
        self.policy_urls
            .get(language)
            .or_else(|| self.policy_urls.get(self.default_language))
            .map_or("", String::as_str)
    }

    pub fn category(&self, id: &str) -> Option<&Category> {
        self.categories.iter().find(|category| category.id == id)
    }

    /// A service and the category it belongs to.
    pub fn service(&self, id: &str) -> Option<(&Category, &Service)> {
        self.categories.iter().find_map(|category| {
            category
                .services
                .iter()
                .find(|service| service.id == id)
                .map(|service| (category, service))
        })
    }

    /// Every service of every category, in config order.
    pub fn services(&self) -> Vec<&Service> {
        self.categories
            .iter()
            .flat_map(|category| &category.services)
            .collect()
    }

    /// Countries outside Kazakhstan where some service processes data, sorted, each once.
    pub fn cross_border_countries(&self) -> Vec<&str> {
        let mut countries: Vec<&str> = Vec::new();
        for service in &self.services() {
            if service.is_cross_border() {
                crate::ids::insert_sorted(&mut countries, &service.country);
            }
        }
        countries
    }

    pub fn uses_vendor(&self, vendor: Vendor) -> bool {
        self.services()
            .iter()
            .any(|service| service.vendor == Some(vendor))
    }
}

impl Category {
    /// This category's texts in `language` (falls back to the first language it has).
    pub fn texts(&self, language: Language) -> &CategoryTexts {
        Language::ALL
            .iter()
            .find_map(|&fallback| {
                self.texts
                    .get(language)
                    .or_else(|| self.texts.get(fallback))
            })
            .expect("validation fills texts for every enabled language")
    }
}

impl TryFrom<RawConfig> for Config {
    type Error = ConfigError;

    fn try_from(raw: RawConfig) -> Result<Config, ConfigError> {
        let problems = Problems::default();
        let config = Config::validate(raw, &problems);
        problems.into_result(config)
    }
}

impl Config {
    /// Validates `raw`, reporting the first problem to `problems`. The config it returns is
    /// only meaningful when no problem was found.
    fn validate(raw: RawConfig, problems: &Problems) -> Config {
        check_id(problems, "site", &raw.site, 64, true);

        let (languages, default_language) = validate_languages(&raw, problems);

        let policy_urls = validate_policy(&raw.policy, default_language, problems);

        let operator = validate_operator(raw.operator, &languages, default_language, problems);
        let expiry_days = raw.expiry_days.unwrap_or(365);
        if !(1..=3650).contains(&expiry_days) {
            reject(
                problems,
                "expiry_days",
                "is {}; must be between 1 and 3650",
                &decimal(expiry_days.into()),
            );
        }

        let categories = validate_categories(raw.categories, &languages, problems);

        if let Some(endpoint) = &raw.endpoint {
            check_url(problems, "endpoint", endpoint);
        }

        let ui = validate_ui(raw.ui.unwrap_or_default(), problems);
        let forms = validate_forms(raw.forms, &languages, raw.endpoint.as_deref(), problems);

        let cookie_domain = raw
            .cookie_domain
            .map(|domain| validate_cookie_domain(&domain, problems));

        let texts = validate_texts(&raw.texts, &languages, problems);

        Config {
            site: raw.site,
            operator,
            policy_version: raw.policy.version,
            revision: raw.revision,
            expiry_days,
            languages,
            default_language,
            categories,
            endpoint: raw.endpoint,
            gpc: raw.gpc.unwrap_or(true),
            ui,
            forms,
            cookie_domain,
            policy_urls,
            texts,
            resolved: None,
        }
    }
}

/// `languages` (all three when absent) and `default_language` (Kazakh when offered).
fn validate_languages(raw: &RawConfig, problems: &Problems) -> (Vec<Language>, Language) {
    let languages = match &raw.languages {
        None => Language::ALL.to_vec(),
        Some(codes) => {
            if codes.is_empty() {
                problems.at("languages", "must name at least one language: kk, ru or en");
            }
            let mut languages = Vec::new();
            for (index, code) in codes.iter().enumerate() {
                let field = index_path("languages", index);
                let language = parse_language(problems, &field, code);
                if languages.contains(&language) {
                    reject(problems, &field, "names `{}` twice", code);
                }
                languages.push(language);
            }
            languages
        }
    };
    let default_language = match &raw.default_language {
        Some(code) => {
            let language = parse_language(problems, "default_language", code);
            if !languages.contains(&language) {
                reject(
                    problems,
                    "default_language",
                    "`{}` is not in `languages`",
                    code,
                );
            }
            language
        }
        None if languages.contains(&Language::Kk) => Language::Kk,
        None => languages.first().copied().unwrap_or(Language::Kk),
    };
    (languages, default_language)
}

/// `policy`: its version label and its URL per language (one in the default language).
fn validate_policy(
    policy: &RawPolicy,
    default_language: Language,
    problems: &Problems,
) -> PerLanguage<String> {
    if policy.version.trim().is_empty() || policy.version.len() > 64 {
        problems.at(
            "policy.version",
            "must be a non-empty version label of at most 64 characters, e.g. \"2026-11-01\"",
        );
    }
    let mut policy_urls = PerLanguage::default();
    for (code, url) in &policy.url {
        let field = ["policy.url.", code].concat();
        let language = parse_language(problems, &field, code);
        check_url(problems, &field, url);
        policy_urls.set(language, url.clone());
    }
    if policy_urls.get(default_language).is_none() {
        problems.at(
            &["policy.url.", default_language.code()].concat(),
            "is missing: the policy must be linked at least in the default language",
        );
    }
    policy_urls
}

/// `cookie_domain`: a lowercase domain (leading dots dropped), e.g. `example.kz`.
fn validate_cookie_domain(domain: &str, problems: &Problems) -> String {
    let mut domain = domain;
    while let Some(rest) = domain.strip_prefix(".") {
        domain = rest;
    }
    let domain = domain.to_owned();
    let ok = has_byte(&domain, b'.')
        && !domain.starts_with("-")
        && domain
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if !ok {
        reject(
            problems,
            "cookie_domain",
            "\"{}\" must be a domain in lowercase, e.g. \"example.kz\"",
            &domain,
        );
    }
    domain
}

/// The built-in texts of each language with `texts.<lang>`'s overrides applied.
fn validate_texts(
    raw: &[(String, TextOverrides)],
    languages: &[Language],
    problems: &Problems,
) -> PerLanguage<Texts> {
    let mut texts = PerLanguage::default();
    for language in languages {
        texts.set(*language, builtin_texts(*language));
    }
    for (code, overrides) in raw {
        let field = ["texts.", code].concat();
        let language = parse_language(problems, &field, code);
        check_overrides(problems, &field, overrides);
        if let Some(language_texts) = texts.get_mut(language) {
            language_texts.apply(overrides);
        }
    }
    texts
}

/// Override texts must not be empty: a blank button is worse than the built-in text.
fn check_overrides(problems: &Problems, field: &str, overrides: &TextOverrides) {
    if let Some((name, _)) = overrides.entries().find(|(_, text)| text.trim().is_empty()) {
        problems.at(&[field, ".", name].concat(), "must not be empty");
    }
    // An SMS without its code confirms nothing.
    for (name, text) in overrides.entries() {
        if (name == "sms_message" || name == "sms_withdraw_message") && !text.contains("{code}") {
            problems.at(
                &[field, ".", name].concat(),
                "must contain {code}, where the one-time code goes",
            );
        }
    }
}

fn validate_operator(
    raw: RawOperator,
    languages: &[Language],
    default_language: Language,
    problems: &Problems,
) -> Operator {
    let names = per_language_or_all(
        problems,
        "operator.name",
        &raw.name,
        languages,
        default_language,
        "must be the operator's legal name, e.g. \"ТОО «Глазик»\"",
    );
    let addresses = per_language_or_all(
        problems,
        "operator.address",
        &raw.address,
        languages,
        default_language,
        "must be the operator's postal address",
    );
    if raw.bin.len() != 12 || !raw.bin.bytes().all(|b| b.is_ascii_digit()) {
        reject(
            problems,
            "operator.bin",
            "is \"{}\"; a BIN is exactly 12 digits",
            &raw.bin,
        );
    }
    let email_ok = split_once_at(&raw.email, b'@').is_some_and(|(local, domain)| {
        !local.is_empty() && has_byte(domain, b'.') && !raw.email.chars().any(char::is_whitespace)
    });
    if !email_ok {
        reject(
            problems,
            "operator.email",
            "is \"{}\"; must be a contact e-mail address",
            &raw.email,
        );
    }
    Operator {
        names,
        bin: raw.bin,
        email: raw.email,
        addresses,
    }
}

/// A text given once for every language (a string, kept under the empty key) or per language:
/// each enabled language gets its own, or else the default language's. `message` reports a
/// blank or missing one.
fn per_language_or_all(
    problems: &Problems,
    field: &str,
    given: &LocalizedText,
    languages: &[Language],
    default_language: Language,
    message: &str,
) -> PerLanguage<String> {
    let per_language = !(given.len() == 1 && given[0].0.is_empty());
    for (code, text) in given {
        let text_field = if per_language {
            [field, ".", code].concat()
        } else {
            field.to_owned()
        };
        if per_language {
            parse_language(problems, &text_field, code);
        }
        if text.trim().is_empty() {
            problems.at(&text_field, message);
        }
    }
    let find = |code: &str| given.iter().find(|(key, _)| key == code);
    let fallback = find("").or_else(|| find(default_language.code()));
    if fallback.is_none() && !given.is_empty() {
        problems.at(
            &[field, ".", default_language.code()].concat(),
            "is missing: give it at least in the default language",
        );
    }
    let mut texts = PerLanguage::default();
    for &language in languages {
        if let Some((_, text)) = find(language.code()).or(fallback) {
            texts.set(language, text.clone());
        }
    }
    texts
}

fn validate_categories(
    raw: Vec<RawCategory>,
    languages: &[Language],
    problems: &Problems,
) -> Vec<Category> {
    if raw.is_empty() {
        problems.at("categories", "must list at least one category");
    }
    let mut category_ids: Vec<String> = Vec::new();
    let mut service_ids: Vec<String> = Vec::new();
    let mut categories = Vec::new();
    for (index, mut raw_category) in raw.into_iter().enumerate() {
        let field = index_path("categories", index);
        let id_field = field_path(&field, "id");
        check_id(problems, &id_field, &raw_category.id, MAX_ID_LENGTH, false);
        if category_ids.contains(&raw_category.id) {
            reject(
                problems,
                &id_field,
                "`{}` is used by another category",
                &raw_category.id,
            );
        }
        category_ids.push(raw_category.id.clone());
        let texts = category_texts(&field, &raw_category, languages, problems);
        let mut services = Vec::new();
        let raw_services = std::mem::take(&mut raw_category.services);
        for (service_index, raw_service) in raw_services.into_iter().enumerate() {
            let service_field = index_path(&field_path(&field, "services"), service_index);
            let service = validate_service(&service_field, raw_service, problems);
            if category_ids.contains(&service.id) || service_ids.contains(&service.id) {
                reject(
                    problems,
                    &field_path(&service_field, "id"),
                    "`{}` is used by another service or category; ids must be unique",
                    &service.id,
                );
            }
            service_ids.push(service.id.clone());
            services.push(service);
        }
        categories.push(Category {
            id: raw_category.id,
            required: raw_category.required,
            default_on: raw_category.required || raw_category.default,
            services,
            texts,
        });
    }
    if let Some(id) = categories
        .iter()
        .map(|c| &c.id)
        .find(|id| service_ids.contains(id))
    {
        reject(
            problems,
            "categories",
            "`{}` is both a category and a service id; ids must be unique",
            id,
        );
    }
    categories
}

fn category_texts(
    field: &str,
    raw: &RawCategory,
    languages: &[Language],
    problems: &Problems,
) -> PerLanguage<CategoryTexts> {
    for &(name, localized) in &[
        ("title", &raw.title),
        ("description", &raw.description),
        ("refusal", &raw.refusal),
    ] {
        for (code, text) in pairs(localized) {
            let text_field = [field, ".", name, ".", code].concat();
            parse_language(problems, &text_field, code);
            if text.trim().is_empty() {
                problems.at(&text_field, "must not be empty");
            }
        }
    }
    let mut texts = PerLanguage::default();
    for &language in languages {
        // The built-in texts of a well-known id (none for others), each replaced by the
        // config's own where it has one.
        let mut category = builtin_category_texts(&raw.id, language).unwrap_or_default();
        if let Some(title) = localized_text(&raw.title, language) {
            category.title = title;
        }
        if let Some(description) = localized_text(&raw.description, language) {
            category.description = description;
        }
        if let Some(refusal) = localized_text(&raw.refusal, language) {
            category.refusal = Some(refusal);
        }
        if raw.required {
            category.refusal = None;
        }
        // An empty text the config gave was reported above; an empty one here is missing.
        for &(name, text) in &[
            ("title", &category.title),
            ("description", &category.description),
        ] {
            if text.is_empty() {
                reject(
                    problems,
                    &[field, ".", name, ".", language.code()].concat(),
                    "is missing: `{}` has no built-in texts, so every language in \
                     `languages` needs one",
                    &raw.id,
                );
            }
        }
        texts.set(language, category);
    }
    texts
}

/// The config's text in `language` from a `{"kk": "...", "ru": "..."}` object, if it has one.
fn localized_text(localized: &Option<LocalizedText>, language: Language) -> Option<String> {
    pairs(localized)
        .iter()
        .find(|(code, _)| code == language.code())
        .map(|(_, text)| text.clone())
}

/// The key/value pairs of an optional object of strings (none when it is absent).
fn pairs(object: &Option<LocalizedText>) -> &[(String, String)] {
    object.as_deref().unwrap_or_default()
}

/// Reports `field` with `message`, its `{}` replaced by `value`.
fn reject(problems: &Problems, field: &str, message: &str, value: &str) {
    problems.at(field, &fill(message, "", value));
}

/// [`reject`] with what was probably meant.
fn reject_suggesting(
    problems: &Problems,
    field: &str,
    message: &str,
    value: &str,
    suggestion: Option<&str>,
) {
    let mut error = ConfigError::new(field, &fill(message, "", value));
    error.suggestion = suggestion.map(str::to_owned);
    problems.report(error);
}

/// `code` as a language; reported (and read as Kazakh) when kelisim has no such language.
fn parse_language(problems: &Problems, field: &str, code: &str) -> Language {
    code.parse().unwrap_or_else(|()| {
        reject_suggesting(
            problems,
            field,
            "`{}` is not a supported language; use kk, ru or en",
            code,
            crate::suggest::closest(code, &["kk", "ru", "en"]),
        );
        Language::Kk
    })
}

/// A two-letter country code in capitals (`KZ`, `US`).
fn is_country_code(code: &str) -> bool {
    code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// Every kind of data must be one kelisim can name in three languages.
fn check_data_kinds(problems: &Problems, field: &str, kinds: &[String]) {
    let field = [field, ".data"].concat();
    for (index, kind) in kinds.iter().enumerate() {
        if !DATA_KINDS.contains(&kind.as_str()) {
            reject_suggesting(
                problems,
                &index_path(&field, index),
                &["`{}` is unknown; use one of ", &DATA_KINDS.join(", ")].concat(),
                kind,
                crate::suggest::closest(kind, DATA_KINDS),
            );
        }
    }
}

/// Reports every item of the list at `field` that `ok` rejects, as `field[index]`, with
/// `message` (where `{}` stands for the item, as in [`reject`]).
fn check_each(
    problems: &Problems,
    field: &str,
    items: &[String],
    ok: fn(&str) -> bool,
    message: &str,
) {
    for (index, item) in items.iter().enumerate() {
        if !ok(item) {
            reject(problems, &index_path(field, index), message, item);
        }
    }
}

fn validate_service(field: &str, raw: RawService, problems: &Problems) -> Service {
    let sub = |name: &str| field_path(field, name);
    check_id(problems, &sub("id"), &raw.id, MAX_ID_LENGTH, false);
    if raw.name.trim().is_empty() {
        problems.at(
            &sub("name"),
            "must be the service's name as visitors know it",
        );
    }
    check_each(
        problems,
        &sub("cookies"),
        &raw.cookies,
        |pattern| {
            !pattern.is_empty()
                && pattern
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"=;,\"\\".contains(&b))
        },
        "\"{}\" is not a cookie name or `*` pattern",
    );
    check_each(
        problems,
        &sub("local_storage"),
        &raw.local_storage,
        |key| !key.is_empty(),
        "must not be empty",
    );
    check_data_kinds(problems, field, &raw.data);
    if !is_country_code(&raw.country) {
        reject_suggesting(
            problems,
            &sub("country"),
            "\"{}\" must be an ISO 3166-1 alpha-2 code in capitals, e.g. \"KZ\" or \"US\"",
            &raw.country,
            crate::texts::country_code_for(&raw.country).as_deref(),
        );
    }
    let vendor = raw.vendor.as_ref().and_then(|name| {
        let vendor = Vendor::ALL
            .iter()
            .find(|(known, _)| known == name)
            .map(|(_, vendor)| *vendor);
        if vendor.is_none() {
            let names = Vendor::ALL.map(|(known, _)| known);
            reject_suggesting(
                problems,
                &sub("vendor"),
                &["`{}` is unknown; use one of ", &names.join(", ")].concat(),
                name,
                crate::suggest::closest(name, &names),
            );
        }
        vendor
    });
    if let Some(id) = &raw.vendor_id {
        if id.is_empty()
            || id.len() > 32
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            reject(
                problems,
                &sub("vendor_id"),
                "\"{}\" must be the vendor's id, e.g. the Metrika counter number",
                id,
            );
        }
    }
    if vendor == Some(Vendor::YandexMetrika)
        && raw
            .vendor_id
            .as_ref()
            .is_some_and(|id| !id.bytes().all(|b| b.is_ascii_digit()))
    {
        problems.at(
            &sub("vendor_id"),
            "a Yandex Metrika counter number is digits only",
        );
    }
    check_each(
        problems,
        &sub("cookie_paths"),
        &raw.cookie_paths,
        |path| {
            path.starts_with("/")
                && !path
                    .bytes()
                    .any(|b| b == b';' || b == b',' || b.is_ascii_whitespace())
        },
        "\"{}\" must be a path starting with /",
    );
    // What a vendor is known to store is cleared (and listed) even if the config forgot it.
    let (vendor_cookies, vendor_storage) = vendor.map(Vendor::known_storage).unwrap_or((&[], &[]));
    let mut cookies = raw.cookies;
    add_missing(&mut cookies, vendor_cookies);
    let mut local_storage = raw.local_storage;
    add_missing(&mut local_storage, vendor_storage);
    let mut cookie_paths = raw.cookie_paths;
    if cookie_paths.is_empty() {
        add_missing(&mut cookie_paths, &["/"]);
    }
    Service {
        id: raw.id,
        name: raw.name,
        cookies,
        local_storage,
        data: raw.data,
        country: raw.country,
        vendor,
        vendor_id: raw.vendor_id,
        cookie_paths,
    }
}

/// Appends each of `patterns` that `list` does not have yet.
fn add_missing(list: &mut Vec<String>, patterns: &[&str]) {
    for pattern in patterns {
        if !list.iter().any(|item| item == pattern) {
            list.push((*pattern).to_owned());
        }
    }
}

fn validate_forms(
    raw: Vec<RawForm>,
    languages: &[Language],
    endpoint: Option<&str>,
    problems: &Problems,
) -> Vec<Form> {
    let mut forms: Vec<Form> = Vec::new();
    for (index, mut raw_form) in raw.into_iter().enumerate() {
        let field = index_path("forms", index);
        let id_field = field_path(&field, "id");
        check_id(problems, &id_field, &raw_form.id, MAX_ID_LENGTH, false);
        if forms.iter().any(|form| form.id == raw_form.id) {
            reject(
                problems,
                &id_field,
                "`{}` is used by another form",
                &raw_form.id,
            );
        }
        let confirm = raw_form.confirm.as_deref().and_then(|text| {
            let confirm = Confirmation::parse(text);
            if confirm.is_none() {
                reject(
                    problems,
                    &field_path(&field, "confirm"),
                    "\"{}\" is not a way to confirm; use \"sms\" or \"eds\"",
                    text,
                );
            }
            confirm
        });
        // The code is sent, and the signature checked, by the receipts server, next to its
        // `/v1/receipts`.
        if confirm.is_some() && !endpoint.is_some_and(|endpoint| endpoint.ends_with("/receipts")) {
            problems.at(
                &field_path(&field, "confirm"),
                "`sms` and `eds` need `endpoint`: the kelisim-server receipts URL (ending in /v1/receipts), which sends the code and checks the signature",
            );
        }
        if !raw_form.purposes.iter().any(|purpose| purpose.required) {
            problems.at(
                &field_path(&field, "purposes"),
                "must include one required purpose: the processing the form exists for",
            );
        }
        let mut purposes: Vec<Purpose> = Vec::new();
        let raw_purposes = std::mem::take(&mut raw_form.purposes);
        for (purpose_index, raw_purpose) in raw_purposes.into_iter().enumerate() {
            let purpose_field = index_path(&field_path(&field, "purposes"), purpose_index);
            let purpose = validate_purpose(raw_purpose, &purpose_field, languages, problems);
            if purposes.iter().any(|known| known.id == purpose.id) {
                reject(
                    problems,
                    &field_path(&purpose_field, "id"),
                    "`{}` is used twice",
                    &purpose.id,
                );
            }
            purposes.push(purpose);
        }
        forms.push(Form {
            id: raw_form.id,
            confirm,
            purposes,
        });
    }
    forms
}

/// One purpose of a form at `field` (`forms[0].purposes[1]`): its title in every language,
/// the data it collects, its recipients and countries, how long it lasts.
fn validate_purpose(
    raw_purpose: RawPurpose,
    field: &str,
    languages: &[Language],
    problems: &Problems,
) -> Purpose {
    let sub = |name: &str| field_path(field, name);
    check_id(problems, &sub("id"), &raw_purpose.id, MAX_ID_LENGTH, false);
    let mut title = PerLanguage::default();
    for &language in languages {
        let text = localized_text(&raw_purpose.title, language)
            .filter(|text| !text.trim().is_empty())
            .unwrap_or_else(|| {
                problems.at(&[field, ".title.", language.code()].concat(), "is missing");
                String::new()
            });
        title.set(language, text);
    }
    for (code, _) in pairs(&raw_purpose.title) {
        parse_language(problems, &[field, ".title.", code].concat(), code);
    }
    check_data_kinds(problems, field, &raw_purpose.data);
    if raw_purpose.data.is_empty() {
        problems.at(&sub("data"), "must list the data collected");
    }
    check_each(
        problems,
        &sub("recipients"),
        &raw_purpose.recipients,
        |recipient| !recipient.trim().is_empty(),
        "must not be empty",
    );
    check_each(
        problems,
        &sub("countries"),
        &raw_purpose.countries,
        is_country_code,
        "\"{}\" must be an ISO 3166-1 alpha-2 code in capitals",
    );
    let term_days = match raw_purpose.term_days {
        None => {
            problems.at(
                &sub("term_days"),
                "is missing: the consent must state how long data is kept",
            );
            0
        }
        Some(0) => {
            problems.at(&sub("term_days"), "must be at least 1");
            0
        }
        Some(days) => days,
    };
    Purpose {
        id: raw_purpose.id,
        required: raw_purpose.required,
        title,
        data: raw_purpose.data,
        recipients: raw_purpose.recipients,
        countries: {
            let mut countries = raw_purpose.countries;
            if countries.is_empty() {
                add_missing(&mut countries, &["KZ"]);
            }
            countries
        },
        term_days,
        publication: raw_purpose.publication,
    }
}

/// Appends one `name=value` line to a fingerprint, newlines inside `value` written as `\n`:
/// two texts must never hash like one.
fn push_line(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str("=");
    out.push_str(&one_line(value));
    out.push_str("\n");
}

/// `value` with each newline written as `\n`, so that two texts can never hash like one.
fn one_line(value: &str) -> String {
    split_at(value, b'\n').join("\\n")
}

/// `true` or `false`, as the fingerprints have always spelled booleans.
fn yes_no(value: bool) -> &'static str {
    if value {
        "true"
    } else {
        "false"
    }
}

/// `bar`, `box` or `modal`; reported (and read as the bar) otherwise.
fn parse_layout(problems: &Problems, field: &str, name: &str) -> Layout {
    Layout::from_name(name).unwrap_or_else(|| {
        reject(
            problems,
            field,
            "`{}` is unknown; use bar, box or modal",
            name,
        );
        Layout::Bar
    })
}

fn validate_ui(mut raw: RawUi, problems: &Problems) -> Ui {
    let layout = raw.layout.as_deref().map_or(Layout::Bar, |name| {
        parse_layout(problems, "ui.layout", name)
    });
    let position = match raw.position.as_deref() {
        None if layout == Layout::Box => Position::BottomRight,
        None => Position::Bottom,
        Some(name) => Position::from_name(name).unwrap_or_else(|| {
            reject(
                problems,
                "ui.position",
                "`{}` is unknown; use bottom, top, bottom-left or bottom-right",
                name,
            );
            Position::Bottom
        }),
    };
    let theme = validate_theme(&raw.theme, problems);
    if let Some(variant) = &raw.variant {
        check_id(problems, "ui.variant", variant, 32, true);
        if !raw.variants.is_empty() {
            problems.at("ui.variant", "cannot be set together with `ui.variants` (the variant is then picked per browser)");
        }
    }
    let variants = validate_variants(std::mem::take(&mut raw.variants), problems);
    let reopen = match raw.reopen.as_deref() {
        None => Reopen::Button,
        Some(name) => Reopen::from_name(name).unwrap_or_else(|| {
            reject(
                problems,
                "ui.reopen",
                "`{}` is unknown; use button (kelisim's floating button) or link (the site's own data-kelisim=\"open\" link)",
                name,
            );
            Reopen::Button
        }),
    };
    let reopen_position = match raw.reopen_position.as_deref() {
        None | Some("bottom-left") => Position::BottomLeft,
        Some("bottom-right") => Position::BottomRight,
        Some(other) => {
            reject(
                problems,
                "ui.reopen_position",
                "`{}` is unknown; use bottom-left or bottom-right",
                other,
            );
            Position::BottomLeft
        }
    };
    Ui {
        layout,
        position,
        theme,
        variant: raw.variant,
        hide_from_bots: raw.hide_from_bots,
        variants,
        reopen,
        reopen_position,
    }
}

/// `ui.theme`: hex colours for the five properties (the defaults for the rest) whose text and
/// background pairs meet WCAG AA contrast.
fn validate_theme(raw: &Option<LocalizedText>, problems: &Problems) -> Vec<(String, String)> {
    // Indexed like THEME_DEFAULTS.
    let mut colours: Vec<&str> = Vec::new();
    for &(_, value) in &THEME_DEFAULTS {
        colours.push(value);
    }
    for (key, value) in pairs(raw) {
        let field = ["ui.theme.", key].concat();
        let Some(index) = THEME_DEFAULTS.iter().position(|(name, _)| name == key) else {
            problems.at(
                &field,
                "is unknown; use one of background, text, accent, accent_text, border",
            );
            continue;
        };
        if parse_hex_colour(value).is_none() {
            reject(
                problems,
                &field,
                "\"{}\" must be a hex colour such as \"#0b57a4\"",
                value,
            );
            continue;
        }
        colours[index] = value;
    }
    for &(foreground, background) in &THEME_CONTRAST_PAIRS {
        let ratio = contrast_ratio(colours[foreground], colours[background]);
        if ratio < 4.5 {
            // Tenths, cut rather than rounded: 4.49 is not reported as 4.5.
            let tenths = (ratio * 10.0) as u64;
            problems.at(
                &["ui.theme.", THEME_DEFAULTS[foreground].0].concat(),
                &[
                    "has a contrast of ",
                    &decimal(tenths / 10),
                    ".",
                    &decimal(tenths % 10),
                    ":1 with `",
                    THEME_DEFAULTS[background].0,
                    "`; WCAG AA needs at least 4.5:1",
                ]
                .concat(),
            );
        }
    }
    let mut theme = Vec::new();
    for (index, property) in THEME_PROPERTIES.iter().enumerate() {
        theme.push(((*property).to_owned(), colours[index].to_owned()));
    }
    theme
}

/// `ui.variants`: the banner variants of an A/B test.
fn validate_variants(raw_variants: Vec<RawVariant>, problems: &Problems) -> Vec<Variant> {
    let mut variants: Vec<Variant> = Vec::new();
    for (index, raw_variant) in raw_variants.into_iter().enumerate() {
        let field = index_path("ui.variants", index);
        let sub = |name: &str| field_path(&field, name);
        check_id(problems, &sub("id"), &raw_variant.id, 32, true);
        if variants.iter().any(|v| v.id == raw_variant.id) {
            reject(problems, &sub("id"), "`{}` is used twice", &raw_variant.id);
        }
        let weight = raw_variant.weight.unwrap_or(1);
        if weight == 0 {
            problems.at(&sub("weight"), "must be at least 1");
        }
        let layout = raw_variant
            .layout
            .as_deref()
            .map(|name| parse_layout(problems, &sub("layout"), name));
        let mut texts = Vec::new();
        for (code, overrides) in raw_variant.texts {
            let text_field = [&field, ".texts.", &code].concat();
            let language = parse_language(problems, &text_field, &code);
            check_overrides(problems, &text_field, &overrides);
            texts.push((language, overrides));
        }
        variants.push(Variant {
            id: raw_variant.id,
            weight,
            layout,
            texts,
        });
    }
    variants
}

/// Ids appear in cookies, markup and receipts: keep them to lowercase letters, digits, `-`, `_`
/// (and `.` for site ids, which are often domain names).
fn check_id(problems: &Problems, field: &str, id: &str, max_length: usize, allow_dot: bool) {
    if !crate::ids::is_valid_id(id, max_length, allow_dot) {
        let allowed = if allow_dot {
            "a-z, A-Z, 0-9, '.', '-', '_'"
        } else {
            "a-z, A-Z, 0-9, '-', '_'"
        };
        problems.at(
            field,
            &[
                "\"",
                id,
                "\" must be 1 to ",
                &decimal(max_length as u64),
                " characters of ",
                allowed,
            ]
            .concat(),
        );
    }
}

/// Only `https://`, `http://` or a site-relative path: never `javascript:` or `data:`.
fn check_url(problems: &Problems, field: &str, url: &str) {
    let scheme = |prefix: &str| {
        url.get(..prefix.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
    };
    let absolute = scheme("https://") || scheme("http://");
    let relative = url.starts_with("/") && !url.starts_with("//");
    if !(absolute || relative) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        reject(
            problems,
            field,
            "\"{}\" must be an https:// or http:// URL or a path starting with /",
            url,
        );
    }
}

fn parse_hex_colour(value: &str) -> Option<[f64; 3]> {
    let hex = value.strip_prefix("#")?.as_bytes();
    let digit = |i: usize| char::from(*hex.get(i)?).to_digit(16);
    let mut channels = [0.0; 3];
    for (index, channel) in channels.iter_mut().enumerate() {
        // #rgb doubles each digit (#0af is #00aaff); #rrggbb has two per channel.
        let (high, low) = match hex.len() {
            3 => (digit(index)?, digit(index)?),
            6 => (digit(index * 2)?, digit(index * 2 + 1)?),
            _ => return None,
        };
        *channel = f64::from(high * 16 + low) / 255.0;
    }
    Some(channels)
}

/// `x^2.4` for `x` in 0..=1 with square roots only: `x^2.4 = x^2 · x^0.4`, and 0.4 is
/// 0.0110 0110 0110…₂, so `x^0.4` is the product of `x^(1/2^k)` over its 1-bits (32 bits: a
/// relative error under 1e-9 for the sRGB inputs, 0.089..=1). `powf` would bring libm's `pow`
/// into the wasm module.
fn pow_2_4(x: f64) -> f64 {
    let mut result = x * x;
    let mut root = x;
    for bit in 1..=32 {
        root = root.sqrt();
        // The binary digits of 0.4 repeat 0110.
        if matches!(bit % 4, 2 | 3) {
            result *= root;
        }
    }
    result
}

/// WCAG 2.x contrast ratio of two hex colours (both already validated).
pub fn contrast_ratio(foreground: &str, background: &str) -> f64 {
    let luminance = |colour: &str| {
        let linear = |c: f64| {
            if c <= 0.04045 {
                c / 12.92
            } else {
                pow_2_4((c + 0.055) / 1.055)
            }
        };
        let [r, g, b] = parse_hex_colour(colour).unwrap_or([0.0; 3]);
        0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    };
    let (a, b) = (luminance(foreground), luminance(background));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

impl Config {
    /// Every text a visitor sees in `language`, in a fixed order, one `name=value` per line:
    /// what a receipt's `texts_hash` is the SHA-256 of, so a receipt proves the exact wording
    /// shown (interface texts, categories, services, operator, policy link, expiry).
    pub fn texts_fingerprint(&self, language: Language) -> String {
        let mut out = String::new();
        let mut line = |name: &str, value: &str| push_line(&mut out, name, value);
        line("language", language.code());
        for (name, value) in self.texts(language).entries() {
            // The texts of confirmed forms belong to those forms (`form_fingerprint`).
            if crate::config::Confirmation::of_text(name).is_none() {
                line(name, value);
            }
        }
        line("operator", self.operator.name(language));
        line("bin", &self.operator.bin);
        line("address", self.operator.address(language));
        line("email", &self.operator.email);
        line("policy_url", self.policy_url(language));
        line("policy_version", &self.policy_version);
        line("expiry_days", &decimal(self.expiry_days.into()));
        for category in &self.categories {
            let texts = category.texts(language);
            line("category", &category.id);
            line("title", &texts.title);
            line("description", &texts.description);
            line("refusal", texts.refusal.as_deref().unwrap_or(""));
            for service in &category.services {
                line("service", &service.id);
                line("name", &service.name);
                line("country", &service.country);
                line("data", &service.data.join(","));
                line("cookies", &service.cookies.join(","));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn reject_puts_the_value_into_the_message_as_given() {
        let problems = super::Problems::default();
        super::reject(
            &problems,
            "operator.bin",
            "is \"{}\"; a BIN is exactly 12 digits",
            "{}12",
        );
        let error = problems.into_result(()).unwrap_err();
        assert_eq!(error.field, "operator.bin");
        assert_eq!(error.message, "is \"{}12\"; a BIN is exactly 12 digits");
    }

    #[test]
    fn one_line_escapes_every_newline() {
        assert_eq!(super::one_line("a\nb\n"), "a\\nb\\n");
        assert_eq!(super::one_line("Қазақстан"), "Қазақстан");
    }

    #[test]
    fn hex_colours() {
        use super::parse_hex_colour;
        assert_eq!(parse_hex_colour("#ffffff"), Some([1.0, 1.0, 1.0]));
        assert_eq!(parse_hex_colour("#0af"), parse_hex_colour("#00aaff"));
        assert_eq!(
            parse_hex_colour("#0B57a4"),
            Some([11.0 / 255.0, 87.0 / 255.0, 164.0 / 255.0])
        );
        for bad in [
            "0b57a4",
            "#",
            "#12",
            "#1234",
            "#12345g",
            "#ggg",
            "#ффф",
            "#0b57a4ff",
        ] {
            assert_eq!(parse_hex_colour(bad), None, "{bad}");
        }
    }

    #[test]
    fn pow_2_4_matches_powf() {
        // The inputs of the sRGB curve: (c + 0.055) / 1.055 for c above 0.04045.
        for step in 0..=1000 {
            let x = 0.089 + 0.911 * f64::from(step) / 1000.0;
            let (ours, std) = (super::pow_2_4(x), x.powf(2.4));
            assert!((ours - std).abs() <= 1e-9 * std, "{x}: {ours} vs {std}");
        }
    }
}

/// What a compiled config resolved ahead for its language.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Resolved {
    pub language: Option<Language>,
    /// The compiled config's id: a receipt's `config_id`.
    pub config_id: String,
    /// A banner receipt's `texts_hash`: of the texts the banner shows (the variant's, if one
    /// is shown).
    pub texts_hash: String,
    /// The stylesheet with the site's theme.
    pub style: String,
    /// The rules of the preferences dialog only, when they came apart from `style` (a served
    /// config laid over with its preferences document).
    pub preferences_style: String,
    /// Country codes and their names in this language.
    pub country_names: Vec<(String, String)>,
    /// `texts_hash` of each form, by form id.
    pub form_hashes: Vec<(String, String)>,
    /// `ui.variant` is the pick of an A/B test, which a browser keeps so that every page and
    /// every receipt agree.
    pub variant_picked: bool,
}

/// What a config that was not compiled resolved: nothing.
static NOTHING_RESOLVED: Resolved = Resolved {
    language: None,
    config_id: String::new(),
    texts_hash: String::new(),
    style: String::new(),
    preferences_style: String::new(),
    country_names: Vec::new(),
    form_hashes: Vec::new(),
    variant_picked: false,
};

impl Resolved {
    /// The name of a country code (the code itself when the config did not name it).
    pub fn country_name<'a>(&'a self, code: &'a str) -> &'a str {
        lookup(&self.country_names, code).unwrap_or(code)
    }

    /// The `texts_hash` of a form's receipt.
    pub fn form_hash(&self, form: &str) -> Option<&str> {
        lookup(&self.form_hashes, form)
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
}

pub(crate) fn lookup<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(known, _)| known == key)
        .map(|(_, value)| value.as_str())
}
