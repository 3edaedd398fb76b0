//! Reading a compiled config (`kelisim-compiled/1`, written by `compile`) into a [`Config`]
//! for the one language it was compiled for: what the browser modules do instead of
//! validating a raw config. Nothing is checked but the shape of what is read (the compiler
//! checked the rest; fields the runtime does not read, such as a newer compiler's, are
//! ignored); a wrong format or a broken structure is one `ConfigError` naming the field, and the
//! caller shows nothing. The runtime's reader checks the layers' node trees for what could
//! run or load; the forms module's reads neither them nor the categories and the interface.
//!
//! The reader walks any [`Node`]: core's [`Value`] natively, and in the browser the JS object
//! the page gave, read where it is (copying it into a `Value` first cost the runtime module
//! a second reader). Paths are only written out for the one error reported.
//!
//! Owns [`FORMAT`] and the field lists of the compiled format (the compiler's serde structs must
//! match them: a test compares). What a compiled config resolved ahead (names from the built-in
//! tables, hashes of the texts, so the runtime needs no tables and no SHA-256) is kept in the
//! config as `config::Resolved`.

use crate::config::{
    lookup, Category, Config, ConfigError, Form, Layout, Operator, PerLanguage, Position, Purpose,
    Reopen, Resolved, Service, Ui, Vendor,
};
use crate::language::Language;
use crate::texts::{CategoryTexts, Texts};
use crate::value::{field_path, index_path, Value};
use std::cell::RefCell;

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
pub const COMPILED_FORM_FIELDS: &[&str] =
    &["id", "confirm", "texts", "texts_hash", "purposes", "block"];
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

/// A JSON-shaped value the reader walks where it is.
pub trait Node: Clone {
    /// Field `name` of an object; `None` when it is absent or `null`, or this is no object.
    fn field(&self, name: &str) -> Option<Self>;
    /// Whether this is an object (not an array).
    fn is_object(&self) -> bool;
    /// The items of an array; `None` when this is not one.
    fn items(&self) -> Option<Vec<Self>>;
    fn text(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    /// An object's own fields in order; `None` when this is no object.
    fn entries(&self) -> Option<Vec<(String, Self)>>;
    /// Whether this is a node tree a layer may have, when the caller checks that itself by
    /// [`is_layer_tag`], [`is_layer_attribute`] and [`MAX_LAYER_DEPTH`] (the browser, with the
    /// walk that also builds the layers); `None`: the reader checks it, naming the node.
    fn layer_tree_allowed(&self) -> Option<bool> {
        None
    }
}

impl Node for &Value {
    fn field(&self, name: &str) -> Option<Self> {
        match self {
            Value::Object(fields) => fields
                .iter()
                .find(|(field, _)| field == name)
                .map(|(_, value)| value)
                .filter(|value| !matches!(value, Value::Null)),
            _ => None,
        }
    }
    fn is_object(&self) -> bool {
        matches!(self, Value::Object(_))
    }
    fn items(&self) -> Option<Vec<Self>> {
        match self {
            Value::Array(items) => Some(items.iter().collect()),
            _ => None,
        }
    }
    fn text(&self) -> Option<String> {
        match self {
            Value::String(text) => Some(text.clone()),
            _ => None,
        }
    }
    fn number(&self) -> Option<f64> {
        match self {
            Value::Number(number) => Some(*number),
            _ => None,
        }
    }
    fn boolean(&self) -> Option<bool> {
        match self {
            Value::Bool(value) => Some(*value),
            _ => None,
        }
    }
    fn entries(&self) -> Option<Vec<(String, Self)>> {
        match self {
            Value::Object(fields) => Some(
                fields
                    .iter()
                    .map(|(name, value)| (name.clone(), value))
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// Where a value is, written out only for an error: `categories[1].services[0]`.
#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Field(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    fn render(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Field(parent, name) => field_path(&parent.render(), name),
            Path::Index(parent, index) => index_path(&parent.render(), *index),
        }
    }
}

/// The first problem found; reading goes on with empty values, and later problems (which
/// mostly follow from the first) are left out.
#[derive(Default)]
struct Failure(RefCell<Option<ConfigError>>);

impl Failure {
    fn at(&self, path: &Path, message: &str) {
        let mut first = self.0.borrow_mut();
        if first.is_none() {
            let field = path.render();
            *first = Some(ConfigError::new(
                if field.is_empty() { "config" } else { &field },
                message,
            ));
        }
    }

    fn into_result<T>(self, value: T) -> Result<T, ConfigError> {
        match self.0.into_inner() {
            None => Ok(value),
            Some(error) => Err(error),
        }
    }
}

/// An object being read at `path` (`None`: it was missing or not an object, which was
/// reported; its fields read as absent).
struct Object<'a, N> {
    node: Option<N>,
    path: Path<'a>,
    failure: &'a Failure,
}

impl<'a, N: Node> Object<'a, N> {
    fn new(node: N, path: Path<'a>, failure: &'a Failure) -> Object<'a, N> {
        if !node.is_object() {
            failure.at(&path, "must be an object");
            return Object {
                node: None,
                path,
                failure,
            };
        }
        Object {
            node: Some(node),
            path,
            failure,
        }
    }

    fn get(&self, name: &str) -> Option<N> {
        self.node.as_ref()?.field(name)
    }

    fn fail(&self, name: &str, message: &str) {
        self.failure.at(&Path::Field(&self.path, name), message);
    }

    /// A required field, reported missing when absent.
    fn required(&self, name: &str) -> Option<N> {
        let value = self.get(name);
        if value.is_none() {
            self.fail(name, "is missing");
        }
        value
    }

    fn string(&self, name: &str) -> String {
        self.required(name)
            .map(|value| self.as_string(name, &value))
            .unwrap_or_default()
    }

    fn optional_string(&self, name: &str) -> Option<String> {
        self.get(name).map(|value| self.as_string(name, &value))
    }

    fn as_string(&self, name: &str, value: &N) -> String {
        value.text().unwrap_or_else(|| {
            self.fail(name, "must be a string");
            String::new()
        })
    }

    fn boolean(&self, name: &str) -> bool {
        let value = self.required(name);
        value
            .as_ref()
            .map(|value| {
                value.boolean().unwrap_or_else(|| {
                    self.fail(name, "must be true or false");
                    false
                })
            })
            .unwrap_or(false)
    }

    fn whole_number(&self, name: &str) -> u32 {
        let number = self.required(name).map(|value| value.number());
        match number {
            None => 0,
            Some(Some(number))
                if number.fract() == 0.0 && (0.0..=4_294_967_295.0).contains(&number) =>
            {
                number as u32
            }
            Some(_) => {
                self.fail(name, "must be a whole number from 0 to 4294967295");
                0
            }
        }
    }

    /// A required object field, read by `read`.
    fn object<R>(&self, name: &str, read: impl FnOnce(Object<'_, N>) -> R) -> R {
        let path = Path::Field(&self.path, name);
        match self.required(name) {
            Some(value) => read(Object::new(value, path, self.failure)),
            None => read(Object {
                node: None,
                path,
                failure: self.failure,
            }),
        }
    }

    /// The items of an array field (absent: none) with the array's path.
    fn array<'s>(&'s self, name: &'s str) -> Items<'s, N> {
        let path = Path::Field(&self.path, name);
        let items = match self.get(name) {
            None => Vec::new(),
            Some(value) => value.items().unwrap_or_else(|| {
                self.failure.at(&path, "must be an array");
                Vec::new()
            }),
        };
        Items {
            path,
            items,
            failure: self.failure,
        }
    }

    /// An array of strings; absent means empty.
    fn strings(&self, name: &str) -> Vec<String> {
        let array = self.array(name);
        let mut strings = Vec::new();
        for (index, item) in array.items.iter().enumerate() {
            strings.push(item.text().unwrap_or_else(|| {
                array.failure.at(&array.path(index), "must be a string");
                String::new()
            }));
        }
        strings
    }
}

/// The items of an array field being read.
struct Items<'a, N> {
    path: Path<'a>,
    items: Vec<N>,
    failure: &'a Failure,
}

impl<'a, N: Node> Items<'a, N> {
    fn path(&self, index: usize) -> Path<'_> {
        Path::Index(&self.path, index)
    }

    /// The items as objects, each with its path.
    fn objects(&self) -> impl Iterator<Item = Object<'_, N>> {
        self.items
            .iter()
            .enumerate()
            .map(|(index, item)| Object::new(item.clone(), self.path(index), self.failure))
    }
}

/// The tags a layer may have: what the compiler writes, and nothing that runs or loads.
const LAYER_TAGS: &[&str] = &[
    "div", "p", "h2", "h3", "span", "strong", "a", "button", "input", "label", "section",
    "details", "summary", "ul", "li", "dl", "dt", "dd",
];

/// Whether a layer may have the element `tag`.
pub fn is_layer_tag(tag: &str) -> bool {
    LAYER_TAGS.contains(&tag)
}

/// Whether a layer's element may have the attribute `name` with `value`: a name
/// `setAttribute` takes (lowercase letters, digits, `-`) that is no event handler, and a link
/// only to http(s) or the site itself.
pub fn is_layer_attribute(name: &str, value: &str) -> bool {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-');
    let link = name != "href"
        || value.starts_with("https://")
        || value.starts_with("http://")
        || (value.starts_with('/') && !value.starts_with("//"));
    plain && !name.starts_with("on") && link
}

/// Deeper than this is not a layer (and a cyclic JS array stops here).
pub const MAX_LAYER_DEPTH: usize = 32;

/// Checks a layer's node tree: known tags, attributes with plain names and text values, no
/// event handler attribute, links to http(s) or the site itself. A tree that fails is reported
/// and the config refused: a tampered compiled config shows nothing rather than run a handler.
/// The reader's own check, naming the node; the browser checks by the walk that builds the
/// layers ([`Node::layer_tree_allowed`]).
fn check_tree<N: Node>(tree: &N, path: &Path, failure: &Failure, depth: usize) {
    let items = tree.items().unwrap_or_default();
    let tag = items.first().and_then(Node::text);
    let attributes = items.get(1).and_then(Node::entries);
    let (Some(tag), Some(attributes)) = (tag, attributes) else {
        return failure.at(path, "is not a node of a layer");
    };
    if depth > MAX_LAYER_DEPTH {
        return failure.at(path, "is not a node of a layer");
    }
    if !is_layer_tag(&tag) {
        return failure.at(path, "has a tag a layer does not use");
    }
    for (name, value) in &attributes {
        let Some(value) = value.text() else {
            return failure.at(path, "has an attribute that is not text");
        };
        if !is_layer_attribute(name, &value) {
            return failure.at(path, "has an attribute a layer does not use");
        }
    }
    for (index, child) in items.iter().enumerate().skip(2) {
        if child.text().is_none() {
            check_tree(child, &Path::Index(path, index), failure, depth + 1);
        }
    }
}

/// Checks the `layers` object of `object` (the config's, or a variant's): both trees. The
/// preferences' tree may be apart (the body names where, in `preferences_href`): it is checked
/// when the body laid over with it is read.
fn check_layers<N: Node>(object: &Object<'_, N>, preferences_apart: bool) {
    object.object("layers", |layers| {
        for name in ["banner", "preferences"] {
            let tree = match name {
                "preferences" if preferences_apart => layers.get(name),
                _ => layers.required(name),
            };
            if let Some(tree) = tree {
                check_tree_field(&layers, name, &tree);
            }
        }
    });
}

/// Checks the node tree `tree` in field `name` of `object` (a layer, a form's block): by the
/// browser's own walk where there is one, else by [`check_tree`].
fn check_tree_field<N: Node>(object: &Object<'_, N>, name: &str, tree: &N) {
    let path = Path::Field(&object.path, name);
    match tree.layer_tree_allowed() {
        Some(true) => {}
        Some(false) => object
            .failure
            .at(&path, "is not a node tree a layer may have"),
        None => check_tree(tree, &path, object.failure, 0),
    }
}

/// The node tree of the consent block of purpose set `set` (a form's `block`) in a compiled
/// config the forms reader accepted ([`Config::from_compiled_for_forms`]).
pub fn form_block_of<N: Node>(compiled: &N, set: &str) -> Option<N> {
    compiled
        .field("forms")?
        .items()?
        .into_iter()
        .find(|form| form.field("id").and_then(|id| id.text()).as_deref() == Some(set))?
        .field("block")
}

/// The banner and preferences node trees (`[tag, {attribute: value, …}, child, …]`, a child
/// being a tree or a text) of a compiled config the reader accepted, for the banner variant
/// shown (the config's own when `variant` is `None` or not one of its variants). The
/// preferences' tree is `None` while it is apart (see [`preferences_apart`]).
pub fn layers_of<N: Node>(compiled: &N, variant: Option<&str>) -> Option<(N, Option<N>)> {
    let of_variant = variant.and_then(|variant| {
        compiled
            .field("variants")?
            .items()?
            .into_iter()
            .find(|item| item.field("id").and_then(|id| id.text()).as_deref() == Some(variant))
    });
    let layers = of_variant
        .unwrap_or_else(|| compiled.clone())
        .field("layers")?;
    Some((layers.field("banner")?, layers.field("preferences")))
}

/// Whether the preferences dialog's tree of a compiled config the reader accepted is apart
/// (at its `preferences_href`): the body has to be laid over with it before the dialog opens.
pub fn preferences_apart<N: Node>(compiled: &N) -> bool {
    compiled
        .field("layers")
        .is_some_and(|layers| layers.field("preferences").is_none())
}

/// Remembers `key`'s value once.
fn remember(pairs: &mut Vec<(String, String)>, key: String, value: String) {
    if lookup(pairs, &key).is_none() {
        pairs.push((key, value));
    }
}

impl Config {
    /// Reads a compiled config for its one language. The format must be [`FORMAT`]; every
    /// field read must be there with its type; the layers' trees are checked. With banner
    /// variants, the config's own banner is the one read (see
    /// [`Config::from_compiled_showing`]).
    pub fn from_compiled<N: Node>(value: N) -> Result<Config, ConfigError> {
        Config::from_compiled_showing(value, None, 0.0)
    }

    /// [`Config::from_compiled`] for a browser, which shows one banner variant of an A/B test
    /// (`variants`): the one `kept` names when it is one of them, else one picked by weight
    /// for `random` in `[0, 1)`. The variant's layout, texts and fingerprint are read as the
    /// config's, `ui.variant` names it and `Resolved::variant_picked` says to keep it. Every
    /// variant's trees are checked all the same.
    pub fn from_compiled_showing<N: Node>(
        value: N,
        kept: Option<&str>,
        random: f64,
    ) -> Result<Config, ConfigError> {
        check_format(&value)?;
        let failure = Failure::default();
        let config = read(value, &failure, kept, random);
        failure.into_result(config)
    }

    /// Reads a compiled config for the forms module: what both modules read and the forms
    /// ([`Config::read_compiled_forms`]), not the categories, the interface, the banner
    /// variants or the layers' trees, which only the runtime reads and shows; so the forms
    /// module does not carry their reader.
    pub fn from_compiled_for_forms<N: Node>(value: N) -> Result<Config, ConfigError> {
        check_format(&value)?;
        let failure = Failure::default();
        // No categories, and an interface that stands for none: the forms module shows
        // neither.
        let mut config = read_base(
            &Object::new(value.clone(), Path::Root, &failure),
            |_, _, _| {
                let ui = Ui {
                    layout: Layout::Bar,
                    position: Position::Bottom,
                    theme: Vec::new(),
                    variant: None,
                    hide_from_bots: false,
                    variants: Vec::new(),
                    reopen: Reopen::Button,
                    reopen_position: Position::BottomRight,
                };
                (Vec::new(), ui)
            },
        );
        read_forms(&mut config, value, &failure);
        failure.into_result(config)
    }
}

/// The format first: nothing else of another format (or of a raw kelisim.json) means anything
/// to the readers, and the one error should say so rather than name a field.
fn check_format<N: Node>(value: &N) -> Result<(), ConfigError> {
    let format = value.field("format").and_then(|format| format.text());
    if format.as_deref() == Some(FORMAT) {
        return Ok(());
    }
    Err(ConfigError::new(
        "format",
        &[
            "is not \"",
            FORMAT,
            "\": this is not a compiled config this version of kelisim reads (a raw kelisim.json goes through the compiler)",
        ].concat(),
    ))
}

fn read<N: Node>(value: N, failure: &Failure, kept: Option<&str>, random: f64) -> Config {
    let top = Object::new(value, Path::Root, failure);
    // What only the layers show (the first layer's notes, the cross-border list, the term in
    // words, each service's data and each category's description) is in their node trees;
    // the runtime builds them from the config object itself (`layers_of`).
    let preferences_apart = top.optional_string("preferences_href").is_some();
    check_layers(&top, preferences_apart);
    read_base(&top, |language, resolved, texts| {
        let categories = read_categories(&top, language, resolved);
        let mut ui = read_ui(&top);

        // The banner variants: each one's trees checked, the one shown read over the config's
        // banner (its layers are taken from the config object by `layers_of`).
        let variants = top.array("variants");
        let variants: Vec<Object<'_, N>> = variants.objects().collect();
        let mut ids = Vec::new();
        let mut weights = Vec::new();
        for variant in &variants {
            check_layers(variant, preferences_apart);
            ids.push(variant.string("id"));
            weights.push(variant.whole_number("weight"));
        }
        let shown = ids
            .iter()
            .position(|id| Some(id.as_str()) == kept)
            .or_else(|| crate::config::pick_by_weight(&weights, random));
        if let Some((variant, id)) = shown.and_then(|index| variants.get(index).zip(ids.get(index)))
        {
            if let Some(name) = variant.optional_string("layout") {
                ui.layout = layout(variant, "layout", &name);
            }
            variant.object("texts", |overrides| {
                texts.set_each(&crate::texts::RUNTIME_TEXTS, |name| {
                    overrides.optional_string(name)
                });
            });
            resolved.texts_hash = variant.string("texts_hash");
            resolved.variant_picked = true;
            ui.variant = Some(id.clone());
        }
        (categories, ui)
    })
}

/// What both browser modules read: the site, its languages, the operator, the policy, the
/// receipts endpoint, the cookie's settings, the stylesheet and the texts the runtime uses
/// itself, with the config's id and fingerprint; `rest` reads the categories and the interface (the runtime's
/// alone) in the config's language, adding to what was resolved and to those texts.
fn read_base<N: Node>(
    top: &Object<'_, N>,
    rest: impl FnOnce(Language, &mut Resolved, &mut Texts) -> (Vec<Category>, Ui),
) -> Config {
    let language = top_language(top, "language");
    let mut languages = Vec::new();
    let codes = top.array("languages");
    for (index, item) in codes.items.iter().enumerate() {
        languages.push(match item.text().and_then(|code| code.parse().ok()) {
            Some(language) => language,
            None => {
                codes
                    .failure
                    .at(&codes.path(index), "must be a language code");
                Language::Kk
            }
        });
    }
    let default_language = top_language(top, "default_language");
    let mut resolved = Resolved {
        language: Some(language),
        config_id: top.string("config_id"),
        texts_hash: top.string("texts_hash"),
        style: top.string("style"),
        preferences_style: top.optional_string("preferences_style").unwrap_or_default(),
        ..Resolved::default()
    };
    let operator = read_operator(top, language);
    // Only the texts the runtime uses: the rest are in the layers.
    let mut runtime_texts = Texts::empty();
    top.object("texts", |texts| {
        runtime_texts.set_each(&crate::texts::RUNTIME_TEXTS, |name| {
            Some(texts.string(name))
        });
    });
    let mut policy_urls = PerLanguage::default();
    policy_urls.set(language, top.string("policy_url"));
    let (categories, ui) = rest(language, &mut resolved, &mut runtime_texts);
    let mut texts = PerLanguage::default();
    texts.set(language, runtime_texts);
    Config {
        site: top.string("site"),
        operator,
        policy_version: top.string("policy_version"),
        revision: top.whole_number("revision"),
        expiry_days: top.whole_number("expiry_days"),
        languages,
        default_language,
        categories,
        endpoint: top.optional_string("endpoint"),
        gpc: top.boolean("gpc"),
        ui,
        // The forms are the forms module's (`read_forms`).
        forms: Vec::new(),
        cookie_domain: top.optional_string("cookie_domain"),
        policy_urls,
        texts,
        resolved: Some(Box::new(resolved)),
    }
}

/// The operator, named in the one language the config was compiled for, with its BIN: what
/// a receipt states. Its email and address are for the forms module (`read_forms`).
fn read_operator<N: Node>(top: &Object<'_, N>, language: Language) -> Operator {
    top.object("operator", |operator| {
        let mut names = PerLanguage::default();
        names.set(language, operator.string("name"));
        Operator {
            names,
            bin: operator.string("bin"),
            email: String::new(),
            addresses: PerLanguage::default(),
        }
    })
}

/// The categories and their services (each service's country name is remembered).
fn read_categories<N: Node>(
    top: &Object<'_, N>,
    language: Language,
    resolved: &mut Resolved,
) -> Vec<Category> {
    let mut categories = Vec::new();
    for category in top.array("categories").objects() {
        let mut services = Vec::new();
        for service in category.array("services").objects() {
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
                    service.fail("vendor", "is not a vendor kelisim knows");
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
            required: category.boolean("required"),
            default_on: category.boolean("default"),
            services,
            texts: category_texts,
        });
    }
    categories
}

fn read_ui<N: Node>(top: &Object<'_, N>) -> Ui {
    top.object("ui", |ui| {
        let position = |field: &str| {
            Position::from_name(&ui.string(field)).unwrap_or_else(|| {
                ui.fail(field, "is not a position");
                Position::Bottom
            })
        };
        Ui {
            layout: layout(&ui, "layout", &ui.string("layout")),
            position: position("position"),
            // The theme is in the compiled stylesheet.
            theme: Vec::new(),
            variant: ui.optional_string("variant"),
            hide_from_bots: ui.boolean("hide_from_bots"),
            // A compiled config names its variants, read in `read`.
            variants: Vec::new(),
            reopen: Reopen::from_name(&ui.string("reopen")).unwrap_or_else(|| {
                ui.fail("reopen", "is not button or link");
                Reopen::Button
            }),
            reopen_position: position("reopen_position"),
        }
    })
}

impl Config {
    /// Reads what only forms use into a config [`Config::from_compiled`] read from the same
    /// `value`: the forms (ids, ways to confirm, fingerprints, the purposes a receipt states,
    /// the texts of their confirmation steps) and checks each form's block, which states the
    /// rest. The runtime does not use them, so the runtime module does not carry this reader;
    /// the forms module reads them with what it needs of the rest
    /// ([`Config::from_compiled_for_forms`]).
    pub fn read_compiled_forms<N: Node>(&mut self, value: N) -> Result<(), ConfigError> {
        let failure = Failure::default();
        read_forms(self, value, &failure);
        failure.into_result(())
    }
}

fn read_forms<N: Node>(config: &mut Config, value: N, failure: &Failure) {
    let top = Object::new(value, Path::Root, failure);
    let language = config
        .resolved()
        .language
        .unwrap_or(config.default_language);
    let forms = top.array("forms");
    let resolved = config.resolved.get_or_insert_with(Box::default);
    config.forms.clear();
    for form in forms.objects() {
        let id = form.string("id");
        let confirm = form.optional_string("confirm").and_then(|text| {
            let confirm = crate::config::Confirmation::parse(&text);
            if confirm.is_none() {
                form.fail("confirm", "is not a way to confirm");
            }
            confirm
        });
        remember(
            &mut resolved.form_hashes,
            id.clone(),
            form.string("texts_hash"),
        );
        if let Some(texts) = config.texts.get_mut(language) {
            form.object_if_present("texts", |confirmation| {
                texts.set_named(|name| confirmation.optional_string(name));
            });
        }
        // What a receipt of the form states; the block states the rest, as written.
        let mut purposes = Vec::new();
        for purpose in form.array("purposes").objects() {
            let mut countries = Vec::new();
            for country in purpose.array("countries").objects() {
                countries.push(country.string("code"));
            }
            purposes.push(Purpose {
                id: purpose.string("id"),
                required: purpose.boolean("required"),
                title: PerLanguage::default(),
                data: Vec::new(),
                recipients: Vec::new(),
                countries,
                term_days: purpose.whole_number("term_days"),
                publication: false,
            });
        }
        if let Some(block) = form.required("block") {
            check_tree_field(&form, "block", &block);
        }
        config.forms.push(Form {
            id,
            confirm,
            purposes,
        });
    }
}

impl<'a, N: Node> Object<'a, N> {
    /// An optional object field, read by `read` when present.
    fn object_if_present(&self, name: &str, read: impl FnOnce(Object<'_, N>)) {
        if let Some(value) = self.get(name) {
            read(Object::new(
                value,
                Path::Field(&self.path, name),
                self.failure,
            ));
        }
    }
}

fn layout<N: Node>(object: &Object<'_, N>, field: &str, name: &str) -> Layout {
    Layout::from_name(name).unwrap_or_else(|| {
        object.fail(field, "is not a layout");
        Layout::Bar
    })
}

fn top_language<N: Node>(top: &Object<'_, N>, field: &str) -> Language {
    top.string(field).parse().unwrap_or_else(|()| {
        top.fail(field, "is not a language kelisim has texts for");
        Language::Kk
    })
}
