//! The CMS check on its own, against signatures made as NCALayer makes them by a test CA made
//! here: what verifies, and every way a signature is refused.

use kelisim_server::cms_check::{check, CmsRefusal};
use kelisim_server::signature_double::{SignerKind, TestAuthority};

const DOCUMENT: &[u8] = "Согласие на сбор и обработку персональных данных\n[x] …\n".as_bytes();

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_signature_by_a_trusted_signer_verifies_attached_or_detached() {
    let authority = TestAuthority::generate("TEST NCA RSA");
    let signer = authority.issue(SignerKind::Valid, "АХМЕТОВА", "АЙГЕРІМ", "900101400123");
    let roots = [authority.certificate.clone()];
    for attached in [true, false] {
        let cms = signer.sign_cms(DOCUMENT, attached);
        let checked = check(&cms, DOCUMENT, &roots, now(), true).unwrap();
        assert!(checked.verified, "{checked:?}");
        assert_eq!(checked.algorithm, "RSA");
        assert_eq!(checked.signer_iin.as_deref(), Some("900101400123"));
        assert_eq!(checked.signer_name, "АХМЕТОВА АЙГЕРІМ");
        assert!(
            checked.certificate_issuer.contains("TEST NCA RSA"),
            "{checked:?}"
        );
    }
}

#[test]
fn every_bad_signature_is_refused_with_its_reason() {
    let authority = TestAuthority::generate("TEST NCA RSA");
    let roots = [authority.certificate.clone()];
    let valid = authority.issue(SignerKind::Valid, "ТЕСТОВ", "ТЕСТ", "900101300123");
    let refused = |cms: &[u8], document: &[u8], roots: &[x509_cert::Certificate]| {
        check(cms, document, roots, now(), true).unwrap_err()
    };
    // Another document.
    let cms = valid.sign_cms(b"another document", true);
    assert_eq!(refused(&cms, DOCUMENT, &roots), CmsRefusal::WrongDocument);
    let cms = valid.sign_cms(b"another document", false);
    assert_eq!(refused(&cms, DOCUMENT, &roots), CmsRefusal::WrongDocument);
    // A CA the site does not trust.
    let other = TestAuthority::generate("SOMEONE ELSE");
    let cms = other
        .issue(SignerKind::Valid, "ТЕСТОВ", "ТЕСТ", "900101300123")
        .sign_cms(DOCUMENT, true);
    assert!(matches!(
        refused(&cms, DOCUMENT, &roots),
        CmsRefusal::UntrustedCertificate(_)
    ));
    // Expired; not for signing; for authentication only.
    let cms = authority
        .issue(SignerKind::Expired, "ТЕСТОВ", "ТЕСТ", "900101300123")
        .sign_cms(DOCUMENT, true);
    assert!(matches!(
        refused(&cms, DOCUMENT, &roots),
        CmsRefusal::CertificateNotValid(_)
    ));
    for kind in [SignerKind::NotForSigning, SignerKind::AuthenticationOnly] {
        let cms = authority
            .issue(kind, "ТЕСТОВ", "ТЕСТ", "900101300123")
            .sign_cms(DOCUMENT, true);
        assert!(
            matches!(
                refused(&cms, DOCUMENT, &roots),
                CmsRefusal::NotForSigning(_)
            ),
            "{kind:?}"
        );
    }
    // Tampered: any byte of the signature value changed, or garbage.
    let mut cms = valid.sign_cms(DOCUMENT, true);
    let at = cms.len() - 5;
    cms[at] ^= 0x55;
    assert!(matches!(
        refused(&cms, DOCUMENT, &roots),
        CmsRefusal::BadSignature(_) | CmsRefusal::Malformed(_)
    ));
    assert!(matches!(
        refused(b"not a cms", DOCUMENT, &roots),
        CmsRefusal::Malformed(_)
    ));
    // Years later `verify` checks the signature without the chain: an expired signer's
    // signature over its document still verifies as a signature.
    let cms = authority
        .issue(SignerKind::Expired, "ТЕСТОВ", "ТЕСТ", "900101300123")
        .sign_cms(DOCUMENT, true);
    assert!(check(&cms, DOCUMENT, &[], now(), false).unwrap().verified);
}

/// A GOST signature (Kazakhstan's national algorithms) is recognised and never reported as
/// verified: this server has no GOST implementation.
#[test]
fn a_gost_signature_is_kept_as_not_verified() {
    let authority = TestAuthority::generate("TEST NCA GOST");
    let signer = authority.issue(SignerKind::Valid, "ТЕСТОВ", "ТЕСТ", "900101300123");
    let cms = signer.sign_cms_named_gost(DOCUMENT);
    let checked = check(
        &cms,
        DOCUMENT,
        std::slice::from_ref(&authority.certificate),
        now(),
        true,
    )
    .unwrap();
    assert!(!checked.verified);
    assert_eq!(checked.algorithm, "GOST");
    assert!(
        checked.verification.starts_with("not verified"),
        "{checked:?}"
    );
    // Over another document it is refused all the same (the content is compared).
    assert_eq!(
        check(&cms, b"other", &[], now(), true).unwrap_err(),
        CmsRefusal::WrongDocument
    );
}
