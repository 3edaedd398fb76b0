//! A JSON-shaped value tree and a reader that walks it with the path of every field, so a
//! config error can name `categories[1].services[0].country` exactly.
//!
//! Why not serde derive: in the browser module serde's generated visitors (plus a path-tracking
//! wrapper) were the largest part of the wasm (measured in ARCHITECTURE.md); this reader does
//! the same job for one schema in a fraction of the bytes. The SDK builds a `Value` from the JS
//! object; native code (tests, the server) builds it with serde through the `serde` feature.

use crate::config::ConfigError;

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

/// An object being read: knows its path and which fields it may have.
pub struct Fields<'a> {
    path: String,
    fields: &'a [(String, Value)],
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn wrong_type(path: &str, expected: &str, value: &Value) -> ConfigError {
    let field = if path.is_empty() { "config" } else { path };
    ConfigError::new(field, format!("must be {expected}, not {}", value.kind()))
}

impl<'a> Fields<'a> {
    /// Reads `value` as an object at `path` whose fields must all be in `allowed`.
    pub fn new(value: &'a Value, path: &str, allowed: &[&str]) -> Result<Fields<'a>, ConfigError> {
        let Value::Object(fields) = value else {
            return Err(wrong_type(path, "an object", value));
        };
        if let Some((name, _)) = fields
            .iter()
            .find(|(name, _)| !allowed.contains(&name.as_str()))
        {
            return Err(ConfigError::new(
                join(path, name),
                format!(
                    "is not a known field; the fields here are: {}",
                    allowed.join(", ")
                ),
            ));
        }
        Ok(Fields {
            path: path.to_owned(),
            fields,
        })
    }

    pub fn path(&self, name: &str) -> String {
        join(&self.path, name)
    }

    /// A field's value; `null` counts as absent.
    pub fn get(&self, name: &str) -> Option<&'a Value> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value)
            .filter(|value| **value != Value::Null)
    }

    fn required(&self, name: &str) -> Result<&'a Value, ConfigError> {
        self.get(name)
            .ok_or_else(|| ConfigError::new(self.path(name), "is missing"))
    }

    pub fn string(&self, name: &str) -> Result<String, ConfigError> {
        as_string(&self.path(name), self.required(name)?)
    }

    pub fn optional_string(&self, name: &str) -> Result<Option<String>, ConfigError> {
        self.get(name)
            .map(|value| as_string(&self.path(name), value))
            .transpose()
    }

    pub fn bool_or(&self, name: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(name) {
            None => Ok(default),
            Some(Value::Bool(value)) => Ok(*value),
            Some(other) => Err(wrong_type(&self.path(name), "true or false", other)),
        }
    }

    pub fn optional_u32(&self, name: &str) -> Result<Option<u32>, ConfigError> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Number(number))
                if number.fract() == 0.0 && (0.0..=4_294_967_295.0).contains(number) =>
            {
                Ok(Some(*number as u32))
            }
            Some(other) => Err(wrong_type(
                &self.path(name),
                "a whole number from 0 to 4294967295",
                other,
            )),
        }
    }

    /// An array field, each item with its own path (`name[i]`); absent means empty.
    pub fn array(&self, name: &str) -> Result<Vec<(String, &'a Value)>, ConfigError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items
                .iter()
                .enumerate()
                .map(|(index, item)| (format!("{}[{index}]", self.path(name)), item))
                .collect()),
            Some(other) => Err(wrong_type(&self.path(name), "an array", other)),
        }
    }

    /// An array of strings; absent means empty.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, ConfigError> {
        self.array(name)?
            .into_iter()
            .map(|(path, item)| as_string(&path, item))
            .collect()
    }

    /// An object of strings keyed by anything (`{"kk": "...", "ru": "..."}`), in order.
    pub fn string_map(&self, name: &str) -> Result<Option<Vec<(String, String)>>, ConfigError> {
        let Some(value) = self.get(name) else {
            return Ok(None);
        };
        let Value::Object(entries) = value else {
            return Err(wrong_type(&self.path(name), "an object", value));
        };
        entries
            .iter()
            .map(|(key, item)| Ok((key.clone(), as_string(&join(&self.path(name), key), item)?)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// A nested object with its own allowed fields, if present.
    pub fn object(&self, name: &str, allowed: &[&str]) -> Result<Option<Fields<'a>>, ConfigError> {
        self.get(name)
            .map(|value| Fields::new(value, &self.path(name), allowed))
            .transpose()
    }

    /// The entries of a nested object whose keys are free (e.g. `texts.<lang>`).
    pub fn entries(&self, name: &str) -> Result<Vec<(String, &'a Value)>, ConfigError> {
        match self.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Object(entries)) => Ok(entries
                .iter()
                .map(|(key, value)| (join(&self.path(name), key), value))
                .collect()),
            Some(other) => Err(wrong_type(&self.path(name), "an object", other)),
        }
    }
}

fn as_string(path: &str, value: &Value) -> Result<String, ConfigError> {
    match value {
        Value::String(text) => Ok(text.clone()),
        other => Err(wrong_type(path, "a string", other)),
    }
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
