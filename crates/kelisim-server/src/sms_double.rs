//! A stand-in for the Mobizon and SMSC.kz APIs on loopback, which records each message instead
//! of sending it: for the tests and the end-to-end harness (`kelisim-server sms-double`), and
//! for a developer trying SMS confirmation without a gateway account. It answers the requests
//! `sms::Gateway` makes the way the gateways document them, errors included: a wrong key is
//! refused as each gateway refuses it, and `POST /mode` makes it refuse every number or answer
//! like a gateway that is down.
//!
//! `GET /messages` lists what was "sent" (gateway, number, text, message id), newest last.

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The credentials the double accepts.
#[derive(Clone, Debug)]
pub struct DoubleKeys {
    pub mobizon_key: String,
    pub smsc_login: String,
    pub smsc_password: String,
}

impl Default for DoubleKeys {
    fn default() -> DoubleKeys {
        DoubleKeys {
            mobizon_key: "mobizon-test-key".into(),
            smsc_login: "smsc-test".into(),
            smsc_password: "smsc-test-password".into(),
        }
    }
}

/// One message the double took.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Message {
    pub gateway: String,
    /// As the gateway got it: digits without `+`.
    pub to: String,
    pub text: String,
    pub message_id: String,
    pub sender: Option<String>,
}

/// How the double answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    #[default]
    Ok,
    /// Every number is refused (an error answer, as for a number the operator rejects).
    Refuse,
    /// `503` with an HTML page, as a gateway behind a failing proxy answers.
    Down,
}

#[derive(Default)]
struct Inner {
    messages: Vec<Message>,
    mode: Mode,
}

#[derive(Clone)]
struct Double {
    keys: DoubleKeys,
    inner: Arc<Mutex<Inner>>,
}

/// The double's routes.
pub fn router(keys: DoubleKeys) -> Router {
    let double = Double {
        keys,
        inner: Arc::default(),
    };
    Router::new()
        .route("/service/message/sendsmsmessage", post(mobizon_send))
        .route("/service/message/getsmsstatus", post(mobizon_status))
        .route("/sys/send.php", post(smsc_send))
        .route("/sys/status.php", post(smsc_status))
        .route("/messages", get(messages))
        .route("/mode", post(set_mode))
        .with_state(double)
}

/// Serves the double on `listener` until the task is dropped.
pub async fn serve(listener: tokio::net::TcpListener, keys: DoubleKeys) -> std::io::Result<()> {
    axum::serve(listener, router(keys)).await
}

fn down() -> Response {
    (
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        axum::response::Html("<html><body>502 Bad Gateway</body></html>"),
    )
        .into_response()
}

impl Double {
    fn mode(&self) -> Mode {
        self.inner
            .lock()
            .map(|inner| inner.mode)
            .unwrap_or_default()
    }

    fn take(&self, gateway: &str, to: &str, text: &str, sender: Option<String>) -> String {
        let mut inner = self.inner.lock().expect("the double's lock");
        let message_id = (inner.messages.len() + 1001).to_string();
        inner.messages.push(Message {
            gateway: gateway.into(),
            to: to.into(),
            text: text.into(),
            message_id: message_id.clone(),
            sender,
        });
        message_id
    }

    fn knows(&self, gateway: &str, message_id: &str) -> bool {
        self.inner.lock().is_ok_and(|inner| {
            inner
                .messages
                .iter()
                .any(|m| m.gateway == gateway && m.message_id == message_id)
        })
    }
}

fn mobizon_error(code: i64, message: &str) -> Response {
    Json(json!({"code": code, "data": "", "message": message})).into_response()
}

async fn mobizon_send(
    State(double): State<Double>,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if double.mode() == Mode::Down {
        return down();
    }
    if query.get("apiKey") != Some(&double.keys.mobizon_key) {
        return mobizon_error(8, "Неверный ключ API или ключ неактивен.");
    }
    let (Some(to), Some(text)) = (form.get("recipient"), form.get("text")) else {
        return mobizon_error(1, "Не указан получатель или текст сообщения.");
    };
    if double.mode() == Mode::Refuse {
        return mobizon_error(1, "Номер получателя некорректный.");
    }
    let id = double.take("mobizon", to, text, form.get("from").cloned());
    Json(json!({"code": 0, "data": {"campaignId": "7001", "messageId": id, "status": 1}, "message": ""}))
        .into_response()
}

async fn mobizon_status(
    State(double): State<Double>,
    Query(query): Query<HashMap<String, String>>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    if double.mode() == Mode::Down {
        return down();
    }
    if query.get("apiKey") != Some(&double.keys.mobizon_key) {
        return mobizon_error(8, "Неверный ключ API или ключ неактивен.");
    }
    let data: Vec<serde_json::Value> = form
        .iter()
        .filter(|(name, id)| name == "ids[]" && double.knows("mobizon", id))
        .map(|(_, id)| json!({"id": id, "status": "DELIVRD", "segNum": "1"}))
        .collect();
    Json(json!({"code": 0, "data": data, "message": ""})).into_response()
}

fn smsc_error(code: i64, message: &str) -> Response {
    Json(json!({"error": message, "error_code": code})).into_response()
}

async fn smsc_send(
    State(double): State<Double>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if double.mode() == Mode::Down {
        return down();
    }
    if form.get("login") != Some(&double.keys.smsc_login)
        || form.get("psw") != Some(&double.keys.smsc_password)
    {
        return smsc_error(2, "authorise error");
    }
    let (Some(to), Some(text)) = (form.get("phones"), form.get("mes")) else {
        return smsc_error(1, "parameters error");
    };
    if double.mode() == Mode::Refuse {
        return smsc_error(7, "invalid number");
    }
    let id = double.take("smsc", to, text, form.get("sender").cloned());
    Json(json!({"id": id.parse::<u64>().unwrap_or(0), "cnt": 1})).into_response()
}

async fn smsc_status(
    State(double): State<Double>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if double.mode() == Mode::Down {
        return down();
    }
    if form.get("login") != Some(&double.keys.smsc_login)
        || form.get("psw") != Some(&double.keys.smsc_password)
    {
        return smsc_error(2, "authorise error");
    }
    let id = form.get("id").cloned().unwrap_or_default();
    let phone = form.get("phone").cloned().unwrap_or_default();
    let sent = double.inner.lock().is_ok_and(|inner| {
        inner
            .messages
            .iter()
            .any(|m| m.gateway == "smsc" && m.message_id == id && m.to == phone)
    });
    if !sent {
        // SMSC.kz's status -3: no such message.
        return Json(json!({"status": -3})).into_response();
    }
    Json(json!({"status": 1, "last_date": "03.12.2026 10:00:00", "last_timestamp": 1796292000}))
        .into_response()
}

/// Readable from any page on loopback (the double holds nothing but what it was sent).
async fn messages(State(double): State<Double>) -> Response {
    (
        [(axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")],
        Json(
            double
                .inner
                .lock()
                .map(|inner| inner.messages.clone())
                .unwrap_or_default(),
        ),
    )
        .into_response()
}

#[derive(Deserialize)]
struct ModeRequest {
    mode: Mode,
}

async fn set_mode(State(double): State<Double>, Json(request): Json<ModeRequest>) -> Response {
    if let Ok(mut inner) = double.inner.lock() {
        inner.mode = request.mode;
    }
    axum::http::StatusCode::NO_CONTENT.into_response()
}
