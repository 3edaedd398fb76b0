//! The consent document a visitor signs with an electronic digital signature (ЭЦҚ/ЭЦП): one
//! canonical, human-readable text per form consent, in the visitor's language, written from
//! the compiled config the form was shown from. The server writes it, the browser has NCALayer
//! sign exactly its bytes, and the server (then `verify`, for ever after) checks that the
//! signature covers exactly this text. It states every Law 94-V Art. 8 p.4 item of each
//! purpose, what was granted and refused, and ends with one line of fixed fields (site, form,
//! consent id, time, the texts' hash and the compiled config's id).

use crate::compile::{CompiledConfig, CompiledForm};
use crate::texts::fill;

/// What a document is about, besides the config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DocumentFacts<'a> {
    pub granted: &'a [String],
    pub consent_id: &'a str,
    /// RFC 3339, the server's clock when it wrote the document.
    pub signed_at: &'a str,
    /// The policy's URL, absolute (the config may give a site path).
    pub policy_url: &'a str,
}

/// The document for a consent to `form` of `config` (one language), granting `facts.granted`
/// and refusing the rest of its purposes.
pub fn consent_document(
    config: &CompiledConfig,
    form: &CompiledForm,
    facts: &DocumentFacts,
) -> String {
    let text = |name: &str| config.text(name);
    let mut lines: Vec<String> = vec![
        form.text(config, "eds_document_title").to_owned(),
        format!(
            "{}: {}, {} {}",
            text("operator_label"),
            config.operator.name,
            text("bin_label"),
            config.operator.bin
        ),
        format!("{}: {}", text("policy_link"), facts.policy_url),
        String::new(),
    ];
    for purpose in &form.purposes {
        let mark = if facts.granted.contains(&purpose.id) {
            "[x]"
        } else {
            "[ ]"
        };
        lines.push(format!(
            "{mark} {}",
            fill(text("form_consent"), "purpose", &purpose.title)
        ));
        let or_no = |items: Vec<&str>| {
            if items.is_empty() {
                text("no").to_owned()
            } else {
                items.join("; ")
            }
        };
        let abroad: Vec<&str> = purpose
            .countries
            .iter()
            .filter(|country| country.code != "KZ")
            .map(|country| country.name.as_str())
            .collect();
        for (label, value) in [
            (text("data_label"), purpose.data_names.join(", ")),
            (text("term_label"), purpose.term_words.clone()),
            (
                text("recipients_label"),
                or_no(purpose.recipients.iter().map(String::as_str).collect()),
            ),
            (text("cross_border_badge"), or_no(abroad)),
            (
                text("publication_label"),
                text(if purpose.publication { "yes" } else { "no" }).to_owned(),
            ),
        ] {
            lines.push(format!("    {label}: {value}"));
        }
    }
    lines.push(String::new());
    lines.push(fill(
        text("form_withdrawal"),
        "email",
        &config.operator.email,
    ));
    lines.push(String::new());
    lines.push(format!(
        "kelisim: site={} form={} language={} consent_id={} signed_at={} texts_hash={} config_id={}",
        config.site,
        form.id,
        config.language,
        facts.consent_id,
        facts.signed_at,
        form.texts_hash,
        config.config_id
    ));
    let mut document = lines.join("\n");
    document.push('\n');
    document
}
