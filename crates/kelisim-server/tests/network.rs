//! The server binary over loopback, as a hostile client meets it: replayed receipt ids, data
//! after the JSON, a dual-stack listener, the admin token's secrecy, cross-site sign-out,
//! and what a receipt keeps of the page and the browser. Every request is bounded.

mod common;

use common::binary::*;
use common::receipt;
use std::time::Duration;

/// `(status, body, headers)` of a request; any status is an answer, not an error.
fn send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> (u16, String, Vec<(String, String)>) {
    // Redirects are answers here, not followed.
    let agent = ureq::AgentBuilder::new().redirects(0).build();
    let mut request = agent.request(method, url).timeout(Duration::from_secs(10));
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let answer = match body {
        Some(body) => request.send_string(body),
        None => request.call(),
    };
    let response = match answer {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => panic!("{method} {url}: {error}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .map(|name| {
            let value = response.header(&name).unwrap_or_default().to_owned();
            (name, value)
        })
        .collect();
    (status, response.into_string().unwrap_or_default(), headers)
}

fn two_sites(name: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    std::fs::write(
        dir.join("sites.json"),
        r#"{"sites": [{"id": "glazik-kz", "origins": ["https://glazik.kz"]},
                      {"id": "nlg-kz", "origins": ["https://nlg.kz"]}]}"#,
    )
    .unwrap();
    dir
}

#[test]
fn a_known_receipt_id_is_answered_only_to_the_same_receipt() {
    let dir = two_sites("replay");
    let server = start(&dir, free_port());
    let url = format!("{}/v1/receipts", server.base);
    let first = receipt(1);
    let glazik = [("origin", "https://glazik.kz")];
    let (status, _, _) = send("POST", &url, &glazik, Some(&first.to_string()));
    assert_eq!(status, 201);
    // The same receipt again (a retry): the stored answer.
    let (status, body, headers) = send("POST", &url, &glazik, Some(&first.to_string()));
    assert_eq!(status, 201, "{body}");
    assert!(headers
        .iter()
        .any(|(n, v)| n == "idempotent-replayed" && v == "true"));
    // The id under another site, from that site's origin or from no browser at all, and the
    // id with other contents: 409, and nothing of the stored receipt.
    let mut other_site = first.clone();
    other_site["site"] = "nlg-kz".into();
    other_site["consent_id"] = "22222222-2222-4222-8222-222222222222".into();
    let mut other_contents = first.clone();
    other_contents["action"] = "accept_all".into();
    for (body, headers) in [
        (&other_site, &[("origin", "https://nlg.kz")][..]),
        (&other_site, &[][..]),
        (&other_contents, &glazik[..]),
    ] {
        let (status, answer, _) = send("POST", &url, headers, Some(&body.to_string()));
        assert_eq!(status, 409, "{answer}");
        for stored in [
            "11111111-1111-4111-8111-000000000001",
            "https://glazik.kz/catalog",
            "Mozilla",
            "ip_prefix",
        ] {
            assert!(!answer.contains(stored), "a 409 leaked {stored}: {answer}");
        }
    }
}

#[test]
fn data_after_the_json_is_refused() {
    let dir = temp_dir("trailing");
    let server = start(&dir, free_port());
    let glazik = [("origin", "https://glazik.kz")];
    let receipt = receipt(1).to_string();
    let impression = r#"{"site":"glazik-kz","language":"kk","page":"/"}"#;
    for (path, body) in [
        ("/v1/receipts", format!("{receipt}}}{{\"x\":1}}")),
        ("/v1/receipts", format!("{receipt}GARBAGE")),
        ("/v1/impressions", format!("{impression}{impression}")),
    ] {
        let (status, answer, _) = send(
            "POST",
            &format!("{}{path}", server.base),
            &glazik,
            Some(&body),
        );
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert!(answer.contains("after the JSON"), "{answer}");
    }
    server.stop();
    let (ok, printed) = run(&["export", "--db", &db_url(&dir)]);
    assert!(ok, "{printed}");
    assert!(printed.trim().is_empty(), "something was stored: {printed}");
}

#[test]
fn ipv4_visitors_of_a_dual_stack_listener_are_ipv4() {
    let dir = temp_dir("dual-stack");
    let port = free_port();
    let server = start_on(
        &dir,
        &format!("[::]:{port}"),
        port,
        &["--rate-per-minute", "20", "--trusted-proxy", "127.0.0.1"],
    );
    let url = format!("{}/v1/receipts", server.base);
    // Through the trusted proxy (127.0.0.1, seen as ::ffff:127.0.0.1): the forwarded visitor.
    let forwarded = [
        ("origin", "https://glazik.kz"),
        ("x-forwarded-for", "203.0.113.77"),
    ];
    let (status, answer, _) = send("POST", &url, &forwarded, Some(&receipt(1).to_string()));
    assert_eq!(status, 201, "{answer}");
    let stored: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(stored["ip_prefix"], "203.0.113.0/24");
    // Two visitors behind the proxy have buckets of their own (20 a minute: a burst of 2).
    let mut statuses = Vec::new();
    for n in 2..6 {
        let visitor = [
            ("origin", "https://glazik.kz"),
            ("x-forwarded-for", "198.51.100.9"),
        ];
        statuses.push(send("POST", &url, &visitor, Some(&receipt(n).to_string())).0);
    }
    assert_eq!(statuses[..2], [201, 201], "{statuses:?}");
    let (status, _, _) = send("POST", &url, &forwarded, Some(&receipt(9).to_string()));
    assert_eq!(
        status, 201,
        "the first visitor's bucket was shared: {statuses:?}"
    );
    let (status, _, headers_429) = send(
        "POST",
        &url,
        &[
            ("origin", "https://glazik.kz"),
            ("x-forwarded-for", "198.51.100.9"),
        ],
        Some(&receipt(10).to_string()),
    );
    assert_eq!(status, 429);
    assert!(
        headers_429.iter().any(|(n, _)| n == "retry-after"),
        "{headers_429:?}"
    );
}

#[test]
fn the_admin_token_is_never_printed_and_must_be_strong() {
    let dir = temp_dir("token");
    let port = free_port();
    let output = std::process::Command::new(BINARY)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .arg("--db")
        .arg(db_url(&dir))
        .arg("--key")
        .arg(dir.join("signing.key"))
        .arg("--sites")
        .arg(dir.join("sites.json"))
        .env("KELISIM_ADMIN_TOKEN", TOKEN)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let server = up(output, port);
    server.stop_and_read(|printed| {
        assert!(!printed.contains(TOKEN), "the token was printed: {printed}");
        assert!(printed.contains("from KELISIM_ADMIN_TOKEN"), "{printed}");
        assert!(!printed.contains("demo store"), "no --www, yet: {printed}");
        // One line per request: method, path, status, time.
        let line = printed
            .lines()
            .find(|line| line.contains("kelisim::request"))
            .unwrap_or_else(|| panic!("no request log line in {printed}"));
        for field in ["method=GET", "path=/v1/public-key", "status=200", "ms="] {
            assert!(line.contains(field), "{field} missing from {line}");
        }
    });
    // A checkout never commits the secrets a server run from it leaves behind.
    let ignored =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../.gitignore")).unwrap();
    for file in [
        "kelisim-signing.key",
        "kelisim-admin.token",
        "kelisim-heads.jsonl",
    ] {
        assert!(
            ignored.lines().any(|line| line == file),
            "{file} is not in .gitignore"
        );
    }
    for (token, words) in [
        ("", "empty"),
        ("   ", "empty"),
        ("short-token", "only 11 characters"),
    ] {
        let output = std::process::Command::new(BINARY)
            .args(["serve", "--listen", &format!("127.0.0.1:{}", free_port())])
            .arg("--db")
            .arg(db_url(&dir))
            .arg("--key")
            .arg(dir.join("signing.key"))
            .env("KELISIM_ADMIN_TOKEN", token)
            .output()
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{token:?} accepted");
        assert!(
            printed.contains(words) && printed.contains("at least 16"),
            "{printed}"
        );
    }
    // The command line has no place for it.
    let (ok, printed) = run(&["serve", "--admin-token", TOKEN]);
    assert!(!ok && printed.contains("--admin-token"), "{printed}");
}

#[test]
fn a_cross_site_form_cannot_sign_the_admin_out() {
    let dir = temp_dir("logout");
    let server = start(&dir, free_port());
    let logout = format!("{}/dashboard/logout", server.base);
    let session = ("cookie", "kelisim_session=abc");
    for headers in [
        vec![session, ("sec-fetch-site", "cross-site")],
        vec![session, ("origin", "https://evil.example")],
    ] {
        let (status, _, answer_headers) = send("POST", &logout, &headers, Some(""));
        assert_eq!(status, 403);
        assert!(
            !answer_headers.iter().any(|(n, _)| n == "set-cookie"),
            "{answer_headers:?}"
        );
    }
    // From the dashboard itself it works.
    let host = server.base.trim_start_matches("http://").to_owned();
    let origin = format!("http://{host}");
    let (status, _, answer_headers) = send(
        "POST",
        &logout,
        &[
            session,
            ("sec-fetch-site", "same-origin"),
            ("origin", &origin),
        ],
        Some(""),
    );
    assert_eq!(status, 303);
    assert!(answer_headers
        .iter()
        .any(|(n, v)| n == "set-cookie" && v.contains("Max-Age=0")));
}

#[test]
fn a_receipt_keeps_no_credentials_path_parameters_or_full_user_agent() {
    let dir = temp_dir("page-url");
    let server = start(&dir, free_port());
    let mut body = receipt(1);
    body["page_url"] = "https://user:secret@glazik.kz/cart;jsessionid=0123ABC/pay?order=5#x".into();
    body["user_agent"] = "Mozilla/5.0 (Linux; Android 14; SM-A546E Build/UP1A.231005.007) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.6778.135 Mobile Safari/537.36".into();
    let (status, answer, _) = send(
        "POST",
        &format!("{}/v1/receipts", server.base),
        &[("origin", "https://glazik.kz")],
        Some(&body.to_string()),
    );
    assert_eq!(status, 201, "{answer}");
    let stored: serde_json::Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(stored["receipt"]["page_url"], "https://glazik.kz/cart/pay");
    assert_eq!(
        stored["receipt"]["user_agent"],
        "Chrome 131; Android 14; Mobile"
    );
}
