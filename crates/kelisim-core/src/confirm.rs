//! Why an SMS confirmation step is refused: the one list of `reason` words the server answers
//! (`POST /v1/confirmations…`), and which interface text tells the visitor each one, shared by
//! the browser's form, the store's tablet and the server.

use crate::texts::Texts;

/// A refused step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    InvalidPhone,
    WrongCode,
    Expired,
    TooManyAttempts,
    /// A newer code was sent to the number.
    Replaced,
    Used,
    ResendTooEarly,
    PhoneLimit,
    NetworkLimit,
    GatewayUnavailable,
}

impl Refusal {
    pub const ALL: [Refusal; 10] = [
        Refusal::InvalidPhone,
        Refusal::WrongCode,
        Refusal::Expired,
        Refusal::TooManyAttempts,
        Refusal::Replaced,
        Refusal::Used,
        Refusal::ResendTooEarly,
        Refusal::PhoneLimit,
        Refusal::NetworkLimit,
        Refusal::GatewayUnavailable,
    ];

    /// The `reason` word of the server's answer.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::InvalidPhone => "invalid_phone",
            Refusal::WrongCode => "wrong_code",
            Refusal::Expired => "expired",
            Refusal::TooManyAttempts => "too_many_attempts",
            Refusal::Replaced => "replaced",
            Refusal::Used => "used",
            Refusal::ResendTooEarly => "resend_too_early",
            Refusal::PhoneLimit => "phone_limit",
            Refusal::NetworkLimit => "network_limit",
            Refusal::GatewayUnavailable => "gateway_unavailable",
        }
    }

    pub fn parse(reason: &str) -> Option<Refusal> {
        Refusal::ALL
            .into_iter()
            .find(|refusal| refusal.as_str() == reason)
    }

    /// What the visitor reads: the code has to be asked for again, a wait, or a retry.
    pub fn text(self, texts: &Texts) -> &str {
        match self {
            Refusal::InvalidPhone => texts.sms_invalid_phone(),
            Refusal::WrongCode => texts.sms_wrong_code(),
            Refusal::Expired | Refusal::TooManyAttempts | Refusal::Replaced | Refusal::Used => {
                texts.sms_expired()
            }
            Refusal::ResendTooEarly | Refusal::PhoneLimit | Refusal::NetworkLimit => {
                texts.sms_wait()
            }
            Refusal::GatewayUnavailable => texts.sms_unavailable(),
        }
    }

    /// The name of that text (the tablet reads texts by name from a compiled form).
    pub fn text_name(self) -> &'static str {
        match self {
            Refusal::InvalidPhone => "sms_invalid_phone",
            Refusal::WrongCode => "sms_wrong_code",
            Refusal::Expired | Refusal::TooManyAttempts | Refusal::Replaced | Refusal::Used => {
                "sms_expired"
            }
            Refusal::ResendTooEarly | Refusal::PhoneLimit | Refusal::NetworkLimit => "sms_wait",
            Refusal::GatewayUnavailable => "sms_unavailable",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::texts::{builtin_texts, TEXT_NAMES};
    use crate::Language;

    #[test]
    fn every_reason_reads_back_and_names_the_text_it_shows() {
        let texts = builtin_texts(Language::Ru);
        for refusal in Refusal::ALL {
            assert_eq!(Refusal::parse(refusal.as_str()), Some(refusal));
            assert!(TEXT_NAMES.contains(&refusal.text_name()), "{refusal:?}");
            let by_name = texts
                .entries()
                .find(|(name, _)| *name == refusal.text_name())
                .map(|(_, text)| text);
            assert_eq!(by_name, Some(refusal.text(&texts)), "{refusal:?}");
        }
        assert_eq!(Refusal::parse("something"), None);
    }
}
