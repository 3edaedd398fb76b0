//! `GET /v1/stats` on seeded data, checked against numbers worked out by hand. Three visitors:
//! A sees the banner on three pages and then accepts all (three impressions, one decision);
//! B rejects all; C, on the next day and in Kazakh, grants analytics only, later accepts all
//! (a change) and then withdraws. A form receipt must not count. A chooses on a phone, B on a
//! desktop, C on a tablet.

mod common;

use axum::http::StatusCode;
use common::*;
use kelisim_server::receipt::Receipt;
use serde_json::{json, Value};
use time::macros::datetime;

const A: &str = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa";
const B: &str = "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb";
const C: &str = "cccccccc-cccc-4ccc-8ccc-cccccccccccc";
const PHONE: &str = "Mozilla/5.0 (Linux; Android 14; SM-A546E) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36";
const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";
const TABLET: &str = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1";

/// `context`: the language, banner variant and page of the choice.
fn choice(
    n: u32,
    consent: &str,
    action: &str,
    granted: &[&str],
    denied: &[&str],
    context: (&str, &str, &str),
) -> Receipt {
    let (language, variant, page) = context;
    let mut value = receipt(n);
    value["consent_id"] = json!(consent);
    value["action"] = json!(action);
    value["granted_categories"] = json!(granted);
    value["denied_categories"] = json!(denied);
    value["language"] = json!(language);
    value["variant"] = json!(variant);
    value["page_url"] = json!(format!("https://glazik.kz{page}"));
    value["user_agent"] = json!(match consent {
        A => PHONE,
        B => DESKTOP,
        _ => TABLET,
    });
    if action == "form" {
        value["form_id"] = json!("signup");
        value["granted_purposes"] = json!(["account"]);
    }
    serde_json::from_value(value).unwrap()
}

async fn seeded() -> (axum::Router, kelisim_server::AppState) {
    let (app, state) = test_app(&sqlite_url()).await;
    let store = state.store();
    for (page, language, variant) in [
        ("/", "ru", "a"),
        ("/catalog", "ru", "a"),
        ("/cart", "ru", "a"),
        ("/", "ru", "a"),
    ] {
        store
            .add_impression("glazik-kz", "2026-03-01", language, variant, page, "mobile")
            .await
            .unwrap();
    }
    store
        .add_impression("glazik-kz", "2026-03-02", "kk", "b", "/", "tablet")
        .await
        .unwrap();
    let all = ["analytics", "marketing", "necessary"];
    let day1 = datetime!(2026-03-01 10:00 UTC);
    let day2 = datetime!(2026-03-02 10:00 UTC);
    let receipts = [
        (
            choice(1, A, "accept_all", &all, &[], ("ru", "a", "/cart")),
            day1,
        ),
        (
            choice(
                2,
                B,
                "reject_all",
                &["necessary"],
                &["analytics", "marketing"],
                ("ru", "a", "/"),
            ),
            day1,
        ),
        (
            choice(
                3,
                C,
                "custom",
                &["analytics", "necessary"],
                &["marketing"],
                ("kk", "b", "/"),
            ),
            day2,
        ),
        (
            choice(4, C, "accept_all", &all, &[], ("kk", "b", "/")),
            day2,
        ),
        (
            choice(
                5,
                C,
                "withdraw",
                &["necessary"],
                &["analytics", "marketing"],
                ("kk", "b", "/"),
            ),
            day2,
        ),
        (choice(6, A, "form", &[], &[], ("ru", "a", "/signup")), day2),
    ];
    for (receipt, when) in receipts {
        store
            .insert_receipt(receipt, None, &signer(), when)
            .await
            .unwrap();
    }
    (app, state)
}

async fn stats(app: &axum::Router, query: &str) -> (StatusCode, Value) {
    let (status, _, body) = send(
        app,
        admin_get(&format!(
            "/v1/stats?site=glazik-kz&from=2026-03-01&to=2026-03-02&{query}"
        )),
    )
    .await;
    (status, body)
}

fn row<'a>(body: &'a Value, key: &str) -> &'a Value {
    body["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["key"] == key)
        .unwrap_or_else(|| panic!("no row {key}: {body}"))
}

#[tokio::test]
async fn by_day() {
    let (app, _) = seeded().await;
    let (status, body) = stats(&app, "by=day").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let first = row(&body, "2026-03-01");
    assert_eq!(first["impressions"], 4);
    assert_eq!(
        first["decisions"], 2,
        "A's three impressions are one decision"
    );
    assert_eq!(first["decision_rate"], 0.5);
    assert_eq!(
        (first["accept_all"].as_i64(), first["reject_all"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(first["opt_in"]["analytics"], 0.5);
    assert_eq!(first["opt_in"]["necessary"], 1.0);
    let second = row(&body, "2026-03-02");
    assert_eq!(second["impressions"], 1);
    assert_eq!(second["decisions"], 1);
    assert_eq!(second["custom"], 1);
    assert_eq!(second["changes"], 1);
    assert_eq!(second["withdrawals"], 1);
    assert_eq!(second["opt_in"]["analytics"], 1.0);
    assert_eq!(second["opt_in"]["marketing"], 0.0);
}

#[tokio::test]
async fn by_language_variant_page_and_category() {
    let (app, _) = seeded().await;
    let (_, body) = stats(&app, "by=language").await;
    assert_eq!(
        (
            row(&body, "ru")["impressions"].as_i64(),
            row(&body, "ru")["decisions"].as_i64()
        ),
        (Some(4), Some(2))
    );
    assert_eq!(
        (
            row(&body, "kk")["impressions"].as_i64(),
            row(&body, "kk")["decisions"].as_i64()
        ),
        (Some(1), Some(1))
    );
    let (_, body) = stats(&app, "by=variant").await;
    assert_eq!(row(&body, "b")["opt_in"]["analytics"], 1.0);
    let (_, body) = stats(&app, "by=page").await;
    assert_eq!(row(&body, "/cart")["impressions"], 1);
    assert_eq!(row(&body, "/cart")["decisions"], 1, "A decided on /cart");
    assert_eq!(row(&body, "/")["impressions"], 3);
    let (_, body) = stats(&app, "by=category").await;
    let analytics = row(&body, "analytics");
    assert_eq!(analytics["decisions"], 3);
    let rate = analytics["opt_in"]["analytics"].as_f64().unwrap();
    assert!((rate - 2.0 / 3.0).abs() < 1e-9, "{rate}");
    let interval = &analytics["opt_in_interval"]["analytics"];
    let (low, high) = (interval[0].as_f64().unwrap(), interval[1].as_f64().unwrap());
    assert!(
        low < rate && rate < high && (low - 0.2077).abs() < 1e-3,
        "{interval}"
    );
    assert_eq!(analytics["impressions"], 5);
}

#[tokio::test]
async fn by_device_and_narrowed_by_language() {
    let (app, _) = seeded().await;
    let (_, body) = stats(&app, "by=device").await;
    let pairs = |key| {
        let row = row(&body, key);
        (row["impressions"].as_i64(), row["decisions"].as_i64())
    };
    assert_eq!(pairs("mobile"), (Some(4), Some(1)));
    assert_eq!(pairs("desktop"), (Some(0), Some(1)));
    assert_eq!(pairs("tablet"), (Some(1), Some(1)));
    assert_eq!(row(&body, "tablet")["changes"], 1);
    // Only the Kazakh banner: C's day.
    let (status, body) = stats(&app, "by=day&language=kk").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["rows"].as_array().unwrap().len(), 1, "{body}");
    let day = row(&body, "2026-03-02");
    assert_eq!(
        (day["impressions"].as_i64(), day["decisions"].as_i64()),
        (Some(1), Some(1))
    );
    let (_, body) = stats(&app, "by=category&device=mobile").await;
    assert_eq!(
        row(&body, "marketing")["opt_in"]["marketing"],
        1.0,
        "A accepted all"
    );
    assert_eq!(row(&body, "marketing")["impressions"], 4);
}

#[tokio::test]
async fn rollups_are_built_from_receipts_stored_before_them() {
    let url = sqlite_url();
    let (app, state) = test_app(&url).await;
    let store = state.store();
    for (n, consent, action) in [(1, A, "accept_all"), (2, A, "reject_all"), (3, B, "custom")] {
        let mut receipt = choice(
            n,
            consent,
            action,
            &["necessary"],
            &["analytics"],
            ("ru", "a", "/"),
        );
        receipt.user_agent = DESKTOP.into();
        store
            .insert_receipt(receipt, None, &signer(), datetime!(2026-03-01 10:00 UTC))
            .await
            .unwrap();
    }
    let (_, before) = stats(&app, "by=day").await;
    // A database of the version before rollups: counts and marker absent.
    store
        .execute_raw("DELETE FROM decision_counts; DELETE FROM page_decision_counts; DELETE FROM rollups_built")
        .await
        .unwrap();
    let (_, emptied) = stats(&app, "by=day").await;
    assert_eq!(emptied["rows"], json!([]));
    drop((app, state));
    let (app, _) = test_app(&url).await;
    let (_, after) = stats(&app, "by=day").await;
    assert_eq!(after, before);
    let day = row(&after, "2026-03-01");
    assert_eq!(
        (day["decisions"].as_i64(), day["changes"].as_i64()),
        (Some(2), Some(1))
    );
}

#[tokio::test]
async fn bad_queries_are_4xx_and_admin_only() {
    let (app, _) = seeded().await;
    for (query, field) in [
        ("by=week", "by"),
        ("from=yesterday", "from"),
        ("from=2026-04-01", "from"),
        ("colour=red", "colour"),
        ("language=de", "language"),
        ("device=fridge", "device"),
        ("variant=a%20b", "variant"),
        ("by=page&language=ru", "by"),
    ] {
        let (status, body) = stats(&app, query).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(body["field"], field, "{query}: {body}");
    }
    let (status, _, body) = send(&app, admin_get("/v1/stats?site=other")).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("site"))
    );
    let anonymous = axum::http::Request::get("/v1/stats?site=glazik-kz")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&app, anonymous).await.0, StatusCode::UNAUTHORIZED);
}

fn form_login(token: &str, forwarded_https: bool) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::post("/dashboard/login?lang=ru")
        .header("content-type", "application/x-www-form-urlencoded");
    if forwarded_https {
        request = request.header("x-forwarded-proto", "https");
    }
    request
        .body(axum::body::Body::from(format!("token={token}")))
        .unwrap()
}

fn dashboard_get(path: &str, cookie: Option<&str>) -> axum::http::Request<axum::body::Body> {
    let mut request = axum::http::Request::get(path);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    request.body(axum::body::Body::empty()).unwrap()
}

#[tokio::test]
async fn dashboard_login_session_and_numbers() {
    let (app, _) = seeded().await;
    // Without a session: the login page, in the visitor's chosen language.
    let (status, _, page) = send(&app, dashboard_get("/dashboard?lang=ru", None)).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("type=\"password\"") && page.contains("Войти"),
        "{page}"
    );
    assert!(
        !page.contains("data-total"),
        "numbers shown without a session"
    );

    let (status, _, page) = send(&app, form_login("wrong", false)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(page.as_str().unwrap().contains("role=\"alert\""));

    let (status, headers, _) = send(&app, form_login(ADMIN_TOKEN, false)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let cookie = headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(flag), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http gets no Secure flag");
    let (_, https_headers, _) = send(&app, form_login(ADMIN_TOKEN, true)).await;
    assert!(https_headers
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("; Secure"));

    // With the session: the numbers are the API's.
    let session = cookie.split(';').next().unwrap().to_owned();
    let (status, _, page) = send(
        &app,
        dashboard_get(
            "/dashboard?lang=en&site=glazik-kz&from=2026-03-01&to=2026-03-02",
            Some(&session),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(page.contains("<html lang=\"en\""));
    assert!(
        page.contains("data-total=\"Impressions\">Impressions<b>5</b>"),
        "{page}"
    );
    assert!(
        page.contains("data-total=\"Decisions\">Decisions<b>3</b>"),
        "{page}"
    );
    assert!(
        page.contains("data-opt-in=\"analytics\">Opt-in: Analytics<b>66.7%</b>"),
        "{page}"
    );
    assert!(
        !page.contains("data-opt-in=\"necessary\""),
        "necessary is always granted"
    );
    assert!(page.contains("<svg"), "no chart");
    let (_, api) = stats(&app, "by=day").await;
    let decisions: i64 = api["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["decisions"].as_i64().unwrap())
        .sum();
    assert_eq!(decisions, 3, "the dashboard and the API agree");
    // Filters: only Kazakh.
    let (_, _, kk) = send(
        &app,
        dashboard_get(
            "/dashboard?lang=kk&site=glazik-kz&from=2026-03-01&to=2026-03-02&language=kk",
            Some(&session),
        ),
    )
    .await;
    assert!(kk.as_str().unwrap().contains("Шешімдер<b>1</b>"), "{kk}");

    // Signing out ends the session.
    let logout = axum::http::Request::post("/dashboard/logout")
        .header("cookie", &session)
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&app, logout).await.0, StatusCode::SEE_OTHER);
    let (_, _, page) = send(&app, dashboard_get("/dashboard", Some(&session))).await;
    assert!(page.as_str().unwrap().contains("type=\"password\""));
    let (_, _, page) = send(
        &app,
        dashboard_get("/dashboard", Some("kelisim_session=forged")),
    )
    .await;
    assert!(
        page.as_str().unwrap().contains("type=\"password\""),
        "a forged session was accepted"
    );
}

/// The marketer's page as a marketer reads it: the headline split, categories under their
/// titles, presets, a refused filter said in words, the A/B verdict, the CSV of what is shown.
#[tokio::test]
async fn the_marketers_page_reads_at_a_glance() {
    let (app, _) = seeded().await;
    let (_, headers, _) = send(&app, form_login(ADMIN_TOKEN, false)).await;
    let session = headers["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let query = "site=glazik-kz&range=custom&from=2026-03-01&to=2026-03-02";
    let (_, _, page) = send(
        &app,
        dashboard_get(&format!("/dashboard?lang=ru&{query}"), Some(&session)),
    )
    .await;
    let page = page.as_str().unwrap().to_owned();
    // Three decisions: two accept-all (one a later change), one reject-all, one custom.
    for (tile, value) in [
        ("accept-all", "33.3%"),
        ("reject-all", "33.3%"),
        ("custom", "33.3%"),
        ("gpc", "0.0%"),
    ] {
        assert!(
            page.contains(&format!("data-total=\"{tile}\">"))
                && page.contains(&format!("<b>{value}</b>")),
            "{tile} {value}: {page}"
        );
    }
    assert!(page.contains("Согласие: Аналитика"), "{page}");
    assert!(page.contains("Отозванные согласия"), "{page}");
    assert!(!page.contains("Отзывы"), "«Отзывы» reads as reviews");
    assert!(
        page.contains("<title>2026-03-01 — Аналитика: 50.0% (1 / 2)</title>"),
        "{page}"
    );
    assert!(
        page.contains("<select name=\"language\">"),
        "filters are selects"
    );
    // The A/B verdict: a and b on three decisions are not yet different.
    assert!(page.contains("data-verdict=\"b:analytics\""), "{page}");
    assert!(page.contains("пока не различаются"), "{page}");
    // A preset sets the dates; an unknown value is said in words, not a JSON error.
    let (_, _, page) = send(
        &app,
        dashboard_get("/dashboard?lang=en&site=glazik-kz&range=7", Some(&session)),
    )
    .await;
    let page = page.as_str().unwrap();
    assert!(
        page.contains("<option value=\"7\" selected>7 days</option>"),
        "{page}"
    );
    let (status, _, page) = send(
        &app,
        dashboard_get(
            "/dashboard?lang=ru&site=glazik-kz&language=русский",
            Some(&session),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("Значение фильтра не распознано (язык)"),
        "{page}"
    );
    assert!(!page.contains("\"error\""), "raw JSON: {page}");
    // The CSV holds the numbers shown, and they are the API's.
    let (status, headers, csv) = send(
        &app,
        dashboard_get(
            &format!("/dashboard/export.csv?lang=ru&{query}"),
            Some(&session),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .contains("kelisim-glazik-kz-2026-03-01-2026-03-02.csv"));
    let csv = csv.as_str().unwrap();
    let mut reader = csv::Reader::from_reader(csv.as_bytes());
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let total = records.iter().find(|r| &r[0] == "total").unwrap();
    assert_eq!((&total[2], &total[3]), ("5", "3"), "{csv}");
    let (_, api) = stats(&app, "by=language").await;
    for row in api["rows"].as_array().unwrap() {
        let key = row["key"].as_str().unwrap();
        let record = records
            .iter()
            .find(|r| &r[0] == "language" && &r[1] == key)
            .unwrap_or_else(|| panic!("no language {key} in {csv}"));
        assert_eq!(
            record[3].parse::<i64>().unwrap(),
            row["decisions"].as_i64().unwrap()
        );
    }
    // Without a session, no CSV.
    let (status, _, _) = send(
        &app,
        dashboard_get(&format!("/dashboard/export.csv?{query}"), None),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // The sign-in page speaks the browser's language.
    let request = axum::http::Request::get("/dashboard")
        .header("accept-language", "ru-RU,ru;q=0.9,en;q=0.8")
        .body(axum::body::Body::empty())
        .unwrap();
    let (_, _, page) = send(&app, request).await;
    assert!(page.as_str().unwrap().contains("Войти"));
}

/// The dashboard reads every grouping from one split query and regroups it in memory: the
/// rows are exactly those of the per-grouping queries the API makes, with and without filters.
#[tokio::test]
async fn regrouped_split_counts_equal_the_per_grouping_queries() {
    use kelisim_server::stats::{compute, regroup_decisions, regroup_impressions, Filter, GroupBy};
    let (_, state) = seeded().await;
    let store = state.store();
    for filter in [
        Filter {
            from: "2026-03-01".into(),
            to: "2026-03-02".into(),
            language: None,
            variant: None,
            device: None,
        },
        Filter {
            from: "2026-03-01".into(),
            to: "2026-03-02".into(),
            language: Some("ru".into()),
            variant: Some("a".into()),
            device: None,
        },
    ] {
        let (decisions, impressions) = store.split_counts("glazik-kz", &filter).await.unwrap();
        for by in [
            GroupBy::Day,
            GroupBy::Category,
            GroupBy::Language,
            GroupBy::Variant,
            GroupBy::Device,
        ] {
            let direct = compute(
                &store
                    .decision_counts("glazik-kz", &filter, by)
                    .await
                    .unwrap(),
                &store
                    .impression_counts("glazik-kz", &filter, by)
                    .await
                    .unwrap(),
                by,
            );
            let regrouped = compute(
                &regroup_decisions(&decisions, by),
                &regroup_impressions(&impressions, by),
                by,
            );
            assert_eq!(regrouped, direct, "{by:?} {filter:?}");
            assert!(!direct.is_empty(), "{by:?}: nothing compared");
        }
    }
}
