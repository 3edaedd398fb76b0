//! A stand-in for a national certification authority and NCALayer, for the tests and the
//! end-to-end harness: an RSA test CA made at start, signers it issues (valid, expired, not for
//! signing, for authentication only), and CMS SignedData made as NCALayer makes them
//! (`kz.gov.pki.knca.basics` `sign` with `format: cms`). `ncalayer-double` serves it on
//! `wss://127.0.0.1:13579` speaking NCALayer's protocol (see [`serve`]). Nothing here is used
//! by `serve`.

use cms::builder::{SignedDataBuilder, SignerInfoBuilder};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::signed_data::{EncapsulatedContentInfo, SignerIdentifier};
use const_oid::ObjectIdentifier;
use der::{Any, Encode, EncodePem, Tag};
use rsa::pkcs1v15::SigningKey;
use rsa::RsaPrivateKey;
use sha2::{Digest, Sha256};
use spki::{AlgorithmIdentifierOwned, EncodePublicKey, SubjectPublicKeyInfoOwned};
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use x509_cert::Certificate;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

/// A test CA: its key and self-signed certificate.
pub struct TestAuthority {
    key: RsaPrivateKey,
    pub certificate: Certificate,
}

/// What kind of certificate a test signer gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignerKind {
    /// Valid now, digital signature and non-repudiation, the signing purpose.
    Valid,
    /// Expired a year ago.
    Expired,
    /// Key encipherment only.
    NotForSigning,
    /// Digital signature, but for client authentication only (an NCA `AUTH_RSA` key).
    AuthenticationOnly,
}

/// A person with a test certificate.
pub struct TestSigner {
    key: RsaPrivateKey,
    pub certificate: Certificate,
}

fn new_key() -> RsaPrivateKey {
    RsaPrivateKey::new(&mut rand_core::OsRng, 2048).expect("an RSA key is made")
}

fn spki_of(key: &RsaPrivateKey) -> SubjectPublicKeyInfoOwned {
    let der = key
        .to_public_key()
        .to_public_key_der()
        .expect("an RSA public key encodes");
    SubjectPublicKeyInfoOwned::try_from(der.as_bytes()).expect("and decodes")
}

fn time(seconds_from_now: i64) -> Time {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs() as i64;
    let at = Duration::from_secs((now + seconds_from_now) as u64);
    Time::UtcTime(der::asn1::UtcTime::from_unix_duration(at).expect("a time before 2050"))
}

fn serial() -> SerialNumber {
    use rand_core::RngCore;
    let mut bytes = [0u8; 16];
    rand_core::OsRng.fill_bytes(&mut bytes);
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    SerialNumber::new(&bytes).expect("a positive serial number")
}

const YEAR: i64 = 365 * 86_400;

impl TestAuthority {
    /// A new CA named `name` (e.g. `ҰЛТТЫҚ КУӘЛАНДЫРУШЫ ОРТАЛЫҚ (RSA) TEST`), valid for a year.
    pub fn generate(name: &str) -> TestAuthority {
        let key = new_key();
        let signer = SigningKey::<Sha256>::new(key.clone());
        let subject = Name::from_str(&format!("CN={name},C=KZ")).expect("a name");
        let validity = Validity {
            not_before: time(-3600),
            not_after: time(YEAR),
        };
        let builder = CertificateBuilder::new(
            Profile::Root,
            serial(),
            validity,
            subject,
            spki_of(&key),
            &signer,
        )
        .expect("a root certificate builder");
        let certificate = builder
            .build::<rsa::pkcs1v15::Signature>()
            .expect("a root certificate");
        TestAuthority { key, certificate }
    }

    /// The CA certificate as PEM (what a site's `eds.ca_certificates` names).
    pub fn certificate_pem(&self) -> String {
        self.certificate
            .to_pem(der::pem::LineEnding::LF)
            .expect("a certificate encodes")
    }

    /// A person's certificate: `surname`, `given` name, `iin` (12 digits), of `kind`.
    pub fn issue(&self, kind: SignerKind, surname: &str, given: &str, iin: &str) -> TestSigner {
        let key = new_key();
        let signer = SigningKey::<Sha256>::new(self.key.clone());
        let subject = Name::from_str(&format!(
            "CN={surname} {given},SN={surname},GIVENNAME={given},SERIALNUMBER=IIN{iin},C=KZ"
        ))
        .expect("a name");
        let validity = match kind {
            SignerKind::Expired => Validity {
                not_before: time(-2 * YEAR),
                not_after: time(-YEAR),
            },
            _ => Validity {
                not_before: time(-3600),
                not_after: time(YEAR),
            },
        };
        let profile = Profile::Manual {
            issuer: Some(self.certificate.tbs_certificate.subject.clone()),
        };
        let mut builder =
            CertificateBuilder::new(profile, serial(), validity, subject, spki_of(&key), &signer)
                .expect("a certificate builder");
        let (usage, purposes) = match kind {
            SignerKind::Valid | SignerKind::Expired => (
                KeyUsages::DigitalSignature | KeyUsages::NonRepudiation,
                vec![crate::cms_check::SIGNING_KEY_PURPOSE],
            ),
            SignerKind::NotForSigning => (KeyUsages::KeyEncipherment.into(), vec![]),
            SignerKind::AuthenticationOnly => {
                (KeyUsages::DigitalSignature.into(), vec![CLIENT_AUTH])
            }
        };
        builder.add_extension(&KeyUsage(usage)).expect("key usage");
        if !purposes.is_empty() {
            builder
                .add_extension(&ExtendedKeyUsage(purposes))
                .expect("extended key usage");
        }
        let certificate = builder
            .build::<rsa::pkcs1v15::Signature>()
            .expect("a certificate");
        TestSigner { key, certificate }
    }
}

impl TestSigner {
    /// A CMS SignedData over `document` (SHA-256 with RSA, the signer's certificate in it), the
    /// document inside (`attached`) or not, as DER.
    pub fn sign_cms(&self, document: &[u8], attached: bool) -> Vec<u8> {
        let content = EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent: attached.then(|| Any::new(Tag::OctetString, document).expect("content")),
        };
        let digest_algorithm = AlgorithmIdentifierOwned {
            oid: ID_SHA256,
            parameters: None,
        };
        let digest = Sha256::digest(document);
        let signer = SigningKey::<Sha256>::new(self.key.clone());
        let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: self.certificate.tbs_certificate.issuer.clone(),
            serial_number: self.certificate.tbs_certificate.serial_number.clone(),
        });
        let signer_info = SignerInfoBuilder::new(
            &signer,
            sid,
            digest_algorithm.clone(),
            &content,
            (!attached).then_some(digest.as_slice()),
        )
        .expect("a signer info builder");
        let mut builder = SignedDataBuilder::new(&content);
        builder
            .add_digest_algorithm(digest_algorithm)
            .expect("digest algorithm")
            .add_certificate(CertificateChoices::Certificate(self.certificate.clone()))
            .expect("certificate")
            .add_signer_info::<SigningKey<Sha256>, rsa::pkcs1v15::Signature>(signer_info)
            .expect("signer info");
        builder
            .build()
            .expect("SignedData")
            .to_der()
            .expect("SignedData encodes")
    }
}

/// How the NCALayer stand-in answers a `sign` request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NcaLayerAnswer {
    /// Signs with the test signer.
    Sign,
    /// As when the person closes the dialog: success without a result.
    Cancel,
    /// As NCALayer reports a failure: `status: false` with a code and a message.
    Fail,
}

/// Serves NCALayer's WebSocket protocol over TLS (a self-signed certificate for 127.0.0.1:
/// the browser must be told to accept it) on `listener`: greets each connection with a
/// version, then answers each `kz.gov.pki.knca.basics` `sign` request as `answer` says,
/// signing with `signer` (the data in base64, `decode: true`, the CMS with the data inside).
pub async fn serve_ncalayer(
    listener: tokio::net::TcpListener,
    signer: std::sync::Arc<TestSigner>,
    answer: NcaLayerAnswer,
) -> anyhow::Result<()> {
    use futures_util::{SinkExt, StreamExt};
    use tokio_rustls::rustls;
    use tokio_tungstenite::tungstenite::Message;
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])?;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![certified.cert.der().clone()],
            rustls::pki_types::PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der())
                .into(),
        )?;
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
    loop {
        let (connection, _) = listener.accept().await?;
        let acceptor = acceptor.clone();
        let signer = signer.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(connection).await else {
                return;
            };
            let Ok(mut socket) = tokio_tungstenite::accept_async(tls).await else {
                return;
            };
            let greeting = serde_json::json!({"result": {"version": "1.4 (kelisim double)"}});
            if socket
                .send(Message::text(greeting.to_string()))
                .await
                .is_err()
            {
                return;
            }
            while let Some(Ok(message)) = socket.next().await {
                let Message::Text(text) = message else {
                    continue;
                };
                let reply = ncalayer_reply(&text, &signer, answer);
                if socket.send(Message::text(reply.to_string())).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// NCALayer's answer to one request.
fn ncalayer_reply(request: &str, signer: &TestSigner, answer: NcaLayerAnswer) -> serde_json::Value {
    use base64::Engine as _;
    use serde_json::json;
    let Ok(request) = serde_json::from_str::<serde_json::Value>(request) else {
        return json!({"status": false, "code": "500", "message": "request is not JSON"});
    };
    if request["module"] != "kz.gov.pki.knca.basics" || request["method"] != "sign" {
        return json!({"status": false, "code": "400", "message": "unknown module or method"});
    }
    let args = &request["args"];
    match answer {
        NcaLayerAnswer::Cancel => return json!({"status": true, "body": {}}),
        NcaLayerAnswer::Fail => {
            return json!({"status": false, "code": "500", "message": "storage error", "details": "the double was told to fail"})
        }
        NcaLayerAnswer::Sign => {}
    }
    let engine = base64::engine::general_purpose::STANDARD;
    let Some(data) = args["data"]
        .as_str()
        .and_then(|data| engine.decode(data).ok())
    else {
        return json!({"status": false, "code": "400", "message": "data must be base64"});
    };
    let attached = args["signingParams"]["encapsulate"] != false;
    let cms = signer.sign_cms(&data, attached);
    json!({"status": true, "body": {"result": engine.encode(cms)}})
}

impl TestAuthority {
    /// The answer to an OCSP request (DER), signed by this CA: `good` for every certificate
    /// asked about but those in `revoked`, with the request's nonce.
    pub fn ocsp_answer(&self, request: &[u8], revoked: &[SerialNumber]) -> Vec<u8> {
        use der::Decode;
        use x509_ocsp::builder::OcspResponseBuilder;
        use x509_ocsp::{
            CertStatus, OcspGeneralizedTime, OcspRequest, RevokedInfo, SingleResponse,
        };
        let Ok(request) = OcspRequest::from_der(request) else {
            return x509_ocsp::OcspResponse {
                response_status: x509_ocsp::OcspResponseStatus::MalformedRequest,
                response_bytes: None,
            }
            .to_der()
            .expect("an OCSP answer encodes");
        };
        let now = OcspGeneralizedTime::try_from(std::time::SystemTime::now()).expect("now");
        let mut builder =
            OcspResponseBuilder::new(self.certificate.tbs_certificate.subject.clone());
        for asked in &request.tbs_request.request_list {
            let status = if revoked.contains(&asked.req_cert.serial_number) {
                CertStatus::revoked(RevokedInfo {
                    revocation_time: now,
                    revocation_reason: None,
                })
            } else {
                CertStatus::good()
            };
            builder = builder.with_single_response(SingleResponse::new(
                asked.req_cert.clone(),
                status,
                now,
            ));
        }
        if let Some(nonce) = request.nonce() {
            builder = builder.with_extension(nonce).expect("a nonce extension");
        }
        let mut signer = SigningKey::<Sha256>::new(self.key.clone());
        builder
            .sign::<_, rsa::pkcs1v15::Signature>(
                &mut signer,
                Some(vec![self.certificate.clone()]),
                now,
            )
            .expect("an OCSP answer is signed")
            .to_der()
            .expect("an OCSP answer encodes")
    }
}

/// An OCSP responder for `authority` (POST the DER request to `/`), answering `revoked` for
/// the serial numbers in it.
pub fn ocsp_router(
    authority: std::sync::Arc<TestAuthority>,
    revoked: std::sync::Arc<std::sync::Mutex<Vec<SerialNumber>>>,
) -> axum::Router {
    axum::Router::new().route(
        "/",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            let revoked = revoked.lock().map(|list| list.clone()).unwrap_or_default();
            (
                [(
                    axum::http::header::CONTENT_TYPE,
                    "application/ocsp-response",
                )],
                authority.ocsp_answer(&body, &revoked),
            )
        }),
    )
}

impl TestSigner {
    /// A CMS as [`TestSigner::sign_cms`] makes it (attached), whose signer names a GOST
    /// signature algorithm (1.2.398.3.10.1.1.1.2, of the same encoded length as
    /// sha256WithRSAEncryption): what a GOST signature looks like to a server without GOST.
    pub fn sign_cms_named_gost(&self, document: &[u8]) -> Vec<u8> {
        let mut cms = self.sign_cms(document, true);
        let sha256_with_rsa = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b];
        let gost = [0x2a, 0x83, 0x0e, 0x03, 0x0a, 0x01, 0x01, 0x01, 0x02];
        let at = cms
            .windows(sha256_with_rsa.len())
            .rposition(|window| window == sha256_with_rsa)
            .expect("the signer info names its algorithm");
        cms[at..at + gost.len()].copy_from_slice(&gost);
        cms
    }
}
