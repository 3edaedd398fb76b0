//! kelisim-core: the pure consent model shared by the browser SDK and the receipts server.
//!
//! Principal types: [`Config`] (validated from [`RawConfig`], read from a [`Value`]), [`Consent`] and [`Choice`],
//! [`Language`] and [`Texts`]. The cookie codec is [`encode_cookie`] / [`decode_cookie`].
//!
//! Invariant: this crate knows nothing about the DOM, HTTP or SQL. It takes time and random ids
//! as arguments, so every rule in it runs and is tested natively.

// `String::push(char)` encodes the character as UTF-8 at run time, a routine of its own in the
// browser module; this crate appends one-character separators with `push_str("~")` instead.
#![allow(clippy::single_char_add_str)]

pub mod cleanup;
#[cfg(feature = "compile")]
pub mod compile;
pub mod compiled;
pub mod config;
pub mod confirm;
pub mod consent;
pub mod consent_mode;
pub mod cookie;
pub mod css;
#[cfg(feature = "compile")]
pub mod eds;
pub mod gating;
pub mod ids;
#[cfg(feature = "compile")]
pub mod knowledge;
pub mod language;
#[cfg(feature = "compile")]
pub mod layers;
pub mod phone;
#[cfg(feature = "precompress")]
pub mod precompress;
pub mod receipt;
pub mod strings;
pub mod suggest;
pub mod texts;
pub mod value;

pub use config::{
    Category, Config, ConfigError, Layout, Operator, Position, RawConfig, Reopen, Service, Vendor,
};
pub use consent::{Action, Choice, ChoiceError, Consent, Grants};
pub use cookie::{decode_cookie, encode_cookie, CookieError, COOKIE_NAME};
pub use gating::GateRule;
pub use ids::IdSet;
pub use language::{choose_language, Language};
pub use texts::{CategoryTexts, Texts};
pub use value::Value;
