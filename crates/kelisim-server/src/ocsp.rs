//! Whether a signer's certificate was revoked, asked of the certification authority's OCSP
//! responder (RFC 6960) when a signature arrives: the site's `eds.ocsp_url`, else the one the
//! certificate names (Authority Information Access). The answer must be signed by the issuer
//! (or by a responder certificate the issuer gave the OCSP-signing purpose), name this
//! certificate and repeat the request's nonce. A revoked certificate refuses the signature; a
//! responder that cannot be reached, or an answer that does not check, leaves the revocation
//! "not checked" and says why.

use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_ocsp::builder::OcspRequestBuilder;
use x509_ocsp::ext::Nonce;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus, Request};

const AUTHORITY_INFO_ACCESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
const ID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// What the responder said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revocation {
    /// Not revoked: the description, and the responder's signed answer (DER).
    Good(String, Vec<u8>),
    /// Revoked: when, as the responder said it.
    Revoked(String),
    /// Not known: why (no responder, unreachable, an answer that does not check).
    NotChecked(String),
}

/// The OCSP responder `certificate` names, if any.
pub fn responder_of(certificate: &Certificate) -> Option<String> {
    use x509_cert::ext::pkix::name::GeneralName;
    use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
    let extension = certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|extension| extension.extn_id == AUTHORITY_INFO_ACCESS)?;
    let access = AuthorityInfoAccessSyntax::from_der(extension.extn_value.as_bytes()).ok()?;
    access.0.iter().find_map(|description| {
        match (&description.access_method, &description.access_location) {
            (method, GeneralName::UniformResourceIdentifier(uri)) if *method == ID_AD_OCSP => {
                Some(uri.to_string())
            }
            _ => None,
        }
    })
}

/// Asks `url` about `certificate`, issued by `issuer`.
pub async fn ask(
    client: &reqwest::Client,
    url: &str,
    certificate: &Certificate,
    issuer: &Certificate,
) -> Revocation {
    match ask_inner(client, url, certificate, issuer).await {
        Ok(revocation) => revocation,
        Err(why) => Revocation::NotChecked(format!("not checked: OCSP {url}: {why}")),
    }
}

async fn ask_inner(
    client: &reqwest::Client,
    url: &str,
    certificate: &Certificate,
    issuer: &Certificate,
) -> Result<Revocation, String> {
    let nonce = Nonce::generate(&mut rand_core::OsRng, 16).map_err(|e| e.to_string())?;
    let request = OcspRequestBuilder::default()
        .with_request(
            Request::from_cert::<sha1::Sha1>(issuer, certificate).map_err(|e| e.to_string())?,
        )
        .with_extension(nonce.clone())
        .map_err(|e| e.to_string())?
        .build()
        .to_der()
        .map_err(|e| e.to_string())?;
    let response = client
        .post(url)
        .header("content-type", "application/ocsp-request")
        .body(request)
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(|e| format!("no answer ({})", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status()));
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("the answer broke off ({})", e.without_url()))?;
    let answer = OcspResponse::from_der(&bytes).map_err(|e| format!("not an OCSP answer: {e}"))?;
    if answer.response_status != OcspResponseStatus::Successful {
        return Err(format!("the responder said {:?}", answer.response_status));
    }
    let body = answer.response_bytes.ok_or("the answer is empty")?;
    let basic = BasicOcspResponse::from_der(body.response.as_bytes())
        .map_err(|e| format!("not a basic OCSP answer: {e}"))?;
    // Signed by the issuer, or by a responder the issuer certified for OCSP signing.
    let signed = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| e.to_string())?;
    let verifies = |by: &Certificate| {
        crate::cms_check::verify_rsa(
            by,
            &signed,
            basic.signature.raw_bytes(),
            basic.signature_algorithm.oid,
        )
        .is_ok()
    };
    let by_responder = basic.certs.iter().flatten().any(|responder| {
        responder.tbs_certificate.issuer == issuer.tbs_certificate.subject
            && for_ocsp_signing(responder)
            && responder.tbs_certificate.to_der().ok().is_some_and(|tbs| {
                crate::cms_check::verify_rsa(
                    issuer,
                    &tbs,
                    responder.signature.raw_bytes(),
                    responder.signature_algorithm.oid,
                )
                .is_ok()
            })
            && verifies(responder)
    });
    if !verifies(issuer) && !by_responder {
        return Err("the answer's signature does not verify".into());
    }
    if basic.nonce().is_some_and(|answered| answered != nonce) {
        return Err("the answer repeats another request's nonce".into());
    }
    let serial = &certificate.tbs_certificate.serial_number;
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|single| &single.cert_id.serial_number == serial)
        .ok_or("the answer is not about this certificate")?;
    let produced = basic.tbs_response_data.produced_at.0.to_date_time();
    Ok(match &single.cert_status {
        CertStatus::Good(_) => Revocation::Good(
            format!("good: OCSP {url}, answered {produced}"),
            bytes.to_vec(),
        ),
        CertStatus::Revoked(info) => Revocation::Revoked(format!(
            "revoked at {}",
            info.revocation_time.0.to_date_time()
        )),
        CertStatus::Unknown(_) => {
            return Err("the responder does not know this certificate".into());
        }
    })
}

fn for_ocsp_signing(certificate: &Certificate) -> bool {
    use x509_cert::ext::pkix::ExtendedKeyUsage;
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .filter(|extension| extension.extn_id == EXTENDED_KEY_USAGE)
        .filter_map(|extension| ExtendedKeyUsage::from_der(extension.extn_value.as_bytes()).ok())
        .any(|usage| usage.0.contains(&OCSP_SIGNING))
}
