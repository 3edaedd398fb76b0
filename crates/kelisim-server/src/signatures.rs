//! Consent signed with the visitor's electronic digital signature (ЭЦҚ/ЭЦП, SPEC "…signed with
//! an electronic digital signature"): a form whose purpose set says `"confirm": "eds"` asks the
//! server for the consent document (`POST /v1/signatures`), has NCALayer sign exactly its bytes
//! as CMS, and sends the signature back (`POST /v1/signatures/{id}`), which stores the receipt
//! only when the signature checks (`cms_check`).
//!
//! The server writes the document (`kelisim_core::eds`) from the compiled config the form was
//! shown from, with its own clock, so the text a signature covers is never the browser's to
//! choose; the receipt keeps the document and the CMS, so the signature can be checked again by
//! anyone, for as long as the receipt is kept (`verify` does).

use crate::cms_check::{self, CmsRefusal};
use crate::confirmations::{
    compiled_config, form_receipt, refuse, stamp, FormChoice, FormReceiptPlace,
};
use crate::error::AppError;
use crate::receipt::{random_uuid, ReceiptRecord};
use crate::store::{NewReceipt, SignatureRequestRow};
use crate::AppState;
use axum::http::StatusCode;
use base64::Engine as _;
use kelisim_core::confirm::Refusal;
use kelisim_core::receipt::{EdsSignature, Receipt};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// How long a written document waits for its signature: choosing a key and typing its
/// password takes a while.
const DOCUMENT_TTL_SECONDS: i64 = 600;
/// Documents one client network may ask for in an hour.
const PER_NETWORK_PER_HOUR: i64 = 60;

/// `POST /v1/signatures`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureRequest {
    pub site: String,
    pub form: String,
    pub language: String,
    #[serde(default)]
    pub config_id: Option<String>,
    #[serde(default)]
    pub granted_purposes: Vec<String>,
    #[serde(default)]
    pub denied_purposes: Vec<String>,
    #[serde(default)]
    pub consent_id: Option<String>,
    pub page_url: String,
    /// The IIN the form collected, when the signer must be that person.
    #[serde(default)]
    pub iin: Option<String>,
}

/// The document to sign.
#[derive(Debug, Serialize)]
pub struct Written {
    pub signature_id: String,
    pub document: String,
    /// The document's UTF-8 bytes in base64, as NCALayer takes data (`decode: true`).
    pub document_base64: String,
    pub expires_at: String,
}

/// What waits for the signature.
#[derive(Debug, Serialize, Deserialize)]
struct Pending {
    receipt: Box<Receipt>,
    iin: Option<String>,
}

/// Step one: checks the request against the site's config and writes the document.
pub async fn write(
    state: &AppState,
    request: SignatureRequest,
    user_agent: &str,
    network: Option<String>,
) -> Result<Written, AppError> {
    let site = crate::known_site(state, &request.site)?;
    if site.eds_roots.is_none() {
        return Err(AppError::bad(
            "site",
            format!(
                "site `{}` does not take electronic signatures: give it `eds` with its CA certificates in the sites file",
                site.id
            ),
        ));
    }
    if let Some(iin) = &request.iin {
        if iin.len() != 12 || !iin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AppError::bad("iin", "must be 12 digits"));
        }
    }
    let now = OffsetDateTime::now_utc();
    if let Some(network) = &network {
        let since = stamp(now - time::Duration::hours(1));
        if state
            .0
            .store
            .signature_requests_from_network(network, &since)
            .await?
            >= PER_NETWORK_PER_HOUR
        {
            return Err(AppError::Confirmation {
                status: StatusCode::TOO_MANY_REQUESTS,
                reason: Refusal::NetworkLimit,
                message: "too many documents were asked for from this network; try again later"
                    .into(),
                retry_after: Some(3600),
            });
        }
    }
    let compiled = compiled_config(
        state,
        &site.id,
        &request.language,
        request.config_id.as_deref(),
    )
    .await?;
    let form = compiled
        .forms
        .iter()
        .find(|form| form.id == request.form && form.confirm.as_deref() == Some("eds"))
        .ok_or_else(|| {
            AppError::bad(
                "form",
                format!(
                    "`{}` is not a purpose set of the site's config signed with an electronic signature (\"confirm\": \"eds\")",
                    request.form
                ),
            )
        })?;
    let user_agent = if site.full_user_agent {
        user_agent.to_owned()
    } else {
        crate::user_agent::reduce(user_agent)
    };
    let page_url = crate::receipt::clean_page_url(&request.page_url);
    let receipt = form_receipt(
        &compiled,
        form,
        &FormChoice {
            granted_purposes: &request.granted_purposes,
            denied_purposes: &request.denied_purposes,
            consent_id: request.consent_id.as_deref(),
            method: "eds",
        },
        FormReceiptPlace {
            page_url: &page_url,
            user_agent: &user_agent,
            origin: site.origins.first().map(String::as_str),
        },
        now,
    )?;
    let signed_at = stamp(now);
    let document = kelisim_core::eds::consent_document(
        &compiled,
        form,
        &kelisim_core::eds::DocumentFacts {
            granted: &receipt.granted_purposes,
            consent_id: &receipt.consent_id,
            signed_at: &signed_at,
            policy_url: &receipt.policy_url,
        },
    );
    let signature_id = random_uuid();
    let expires = now + time::Duration::seconds(DOCUMENT_TTL_SECONDS);
    let pending = Pending {
        receipt: Box::new(receipt),
        iin: request.iin,
    };
    state
        .0
        .store
        .insert_signature_request(&SignatureRequestRow {
            signature_id: signature_id.clone(),
            site: site.id.clone(),
            form_id: form.id.clone(),
            document: document.clone(),
            pending: serde_json::to_string(&pending).map_err(|e| AppError::Internal(e.into()))?,
            network,
            created_at: signed_at,
            expires_at: stamp(expires),
            state: "pending".into(),
        })
        .await?;
    Ok(Written {
        signature_id,
        document_base64: base64::engine::general_purpose::STANDARD.encode(document.as_bytes()),
        document,
        expires_at: stamp(expires),
    })
}

/// Step two: checks the signature (`cms`, base64) over the written document and stores the
/// receipt. A refused signature stores nothing; the visitor may sign again until the
/// document expires. A document is signed once.
pub async fn complete(
    state: &AppState,
    signature_id: &str,
    cms: &str,
) -> Result<ReceiptRecord, AppError> {
    let store = &state.0.store;
    let row = store
        .signature_request(signature_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if row.state != "pending" {
        return Err(refuse(
            StatusCode::CONFLICT,
            Refusal::Used,
            "this document is signed already",
        ));
    }
    let now = OffsetDateTime::now_utc();
    if stamp(now) > row.expires_at {
        return Err(refuse(
            StatusCode::GONE,
            Refusal::Expired,
            "the document expired before it was signed; ask for a new one",
        ));
    }
    let site = crate::known_site(state, &row.site)?;
    let roots = site.eds_roots.clone().unwrap_or_default();
    let der = cms_check::decode_base64(cms).map_err(cms_refusal)?;
    let mut checked = cms_check::check(
        &der,
        row.document.as_bytes(),
        &roots,
        now.unix_timestamp().max(0) as u64,
        true,
    )
    .map_err(cms_refusal)?;
    verify_gost(state, &site, &der, &mut checked).await?;
    let pending: Pending = serde_json::from_str(&row.pending).map_err(|error| {
        AppError::Internal(anyhow::anyhow!("signature request {signature_id}: {error}"))
    })?;
    let (revocation, ocsp_response) = revocation(state, &site, &checked).await?;
    if let Some(iin) = &pending.iin {
        if checked.signer_iin.as_ref() != Some(iin) {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::UntrustedCertificate,
                "the signer's certificate is not the person whose IIN the form gave",
            ));
        }
    }
    if !store
        .move_signature_request(signature_id, "pending", "signed")
        .await?
    {
        return Err(refuse(
            StatusCode::CONFLICT,
            Refusal::Used,
            "this document is signed already",
        ));
    }
    let mut receipt = *pending.receipt;
    receipt.eds = Some(EdsSignature {
        signature_id: signature_id.to_owned(),
        document: row.document.clone(),
        cms: base64::engine::general_purpose::STANDARD.encode(&der),
        signer_iin: checked.signer_iin,
        signer_name: checked.signer_name,
        certificate_serial: checked.certificate_serial,
        certificate_issuer: checked.certificate_issuer,
        algorithm: checked.algorithm,
        verified: checked.verified,
        verification: checked.verification,
        revocation,
        ocsp_response,
        verified_at: stamp(now),
    });
    match state
        .0
        .writer
        .insert(NewReceipt {
            receipt,
            ip_prefix: row.network.clone(),
            now,
        })
        .await
    {
        Ok((record, _)) => Ok(record),
        Err(error) => {
            // Nothing stored: the signature may be sent again.
            let _ = store
                .move_signature_request(signature_id, "signed", "pending")
                .await;
            Err(error.into())
        }
    }
}

/// A GOST signature is verified by the operator's NCANode, when the site names one; a refusal
/// refuses the signature, no answer leaves it unverified (and says why).
async fn verify_gost(
    state: &AppState,
    site: &crate::sites::Site,
    der: &[u8],
    checked: &mut cms_check::Checked,
) -> Result<(), AppError> {
    if !checked.verified && checked.algorithm == "GOST" {
        if let Some(url) = site.eds.as_ref().and_then(|eds| eds.ncanode_url.as_deref()) {
            match ncanode_verify(&state.0.http, url, der).await {
                Ok(Ok(())) => {
                    checked.verified = true;
                    checked.verification = format!(
                        "verified by NCANode {url}: GOST signature, chain and revocation (OCSP); the signed content is the document"
                    );
                }
                Ok(Err(why)) => {
                    return Err(refuse(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Refusal::BadSignature,
                        format!("NCANode refused the signature: {why}"),
                    ))
                }
                Err(why) => {
                    checked.verification = format!(
                        "not verified: NCANode {url}, which verifies GOST signatures, did not answer ({why})"
                    );
                }
            }
        }
    }
    Ok(())
}

/// The signer certificate's revocation, when the CA's responder answers: what was found and
/// the responder's answer (base64). A revoked certificate signs nothing.
async fn revocation(
    state: &AppState,
    site: &crate::sites::Site,
    checked: &cms_check::Checked,
) -> Result<(String, Option<String>), AppError> {
    let responder = site
        .eds
        .as_ref()
        .and_then(|eds| eds.ocsp_url.clone())
        .or_else(|| crate::ocsp::responder_of(&checked.signer_certificate));
    let revocation = match (&responder, &checked.issuer_certificate) {
        (Some(url), Some(issuer)) => {
            crate::ocsp::ask(&state.0.http, url, &checked.signer_certificate, issuer).await
        }
        (None, _) => crate::ocsp::Revocation::NotChecked(
            "not checked: the certificate names no OCSP responder and the site sets none".into(),
        ),
        (Some(_), None) => crate::ocsp::Revocation::NotChecked(
            "not checked: the issuer's certificate is not known (a GOST signature)".into(),
        ),
    };
    Ok(match revocation {
        // NCANode asked the CA's responder itself when it verified a GOST signature.
        crate::ocsp::Revocation::NotChecked(_)
            if checked.algorithm == "GOST" && checked.verified =>
        {
            (
                "checked by NCANode with the signature (OCSP)".to_owned(),
                None,
            )
        }
        crate::ocsp::Revocation::Revoked(when) => {
            return Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                Refusal::CertificateNotValid,
                format!("the signer's certificate was revoked ({when})"),
            ))
        }
        crate::ocsp::Revocation::Good(text, answer) => (
            text,
            Some(base64::engine::general_purpose::STANDARD.encode(answer)),
        ),
        crate::ocsp::Revocation::NotChecked(why) => (why, None),
    })
}

/// Asks the operator's NCANode (its HTTP API, `POST /cms/verify`) to verify a CMS with the
/// content inside, revocation by OCSP included: `Ok(Ok(()))` valid, `Ok(Err(why))` refused,
/// `Err(why)` no usable answer.
async fn ncanode_verify(
    client: &reqwest::Client,
    url: &str,
    cms: &[u8],
) -> Result<Result<(), String>, String> {
    let body = serde_json::json!({
        "cms": base64::engine::general_purpose::STANDARD.encode(cms),
        "revocationCheck": ["OCSP"],
    });
    let response = client
        .post(format!("{}/cms/verify", url.trim_end_matches('/')))
        .json(&body)
        .timeout(std::time::Duration::from_secs(15))
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    let answer: serde_json::Value = response
        .json()
        .await
        .map_err(|e| format!("not JSON: {}", e.without_url()))?;
    match answer.get("valid").and_then(serde_json::Value::as_bool) {
        Some(true) => Ok(Ok(())),
        Some(false) => Ok(Err(answer
            .get("message")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("not valid")
            .to_owned())),
        None => Err(format!("an answer without `valid`: {answer}")),
    }
}

/// A refused signature as the visitor's answer: `422` with its reason.
fn cms_refusal(refusal: CmsRefusal) -> AppError {
    refuse(
        StatusCode::UNPROCESSABLE_ENTITY,
        refusal.reason(),
        refusal.to_string(),
    )
}
