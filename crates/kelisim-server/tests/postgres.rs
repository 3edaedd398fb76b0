//! The same guarantees on a real PostgreSQL server, and scale-out: two server instances
//! writing to one database at once keep one linear, verifiable chain per site.
//! `cargo xtask test` provides the server (`KELISIM_TEST_POSTGRES`); without it these tests
//! say so and pass nothing off as checked.

mod common;

use axum::http::StatusCode;
use common::*;
use kelisim_server::receipt::Receipt;
use kelisim_server::store::{Backend, Store};
use kelisim_server::verify::verify;

macro_rules! postgres_or_skip {
    () => {
        match postgres_url().await {
            Some(url) => url,
            None => {
                eprintln!("KELISIM_TEST_POSTGRES is not set: skipped (cargo xtask test sets it)");
                return;
            }
        }
    };
}

#[tokio::test]
async fn receipts_chain_and_replay_on_postgres() {
    let url = postgres_or_skip!();
    let (app, state) = test_app(&url).await;
    assert_eq!(state.store().backend(), Backend::Postgres);
    let (status, first) = post_receipt(&app, &receipt(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) = post_receipt(&app, &receipt(2)).await;
    assert_eq!(second["prev_hash"], first["hash"]);
    let (_, again) = post_receipt(&app, &receipt(1)).await;
    assert_eq!(again, first);
    assert_eq!(row_count(&state).await, 2);
    let (status, _, _) = send(&app, post("/v1/receipts", "{\"receipt_id\": 1}")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The rollups and their queries on PostgreSQL: receipts 1 and 2 are two consent ids' first
    // choices; a third choice of receipt 1's consent id is a change.
    let (status, _) = post_receipt(&app, &receipt(4)).await;
    assert_eq!(status, StatusCode::CREATED);
    for by in ["day", "category", "device", "page", "language", "variant"] {
        let (status, _, body) = send(
            &app,
            admin_get(&format!(
                "/v1/stats?site=glazik-kz&from=2000-01-01&to=2099-12-31&by={by}"
            )),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{by}: {body}");
        let rows = body["rows"].as_array().unwrap();
        let total = |field: &str| {
            rows.iter()
                .map(|row| row[field].as_i64().unwrap())
                .sum::<i64>()
        };
        if by == "category" {
            assert_eq!(rows.len(), 3, "{body}");
        } else {
            assert_eq!(
                (total("decisions"), total("changes")),
                (2, 1),
                "{by}: {body}"
            );
        }
    }
    assert!(verify(state.store(), signer().public_key(), &[])
        .await
        .unwrap()
        .problems
        .is_empty());
}

#[tokio::test]
async fn verify_catches_an_edit_on_postgres() {
    let url = postgres_or_skip!();
    let store = Store::open(&url).await.unwrap();
    for n in 1..=4 {
        let receipt: Receipt = serde_json::from_value(receipt(n)).unwrap();
        store
            .insert_receipt(receipt, None, &signer(), time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    store
        .execute_raw(
            "UPDATE receipts SET body = replace(body, 'analytics', 'marketing') WHERE seq = 2",
        )
        .await
        .unwrap();
    let report = verify(&store, signer().public_key(), &[]).await.unwrap();
    assert_eq!(report.problems.first().map(|p| p.seq), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_writing_at_once_keep_one_valid_chain() {
    let url = postgres_or_skip!();
    // Two independent instances: separate pools, as two server processes would have.
    let (app_a, state_a) = test_app(&url).await;
    let (app_b, _state_b) = test_app(&url).await;
    let mut tasks = Vec::new();
    for n in 0..120u32 {
        let app = if n % 2 == 0 {
            app_a.clone()
        } else {
            app_b.clone()
        };
        tasks.push(tokio::spawn(async move {
            // Every id is sent twice, once to each instance, to race the idempotency check too.
            let (first, _) = post_receipt(&app, &receipt(n)).await;
            (n, first)
        }));
        let other = if n % 2 == 0 {
            app_b.clone()
        } else {
            app_a.clone()
        };
        tasks.push(tokio::spawn(async move {
            let (status, _) = post_receipt(&other, &receipt(n)).await;
            (n, status)
        }));
    }
    for task in tasks {
        let (n, status) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "receipt {n}");
    }
    let rows = state_a.store().chain_rows().await.unwrap();
    assert_eq!(rows.len(), 120, "each id stored exactly once");
    let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
    assert_eq!(seqs, (1..=120).collect::<Vec<i64>>());
    let report = verify(state_a.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_goes_away_answers_503_then_recovers() {
    use sqlx::Connection;
    let url = postgres_or_skip!();
    let name = url
        .split('?')
        .next()
        .and_then(|before_query| before_query.rsplit('/').next())
        .unwrap()
        .to_owned();
    let admin_url = std::env::var("KELISIM_TEST_POSTGRES").unwrap();
    let mut admin = sqlx::AnyConnection::connect(&admin_url).await.unwrap();
    let (app, state) = test_app(&url).await;
    let (status, _) = post_receipt(&app, &receipt(1)).await;
    assert_eq!(status, StatusCode::CREATED);
    // The database stops taking connections and drops the server's.
    for statement in [
        format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
        format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    ] {
        sqlx::query(&statement).execute(&mut admin).await.unwrap();
    }
    let started = std::time::Instant::now();
    let (status, headers, body) = send(&app, post("/v1/receipts", receipt(2).to_string())).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(headers.get("retry-after").unwrap(), "5");
    assert!(
        body["error"].as_str().unwrap().contains("unavailable"),
        "{body}"
    );
    assert!(
        !body.to_string().contains("pg_"),
        "no database details: {body}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "answered in bounded time"
    );
    // Back again: the retried receipt (what the SDK's outbox does) is stored once.
    sqlx::query(&format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"))
        .execute(&mut admin)
        .await
        .unwrap();
    let (status, body) = post_receipt(&app, &receipt(2)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(row_count(&state).await, 2);
    assert!(verify(state.store(), signer().public_key(), &[])
        .await
        .unwrap()
        .problems
        .is_empty());
}

/// The operator's parts on PostgreSQL: readiness writes, sessions survive a new app, a key
/// rotation is recorded and the chain verifies with the new key, a purge verifies first, and
/// `backup` says to use pg_dump.
#[tokio::test]
async fn operations_on_postgres() {
    let url = postgres_or_skip!();
    let store = Store::open(&url).await.unwrap();
    store.check_writable().await.unwrap();
    store.check_writable().await.unwrap();
    store
        .create_session("ab", "dpo", "dana", "2999-01-01T00:00:00Z")
        .await
        .unwrap();
    let again = Store::open(&url).await.unwrap();
    assert_eq!(
        again.session("ab", "2026-12-02T00:00:00Z").await.unwrap(),
        Some(("dpo".to_owned(), "dana".to_owned()))
    );
    for n in 1..=3 {
        let receipt: Receipt = serde_json::from_value(receipt(n)).unwrap();
        store
            .insert_receipt(receipt, None, &signer(), time::OffsetDateTime::now_utc())
            .await
            .unwrap();
    }
    let new_key = kelisim_server::chain::Signer::from_seed([43; 32]);
    let rotation = store.rotate_key(&signer(), &new_key).await.unwrap();
    assert_eq!(rotation.starts["glazik-kz"], 4);
    let receipt: Receipt = serde_json::from_value(receipt(4)).unwrap();
    store
        .insert_receipt(receipt, None, &new_key, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    let report = verify(&store, new_key.public_key(), &[]).await.unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.checked["glazik-kz"], 4);
    assert_eq!(
        store
            .purge("glazik-kz", "2000-01-01T00:00:00Z", &new_key)
            .await
            .unwrap(),
        0
    );
    let error = store
        .backup_sqlite(std::path::Path::new("/tmp/never.db"))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("pg_dump"), "{error}");
}

/// The compiled-config archive on PostgreSQL: added once, read back checked, never updated.
#[tokio::test]
async fn config_archive_on_postgres() {
    let url = postgres_or_skip!();
    let store = Store::open(&url).await.unwrap();
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../www/kelisim.json"),
    )
    .unwrap();
    let compiled = kelisim_core::compile::compile_text(&text).unwrap();
    assert_eq!(store.archive_configs(&compiled).await.unwrap(), 3);
    assert_eq!(store.archive_configs(&compiled).await.unwrap(), 0);
    let (read, _) = store
        .archived_config(&compiled[1].site, &compiled[1].config_id)
        .await
        .unwrap()
        .expect("archived");
    assert_eq!(read, compiled[1]);
    assert!(store
        .execute_raw("UPDATE config_archive SET body = 'x'")
        .await
        .is_err());
}
