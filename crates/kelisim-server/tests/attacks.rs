//! The server under attack, each case through the real router on a real SQLite database: no
//! admin data without the token, hostile strings stored verbatim or refused by name, oversized
//! and deeply nested JSON refused, static files that cannot be escaped, garbage that never
//! causes a 5xx, and nothing stored from a rejected request.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use serde_json::{json, Value};

/// Every admin route, as (method, path, body).
fn admin_routes() -> Vec<(&'static str, String, Option<String>)> {
    let id = receipt(1)["receipt_id"].as_str().unwrap().to_owned();
    let consent = receipt(1)["consent_id"].as_str().unwrap().to_owned();
    vec![
        ("GET", format!("/v1/receipts/{id}"), None),
        ("GET", format!("/v1/consents/{consent}"), None),
        (
            "POST",
            format!("/v1/consents/{consent}/withdraw"),
            Some(json!({"method": "email"}).to_string()),
        ),
        ("GET", "/v1/export.csv".into(), None),
        ("GET", "/v1/stats?site=glazik-kz".into(), None),
    ]
}

#[tokio::test]
async fn admin_routes_and_the_dashboard_need_the_token() {
    let (app, state) = test_app(&sqlite_url()).await;
    post_receipt(&app, &receipt(1)).await;
    let almost = format!("Bearer {ADMIN_TOKEN}x");
    let lowercase = format!("bearer{ADMIN_TOKEN}");
    let basic = format!("Basic {ADMIN_TOKEN}");
    for (method, path, body) in admin_routes() {
        for authorization in [
            None,
            Some("Bearer wrong"),
            Some(almost.as_str()),
            Some(lowercase.as_str()),
            Some(basic.as_str()),
            Some("Bearer "),
        ] {
            let mut request = Request::builder()
                .method(method)
                .uri(&path)
                .header("content-type", "application/json");
            if let Some(value) = authorization {
                request = request.header("authorization", value);
            }
            let request = request
                .body(Body::from(body.clone().unwrap_or_default()))
                .unwrap();
            let (status, _, answer) = send(&app, request).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {authorization:?}: {answer}"
            );
            assert!(!answer.to_string().contains("yandex-metrika"), "{answer}");
        }
    }
    assert_eq!(row_count(&state).await, 1, "no withdrawal was stored");
    // The dashboard shows its login page, not numbers, without a session or with a forged one.
    for cookie in [
        None,
        Some("kelisim_session=forged"),
        Some("kelisim_session="),
    ] {
        let mut request = Request::get("/dashboard?site=glazik-kz");
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let (status, _, page) = send(&app, request.body(Body::empty()).unwrap()).await;
        assert_eq!(status, StatusCode::OK);
        let page = page.as_str().unwrap_or_default();
        assert!(page.contains("type=\"password\""), "{cookie:?}: {page}");
        assert!(!page.contains("data-total"), "{cookie:?} saw numbers");
    }
    // A wrong token at the login is refused and opens no session.
    let login = Request::post("/dashboard/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(Body::from("token=wrong"))
        .unwrap();
    let (_, headers, _) = send(&app, login).await;
    assert!(headers.get("set-cookie").is_none());
}

/// Strings an attacker would try in every string field of a receipt.
const HOSTILE: [&str; 6] = [
    "'); DROP TABLE receipts; --",
    "\" OR 1=1 --",
    "=cmd|' /C calc'!A0",
    "<script>alert(1)</script>",
    "line\nbreak\ttab\u{7}bell\u{1b}[31m",
    "nul\u{0}byte",
];

#[tokio::test]
async fn hostile_strings_are_stored_verbatim_or_refused_by_name() {
    let (app, state) = test_app(&sqlite_url()).await;
    let fields: Vec<String> = receipt(0)
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, value)| value.is_string())
        .map(|(name, _)| name.clone())
        .collect();
    let mut n = 100;
    let mut stored = 0;
    for field in &fields {
        for text in HOSTILE {
            n += 1;
            let mut body = receipt(n);
            body[field.as_str()] = json!(text);
            let (status, answer) = post_receipt(&app, &body).await;
            match status {
                StatusCode::CREATED => {
                    stored += 1;
                    // Verbatim, but for the two fields the server reduces on purpose.
                    let kept = match field.as_str() {
                        "user_agent" => kelisim_server::user_agent::reduce(text),
                        "page_url" => kelisim_server::receipt::clean_page_url(text),
                        _ => text.to_string(),
                    };
                    assert_eq!(answer["receipt"][field.as_str()], json!(kept), "{field}");
                    let id = body["receipt_id"].as_str().unwrap();
                    let (_, _, again) = send(&app, admin_get(&format!("/v1/receipts/{id}"))).await;
                    assert_eq!(again["receipt"][field.as_str()], json!(kept), "{field}");
                }
                StatusCode::BAD_REQUEST => {
                    assert_eq!(answer["field"], field.as_str(), "{text:?}: {answer}");
                }
                other => panic!("{field} = {text:?}: {other} {answer}"),
            }
        }
    }
    assert_eq!(
        row_count(&state).await,
        stored,
        "only accepted receipts are stored"
    );
    assert!(stored > 0, "free-text fields keep what they were sent");
    // The export stays one CSV record per receipt, with formulas defused.
    let (status, _, csv) = send(&app, admin_get("/v1/export.csv")).await;
    assert_eq!(status, StatusCode::OK);
    let csv = csv.as_str().unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    assert_eq!(reader.records().count(), stored);
    assert!(!csv.contains(",=cmd"), "a formula reached a cell start");
}

#[tokio::test]
async fn oversized_and_deeply_nested_bodies_are_refused() {
    let (app, state) = test_app(&sqlite_url()).await;
    let mut huge = receipt(1);
    huge["user_agent"] = json!("x".repeat(20_000));
    let deep = format!(
        "{{\"receipt_id\": {}1{}}}",
        "[".repeat(5_000),
        "]".repeat(5_000)
    );
    let deep_object = "{\"a\":".repeat(2_000) + "1" + &"}".repeat(2_000);
    for path in ["/v1/receipts", "/v1/impressions"] {
        for (body, expected) in [
            (huge.to_string(), StatusCode::PAYLOAD_TOO_LARGE),
            (deep.clone(), StatusCode::BAD_REQUEST),
            (deep_object.clone(), StatusCode::BAD_REQUEST),
        ] {
            let (status, _, answer) = send(&app, post(path, body)).await;
            assert_eq!(status, expected, "{path}: {answer}");
            assert!(
                answer.get("error").is_some(),
                "{path}: a JSON message: {answer}"
            );
        }
    }
    let withdraw = Request::post(format!(
        "/v1/consents/{}/withdraw",
        receipt(1)["consent_id"].as_str().unwrap()
    ))
    .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
    .header("content-type", "application/json")
    .body(Body::from(deep_object))
    .unwrap();
    assert!(send(&app, withdraw).await.0.is_client_error());
    assert_eq!(row_count(&state).await, 0);
}

#[tokio::test]
async fn garbage_never_causes_a_server_error() {
    let (app, state) = test_app(&sqlite_url()).await;
    let bodies: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"string\"".to_vec(),
        vec![0xff, 0xfe, 0x00, 0x81],
        b"{\"receipt_id\": 1e999999}".to_vec(),
        b"{\"revision\": -1}".to_vec(),
        b"{\"revision\": 18446744073709551616}".to_vec(),
        b"{".repeat(100),
        b"{\"site\": \"glazik-kz\", \"site\": \"other\"}".to_vec(),
        "{\"language\": \"\u{202e}kk\"}".as_bytes().to_vec(),
    ];
    for path in ["/v1/receipts", "/v1/impressions"] {
        for body in &bodies {
            let (status, _, answer) = send(&app, post(path, body.clone())).await;
            assert!(
                status.is_client_error(),
                "{path} {:?}: {status} {answer}",
                String::from_utf8_lossy(body)
            );
        }
    }
    assert_eq!(row_count(&state).await, 0);
}

#[tokio::test]
async fn static_files_cannot_be_escaped() {
    let base = std::env::temp_dir().join(format!("kelisim-static-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for dir in ["www", "sdk"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    std::fs::write(base.join("www/index.html"), "<h1>store</h1>").unwrap();
    std::fs::write(base.join("sdk/kelisim.js"), "// sdk").unwrap();
    std::fs::write(base.join("secret.txt"), "TOP-SECRET").unwrap();
    std::fs::write(base.join("www/.env"), "TOP-SECRET").unwrap_or_default();
    let app = app_serving(Some(base.join("www")), Some(base.join("sdk"))).await;
    let (status, _, page) = send(&app, Request::get("/").body(Body::empty()).unwrap()).await;
    assert_eq!(
        (status, page),
        (StatusCode::OK, Value::String("<h1>store</h1>".into()))
    );
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/..%2fsecret.txt",
        "/..%5csecret.txt",
        "/sdk/../secret.txt",
        "/sdk/%2e%2e/secret.txt",
        "/sdk/..%2f..%2fsecret.txt",
        "//secret.txt",
        "/sdk//../../secret.txt",
        "/%00/../secret.txt",
    ] {
        let Ok(request) = Request::get(path).body(Body::empty()) else {
            continue; // not even a valid request line
        };
        let (status, _, answer) = send(&app, request).await;
        assert!(
            !answer.to_string().contains("TOP-SECRET"),
            "{path} leaked a file outside the served folders ({status})"
        );
        assert!(!status.is_server_error(), "{path}: {status}");
    }
}

#[test]
fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    use kelisim_server::client_address;
    let ip = |text: &str| text.parse::<std::net::IpAddr>().unwrap();
    let proxy = [ip("10.0.0.2")];
    // No trusted proxy: the header is ignored, whatever it says.
    assert_eq!(
        client_address(ip("198.51.100.9"), "203.0.113.7", &[]),
        ip("198.51.100.9")
    );
    // From the proxy: the address it appended.
    assert_eq!(
        client_address(ip("10.0.0.2"), "203.0.113.7", &proxy),
        ip("203.0.113.7")
    );
    // A visitor's own forged entries sit to the left of what the proxy appended.
    assert_eq!(
        client_address(ip("10.0.0.2"), "1.2.3.4, 203.0.113.7", &proxy),
        ip("203.0.113.7")
    );
    // Chained trusted proxies are skipped; garbage stops the walk.
    let proxies = [ip("10.0.0.2"), ip("10.0.0.3")];
    assert_eq!(
        client_address(ip("10.0.0.2"), "203.0.113.7, 10.0.0.3", &proxies),
        ip("203.0.113.7")
    );
    assert_eq!(
        client_address(ip("10.0.0.2"), "not-an-ip", &proxy),
        ip("10.0.0.2")
    );
    // A direct client that is not the proxy cannot use the header.
    assert_eq!(
        client_address(ip("198.51.100.9"), "203.0.113.7", &proxy),
        ip("198.51.100.9")
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_visitor_network_is_stored() {
    use axum::extract::ConnectInfo;
    let store = kelisim_server::store::Store::open(&sqlite_url())
        .await
        .unwrap();
    let app = kelisim_server::app(kelisim_server::AppState::new(kelisim_server::Settings {
        trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
        ..settings(store)
    }));
    for (n, peer, forwarded, expected) in [
        (
            1,
            "127.0.0.1:5000",
            "1.2.3.4, 203.0.113.7",
            "203.0.113.0/24",
        ),
        (2, "198.51.100.9:5000", "203.0.113.7", "198.51.100.0/24"),
    ] {
        let mut request = post("/v1/receipts", receipt(n).to_string());
        request
            .headers_mut()
            .insert("x-forwarded-for", forwarded.parse().unwrap());
        request
            .extensions_mut()
            .insert(ConnectInfo(peer.parse::<std::net::SocketAddr>().unwrap()));
        let (status, _, stored) = send(&app, request).await;
        assert_eq!(status, StatusCode::CREATED, "{stored}");
        assert_eq!(stored["ip_prefix"], expected, "peer {peer}");
    }
}

#[tokio::test]
async fn one_site_cannot_write_or_read_another_sites_numbers() {
    use kelisim_server::sites::{Site, Sites};
    let store = kelisim_server::store::Store::open(&sqlite_url())
        .await
        .unwrap();
    let two_sites = Sites::new(vec![
        Site {
            id: "glazik-kz".into(),
            origins: vec![ORIGIN.into()],
            retention_days: 30,
            full_user_agent: false,
            config: None,
            sms: None,
            sms_gateway: None,
            eds: None,
            eds_roots: None,
        },
        Site {
            id: "nlg-kz".into(),
            origins: vec!["https://nlg.kz".into()],
            retention_days: 30,
            full_user_agent: false,
            config: None,
            sms: None,
            sms_gateway: None,
            eds: None,
            eds_roots: None,
        },
    ]);
    let state = kelisim_server::AppState::new(kelisim_server::Settings {
        sites: two_sites,
        ..settings(store)
    });
    let app = kelisim_server::app(state.clone());
    // glazik.kz's page posts a receipt and an impression claiming to be nlg-kz: refused.
    let mut forged = receipt(1);
    forged["site"] = json!("nlg-kz");
    let (status, _, answer) = send(&app, post("/v1/receipts", forged.to_string())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    let impression = json!({"site": "nlg-kz", "language": "ru", "page": "/"});
    let (status, _, _) = send(&app, post("/v1/impressions", impression.to_string())).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(row_count(&state).await, 0);
    // Its own receipt is stored, and counts only for itself.
    let (status, _) = post_receipt(&app, &receipt(2)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, _, theirs) = send(
        &app,
        admin_get("/v1/stats?site=nlg-kz&from=2000-01-01&to=2099-12-31&by=category"),
    )
    .await;
    assert_eq!(theirs["rows"], json!([]), "{theirs}");
    let (_, _, ours) = send(
        &app,
        admin_get("/v1/stats?site=glazik-kz&from=2000-01-01&to=2099-12-31&by=day"),
    )
    .await;
    let decisions: i64 = ours["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["decisions"].as_i64().unwrap())
        .sum();
    assert_eq!(decisions, 1, "{ours}");
}
