//! kelisim-server: the self-hosted receipts server. It stores every consent choice as a
//! durable, hash-chained, signed receipt in the store's own database (SQLite embedded, or
//! PostgreSQL), counts anonymous banner impressions, answers a data-protection officer's
//! questions through an admin API, and serves the SDK, the demo store and the dashboard.
//!
//! Principal items: [`app`] builds the router over an [`AppState`]; [`store::Store`] holds all
//! SQL; [`receipt`] is the strict receipt schema; [`chain`] the hash chain and signature;
//! [`verify::verify`] checks a database end to end. [`decode_cookie`] is re-exported so a
//! store's Rust backend can read the `kelisim` cookie.

pub mod access;
pub mod chain;
pub mod cms_check;
pub mod configs;
pub mod confirmations;
pub mod dashboard;
pub mod error;
pub mod export;
pub mod group_commit;
pub mod heads;
pub mod keys;
pub mod kiosk;
pub mod marketing;
pub mod ocsp;
pub mod receipt;
pub mod scan;
pub mod signature_double;
pub mod signatures;
pub mod sites;
pub mod sms;
pub mod sms_double;
pub mod startup;
pub mod stats;
pub mod store;
pub mod telemetry;
pub mod user_agent;
pub mod verify;

pub use kelisim_core::{decode_cookie, Consent};

use access::Permission;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chain::{PublicKey, Signer};
use error::AppError;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use group_commit::ReceiptWriter;
use receipt::{ip_prefix, parse_receipt, MAX_RECEIPT_BYTES};
use serde::Deserialize;
use serde_json::json;
use sites::Sites;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::sync::Arc;
use store::{NewReceipt, Store};
use time::OffsetDateTime;
use tower_http::compression::CompressionLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// How browsers and shared caches may keep the SDK's files (`/sdk/`): 5 minutes fresh, then a
/// week in which the cached copy is used at once and refreshed in the background.
pub const SDK_CACHE_CONTROL: &str = "public, max-age=300, stale-while-revalidate=604800";

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    /// Stores receipts in group commits; see `group_commit`.
    writer: ReceiptWriter,
    public_key: PublicKey,
    /// The sites file's contents; replaced whole on `SIGHUP` (see [`AppState::reload`]).
    sites: std::sync::RwLock<Arc<Sites>>,
    /// The admin token, kept to rebuild `credentials` on a reload.
    admin_token: String,
    credentials: std::sync::RwLock<Arc<access::Credentials>>,
    limiter: DefaultKeyedRateLimiter<String>,
    www_dir: Option<PathBuf>,
    sdk_dir: Option<PathBuf>,
    client_timeout: std::time::Duration,
    trusted_proxies: Vec<std::net::IpAddr>,
    /// The latest signed head of each chain (`GET /v1/chain-heads`); empty without a head log.
    published_heads: heads::Published,
    /// Keys the phone numbers' and SMS codes' hashes (`confirmations`).
    phone_key: confirmations::PhoneKey,
    /// The HTTP client of the SMS gateways.
    http: reqwest::Client,
    /// The receipt writer's task, until `writer_task` takes it.
    writer_task: std::sync::Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// How an `AppState` is made.
pub struct Settings {
    pub store: Store,
    pub signer: Signer,
    pub sites: Sites,
    pub admin_token: String,
    /// The other roles' credentials (the credentials file).
    pub credentials: access::CredentialsFile,
    /// Requests per minute per client network on the public endpoints.
    pub rate_per_minute: u32,
    /// The demo store, served at `/` (none: not served).
    pub www_dir: Option<PathBuf>,
    /// The built SDK (`pkg/`), served at `/sdk/`.
    pub sdk_dir: Option<PathBuf>,
    /// How long a receipt or impression may take to arrive whole (then `408`).
    pub client_timeout: std::time::Duration,
    /// Reverse proxies whose `X-Forwarded-For` is believed (see [`client_address`]).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where the writer appends signed chain heads (see `heads`); `None` keeps no log (handler
    /// tests). `serve` always keeps one.
    pub head_log: Option<heads::HeadLog>,
    /// Keys the phone numbers' and SMS codes' hashes (`kelisim-phone.key` beside the signing
    /// key for `serve`).
    pub phone_key: confirmations::PhoneKey,
}

impl AppState {
    /// Builds the state and starts the receipt writer task, so it must be called inside a
    /// tokio runtime.
    pub fn new(settings: Settings) -> AppState {
        telemetry::handle();
        let public_key = settings.signer.public_key();
        let signer = Arc::new(settings.signer);
        let published_heads = settings
            .head_log
            .as_ref()
            .map_or_else(Default::default, heads::HeadLog::published);
        let (writer, writer_task) =
            ReceiptWriter::spawn(settings.store.clone(), signer.clone(), settings.head_log);
        AppState(Arc::new(Inner {
            writer,
            published_heads,
            writer_task: std::sync::Mutex::new(Some(writer_task)),
            store: settings.store,
            public_key,
            sites: std::sync::RwLock::new(Arc::new(settings.sites)),
            credentials: std::sync::RwLock::new(Arc::new(access::Credentials::new(
                &settings.admin_token,
                &settings.credentials,
            ))),
            admin_token: settings.admin_token,
            limiter: RateLimiter::keyed(rate_quota(settings.rate_per_minute)),
            www_dir: settings.www_dir,
            sdk_dir: settings.sdk_dir,
            client_timeout: settings.client_timeout,
            trusted_proxies: settings.trusted_proxies,
            phone_key: settings.phone_key,
            http: sms::http_client(),
        }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    /// Takes a new sites file and credentials file (`SIGHUP`): requests already running keep
    /// what they started with, later ones see the new files.
    pub fn reload(&self, sites: Sites, credentials: &access::CredentialsFile) {
        if let Ok(mut current) = self.0.sites.write() {
            *current = Arc::new(sites);
        }
        if let Ok(mut current) = self.0.credentials.write() {
            *current = Arc::new(access::Credentials::new(&self.0.admin_token, credentials));
        }
    }

    /// Archives the compiled configs of `sites`: done before they are served (at start and
    /// before a reload), so every config a visitor can get is in the archive.
    pub async fn archive_configs(&self, sites: &Sites) -> anyhow::Result<u64> {
        self.0.store.archive_configs(sites.configs().all()).await
    }

    /// The sites as they are now.
    pub fn sites(&self) -> Arc<Sites> {
        self.0.sites.read().map(|s| s.clone()).unwrap_or_default()
    }

    fn credentials(&self) -> Arc<access::Credentials> {
        self.0
            .credentials
            .read()
            .map(|c| c.clone())
            .unwrap_or_default()
    }

    /// The receipt writer's task (once): it ends after every clone of this state is dropped
    /// and it has stored what was queued and written the last chain heads. `serve` waits
    /// for it, so a graceful stop loses nothing.
    pub fn writer_task(&self) -> Option<tokio::task::JoinHandle<()>> {
        self.0.writer_task.lock().ok()?.take()
    }
}

/// The whole HTTP surface: public receipt and impression endpoints, the admin API, the
/// dashboard, and the SDK and demo store as static files.
pub fn app(state: AppState) -> Router {
    let public = Router::new()
        .route(
            "/v1/receipts",
            post(post_receipt).get(find_receipts).options(preflight),
        )
        .route("/v1/impressions", post(post_impression).options(preflight))
        .route(
            "/v1/confirmations",
            post(post_confirmation).options(preflight),
        )
        .route(
            "/v1/confirmations/{id}",
            post(post_confirmation_code).options(preflight),
        )
        .route("/v1/signatures", post(post_signature).options(preflight))
        .route(
            "/v1/signatures/{id}",
            post(post_signature_cms).options(preflight),
        )
        .route("/v1/public-key", get(public_key))
        .layer(DefaultBodyLimit::max(MAX_RECEIPT_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            client_deadline,
        ));
    let admin = Router::new()
        .route("/v1/receipts/{id}", get(get_receipt))
        .route("/v1/consents/{consent_id}", get(get_consent_history))
        .route(
            "/v1/consents/{consent_id}/withdraw",
            post(post_staff_withdrawal),
        )
        .route("/v1/export.csv", get(export_csv))
        .route("/v1/stats", get(get_stats));
    let signed_in = admin
        .route("/dashboard", get(dashboard_page))
        .route("/dashboard/export.csv", get(dashboard_csv))
        .route("/dashboard/login", post(dashboard_login))
        .route("/dashboard/logout", post(dashboard_logout))
        .route("/kiosk/kiosk.js", get(kiosk::script))
        .route("/kiosk/{site}/{form}", get(kiosk::start_page))
        .route("/kiosk/{site}/{form}/login", post(kiosk::login))
        .route("/kiosk/{site}/{form}/send", post(kiosk::send_code))
        .route("/kiosk/{site}/{form}/confirm", post(kiosk::confirm_code))
        .route("/withdraw/{site}/{form}", get(kiosk::public_start_page))
        .route(
            "/withdraw/{site}/{form}/send",
            post(kiosk::public_send_code),
        )
        .route(
            "/withdraw/{site}/{form}/confirm",
            post(kiosk::public_confirm_code),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            body_deadline,
        ));
    let mut router = public
        .merge(signed_in)
        .route("/v1/chain-heads", get(chain_heads))
        .route("/v1/config/{site}/{language}", get(get_config))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/readyz", get(readyz))
        .with_state(state.clone());
    if let Some(sdk) = &state.0.sdk_dir {
        // The SDK is fetched on every page of the store: compress it and let browsers cache it
        // briefly (file names are not content-hashed, so not for long), then for a week use
        // the cached copy at once while they fetch the current one in the background
        // (`stale-while-revalidate`): a returning visitor's page does not wait for two
        // revalidations in a row (kelisim.js, then the .wasm) before any tag may run. The
        // loader refuses a cached module of another build than its own (ARCHITECTURE.md,
        // "Invariants"), so the two files may go stale separately. `cargo xtask build`
        // writes a precompressed `.br` and `.gz` next to each file a site loads; those are
        // sent when the browser accepts them, compressed harder than a server can afford per
        // request, and the compression layer below leaves an encoded response alone. That layer says
        // `Vary: Accept-Encoding` only for what it compresses itself; a shared cache must
        // hear it for the precompressed forms too, or it could hand brotli to a browser that
        // asked for gzip.
        let files = ServeDir::new(sdk).precompressed_br().precompressed_gzip();
        let sdk = Router::new()
            .fallback_service(files)
            .layer(SetResponseHeaderLayer::overriding(
                header::CACHE_CONTROL,
                HeaderValue::from_static(SDK_CACHE_CONTROL),
            ))
            .layer(SetResponseHeaderLayer::if_not_present(
                header::VARY,
                HeaderValue::from_static("accept-encoding"),
            ));
        router = router.nest_service("/sdk", sdk);
    }
    if let Some(www) = &state.0.www_dir {
        router = router.fallback_service(ServeDir::new(www));
    }
    router
        .layer(CompressionLayer::new())
        .layer(axum::middleware::from_fn(request_log))
}

/// One log line per request, for the operator: method, path (no query: it may carry ids),
/// status, milliseconds. Never the address, a header or a token.
async fn request_log(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        target: "kelisim::request",
        method = %method,
        path = %path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
    );
    response
}

/// The Prometheus metrics (`telemetry`), for the monitor and admin roles.
async fn metrics_text(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::ReadMetrics)?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        telemetry::render(),
    )
        .into_response())
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Readiness: the database is reachable and takes a write (one row, committed). `503` with
/// the reason's kind, not its details, when it does not.
async fn readyz(State(state): State<AppState>) -> Response {
    match state.0.store.check_writable().await {
        Ok(()) => "ready\n".into_response(),
        Err(error) => {
            tracing::warn!("readiness check failed: {error:#}");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "error": "the database does not take writes" })),
            )
                .into_response()
        }
    }
}

/// Cuts off a public request that takes longer than the client timeout (a client sending its
/// body slowly would otherwise hold a connection and a task): `408` with a JSON message.
async fn client_deadline(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match tokio::time::timeout(state.0.client_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => AppError::RequestTimeout.into_response(),
    }
}

/// Reads the whole body of an admin or dashboard request within the client timeout (and at
/// most [`MAX_RECEIPT_BYTES`]) before the handler runs: a client trickling a login form or a
/// staff withdrawal is cut off with `408` like a slow receipt, and holds no connection longer.
/// The handler itself is not timed (an export of a large database may take a while).
async fn body_deadline(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let (parts, body) = request.into_parts();
    let read = axum::body::to_bytes(body, MAX_RECEIPT_BYTES);
    match tokio::time::timeout(state.0.client_timeout, read).await {
        Ok(Ok(bytes)) => {
            next.run(axum::extract::Request::from_parts(parts, bytes.into()))
                .await
        }
        Ok(Err(_)) => AppError::TooLarge(MAX_RECEIPT_BYTES).into_response(),
        Err(_) => AppError::RequestTimeout.into_response(),
    }
}

async fn post_receipt(
    State(state): State<AppState>,
    ClientNetwork(client): ClientNetwork,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let answer = store_receipt(state, client, headers, body).await;
    if let Err(error) = &answer {
        metrics::counter!(telemetry::RECEIPTS_REFUSED, "reason" => error.reason()).increment(1);
    }
    answer
}

async fn store_receipt(
    state: AppState,
    client: Option<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = public_body(&state, client.as_deref(), body)?;
    let now = OffsetDateTime::now_utc();
    let mut receipt = parse_receipt(&body, now)?;
    let (site, origin) = site_origin(&state, &receipt.site, &headers)?;
    if !site.full_user_agent {
        receipt.user_agent = user_agent::reduce(&receipt.user_agent);
    }
    let (record, replayed) = state
        .0
        .writer
        .insert(NewReceipt {
            receipt: receipt.clone(),
            ip_prefix: client,
            now,
        })
        .await?;
    // A known id is answered with the stored record only when this is the same receipt sent
    // again (the SDK's retries are byte for byte the same). Anything else under that id, for
    // this site or another, learns nothing of what is stored: receipt ids sit in form fields.
    if replayed && record.stored.receipt != receipt {
        return Err(AppError::Conflict(receipt.receipt_id));
    }
    let mut response = (StatusCode::CREATED, Json(record)).into_response();
    if replayed {
        response.headers_mut().insert(
            HeaderName::from_static("idempotent-replayed"),
            HeaderValue::from_static("true"),
        );
    }
    add_cors(&mut response, origin);
    Ok(response)
}

/// The request's `User-Agent`, or nothing.
pub(crate) fn user_agent_of(headers: &HeaderMap) -> String {
    headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `POST /v1/confirmations`: a form's consent (or its withdrawal) waits for the code sent to
/// the visitor's phone. `201` `{confirmation_id, expires_at, resend_after, phone}`.
async fn post_confirmation(
    State(state): State<AppState>,
    ClientNetwork(client): ClientNetwork,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = public_body(&state, client.as_deref(), body)?;
    let request: confirmations::StartRequest = receipt::parse_json(&body)?;
    let (_, origin) = site_origin(&state, &request.site, &headers)?;
    let user_agent = user_agent_of(&headers);
    let page_url = request
        .page_url
        .clone()
        .ok_or_else(|| AppError::bad("page_url", "is required: the page the form is on"))?;
    let started = confirmations::start(
        &state,
        request,
        confirmations::Channel::Web {
            page_url,
            user_agent,
        },
        client,
    )
    .await?;
    let mut response = (StatusCode::CREATED, Json(started)).into_response();
    add_cors(&mut response, origin);
    Ok(response)
}

/// The code of a confirmation, and the number it was sent to (optional; see
/// `confirmations::confirm`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    code: String,
    #[serde(default)]
    phone: Option<String>,
}

/// `POST /v1/confirmations/{id}` `{code}`: `201` with the stored receipt (a consent), or
/// `{withdrawn: [receipts]}` (a withdrawal); a 4xx with a `reason` when the code is wrong,
/// expired, used or locked.
async fn post_confirmation_code(
    State(state): State<AppState>,
    ClientNetwork(client): ClientNetwork,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = public_body(&state, client.as_deref(), body)?;
    let request: CodeRequest = receipt::parse_json(&body)?;
    let site = state
        .0
        .store
        .confirmation(&id)
        .await?
        .map(|row| row.site)
        .ok_or(AppError::NotFound)?;
    let (_, origin) = site_origin(&state, &site, &headers)?;
    let confirmed =
        confirmations::confirm(&state, &id, &request.code, request.phone.as_deref()).await?;
    let mut response = match confirmed {
        confirmations::Confirmed::Consent(record) => {
            (StatusCode::CREATED, Json(record)).into_response()
        }
        confirmations::Confirmed::Withdrawn(records) => {
            (StatusCode::CREATED, Json(json!({ "withdrawn": records }))).into_response()
        }
    };
    add_cors(&mut response, origin);
    Ok(response)
}

/// `POST /v1/signatures`: the consent document for a form signed with an electronic
/// signature. `201` `{signature_id, document, document_base64, expires_at}`.
async fn post_signature(
    State(state): State<AppState>,
    ClientNetwork(client): ClientNetwork,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = public_body(&state, client.as_deref(), body)?;
    let request: signatures::SignatureRequest = receipt::parse_json(&body)?;
    let (_, origin) = site_origin(&state, &request.site, &headers)?;
    let user_agent = user_agent_of(&headers);
    let written = signatures::write(&state, request, &user_agent, client).await?;
    let mut response = (StatusCode::CREATED, Json(written)).into_response();
    add_cors(&mut response, origin);
    Ok(response)
}

/// The CMS NCALayer made over the document (base64).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CmsRequest {
    cms: String,
}

/// `POST /v1/signatures/{id}` `{cms}`: `201` with the stored receipt, or `422` with the
/// `reason` the signature was refused for (nothing stored).
async fn post_signature_cms(
    State(state): State<AppState>,
    ClientNetwork(client): ClientNetwork,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = public_body(&state, client.as_deref(), body)?;
    let request: CmsRequest = receipt::parse_json(&body)?;
    let site = state
        .0
        .store
        .signature_request(&id)
        .await?
        .map(|row| row.site)
        .ok_or(AppError::NotFound)?;
    let (_, origin) = site_origin(&state, &site, &headers)?;
    let record = signatures::complete(&state, &id, &request.cms).await?;
    let mut response = (StatusCode::CREATED, Json(record)).into_response();
    add_cors(&mut response, origin);
    Ok(response)
}

/// `GET /v1/receipts?phone=+77…` (dpo, admin): every receipt an SMS code to that number
/// confirmed, with the rest of those consents' histories (Law 94-V Art. 24 access requests).
/// The number is in the query, which the request log leaves out.
async fn find_receipts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::ReadReceipts)?;
    let phone = query
        .get("phone")
        .ok_or_else(|| AppError::bad("phone", "is required: the number whose receipts to find"))?;
    let normal = kelisim_core::phone::normalize_kz_mobile(phone).ok_or_else(|| {
        AppError::bad("phone", "must be a Kazakh mobile number, +7 7XX XXX XX XX")
    })?;
    let records = state
        .0
        .store
        .receipts_by_phone(&state.0.phone_key.phone_hash(&normal))
        .await?;
    Ok(Json(json!({ "receipts": records })).into_response())
}

/// An anonymous impression: the first layer was shown once on one page view.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Impression {
    site: String,
    language: String,
    #[serde(default)]
    variant: Option<String>,
    /// Path only, no query: `/catalog/lenses`.
    page: String,
}

async fn post_impression(
    State(state): State<AppState>,
    ClientNetwork(client): ClientNetwork,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let body = public_body(&state, client.as_deref(), body)?;
    let impression: Impression = receipt::parse_json(&body)?;
    let (_, origin) = site_origin(&state, &impression.site, &headers)?;
    receipt::check_language(&impression.language)?;
    let variant = impression.variant.unwrap_or_default();
    receipt::check_variant(&variant)?;
    let page = receipt::clean_page_url(&impression.page);
    let page = page.as_str();
    if !page.starts_with('/') || page.len() > 512 || page.chars().any(char::is_control) {
        return Err(AppError::bad(
            "page",
            "must be a path starting with / (at most 512 bytes)",
        ));
    }
    let day = receipt::format_time(OffsetDateTime::now_utc())[..10].to_owned();
    // Only the class of device is kept, never the user agent itself.
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    state
        .0
        .store
        .add_impression(
            &impression.site,
            &day,
            &impression.language,
            &variant,
            page,
            stats::device_class(user_agent),
        )
        .await?;
    metrics::counter!(telemetry::IMPRESSIONS).increment(1);
    let mut response = StatusCode::NO_CONTENT.into_response();
    add_cors(&mut response, origin);
    Ok(response)
}

async fn preflight(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let sites = state.sites();
    let origin = allowed_origin(&headers, |origin| sites.any_allows(origin))?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let response_headers = response.headers_mut();
    response_headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST"),
    );
    response_headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("content-type"),
    );
    response_headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    add_cors(&mut response, origin);
    Ok(response)
}

/// The latest signed head of each chain, one JSON object per line: what monitoring fetches and
/// keeps (`curl -s …/v1/chain-heads >> heads.jsonl`), so that `verify --heads` can prove later
/// that no receipt was cut from the end of a chain. Public, like the key: it tells how many
/// receipts each site has, nothing about any of them.
async fn chain_heads(State(state): State<AppState>) -> Response {
    let heads: Vec<heads::SignedHead> = state
        .0
        .published_heads
        .lock()
        .map(|heads| heads.values().cloned().collect())
        .unwrap_or_default();
    let mut text = String::new();
    for head in &heads {
        text.push_str(&serde_json::to_string(head).unwrap_or_default());
        text.push('\n');
    }
    (
        [
            (header::CONTENT_TYPE, "application/x-ndjson"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        text,
    )
        .into_response()
}

/// A site's compiled config in one language (`kk`, `ru`, `en`, or `default`; a language the
/// site does not offer gets the default one). Public and cacheable by anyone: it holds what
/// the banner shows. The ETag is the body's hash, so a revalidation costs a `304` and a config
/// edited on the server (then `SIGHUP`) reaches browsers within the cache time.
/// `{language}.preferences.json` and `{language}.forms.json` are the documents apart from
/// that body (its `preferences_href` and `forms_href`), fetched when the visitor opens the
/// preferences and by pages with a form.
async fn get_config(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((site, language)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let sites = state.sites();
    // `kk.preferences.json`, `kk.forms.json`: the documents apart from the body `kk`.
    for suffix in kelisim_core::compile::DOCUMENT_SUFFIXES {
        if let Some(language) = language.strip_suffix(suffix) {
            let Some((config, served)) = sites.configs().served_document(&site, language, suffix)
            else {
                return Err(AppError::NotFound);
            };
            let (language, served) = (config.language.clone(), served.clone());
            drop(sites);
            return Ok(serve_config(&headers, language, served).await);
        }
    }
    let Some((config, served)) = sites.configs().served(&site, &language) else {
        let known = sites.get(&site).is_some_and(|site| site.config.is_some());
        return Err(if known {
            AppError::bad(
                "language",
                format!(
                    "`{language}` is not a language; use {}",
                    configs::LANGUAGE_NAMES.join(", ")
                ),
            )
        } else {
            AppError::NotFound
        });
    };
    let (language, served) = (config.language.clone(), served.clone());
    drop(sites);
    Ok(serve_config(&headers, language, served).await)
}

/// A compiled config's body or a document apart from it, or `304` when the browser has it:
/// brotli or gzip when the browser accepts it, compressed harder than the compression layer
/// below can afford per request (which leaves an encoded response alone).
async fn serve_config(
    headers: &HeaderMap,
    language: String,
    served: configs::ServedConfig,
) -> Response {
    let accept_encoding: Vec<&str> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .collect();
    let coding = configs::Coding::preferred(&accept_encoding);
    let mut common = vec![
        (header::CACHE_CONTROL, CONFIG_CACHE_CONTROL.to_owned()),
        (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
        (header::CONTENT_LANGUAGE, language),
        // The form sent depends on the request's `Accept-Encoding`: a shared cache must
        // hear it, for the plain form too.
        (header::VARY, "accept-encoding".to_owned()),
    ];
    // A revalidation is answered without compressing anything.
    let etag = served.etag_in(coding);
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .split(',')
                .any(|tag| tag.trim() == etag || tag.trim() == "*")
        });
    let mut response = if matches {
        common.push((header::ETAG, etag));
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let (coding, body) = encoded_body(&served, coding).await;
        common.push((header::ETAG, served.etag_in(coding)));
        common.push((
            header::CONTENT_TYPE,
            "application/json; charset=utf-8".to_owned(),
        ));
        if let Some(coding) = coding {
            common.push((header::CONTENT_ENCODING, coding.name().to_owned()));
        }
        body.into_response()
    };
    for (name, value) in common {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}

/// The body of `served` in `coding` (compressed now, off the runtime's workers, if neither the
/// background task nor a request did it before), or as it is without one; a compression that
/// fails is logged, and the body goes out as it is: still correct, only larger.
async fn encoded_body(
    served: &configs::ServedConfig,
    coding: Option<configs::Coding>,
) -> (Option<configs::Coding>, Bytes) {
    let Some(coding) = coding else {
        return (None, served.body.clone());
    };
    if let Some(encoded) = served.encoded_before(coding) {
        return (Some(coding), encoded);
    }
    let compressing = served.clone();
    match tokio::task::spawn_blocking(move || compressing.encoded(coding)).await {
        Ok(Ok(encoded)) => (Some(coding), encoded),
        failed => {
            tracing::warn!("a config could not be compressed by {coding:?}: {failed:?}");
            (None, served.body.clone())
        }
    }
}

/// Five minutes fresh, then a day of answering from the cache while revalidating: a changed
/// config reaches a returning visitor by their next page or two, and a page never waits for
/// the revalidation.
const CONFIG_CACHE_CONTROL: &str = "public, max-age=300, stale-while-revalidate=86400";

async fn public_key(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({ "algorithm": "ed25519", "public_key": state.0.public_key.to_hex() }))
}

async fn get_receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::ReadReceipts)?;
    let record = state
        .0
        .store
        .receipt(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    // The exact texts the visitor saw: the archived compiled config the receipt names.
    let config = match &record.stored.receipt.config_id {
        Some(config_id) => {
            match state
                .0
                .store
                .archived_config(&record.stored.receipt.site, config_id)
                .await?
            {
                Some((compiled, first_seen)) => json!({
                    "archived": true,
                    "first_seen": first_seen,
                    "compiled": compiled,
                }),
                None => json!({ "archived": false }),
            }
        }
        None => serde_json::Value::Null,
    };
    let mut answer = serde_json::to_value(&record).map_err(anyhow::Error::from)?;
    if let Some(fields) = answer.as_object_mut() {
        fields.insert("config".into(), config);
    }
    Ok(Json(answer).into_response())
}

async fn get_consent_history(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(consent_id): Path<String>,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::ReadReceipts)?;
    let history = state.0.store.consent_history(&consent_id).await?;
    if history.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(Json(json!({ "consent_id": consent_id, "receipts": history })).into_response())
}

/// A withdrawal the store's staff record (an e-mail, a letter, a call), as the stores'
/// policies describe.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StaffWithdrawal {
    /// How the person withdrew: `email`, `letter`, `phone`, `in_person`.
    method: String,
    /// Purposes withdrawn (form consents); absent: all of them.
    #[serde(default)]
    purposes: Option<Vec<String>>,
}

/// Records a withdrawal as a `withdraw` receipt in the same chain, based on the consent's last
/// receipt: everything it granted (or the named purposes) becomes refused.
async fn post_staff_withdrawal(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(consent_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::RecordWithdrawal)?;
    let request: StaffWithdrawal = receipt::parse_json(&body_bytes(body)?)?;
    if !["email", "letter", "phone", "in_person"].contains(&request.method.as_str()) {
        return Err(AppError::bad(
            "method",
            "must be email, letter, phone or in_person",
        ));
    }
    let history = state.0.store.consent_history(&consent_id).await?;
    let last = history.last().ok_or(AppError::NotFound)?;
    let now = OffsetDateTime::now_utc();
    let mut withdrawal =
        receipt::withdrawal_of(&last.stored.receipt, request.purposes.as_deref(), now)?;
    withdrawal.method = format!("staff:{}", request.method);
    withdrawal.page_url = "urn:kelisim:staff".into();
    withdrawal.user_agent = "kelisim-server (recorded by staff)".into();
    let (record, _) = state
        .0
        .writer
        .insert(NewReceipt {
            receipt: withdrawal,
            ip_prefix: None,
            now,
        })
        .await?;
    Ok((StatusCode::CREATED, Json(record)).into_response())
}

/// `GET /v1/stats?site=&from=&to=&by=day|language|category|variant|page` (admin): opt-in
/// numbers as defined in `stats`. Dates are days (`YYYY-MM-DD`, inclusive); the default range is
/// the last 30 days.
async fn get_stats(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::ReadStats)?;
    if let Some(unknown) = query.keys().find(|key| {
        !["site", "from", "to", "by", "language", "variant", "device"].contains(&key.as_str())
    }) {
        return Err(AppError::bad(
            unknown.clone(),
            "is not a stats parameter; use site, from, to, by, language, variant, device",
        ));
    }
    let site = query
        .get("site")
        .ok_or_else(|| AppError::bad("site", "is required"))?;
    known_site(&state, site)?;
    let filter = stats_filter(&query)?;
    let by_text = query.get("by").map_or("day", String::as_str);
    let by = stats::GroupBy::parse(by_text).ok_or_else(|| {
        AppError::bad(
            "by",
            "must be day, language, variant, device, page or category",
        )
    })?;
    if by == stats::GroupBy::Page && filter.narrows() {
        return Err(AppError::bad(
            "by",
            "page counts cannot be narrowed by language, variant or device",
        ));
    }
    let rows = stats_rows(&state, site, &filter, by).await?;
    Ok(Json(json!({
        "site": site,
        "from": filter.from,
        "to": filter.to,
        "language": filter.language,
        "variant": filter.variant,
        "device": filter.device,
        "by": by_text,
        "rows": rows,
    }))
    .into_response())
}

/// The rows of one grouping, read from the rollups.
async fn stats_rows(
    state: &AppState,
    site: &str,
    filter: &stats::Filter,
    by: stats::GroupBy,
) -> Result<Vec<stats::Row>, AppError> {
    let decisions = state.0.store.decision_counts(site, filter, by).await?;
    let impressions = state.0.store.impression_counts(site, filter, by).await?;
    Ok(stats::compute(&decisions, &impressions, by))
}

/// The days and narrowing filters of a stats query or dashboard view (empty counts as absent).
fn stats_filter(query: &HashMap<String, String>) -> Result<stats::Filter, AppError> {
    let (from, to) = day_range(query)?;
    let value = |name: &str| query.get(name).filter(|v| !v.is_empty()).cloned();
    let language = value("language");
    if let Some(language) = &language {
        receipt::check_language(language)?;
    }
    let variant = value("variant");
    if let Some(variant) = &variant {
        receipt::check_variant(variant)?;
    }
    let device = value("device");
    if device
        .as_deref()
        .is_some_and(|d| !["mobile", "tablet", "desktop", "unknown"].contains(&d))
    {
        return Err(AppError::bad(
            "device",
            "must be mobile, tablet, desktop or unknown",
        ));
    }
    Ok(stats::Filter {
        from,
        to,
        language,
        variant,
        device,
    })
}

async fn export_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    authorize(&state, &headers, Permission::ReadReceipts)?;
    let csv = export::csv(&state.0.store).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"kelisim-receipts.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// The `from` and `to` days of a stats query (`YYYY-MM-DD`, inclusive; empty counts as absent),
/// by default the last 30 days.
fn day_range(query: &HashMap<String, String>) -> Result<(String, String), AppError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let day = |name: &str, default: time::Date| -> Result<String, AppError> {
        match query.get(name).filter(|v| !v.is_empty()) {
            None => Ok(default.format(format).expect("dates format")),
            Some(text) => time::Date::parse(text, format)
                .map(|_| text.clone())
                .map_err(|_| AppError::bad(name, "must be a day, YYYY-MM-DD")),
        }
    };
    let today = OffsetDateTime::now_utc().date();
    let to = day("to", today)?;
    let from = day("from", today - time::Duration::days(29))?;
    if from > to {
        return Err(AppError::bad("from", "is after `to`"));
    }
    Ok((from, to))
}

const SESSION_COOKIE: &str = "kelisim_session";
const SESSION_HOURS: i64 = 8;

use axum::extract::Query;

type QueryMap = Query<HashMap<String, String>>;

/// The dashboard, or the login page without a valid session.
async fn dashboard_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Result<Response, AppError> {
    let lang = page_language(&query, &headers);
    let Some(identity) = session_identity(&state, &headers, SESSION_COOKIE).await? else {
        return Ok(Html(dashboard::login_page(lang, false)).into_response());
    };
    if !identity.role.may(Permission::ReadStats) {
        if identity.role.may(Permission::ReadReceipts) {
            return dpo_page(&state, lang, &query).await;
        }
        return Ok((
            StatusCode::FORBIDDEN,
            Html(dashboard::nothing_to_see_page(lang, identity.role)),
        )
            .into_response());
    }
    let (view_parts, sections) = marketing_sections(&state, lang, &query).await?;
    // The admin also sees each site's latest scan (a marketer does not).
    let scans = if identity.role.may(Permission::ReadReceipts) {
        Some(state.0.store.last_scan_reports().await?)
    } else {
        None
    };
    let mut view = view_parts.view();
    view.scans = scans.as_deref();
    Ok(Html(marketing::render(lang, &view, &sections)).into_response())
}

/// A dashboard page's language: `?lang=`, else the browser's `Accept-Language`.
fn page_language(query: &HashMap<String, String>, headers: &HeaderMap) -> dashboard::Lang {
    dashboard::Lang::choose(
        query.get("lang").map(String::as_str),
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|value| value.to_str().ok()),
    )
}

/// The parts of the marketer's view that the page and its CSV share.
struct MarketingQuery {
    sites: Vec<String>,
    site: String,
    range: marketing::Range,
    filter: stats::Filter,
    message: Option<String>,
}

impl MarketingQuery {
    fn view(&self) -> marketing::View<'_> {
        marketing::View {
            sites: &self.sites,
            site: &self.site,
            range: self.range,
            filter: &self.filter,
            message: self.message.clone(),
            scans: None,
        }
    }
}

/// Reads what the marketer's page shows. A filter value that does not parse (an unknown site,
/// language or date) does not fail the page: it is shown with the defaults and a message that
/// names the field in the page's language. The queries run at once on the pool.
async fn marketing_sections(
    state: &AppState,
    lang: dashboard::Lang,
    query: &HashMap<String, String>,
) -> Result<(MarketingQuery, marketing::Sections), AppError> {
    let query = marketing_query(state, lang, query)?;
    let sections = marketing_rows(state, &query.site, &query.filter).await?;
    Ok((query, sections))
}

/// The marketer's query: the site, the period and the filter, each refused value replaced by
/// its default and named in `message`.
fn marketing_query(
    state: &AppState,
    lang: dashboard::Lang,
    query: &HashMap<String, String>,
) -> Result<MarketingQuery, AppError> {
    let sites: Vec<String> = state
        .sites()
        .all()
        .iter()
        .map(|site| site.id.clone())
        .collect();
    let mut refused: Option<String> = None;
    let mut site = query
        .get("site")
        .filter(|site| !site.is_empty())
        .cloned()
        .or_else(|| sites.first().cloned())
        .unwrap_or_default();
    if known_site(state, &site).is_err() {
        refused = Some("site".into());
        site = sites.first().cloned().unwrap_or_default();
    }
    let range = match query.get("range").filter(|r| !r.is_empty()) {
        None if query.contains_key("from") || query.contains_key("to") => marketing::Range::Custom,
        None => marketing::Range::Days(30),
        Some(text) => marketing::Range::parse(text).unwrap_or_else(|| {
            refused = Some("range".into());
            marketing::Range::Days(30)
        }),
    };
    let today = OffsetDateTime::now_utc().date();
    let mut effective = query.clone();
    if let Some((from, to)) = range.bounds(today) {
        let day = time::macros::format_description!("[year]-[month]-[day]");
        effective.insert("from".into(), from.format(day).unwrap_or_default());
        effective.insert("to".into(), to.format(day).unwrap_or_default());
    }
    let filter = match stats_filter(&effective) {
        Ok(filter) => filter,
        Err(error) => {
            if let AppError::BadRequest { field, .. } = &error {
                refused = field.clone();
            }
            stats_filter(&HashMap::new())?
        }
    };
    let message = refused.map(|field| {
        let name = match field.as_str() {
            "site" => lang.t("сайт", "сайт", "site"),
            "range" => lang.t("кезең", "период", "period"),
            "from" | "to" => lang.t("күндер", "даты", "dates"),
            "language" => lang.t("тіл", "язык", "language"),
            "variant" => lang.t("нұсқа", "вариант", "variant"),
            "device" => lang.t("құрылғы", "устройство", "device"),
            _ => lang.t("сүзгі", "фильтр", "filter"),
        };
        format!(
            "{} ({name}). {}",
            lang.t(
                "Сүзгі мәні танылмады",
                "Значение фильтра не распознано",
                "A filter value was not recognised"
            ),
            lang.t(
                "Әдепкі мән көрсетілді.",
                "Показано значение по умолчанию.",
                "The default is shown instead."
            )
        )
    });
    Ok(MarketingQuery {
        sites,
        site,
        range,
        filter,
        message,
    })
}

/// The numbers of the marketer's page for `filter`, and the period before it for comparison.
async fn marketing_rows(
    state: &AppState,
    site: &str,
    filter: &stats::Filter,
) -> Result<marketing::Sections, AppError> {
    let day = time::macros::format_description!("[year]-[month]-[day]");
    let from =
        time::Date::parse(&filter.from, day).map_err(|_| AppError::bad("from", "is not a day"))?;
    let to = time::Date::parse(&filter.to, day).map_err(|_| AppError::bad("to", "is not a day"))?;
    let (previous_from, previous_to) = marketing::previous_period(from, to);
    let previous = stats::Filter {
        from: previous_from.format(day).unwrap_or_default(),
        to: previous_to.format(day).unwrap_or_default(),
        ..filter.clone()
    };
    use stats::GroupBy;
    let pages = async {
        if filter.narrows() {
            Ok(None)
        } else {
            stats_rows(state, site, filter, GroupBy::Page)
                .await
                .map(Some)
        }
    };
    let store = &state.0.store;
    let (now, before, by_page) = tokio::try_join!(
        async {
            store
                .split_counts(site, filter)
                .await
                .map_err(AppError::from)
        },
        async {
            store
                .split_counts(site, &previous)
                .await
                .map_err(AppError::from)
        },
        pages,
    )?;
    let rows = |split: &(Vec<stats::SplitDecision>, Vec<stats::SplitImpression>), by| {
        stats::compute(
            &stats::regroup_decisions(&split.0, by),
            &stats::regroup_impressions(&split.1, by),
            by,
        )
    };
    let (by_day, by_category, by_language, by_variant, by_device) = (
        rows(&now, GroupBy::Day),
        rows(&now, GroupBy::Category),
        rows(&now, GroupBy::Language),
        rows(&now, GroupBy::Variant),
        rows(&now, GroupBy::Device),
    );
    let (previous_by_day, previous_by_category) = (
        rows(&before, GroupBy::Day),
        rows(&before, GroupBy::Category),
    );
    Ok(marketing::Sections {
        by_day,
        by_category,
        by_language,
        by_variant,
        by_device,
        by_page,
        previous_by_day,
        previous_by_category,
    })
}

/// `GET /dashboard/export.csv`: exactly the numbers the page shows for the same query.
async fn dashboard_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryMap,
) -> Result<Response, AppError> {
    let lang = page_language(&query, &headers);
    let identity = session_identity(&state, &headers, SESSION_COOKIE)
        .await?
        .ok_or(AppError::Unauthorized)?;
    permitted(identity, Permission::ReadStats)?;
    let (view, sections) = marketing_sections(&state, lang, &query).await?;
    let csv = marketing::csv(&sections)?;
    let name = format!(
        "attachment; filename=\"kelisim-{}-{}-{}.csv\"",
        view.site, view.filter.from, view.filter.to
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        csv,
    )
        .into_response())
}

/// The data-protection officer's dashboard: a consent id or receipt id looked up, with every
/// receipt of that consent (no numbers: the role is for answering people, not marketing).
async fn dpo_page(
    state: &AppState,
    lang: dashboard::Lang,
    query: &HashMap<String, String>,
) -> Result<Response, AppError> {
    let asked = query
        .get("id")
        .map(|id| id.trim().to_lowercase())
        .filter(|id| !id.is_empty());
    let history = match &asked {
        None => None,
        Some(id) if kelisim_core::cookie::is_consent_id(id) => {
            let mut history = state.0.store.consent_history(id).await?;
            if history.is_empty() {
                // A receipt id: show the whole history of its consent.
                if let Some(record) = state.0.store.receipt(id).await? {
                    history = state
                        .0
                        .store
                        .consent_history(&record.stored.receipt.consent_id)
                        .await?;
                }
            }
            Some(history)
        }
        // A phone number: every receipt an SMS code to it confirmed (an access request).
        Some(text) if kelisim_core::phone::normalize_kz_mobile(text).is_some() => {
            let normal = kelisim_core::phone::normalize_kz_mobile(text).unwrap_or_default();
            Some(
                state
                    .0
                    .store
                    .receipts_by_phone(&state.0.phone_key.phone_hash(&normal))
                    .await?,
            )
        }
        Some(_) => return Err(AppError::bad(
            "id",
            "must be a consent id or a receipt id (a lowercase UUID), or a Kazakh mobile number",
        )),
    };
    // The archived compiled config of each receipt that names one, each looked up once.
    let mut configs: Vec<(String, Option<kelisim_core::compile::CompiledConfig>)> = Vec::new();
    for record in history.iter().flatten() {
        let receipt = &record.stored.receipt;
        if let Some(config_id) = &receipt.config_id {
            if !configs.iter().any(|(known, _)| known == config_id) {
                let archived = state
                    .0
                    .store
                    .archived_config(&receipt.site, config_id)
                    .await?
                    .map(|(compiled, _)| compiled);
                configs.push((config_id.clone(), archived));
            }
        }
    }
    let scans = state.0.store.last_scan_reports().await?;
    // Where a person withdraws an SMS-confirmed consent by a new code (the DPO may do it with
    // them on the phone): each site's forms confirmed by SMS.
    let sites = state.sites();
    let mut withdraw_pages: Vec<String> = Vec::new();
    for site in sites.all().iter().filter(|site| site.sms_gateway.is_some()) {
        if let Some(compiled) = sites.configs().get(&site.id, "default") {
            for form in compiled
                .forms
                .iter()
                .filter(|f| f.confirm.as_deref() == Some("sms"))
            {
                withdraw_pages.push(format!("/withdraw/{}/{}", site.id, form.id));
            }
        }
    }
    Ok(Html(dashboard::dpo_page(
        lang,
        asked.as_deref(),
        history.as_deref(),
        &configs,
        &scans,
        &withdraw_pages,
    ))
    .into_response())
}

/// Signs in with any role's token: an HttpOnly, SameSite=Strict session cookie for 8 hours
/// (`Secure` when the request came over https through a proxy that says so). The session is
/// kept in the database (by the SHA-256 of its id), so a restart signs no one out.
async fn dashboard_login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): QueryMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let lang = page_language(&query, &headers);
    same_origin(&headers)?;
    let token = form.get("token").map(String::as_str).unwrap_or_default();
    let Some(identity) = state.credentials().identify(token) else {
        return Ok((
            StatusCode::UNAUTHORIZED,
            Html(dashboard::login_page(lang, true)),
        )
            .into_response());
    };
    let cookie = open_session(
        &state,
        &headers,
        &identity,
        SESSION_COOKIE,
        "/dashboard",
        SESSION_HOURS,
    )
    .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, format!("/dashboard?lang={}", lang.code())),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

/// Stores a new session of `identity` for `hours` and answers its `Set-Cookie` value (cookie
/// `cookie` on `path`, HttpOnly, SameSite=Strict, Secure behind HTTPS).
async fn open_session(
    state: &AppState,
    headers: &HeaderMap,
    identity: &access::Identity,
    cookie: &str,
    path: &str,
    hours: i64,
) -> Result<String, AppError> {
    let id = access::new_token() + &access::new_token();
    let expires = OffsetDateTime::now_utc() + time::Duration::hours(hours);
    state
        .0
        .store
        .create_session(
            &hex::encode(access::digest(&id)),
            identity.role.name(),
            &identity.name,
            &session_time(expires),
        )
        .await?;
    let https = headers
        .get("x-forwarded-proto")
        .is_some_and(|v| v == "https");
    Ok(format!(
        "{cookie}={id}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={}{}",
        hours * 3600,
        if https { "; Secure" } else { "" }
    ))
}

/// Signs out. Only a request from the dashboard's own pages does anything: a form on another
/// site could otherwise post here and clear the session cookie (the answer's `Set-Cookie`
/// applies whatever the cookie's `SameSite`).
async fn dashboard_logout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    same_origin(&headers)?;
    if let Some(id) = session_id(&headers, SESSION_COOKIE) {
        state
            .0
            .store
            .delete_session(&hex::encode(access::digest(&id)))
            .await?;
    }
    let cookie =
        format!("{SESSION_COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0");
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::LOCATION, "/dashboard".to_owned()),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}

/// Refuses a state-changing dashboard request that a browser says came from another site:
/// `Sec-Fetch-Site` other than `same-origin` (or `none`, typed by the user), or an `Origin`
/// whose host is not the one asked. Clients that send neither header (scripts, curl) pass:
/// cross-site forgery needs a browser, and browsers send them.
fn same_origin(headers: &HeaderMap) -> Result<(), AppError> {
    let text = |name: HeaderName| {
        headers
            .get(name)
            .map(|value| value.to_str().unwrap_or("?").to_owned())
    };
    if let Some(site) = text(HeaderName::from_static("sec-fetch-site")) {
        if site != "same-origin" && site != "none" {
            return Err(AppError::Forbidden(format!(
                "a {site} request may not post to the dashboard or the kiosk"
            )));
        }
    }
    if let (Some(origin), Some(host)) = (text(header::ORIGIN), text(header::HOST)) {
        let origin_host = origin.split_once("://").map_or("", |(_, rest)| rest);
        if origin_host != host {
            return Err(AppError::Forbidden(format!(
                "origin {origin} may not post to the dashboard or the kiosk"
            )));
        }
    }
    Ok(())
}

fn session_id(headers: &HeaderMap, cookie: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|cookies| {
            cookies.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == cookie).then(|| value.to_owned())
            })
        })
}

/// A session's times in whole seconds, so that they compare as text.
fn session_time(time: OffsetDateTime) -> String {
    receipt::format_time(time.replace_nanosecond(0).unwrap_or(time))
}

/// Who the request's dashboard session belongs to, if it has a live one.
async fn session_identity(
    state: &AppState,
    headers: &HeaderMap,
    cookie: &str,
) -> Result<Option<access::Identity>, AppError> {
    let Some(id) = session_id(headers, cookie) else {
        return Ok(None);
    };
    let now = session_time(OffsetDateTime::now_utc());
    let session = state
        .0
        .store
        .session(&hex::encode(access::digest(&id)), &now)
        .await?;
    Ok(session.and_then(|(role, name)| {
        let role = access::Role::parse(&role)?;
        // A kiosk's scope is its credential's as the file says now: a kiosk removed from the
        // credentials file is signed out at once.
        let kiosk = match role {
            access::Role::Kiosk => Some(state.credentials().named(&name)?.kiosk?),
            _ => None,
        };
        Some(access::Identity { name, role, kiosk })
    }))
}

/// The client's network (address truncated by [`ip_prefix`]), when the server runs with
/// connection info; `None` in handler tests without a socket. Behind a trusted reverse proxy
/// (`--trusted-proxy`), the visitor's address comes from `X-Forwarded-For`.
pub(crate) struct ClientNetwork(pub(crate) Option<String>);

impl axum::extract::FromRequestParts<AppState> for ClientNetwork {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let trusted = &state.0.trusted_proxies;
        Ok(ClientNetwork(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(peer)| {
                    // The header is read only from a trusted proxy (most servers have none).
                    let peer_is_proxy = trusted
                        .iter()
                        .any(|proxy| proxy.to_canonical() == peer.ip().to_canonical());
                    let forwarded = if peer_is_proxy {
                        parts
                            .headers
                            .get_all("x-forwarded-for")
                            .iter()
                            .filter_map(|value| value.to_str().ok())
                            .collect::<Vec<_>>()
                            .join(",")
                    } else {
                        String::new()
                    };
                    ip_prefix(client_address(peer.ip(), &forwarded, trusted))
                }),
        ))
    }
}

/// The visitor's address: the peer's, unless the peer is a trusted proxy; then the nearest
/// address in `X-Forwarded-For` (read from the right, the end the proxies append to) that is
/// not itself a trusted proxy. Entries a client wrote itself sit further left and are never
/// reached past an untrusted hop, so a visitor cannot pick its own rate-limit bucket.
///
/// Every address is taken in its canonical form first: a dual-stack listener (`[::]:…`) sees an
/// IPv4 visitor as `::ffff:a.b.c.d`, which is the IPv4 address for the rate limit, the stored
/// network and the trusted proxies alike.
pub fn client_address(
    peer: std::net::IpAddr,
    forwarded_for: &str,
    trusted: &[std::net::IpAddr],
) -> std::net::IpAddr {
    let is_trusted = |address: std::net::IpAddr| {
        trusted
            .iter()
            .any(|proxy| proxy.to_canonical() == address.to_canonical())
    };
    let peer = peer.to_canonical();
    if !is_trusted(peer) {
        return peer;
    }
    let mut nearest = peer;
    for hop in forwarded_for.rsplit(',') {
        match hop
            .trim()
            .parse::<std::net::IpAddr>()
            .map(|a| a.to_canonical())
        {
            Ok(address) if is_trusted(address) => nearest = address,
            Ok(address) => return address,
            Err(_) => break,
        }
    }
    nearest
}

/// The body of a request to a public endpoint, after the client's rate limit.
fn public_body(
    state: &AppState,
    client: Option<&str>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, AppError> {
    let body = body_bytes(body)?;
    rate_limit(state, client)?;
    Ok(body)
}

/// The body, or a JSON error: 413 past the body limit, 400 otherwise.
fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge(MAX_RECEIPT_BYTES)
        } else {
            AppError::bad("body", rejection.body_text())
        }
    })
}

fn rate_limit(state: &AppState, client: Option<&str>) -> Result<(), AppError> {
    use governor::clock::Clock as _;
    let key = client.unwrap_or("unknown").to_owned();
    state.0.limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(governor::clock::DefaultClock::default().now());
        // Whole seconds, rounded up: a client that waits that long is let in.
        AppError::TooManyRequests(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    })
}

/// The rate limit's quota: at most `per_minute` requests in any window of a minute. A
/// generic-cell limiter admits its burst at once and then one request per replenish interval,
/// so a quota of `n` per minute with a burst of `n` lets through about `2n` in the first
/// minute. Here a tenth of the allowance is the burst and the rest is spread over the minute:
/// burst + 60 s / interval = `per_minute`.
pub fn rate_quota(per_minute: u32) -> Quota {
    let per_minute = per_minute.max(1);
    let burst = (per_minute / 10).max(1);
    let spread = (per_minute - burst).max(1);
    let interval = std::time::Duration::from_secs(60) / spread;
    Quota::with_period(interval)
        .expect("a minute divided by at most u32::MAX is not zero")
        .allow_burst(NonZeroU32::new(burst).expect("at least 1"))
}

/// Checks that `site` is served here and that the request's `Origin` may post to it; answers
/// the site and the origin to echo.
fn site_origin(
    state: &AppState,
    site: &str,
    headers: &HeaderMap,
) -> Result<(sites::Site, Option<HeaderValue>), AppError> {
    let site = known_site(state, site)?;
    let origin = allowed_origin(headers, |origin| site.allows(origin))?;
    Ok((site, origin))
}

/// The site `id` from the sites file, or a 400 naming the `site` field.
fn known_site(state: &AppState, id: &str) -> Result<sites::Site, AppError> {
    state
        .sites()
        .get(id)
        .cloned()
        .ok_or_else(|| AppError::bad("site", format!("`{id}` is not a site of this server")))
}

/// The request's `Origin`, if `allowed` accepts it; requests without one (server to server)
/// pass, browsers on a foreign origin get 403.
fn allowed_origin(
    headers: &HeaderMap,
    allowed: impl Fn(&str) -> bool,
) -> Result<Option<HeaderValue>, AppError> {
    match headers.get(header::ORIGIN) {
        None => Ok(None),
        Some(value) => {
            let origin = value.to_str().unwrap_or_default();
            if allowed(origin) {
                Ok(Some(value.clone()))
            } else {
                Err(AppError::Forbidden(format!(
                    "origin {origin} may not post to this site"
                )))
            }
        }
    }
}

fn add_cors(response: &mut Response, origin: Option<HeaderValue>) {
    if let Some(origin) = origin {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
}

/// The holder of the request's bearer token, if their role has `permission`: `401` without a
/// valid token, `403` naming the role when it lacks the permission.
fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    permission: Permission,
) -> Result<access::Identity, AppError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized)?;
    let identity = state
        .credentials()
        .identify(token)
        .ok_or(AppError::Unauthorized)?;
    permitted(identity, permission)
}

fn permitted(
    identity: access::Identity,
    permission: Permission,
) -> Result<access::Identity, AppError> {
    if identity.role.may(permission) {
        Ok(identity)
    } else {
        Err(AppError::Forbidden(format!(
            "the {} role may not do this ({permission:?})",
            identity.role.name()
        )))
    }
}
