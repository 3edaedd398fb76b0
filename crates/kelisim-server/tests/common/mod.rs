//! Shared by the server tests: a real database (a fresh SQLite file, or a fresh PostgreSQL
//! database when `KELISIM_TEST_POSTGRES` names a server), the app around it, and receipts.

#![allow(dead_code)]

pub mod binary;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use kelisim_server::chain::Signer;
use kelisim_server::sites::{Site, Sites};
use kelisim_server::store::Store;
use kelisim_server::{app, AppState, Settings};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use tower::ServiceExt;

pub const ADMIN_TOKEN: &str = "test-admin-token";
pub const ORIGIN: &str = "https://glazik.kz";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty SQLite database file.
pub fn sqlite_url() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("kelisim-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("kelisim.db").display())
}

/// A fresh PostgreSQL database on the server named by `KELISIM_TEST_POSTGRES` (set by
/// `cargo xtask test`, which installs and starts PostgreSQL); `None` when it is not set.
pub async fn postgres_url() -> Option<String> {
    use sqlx::Connection;
    let admin = std::env::var("KELISIM_TEST_POSTGRES").ok()?;
    sqlx::any::install_default_drivers();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = format!("kelisim_test_{}_{n}", std::process::id());
    let mut connection = sqlx::AnyConnection::connect(&admin)
        .await
        .expect("KELISIM_TEST_POSTGRES connects");
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut connection)
        .await
        .unwrap();
    connection.close().await.unwrap();
    let (before, after) = admin
        .split_once("/postgres")
        .expect("the admin URL ends in /postgres");
    Some(format!("{before}/{name}{after}"))
}

pub fn signer() -> Signer {
    Signer::from_seed([42; 32])
}

pub fn sites() -> Sites {
    Sites::new(vec![Site {
        id: "glazik-kz".into(),
        origins: vec![ORIGIN.into()],
        retention_days: 30,
        full_user_agent: false,
        config: None,
        sms: None,
        sms_gateway: None,
        eds: None,
        eds_roots: None,
    }])
}

/// The settings of the test app around `store`; tests change what they need with
/// `Settings { field, ..settings(store) }`.
pub fn settings(store: Store) -> Settings {
    Settings {
        store,
        signer: signer(),
        sites: sites(),
        admin_token: ADMIN_TOKEN.into(),
        credentials: Default::default(),
        rate_per_minute: 10_000,
        www_dir: None,
        sdk_dir: None,
        client_timeout: std::time::Duration::from_secs(10),
        trusted_proxies: Vec::new(),
        head_log: None,
        phone_key: kelisim_server::confirmations::PhoneKey::random(),
    }
}

/// The test app on a fresh SQLite database, serving the demo store from `www` and the SDK
/// from `sdk` (each when given).
pub async fn app_serving(
    www: Option<std::path::PathBuf>,
    sdk: Option<std::path::PathBuf>,
) -> axum::Router {
    let store = Store::open(&sqlite_url()).await.expect("database opens");
    app(AppState::new(Settings {
        www_dir: www,
        sdk_dir: sdk,
        ..settings(store)
    }))
}

pub async fn test_app(url: &str) -> (axum::Router, AppState) {
    let store = Store::open(url).await.expect("database opens");
    let state = AppState::new(settings(store));
    (app(state.clone()), state)
}

/// A valid receipt; `n` makes its ids unique.
pub fn receipt(n: u32) -> Value {
    json!({
        "receipt_id": format!("00000000-0000-4000-8000-{n:012x}"),
        "consent_id": format!("11111111-1111-4111-8111-{:012x}", n % 3),
        "site": "glazik-kz",
        "policy_version": "2026-11-01",
        "policy_url": "https://glazik.kz/ru/privacy",
        "revision": 1,
        "language": "ru",
        "action": "custom",
        "granted_categories": ["analytics", "necessary"],
        "denied_categories": ["marketing"],
        "granted_services": ["yandex-metrika"],
        "denied_services": ["meta-pixel"],
        "countries": ["RU"],
        "variant": "a",
        "texts_hash": "a".repeat(64),
        "operator": "ТОО «Глазик»",
        "bin": "180540012345",
        "expires_at": "2027-11-22T08:00:00Z",
        "method": "button:save",
        "page_url": "https://glazik.kz/catalog",
        "user_agent": "Mozilla/5.0 (test)",
        "client_time": "2026-11-22T08:00:00Z"
    })
}

pub async fn send(
    app: &axum::Router,
    request: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let value = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, value)
}

pub fn post(path: &str, body: impl Into<Body>) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/json")
        .header("origin", ORIGIN)
        .body(body.into())
        .unwrap()
}

pub fn admin_get(path: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::empty())
        .unwrap()
}

pub async fn post_receipt(app: &axum::Router, receipt: &Value) -> (StatusCode, Value) {
    let (status, _, body) = send(app, post("/v1/receipts", receipt.to_string())).await;
    (status, body)
}

pub async fn row_count(state: &AppState) -> usize {
    state.store().chain_rows().await.unwrap().len()
}
