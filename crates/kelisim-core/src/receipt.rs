//! The consent receipt: the one definition of what a receipt holds, shared by the browser SDK
//! (which builds it), the receipts server (which validates, chains and stores it) and
//! `receipt.schema.json` in the npm package (which a test keeps equal to it). Modelled on the
//! Kantara Consent Receipt and ISO/IEC TS 27560 consent records.

/// Every `action` a receipt may have: a banner choice ([`crate::Action`]) or a consent given
/// in a form.
pub const ACTIONS: [&str; 6] = [
    "accept_all",
    "reject_all",
    "custom",
    "withdraw",
    "gpc",
    "form",
];

/// A consent receipt as the SDK sends it and the server validates and stores it. Unknown
/// fields are rejected.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Receipt {
    pub receipt_id: String,
    pub consent_id: String,
    pub site: String,
    pub policy_version: String,
    pub policy_url: String,
    pub revision: u32,
    pub language: String,
    pub action: String,
    pub granted_categories: Vec<String>,
    pub denied_categories: Vec<String>,
    pub granted_services: Vec<String>,
    pub denied_services: Vec<String>,
    /// Countries of processing of the granted services (ISO 3166-1 alpha-2).
    pub countries: Vec<String>,
    #[cfg_attr(feature = "serde", serde(default))]
    pub variant: Option<String>,
    /// SHA-256 (hex) of the exact texts the visitor saw.
    pub texts_hash: String,
    /// The compiled config that showed them (its SHA-256, hex): the server's archive holds
    /// its body. Absent from receipts of a config compiled in the browser and from older SDKs.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub config_id: Option<String>,
    pub operator: String,
    pub bin: String,
    /// When the choice expires (RFC 3339).
    pub expires_at: String,
    /// How it was collected: `button:accept-all`, `button:save`, `api`, `gpc`, ...
    pub method: String,
    /// Page URL without query or fragment.
    pub page_url: String,
    pub user_agent: String,
    /// The browser's clock at the choice (RFC 3339).
    pub client_time: String,
    /// Action `form`: the purpose set (`forms[].id` of the config) the form asked for.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub form_id: Option<String>,
    /// Action `form` (and a staff-recorded `withdraw` of one): purposes granted and refused.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub granted_purposes: Vec<String>,
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Vec::is_empty")
    )]
    pub denied_purposes: Vec<String>,
    /// Method `sms`: the code that confirmed it. Only the server writes it (after the code
    /// was entered); `POST /v1/receipts` refuses a receipt that carries one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub sms: Option<SmsConfirmation>,
    /// Method `eds`: the electronic signature over the consent document. Only the server
    /// writes it (after checking the signature); `POST /v1/receipts` refuses a receipt that
    /// carries one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub eds: Option<EdsSignature>,
}

/// An electronic digital signature (ЭЦҚ/ЭЦП) over a consent document, and what the server
/// found when it checked it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct EdsSignature {
    /// The signing request (`POST /v1/signatures`) the document was written for.
    pub signature_id: String,
    /// The exact text signed (`kelisim_core::eds::consent_document`).
    pub document: String,
    /// The CMS SignedData as NCALayer made it (DER, base64).
    pub cms: String,
    /// The signer's IIN (from the certificate's subject serial number), when it has one.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub signer_iin: Option<String>,
    pub signer_name: String,
    /// The signer certificate's serial number (hex) and issuer.
    pub certificate_serial: String,
    pub certificate_issuer: String,
    /// `RSA` or `GOST`.
    pub algorithm: String,
    /// Whether the server verified the signature, its digest of the document, the chain to a
    /// configured CA, the validity and the key usage; `verification` says what was checked or
    /// why it could not be (a GOST signature without a verifier is never called verified).
    pub verified: bool,
    pub verification: String,
    /// What is known of revocation (the OCSP responder's word, or why it was not asked).
    pub revocation: String,
    /// The OCSP responder's signed answer (DER, base64), when one was had.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub ocsp_response: Option<String>,
    /// When the server checked it (RFC 3339).
    pub verified_at: String,
}

/// How an SMS code confirmed a consent or a withdrawal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct SmsConfirmation {
    /// HMAC-SHA256 of the phone number in its normal form (`+77…`), keyed with the server's
    /// phone key: the staff can find a person's receipts by number, nobody can read the number.
    pub phone_hash: String,
    /// The confirmation the code was sent for (`POST /v1/confirmations`).
    pub confirmation_id: String,
    /// The SMS gateway (`mobizon`, `smsc`, `log`) and its id of the message.
    pub gateway: String,
    pub message_id: String,
    /// The gateway's delivery status of the message when the code was entered.
    pub delivery_status: String,
    /// When the code was sent and when it was entered (RFC 3339, server clock).
    pub sent_at: String,
    pub confirmed_at: String,
    /// Given on the store's tablet: the store it is set up for, and the staff member signed in.
    #[cfg_attr(
        feature = "serde",
        serde(default, skip_serializing_if = "Option::is_none")
    )]
    pub kiosk: Option<KioskPlace>,
}

/// Where a consent given on a store's tablet (`/kiosk/…`) was given.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct KioskPlace {
    /// The store location of the kiosk credential (`Алматы, Достық 5`).
    pub location: String,
    /// The kiosk credential's name.
    pub staff: String,
}

#[cfg(test)]
mod tests {
    use crate::consent::Action;

    #[test]
    fn every_banner_action_is_a_receipt_action() {
        for action in [
            Action::AcceptAll,
            Action::RejectAll,
            Action::Custom,
            Action::Withdraw,
            Action::Gpc,
        ] {
            assert!(super::ACTIONS.contains(&action.as_str()), "{action:?}");
        }
    }
}
