//! The CSV export on receipts carrying any text: one record per receipt, every cell exactly
//! what was stored (formulas defused with a leading `'`), no cell that a spreadsheet evaluates.
#![no_main]

use kelisim_server::export::{csv_from_rows, defuse_formula};
use kelisim_server::receipt::{Receipt, StoredReceipt};
use kelisim_server::store::ChainRow;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|text: &str| {
    let mut parts = text.split('\u{1}').map(str::to_owned);
    let mut next = || parts.next().unwrap_or_default();
    let receipt = Receipt {
        receipt_id: next(),
        consent_id: next(),
        site: next(),
        policy_version: next(),
        policy_url: next(),
        revision: 1,
        language: next(),
        action: next(),
        granted_categories: vec![next()],
        denied_categories: vec![next()],
        granted_services: Vec::new(),
        denied_services: Vec::new(),
        countries: Vec::new(),
        variant: Some(next()),
        texts_hash: next(),
        config_id: Some(next()),
        operator: next(),
        bin: next(),
        expires_at: next(),
        method: next(),
        page_url: next(),
        user_agent: next(),
        client_time: next(),
        form_id: None,
        granted_purposes: Vec::new(),
        denied_purposes: Vec::new(),
        sms: None,
        eds: None,
    };
    let stored = StoredReceipt {
        seq: 1,
        server_time: next(),
        ip_prefix: None,
        receipt,
    };
    let row = ChainRow {
        site: stored.receipt.site.clone(),
        seq: 1,
        receipt_id: stored.receipt.receipt_id.clone(),
        consent_id: stored.receipt.consent_id.clone(),
        server_time: stored.server_time.clone(),
        action: stored.receipt.action.clone(),
        body: serde_json::to_string(&stored).expect("serialises"),
        prev_hash: next(),
        hash: next(),
        signature: next(),
        phone_hash: None,
    };
    let csv = csv_from_rows(&[row.clone(), row]).expect("any text exports");
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("valid CSV")).collect();
    assert_eq!(records.len(), 2);
    for record in &records {
        assert_eq!(
            record.get(6),
            Some(defuse_formula(&stored.receipt.method).as_str())
        );
        for cell in record {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "{cell:?}"
            );
        }
    }
});
