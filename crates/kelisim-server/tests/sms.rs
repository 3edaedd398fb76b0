//! Consent confirmed by SMS code, over real HTTP to the gateway double (`sms_double`, which
//! speaks Mobizon's and SMSC.kz's documented requests and answers) and a real SQLite file:
//! the whole flow, each limit, the gateways' errors, withdrawal by code, the look-up by phone,
//! and that the number is stored nowhere in clear.

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use common::*;
use kelisim_server::sites::Sites;
use kelisim_server::sms_double::{DoubleKeys, Message};
use kelisim_server::store::Store;
use kelisim_server::{app, AppState, Settings};
use serde_json::{json, Value};
use std::net::SocketAddr;

const PHONE: &str = "+7 (701) 123-45-67";
const NORMAL: &str = "+77011234567";

struct Setup {
    app: axum::Router,
    state: AppState,
    double: SocketAddr,
    db_url: String,
    /// Where the config, the key and the sites file are.
    folder: std::path::PathBuf,
}

/// The demo config with its sign-up form confirmed by SMS, served for site `glazik-kz` with
/// `sms` (gateway and limits) pointing at a fresh double.
async fn setup(gateway: &str, limits: Value) -> Setup {
    setup_on(gateway, limits, sqlite_url()).await
}

async fn setup_on(gateway: &str, limits: Value, db_url: String) -> Setup {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let double = listener.local_addr().unwrap();
    tokio::spawn(kelisim_server::sms_double::serve(
        listener,
        DoubleKeys::default(),
    ));
    // The files live beside a fresh SQLite file's folder, whatever the database.
    let folder = std::path::PathBuf::from(sqlite_url().trim_start_matches("sqlite://"))
        .parent()
        .unwrap()
        .to_owned();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("www/kelisim.json")).unwrap())
            .unwrap();
    config["site"] = json!("glazik-kz");
    config["forms"][0]["confirm"] = json!("sms");
    std::fs::write(folder.join("kelisim.json"), config.to_string()).unwrap();
    let keys = DoubleKeys::default();
    let sms = match gateway {
        "mobizon" => {
            std::fs::write(
                folder.join("mobizon.key"),
                format!("{}\n", keys.mobizon_key),
            )
            .unwrap();
            json!({"gateway": "mobizon", "key_file": "mobizon.key", "sender": "GLAZIK",
                   "api_url": format!("http://{double}"), "limits": limits})
        }
        "smsc" => {
            std::fs::write(folder.join("smsc.key"), &keys.smsc_password).unwrap();
            json!({"gateway": "smsc", "login": keys.smsc_login, "key_file": "smsc.key",
                   "api_url": format!("http://{double}"), "limits": limits})
        }
        other => json!({"gateway": other, "limits": limits}),
    };
    let sites = json!({"sites": [{"id": "glazik-kz", "origins": [ORIGIN], "config": "kelisim.json", "sms": sms}]});
    let sites_path = folder.join("sites.json");
    std::fs::write(&sites_path, sites.to_string()).unwrap();
    let sites = Sites::load(&sites_path).expect("the sites file loads");
    let store = Store::open(&db_url).await.unwrap();
    let state = AppState::new(Settings {
        sites,
        ..settings(store)
    });
    state.archive_configs(&state.sites()).await.unwrap();
    Setup {
        app: app(state.clone()),
        state,
        double,
        db_url,
        folder,
    }
}

fn start_body(phone: &str) -> Value {
    json!({
        "site": "glazik-kz",
        "form": "signup",
        "language": "ru",
        "phone": phone,
        "granted_purposes": ["account", "sms"],
        "denied_purposes": ["email-news", "telegram"],
        "page_url": "https://glazik.kz/signup?utm_source=x",
    })
}

/// A request from client address `from` (the limits count networks).
fn from(mut request: Request<Body>, address: &str) -> Request<Body> {
    let peer: SocketAddr = format!("{address}:50000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(peer));
    request
}

async fn start(setup: &Setup, body: &Value) -> (StatusCode, axum::http::HeaderMap, Value) {
    send(
        &setup.app,
        from(post("/v1/confirmations", body.to_string()), "10.1.2.3"),
    )
    .await
}

async fn enter(setup: &Setup, id: &str, code: &str) -> (StatusCode, Value) {
    let body = json!({"code": code, "phone": PHONE});
    let (status, _, answer) = send(
        &setup.app,
        post(&format!("/v1/confirmations/{id}"), body.to_string()),
    )
    .await;
    (status, answer)
}

async fn messages(setup: &Setup) -> Vec<Message> {
    let url = format!("http://{}/messages", setup.double);
    tokio::task::spawn_blocking(move || {
        let text = ureq::get(&url).call().unwrap().into_string().unwrap();
        serde_json::from_str::<Vec<Message>>(&text).unwrap()
    })
    .await
    .unwrap()
}

async fn set_mode(setup: &Setup, mode: &str) {
    let url = format!("http://{}/mode", setup.double);
    let body = json!({ "mode": mode }).to_string();
    tokio::task::spawn_blocking(move || {
        ureq::post(&url)
            .set("content-type", "application/json")
            .send_string(&body)
            .unwrap()
    })
    .await
    .unwrap();
}

/// The six digits of the last message.
async fn last_code(setup: &Setup) -> String {
    let text = messages(setup).await.last().unwrap().text.clone();
    text.split(|c: char| !c.is_ascii_digit())
        .find(|part| part.len() == 6)
        .unwrap_or_else(|| panic!("no code in {text:?}"))
        .to_owned()
}

fn other_code(code: &str) -> String {
    let n: u32 = code.parse().unwrap();
    format!("{:06}", (n + 1) % 1_000_000)
}

#[tokio::test]
async fn a_code_sent_through_mobizon_confirms_the_form_consent() {
    let setup = setup("mobizon", json!({})).await;
    let (status, _, started) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert_eq!(started["phone"], "+7 701 *** ** 67");
    assert_eq!(started["resend_after"], 60);
    let sent = messages(&setup).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "77011234567");
    assert_eq!(sent[0].sender.as_deref(), Some("GLAZIK"));
    assert!(
        sent[0].text.starts_with("ТОО «Глазик Демо»: код "),
        "{}",
        sent[0].text
    );
    let code = last_code(&setup).await;
    let id = started["confirmation_id"].as_str().unwrap();

    let (status, answer) = enter(&setup, id, &code).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let record = &answer["receipt"];
    assert_eq!(record["action"], "form");
    assert_eq!(record["method"], "sms");
    assert_eq!(record["form_id"], "signup");
    assert_eq!(record["granted_purposes"], json!(["account", "sms"]));
    assert_eq!(record["page_url"], "https://glazik.kz/signup");
    let sms = &record["sms"];
    assert_eq!(sms["gateway"], "mobizon");
    assert_eq!(sms["message_id"], sent[0].message_id.as_str());
    assert_eq!(sms["delivery_status"], "DELIVRD");
    assert_eq!(sms["confirmation_id"], id);
    assert_eq!(sms["phone_hash"].as_str().unwrap().len(), 64);
    // The texts the visitor saw are the archived compiled config's.
    let config_id = record["config_id"].as_str().unwrap();
    let compiled = setup
        .state
        .sites()
        .configs()
        .get("glazik-kz", "ru")
        .unwrap()
        .clone();
    assert_eq!(config_id, compiled.config_id);
    assert_eq!(record["texts_hash"], compiled.forms[0].texts_hash.as_str());

    // Used once.
    let (status, again) = enter(&setup, id, &code).await;
    assert_eq!(
        (status, again["reason"].as_str()),
        (StatusCode::CONFLICT, Some("used"))
    );

    // The chain verifies, and the number is nowhere in the database in clear.
    let report = kelisim_server::verify::verify(setup.state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let db_path = setup.db_url.trim_start_matches("sqlite://").to_owned();
    setup.state.store().close().await;
    let mut bytes = std::fs::read(&db_path).unwrap();
    if let Ok(wal) = std::fs::read(format!("{db_path}-wal")) {
        bytes.extend(wal);
    }
    for written in ["77011234567", "7011234567", "701 123", &code] {
        assert!(
            !bytes
                .windows(written.len())
                .any(|w| w == written.as_bytes()),
            "{written} is in the database"
        );
    }
}

/// The same flow, limits and withdrawal on PostgreSQL (when the test command provides one).
#[tokio::test]
async fn the_flow_and_its_limits_work_on_postgresql() {
    let Some(url) = postgres_url().await else {
        return;
    };
    let setup = setup_on(
        "mobizon",
        json!({"max_attempts": 2, "resend_after_seconds": 0}),
        url,
    )
    .await;
    let (status, _, started) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let id = started["confirmation_id"].as_str().unwrap();
    let code = last_code(&setup).await;
    let (status, _) = enter(&setup, id, &other_code(&code)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, answer) = enter(&setup, id, &code).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let mut withdraw = start_body(PHONE);
    withdraw["withdraw"] = json!(true);
    let (_, _, started) = start(&setup, &withdraw).await;
    let code = last_code(&setup).await;
    let (status, answer) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let path = format!("/v1/receipts?phone={}", urlencode(PHONE));
    let (_, _, found) = send(&setup.app, admin_get(&path)).await;
    assert_eq!(found["receipts"].as_array().unwrap().len(), 2, "{found}");
}

#[tokio::test]
async fn smsc_sends_and_tells_the_delivery_status() {
    let setup = setup("smsc", json!({})).await;
    let (status, _, started) = start(&setup, &start_body("87011234567")).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    let code = last_code(&setup).await;
    assert_eq!(messages(&setup).await[0].gateway, "smsc");
    let (status, answer) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["receipt"]["sms"]["delivery_status"], "1 delivered");
}

#[tokio::test]
async fn wrong_codes_are_counted_and_lock_the_confirmation() {
    let setup = setup("mobizon", json!({"max_attempts": 3})).await;
    let (_, _, started) = start(&setup, &start_body(PHONE)).await;
    let id = started["confirmation_id"].as_str().unwrap();
    let code = last_code(&setup).await;
    let wrong = other_code(&code);
    let (status, answer) = enter(&setup, id, &wrong).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::BAD_REQUEST, Some("wrong_code"))
    );
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("2 attempts left"),
        "{answer}"
    );
    let (_, answer) = enter(&setup, id, "12ab56").await;
    assert_eq!(answer["reason"], "wrong_code");
    let (status, answer) = enter(&setup, id, &wrong).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::GONE, Some("too_many_attempts"))
    );
    // Locked: even the right code does nothing now, and nothing was stored.
    let (status, answer) = enter(&setup, id, &code).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::GONE, Some("too_many_attempts"))
    );
    assert_eq!(row_count(&setup.state).await, 0);
}

#[tokio::test]
async fn an_expired_code_confirms_nothing() {
    let setup = setup("mobizon", json!({"code_ttl_seconds": 1})).await;
    let (_, _, started) = start(&setup, &start_body(PHONE)).await;
    let code = last_code(&setup).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, answer) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::GONE, Some("expired"))
    );
    assert_eq!(row_count(&setup.state).await, 0);
}

#[tokio::test]
async fn a_resend_too_early_is_refused_and_a_later_one_replaces_the_first_code() {
    let setup = setup("mobizon", json!({"resend_after_seconds": 1})).await;
    let (_, _, first) = start(&setup, &start_body(PHONE)).await;
    let first_code = last_code(&setup).await;
    let (status, headers, answer) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("resend_too_early"))
    );
    assert!(headers.get("retry-after").is_some());
    assert_eq!(messages(&setup).await.len(), 1, "no second SMS");
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (status, _, second) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, answer) = enter(
        &setup,
        first["confirmation_id"].as_str().unwrap(),
        &first_code,
    )
    .await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::GONE, Some("replaced"))
    );
    let code = last_code(&setup).await;
    let (status, _) = enter(&setup, second["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn one_phone_gets_a_limited_number_of_codes_an_hour() {
    let setup = setup(
        "mobizon",
        json!({"resend_after_seconds": 0, "per_phone_per_hour": 2}),
    )
    .await;
    for _ in 0..2 {
        assert_eq!(
            start(&setup, &start_body(PHONE)).await.0,
            StatusCode::CREATED
        );
    }
    let (status, _, answer) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("phone_limit"))
    );
    // Another number is not held back by it.
    assert_eq!(
        start(&setup, &start_body("+7 777 000 11 22")).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn another_network_flooding_numbers_is_stopped() {
    let setup = setup("mobizon", json!({"per_network_per_hour": 3})).await;
    for n in 0..3 {
        let (status, _, answer) = start(&setup, &start_body(&format!("+7 701 000 00 0{n}"))).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let (status, _, answer) = start(&setup, &start_body("+7 701 000 00 09")).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("network_limit"))
    );
    assert_eq!(messages(&setup).await.len(), 3);
    // A visitor on another network still gets their code.
    let (status, _, _) = send(
        &setup.app,
        from(
            post("/v1/confirmations", start_body(PHONE).to_string()),
            "10.9.9.9",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn bad_requests_are_refused_naming_the_field() {
    let setup = setup("mobizon", json!({})).await;
    let cases = [
        (json!({"phone": "+7 916 123 45 67"}), "invalid_phone"),
        (json!({"phone": "+7 727 123 45 67"}), "invalid_phone"),
        (
            json!({"granted_purposes": ["sms"], "denied_purposes": ["account", "email-news", "telegram"]}),
            "bad_request",
        ),
        (json!({"denied_purposes": ["email-news"]}), "bad_request"),
        (json!({"form": "checkout"}), "bad_request"),
        (json!({"config_id": "c".repeat(64)}), "bad_request"),
        (json!({"language": "de"}), "bad_request"),
    ];
    for (change, reason) in cases {
        let mut body = start_body(PHONE);
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let (status, _, answer) = start(&setup, &body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{change}: {answer}");
        assert_eq!(
            answer
                .get("reason")
                .map_or("bad_request", |r| r.as_str().unwrap()),
            reason,
            "{change}"
        );
    }
    assert!(messages(&setup).await.is_empty());
    // A receipt cannot claim an SMS confirmation itself.
    let mut forged = receipt(1);
    forged["method"] = json!("sms");
    let (status, answer) = post_receipt(&setup.app, &forged).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    let mut forged = receipt(2);
    forged["sms"] = json!({"phone_hash": "a", "confirmation_id": "b", "gateway": "log", "message_id": "1",
        "delivery_status": "x", "sent_at": "2026-12-01T00:00:00Z", "confirmed_at": "2026-12-01T00:00:00Z"});
    let (status, answer) = post_receipt(&setup.app, &forged).await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("sms"))
    );
}

#[tokio::test]
async fn a_gateway_that_refuses_or_is_down_gets_a_clear_answer_and_loses_nothing() {
    let setup = setup("mobizon", json!({"resend_after_seconds": 0})).await;
    for mode in ["refuse", "down"] {
        set_mode(&setup, mode).await;
        let (status, headers, answer) = start(&setup, &start_body(PHONE)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{mode}: {answer}");
        assert_eq!(answer["reason"], "gateway_unavailable");
        assert_eq!(headers["retry-after"], "60");
    }
    set_mode(&setup, "ok").await;
    // The failed attempts did not use up the phone's codes; the visitor tries again.
    let (status, _, started) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(status, StatusCode::CREATED);
    let code = last_code(&setup).await;
    let (status, _) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_wrong_gateway_key_is_a_refusal_and_an_empty_key_file_stops_the_sites_file() {
    let setup = setup("mobizon", json!({})).await;
    // The double accepts only its own key: the same sites file with another key.
    let folder = &setup.folder;
    std::fs::write(folder.join("mobizon.key"), "not-the-key").unwrap();
    let sites = Sites::load(&folder.join("sites.json")).unwrap();
    setup.state.reload(sites, &Default::default());
    let (status, _, answer) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(
        (status, answer["reason"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("gateway_unavailable"))
    );
    std::fs::write(folder.join("mobizon.key"), "\n").unwrap();
    let error = Sites::load(&folder.join("sites.json")).unwrap_err();
    assert!(format!("{error:#}").contains("is empty"), "{error:#}");
}

#[tokio::test]
async fn a_code_to_the_same_phone_withdraws_the_consent_and_the_dpo_finds_both_by_number() {
    let setup = setup("mobizon", json!({"resend_after_seconds": 0})).await;
    let (_, _, started) = start(&setup, &start_body(PHONE)).await;
    let code = last_code(&setup).await;
    let (_, answer) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    let consent = answer["receipt"].clone();

    // Withdrawal asked for another number: answered alike, but no SMS goes out.
    let mut withdraw = start_body("+7 705 999 88 77");
    withdraw["withdraw"] = json!(true);
    let (status, _, nobody) = start(&setup, &withdraw).await;
    assert_eq!(status, StatusCode::CREATED, "{nobody}");
    assert_eq!(messages(&setup).await.len(), 1);
    let (status, _) = enter(
        &setup,
        nobody["confirmation_id"].as_str().unwrap(),
        "000000",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let mut withdraw = start_body(PHONE);
    withdraw["withdraw"] = json!(true);
    let (status, _, started) = start(&setup, &withdraw).await;
    assert_eq!(status, StatusCode::CREATED);
    let sent = messages(&setup).await;
    assert!(
        sent.last().unwrap().text.contains("для отзыва согласия"),
        "{:?}",
        sent.last()
    );
    let code = last_code(&setup).await;
    let (status, answer) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    let withdrawn = &answer["withdrawn"][0]["receipt"];
    assert_eq!(withdrawn["action"], "withdraw");
    assert_eq!(withdrawn["method"], "sms");
    assert_eq!(withdrawn["consent_id"], consent["consent_id"]);
    // Nothing granted is left (an empty list is not written).
    assert_eq!(withdrawn.get("granted_purposes"), None);
    assert_eq!(withdrawn["denied_purposes"].as_array().unwrap().len(), 4);
    assert_eq!(withdrawn["sms"]["phone_hash"], consent["sms"]["phone_hash"]);

    // Nothing left to withdraw: the next code is not sent.
    let before = messages(&setup).await.len();
    let (status, _, _) = start(&setup, &withdraw).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(messages(&setup).await.len(), before);

    // Art. 24: the DPO finds every receipt of the number; the marketer may not.
    let path = format!("/v1/receipts?phone={}", urlencode(PHONE));
    let (status, _, found) = send(&setup.app, admin_get(&path)).await;
    assert_eq!(status, StatusCode::OK, "{found}");
    let actions: Vec<&str> = found["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["receipt"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["form", "withdraw"]);
    let (status, _, _) = send(&setup.app, admin_get("/v1/receipts?phone=12345")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let report = kelisim_server::verify::verify(setup.state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let _ = NORMAL;
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'0'..=b'9' | b'a'..=b'z' | b'A'..=b'Z' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn the_log_gateway_prints_instead_of_sending_and_a_site_without_sms_refuses() {
    let setup = setup("log", json!({})).await;
    let (status, _, started) = start(&setup, &start_body(PHONE)).await;
    assert_eq!(status, StatusCode::CREATED, "{started}");
    assert!(messages(&setup).await.is_empty());
    // Without `sms` in the sites file.
    let (app, _) = test_app(&sqlite_url()).await;
    let (status, _, answer) = send(
        &app,
        post("/v1/confirmations", start_body(PHONE).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("does not confirm consent by SMS"),
        "{answer}"
    );
}

/// A form post from the kiosk page, with the session cookie.
fn kiosk_post(path: &str, cookie: &str, fields: &str) -> Request<Body> {
    Request::post(path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", cookie)
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(fields.to_owned()))
        .unwrap()
}

#[tokio::test]
async fn a_kiosk_session_records_the_store_and_a_wrong_site_token_is_refused() {
    use kelisim_server::access::{Credential, CredentialsFile, KioskScope, Role};
    let mut setup = setup("mobizon", json!({})).await;
    let token = kelisim_server::access::new_token();
    let other = kelisim_server::access::new_token();
    let credential = |name: &str, token: &str, site: &str| Credential {
        name: name.into(),
        role: Role::Kiosk,
        token_sha256: hex::encode(kelisim_server::access::digest(token)),
        kiosk: Some(KioskScope {
            site: site.into(),
            location: "Алматы, Достық 5".into(),
        }),
    };
    let dpo = kelisim_server::access::new_token();
    let credentials = CredentialsFile {
        credentials: vec![
            credential("tablet-dostyk", &token, "glazik-kz"),
            credential("tablet-other", &other, "another-shop"),
            Credential {
                name: "dpo".into(),
                role: Role::Dpo,
                token_sha256: hex::encode(kelisim_server::access::digest(&dpo)),
                kiosk: None,
            },
        ],
    };
    setup
        .state
        .reload(setup.state.sites().as_ref().clone(), &credentials);
    setup.app = app(setup.state.clone());

    // Without a session: the sign-in page.
    let (status, _, page) = send(
        &setup.app,
        Request::get("/kiosk/glazik-kz/signup?lang=ru")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.as_str().unwrap().contains("name=\"token\""));
    // Another site's kiosk token does not open this one.
    let refused = kiosk_post(
        "/kiosk/glazik-kz/signup/login?lang=ru",
        "",
        &format!("token={other}"),
    );
    assert_eq!(send(&setup.app, refused).await.0, StatusCode::UNAUTHORIZED);
    let response = tower::ServiceExt::oneshot(
        setup.app.clone(),
        kiosk_post(
            "/kiosk/glazik-kz/signup/login?lang=ru",
            "",
            &format!("token={token}"),
        ),
    )
    .await
    .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("Path=/kiosk") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
    let cookie = cookie.split(';').next().unwrap().to_owned();

    let start = Request::get("/kiosk/glazik-kz/signup?lang=ru")
        .header("cookie", &cookie)
        .body(Body::empty())
        .unwrap();
    let (status, headers, page) = send(&setup.app, start).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("Номер мобильного телефона") && page.contains("name=\"purpose\""),
        "{page}"
    );
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("script-src 'self'"));
    assert_eq!(headers["cache-control"], "no-store");

    // A wrong number: the start page again, with the message in Russian.
    let (status, _, page) = send(
        &setup.app,
        kiosk_post(
            "/kiosk/glazik-kz/signup/send?lang=ru",
            &cookie,
            "purpose=account&phone=12345",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page
        .as_str()
        .unwrap()
        .contains("Введите казахстанский мобильный номер"));

    let (status, _, page) = send(
        &setup.app,
        kiosk_post(
            "/kiosk/glazik-kz/signup/send?lang=ru",
            &cookie,
            "purpose=account&purpose=sms&phone=%2B7+701+123+45+67",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = page.as_str().unwrap().to_owned();
    assert!(page.contains("+7 701 *** ** 67"), "{page}");
    let id = page
        .split("name=\"confirmation_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let code = last_code(&setup).await;
    let (status, _, page) = send(
        &setup.app,
        kiosk_post(
            "/kiosk/glazik-kz/signup/confirm?lang=ru",
            &cookie,
            &format!(
                "confirmation_id={id}&phone=%2B77011234567&code={}",
                other_code(&code)
            ),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.as_str().unwrap().contains("Неверный код"));
    let (status, _, page) = send(
        &setup.app,
        kiosk_post(
            "/kiosk/glazik-kz/signup/confirm?lang=ru",
            &cookie,
            &format!("confirmation_id={id}&phone=%2B77011234567&code={code}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = page.as_str().unwrap();
    assert!(
        page.contains("Согласие подтверждено кодом из SMS") && page.contains("Следующий клиент"),
        "{page}"
    );
    // Nothing of the customer's on the thank-you page, which returns to an empty start page.
    // Not a digit run of the phone anywhere, once the receipt id (a random UUID, which may hold
    // "701" too) is taken out.
    let receipt_id = page
        .split("<code>")
        .nth(1)
        .and_then(|rest| rest.split("</code>").next())
        .expect("the thank-you page names the receipt");
    assert!(!page.replace(receipt_id, "").contains("701"), "{page}");
    assert!(page.contains("data-idle-seconds=\"10\""), "{page}");

    let path = format!("/v1/receipts?phone={}", urlencode(PHONE));
    let (_, _, found) = send(&setup.app, admin_get(&path)).await;
    let receipt = &found["receipts"][0]["receipt"];
    assert_eq!(
        receipt["sms"]["kiosk"],
        json!({"location": "Алматы, Достық 5", "staff": "tablet-dostyk"})
    );
    assert_eq!(receipt["user_agent"], "kelisim kiosk");
    assert_eq!(receipt["page_url"], "urn:kelisim:kiosk:glazik-kz/signup");
    assert_eq!(receipt["policy_url"], "https://glazik.kz/privacy.html#ru");

    // The kiosk reads no receipt.
    let mut asked = admin_get(&path);
    asked
        .headers_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    assert_eq!(send(&setup.app, asked).await.0, StatusCode::FORBIDDEN);

    // The DPO's dashboard finds the receipt by the number, with how it was confirmed.
    let response = tower::ServiceExt::oneshot(
        setup.app.clone(),
        kiosk_post("/dashboard/login?lang=ru", "", &format!("token={dpo}")),
    )
    .await
    .unwrap();
    let session = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let look_up = Request::get(format!(
        "/dashboard?lang=ru&id={}",
        urlencode("8 701 123 45 67")
    ))
    .header("cookie", &session)
    .body(Body::empty())
    .unwrap();
    let (status, _, page) = send(&setup.app, look_up).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("sms (mobizon") && page.contains("Алматы, Достық 5"),
        "{page}"
    );
    assert!(
        page.contains("href=\"/withdraw/glazik-kz/signup?lang=ru\""),
        "{page}"
    );
}

#[tokio::test]
async fn the_visitor_withdraws_on_the_public_page_by_a_code_to_the_same_number() {
    let setup = setup("mobizon", json!({"resend_after_seconds": 0})).await;
    let (_, _, started) = start(&setup, &start_body(PHONE)).await;
    let consent_confirmation = started["confirmation_id"].as_str().unwrap().to_owned();
    let code = last_code(&setup).await;
    let (status, _) = enter(&setup, &consent_confirmation, &code).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _, page) = send(
        &setup.app,
        Request::get("/withdraw/glazik-kz/signup?lang=ru")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("Отзыв согласия") && !page.contains("name=\"purpose\""),
        "{page}"
    );
    assert!(
        !page.contains("Дать согласие"),
        "the public page only withdraws"
    );
    // Even a form asking for consent is a withdrawal here.
    let (status, _, page) = send(
        &setup.app,
        kiosk_post(
            "/withdraw/glazik-kz/signup/send?lang=ru",
            "",
            "purpose=account&phone=%2B7+701+123+45+67",
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let page = page.as_str().unwrap().to_owned();
    let id = page
        .split("name=\"confirmation_id\" value=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    assert!(messages(&setup)
        .await
        .last()
        .unwrap()
        .text
        .contains("для отзыва согласия"));
    // The public page confirms withdrawals only.
    let (status, _, _) = send(
        &setup.app,
        kiosk_post(
            "/withdraw/glazik-kz/signup/confirm?lang=ru",
            "",
            &format!("confirmation_id={consent_confirmation}&code={code}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let code = last_code(&setup).await;
    let (status, _, page) = send(
        &setup.app,
        kiosk_post(
            "/withdraw/glazik-kz/signup/confirm?lang=ru",
            "",
            &format!("confirmation_id={id}&phone=%2B77011234567&code={code}"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.as_str().unwrap().contains("Согласие отозвано"));
    let path = format!("/v1/receipts?phone={}", urlencode(PHONE));
    let (_, _, found) = send(&setup.app, admin_get(&path)).await;
    let last = &found["receipts"][1]["receipt"];
    assert_eq!(
        (last["action"].as_str(), last["method"].as_str()),
        (Some("withdraw"), Some("sms"))
    );
    assert_eq!(last["page_url"], "urn:kelisim:withdraw:glazik-kz/signup");
    // A post from another site's page is refused.
    let mut forged = kiosk_post(
        "/withdraw/glazik-kz/signup/send?lang=ru",
        "",
        "phone=%2B77011234567",
    );
    forged
        .headers_mut()
        .insert("sec-fetch-site", "cross-site".parse().unwrap());
    assert_eq!(send(&setup.app, forged).await.0, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_phone_hash_column_pointed_at_another_receipt_is_caught() {
    let setup = setup("mobizon", json!({})).await;
    post_receipt(&setup.app, &receipt(7)).await;
    let (_, _, started) = start(&setup, &start_body(PHONE)).await;
    let code = last_code(&setup).await;
    let (status, answer) = enter(&setup, started["confirmation_id"].as_str().unwrap(), &code).await;
    assert_eq!(status, StatusCode::CREATED);
    let hash = answer["receipt"]["sms"]["phone_hash"]
        .as_str()
        .unwrap()
        .to_owned();
    // Someone with the database marks a banner receipt as this number's.
    setup
        .state
        .store()
        .execute_raw(&format!(
            "UPDATE receipts SET phone_hash = '{hash}' WHERE action = 'custom'"
        ))
        .await
        .unwrap();
    let path = format!("/v1/receipts?phone={}", urlencode(PHONE));
    let (status, _, _) = send(&setup.app, admin_get(&path)).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let report = kelisim_server::verify::verify(setup.state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| format!("{p:?}").contains("phone_hash column")),
        "{:?}",
        report.problems
    );
}
