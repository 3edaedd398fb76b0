//! A JSON-shaped value tree and a reader that walks it with the path of every field, so a
//! config error can name `categories[1].services[0].country` exactly; and [`ConfigError`], one
//! problem of a config.
//!
//! A raw `kelisim.json` is read from a `Value` (built with serde through the `serde` feature,
//! natively and in the compiler module); the browser modules read compiled configs where they
//! are (`compiled::Node`). Why not serde derive for the raw config: this reader goes on past a
//! problem and names its path, so one pass reports every problem.

use crate::strings::decimal;
use std::cell::RefCell;

/// One invalid field of a config: `field` is a path such as `categories[1].services[0].country`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// Path of the field, in the config's own names.
    pub field: String,
    /// What is wrong and what would be valid, lowercase.
    pub message: String,
    /// What was probably meant: a field name one edit away, `RU` for "Russia".
    pub suggestion: Option<String>,
}

impl ConfigError {
    pub(crate) fn new(field: &str, message: &str) -> Self {
        ConfigError {
            field: field.to_owned(),
            message: message.to_owned(),
            suggestion: None,
        }
    }

    /// "kelisim config: `field` message", the text of `Display`, built without the formatting
    /// machinery so the browser module can log it without carrying `core::fmt`.
    pub fn describe(&self) -> String {
        let mut text = ["kelisim config: `", &self.field, "` ", &self.message].concat();
        if let Some(suggestion) = &self.suggestion {
            text.push_str(&[" (did you mean `", suggestion, "`?)"].concat());
        }
        text
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl std::error::Error for ConfigError {}

/// A JSON value. Objects keep their fields in order.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Value>),
    Object(Vec<(String, Value)>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

/// Every problem found while reading and validating one config.
///
/// Reading goes on after a problem, with empty values in place of the bad ones, so one pass
/// finds every problem and no check has to return early and unwind half-built values. A
/// problem at a
/// field that already has one, or inside it, is left out: it follows from the first (a
/// category that is not an object has no `id` either).
#[derive(Debug, Default)]
pub struct Problems(RefCell<Vec<ConfigError>>);

impl Problems {
    /// Keeps `error` unless its field, or a field holding it, was reported already.
    pub fn report(&self, error: ConfigError) {
        let mut all = self.0.borrow_mut();
        if !all
            .iter()
            .any(|known| is_within(&error.field, &known.field))
        {
            all.push(error);
        }
    }

    /// Reports `message` at `field`.
    pub fn at(&self, field: &str, message: &str) {
        self.report(ConfigError::new(field, message));
    }

    /// Whether a problem was found already.
    pub fn found(&self) -> bool {
        !self.0.borrow().is_empty()
    }

    /// `value`, or the first problem when there was one.
    pub fn into_result<T>(self, value: T) -> Result<T, ConfigError> {
        match self.0.into_inner().into_iter().next() {
            None => Ok(value),
            Some(error) => Err(error),
        }
    }

    /// `value`, or every problem in the order found.
    pub fn into_all<T>(self, value: T) -> Result<T, Vec<ConfigError>> {
        let all = self.0.into_inner();
        if all.is_empty() {
            Ok(value)
        } else {
            Err(all)
        }
    }
}

/// Whether `field` is `outer` or a field inside it (`categories[1].id` is within
/// `categories[1]`, not within `categories[10]`). Every field is within `config`, the config
/// as a whole (not an object, not JSON).
fn is_within(field: &str, outer: &str) -> bool {
    if outer == "config" {
        return true;
    }
    match field.strip_prefix(outer) {
        Some(rest) => rest.is_empty() || rest.starts_with('.') || rest.starts_with('['),
        None => false,
    }
}

/// An object being read: knows its path and which fields it may have, and reports what is
/// wrong to the config's [`Problems`].
pub struct Fields<'a> {
    path: String,
    fields: &'a [(String, Value)],
    problems: &'a Problems,
}

/// The path of field `name` inside the object at `path` (`categories[1]` + `id`).
pub fn field_path(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        [path, ".", name].concat()
    }
}

fn wrong_type(path: &str, expected: &str, value: &Value) -> ConfigError {
    let field = if path.is_empty() { "config" } else { path };
    ConfigError::new(
        field,
        &["must be ", expected, ", not ", value.kind()].concat(),
    )
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object at `path` whose fields must all be in `allowed`. Anything
    /// else is reported and read as an object without fields.
    pub fn new(
        value: &'a Value,
        path: &str,
        allowed: &[&str],
        problems: &'a Problems,
    ) -> Fields<'a> {
        let read = Fields::unchecked(value, path, problems);
        for (name, _) in read.fields {
            if !allowed.contains(&name.as_str()) {
                let mut error = ConfigError::new(
                    &field_path(path, name),
                    &[
                        "is not a known field; the fields here are: ",
                        &allowed.join(", "),
                    ]
                    .concat(),
                );
                error.suggestion = crate::suggest::closest(name, allowed).map(str::to_owned);
                problems.report(error);
            }
        }
        read
    }

    /// Reads `value` as an object at `path`, its fields not yet checked against a list
    /// ([`Fields::new`] checks them).
    fn unchecked(value: &'a Value, path: &str, problems: &'a Problems) -> Fields<'a> {
        let fields: &'a [(String, Value)] = match value {
            Value::Object(fields) => fields,
            other => {
                problems.report(wrong_type(path, "an object", other));
                &[]
            }
        };
        Fields {
            path: path.to_owned(),
            fields,
            problems,
        }
    }

    /// An object without fields at `path` (stands in for a missing one).
    pub fn empty(path: &str, problems: &'a Problems) -> Fields<'a> {
        Fields {
            path: path.to_owned(),
            fields: &[],
            problems,
        }
    }

    pub fn path(&self, name: &str) -> String {
        field_path(&self.path, name)
    }

    /// The config's problems, for checks made while reading.
    pub fn problems(&self) -> &'a Problems {
        self.problems
    }

    /// A field's value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
            .filter(|value| !matches!(value, Value::Null))
    }

    /// A required string; reports it missing and reads `""` when absent.
    pub fn string(&self, name: &str) -> String {
        match self.get(name) {
            Some(value) => self.as_string(&self.path(name), value),
            None => {
                self.problems.at(&self.path(name), "is missing");
                String::new()
            }
        }
    }

    pub fn optional_string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|value| self.as_string(&self.path(name), value))
    }

    pub fn bool_or(&self, name: &str, default: bool) -> bool {
        match self.get(name) {
            None => default,
            Some(Value::Bool(value)) => *value,
            Some(other) => {
                self.problems
                    .report(wrong_type(&self.path(name), "true or false", other));
                default
            }
        }
    }

    pub fn optional_u32(&self, name: &str) -> Option<u32> {
        match self.get(name) {
            None => None,
            Some(Value::Number(number))
                if number.fract() == 0.0 && (0.0..=4_294_967_295.0).contains(number) =>
            {
                Some(*number as u32)
            }
            Some(other) => {
                self.problems.report(wrong_type(
                    &self.path(name),
                    "a whole number from 0 to 4294967295",
                    other,
                ));
                None
            }
        }
    }

    /// An array field, each item with its own path (`name[i]`); absent means empty.
    pub fn array(&self, name: &str) -> Vec<(String, &'a Value)> {
        let mut items = Vec::new();
        match self.get(name) {
            None => {}
            Some(Value::Array(values)) => {
                let path = self.path(name);
                for (index, item) in values.iter().enumerate() {
                    items.push((index_path(&path, index), item));
                }
            }
            Some(other) => self
                .problems
                .report(wrong_type(&self.path(name), "an array", other)),
        }
        items
    }

    /// An array of strings; absent means empty.
    pub fn strings(&self, name: &str) -> Vec<String> {
        let mut strings = Vec::new();
        for (path, item) in &self.array(name) {
            strings.push(self.as_string(path, item));
        }
        strings
    }

    /// An object of strings keyed by anything (`{"kk": "...", "ru": "..."}`), in order.
    pub fn string_map(&self, name: &str) -> Option<Vec<(String, String)>> {
        let entries = self.entries(name)?;
        let mut map = Vec::new();
        for (path, key, item) in &entries {
            map.push(((*key).to_owned(), self.as_string(path, item)));
        }
        Some(map)
    }

    /// A required text given once (a string, kept under the empty key) or per language (an
    /// object of strings); missing is reported and read as empty.
    pub fn string_or_map(&self, name: &str) -> Vec<(String, String)> {
        match self.get(name) {
            Some(Value::String(text)) => vec![(String::new(), text.clone())],
            Some(_) => self.string_map(name).unwrap_or_default(),
            None => {
                self.problems.at(&self.path(name), "is missing");
                Vec::new()
            }
        }
    }

    /// A nested object that must be there: reported missing and read as an object without
    /// fields when absent.
    pub fn required_object(&self, name: &str, allowed: &[&str]) -> Fields<'a> {
        self.object(name, allowed).unwrap_or_else(|| {
            self.problems.at(&self.path(name), "is missing");
            Fields::empty(&self.path(name), self.problems)
        })
    }

    /// A nested object with its own allowed fields, if present.
    pub fn object(&self, name: &str, allowed: &[&str]) -> Option<Fields<'a>> {
        self.get(name)
            .map(|value| Fields::new(value, &self.path(name), allowed, self.problems))
    }

    /// The entries of a nested object whose keys are free (e.g. `texts.<lang>`): path, key
    /// and value of each; `None` when absent.
    pub fn entries(&self, name: &str) -> Option<Vec<(String, &'a str, &'a Value)>> {
        let value = self.get(name)?;
        let path = self.path(name);
        let mut entries = Vec::new();
        match value {
            Value::Object(fields) => {
                for (key, value) in fields {
                    entries.push((field_path(&path, key), key.as_str(), value));
                }
            }
            other => self.problems.report(wrong_type(&path, "an object", other)),
        }
        Some(entries)
    }

    fn as_string(&self, path: &str, value: &Value) -> String {
        match value {
            Value::String(text) => text.clone(),
            other => {
                self.problems.report(wrong_type(path, "a string", other));
                String::new()
            }
        }
    }
}

/// `path[index]`.
pub fn index_path(path: &str, index: usize) -> String {
    [path, "[", &decimal(index as u64), "]"].concat()
}

#[cfg(feature = "serde")]
mod serde_support {
    //! `Value` from any serde format (serde_json in tests and on the server).
    use super::Value;
    use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
    use std::fmt;

    impl<'de> Deserialize<'de> for Value {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
            deserializer.deserialize_any(ValueVisitor)
        }
    }

    struct ValueVisitor;

    impl<'de> Visitor<'de> for ValueVisitor {
        type Value = Value;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_unit<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_none<E>(self) -> Result<Value, E> {
            Ok(Value::Null)
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
            Value::deserialize(deserializer)
        }
        fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
            Ok(Value::Bool(value))
        }
        fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
            Ok(Value::Number(value as f64))
        }
        fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
            Ok(Value::Number(value as f64))
        }
        fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
            Ok(Value::Number(value))
        }
        fn visit_str<E>(self, value: &str) -> Result<Value, E> {
            Ok(Value::String(value.to_owned()))
        }
        fn visit_string<E>(self, value: String) -> Result<Value, E> {
            Ok(Value::String(value))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
            let mut items = Vec::new();
            while let Some(item) = seq.next_element()? {
                items.push(item);
            }
            Ok(Value::Array(items))
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
            let mut entries = Vec::new();
            while let Some((key, value)) = map.next_entry::<String, Value>()? {
                entries.push((key, value));
            }
            Ok(Value::Object(entries))
        }
    }
}
