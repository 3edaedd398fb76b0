//! SMS gateways: where a site's one-time codes are sent. Mobizon and SMSC.kz over their
//! documented HTTP APIs (send a message, ask its delivery status), and `log`, for development,
//! which prints the message instead of sending it.
//!
//! Each site names its gateway in the sites file (`sms`); the key is read from a file of its
//! own, never from the sites file or the command line. A gateway that cannot be reached or
//! refuses a message answers a [`GatewayError`]; the caller tells the visitor to try again and
//! logs the gateway's reason, never the phone number.

use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// How long a gateway gets to answer: the visitor is waiting for the code.
const GATEWAY_TIMEOUT: Duration = Duration::from_secs(10);

pub const MOBIZON_API: &str = "https://api.mobizon.kz";
pub const SMSC_API: &str = "https://smsc.kz";

/// A site's `sms` object in the sites file, as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// `mobizon`, `smsc` or `log`.
    pub gateway: String,
    /// The file holding the API key (Mobizon) or the password (SMSC.kz), relative to the sites
    /// file.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// The SMSC.kz account's login.
    #[serde(default)]
    pub login: Option<String>,
    /// The sender name registered with the gateway (`GLAZIK`); the gateway's default without.
    #[serde(default)]
    pub sender: Option<String>,
    /// The gateway's API address, for a regional domain or a test double
    /// [default: https://api.mobizon.kz, https://smsc.kz].
    #[serde(default)]
    pub api_url: Option<String>,
    #[serde(default)]
    pub limits: Limits,
}

/// How codes are limited (per site); every number has a default.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// How long a code may be entered.
    pub code_ttl_seconds: u32,
    /// Wrong codes before the confirmation is locked (a new code must be asked for).
    pub max_attempts: u32,
    /// The least time between two codes to one phone.
    pub resend_after_seconds: u32,
    /// Codes one phone may get in an hour.
    pub per_phone_per_hour: u32,
    /// Codes one client network (/24, /48) may ask for in an hour, whatever the numbers.
    pub per_network_per_hour: u32,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            code_ttl_seconds: 300,
            max_attempts: 5,
            resend_after_seconds: 60,
            per_phone_per_hour: 5,
            per_network_per_hour: 30,
        }
    }
}

/// A gateway ready to send: the settings with the key read.
#[derive(Clone, PartialEq)]
pub enum Gateway {
    Mobizon {
        api_url: String,
        api_key: String,
        sender: Option<String>,
    },
    Smsc {
        api_url: String,
        login: String,
        password: String,
        sender: Option<String>,
    },
    Log,
}

impl std::fmt::Debug for Gateway {
    /// Never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Gateway({})", self.name())
    }
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// No answer, or not one the API documents (down, timed out, a proxy's error page).
    #[error("the {gateway} gateway could not be reached: {reason}")]
    Unreachable {
        gateway: &'static str,
        reason: String,
    },
    /// The gateway answered with an error (bad key, no funds, number refused).
    #[error("the {gateway} gateway refused the message: {reason}")]
    Refused {
        gateway: &'static str,
        reason: String,
    },
}

/// What a gateway says about a message it took.
#[derive(Debug, Deserialize)]
struct MobizonAnswer {
    code: i64,
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    message: String,
}

impl Gateway {
    /// Reads the key file of `settings` (a path relative to `folder`): a missing, unreadable
    /// or empty key is an error naming the file, never a gateway that cannot authenticate.
    pub fn from_settings(
        settings: &SmsSettings,
        folder: &std::path::Path,
    ) -> anyhow::Result<Gateway> {
        use anyhow::{bail, Context};
        let api_url = |default: &str| -> anyhow::Result<String> {
            let url = settings.api_url.as_deref().unwrap_or(default);
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                bail!(
                    "sms.api_url \"{url}\" must start with https:// (or http:// for a test double)"
                );
            }
            Ok(url.trim_end_matches('/').to_owned())
        };
        let key = || -> anyhow::Result<String> {
            let Some(path) = &settings.key_file else {
                bail!(
                    "sms.key_file is required with the {} gateway",
                    settings.gateway
                );
            };
            let path = folder.join(path);
            let key = std::fs::read_to_string(&path)
                .with_context(|| format!("reading sms.key_file {}", path.display()))?;
            let key = key.trim().to_owned();
            if key.is_empty() {
                bail!("sms.key_file {} is empty", path.display());
            }
            Ok(key)
        };
        let limits = settings.limits;
        if limits.code_ttl_seconds == 0
            || limits.max_attempts == 0
            || limits.per_phone_per_hour == 0
            || limits.per_network_per_hour == 0
        {
            bail!("sms.limits: code_ttl_seconds, max_attempts, per_phone_per_hour and per_network_per_hour must be at least 1");
        }
        match settings.gateway.as_str() {
            "mobizon" => Ok(Gateway::Mobizon {
                api_url: api_url(MOBIZON_API)?,
                api_key: key()?,
                sender: settings.sender.clone(),
            }),
            "smsc" => {
                let Some(login) = settings.login.clone().filter(|l| !l.trim().is_empty()) else {
                    bail!("sms.login is required with the smsc gateway");
                };
                Ok(Gateway::Smsc {
                    api_url: api_url(SMSC_API)?,
                    login,
                    password: key()?,
                    sender: settings.sender.clone(),
                })
            }
            "log" => {
                if settings.key_file.is_some() || settings.login.is_some() {
                    bail!("sms: the log gateway sends nothing and takes no key_file or login");
                }
                Ok(Gateway::Log)
            }
            other => bail!("sms.gateway \"{other}\" is not a gateway; use mobizon, smsc or log"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Gateway::Mobizon { .. } => "mobizon",
            Gateway::Smsc { .. } => "smsc",
            Gateway::Log => "log",
        }
    }

    /// Sends `text` to `phone` (normal form, `+77…`); answers the gateway's message id.
    pub async fn send(
        &self,
        client: &reqwest::Client,
        phone: &str,
        text: &str,
    ) -> Result<String, GatewayError> {
        let number = phone.trim_start_matches('+');
        match self {
            Gateway::Mobizon {
                api_url,
                api_key,
                sender,
            } => {
                let mut form = vec![("recipient", number), ("text", text)];
                if let Some(sender) = sender {
                    form.push(("from", sender));
                }
                let answer: MobizonAnswer = self
                    .call(
                        client
                            .post(format!("{api_url}/service/message/sendsmsmessage"))
                            .query(&[("output", "json"), ("api", "v1"), ("apiKey", api_key)])
                            .form(&form),
                    )
                    .await?;
                if answer.code != 0 {
                    return Err(self.refused(format!("code {}: {}", answer.code, answer.message)));
                }
                json_text(&answer.data["messageId"])
                    .ok_or_else(|| self.unreachable("the answer has no data.messageId".into()))
            }
            Gateway::Smsc {
                api_url,
                login,
                password,
                sender,
            } => {
                let mut form = vec![
                    ("login", login.as_str()),
                    ("psw", password.as_str()),
                    ("phones", number),
                    ("mes", text),
                    ("charset", "utf-8"),
                    ("fmt", "3"),
                ];
                if let Some(sender) = sender {
                    form.push(("sender", sender));
                }
                let answer: serde_json::Value = self
                    .call(client.post(format!("{api_url}/sys/send.php")).form(&form))
                    .await?;
                if let Some(error) = answer.get("error") {
                    return Err(self.refused(format!(
                        "error_code {}: {}",
                        answer["error_code"],
                        json_text(error).unwrap_or_default()
                    )));
                }
                json_text(&answer["id"])
                    .ok_or_else(|| self.unreachable("the answer has no id".into()))
            }
            Gateway::Log => {
                // For development only: the code must reach the developer somehow. The number
                // is masked like everywhere else.
                tracing::info!(
                    target: "kelisim::sms",
                    "log gateway, nothing sent: SMS to {}: {text}",
                    kelisim_core::phone::mask(phone)
                );
                Ok(crate::receipt::random_uuid())
            }
        }
    }

    /// The delivery status of message `message_id`, in the gateway's words (`DELIVRD`,
    /// `1 delivered`, …). SMSC.kz also wants the number (`phone`, normal form).
    pub async fn status(
        &self,
        client: &reqwest::Client,
        phone: Option<&str>,
        message_id: &str,
    ) -> Result<String, GatewayError> {
        match self {
            Gateway::Mobizon {
                api_url, api_key, ..
            } => {
                let answer: MobizonAnswer = self
                    .call(
                        client
                            .post(format!("{api_url}/service/message/getsmsstatus"))
                            .query(&[("output", "json"), ("api", "v1"), ("apiKey", api_key)])
                            .form(&[("ids[]", message_id)]),
                    )
                    .await?;
                if answer.code != 0 {
                    return Err(self.refused(format!("code {}: {}", answer.code, answer.message)));
                }
                let status = answer.data.as_array().and_then(|items| {
                    items
                        .iter()
                        .find(|item| json_text(&item["id"]).as_deref() == Some(message_id))
                        .and_then(|item| json_text(&item["status"]))
                });
                status
                    .ok_or_else(|| self.unreachable("the answer does not list the message".into()))
            }
            Gateway::Smsc {
                api_url,
                login,
                password,
                ..
            } => {
                let Some(phone) = phone else {
                    return Err(self.refused(
                        "SMSC.kz tells a status only with the number, which was not given again"
                            .into(),
                    ));
                };
                let answer: serde_json::Value = self
                    .call(client.post(format!("{api_url}/sys/status.php")).form(&[
                        ("login", login.as_str()),
                        ("psw", password.as_str()),
                        ("phone", phone.trim_start_matches('+')),
                        ("id", message_id),
                        ("fmt", "3"),
                    ]))
                    .await?;
                if let Some(error) = answer.get("error") {
                    return Err(self.refused(format!(
                        "error_code {}: {}",
                        answer["error_code"],
                        json_text(error).unwrap_or_default()
                    )));
                }
                let code = answer["status"]
                    .as_i64()
                    .ok_or_else(|| self.unreachable("the answer has no status".into()))?;
                Ok(format!("{code} {}", smsc_status_name(code)))
            }
            Gateway::Log => Ok("logged (log gateway: nothing was sent)".into()),
        }
    }

    /// Sends a request and reads its JSON answer; any failure before a JSON answer arrives is
    /// [`GatewayError::Unreachable`].
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, GatewayError> {
        let response = request
            .timeout(GATEWAY_TIMEOUT)
            .send()
            .await
            .map_err(|error| self.unreachable(without_url(&error)))?;
        let status = response.status();
        if !status.is_success() {
            return Err(self.unreachable(format!("HTTP {status}")));
        }
        response.json().await.map_err(|error| {
            self.unreachable(format!(
                "not the documented answer: {}",
                without_url(&error)
            ))
        })
    }

    fn unreachable(&self, reason: String) -> GatewayError {
        GatewayError::Unreachable {
            gateway: self.name(),
            reason,
        }
    }

    fn refused(&self, reason: String) -> GatewayError {
        GatewayError::Refused {
            gateway: self.name(),
            reason,
        }
    }
}

/// A reqwest error without its URL: the URL carries the API key (Mobizon) and the error is
/// logged.
fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "(gateway URL)");
    }
    text
}

/// A JSON string or number as text (gateways write ids either way).
fn json_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// SMSC.kz's message statuses, as its API documents them.
fn smsc_status_name(code: i64) -> &'static str {
    match code {
        -3 => "not found",
        -1 => "waiting to be sent",
        0 => "handed to the operator",
        1 => "delivered",
        2 => "read",
        3 => "expired",
        4 => "link followed",
        20 => "cannot be delivered",
        22 => "wrong number",
        23 => "prohibited",
        24 => "not enough funds",
        25 => "number unavailable",
        _ => "unknown status",
    }
}

/// The client every gateway call goes through (connection reuse, rustls with Mozilla's roots).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(GATEWAY_TIMEOUT)
        .user_agent(concat!("kelisim-server/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the TLS backend is compiled in")
}
