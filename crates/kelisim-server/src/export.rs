//! Exports of the receipts: JSON lines (the exact stored records) and CSV for spreadsheets.
//! CSV cells that a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, tab, carriage
//! return at the start) are prefixed with `'`, so an exported `page_url` cannot become a formula.

use crate::receipt::StoredReceipt;
use crate::store::{ChainRow, Store};
use anyhow::Result;

const COLUMNS: [&str; 19] = [
    "site",
    "seq",
    "server_time",
    "receipt_id",
    "consent_id",
    "action",
    "method",
    "language",
    "policy_version",
    "revision",
    "granted_categories",
    "denied_categories",
    "granted_services",
    "denied_services",
    "countries",
    "variant",
    "page_url",
    "client_time",
    "hash",
];

pub async fn csv(store: &Store) -> Result<String> {
    csv_from_rows(&store.chain_rows().await?)
}

/// The CSV text of chain rows (a header, then one record per row): every cell goes through
/// [`defuse_formula`]. Pure, so the fuzzer can drive it.
pub fn csv_from_rows(rows: &[ChainRow]) -> Result<String> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(COLUMNS)?;
    for row in rows {
        let stored: StoredReceipt = serde_json::from_str(&row.body)?;
        let r = &stored.receipt;
        let cells = [
            // The signed values, not the columns: an edited column changes no export.
            r.site.clone(),
            stored.seq.to_string(),
            stored.server_time.clone(),
            r.receipt_id.clone(),
            r.consent_id.clone(),
            r.action.clone(),
            r.method.clone(),
            r.language.clone(),
            r.policy_version.clone(),
            r.revision.to_string(),
            r.granted_categories.join(" "),
            r.denied_categories.join(" "),
            r.granted_services.join(" "),
            r.denied_services.join(" "),
            r.countries.join(" "),
            r.variant.clone().unwrap_or_default(),
            r.page_url.clone(),
            r.client_time.clone(),
            row.hash.clone(),
        ];
        writer.write_record(cells.iter().map(|cell| defuse_formula(cell)))?;
    }
    Ok(String::from_utf8(writer.into_inner()?)?)
}

/// JSON lines: one stored record (with its chain fields) per line.
pub async fn json_lines(store: &Store) -> Result<String> {
    let mut out = String::new();
    for row in store.chain_rows().await? {
        let stored: serde_json::Value = serde_json::from_str(&row.body)?;
        let line = serde_json::json!({
            "stored": stored,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
            "signature": row.signature,
        });
        out.push_str(&line.to_string());
        out.push('\n');
    }
    Ok(out)
}

/// A cell as text a spreadsheet will not evaluate.
pub fn defuse_formula(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::defuse_formula;

    #[test]
    fn formulas_are_defused() {
        for (cell, expected) in [
            ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
            ("+1", "'+1"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("https://glazik.kz/", "https://glazik.kz/"),
            ("", ""),
        ] {
            assert_eq!(defuse_formula(cell), expected);
        }
    }
}
