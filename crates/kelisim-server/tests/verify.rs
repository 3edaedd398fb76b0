//! `verify` on a real database: a clean chain passes; an edited row, a deleted row, a deleted
//! last row, a swapped pair and a re-signed row are each caught at the right sequence number;
//! a purge leaves a chain that still verifies, and forgets consent ids left without receipts.

mod common;

use common::*;
use kelisim_server::chain::{link_hash, Signer};
use kelisim_server::receipt::Receipt;
use kelisim_server::store::Store;
use kelisim_server::verify::{verify, Report};
use time::macros::datetime;

/// A store with `n` receipts of site glazik-kz, stored one day apart from 2026-01-01.
async fn store_with(n: u32) -> Store {
    let store = Store::open(&sqlite_url()).await.unwrap();
    for i in 1..=n {
        let receipt: Receipt = serde_json::from_value(receipt(i)).unwrap();
        let when = datetime!(2026-01-01 0:00 UTC) + time::Duration::days(i64::from(i));
        store
            .insert_receipt(receipt, None, &signer(), when)
            .await
            .unwrap();
    }
    store
}

async fn report(store: &Store) -> Report {
    verify(store, signer().public_key(), &[]).await.unwrap()
}

async fn check_caught(tamper: &str, seq: i64, words: &str) {
    let store = store_with(5).await;
    assert!(
        report(&store).await.problems.is_empty(),
        "clean chain failed"
    );
    for statement in tamper.split(';') {
        assert!(
            store.execute_raw(statement).await.unwrap() > 0,
            "tampering changed nothing: {statement}"
        );
    }
    let report = report(&store).await;
    let problem = report
        .problems
        .first()
        .unwrap_or_else(|| panic!("not caught: {tamper}"));
    assert_eq!(problem.seq, seq, "{problem}");
    assert!(problem.what.contains(words), "{problem}");
}

#[tokio::test]
async fn a_clean_chain_verifies() {
    let store = store_with(5).await;
    let report = report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.checked["glazik-kz"], 5);
}

#[tokio::test]
async fn an_edited_row_is_caught() {
    check_caught(
        "UPDATE receipts SET body = replace(body, 'yandex-metrika', 'meta-pixel') WHERE seq = 3",
        3,
        "altered",
    )
    .await;
}

#[tokio::test]
async fn a_deleted_row_is_caught() {
    check_caught("DELETE FROM receipts WHERE seq = 3", 3, "missing").await;
}

#[tokio::test]
async fn a_deleted_last_row_is_caught() {
    check_caught("DELETE FROM receipts WHERE seq = 5", 5, "missing").await;
}

#[tokio::test]
async fn a_swapped_pair_is_caught() {
    let swap = "UPDATE receipts SET seq = -2 WHERE seq = 2; UPDATE receipts SET seq = 2 WHERE seq = 3; UPDATE receipts SET seq = 3 WHERE seq = -2";
    check_caught(swap, 2, "does not chain").await;
}

#[tokio::test]
async fn a_row_rehashed_and_signed_with_another_key_is_caught() {
    let store = store_with(3).await;
    let rows = store.chain_rows().await.unwrap();
    let last = &rows[2];
    let forged_body = last.body.replace("\"custom\"", "\"accept_all\"");
    let forged_hash = link_hash(&last.prev_hash, &forged_body);
    let forged_signature = Signer::from_seed([1; 32]).sign(&forged_hash);
    store
        .execute_raw(&format!(
            "UPDATE receipts SET body = '{}', hash = '{forged_hash}', signature = '{forged_signature}' WHERE seq = 3",
            forged_body.replace('\'', "''")
        ))
        .await
        .unwrap();
    store
        .execute_raw(&format!("UPDATE chain_heads SET hash = '{forged_hash}'"))
        .await
        .unwrap();
    let report = report(&store).await;
    let problem = report.problems.first().expect("forgery not caught");
    assert_eq!(problem.seq, 3);
    assert!(problem.what.contains("signature"), "{problem}");
}

#[tokio::test]
async fn a_purged_chain_still_verifies_from_its_checkpoint() {
    let store = store_with(5).await;
    // Receipts 1 and 2 were stored on Jan 2 and 3.
    let deleted = store
        .purge("glazik-kz", "2026-01-03T12:00:00Z", &signer())
        .await
        .unwrap();
    assert_eq!(deleted, 2);
    let report = report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.checked["glazik-kz"], 3);
    // Receipts 3 and 4 too: of the three consent ids (receipt n has consent n % 3), only
    // receipt 5's keeps a row among the consent ids the stats remember.
    store
        .purge("glazik-kz", "2026-01-05T12:00:00Z", &signer())
        .await
        .unwrap();
    assert!(report_is_clean(&store).await);
    assert_eq!(
        store
            .execute_raw("DELETE FROM decided_consents")
            .await
            .unwrap(),
        1
    );
    // The checkpoint is signed: editing it is caught.
    store
        .execute_raw("UPDATE checkpoints SET seq = 1")
        .await
        .unwrap();
    assert!(!report_is_clean(&store).await);
}

async fn report_is_clean(store: &Store) -> bool {
    report(store).await.problems.is_empty()
}

/// What a DPO reads is checked as it is read: an altered text or a column moved to another
/// consent is an error that says so, never a quietly wrong answer.
#[tokio::test]
async fn reads_refuse_altered_receipts() {
    let store = store_with(3).await;
    let id = receipt(2)["receipt_id"].as_str().unwrap().to_owned();
    assert!(store.receipt(&id).await.unwrap().is_some());
    store
        .execute_raw("UPDATE receipts SET body = replace(body, 'yandex-metrika', 'meta-pixel') WHERE seq = 2")
        .await
        .unwrap();
    let error = store.receipt(&id).await.unwrap_err();
    assert!(error.to_string().contains("was altered"), "{error}");
    let moved = "99999999-9999-4999-8999-999999999999";
    store
        .execute_raw(&format!(
            "UPDATE receipts SET consent_id = '{moved}' WHERE seq = 3"
        ))
        .await
        .unwrap();
    let error = store.consent_history(moved).await.unwrap_err();
    assert!(error.to_string().contains("consent_id column"), "{error}");
}

/// Sites whose ids a database collation may order otherwise than bytes do still verify each
/// on its own (`verify` slices the rows per site).
#[tokio::test]
async fn several_sites_verify_each_on_its_own() {
    let store = Store::open(&sqlite_url()).await.unwrap();
    for (n, site) in [
        (1, "glazik-kz"),
        (2, "glazik_kz"),
        (3, "glazikkz"),
        (4, "glazik-kz"),
    ] {
        let mut receipt: Receipt = serde_json::from_value(receipt(n)).unwrap();
        receipt.site = site.into();
        store
            .insert_receipt(receipt, None, &signer(), time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    let report = report(&store).await;
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.checked["glazik-kz"], 2);
    assert_eq!(report.checked["glazik_kz"], 1);
    assert_eq!(report.checked["glazikkz"], 1);
}
