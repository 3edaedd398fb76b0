//! The store's tablet: `/kiosk/{site}/{form}`. Staff sign in once with a `kiosk` credential
//! (its site and store location come from the credentials file); then each customer, in
//! Kazakh or Russian, reads the purposes in a large touch layout, ticks them, enters their
//! phone number and the code it receives, and the consent is stored as an SMS-confirmed
//! receipt naming the store (`confirmations`). `?withdraw=1` withdraws a consent the same way.
//!
//! Every step is a plain HTML form posted to the server, so the page holds nothing between
//! customers: after a consent, or after three idle minutes, it goes back to an empty start
//! page. `kiosk.js` (the only script, served from here, so the pages' CSP allows no inline
//! script) asks `/healthz` every few seconds and, while the server cannot be reached, says so
//! plainly and keeps the buttons from sending.

use crate::access::{Identity, KioskScope, Permission, Role};
use crate::confirmations::{self, Channel, Confirmed, StartRequest};
use crate::dashboard::{escape, Lang};
use crate::error::AppError;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use kelisim_core::compile::{CompiledConfig, CompiledForm};
use kelisim_core::receipt::KioskPlace;
use kelisim_core::texts::fill;
use std::collections::HashMap;
use std::fmt::Write as _;

/// Who the pages serve: the store's tablet (`/kiosk/…`, staff signed in, consent and
/// withdrawal), or the visitor's own withdrawal page (`/withdraw/…`, public, withdrawal only:
/// a consent given by SMS code is withdrawn the same way, from any phone or computer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Desk {
    Kiosk,
    Public,
}

impl Desk {
    fn base(self) -> &'static str {
        match self {
            Desk::Kiosk => "/kiosk",
            Desk::Public => "/withdraw",
        }
    }
}

/// The kiosk's session cookie (path `/kiosk`), apart from the dashboard's.
pub const KIOSK_COOKIE: &str = "kelisim_kiosk";
/// A tablet stays signed in for a working day.
const KIOSK_SESSION_HOURS: i64 = 12;
/// Seconds the thank-you page shows before the next customer's start page.
const DONE_SECONDS: u32 = 10;

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; \
                   connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font:1.25rem/1.5 system-ui,sans-serif;color:#1b1b1f;margin:0;background:#f6f6f8}\
main{max-width:48rem;margin:0 auto;padding:1.25rem}h1{font-size:1.7rem;margin:.5rem 0 1rem}\
.langs a{display:inline-block;margin-right:1rem;padding:.5rem 1rem;border:2px solid #0b57a4;border-radius:.5rem;color:#0b57a4;text-decoration:none}\
.langs a[aria-current]{background:#0b57a4;color:#fff}\
fieldset{border:0;padding:0;margin:0}.purpose{display:flex;gap:1rem;align-items:flex-start;background:#fff;border-radius:.75rem;padding:1rem;margin:.75rem 0}\
.purpose input{width:2.25rem;height:2.25rem;flex:none;margin:.1rem 0 0}.purpose small{display:block;color:#3b3b45;font-size:1rem}\
label.field{display:grid;gap:.35rem;margin:1rem 0}input[type=tel],input[type=text],input[type=password]{font:inherit;font-size:1.6rem;padding:.6rem .8rem;border:2px solid #6b6b75;border-radius:.5rem}\
button,.button{display:inline-block;font:inherit;font-weight:600;min-height:3.5rem;padding:.75rem 1.5rem;border:0;border-radius:.6rem;background:#0b57a4;color:#fff;cursor:pointer;text-decoration:none;margin:.5rem .5rem .5rem 0}\
button.secondary,.button.secondary{background:#fff;color:#0b57a4;border:2px solid #0b57a4}\
.alert{background:#fdecee;color:#a4000f;border-radius:.5rem;padding:.75rem 1rem;font-weight:600}\
.ok{background:#e7f4ea;color:#0b5a1d;border-radius:.5rem;padding:1rem;font-weight:600}\
.operator{font-size:1rem;color:#3b3b45}#kelisim-offline{position:sticky;top:0}\
:focus-visible{outline:4px solid #1b1b1f;outline-offset:2px}";

/// The connectivity check and the idle reset (see the module comment).
pub const KIOSK_JS: &str = r#""use strict";
(function () {
  var banner = document.getElementById("kelisim-offline");
  var online = true;
  function show(up) {
    online = up;
    if (banner) banner.hidden = up;
    document.querySelectorAll("form button").forEach(function (b) { b.disabled = !up; });
  }
  function check() {
    fetch("/healthz", { cache: "no-store" }).then(function (r) { show(r.ok); }, function () { show(false); });
  }
  window.addEventListener("offline", function () { show(false); });
  window.addEventListener("online", check);
  document.addEventListener("submit", function (event) { if (!online) event.preventDefault(); }, true);
  setInterval(check, 5000);
  check();
  var start = document.body.getAttribute("data-start");
  var idle = Number(document.body.getAttribute("data-idle-seconds") || "0");
  if (start && idle > 0) {
    var timer;
    var reset = function () {
      clearTimeout(timer);
      timer = setTimeout(function () { location.replace(start); }, idle * 1000);
    };
    ["pointerdown", "keydown", "input"].forEach(function (name) { document.addEventListener(name, reset, true); });
    reset();
  }
})();
"#;

/// A kiosk page: the frame, the offline notice, and where to go back to when idle.
fn page(lang: Lang, title: &str, body: &str, start: &str, idle_seconds: u32) -> Response {
    let offline = lang.t(
        "Сервермен байланыс жоқ: келісімді қазір тіркеу мүмкін емес. Байланыс қалпына келгенше күтіңіз.",
        "Нет связи с сервером: согласие сейчас записать нельзя. Дождитесь восстановления связи.",
        "The server cannot be reached: no consent can be recorded now. Wait until it is back.",
    );
    let html = format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"referrer\" content=\"same-origin\"><title>{}</title><style>{STYLE}</style>\
         <script src=\"/kiosk/kiosk.js\" defer></script></head>\
         <body data-start=\"{}\" data-idle-seconds=\"{idle_seconds}\"><main>\
         <p id=\"kelisim-offline\" class=\"alert\" role=\"alert\" hidden>{offline}</p>{body}</main></body></html>",
        lang.code(),
        escape(title),
        escape(start),
    );
    let mut response = Html(html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // Nothing of a customer's is kept by the browser either.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `GET /kiosk/kiosk.js`.
pub(crate) async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        KIOSK_JS,
    )
        .into_response()
}

/// The kiosk's languages: Kazakh (default) and Russian.
fn kiosk_lang(query: &HashMap<String, String>) -> Lang {
    match query.get("lang").map(String::as_str) {
        Some("ru") => Lang::Ru,
        _ => Lang::Kk,
    }
}

fn start_url(desk: Desk, site: &str, form: &str, lang: Lang, withdraw: bool) -> String {
    format!(
        "{}/{site}/{form}?lang={}{}",
        desk.base(),
        lang.code(),
        if withdraw && desk == Desk::Kiosk {
            "&withdraw=1"
        } else {
            ""
        }
    )
}

/// The signed-in kiosk for `site`, if the request has one: a kiosk credential of that site,
/// or the admin (who may try any site's kiosk; the receipts then name the admin).
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    site: &str,
) -> Result<Option<KioskPlace>, AppError> {
    let identity = crate::session_identity(state, headers, KIOSK_COOKIE).await?;
    Ok(identity.and_then(|identity| place_of(identity, site)))
}

fn place_of(identity: Identity, site: &str) -> Option<KioskPlace> {
    if !identity.role.may(Permission::Kiosk) {
        return None;
    }
    match identity.kiosk {
        Some(KioskScope {
            site: own,
            location,
        }) if own == site => Some(KioskPlace {
            location,
            staff: identity.name,
        }),
        None if identity.role == Role::Admin => Some(KioskPlace {
            location: "(admin)".into(),
            staff: identity.name,
        }),
        _ => None,
    }
}

/// The compiled config of `site` in `lang` and its form `form`, which must confirm by SMS.
fn kiosk_form(
    state: &AppState,
    site: &str,
    form: &str,
    lang: Lang,
) -> Result<(CompiledConfig, CompiledForm), AppError> {
    let sites = state.sites();
    let compiled = sites
        .configs()
        .get(site, lang.code())
        .cloned()
        .ok_or(AppError::NotFound)?;
    let found = compiled
        .forms
        .iter()
        .find(|candidate| candidate.id == form && candidate.confirm.as_deref() == Some("sms"))
        .cloned()
        .ok_or(AppError::NotFound)?;
    Ok((compiled, found))
}

/// `GET /kiosk/{site}/{form}`: the sign-in page, or the start page of the next customer.
pub(crate) async fn start_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let lang = kiosk_lang(&query);
    let withdraw = query.get("withdraw").is_some_and(|v| v == "1");
    let (compiled, found) = kiosk_form(&state, &site, &form, lang)?;
    if signed_in(&state, &headers, &site).await?.is_none() {
        return Ok(login_page(lang, &site, &form, false));
    }
    Ok(customer_page(
        Desk::Kiosk,
        lang,
        &compiled,
        &found,
        withdraw,
        None,
    ))
}

/// `GET /withdraw/{site}/{form}`: the visitor's own page to withdraw, by a code sent to the
/// number that confirmed the consent.
pub(crate) async fn public_start_page(
    State(state): State<AppState>,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, AppError> {
    let lang = kiosk_lang(&query);
    let (compiled, found) = kiosk_form(&state, &site, &form, lang)?;
    Ok(customer_page(
        Desk::Public,
        lang,
        &compiled,
        &found,
        true,
        None,
    ))
}

fn language_links(desk: Desk, site: &str, form: &str, lang: Lang, withdraw: bool) -> String {
    let mut out = String::from("<p class=\"langs\">");
    for (other, name) in [(Lang::Kk, "Қазақша"), (Lang::Ru, "Русский")] {
        let current = if other == lang {
            " aria-current=\"true\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<a href=\"{}\" lang=\"{}\"{current}>{name}</a>",
            escape(&start_url(desk, site, form, other, withdraw)),
            other.code()
        );
    }
    out.push_str("</p>");
    out
}

fn login_page(lang: Lang, site: &str, form: &str, failed: bool) -> Response {
    let mut body = language_links(Desk::Kiosk, site, form, lang, false);
    let _ = write!(
        body,
        "<h1>{}</h1>{}<form method=\"post\" action=\"/kiosk/{}/{}/login?lang={}\">\
         <label class=\"field\">{}<input type=\"password\" name=\"token\" autocomplete=\"off\" required></label>\
         <button type=\"submit\">{}</button></form>",
        lang.t("Планшетке кіру (қызметкер)", "Вход на планшет (сотрудник)", "Tablet sign-in (staff)"),
        if failed {
            format!(
                "<p class=\"alert\" role=\"alert\">{}</p>",
                lang.t(
                    "Токен қате немесе бұл сайттың планшетіне арналмаған.",
                    "Неверный токен или он не для планшета этого сайта.",
                    "Wrong token, or not a kiosk token of this site."
                )
            )
        } else {
            String::new()
        },
        escape(site),
        escape(form),
        lang.code(),
        lang.t("Планшет токені", "Токен планшета", "Kiosk token"),
        lang.t("Кіру", "Войти", "Sign in"),
    );
    let mut response = page(lang, "kelisim kiosk", &body, "", 0);
    if failed {
        *response.status_mut() = StatusCode::UNAUTHORIZED;
    }
    response
}

/// The start page: the purposes with their Art. 8 p.4 details, the phone field, "send code".
/// `error` is shown above the form (and the form is empty again: nothing is carried over).
fn customer_page(
    desk: Desk,
    lang: Lang,
    compiled: &CompiledConfig,
    form: &CompiledForm,
    withdraw: bool,
    error: Option<&str>,
) -> Response {
    let text = |name: &str| form.text(compiled, name).to_owned();
    let start = start_url(desk, &compiled.site, &form.id, lang, withdraw);
    let mut body = language_links(desk, &compiled.site, &form.id, lang, withdraw);
    let operator = &compiled.operator;
    let _ = write!(
        body,
        "<h1>{}</h1><p class=\"operator\">{} {} ({} {})</p>",
        if withdraw {
            lang.t(
                "Келісімді кері қайтарып алу",
                "Отзыв согласия",
                "Withdraw consent",
            )
        } else {
            lang.t(
                "Дербес деректерді өңдеуге келісім",
                "Согласие на обработку персональных данных",
                "Consent to the processing of personal data",
            )
        },
        escape(compiled.text("operator_label")),
        escape(&operator.name),
        escape(compiled.text("bin_label")),
        escape(&operator.bin),
    );
    if let Some(error) = error {
        let _ = write!(
            body,
            "<p class=\"alert\" role=\"alert\">{}</p>",
            escape(error)
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}/{}/{}/send?lang={}\" autocomplete=\"off\">",
        desk.base(),
        escape(&compiled.site),
        escape(&form.id),
        lang.code()
    );
    if withdraw {
        body.push_str("<input type=\"hidden\" name=\"withdraw\" value=\"1\">");
        let _ = write!(
            body,
            "<p>{}</p>",
            lang.t(
                "Нөміріңізге код жібереміз; оны енгізгеннен кейін осы нөмірмен берілген келісім кері қайтарылады.",
                "Мы отправим код на ваш номер; после его ввода согласие, данное с этим номером, будет отозвано.",
                "We send a code to your number; once you enter it, the consent given with this number is withdrawn.",
            )
        );
    } else {
        body.push_str("<fieldset>");
        let template = compiled.text("form_consent").to_owned();
        for purpose in &form.purposes {
            let countries: Vec<&str> = purpose.countries.iter().map(|c| c.name.as_str()).collect();
            let _ = write!(
                body,
                "<label class=\"purpose\"><input type=\"checkbox\" name=\"purpose\" value=\"{}\"{}>\
                 <span>{}{}<small>{}: {}. {}: {}. {}: {}. {}: {}.</small></span></label>",
                escape(&purpose.id),
                if purpose.required { " required" } else { "" },
                escape(&fill(&template, "purpose", &purpose.title)),
                if purpose.required { " *" } else { "" },
                escape(compiled.text("data_label")),
                escape(&purpose.data_names.join(", ")),
                escape(compiled.text("term_label")),
                escape(&purpose.term_words),
                escape(compiled.text("recipients_label")),
                escape(&if purpose.recipients.is_empty() {
                    compiled.text("no").to_owned()
                } else {
                    purpose.recipients.join("; ")
                }),
                escape(compiled.text("country_label")),
                escape(&countries.join(", ")),
            );
        }
        body.push_str("</fieldset>");
    }
    let _ = write!(
        body,
        "<label class=\"field\">{}<input type=\"tel\" name=\"phone\" inputmode=\"tel\" autocomplete=\"off\" \
         placeholder=\"+7 7__ ___ __ __\" required></label><button type=\"submit\">{}</button></form>",
        escape(&text("sms_phone_label")),
        escape(&text("sms_send")),
    );
    // The tablet switches between giving and withdrawing; the public page only withdraws.
    if desk == Desk::Kiosk {
        let other = if withdraw {
            (
                start_url(desk, &compiled.site, &form.id, lang, false),
                lang.t("Келісім беру", "Дать согласие", "Give consent"),
            )
        } else {
            (
                start_url(desk, &compiled.site, &form.id, lang, true),
                lang.t(
                    "Келісімді кері қайтарып алу",
                    "Отозвать согласие",
                    "Withdraw consent",
                ),
            )
        };
        let _ = write!(
            body,
            "<p><a class=\"button secondary\" href=\"{}\">{}</a></p>",
            escape(&other.0),
            other.1
        );
    }
    page(lang, "kelisim", &body, &start, 180)
}

/// The code page: the code field, the number it went to (masked), "confirm".
fn code_page(
    desk: Desk,
    lang: Lang,
    compiled: &CompiledConfig,
    form: &CompiledForm,
    started: &confirmations::Started,
    phone: &str,
    error: Option<&str>,
) -> Response {
    let text = |name: &str| form.text(compiled, name).to_owned();
    let start = start_url(desk, &compiled.site, &form.id, lang, false);
    let mut body = format!(
        "<h1>{}</h1><p class=\"ok\" role=\"status\">{}</p>",
        escape(&text("sms_code_label")),
        escape(&fill(&text("sms_sent"), "phone", &started.phone)),
    );
    if let Some(error) = error {
        let _ = write!(
            body,
            "<p class=\"alert\" role=\"alert\">{}</p>",
            escape(error)
        );
    }
    let _ = write!(
        body,
        "<form method=\"post\" action=\"{}/{}/{}/confirm?lang={}\" autocomplete=\"off\">\
         <input type=\"hidden\" name=\"confirmation_id\" value=\"{}\">\
         <input type=\"hidden\" name=\"phone\" value=\"{}\">\
         <input type=\"hidden\" name=\"resend_after\" value=\"{}\">\
         <label class=\"field\">{}<input type=\"text\" name=\"code\" inputmode=\"numeric\" \
         autocomplete=\"one-time-code\" pattern=\"[0-9]{{6}}\" maxlength=\"6\" required autofocus></label>\
         <button type=\"submit\">{}</button></form>\
         <p><a class=\"button secondary\" href=\"{}\">{}</a></p>",
        desk.base(),
        escape(&compiled.site),
        escape(&form.id),
        lang.code(),
        escape(&started.confirmation_id),
        escape(phone),
        started.resend_after,
        escape(&text("sms_code_label")),
        escape(&text("sms_confirm")),
        escape(&start),
        lang.t("Басынан бастау", "Начать заново", "Start again"),
    );
    page(lang, "kelisim kiosk", &body, &start, 180)
}

fn form_fields(fields: &[(String, String)], name: &str) -> Vec<String> {
    fields
        .iter()
        .filter(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
        .collect()
}

fn field(fields: &[(String, String)], name: &str) -> String {
    form_fields(fields, name)
        .into_iter()
        .next()
        .unwrap_or_default()
}

/// What the visitor reads for a refused step, in their language, from the form's own SMS
/// texts (the same as the site's form shows).
fn refusal_text(form: &CompiledForm, error: &AppError) -> Option<String> {
    match error {
        AppError::Confirmation { reason, .. } => form
            .texts
            .get(reason.text_name(kelisim_core::config::Confirmation::Sms))
            .cloned(),
        _ => None,
    }
}

/// `POST /kiosk/{site}/{form}/send`: starts the confirmation, shows the code page.
pub(crate) async fn send_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let lang = kiosk_lang(&query);
    let Some(place) = signed_in(&state, &headers, &site).await? else {
        crate::same_origin(&headers)?;
        return Ok(login_page(lang, &site, &form, false));
    };
    send_step(
        &state,
        Desk::Kiosk,
        &headers,
        (&site, &form, lang),
        &fields,
        Channel::Kiosk(place),
        None,
    )
    .await
}

/// `POST /withdraw/{site}/{form}/send`: the public withdrawal's code, limited per network
/// like the site's own forms.
pub(crate) async fn public_send_code(
    State(state): State<AppState>,
    crate::ClientNetwork(network): crate::ClientNetwork,
    headers: HeaderMap,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    axum::Form(mut fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let lang = kiosk_lang(&query);
    // This page only withdraws, whatever the form says.
    fields.retain(|(name, _)| name != "withdraw");
    fields.push(("withdraw".into(), "1".into()));
    let channel = Channel::Web {
        page_url: format!("urn:kelisim:withdraw:{site}/{form}"),
        user_agent: crate::user_agent_of(&headers),
    };
    send_step(
        &state,
        Desk::Public,
        &headers,
        (&site, &form, lang),
        &fields,
        channel,
        network,
    )
    .await
}

async fn send_step(
    state: &AppState,
    desk: Desk,
    headers: &HeaderMap,
    (site, form, lang): (&str, &str, Lang),
    fields: &[(String, String)],
    channel: Channel,
    network: Option<String>,
) -> Result<Response, AppError> {
    crate::same_origin(headers)?;
    let (compiled, found) = kiosk_form(state, site, form, lang)?;
    let withdraw = field(fields, "withdraw") == "1";
    let granted = form_fields(fields, "purpose");
    let phone = field(fields, "phone");
    let request = StartRequest {
        site: site.to_owned(),
        form: form.to_owned(),
        language: lang.code().into(),
        phone: phone.clone(),
        config_id: Some(compiled.config_id.clone()),
        denied_purposes: found
            .purposes
            .iter()
            .filter(|p| !granted.contains(&p.id))
            .map(|p| p.id.clone())
            .collect(),
        granted_purposes: granted,
        consent_id: None,
        page_url: None,
        withdraw,
    };
    match confirmations::start(state, request, channel, network).await {
        Ok(started) => Ok(code_page(
            desk, lang, &compiled, &found, &started, &phone, None,
        )),
        Err(error) => {
            let message = refusal_text(&found, &error).unwrap_or_else(|| {
                // A required purpose left unticked (the browser's `required` stops it first).
                compiled.text("form_required_error").to_owned()
            });
            let mut response =
                customer_page(desk, lang, &compiled, &found, withdraw, Some(&message));
            *response.status_mut() = error_status(&error);
            Ok(response)
        }
    }
}

fn error_status(error: &AppError) -> StatusCode {
    match error {
        AppError::Confirmation { status, .. } => *status,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// `POST /kiosk/{site}/{form}/confirm`: checks the code; the thank-you page, or the code page
/// again with what was wrong.
pub(crate) async fn confirm_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let lang = kiosk_lang(&query);
    if signed_in(&state, &headers, &site).await?.is_none() {
        crate::same_origin(&headers)?;
        return Ok(login_page(lang, &site, &form, false));
    }
    confirm_step(&state, Desk::Kiosk, &headers, (&site, &form, lang), &fields).await
}

/// `POST /withdraw/{site}/{form}/confirm`.
pub(crate) async fn public_confirm_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    axum::Form(fields): axum::Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let lang = kiosk_lang(&query);
    confirm_step(
        &state,
        Desk::Public,
        &headers,
        (&site, &form, lang),
        &fields,
    )
    .await
}

async fn confirm_step(
    state: &AppState,
    desk: Desk,
    headers: &HeaderMap,
    (site, form, lang): (&str, &str, Lang),
    fields: &[(String, String)],
) -> Result<Response, AppError> {
    crate::same_origin(headers)?;
    let (compiled, found) = kiosk_form(state, site, form, lang)?;
    let confirmation_id = field(fields, "confirmation_id");
    // A page confirms only confirmations of its own site and form (the public page: only
    // withdrawals).
    let row = state
        .0
        .store
        .confirmation(&confirmation_id)
        .await?
        .filter(|row| row.site == site && row.form_id == form)
        .filter(|row| desk == Desk::Kiosk || row.kind == "withdraw")
        .ok_or(AppError::NotFound)?;
    let phone = field(fields, "phone");
    let code = field(fields, "code");
    match confirmations::confirm(state, &confirmation_id, code.trim(), Some(&phone)).await {
        Ok(confirmed) => {
            let receipt_id = match &confirmed {
                Confirmed::Consent(record) => Some(record.stored.receipt.receipt_id.clone()),
                Confirmed::Withdrawn(records) => {
                    records.first().map(|r| r.stored.receipt.receipt_id.clone())
                }
            };
            let start = start_url(desk, site, form, lang, false);
            let done = match confirmed_kind(row.kind.as_str()) {
                Kind::Consent => found.text(&compiled, "sms_confirmed").to_owned(),
                Kind::Withdraw => lang
                    .t(
                        "Келісім кері қайтарылды.",
                        "Согласие отозвано.",
                        "The consent is withdrawn.",
                    )
                    .to_owned(),
            };
            let next = match desk {
                Desk::Kiosk => lang.t("Келесі клиент", "Следующий клиент", "Next customer"),
                Desk::Public => lang.t("Дайын", "Готово", "Done"),
            };
            let body = format!(
                "<h1>{}</h1><p class=\"ok\" role=\"status\">{}</p><p>{} <code>{}</code></p>\
                 <p><a class=\"button\" href=\"{}\">{next}</a></p>",
                lang.t("Рақмет!", "Спасибо!", "Thank you!"),
                escape(&done),
                escape(compiled.text("receipt_label")),
                escape(receipt_id.as_deref().unwrap_or("—")),
                escape(&start),
            );
            // The tablet returns to the next customer's start; the visitor's page stays.
            let idle = if desk == Desk::Kiosk { DONE_SECONDS } else { 0 };
            Ok(page(lang, "kelisim", &body, &start, idle))
        }
        Err(error) => {
            let message = refusal_text(&found, &error).unwrap_or_else(|| error.to_string());
            let started = confirmations::Started {
                confirmation_id,
                expires_at: row.expires_at,
                resend_after: field(fields, "resend_after").parse().unwrap_or(60),
                phone: kelisim_core::phone::normalize_kz_mobile(&phone)
                    .map(|normal| kelisim_core::phone::mask(&normal))
                    .unwrap_or_default(),
            };
            let mut response = code_page(
                desk,
                lang,
                &compiled,
                &found,
                &started,
                &phone,
                Some(&message),
            );
            *response.status_mut() = error_status(&error);
            Ok(response)
        }
    }
}

enum Kind {
    Consent,
    Withdraw,
}

fn confirmed_kind(kind: &str) -> Kind {
    if kind == "withdraw" {
        Kind::Withdraw
    } else {
        Kind::Consent
    }
}

/// `POST /kiosk/{site}/{form}/login`: a kiosk token of this site (or the admin's) opens a
/// session on this tablet.
pub(crate) async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((site, form)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    axum::Form(fields): axum::Form<HashMap<String, String>>,
) -> Result<Response, AppError> {
    crate::same_origin(&headers)?;
    let lang = kiosk_lang(&query);
    kiosk_form(&state, &site, &form, lang)?;
    let token = fields.get("token").map(String::as_str).unwrap_or_default();
    let identity = state
        .credentials()
        .identify(token)
        .filter(|identity| place_of(identity.clone(), &site).is_some());
    let Some(identity) = identity else {
        return Ok(login_page(lang, &site, &form, true));
    };
    let cookie = crate::open_session(
        &state,
        &headers,
        &identity,
        KIOSK_COOKIE,
        "/kiosk",
        KIOSK_SESSION_HOURS,
    )
    .await?;
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                start_url(Desk::Kiosk, &site, &form, lang, false),
            ),
            (header::SET_COOKIE, cookie),
        ],
    )
        .into_response())
}
