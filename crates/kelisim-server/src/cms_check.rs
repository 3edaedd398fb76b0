//! Checking a CMS SignedData over a consent document, as NCALayer makes one: the signed content
//! (attached, or detached and given) is exactly the document, the signed attributes' message
//! digest is the document's SHA-256, the signature over them verifies with the signer
//! certificate's key, that certificate chains to one of the CA certificates the site trusts
//! (each link's signature checked), every certificate of the chain is valid at the time, and
//! the signer certificate may sign (key usage digital signature or non-repudiation, and, when
//! it names extended key usages, the one for signing). RSA is verified here; a GOST signature
//! (Kazakhstan's national algorithms) is recognised and reported as not verified, never as
//! verified.

use base64::Engine as _;
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use const_oid::ObjectIdentifier;
use der::{Decode, Encode};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;

const ID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const EXTENDED_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// The extended key usage NCA's signing certificates carry (and NCALayer asks for).
pub const SIGNING_KEY_PURPOSE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const SURNAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.4");
const GIVEN_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.42");
/// Kazakhstan's GOST algorithms live under this arc (1.2.398.3.10.1.1…).
const GOST_ARC: &str = "1.2.398.3.10";

/// Why a signature is refused: each is a `reason` word and a message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CmsRefusal {
    #[error("the signature is not a CMS SignedData: {0}")]
    Malformed(String),
    #[error("the signed content is not the consent document the server wrote")]
    WrongDocument,
    #[error("the signature does not verify: {0}")]
    BadSignature(String),
    #[error("the signer's certificate does not chain to a CA this site trusts: {0}")]
    UntrustedCertificate(String),
    #[error("the signer's certificate is not valid now: {0}")]
    CertificateNotValid(String),
    #[error("the certificate may not sign: {0}")]
    NotForSigning(String),
}

impl CmsRefusal {
    pub fn reason(&self) -> kelisim_core::confirm::Refusal {
        use kelisim_core::confirm::Refusal;
        match self {
            CmsRefusal::Malformed(_) | CmsRefusal::BadSignature(_) => Refusal::BadSignature,
            CmsRefusal::WrongDocument => Refusal::WrongDocument,
            CmsRefusal::UntrustedCertificate(_) => Refusal::UntrustedCertificate,
            CmsRefusal::CertificateNotValid(_) => Refusal::CertificateNotValid,
            CmsRefusal::NotForSigning(_) => Refusal::NotForSigning,
        }
    }
}

/// What a checked signature says about its signer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub signer_name: String,
    pub signer_iin: Option<String>,
    pub certificate_serial: String,
    pub certificate_issuer: String,
    /// `RSA` or `GOST`.
    pub algorithm: String,
    pub verified: bool,
    pub verification: String,
    /// The signer's certificate, and the one that issued it when the chain was checked (what
    /// an OCSP request names).
    pub signer_certificate: Certificate,
    pub issuer_certificate: Option<Certificate>,
}

/// Reads a CMS from its base64 text.
pub fn decode_base64(cms: &str) -> Result<Vec<u8>, CmsRefusal> {
    base64::engine::general_purpose::STANDARD
        .decode(cms.trim())
        .map_err(|error| CmsRefusal::Malformed(format!("not base64: {error}")))
}

/// Checks `cms` (DER) over `document` against the trusted `roots`, at `now` (Unix seconds).
/// With `check_chain` false only the content, the digest and the signature are checked (what
/// `verify` re-checks years later, when certificates have expired).
pub fn check(
    cms: &[u8],
    document: &[u8],
    roots: &[Certificate],
    now: u64,
    check_chain: bool,
) -> Result<Checked, CmsRefusal> {
    let malformed =
        |what: &str, error: der::Error| CmsRefusal::Malformed(format!("{what}: {error}"));
    let info = ContentInfo::from_der(cms).map_err(|e| malformed("ContentInfo", e))?;
    if info.content_type != ID_SIGNED_DATA {
        return Err(CmsRefusal::Malformed(format!(
            "content type {} is not SignedData",
            info.content_type
        )));
    }
    let signed: SignedData = info
        .content
        .decode_as()
        .map_err(|e| malformed("SignedData", e))?;
    // The content: attached (it must be the document) or detached (the document is given).
    if signed.encap_content_info.econtent_type != ID_DATA {
        return Err(CmsRefusal::Malformed("the content is not id-data".into()));
    }
    if let Some(content) = &signed.encap_content_info.econtent {
        let bytes: der::asn1::OctetString =
            content.decode_as().map_err(|e| malformed("eContent", e))?;
        if bytes.as_bytes() != document {
            return Err(CmsRefusal::WrongDocument);
        }
    }
    let signers: Vec<&SignerInfo> = signed.signer_infos.0.iter().collect();
    let [signer] = signers[..] else {
        return Err(CmsRefusal::Malformed(format!(
            "{} signers; a consent is signed by one person",
            signers.len()
        )));
    };
    let certificates: Vec<Certificate> = signed
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(certificate) => Some(certificate.clone()),
            _ => None,
        })
        .collect();
    let certificate = signer_certificate(signer, &certificates)?;
    let tbs = &certificate.tbs_certificate;
    let key_algorithm = tbs.subject_public_key_info.algorithm.oid;
    let identity = Identity::of(certificate);

    // The digest of the document, in the signed attributes.
    if signer.digest_alg.oid != ID_SHA256
        && !signer.digest_alg.oid.to_string().starts_with(GOST_ARC)
    {
        return Err(CmsRefusal::BadSignature(format!(
            "digest algorithm {} is not SHA-256",
            signer.digest_alg.oid
        )));
    }
    let attributes = signer
        .signed_attrs
        .as_ref()
        .ok_or_else(|| CmsRefusal::Malformed("no signed attributes".into()))?;
    let gost = key_algorithm.to_string().starts_with(GOST_ARC)
        || signer
            .signature_algorithm
            .oid
            .to_string()
            .starts_with(GOST_ARC);
    if gost {
        // The content was compared above when attached; the digest and the signature need a
        // GOST implementation this server does not have.
        if signed.encap_content_info.econtent.is_none() {
            return Err(CmsRefusal::BadSignature(
                "a detached GOST signature cannot be matched to the document without a GOST verifier"
                    .into(),
            ));
        }
        return Ok(identity.checked(
            "GOST",
            false,
            "not verified: a GOST signature needs a verifier (NCANode), which this server does not have"
                .into(),
        ));
    }
    let digest = attributes
        .iter()
        .find(|attribute| attribute.oid == MESSAGE_DIGEST)
        .and_then(|attribute| attribute.values.get(0))
        .ok_or_else(|| CmsRefusal::Malformed("no message digest".into()))?
        .decode_as::<der::asn1::OctetString>()
        .map_err(|e| malformed("message digest", e))?;
    if digest.as_bytes() != Sha256::digest(document).as_slice() {
        return Err(CmsRefusal::WrongDocument);
    }
    if key_algorithm != RSA_ENCRYPTION {
        return Err(CmsRefusal::BadSignature(format!(
            "key algorithm {key_algorithm} is neither RSA nor GOST"
        )));
    }
    let signed_attributes = attributes
        .to_der()
        .map_err(|e| malformed("signed attributes", e))?;
    verify_rsa(
        certificate,
        &signed_attributes,
        signer.signature.as_bytes(),
        signer.signature_algorithm.oid,
    )?;
    let issuer = if check_chain {
        Some(check_certificate(certificate, &certificates, roots, now)?)
    } else {
        None
    };
    let mut checked = identity.checked(
        "RSA",
        true,
        if check_chain {
            "verified: RSA signature over the document, chain to a trusted CA, validity and key usage".into()
        } else {
            "verified: RSA signature over the document".into()
        },
    );
    checked.issuer_certificate = issuer;
    Ok(checked)
}

/// The signer and their certificate.
struct Identity {
    name: String,
    iin: Option<String>,
    serial: String,
    issuer: String,
    certificate: Certificate,
}

impl Identity {
    fn of(certificate: &Certificate) -> Identity {
        let tbs = &certificate.tbs_certificate;
        let attribute = |oid: ObjectIdentifier| name_attribute(&tbs.subject, oid);
        let name = match (attribute(SURNAME), attribute(GIVEN_NAME)) {
            (Some(surname), Some(given)) => format!("{surname} {given}"),
            _ => attribute(COMMON_NAME).unwrap_or_default(),
        };
        let iin = attribute(SERIAL_NUMBER)
            .and_then(|serial| serial.strip_prefix("IIN").map(str::to_owned))
            .filter(|iin| iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()));
        Identity {
            name,
            iin,
            serial: hex::encode(tbs.serial_number.as_bytes()),
            issuer: tbs.issuer.to_string(),
            certificate: certificate.clone(),
        }
    }

    fn checked(self, algorithm: &str, verified: bool, verification: String) -> Checked {
        Checked {
            signer_name: self.name,
            signer_iin: self.iin,
            certificate_serial: self.serial,
            certificate_issuer: self.issuer,
            algorithm: algorithm.into(),
            verified,
            verification,
            signer_certificate: self.certificate,
            issuer_certificate: None,
        }
    }
}

/// A subject attribute as text (UTF8String, PrintableString and the like).
fn name_attribute(name: &x509_cert::name::Name, oid: ObjectIdentifier) -> Option<String> {
    name.0.iter().flat_map(|rdn| rdn.0.iter()).find_map(|pair| {
        (pair.oid == oid).then(|| {
            let value = &pair.value;
            std::str::from_utf8(value.value())
                .map(str::to_owned)
                .unwrap_or_default()
        })
    })
}

fn signer_certificate<'a>(
    signer: &SignerInfo,
    certificates: &'a [Certificate],
) -> Result<&'a Certificate, CmsRefusal> {
    let found = match &signer.sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => certificates.iter().find(|certificate| {
            certificate.tbs_certificate.issuer == id.issuer
                && certificate.tbs_certificate.serial_number == id.serial_number
        }),
        SignerIdentifier::SubjectKeyIdentifier(id) => certificates.iter().find(|certificate| {
            certificate
                .tbs_certificate
                .extensions
                .iter()
                .flatten()
                .any(|extension| {
                    extension.extn_id == const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER
                        && der::asn1::OctetString::from_der(extension.extn_value.as_bytes())
                            .is_ok_and(|key| key.as_bytes() == id.0.as_bytes())
                })
        }),
    };
    found.ok_or_else(|| {
        CmsRefusal::Malformed("the signer's certificate is not in the signature".into())
    })
}

/// Verifies an RSA PKCS#1 v1.5 SHA-256 signature by `certificate`'s key over `message`.
pub(crate) fn verify_rsa(
    certificate: &Certificate,
    message: &[u8],
    signature: &[u8],
    algorithm: ObjectIdentifier,
) -> Result<(), CmsRefusal> {
    use rsa::pkcs8::DecodePublicKey;
    use rsa::signature::Verifier;
    if algorithm != RSA_ENCRYPTION && algorithm != SHA256_WITH_RSA {
        return Err(CmsRefusal::BadSignature(format!(
            "signature algorithm {algorithm} is not RSA with SHA-256"
        )));
    }
    let key_der = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| CmsRefusal::Malformed(format!("public key: {e}")))?;
    let key = rsa::RsaPublicKey::from_public_key_der(&key_der)
        .map_err(|e| CmsRefusal::Malformed(format!("RSA public key: {e}")))?;
    let signature = rsa::pkcs1v15::Signature::try_from(signature)
        .map_err(|e| CmsRefusal::BadSignature(e.to_string()))?;
    rsa::pkcs1v15::VerifyingKey::<Sha256>::new(key)
        .verify(message, &signature)
        .map_err(|_| CmsRefusal::BadSignature("the RSA signature does not match".into()))
}

/// The chain from `certificate` to a trusted root (through certificates of the signature),
/// each link's signature, each one's validity at `now`, and the signer's key usage; answers
/// the certificate that issued `certificate`.
fn check_certificate(
    certificate: &Certificate,
    carried: &[Certificate],
    roots: &[Certificate],
    now: u64,
) -> Result<Certificate, CmsRefusal> {
    check_key_usage(certificate)?;
    let mut current = certificate.clone();
    let mut issuer_of_signer: Option<Certificate> = None;
    for _ in 0..5 {
        check_validity(&current, now)?;
        let issuer = &current.tbs_certificate.issuer;
        let tbs = current
            .tbs_certificate
            .to_der()
            .map_err(|e| CmsRefusal::Malformed(format!("certificate: {e}")))?;
        let verified_by = |candidate: &Certificate| {
            &candidate.tbs_certificate.subject == issuer
                && verify_rsa(
                    candidate,
                    &tbs,
                    current.signature.raw_bytes(),
                    current.signature_algorithm.oid,
                )
                .is_ok()
        };
        if let Some(root) = roots.iter().find(|root| verified_by(root)) {
            check_validity(root, now)?;
            return Ok(issuer_of_signer.unwrap_or_else(|| root.clone()));
        }
        let Some(next) = carried
            .iter()
            .find(|candidate| *candidate != &current && verified_by(candidate))
        else {
            return Err(CmsRefusal::UntrustedCertificate(format!(
                "no trusted CA issued \"{issuer}\""
            )));
        };
        current = next.clone();
        issuer_of_signer.get_or_insert_with(|| current.clone());
    }
    Err(CmsRefusal::UntrustedCertificate(
        "the chain is too long".into(),
    ))
}

fn check_validity(certificate: &Certificate, now: u64) -> Result<(), CmsRefusal> {
    let validity = &certificate.tbs_certificate.validity;
    let from = validity.not_before.to_unix_duration().as_secs();
    let until = validity.not_after.to_unix_duration().as_secs();
    if now < from || now > until {
        return Err(CmsRefusal::CertificateNotValid(format!(
            "\"{}\" is valid from {} to {}",
            certificate.tbs_certificate.subject, validity.not_before, validity.not_after
        )));
    }
    Ok(())
}

fn check_key_usage(certificate: &Certificate) -> Result<(), CmsRefusal> {
    use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};
    let extensions: Vec<&x509_cert::ext::Extension> = certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .collect();
    let usage = extensions
        .iter()
        .find(|extension| extension.extn_id == KEY_USAGE)
        .and_then(|extension| KeyUsage::from_der(extension.extn_value.as_bytes()).ok());
    let may_sign = usage.is_some_and(|usage| {
        usage.0.contains(KeyUsages::DigitalSignature) || usage.0.contains(KeyUsages::NonRepudiation)
    });
    if !may_sign {
        return Err(CmsRefusal::NotForSigning(
            "its key usage has neither digital signature nor non-repudiation".into(),
        ));
    }
    if let Some(extension) = extensions
        .iter()
        .find(|extension| extension.extn_id == EXTENDED_KEY_USAGE)
    {
        let purposes = ExtendedKeyUsage::from_der(extension.extn_value.as_bytes())
            .map_err(|e| CmsRefusal::Malformed(format!("extended key usage: {e}")))?;
        if !purposes.0.contains(&SIGNING_KEY_PURPOSE) {
            return Err(CmsRefusal::NotForSigning(format!(
                "it is for {} only (an authentication key?), not for signing ({SIGNING_KEY_PURPOSE})",
                purposes
                    .0
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(())
}

/// Reads CA certificates from a PEM or DER file (several PEM blocks may follow each other).
pub fn read_certificates(bytes: &[u8]) -> anyhow::Result<Vec<Certificate>> {
    use der::DecodePem;
    let text = String::from_utf8_lossy(bytes);
    if text.contains("-----BEGIN CERTIFICATE-----") {
        let mut certificates = Vec::new();
        for block in text.split("-----END CERTIFICATE-----") {
            if let Some(start) = block.find("-----BEGIN CERTIFICATE-----") {
                let pem = format!("{}-----END CERTIFICATE-----\n", &block[start..]);
                certificates.push(Certificate::from_pem(pem.as_bytes())?);
            }
        }
        return Ok(certificates);
    }
    Ok(vec![Certificate::from_der(bytes)?])
}
