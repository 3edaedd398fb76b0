//! Why a confirmation step (an SMS code, an electronic signature) is refused: the one list of
//! `reason` words the server answers (`POST /v1/confirmations…`, `/v1/signatures…`), and which
//! interface text tells the visitor each one, shared by the browser's form, the store's tablet
//! and the server.

use crate::config::Confirmation;
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
    /// The signature does not verify, or is not a CMS.
    BadSignature,
    /// The signed content is not the document the server wrote.
    WrongDocument,
    UntrustedCertificate,
    CertificateNotValid,
    /// The certificate's key usage does not allow signing.
    NotForSigning,
}

impl Refusal {
    pub const ALL: [Refusal; 15] = [
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
        Refusal::BadSignature,
        Refusal::WrongDocument,
        Refusal::UntrustedCertificate,
        Refusal::CertificateNotValid,
        Refusal::NotForSigning,
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
            Refusal::BadSignature => "bad_signature",
            Refusal::WrongDocument => "wrong_document",
            Refusal::UntrustedCertificate => "untrusted_certificate",
            Refusal::CertificateNotValid => "certificate_not_valid",
            Refusal::NotForSigning => "not_for_signing",
        }
    }

    pub fn parse(reason: &str) -> Option<Refusal> {
        Refusal::ALL
            .into_iter()
            .find(|refusal| refusal.as_str() == reason)
    }

    /// What the visitor of a form confirmed by `kind` reads: ask again, wait, retry, or
    /// choose another certificate.
    pub fn text(self, texts: &Texts, kind: Confirmation) -> &str {
        let name = self.text_name(kind);
        texts
            .entries()
            .find(|(known, _)| *known == name)
            .map_or("", |(_, text)| text)
    }

    /// The name of that text (the tablet reads texts by name from a compiled form): one of
    /// the texts a form confirmed by `kind` carries.
    pub fn text_name(self, kind: Confirmation) -> &'static str {
        use Refusal::*;
        match kind {
            Confirmation::Eds => match self {
                UntrustedCertificate | CertificateNotValid | NotForSigning => {
                    "eds_wrong_certificate"
                }
                _ => "eds_failed",
            },
            Confirmation::Sms => match self {
                InvalidPhone => "sms_invalid_phone",
                WrongCode => "sms_wrong_code",
                Expired | TooManyAttempts | Replaced | Used => "sms_expired",
                ResendTooEarly | PhoneLimit | NetworkLimit => "sms_wait",
                GatewayUnavailable | BadSignature | WrongDocument | UntrustedCertificate
                | CertificateNotValid | NotForSigning => "sms_unavailable",
            },
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
            for kind in [Confirmation::Sms, Confirmation::Eds] {
                let name = refusal.text_name(kind);
                assert!(TEXT_NAMES.contains(&name), "{refusal:?}");
                // The text is one the form of that kind carries.
                assert_eq!(
                    crate::config::Confirmation::of_text(name),
                    Some(kind),
                    "{refusal:?} {kind:?}"
                );
                assert!(
                    !refusal.text(&texts, kind).is_empty(),
                    "{refusal:?} {kind:?}"
                );
            }
        }
        assert_eq!(Refusal::parse("something"), None);
    }
}
