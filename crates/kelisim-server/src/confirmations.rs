//! Consent confirmed by an SMS code (SPEC, "Consent confirmed by SMS code"): a form whose
//! purpose set says `"confirm": "sms"` (on the store's site, or on its tablet, `kiosk`) asks
//! for a code sent to the visitor's phone, and the receipt is stored only once the code is
//! entered. The same way withdraws such a consent.
//!
//! Owns the two steps ([`start`], [`confirm`]) and what makes them proof: the receipt is built
//! here from the site's compiled config (the browser cannot claim an SMS confirmation), codes
//! are random, short-lived, used once, kept as keyed hashes and compared in constant time;
//! attempts, resends and codes per phone and per client network are limited (the site's
//! `sms.limits`); the phone number is never stored or logged, only its keyed hash (the
//! [`PhoneKey`]), which the staff can search by.

use crate::error::AppError;
use crate::receipt::{format_time, random_uuid, withdrawal_of, ReceiptRecord};
use crate::store::{ConfirmationRow, NewReceipt};
use crate::AppState;
use axum::http::StatusCode;
use hmac::{Hmac, Mac};
use kelisim_core::compile::{CompiledConfig, CompiledForm};
use kelisim_core::confirm::Refusal;
use kelisim_core::receipt::{KioskPlace, Receipt, SmsConfirmation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::path::Path;
use time::OffsetDateTime;

/// How long the gateway gets to tell a message's delivery status when the code is entered
/// (the code being right proves delivery; the status is recorded as the gateway's word).
const STATUS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// The secret that keys the phone numbers' and the codes' hashes: 32 random bytes in a file
/// beside the signing key, made on first `serve`. Keep it with the key and the backups:
/// without it the staff can no longer find receipts by phone number.
#[derive(Clone)]
pub struct PhoneKey([u8; 32]);

impl std::fmt::Debug for PhoneKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhoneKey(…)")
    }
}

impl PhoneKey {
    pub fn random() -> PhoneKey {
        use rand_core::RngCore;
        let mut key = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut key);
        PhoneKey(key)
    }

    /// Reads the key at `path`, or makes one there (readable by its owner only).
    pub fn load_or_create(path: &Path) -> anyhow::Result<PhoneKey> {
        use anyhow::Context;
        if path.exists() {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the phone key {}", path.display()))?;
            let mut key = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut key).with_context(|| {
                format!("the phone key {} is not 64 hex digits", path.display())
            })?;
            return Ok(PhoneKey(key));
        }
        let key = PhoneKey::random();
        crate::chain::write_private(path, &(hex::encode(key.0) + "\n"))?;
        Ok(key)
    }

    fn mac(&self, parts: &[&str]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key");
        for part in parts {
            mac.update(part.as_bytes());
            mac.update(b"\n");
        }
        mac
    }

    /// The keyed hash of a phone number in normal form (`+77…`), hex.
    pub fn phone_hash(&self, normal_phone: &str) -> String {
        hex::encode(self.mac(&["phone", normal_phone]).finalize().into_bytes())
    }

    fn code_hash(&self, confirmation_id: &str, code: &str) -> String {
        hex::encode(
            self.mac(&["code", confirmation_id, code])
                .finalize()
                .into_bytes(),
        )
    }

    /// Whether `code` is the code of `confirmation_id`, compared in constant time.
    fn code_matches(&self, confirmation_id: &str, code: &str, code_hash: &str) -> bool {
        let Ok(expected) = hex::decode(code_hash) else {
            return false;
        };
        self.mac(&["code", confirmation_id, code])
            .verify_slice(&expected)
            .is_ok()
    }
}

/// Where a confirmation was asked for.
#[derive(Clone, Debug)]
pub enum Channel {
    /// The store's own page: its URL (without query) and the browser.
    Web {
        page_url: String,
        user_agent: String,
    },
    /// The store's tablet (`/kiosk/…`), signed in with a kiosk credential.
    Kiosk(KioskPlace),
}

/// `POST /v1/confirmations`, and what the kiosk asks for.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    pub site: String,
    /// The purpose set (`forms[].id`) of the site's config.
    pub form: String,
    pub language: String,
    /// The visitor's phone number as typed; a Kazakh mobile number.
    pub phone: String,
    /// The compiled config the form was shown from; the site's current one when absent.
    #[serde(default)]
    pub config_id: Option<String>,
    #[serde(default)]
    pub granted_purposes: Vec<String>,
    #[serde(default)]
    pub denied_purposes: Vec<String>,
    /// The browser's consent id, so the form consent joins its history; a new one when absent.
    #[serde(default)]
    pub consent_id: Option<String>,
    /// The page the form is on (web only; the query is dropped).
    #[serde(default)]
    pub page_url: Option<String>,
    /// Withdraw the standing SMS-confirmed consent of this phone and form instead.
    #[serde(default)]
    pub withdraw: bool,
}

/// The answer to a started confirmation.
#[derive(Debug, Serialize)]
pub struct Started {
    pub confirmation_id: String,
    pub expires_at: String,
    /// Seconds until another code may be sent to this phone.
    pub resend_after: u32,
    /// The number the code went to, masked (`+7 701 *** ** 67`).
    pub phone: String,
}

/// What a code confirms, kept with it until it is entered (no phone number in it).
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Pending {
    /// The form consent's receipt, complete but for its SMS record.
    Consent {
        receipt: Box<Receipt>,
        kiosk: Option<KioskPlace>,
    },
    /// A withdrawal of the phone's standing consents to the form; `empty` when there is none
    /// (no SMS is sent then, but the answer looks the same: nobody learns whose number
    /// signed up by asking).
    Withdraw {
        language: String,
        page_url: String,
        user_agent: String,
        kiosk: Option<KioskPlace>,
        empty: bool,
    },
}

/// What a right code stored.
#[derive(Debug)]
pub enum Confirmed {
    Consent(Box<ReceiptRecord>),
    Withdrawn(Vec<ReceiptRecord>),
}

/// A refused confirmation step (SMS code or signature) with its reason word.
pub(crate) fn refuse(status: StatusCode, reason: Refusal, message: impl Into<String>) -> AppError {
    AppError::Confirmation {
        status,
        reason,
        message: message.into(),
        retry_after: None,
    }
}

/// Whole seconds, so that stored times compare as text.
pub(crate) fn stamp(time: OffsetDateTime) -> String {
    format_time(time.replace_nanosecond(0).unwrap_or(time))
}

/// Step one: checks the request against the site's config and the limits, sends the code,
/// records it. `network` is the client's network (`None` on the kiosk: its network is the
/// store's, and the kiosk credential is the limit).
pub async fn start(
    state: &AppState,
    request: StartRequest,
    channel: Channel,
    network: Option<String>,
) -> Result<Started, AppError> {
    let site = crate::known_site(state, &request.site)?;
    let Some(gateway) = site.sms_gateway.clone() else {
        return Err(AppError::bad(
            "site",
            format!(
                "site `{}` does not confirm consent by SMS: give it `sms` in the sites file",
                site.id
            ),
        ));
    };
    let limits = site.sms.as_ref().map(|sms| sms.limits).unwrap_or_default();
    let (compiled, form) = sms_form(state, &site.id, &request).await?;
    let Some(phone) = kelisim_core::phone::normalize_kz_mobile(&request.phone) else {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            Refusal::InvalidPhone,
            "phone must be a Kazakh mobile number, +7 7XX XXX XX XX",
        ));
    };
    let phone_hash = state.0.phone_key.phone_hash(&phone);
    let now = OffsetDateTime::now_utc();
    check_limits(
        state,
        &site.id,
        &phone_hash,
        network.as_deref(),
        limits,
        now,
    )
    .await?;

    let (user_agent, page_url, kiosk) = where_from(&site, &form, &channel);
    let (pending, message_template) = pending_of(
        state,
        &request,
        &compiled,
        &form,
        &phone_hash,
        (page_url, user_agent, kiosk),
        site.origins.first().map(String::as_str),
        now,
    )
    .await?;

    let confirmation_id = random_uuid();
    let code = one_time_code();
    let empty = matches!(pending, Pending::Withdraw { empty: true, .. });
    let (message_id, state_text) = if empty {
        (String::new(), "pending")
    } else {
        let text = message_text(&compiled, &form, message_template, &code)?;
        let attempt = (confirmation_id.as_str(), &request, phone_hash.as_str());
        send_code(
            state,
            &gateway,
            &phone,
            &text,
            attempt,
            network.clone(),
            &pending,
            now,
        )
        .await?
    };
    state
        .0
        .store
        .replace_pending_codes(&site.id, &form.id, &phone_hash)
        .await?;
    let expires = now + time::Duration::seconds(limits.code_ttl_seconds.into());
    // No code can match an empty withdrawal: its hash is of a random text.
    let code_hash = if empty {
        state
            .0
            .phone_key
            .code_hash(&confirmation_id, &random_uuid())
    } else {
        state.0.phone_key.code_hash(&confirmation_id, &code)
    };
    record(
        state,
        &confirmation_id,
        &request,
        &phone_hash,
        network,
        &pending,
        (gateway.name(), &message_id, state_text),
        (now, expires),
        &code_hash,
    )
    .await?;
    Ok(Started {
        confirmation_id,
        expires_at: stamp(expires),
        resend_after: limits.resend_after_seconds,
        phone: kelisim_core::phone::mask(&phone),
    })
}

/// The SMS text named `template` (a text of the compiled form) with the operator and `code`.
fn message_text(
    compiled: &CompiledConfig,
    form: &CompiledForm,
    template: &str,
    code: &str,
) -> Result<String, AppError> {
    let text = form
        .texts
        .get(template)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("compiled form without {template}")))?;
    Ok(kelisim_core::texts::fill(
        &kelisim_core::texts::fill(text, "operator", &compiled.operator.name),
        "code",
        code,
    ))
}

/// Sends `text` to `phone` through the site's gateway: the gateway's message id and the row's
/// state. A failed send is recorded too (so a network asking again and again is still
/// limited) and answered `503`.
#[allow(clippy::too_many_arguments)]
async fn send_code(
    state: &AppState,
    gateway: &crate::sms::Gateway,
    phone: &str,
    text: &str,
    (confirmation_id, request, phone_hash): (&str, &StartRequest, &str),
    network: Option<String>,
    pending: &Pending,
    now: OffsetDateTime,
) -> Result<(String, &'static str), AppError> {
    match gateway.send(&state.0.http, phone, text).await {
        Ok(message_id) => {
            // Only messages sent: a withdrawal for a number without a standing consent sends
            // nothing, and answers alike.
            metrics::counter!(crate::telemetry::SMS_SENT, "gateway" => gateway.name()).increment(1);
            Ok((message_id, "pending"))
        }
        Err(error) => {
            tracing::warn!(target: "kelisim::sms", site = %request.site, "{error}");
            metrics::counter!(crate::telemetry::SMS_FAILED, "gateway" => gateway.name())
                .increment(1);
            record(
                state,
                confirmation_id,
                request,
                phone_hash,
                network,
                pending,
                (gateway.name(), "", "failed"),
                (now, now),
                &state.0.phone_key.code_hash(confirmation_id, &random_uuid()),
            )
            .await?;
            Err(AppError::Confirmation {
                status: StatusCode::SERVICE_UNAVAILABLE,
                reason: Refusal::GatewayUnavailable,
                message: "the SMS could not be sent; nothing was recorded, try again in a minute"
                    .into(),
                retry_after: Some(60),
            })
        }
    }
}

/// The compiled config the request names and its purpose set, which must confirm by SMS.
async fn sms_form(
    state: &AppState,
    site: &str,
    request: &StartRequest,
) -> Result<(CompiledConfig, CompiledForm), AppError> {
    let compiled =
        compiled_config(state, site, &request.language, request.config_id.as_deref()).await?;
    let form = compiled
        .forms
        .iter()
        .find(|form| form.id == request.form)
        .ok_or_else(|| {
            AppError::bad(
                "form",
                format!(
                    "`{}` is not a purpose set of the site's config",
                    request.form
                ),
            )
        })?;
    if form.confirm.as_deref() != Some("sms") {
        return Err(AppError::bad(
            "form",
            format!(
                "purpose set `{}` is not confirmed by SMS (its config has no \"confirm\": \"sms\")",
                form.id
            ),
        ));
    }
    let form = form.clone();
    Ok((compiled, form))
}

/// The user agent, page and kiosk a receipt of `channel` records.
fn where_from(
    site: &crate::sites::Site,
    form: &CompiledForm,
    channel: &Channel,
) -> (String, String, Option<KioskPlace>) {
    match channel {
        Channel::Web {
            page_url,
            user_agent,
        } => (
            if site.full_user_agent {
                user_agent.clone()
            } else {
                crate::user_agent::reduce(user_agent)
            },
            crate::receipt::clean_page_url(page_url),
            None,
        ),
        Channel::Kiosk(place) => (
            "kelisim kiosk".to_owned(),
            format!("urn:kelisim:kiosk:{}/{}", site.id, form.id),
            Some(place.clone()),
        ),
    }
}

/// What the code will confirm (the consent's receipt, or a withdrawal of the standing consents),
/// and the name of the SMS text that carries the code.
#[allow(clippy::too_many_arguments)]
async fn pending_of(
    state: &AppState,
    request: &StartRequest,
    compiled: &CompiledConfig,
    form: &CompiledForm,
    phone_hash: &str,
    (page_url, user_agent, kiosk): (String, String, Option<KioskPlace>),
    origin: Option<&str>,
    now: OffsetDateTime,
) -> Result<(Pending, &'static str), AppError> {
    Ok(if request.withdraw {
        let standing = standing_consents(state, &compiled.site, &form.id, phone_hash).await?;
        (
            Pending::Withdraw {
                language: compiled.language.clone(),
                page_url,
                user_agent,
                kiosk,
                empty: standing.is_empty(),
            },
            "sms_withdraw_message",
        )
    } else {
        let receipt = form_receipt(
            compiled,
            form,
            &FormChoice {
                granted_purposes: &request.granted_purposes,
                denied_purposes: &request.denied_purposes,
                consent_id: request.consent_id.as_deref(),
                method: "sms",
            },
            FormReceiptPlace {
                page_url: &page_url,
                user_agent: &user_agent,
                origin,
            },
            now,
        )?;
        (
            Pending::Consent {
                receipt: Box::new(receipt),
                kiosk,
            },
            "sms_message",
        )
    })
}

#[allow(clippy::too_many_arguments)]
async fn record(
    state: &AppState,
    confirmation_id: &str,
    request: &StartRequest,
    phone_hash: &str,
    network: Option<String>,
    pending: &Pending,
    (gateway, message_id, row_state): (&str, &str, &str),
    (created, expires): (OffsetDateTime, OffsetDateTime),
    code_hash: &str,
) -> Result<(), AppError> {
    state
        .0
        .store
        .insert_confirmation(&ConfirmationRow {
            confirmation_id: confirmation_id.to_owned(),
            site: request.site.clone(),
            form_id: request.form.clone(),
            kind: if request.withdraw {
                "withdraw"
            } else {
                "consent"
            }
            .into(),
            phone_hash: phone_hash.to_owned(),
            network,
            code_hash: code_hash.to_owned(),
            pending: serde_json::to_string(pending).map_err(|e| AppError::Internal(e.into()))?,
            gateway: gateway.to_owned(),
            message_id: message_id.to_owned(),
            created_at: stamp(created),
            expires_at: stamp(expires),
            attempts: 0,
            state: row_state.to_owned(),
        })
        .await?;
    Ok(())
}

/// Refuses a code the limits do not allow: too many from this network, one to this phone too
/// recently, or too many to it in the last hour. `429` with `Retry-After`.
async fn check_limits(
    state: &AppState,
    site: &str,
    phone_hash: &str,
    network: Option<&str>,
    limits: crate::sms::Limits,
    now: OffsetDateTime,
) -> Result<(), AppError> {
    let hour_ago = stamp(now - time::Duration::hours(1));
    let wait = |reason, message: &str, seconds: i64| AppError::Confirmation {
        status: StatusCode::TOO_MANY_REQUESTS,
        reason,
        message: message.to_owned(),
        retry_after: Some(seconds.max(1) as u64),
    };
    if let Some(network) = network {
        let asked = state
            .0
            .store
            .codes_asked_from_network(network, &hour_ago)
            .await?;
        if asked >= i64::from(limits.per_network_per_hour) {
            return Err(wait(
                Refusal::NetworkLimit,
                "too many codes were asked for from this network; try again later",
                3600,
            ));
        }
    }
    let (sent, last) = state
        .0
        .store
        .codes_sent_to_phone(site, phone_hash, &hour_ago)
        .await?;
    if let Some(last) = last.and_then(|last| crate::receipt::parse_time("last", &last).ok()) {
        let next = last + time::Duration::seconds(limits.resend_after_seconds.into());
        if next > now {
            return Err(wait(
                Refusal::ResendTooEarly,
                "a code was sent to this number moments ago; ask again later",
                (next - now).whole_seconds() + 1,
            ));
        }
    }
    if sent >= i64::from(limits.per_phone_per_hour) {
        return Err(wait(
            Refusal::PhoneLimit,
            "this number has had as many codes as it may in an hour; try again later",
            3600,
        ));
    }
    Ok(())
}

/// Six random digits, each equally likely.
fn one_time_code() -> String {
    use rand_core::RngCore;
    loop {
        let value = rand_core::OsRng.next_u32();
        // Rejection keeps every code equally likely (4_294_000_000 is a multiple of 10^6).
        if value < 4_294_000_000 {
            return format!("{:06}", value % 1_000_000);
        }
    }
}

/// The compiled config the form was shown from: the archived one named by `config_id`, or the
/// site's current one in `language`.
pub(crate) async fn compiled_config(
    state: &AppState,
    site: &str,
    language: &str,
    config_id: Option<&str>,
) -> Result<CompiledConfig, AppError> {
    let sites = state.sites();
    let current = sites
        .configs()
        .get(site, language)
        .cloned()
        .ok_or_else(|| {
            AppError::bad(
                "language",
                format!("site `{site}` has no compiled config in `{language}`"),
            )
        })?;
    match config_id {
        None => Ok(current),
        Some(id) if id == current.config_id => Ok(current),
        Some(id) => {
            let (compiled, _) =
                state
                    .0
                    .store
                    .archived_config(site, id)
                    .await?
                    .ok_or_else(|| {
                        AppError::bad(
                            "config_id",
                            format!("`{id}` is not a config of site `{site}` this server served"),
                        )
                    })?;
            Ok(compiled)
        }
    }
}

/// Where a form receipt was given, for its `page_url`, `user_agent` and `policy_url`.
pub(crate) struct FormReceiptPlace<'a> {
    pub page_url: &'a str,
    pub user_agent: &'a str,
    /// The site's first origin: a relative policy URL is made absolute with it.
    pub origin: Option<&'a str>,
}

/// What a visitor chose in a form: the purposes granted and refused (together, every purpose
/// of the form), and the browser's consent id, if it has one.
pub(crate) struct FormChoice<'a> {
    pub granted_purposes: &'a [String],
    pub denied_purposes: &'a [String],
    pub consent_id: Option<&'a str>,
    /// `sms` or `eds`.
    pub method: &'a str,
}

/// The `form` receipt an SMS code will confirm, as the SDK writes one for a plain form: built
/// here from the compiled config, so its texts, operator and terms are the server's.
pub(crate) fn form_receipt(
    compiled: &CompiledConfig,
    form: &CompiledForm,
    request: &FormChoice,
    place: FormReceiptPlace,
    now: OffsetDateTime,
) -> Result<Receipt, AppError> {
    let mut granted = Vec::new();
    let mut denied = Vec::new();
    for purpose in &form.purposes {
        let is_granted = request.granted_purposes.contains(&purpose.id);
        let is_denied = request.denied_purposes.contains(&purpose.id);
        match (is_granted, is_denied) {
            (true, false) => granted.push(purpose),
            (false, true) => denied.push(purpose),
            (true, true) => {
                return Err(AppError::bad(
                    "denied_purposes",
                    format!("`{}` is both granted and denied", purpose.id),
                ))
            }
            (false, false) => {
                return Err(AppError::bad(
                    "granted_purposes",
                    format!("purpose `{}` is neither granted nor denied", purpose.id),
                ))
            }
        }
        if purpose.required && !is_granted {
            return Err(AppError::bad(
                "granted_purposes",
                format!("the required purpose `{}` must be granted", purpose.id),
            ));
        }
    }
    for (field, ids) in [
        ("granted_purposes", request.granted_purposes),
        ("denied_purposes", request.denied_purposes),
    ] {
        if let Some(unknown) = ids
            .iter()
            .find(|id| !form.purposes.iter().any(|p| &p.id == *id))
        {
            return Err(AppError::bad(
                field,
                format!("`{unknown}` is not a purpose of `{}`", form.id),
            ));
        }
    }
    let consent_id = match request.consent_id {
        Some(id) if kelisim_core::cookie::is_consent_id(id) => id.to_owned(),
        Some(_) => return Err(AppError::bad("consent_id", "must be a lowercase UUID")),
        None => random_uuid(),
    };
    // As the SDK does: the consent lasts as long as the longest term granted (10 years at most).
    let term_days = granted
        .iter()
        .map(|purpose| purpose.term_days)
        .max()
        .unwrap_or(1)
        .min(3650);
    let mut countries: Vec<String> = granted
        .iter()
        .flat_map(|purpose| purpose.countries.iter().map(|c| c.code.clone()))
        .collect();
    countries.sort();
    countries.dedup();
    let policy_url = match (compiled.policy_url.starts_with('/'), place.origin) {
        (true, Some(origin)) => format!("{origin}{}", compiled.policy_url),
        _ => compiled.policy_url.clone(),
    };
    Ok(Receipt {
        receipt_id: random_uuid(),
        consent_id,
        site: compiled.site.clone(),
        policy_version: compiled.policy_version.clone(),
        policy_url,
        revision: compiled.revision,
        language: compiled.language.clone(),
        action: "form".into(),
        granted_categories: Vec::new(),
        denied_categories: Vec::new(),
        granted_services: Vec::new(),
        denied_services: Vec::new(),
        countries,
        variant: None,
        texts_hash: form.texts_hash.clone(),
        config_id: Some(compiled.config_id.clone()),
        operator: compiled.operator.name.clone(),
        bin: compiled.operator.bin.clone(),
        expires_at: format_time(now + time::Duration::days(term_days.into())),
        method: request.method.into(),
        page_url: place.page_url.to_owned(),
        user_agent: place.user_agent.to_owned(),
        client_time: format_time(now),
        form_id: Some(form.id.clone()),
        granted_purposes: granted.iter().map(|p| p.id.clone()).collect(),
        denied_purposes: denied.iter().map(|p| p.id.clone()).collect(),
        sms: None,
        eds: None,
    })
}

/// The last receipt of each consent of `site` an SMS code to this phone confirmed for `form`,
/// when that consent still stands (its last receipt is not a withdrawal).
async fn standing_consents(
    state: &AppState,
    site: &str,
    form: &str,
    phone_hash: &str,
) -> Result<Vec<ReceiptRecord>, AppError> {
    let records = state.0.store.receipts_by_phone(phone_hash).await?;
    let mut last_of: Vec<ReceiptRecord> = Vec::new();
    for record in records {
        let receipt = &record.stored.receipt;
        if receipt.site != site || receipt.form_id.as_deref() != Some(form) {
            continue;
        }
        match last_of
            .iter_mut()
            .find(|last| last.stored.receipt.consent_id == receipt.consent_id)
        {
            Some(last) => *last = record,
            None => last_of.push(record),
        }
    }
    last_of.retain(|record| record.stored.receipt.action != "withdraw");
    Ok(last_of)
}

/// Step two: checks `code` and, when it is right, stores the receipt(s) it confirms. A code
/// is used once; after `max_attempts` wrong ones the confirmation is locked.
pub async fn confirm(
    state: &AppState,
    confirmation_id: &str,
    code: &str,
    phone: Option<&str>,
) -> Result<Confirmed, AppError> {
    let store = &state.0.store;
    let row = store
        .confirmation(confirmation_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let site = crate::known_site(state, &row.site)?;
    let limits = site.sms.as_ref().map(|sms| sms.limits).unwrap_or_default();
    let now = OffsetDateTime::now_utc();
    not_pending(&row.state)?;
    // The number, when given again, must be the one the code went to; it is used only to ask
    // the gateway about the message (SMSC.kz wants it) and is not kept.
    let phone = match phone {
        None => None,
        Some(text) => {
            let normal = kelisim_core::phone::normalize_kz_mobile(text)
                .filter(|normal| state.0.phone_key.phone_hash(normal) == row.phone_hash)
                .ok_or_else(|| AppError::bad("phone", "is not the number the code was sent to"))?;
            Some(normal)
        }
    };
    if stamp(now) > row.expires_at {
        return Err(refuse(
            StatusCode::GONE,
            Refusal::Expired,
            "the code has expired; ask for a new one",
        ));
    }
    let Some(attempts) = store.count_attempt(confirmation_id).await? else {
        let row = store
            .confirmation(confirmation_id)
            .await?
            .ok_or(AppError::NotFound)?;
        not_pending(&row.state)?;
        return Err(AppError::NotFound);
    };
    let max = i64::from(limits.max_attempts);
    if attempts > max {
        store
            .move_confirmation(confirmation_id, "pending", "locked")
            .await?;
        return Err(too_many_attempts());
    }
    let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
    if !well_formed
        || !state
            .0
            .phone_key
            .code_matches(confirmation_id, code, &row.code_hash)
    {
        if attempts >= max {
            store
                .move_confirmation(confirmation_id, "pending", "locked")
                .await?;
            return Err(too_many_attempts());
        }
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            Refusal::WrongCode,
            format!("the code is wrong; {} attempts left", max - attempts),
        ));
    }
    // Used once: of two requests with the right code, one moves it.
    if !store
        .move_confirmation(confirmation_id, "pending", "confirmed")
        .await?
    {
        return Err(refuse(
            StatusCode::CONFLICT,
            Refusal::Used,
            "this code was used already",
        ));
    }
    match store_confirmed(state, &site, &row, phone.as_deref(), now).await {
        Ok(confirmed) => Ok(confirmed),
        Err(error) => {
            // Nothing stored: the code may be entered again.
            let _ = store
                .move_confirmation(confirmation_id, "confirmed", "pending")
                .await;
            Err(error)
        }
    }
}

fn too_many_attempts() -> AppError {
    refuse(
        StatusCode::GONE,
        Refusal::TooManyAttempts,
        "too many wrong codes; ask for a new one",
    )
}

/// The answer for a confirmation that is no longer waiting for its code.
fn not_pending(state: &str) -> Result<(), AppError> {
    match state {
        "pending" => Ok(()),
        "confirmed" => Err(refuse(
            StatusCode::CONFLICT,
            Refusal::Used,
            "this code was used already",
        )),
        "replaced" => Err(refuse(
            StatusCode::GONE,
            Refusal::Replaced,
            "a newer code was sent to this number; enter that one",
        )),
        "locked" => Err(too_many_attempts()),
        _ => Err(AppError::NotFound),
    }
}

async fn store_confirmed(
    state: &AppState,
    site: &crate::sites::Site,
    row: &ConfirmationRow,
    phone: Option<&str>,
    now: OffsetDateTime,
) -> Result<Confirmed, AppError> {
    let pending: Pending = serde_json::from_str(&row.pending).map_err(|error| {
        AppError::Internal(anyhow::anyhow!(
            "confirmation {}: {error}",
            row.confirmation_id
        ))
    })?;
    let delivery_status = delivery_status(state, site, row, phone).await;
    let sms = |kiosk: Option<KioskPlace>| SmsConfirmation {
        phone_hash: row.phone_hash.clone(),
        confirmation_id: row.confirmation_id.clone(),
        gateway: row.gateway.clone(),
        message_id: row.message_id.clone(),
        delivery_status: delivery_status.clone(),
        sent_at: row.created_at.clone(),
        confirmed_at: stamp(now),
        kiosk,
    };
    let insert = |receipt: Receipt| {
        state.0.writer.insert(NewReceipt {
            receipt,
            ip_prefix: row.network.clone(),
            now,
        })
    };
    match pending {
        Pending::Consent { receipt, kiosk } => {
            let mut receipt = *receipt;
            receipt.sms = Some(sms(kiosk));
            let (record, _) = insert(receipt).await?;
            Ok(Confirmed::Consent(Box::new(record)))
        }
        Pending::Withdraw {
            page_url,
            user_agent,
            kiosk,
            empty,
            ..
        } => {
            if empty {
                // Unreachable with a right code (none matches), kept for clarity.
                return Err(AppError::NotFound);
            }
            let standing =
                standing_consents(state, &row.site, &row.form_id, &row.phone_hash).await?;
            let mut stored = Vec::new();
            for last in &standing {
                let mut withdrawal = withdrawal_of(&last.stored.receipt, None, now)?;
                withdrawal.method = "sms".into();
                withdrawal.page_url = page_url.clone();
                withdrawal.user_agent = user_agent.clone();
                withdrawal.sms = Some(sms(kiosk.clone()));
                stored.push(insert(withdrawal).await?.0);
            }
            Ok(Confirmed::Withdrawn(stored))
        }
    }
}

/// The gateway's word on the message, or why there is none; never fails the confirmation
/// (the right code proves the message arrived).
async fn delivery_status(
    state: &AppState,
    site: &crate::sites::Site,
    row: &ConfirmationRow,
    phone: Option<&str>,
) -> String {
    let Some(gateway) = &site.sms_gateway else {
        return "unknown: the site has no SMS gateway now".into();
    };
    if gateway.name() != row.gateway {
        return format!("unknown: the site's gateway is now {}", gateway.name());
    }
    let asked = tokio::time::timeout(
        STATUS_TIMEOUT,
        gateway.status(&state.0.http, phone, &row.message_id),
    )
    .await;
    match asked {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => format!("unknown: {error}"),
        Err(_) => "unknown: the gateway did not answer in time".into(),
    }
}
