//! `AppError`: every failure a handler can return, mapped to a status and a JSON body
//! `{"error": "...", "field": "..."}`. Database details are logged, never sent.
//!
//! A database that cannot be reached, is shutting down, is full or is read-only is
//! `503 Service Unavailable` with `Retry-After`, not a 500: nothing was stored, and the SDK keeps
//! the receipt in its outbox and sends it again later.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad input: the message says what is wrong; `field` names where, when known.
    #[error("{message}")]
    BadRequest {
        message: String,
        field: Option<String>,
    },
    #[error("the admin token is missing or wrong")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("not found")]
    NotFound,
    /// Past the client network's rate limit; the number is the seconds until the next request
    /// would be accepted (sent as `Retry-After`).
    #[error("too many requests; slow down")]
    TooManyRequests(u64),
    /// The receipt id is stored already, for another site or with other contents. The answer
    /// says nothing of the stored receipt.
    #[error("receipt id {0} is already stored with other contents; a new receipt needs a new id")]
    Conflict(String),
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the request took too long to arrive; send it again")]
    RequestTimeout,
    /// The database is unreachable or cannot write now; see the module comment.
    #[error("the receipt store is unavailable; nothing was stored, retry later")]
    Unavailable(anyhow::Error),
    /// A stored receipt no longer matches its signed text.
    #[error("{0}")]
    Tampered(String),
    /// An SMS confirmation that cannot go on (`confirmations`): `reason` is a fixed word the
    /// browser turns into a message in the visitor's language (`wrong_code`, `expired`, …).
    #[error("{message}")]
    Confirmation {
        status: StatusCode,
        reason: kelisim_core::confirm::Refusal,
        message: String,
        /// Seconds until asking again may work (`Retry-After`).
        retry_after: Option<u64>,
    },
    /// Anything else: logged with its cause, answered with a generic message.
    #[error("internal error")]
    Internal(anyhow::Error),
}

/// Seconds a client is asked to wait after a `503`.
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// A stored receipt that does not match its signed text (the database was edited). Answered
/// as a `500` that says so, and logged.
#[derive(Debug, thiserror::Error)]
#[error("{0}; the database was altered: run `kelisim-server verify`")]
pub struct Tampered(pub String);

/// Marks an error as "the database is unavailable" where the original `sqlx::Error` is gone
/// (the group-commit writer answers every receipt of a failed batch with one of these).
#[derive(Debug, thiserror::Error)]
#[error("the database is unavailable: {0}")]
pub struct StoreUnavailable(pub String);

/// Whether an error means the database cannot be reached or cannot write right now (as opposed
/// to a bug or bad data): connection and pool failures, PostgreSQL's connection-exception (08),
/// operator-intervention (57P) and insufficient-resources (53) classes, and SQLite's busy,
/// locked, read-only, I/O, full and cannot-open codes.
pub fn is_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        if cause.downcast_ref::<StoreUnavailable>().is_some() {
            return true;
        }
        let Some(error) = cause.downcast_ref::<sqlx::Error>() else {
            return false;
        };
        match error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(database) => {
                let code = database.code().unwrap_or_default();
                if database
                    .try_downcast_ref::<sqlx::sqlite::SqliteError>()
                    .is_some()
                {
                    // Primary result code: BUSY 5, LOCKED 6, READONLY 8, IOERR 10, FULL 13,
                    // CANTOPEN 14.
                    code.parse::<i32>()
                        .is_ok_and(|code| matches!(code & 0xff, 5 | 6 | 8 | 10 | 13 | 14))
                } else {
                    // PostgreSQL's SQLSTATE.
                    code.starts_with("08")
                        || code.starts_with("57P")
                        || code.starts_with("53")
                        // "database is not currently accepting connections"
                        || code == "55000"
                }
            }
            _ => false,
        }
    })
}

impl From<anyhow::Error> for AppError {
    fn from(error: anyhow::Error) -> AppError {
        if let Some(tampered) = error.downcast_ref::<Tampered>() {
            return AppError::Tampered(tampered.to_string());
        }
        if is_unavailable(&error) {
            AppError::Unavailable(error)
        } else {
            AppError::Internal(error)
        }
    }
}

impl AppError {
    /// A short name of the kind of error, for the metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            AppError::BadRequest { .. } => "bad_request",
            AppError::Unauthorized => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound => "not_found",
            AppError::TooManyRequests(_) => "rate_limited",
            AppError::Conflict(_) => "conflict",
            AppError::TooLarge(_) => "too_large",
            AppError::RequestTimeout => "timeout",
            AppError::Unavailable(_) => "unavailable",
            AppError::Tampered(_) => "tampered",
            AppError::Confirmation { reason, .. } => reason.as_str(),
            AppError::Internal(_) => "internal",
        }
    }

    pub fn bad(field: impl Into<String>, message: impl Into<String>) -> AppError {
        AppError::BadRequest {
            message: message.into(),
            field: Some(field.into()),
        }
    }
}

impl From<sqlx::Error> for AppError {
    fn from(error: sqlx::Error) -> AppError {
        anyhow::Error::from(error).into()
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            AppError::Unauthorized => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound => StatusCode::NOT_FOUND,
            AppError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            AppError::Confirmation { status, .. } => *status,
            AppError::Unavailable(cause) => {
                tracing::warn!("storage unavailable: {cause:#}");
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::Tampered(what) => {
                tracing::error!("integrity: {what}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            AppError::Internal(cause) => {
                tracing::error!("internal error: {cause:#}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let field = match &self {
            AppError::BadRequest { field, .. } => field.clone(),
            _ => None,
        };
        let mut body = json!({ "error": self.to_string() });
        if let Some(field) = field {
            body["field"] = json!(field);
        }
        if let AppError::Confirmation { reason, .. } = &self {
            body["reason"] = json!(reason.as_str());
        }
        let retry_after = match &self {
            AppError::Unavailable(_) => Some(u64::from(RETRY_AFTER_SECONDS)),
            AppError::TooManyRequests(seconds) => Some(*seconds),
            AppError::Confirmation { retry_after, .. } => *retry_after,
            _ => None,
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(seconds) = retry_after {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}
