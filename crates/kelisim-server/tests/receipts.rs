//! The receipts API through `app().oneshot(..)` on a real SQLite database: storing, chaining,
//! idempotency, bad input, CORS, the admin API and impressions.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use kelisim_server::chain::{link_hash, GENESIS_HASH};
use serde_json::{json, Value};

#[tokio::test]
async fn a_receipt_is_stored_chained_and_signed() {
    let (app, state) = test_app(&sqlite_url()).await;
    let (status, first) = post_receipt(&app, &receipt(1)).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["seq"], 1);
    assert_eq!(first["prev_hash"], GENESIS_HASH);
    assert_eq!(first["receipt"]["receipt_id"], receipt(1)["receipt_id"]);
    assert!(first["server_time"].as_str().unwrap().ends_with('Z'));
    let (_, second) = post_receipt(&app, &receipt(2)).await;
    assert_eq!(second["seq"], 2);
    assert_eq!(second["prev_hash"], first["hash"], "the chain links");
    // The hash covers exactly the stored text, and the signature verifies with the public key.
    let rows = state.store().chain_rows().await.unwrap();
    assert_eq!(link_hash(&rows[1].prev_hash, &rows[1].body), rows[1].hash);
    let (_, _, key) = send(
        &app,
        Request::get("/v1/public-key").body(Body::empty()).unwrap(),
    )
    .await;
    let public =
        kelisim_server::chain::PublicKey::from_hex(key["public_key"].as_str().unwrap()).unwrap();
    assert!(public
        .verify(
            second["hash"].as_str().unwrap(),
            second["signature"].as_str().unwrap()
        )
        .is_ok());
}

#[tokio::test]
async fn the_same_id_twice_gives_the_same_answer_and_one_row() {
    let (app, state) = test_app(&sqlite_url()).await;
    let (status, first) = post_receipt(&app, &receipt(7)).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, headers, again) = send(&app, post("/v1/receipts", receipt(7).to_string())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(again, first);
    assert_eq!(headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(row_count(&state).await, 1);
}

#[tokio::test]
async fn no_raw_ip_and_no_query_string_is_kept() {
    let (app, state) = test_app(&sqlite_url()).await;
    let mut with_query = receipt(3);
    with_query["page_url"] = json!("https://glazik.kz/order?email=a@b.kz#pay");
    let (status, stored) = post_receipt(&app, &with_query).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(stored["receipt"]["page_url"], "https://glazik.kz/order");
    let body = &state.store().chain_rows().await.unwrap()[0].body;
    assert!(
        !body.contains("email=") && !body.contains("127.0.0.1"),
        "{body}"
    );
    assert_eq!(
        kelisim_server::receipt::ip_prefix("203.0.113.77".parse().unwrap()),
        "203.0.113.0/24"
    );
    assert_eq!(
        kelisim_server::receipt::ip_prefix("2001:db8:1:2:3::9".parse().unwrap()),
        "2001:db8:1::/48"
    );
}

/// Sends `body` and expects `status` with an error naming `field`, and nothing stored.
async fn check_rejected(body: impl Into<Body>, status: StatusCode, field: Option<&str>) {
    let (app, state) = test_app(&sqlite_url()).await;
    let (got, _, answer) = send(&app, post("/v1/receipts", body)).await;
    assert_eq!(got, status, "{answer}");
    assert!(answer["error"].is_string(), "no JSON error: {answer}");
    if let Some(field) = field {
        assert_eq!(answer["field"], field, "{answer}");
    }
    assert!(
        !answer.to_string().to_lowercase().contains("sql"),
        "leaks SQL: {answer}"
    );
    assert_eq!(row_count(&state).await, 0, "a rejected receipt was stored");
}

fn with(edit: impl FnOnce(&mut Value)) -> String {
    let mut value = receipt(1);
    edit(&mut value);
    value.to_string()
}

#[tokio::test]
async fn bad_input_gets_a_4xx_naming_the_field_and_stores_nothing() {
    let bad = StatusCode::BAD_REQUEST;
    check_rejected("{not json", bad, Some("body")).await;
    check_rejected("[]", bad, Some("body")).await;
    check_rejected(with(|v| v["revision"] = json!("1")), bad, Some("revision")).await;
    check_rejected(with(|v| v["colour"] = json!("red")), bad, None).await;
    check_rejected(
        with(|v| drop(v.as_object_mut().unwrap().remove("consent_id"))),
        bad,
        Some("consent_id"),
    )
    .await;
    check_rejected(
        with(|v| v["receipt_id"] = json!("not-a-uuid")),
        bad,
        Some("receipt_id"),
    )
    .await;
    check_rejected(with(|v| v["action"] = json!("maybe")), bad, Some("action")).await;
    check_rejected(with(|v| v["language"] = json!("de")), bad, Some("language")).await;
    check_rejected(
        with(|v| v["granted_categories"] = json!(vec!["a"; 65])),
        bad,
        Some("granted_categories"),
    )
    .await;
    check_rejected(
        with(|v| v["granted_services"][0] = json!("Яндекс")),
        bad,
        Some("granted_services[0]"),
    )
    .await;
    check_rejected(
        with(|v| v["countries"][0] = json!("russia")),
        bad,
        Some("countries[0]"),
    )
    .await;
    check_rejected(
        with(|v| v["texts_hash"] = json!("xyz")),
        bad,
        Some("texts_hash"),
    )
    .await;
    check_rejected(with(|v| v["bin"] = json!("123")), bad, Some("bin")).await;
    check_rejected(
        with(|v| v["client_time"] = json!("1970-01-01T00:00:00Z")),
        bad,
        Some("client_time"),
    )
    .await;
    check_rejected(
        with(|v| v["client_time"] = json!("2999-01-01T00:00:00Z")),
        bad,
        Some("client_time"),
    )
    .await;
    check_rejected(
        with(|v| v["client_time"] = json!("yesterday")),
        bad,
        Some("client_time"),
    )
    .await;
    check_rejected(
        with(|v| v["expires_at"] = json!("2020-01-01T00:00:00Z")),
        bad,
        Some("expires_at"),
    )
    .await;
    check_rejected(
        with(|v| v["user_agent"] = json!("x".repeat(600))),
        bad,
        Some("user_agent"),
    )
    .await;
    check_rejected(with(|v| v["site"] = json!("other-shop")), bad, Some("site")).await;
    check_rejected(vec![b'{', 0xff, 0xfe, b'}'], bad, Some("body")).await;
    check_rejected(
        format!("{{\"receipt_id\": \"{}\"}}", "x".repeat(20_000)),
        StatusCode::PAYLOAD_TOO_LARGE,
        None,
    )
    .await;
}

#[tokio::test]
async fn form_receipts_carry_their_purposes() {
    let (app, _) = test_app(&sqlite_url()).await;
    let mut form = receipt(1);
    form["action"] = json!("form");
    form["granted_purposes"] = json!(["account", "sms"]);
    form["denied_purposes"] = json!(["telegram"]);
    let (status, _) = post_receipt(&app, &form).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "action form without form_id"
    );
    form["form_id"] = json!("signup");
    let (status, stored) = post_receipt(&app, &form).await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    assert_eq!(
        stored["receipt"]["granted_purposes"],
        json!(["account", "sms"])
    );
    // Cookie-banner receipts do not carry empty form fields.
    let (_, banner) = post_receipt(&app, &receipt(2)).await;
    assert!(
        banner["receipt"].get("form_id").is_none()
            && banner["receipt"].get("granted_purposes").is_none()
    );
}

#[tokio::test]
async fn staff_record_a_withdrawal_in_the_same_chain() {
    let (app, state) = test_app(&sqlite_url()).await;
    let mut form = receipt(1);
    form["action"] = json!("form");
    form["form_id"] = json!("signup");
    form["granted_purposes"] = json!(["account", "sms", "telegram"]);
    let (_, stored) = post_receipt(&app, &form).await;
    let consent_id = stored["receipt"]["consent_id"].as_str().unwrap().to_owned();
    let withdraw = |body: Value| {
        Request::post(format!("/v1/consents/{consent_id}/withdraw"))
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let unauthenticated = Request::post(format!("/v1/consents/{consent_id}/withdraw"))
        .body(Body::from("{}"))
        .unwrap();
    assert_eq!(
        send(&app, unauthenticated).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _, answer) = send(&app, withdraw(json!({"method": "pigeon"}))).await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("method"))
    );
    let (status, _, answer) = send(
        &app,
        withdraw(json!({"method": "email", "purposes": ["newsletter"]})),
    )
    .await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("purposes[0]"))
    );

    let (status, _, recorded) = send(
        &app,
        withdraw(json!({"method": "email", "purposes": ["sms", "telegram"]})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{recorded}");
    assert_eq!(recorded["receipt"]["action"], "withdraw");
    assert_eq!(recorded["receipt"]["method"], "staff:email");
    assert_eq!(recorded["receipt"]["granted_purposes"], json!(["account"]));
    assert_eq!(
        recorded["receipt"]["denied_purposes"],
        json!(["sms", "telegram"])
    );
    assert_eq!(recorded["prev_hash"], stored["hash"], "same chain");
    let (_, _, history) = send(&app, admin_get(&format!("/v1/consents/{consent_id}"))).await;
    let actions: Vec<&str> = history["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["receipt"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["form", "withdraw"]);
    assert!(
        kelisim_server::verify::verify(state.store(), signer().public_key(), &[])
            .await
            .unwrap()
            .problems
            .is_empty()
    );
    let unknown = Request::post("/v1/consents/11111111-1111-4111-8111-999999999999/withdraw")
        .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
        .body(Body::from(json!({"method": "letter"}).to_string()))
        .unwrap();
    assert_eq!(send(&app, unknown).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_foreign_origin_is_refused() {
    let (app, state) = test_app(&sqlite_url()).await;
    let request = Request::post("/v1/receipts")
        .header("origin", "https://evil.example")
        .body(Body::from(receipt(1).to_string()))
        .unwrap();
    let (status, _, answer) = send(&app, request).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{answer}");
    assert_eq!(row_count(&state).await, 0);

    let (status, headers, _) = send(&app, post("/v1/receipts", receipt(2).to_string())).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(headers.get("access-control-allow-origin").unwrap(), ORIGIN);

    let preflight = |origin: &str| {
        Request::options("/v1/receipts")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .body(Body::empty())
            .unwrap()
    };
    let (status, headers, _) = send(&app, preflight(ORIGIN)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(headers.get("access-control-allow-origin").unwrap(), ORIGIN);
    let (status, _, _) = send(&app, preflight("https://evil.example")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn admin_api_needs_the_token_and_answers_access_requests() {
    let (app, _) = test_app(&sqlite_url()).await;
    for n in 0..6 {
        post_receipt(&app, &receipt(n)).await;
    }
    let id = receipt(4)["receipt_id"].as_str().unwrap().to_owned();
    let (status, _, _) = send(
        &app,
        Request::get(format!("/v1/receipts/{id}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let wrong = Request::get(format!("/v1/receipts/{id}"))
        .header("authorization", "Bearer nope")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&app, wrong).await.0, StatusCode::UNAUTHORIZED);

    let (status, _, record) = send(&app, admin_get(&format!("/v1/receipts/{id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(record["receipt"]["receipt_id"], id.as_str());
    assert_eq!(
        send(
            &app,
            admin_get("/v1/receipts/00000000-0000-4000-8000-999999999999")
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );

    // Consent id ...0001 made receipts 1 and 4: its whole history, oldest first.
    let consent_id = receipt(1)["consent_id"].as_str().unwrap().to_owned();
    let (status, _, history) = send(&app, admin_get(&format!("/v1/consents/{consent_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    let seqs: Vec<i64> = history["receipts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs, [2, 5]);
}

#[tokio::test]
async fn csv_export_is_safe_for_spreadsheets() {
    let (app, _) = test_app(&sqlite_url()).await;
    let mut hostile = receipt(1);
    hostile["method"] = json!("=HYPERLINK(\"https://evil.example\",\"click\")");
    post_receipt(&app, &hostile).await;
    let (status, headers, csv) = send(&app, admin_get("/v1/export.csv")).await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("site,seq,server_time,receipt_id"), "{csv}");
    assert!(csv.contains("\"'=HYPERLINK("), "formula not defused: {csv}");
}

#[tokio::test]
async fn impressions_are_anonymous_counts() {
    let (app, state) = test_app(&sqlite_url()).await;
    let impression =
        json!({"site": "glazik-kz", "language": "kk", "variant": "a", "page": "/catalog?utm=x"});
    for _ in 0..3 {
        let (status, _, answer) = send(&app, post("/v1/impressions", impression.to_string())).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{answer}");
    }
    assert_eq!(
        state.store().impression_count("glazik-kz").await.unwrap(),
        3
    );
    let with_id = json!({"site": "glazik-kz", "language": "kk", "page": "/", "consent_id": "x"});
    assert_eq!(
        send(&app, post("/v1/impressions", with_id.to_string()))
            .await
            .0,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn rate_limit_answers_429() {
    let store = kelisim_server::store::Store::open(&sqlite_url())
        .await
        .unwrap();
    // 20 a minute: a burst of 2, then one every 3.3 s.
    let state = kelisim_server::AppState::new(kelisim_server::Settings {
        rate_per_minute: 20,
        ..settings(store)
    });
    let app = kelisim_server::app(state);
    let mut answers = Vec::new();
    for n in 0..4 {
        answers.push(send(&app, post("/v1/receipts", receipt(n).to_string())).await);
    }
    let statuses: Vec<StatusCode> = answers.iter().map(|(status, _, _)| *status).collect();
    assert_eq!(statuses[..2], [StatusCode::CREATED, StatusCode::CREATED]);
    let (status, headers, body) = &answers[2];
    assert_eq!(*status, StatusCode::TOO_MANY_REQUESTS, "{statuses:?}");
    let retry_after: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=4).contains(&retry_after), "Retry-After: {retry_after}");
    assert!(body["error"].as_str().unwrap().contains("too many"));
}

/// The limit is what docs/server.md says: at most N requests in any minute, however they are
/// spread (a clock the test moves, so the count is exact).
#[test]
fn the_rate_limit_admits_at_most_its_number_per_minute() {
    use governor::clock::FakeRelativeClock;
    for per_minute in [600, 60, 7] {
        let clock = FakeRelativeClock::default();
        let limiter = governor::RateLimiter::direct_with_clock(
            kelisim_server::rate_quota(per_minute),
            clock.clone(),
        );
        // 1,300 requests spread evenly over a minute, then a burst at its end.
        let mut accepted = 0;
        for _ in 0..1_300 {
            accepted += u32::from(limiter.check().is_ok());
            clock.advance(std::time::Duration::from_secs(60) / 1_300);
        }
        assert!(accepted <= per_minute, "{accepted} > {per_minute}");
        // The last replenishment falls at the minute's very end, just after the last request.
        assert!(accepted + 1 >= per_minute, "{accepted} of {per_minute}");
    }
}

/// The JSON Schema published in the npm package describes exactly what the server accepts.
#[test]
fn published_schema_matches_the_server() {
    let schema: Value =
        serde_json::from_str(include_str!("../../../pkg-template/receipt.schema.json")).unwrap();
    let mut sample = receipt(1);
    sample["form_id"] = json!("signup");
    sample["granted_purposes"] = json!(["account"]);
    sample["denied_purposes"] = json!(["sms"]);
    sample["config_id"] = json!("c".repeat(64));
    let mut schema_fields: Vec<&str> = schema["properties"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sample_fields: Vec<&str> = sample
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    schema_fields.sort_unstable();
    sample_fields.sort_unstable();
    assert_eq!(schema_fields, sample_fields);
    let required: Vec<&str> = schema["required"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for field in &sample_fields {
        // A field is required exactly when the server refuses the receipt without it.
        let mut without = sample.clone();
        without.as_object_mut().unwrap().remove(*field);
        let accepted = kelisim_server::receipt::parse_receipt(
            without.to_string().as_bytes(),
            time::OffsetDateTime::now_utc(),
        )
        .is_ok();
        assert_eq!(
            !accepted,
            required.contains(field),
            "`{field}`: schema and server disagree on whether it is required"
        );
    }
    assert_eq!(schema["additionalProperties"], false);
}

#[tokio::test]
async fn a_batch_is_stored_in_order_and_repeated_ids_are_answered_once() {
    use kelisim_server::store::NewReceipt;
    let (_, state) = test_app(&sqlite_url()).await;
    let new = |n: u32| NewReceipt {
        receipt: serde_json::from_value(receipt(n)).unwrap(),
        ip_prefix: None,
        now: time::OffsetDateTime::now_utc(),
    };
    let (first, replayed) = state
        .store()
        .insert_receipt(
            new(1).receipt,
            None,
            &signer(),
            time::OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
    assert!(!replayed);
    // 2, 1 (stored before), 3, 2 (repeated within the batch), 4.
    let batch = [new(2), new(1), new(3), new(2), new(4)];
    let answers = state
        .store()
        .insert_receipts(&batch, &signer())
        .await
        .unwrap();
    let seqs: Vec<(i64, bool)> = answers
        .iter()
        .map(|(record, replayed)| (record.stored.seq, *replayed))
        .collect();
    assert_eq!(
        seqs,
        [(2, false), (1, true), (3, false), (2, true), (4, false)]
    );
    assert_eq!(
        answers[1].0, first,
        "a stored id is answered with its stored record"
    );
    assert_eq!(answers[0].0, answers[3].0);
    assert_eq!(
        answers[2].0.prev_hash, answers[0].0.hash,
        "the batch chains in order"
    );
    assert_eq!(row_count(&state).await, 4);
    let report = kelisim_server::verify::verify(state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_posts_are_group_committed_into_one_valid_chain() {
    let (app, state) = test_app(&sqlite_url()).await;
    let mut tasks = Vec::new();
    // 300 receipts at once, every fifth sent twice: the writer takes them in batches.
    for n in 0..300u32 {
        for _ in 0..(1 + u32::from(n % 5 == 0)) {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let (status, body) = post_receipt(&app, &receipt(n)).await;
                (n, status, body)
            }));
        }
    }
    let mut by_id = std::collections::HashMap::new();
    for task in tasks {
        let (n, status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "receipt {n}: {body}");
        if let Some(earlier) = by_id.insert(n, body.clone()) {
            assert_eq!(
                earlier, body,
                "both answers for receipt {n} are the stored record"
            );
        }
    }
    let rows = state.store().chain_rows().await.unwrap();
    assert_eq!(rows.len(), 300, "each id stored exactly once");
    let seqs: Vec<i64> = rows.iter().map(|row| row.seq).collect();
    assert_eq!(seqs, (1..=300).collect::<Vec<i64>>());
    let report = kelisim_server::verify::verify(state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
