//! SPIFFE trust bundles (each trust domain verifies only against its own CAs) and reloading a
//! store from its files (never failing open).

mod pki;

use base64::Engine as _;
use hanami_guard_core::error::UntrustedReason;
use hanami_guard_core::identity::{Certificate, TrustFiles, TrustStore, TrustStoreFiles};
use hanami_guard_core::Error;
use pki::{now, reason, root, signed, Ca, R};
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyUsagePurpose, SanType};

fn svid(issuer: &Ca, id: &str) -> R<Certificate> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.subject_alt_names = vec![SanType::URI(id.try_into()?)];
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    signed(&p, issuer)
}

fn jwks(ca: &Ca) -> String {
    let x5c = base64::engine::general_purpose::STANDARD.encode(ca.cert.der());
    format!(
        r#"{{"keys":[{{"use":"x509-svid","kty":"EC","x5c":["{x5c}"]}},{{"use":"jwt-svid","kid":"k"}}]}}"#
    )
}

#[test]
fn an_svid_verifies_only_against_its_own_trust_domain() -> R<()> {
    let prod = root("Prod CA")?;
    let partner = root("Partner CA")?;
    let prod_bundle = jwks(&prod);
    let partner_pem = partner.cert.to_pem();
    let store = TrustStore::with_bundles(
        None,
        &[
            ("prod.example.org", prod_bundle.as_bytes()),
            ("spiffe://partner.example.org", partner_pem.as_bytes()),
        ],
        &[],
    )?;
    assert_eq!(store.anchor_count(), 2);
    let forged = svid(&partner, "spiffe://prod.example.org/ns/ops")?;
    assert_eq!(
        reason(store.verify(&forged, &[], now())),
        Some(UntrustedReason::UnknownIssuer)
    );
    assert_eq!(
        reason(store.verify(
            &svid(&prod, "spiffe://prod.example.org/ns/ops")?,
            &[],
            now()
        )),
        None
    );
    assert_eq!(
        reason(store.verify(
            &svid(&partner, "spiffe://partner.example.org/x")?,
            &[],
            now()
        )),
        None
    );
    assert_eq!(
        reason(store.verify(&svid(&prod, "spiffe://other.example.org/x")?, &[], now())),
        Some(UntrustedReason::UnknownIssuer)
    );
    assert_eq!(
        reason(store.verify(&svid(&prod, "SPIFFE://prod.example.org/x")?, &[], now())),
        Some(UntrustedReason::Invalid)
    );
    Ok(())
}

#[test]
fn malformed_bundles_are_configuration_errors() -> R<()> {
    let prod = root("Prod CA")?;
    let pem = prod.cert.to_pem();
    for (td, body) in [
        ("Prod.example.org", pem.as_str()),
        ("prod.example.org/x", pem.as_str()),
        ("prod.example.org", r#"{"keys":[{"use":"x509-svid"}]}"#),
        ("prod.example.org", r#"{"keys":[{"use":"jwt-svid"}]}"#),
        ("prod.example.org", "{not json"),
        ("prod.example.org", "junk"),
    ] {
        assert!(
            matches!(
                TrustStore::with_bundles(None, &[(td, body.as_bytes())], &[]),
                Err(Error::Configuration(_))
            ),
            "{td} {body}"
        );
    }
    assert!(matches!(
        TrustStore::with_bundles(None, &[], &[]),
        Err(Error::Configuration(_))
    ));
    Ok(())
}

#[test]
fn a_reload_keeps_the_last_good_store() -> R<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("ca.pem");
    let (old, new) = (root("Rotating CA")?, root("Rotating CA")?);
    let old_leaf = svid(&old, "spiffe://x.example/a")?;
    let new_leaf = svid(&new, "spiffe://x.example/a")?;
    std::fs::write(&path, old.cert.to_pem())?;
    let files = TrustStoreFiles::load(TrustFiles {
        ca: Some(path.clone()),
        ..TrustFiles::default()
    })?;
    assert!(!files.reload()?);
    std::fs::write(&path, "-----BEGIN CERTIFICATE-----\nbroken")?;
    assert!(matches!(files.reload(), Err(Error::Configuration(_))));
    assert_eq!(reason(files.current().verify(&old_leaf, &[], now())), None);
    std::fs::remove_file(&path)?;
    assert!(matches!(files.reload(), Err(Error::Io { .. })));
    assert_eq!(reason(files.current().verify(&old_leaf, &[], now())), None);
    std::fs::write(&path, new.cert.to_pem())?;
    assert!(files.reload()?);
    assert!(reason(files.current().verify(&old_leaf, &[], now())).is_some());
    assert_eq!(reason(files.current().verify(&new_leaf, &[], now())), None);
    let fixed = TrustStoreFiles::fixed(TrustStore::new(old.cert.to_pem().as_bytes(), &[])?);
    assert!(matches!(fixed.reload(), Err(Error::Configuration(_))));
    Ok(())
}
