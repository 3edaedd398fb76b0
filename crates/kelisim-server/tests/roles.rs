//! Least privilege, route by route: every admin route and the dashboard with no credential, a
//! wrong one, and each role's (admin, dpo, marketer, monitor). A role gets what it may have
//! and a `403` naming it otherwise; nothing personal reaches the marketer or the monitor.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use kelisim_server::access::{digest, new_token, Credential, CredentialsFile, Role};
use kelisim_server::store::Store;
use kelisim_server::{app, AppState, Settings};
use serde_json::json;

struct Tokens {
    dpo: String,
    marketer: String,
    monitor: String,
}

async fn app_with_roles() -> (axum::Router, AppState, Tokens) {
    let tokens = Tokens {
        dpo: new_token(),
        marketer: new_token(),
        monitor: new_token(),
    };
    let credential = |name: &str, role, token: &str| Credential {
        name: name.into(),
        role,
        token_sha256: hex::encode(digest(token)),
        kiosk: None,
    };
    let credentials = CredentialsFile {
        credentials: vec![
            credential("dana", Role::Dpo, &tokens.dpo),
            credential("marat", Role::Marketer, &tokens.marketer),
            credential("prometheus", Role::Monitor, &tokens.monitor),
        ],
    };
    let store = Store::open(&sqlite_url()).await.unwrap();
    let state = AppState::new(Settings {
        credentials,
        ..settings(store)
    });
    (app(state.clone()), state, tokens)
}

/// Each route and which roles may use it: admin, dpo, marketer, monitor.
fn routes() -> Vec<(&'static str, String, Option<String>, [bool; 4])> {
    let id = receipt(1)["receipt_id"].as_str().unwrap().to_owned();
    let consent = receipt(1)["consent_id"].as_str().unwrap().to_owned();
    vec![
        (
            "GET",
            format!("/v1/receipts/{id}"),
            None,
            [true, true, false, false],
        ),
        (
            "GET",
            format!("/v1/consents/{consent}"),
            None,
            [true, true, false, false],
        ),
        (
            "POST",
            format!("/v1/consents/{consent}/withdraw"),
            Some(json!({"method": "email"}).to_string()),
            [true, true, false, false],
        ),
        (
            "GET",
            "/v1/export.csv".into(),
            None,
            [true, true, false, false],
        ),
        (
            "GET",
            "/v1/stats?site=glazik-kz".into(),
            None,
            [true, false, true, false],
        ),
        ("GET", "/metrics".into(), None, [true, false, false, true]),
    ]
}

#[tokio::test]
async fn every_route_for_every_role_and_no_credential() {
    let (app, _, tokens) = app_with_roles().await;
    post_receipt(&app, &receipt(1)).await;
    let credentials: [(&str, Option<&str>); 6] = [
        ("admin", Some(ADMIN_TOKEN)),
        ("dpo", Some(&tokens.dpo)),
        ("marketer", Some(&tokens.marketer)),
        ("monitor", Some(&tokens.monitor)),
        ("none", None),
        ("wrong", Some("0123456789abcdef0123")),
    ];
    for (method, path, body, allowed) in routes() {
        for (index, (who, token)) in credentials.iter().enumerate() {
            let mut request = Request::builder()
                .method(method)
                .uri(&path)
                .header("content-type", "application/json");
            if let Some(token) = token {
                request = request.header("authorization", format!("Bearer {token}"));
            }
            let request = request
                .body(Body::from(body.clone().unwrap_or_default()))
                .unwrap();
            let (status, _, answer) = send(&app, request).await;
            let expected = match index {
                4 | 5 => StatusCode::UNAUTHORIZED,
                role if allowed[role] => {
                    assert!(
                        status.is_success(),
                        "{who} {method} {path}: {status} {answer}"
                    );
                    continue;
                }
                _ => StatusCode::FORBIDDEN,
            };
            assert_eq!(status, expected, "{who} {method} {path}: {answer}");
            assert!(
                !answer.to_string().contains("yandex-metrika"),
                "{who}: {answer}"
            );
            if expected == StatusCode::FORBIDDEN {
                assert!(answer["error"].as_str().unwrap().contains(who), "{answer}");
            }
        }
    }
}

fn login(token: &str) -> Request<Body> {
    Request::post("/dashboard/login?lang=en")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from(format!("token={token}")))
        .unwrap()
}

fn dashboard(path: &str, cookie: &str) -> Request<Body> {
    Request::get(path)
        .header("cookie", cookie)
        .body(Body::empty())
        .unwrap()
}

async fn session(app: &axum::Router, token: &str) -> String {
    let (status, headers, _) = send(app, login(token)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers["set-cookie"].to_str().unwrap();
    cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test]
async fn the_dashboard_shows_each_role_only_its_part() {
    let (app, _, tokens) = app_with_roles().await;
    post_receipt(&app, &receipt(1)).await;
    let consent = receipt(1)["consent_id"].as_str().unwrap().to_owned();
    let numbers = "data-total";
    // The marketer and the admin: the numbers.
    for token in [tokens.marketer.as_str(), ADMIN_TOKEN] {
        let cookie = session(&app, token).await;
        let (status, _, page) = send(&app, dashboard("/dashboard?lang=en", &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.as_str().unwrap().contains(numbers));
    }
    // The DPO: a consent's history, no numbers; the consent id, or a receipt id, finds it.
    let cookie = session(&app, &tokens.dpo).await;
    let (_, _, page) = send(&app, dashboard("/dashboard?lang=en", &cookie)).await;
    let page = page.as_str().unwrap().to_owned();
    assert!(
        page.contains("Consent history") && !page.contains(numbers),
        "{page}"
    );
    let receipt_id = receipt(1)["receipt_id"].as_str().unwrap().to_owned();
    for id in [&consent, &receipt_id] {
        let (_, _, page) = send(
            &app,
            dashboard(&format!("/dashboard?lang=en&id={id}"), &cookie),
        )
        .await;
        let page = page.as_str().unwrap();
        assert!(
            page.contains(&receipt_id) && page.contains("custom"),
            "{page}"
        );
    }
    let (_, _, page) = send(
        &app,
        dashboard(
            "/dashboard?lang=en&id=99999999-9999-4999-8999-999999999999",
            &cookie,
        ),
    )
    .await;
    assert!(page.as_str().unwrap().contains("No receipt has this id"));
    // The monitor: nothing.
    let cookie = session(&app, &tokens.monitor).await;
    let (status, _, page) = send(&app, dashboard("/dashboard?lang=en", &cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(!page.as_str().unwrap().contains(numbers));
}

/// Each site's latest scan report: on the admin's and the DPO's pages, not the marketer's.
#[tokio::test]
async fn the_latest_scans_show_to_the_admin_and_the_dpo_only() {
    let (app, state, tokens) = app_with_roles().await;
    let report = kelisim_server::store::ScanReportRow {
        site: "glazik-kz".into(),
        scanned_at: "2026-12-02T10:00:00Z".into(),
        url: "https://glazik.kz/".into(),
        ran_before_consent: true,
        clean: false,
        report: "{}".into(),
        markdown: "# kelisim scan of https://glazik.kz/".into(),
    };
    state
        .store()
        .save_scan_report("glazik-kz", &report)
        .await
        .unwrap();
    for (token, shown) in [
        (ADMIN_TOKEN, true),
        (tokens.dpo.as_str(), true),
        (tokens.marketer.as_str(), false),
    ] {
        let cookie = session(&app, token).await;
        let (status, _, page) = send(&app, dashboard("/dashboard?lang=en", &cookie)).await;
        assert_eq!(status, StatusCode::OK);
        let page = page.as_str().unwrap();
        assert_eq!(
            page.contains("Latest site scans") && page.contains("something ran before consent"),
            shown,
            "{page}"
        );
    }
}

#[tokio::test]
async fn a_session_survives_a_restart_and_ends_at_sign_out() {
    let url = sqlite_url();
    let cookie = {
        let store = Store::open(&url).await.unwrap();
        let app = app(AppState::new(settings(store)));
        session(&app, ADMIN_TOKEN).await
    };
    // A new server on the same database.
    let store = Store::open(&url).await.unwrap();
    let app = app(AppState::new(settings(store)));
    let (_, _, page) = send(&app, dashboard("/dashboard?lang=en", &cookie)).await;
    assert!(
        page.as_str().unwrap().contains("data-total"),
        "signed out by the restart"
    );
    let logout = Request::post("/dashboard/logout")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, logout).await.0, StatusCode::SEE_OTHER);
    let (_, _, page) = send(&app, dashboard("/dashboard?lang=en", &cookie)).await;
    assert!(
        page.as_str().unwrap().contains("type=\"password\""),
        "still signed in"
    );
}

#[tokio::test]
async fn health_readiness_and_metrics() {
    let (app, _, tokens) = app_with_roles().await;
    let get = |path: &str, token: Option<&str>| {
        let mut request = Request::get(path);
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        request.body(Body::empty()).unwrap()
    };
    assert_eq!(send(&app, get("/healthz", None)).await.0, StatusCode::OK);
    assert_eq!(send(&app, get("/readyz", None)).await.0, StatusCode::OK);
    post_receipt(&app, &receipt(1)).await;
    post_receipt(&app, &json!({"site": "nowhere"})).await;
    let (status, _, text) = send(&app, get("/metrics", Some(&tokens.monitor))).await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().unwrap();
    for metric in [
        "kelisim_receipts_stored_total",
        "kelisim_receipts_refused_total{reason=\"bad_request\"}",
        "kelisim_commit_seconds_bucket",
        "kelisim_receipt_queue_depth",
    ] {
        assert!(text.contains(metric), "no {metric} in:\n{text}");
    }
}
