//! Consent signed with an electronic signature, over the HTTP API with a real SQLite file: the
//! server writes the document, a test signer (a CA made here) signs it as NCALayer does, the
//! server checks and stores it; every bad signature is refused with nothing stored, and
//! `verify` catches a stored signature that no longer verifies.

mod common;

use base64::Engine as _;
use common::*;
use kelisim_server::signature_double::{SignerKind, TestAuthority, TestSigner};
use kelisim_server::sites::Sites;
use kelisim_server::store::{NewReceipt, Store};
use kelisim_server::{app, AppState, Settings};
use serde_json::{json, Value};

struct Setup {
    app: axum::Router,
    state: AppState,
    authority: std::sync::Arc<TestAuthority>,
    /// Serial numbers the CA's OCSP responder answers as revoked.
    revoked: std::sync::Arc<std::sync::Mutex<Vec<x509_cert::serial_number::SerialNumber>>>,
}

async fn setup() -> Setup {
    setup_with(false, None).await
}

/// With `ocsp`, the site asks the CA's OCSP responder (a double on loopback); with `ncanode`,
/// GOST signatures go to that NCANode.
async fn setup_with(ocsp: bool, ncanode: Option<String>) -> Setup {
    setup_on(ocsp, ncanode, sqlite_url()).await
}

async fn setup_on(ocsp: bool, ncanode: Option<String>, db_url: String) -> Setup {
    let folder = std::path::PathBuf::from(sqlite_url().trim_start_matches("sqlite://"))
        .parent()
        .unwrap()
        .to_owned();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("www/kelisim.json")).unwrap())
            .unwrap();
    config["site"] = json!("glazik-kz");
    config["forms"][0]["confirm"] = json!("eds");
    std::fs::write(folder.join("kelisim.json"), config.to_string()).unwrap();
    let authority = std::sync::Arc::new(TestAuthority::generate(
        "TEST ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA)",
    ));
    std::fs::write(folder.join("nca-rsa.pem"), authority.certificate_pem()).unwrap();
    let revoked = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut eds = json!({"ca_certificates": ["nca-rsa.pem"]});
    if let Some(url) = ncanode {
        eds["ncanode_url"] = json!(url);
    }
    if ocsp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        eds["ocsp_url"] = json!(format!("http://{}/", listener.local_addr().unwrap()));
        let router =
            kelisim_server::signature_double::ocsp_router(authority.clone(), revoked.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
    }
    let sites = json!({"sites": [{"id": "glazik-kz", "origins": [ORIGIN], "config": "kelisim.json",
        "eds": eds}]});
    std::fs::write(folder.join("sites.json"), sites.to_string()).unwrap();
    let sites = Sites::load(&folder.join("sites.json")).expect("the sites file loads");
    let store = Store::open(&db_url).await.unwrap();
    let state = AppState::new(Settings {
        sites,
        ..settings(store)
    });
    state.archive_configs(&state.sites()).await.unwrap();
    Setup {
        app: app(state.clone()),
        state,
        authority,
        revoked,
    }
}

fn request() -> Value {
    json!({
        "site": "glazik-kz",
        "form": "signup",
        "language": "ru",
        "granted_purposes": ["account", "sms"],
        "denied_purposes": ["email-news", "telegram"],
        "page_url": "https://glazik.kz/signup?ref=1",
    })
}

/// Asks for a document: its id and text.
async fn document(setup: &Setup, body: &Value) -> (String, String) {
    let (status, _, written) = send(&setup.app, post("/v1/signatures", body.to_string())).await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{written}");
    let text = written["document"].as_str().unwrap().to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(written["document_base64"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, text.as_bytes());
    (written["signature_id"].as_str().unwrap().to_owned(), text)
}

async fn send_cms(setup: &Setup, id: &str, cms: &[u8]) -> (axum::http::StatusCode, Value) {
    let body = json!({"cms": base64::engine::general_purpose::STANDARD.encode(cms)});
    let (status, _, answer) = send(
        &setup.app,
        post(&format!("/v1/signatures/{id}"), body.to_string()),
    )
    .await;
    (status, answer)
}

fn person(authority: &TestAuthority, kind: SignerKind) -> TestSigner {
    authority.issue(kind, "АХМЕТОВА", "АЙГЕРІМ", "900101400123")
}

#[tokio::test]
async fn a_document_signed_through_ncalayer_is_checked_and_stored() {
    let setup = setup().await;
    let (id, text) = document(&setup, &request()).await;
    for expected in [
        "Согласие на сбор и обработку персональных данных",
        "Оператор: ТОО «Глазик Демо», БИН 180540012345",
        "[x] Я даю согласие на сбор и обработку моих персональных данных для цели «создание личного кабинета, оформление и доставка заказов»",
        "[ ] Я даю согласие на сбор и обработку моих персональных данных для цели «рекламные сообщения в Telegram»",
        "Трансграничная передача: ОАЭ",
        "Политика обработки персональных данных: https://glazik.kz/privacy.html#ru",
        "kelisim: site=glazik-kz form=signup language=ru consent_id=",
    ] {
        assert!(text.contains(expected), "{expected:?} not in\n{text}");
    }
    let person = person(&setup.authority, SignerKind::Valid);
    let (status, record) = send_cms(&setup, &id, &person.sign_cms(text.as_bytes(), true)).await;
    assert_eq!(status, axum::http::StatusCode::CREATED, "{record}");
    let receipt = &record["receipt"];
    assert_eq!(
        (receipt["action"].as_str(), receipt["method"].as_str()),
        (Some("form"), Some("eds"))
    );
    assert_eq!(receipt["page_url"], "https://glazik.kz/signup");
    let eds = &receipt["eds"];
    assert_eq!(eds["verified"], true);
    assert_eq!(eds["algorithm"], "RSA");
    assert_eq!(eds["signer_iin"], "900101400123");
    assert_eq!(eds["signer_name"], "АХМЕТОВА АЙГЕРІМ");
    assert_eq!(eds["document"], text.as_str());
    assert!(eds["revocation"]
        .as_str()
        .unwrap()
        .starts_with("not checked"));
    // Signed once.
    let (status, answer) = send_cms(&setup, &id, &person.sign_cms(text.as_bytes(), true)).await;
    assert_eq!(
        (status.as_u16(), answer["reason"].as_str()),
        (409, Some("used"))
    );
    let report = kelisim_server::verify::verify(setup.state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);

    // The DPO's look-up shows the signer, that it was verified, and the document signed.
    use kelisim_server::access::{Credential, CredentialsFile, Role};
    let dpo = kelisim_server::access::new_token();
    setup.state.reload(
        setup.state.sites().as_ref().clone(),
        &CredentialsFile {
            credentials: vec![Credential {
                name: "dpo".into(),
                role: Role::Dpo,
                token_sha256: hex::encode(kelisim_server::access::digest(&dpo)),
                kiosk: None,
            }],
        },
    );
    let login = axum::http::Request::post("/dashboard/login?lang=ru")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(format!("token={dpo}")))
        .unwrap();
    let response = tower::ServiceExt::oneshot(setup.app.clone(), login)
        .await
        .unwrap();
    let session = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let look_up = axum::http::Request::get(format!(
        "/dashboard?lang=ru&id={}",
        receipt["consent_id"].as_str().unwrap()
    ))
    .header("cookie", &session)
    .body(axum::body::Body::empty())
    .unwrap();
    let (_, _, page) = send(&setup.app, look_up).await;
    let page = page.as_str().unwrap();
    for expected in [
        "подписал: АХМЕТОВА АЙГЕРІМ, ИИН 900101400123; проверена",
        "Подписанный документ",
        "form=signup",
    ] {
        assert!(
            page.contains(expected),
            "{expected:?} not on the DPO's page"
        );
    }
}

#[tokio::test]
async fn every_bad_signature_is_refused_and_nothing_is_stored() {
    let setup = setup().await;
    let (id, text) = document(&setup, &request()).await;
    let valid = person(&setup.authority, SignerKind::Valid);
    let stranger = TestAuthority::generate("NOT TRUSTED");
    let mut tampered = valid.sign_cms(text.as_bytes(), true);
    let at = tampered.len() - 7;
    tampered[at] ^= 0x01;
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        (
            "another document",
            valid.sign_cms(b"I agree to nothing", true),
            &["wrong_document"],
        ),
        (
            "an unknown CA",
            person(&stranger, SignerKind::Valid).sign_cms(text.as_bytes(), true),
            &["untrusted_certificate"],
        ),
        (
            "an expired certificate",
            person(&setup.authority, SignerKind::Expired).sign_cms(text.as_bytes(), true),
            &["certificate_not_valid"],
        ),
        (
            "no signing key usage",
            person(&setup.authority, SignerKind::NotForSigning).sign_cms(text.as_bytes(), true),
            &["not_for_signing"],
        ),
        (
            "an authentication key",
            person(&setup.authority, SignerKind::AuthenticationOnly)
                .sign_cms(text.as_bytes(), true),
            &["not_for_signing"],
        ),
        ("a tampered CMS", tampered, &["bad_signature"]),
        ("not a CMS", b"garbage".to_vec(), &["bad_signature"]),
    ];
    for (what, cms, reasons) in cases {
        let (status, answer) = send_cms(&setup, &id, &cms).await;
        assert_eq!(status.as_u16(), 422, "{what}: {answer}");
        assert!(
            reasons.contains(&answer["reason"].as_str().unwrap()),
            "{what}: {answer}"
        );
        assert!(!answer["error"].as_str().unwrap().is_empty());
    }
    assert_eq!(row_count(&setup.state).await, 0);
    // The document still waits for a good signature, detached this time.
    let (status, _) = send_cms(&setup, &id, &valid.sign_cms(text.as_bytes(), false)).await;
    assert_eq!(status.as_u16(), 201);
    // A receipt cannot claim a signature itself.
    let mut forged = receipt(3);
    forged["method"] = json!("eds");
    assert_eq!(post_receipt(&setup.app, &forged).await.0.as_u16(), 400);
}

#[tokio::test]
async fn the_form_may_require_the_signer_to_be_the_person_it_names() {
    let setup = setup().await;
    let mut body = request();
    body["iin"] = json!("990101300456");
    let (id, text) = document(&setup, &body).await;
    let (status, answer) = send_cms(
        &setup,
        &id,
        &person(&setup.authority, SignerKind::Valid).sign_cms(text.as_bytes(), true),
    )
    .await;
    assert_eq!(
        (status.as_u16(), answer["reason"].as_str()),
        (422, Some("untrusted_certificate")),
        "{answer}"
    );
    body["iin"] = json!("12345");
    let (status, _, answer) = send(&setup.app, post("/v1/signatures", body.to_string())).await;
    assert_eq!(
        (status.as_u16(), answer["field"].as_str()),
        (400, Some("iin"))
    );
}

#[tokio::test]
async fn a_form_or_site_not_set_up_for_signatures_is_refused() {
    let setup = setup().await;
    let mut body = request();
    body["form"] = json!("checkout");
    let (status, _, answer) = send(&setup.app, post("/v1/signatures", body.to_string())).await;
    assert_eq!(
        (status.as_u16(), answer["field"].as_str()),
        (400, Some("form"))
    );
    let (app, _) = test_app(&sqlite_url()).await;
    let (status, _, answer) = send(&app, post("/v1/signatures", request().to_string())).await;
    assert_eq!(status.as_u16(), 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("does not take electronic signatures"),
        "{answer}"
    );
}

#[tokio::test]
async fn verify_catches_a_stored_signature_that_does_not_verify() {
    let setup = setup().await;
    let (id, text) = document(&setup, &request()).await;
    let (_, record) = send_cms(
        &setup,
        &id,
        &person(&setup.authority, SignerKind::Valid).sign_cms(text.as_bytes(), true),
    )
    .await;
    // A receipt stored with a signature over other words than its document (as a server with a
    // bug, or someone holding the signing key, might store one): the chain itself verifies.
    let mut receipt: kelisim_core::receipt::Receipt =
        serde_json::from_value(record["receipt"].clone()).unwrap();
    receipt.receipt_id = "00000000-0000-4000-8000-00000000abcd".into();
    if let Some(eds) = receipt.eds.as_mut() {
        eds.document.push_str("and one more line\n");
    }
    setup
        .state
        .store()
        .insert_receipts(
            &[NewReceipt {
                receipt,
                ip_prefix: None,
                now: time::OffsetDateTime::now_utc(),
            }],
            &signer(),
        )
        .await
        .unwrap();
    let report = kelisim_server::verify::verify(setup.state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(
        report
            .problems
            .iter()
            .any(|p| format!("{p:?}").contains("electronic signature does not verify")),
        "{:?}",
        report.problems
    );
}

#[tokio::test]
async fn the_cas_ocsp_responder_is_asked_and_a_revoked_certificate_signs_nothing() {
    let setup = setup_with(true, None).await;
    let (id, text) = document(&setup, &request()).await;
    let person = person(&setup.authority, SignerKind::Valid);
    let (status, record) = send_cms(&setup, &id, &person.sign_cms(text.as_bytes(), true)).await;
    assert_eq!(status.as_u16(), 201, "{record}");
    let eds = &record["receipt"]["eds"];
    assert!(
        eds["revocation"]
            .as_str()
            .unwrap()
            .starts_with("good: OCSP http://127.0.0.1:"),
        "{eds}"
    );
    assert!(eds["ocsp_response"].as_str().unwrap().len() > 500);

    let revoked = person_named(&setup.authority, "БЕКОВ", "БЕК", "850505300111");
    setup
        .revoked
        .lock()
        .unwrap()
        .push(revoked.certificate.tbs_certificate.serial_number.clone());
    let (id, text) = document(&setup, &request()).await;
    let (status, answer) = send_cms(&setup, &id, &revoked.sign_cms(text.as_bytes(), true)).await;
    assert_eq!(
        (status.as_u16(), answer["reason"].as_str()),
        (422, Some("certificate_not_valid")),
        "{answer}"
    );
    assert!(
        answer["error"].as_str().unwrap().contains("revoked"),
        "{answer}"
    );
    assert_eq!(row_count(&setup.state).await, 1);
}

fn person_named(authority: &TestAuthority, surname: &str, given: &str, iin: &str) -> TestSigner {
    authority.issue(SignerKind::Valid, surname, given, iin)
}

/// An NCANode double: answers every `/cms/verify` with `valid`.
async fn ncanode(valid: bool) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = axum::Router::new().route(
        "/cms/verify",
        axum::routing::post(move |body: axum::Json<Value>| async move {
            assert!(body["cms"].as_str().is_some_and(|cms| cms.len() > 100));
            assert_eq!(body["revocationCheck"], json!(["OCSP"]));
            axum::Json(json!({"status": 200, "valid": valid, "message": if valid { "" } else { "certificate revoked" }}))
        }),
    );
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

#[tokio::test]
async fn a_gost_signature_is_kept_unverified_or_verified_by_the_operators_ncanode() {
    // Without NCANode: kept, and said to be not verified.
    let setup = setup().await;
    let (id, text) = document(&setup, &request()).await;
    let gost = person(&setup.authority, SignerKind::Valid).sign_cms_named_gost(text.as_bytes());
    let (status, record) = send_cms(&setup, &id, &gost).await;
    assert_eq!(status.as_u16(), 201, "{record}");
    let eds = &record["receipt"]["eds"];
    assert_eq!(
        (eds["algorithm"].as_str(), eds["verified"].as_bool()),
        (Some("GOST"), Some(false))
    );
    assert!(
        eds["verification"]
            .as_str()
            .unwrap()
            .starts_with("not verified"),
        "{eds}"
    );

    // With an NCANode that finds it valid: verified, and by whom.
    let setup = setup_with(false, Some(ncanode(true).await)).await;
    let (id, text) = document(&setup, &request()).await;
    let gost = person(&setup.authority, SignerKind::Valid).sign_cms_named_gost(text.as_bytes());
    let (status, record) = send_cms(&setup, &id, &gost).await;
    assert_eq!(status.as_u16(), 201, "{record}");
    let eds = &record["receipt"]["eds"];
    assert_eq!(eds["verified"], true);
    assert!(
        eds["verification"]
            .as_str()
            .unwrap()
            .starts_with("verified by NCANode"),
        "{eds}"
    );
    assert_eq!(
        eds["revocation"],
        "checked by NCANode with the signature (OCSP)"
    );

    // With an NCANode that refuses it: refused, nothing stored.
    let setup = setup_with(false, Some(ncanode(false).await)).await;
    let (id, text) = document(&setup, &request()).await;
    let gost = person(&setup.authority, SignerKind::Valid).sign_cms_named_gost(text.as_bytes());
    let (status, answer) = send_cms(&setup, &id, &gost).await;
    assert_eq!(
        (status.as_u16(), answer["reason"].as_str()),
        (422, Some("bad_signature")),
        "{answer}"
    );
    assert!(answer["error"]
        .as_str()
        .unwrap()
        .contains("certificate revoked"));
    assert_eq!(row_count(&setup.state).await, 0);
}

/// The signed flow and its single use on PostgreSQL (when the test command provides one).
#[tokio::test]
async fn a_signature_is_stored_once_on_postgresql() {
    let Some(url) = postgres_url().await else {
        return;
    };
    let setup = setup_on(false, None, url).await;
    let (id, text) = document(&setup, &request()).await;
    let cms = person(&setup.authority, SignerKind::Valid).sign_cms(text.as_bytes(), true);
    assert_eq!(send_cms(&setup, &id, &cms).await.0.as_u16(), 201);
    assert_eq!(send_cms(&setup, &id, &cms).await.0.as_u16(), 409);
    let report = kelisim_server::verify::verify(setup.state.store(), signer().public_key(), &[])
        .await
        .unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
