//! Chain verification with certificates made by rcgen: every `UntrustedReason` a client can
//! provoke, and the bounds on the input.

mod pki;

use hanami_guard_core::error::UntrustedReason;
use hanami_guard_core::identity::{Certificate, ClientAuth, TrustStore};
use hanami_guard_core::Error;
use pki::{intermediate, now, reason, signed, R};
use rcgen::{
    date_time_ymd, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, KeyIdMethod, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};

fn leaf_params(eku: Vec<ExtendedKeyUsagePurpose>) -> R<CertificateParams> {
    let mut p = CertificateParams::new(vec!["client.example.org".to_owned()])?;
    p.distinguished_name.push(DnType::CommonName, "client");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = eku;
    p.serial_number = Some(SerialNumber::from(vec![0x42, 0x01]));
    Ok(p)
}

#[test]
fn verifies_a_three_certificate_chain_and_reports_each_reason() -> R<()> {
    let root = pki::root("Root")?;
    let ica = intermediate("Intermediate", &root)?;
    let ica_cert = Certificate::parse(ica.pem().as_bytes())?;
    let store = TrustStore::new(root.pem().as_bytes(), &[])?;
    let good = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?,
        &ica,
    )?;
    assert_eq!(reason(store.verify(&good, &[&ica_cert], now())), None);
    assert_eq!(
        reason(store.verify(&good, &[], now())),
        Some(UntrustedReason::UnknownIssuer)
    );

    let server = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ServerAuth])?,
        &ica,
    )?;
    assert_eq!(
        reason(store.verify(&server, &[&ica_cert], now())),
        Some(UntrustedReason::MissingClientAuth)
    );
    let no_eku = signed(&leaf_params(vec![])?, &ica)?;
    assert_eq!(
        reason(store.verify(&no_eku, &[&ica_cert], now())),
        Some(UntrustedReason::MissingClientAuth)
    );

    let mut expired = leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?;
    expired.not_before = date_time_ymd(2000, 1, 1);
    expired.not_after = date_time_ymd(2001, 1, 1);
    let expired = signed(&expired, &ica)?;
    assert_eq!(
        reason(store.verify(&expired, &[&ica_cert], now())),
        Some(UntrustedReason::Expired)
    );
    let mut future = leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?;
    future.not_before = date_time_ymd(2090, 1, 1);
    future.not_after = date_time_ymd(2091, 1, 1);
    let future = signed(&future, &ica)?;
    assert_eq!(
        reason(store.verify(&future, &[&ica_cert], now())),
        Some(UntrustedReason::NotYetValid)
    );

    // Same names, other keys: the signature cannot verify.
    let impostor_root = pki::root("Root")?;
    let impostor_ica = intermediate("Intermediate", &impostor_root)?;
    let forged = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?,
        &impostor_ica,
    )?;
    assert_eq!(
        reason(store.verify(&forged, &[&ica_cert], now())),
        Some(UntrustedReason::BadSignature)
    );

    // A CA as the leaf.
    assert_eq!(
        reason(store.verify(&ica_cert, &[], now())),
        Some(UntrustedReason::Invalid)
    );
    // Too many intermediates.
    let nine: Vec<&Certificate> = std::iter::repeat_n(&ica_cert, 9).collect();
    assert_eq!(
        reason(store.verify(&good, &nine, now())),
        Some(UntrustedReason::Invalid)
    );
    assert_eq!(
        reason(store.verify(&good, &[&ica_cert], -5)),
        Some(UntrustedReason::Invalid)
    );
    Ok(())
}

/// OpenSSL's rule (purpose sslclient) with `ClientAuth::WhenPresent`: only a leaf without any
/// extendedKeyUsage gains; one whose EKU names other purposes is refused in both modes.
#[test]
fn when_present_accepts_a_leaf_without_eku_and_nothing_else() -> R<()> {
    let root = pki::root("Root")?;
    let required = TrustStore::new(root.pem().as_bytes(), &[])?;
    assert_eq!(required.client_auth(), ClientAuth::Required);
    let lenient =
        TrustStore::new(root.pem().as_bytes(), &[])?.with_client_auth(ClientAuth::WhenPresent);
    let no_eku = signed(&leaf_params(vec![])?, &root)?;
    let server = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ServerAuth])?,
        &root,
    )?;
    let client = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?,
        &root,
    )?;

    assert_eq!(reason(lenient.verify(&no_eku, &[], now())), None);
    assert_eq!(reason(lenient.verify(&client, &[], now())), None);
    assert_eq!(
        reason(lenient.verify(&server, &[], now())),
        Some(UntrustedReason::MissingClientAuth)
    );
    match required.verify(&no_eku, &[], now()) {
        Err(Error::Untrusted { reason, message }) => {
            assert_eq!(reason, UntrustedReason::MissingClientAuth);
            assert!(message.contains("when_present"), "{message}");
        }
        other => panic!("a leaf without EKU passed client_auth required: {other:?}"),
    }
    // A leaf whose EKU lacks clientAuth is never pointed at when_present: it would not help.
    match lenient.verify(&server, &[], now()) {
        Err(Error::Untrusted { message, .. }) => assert!(!message.contains("when_present")),
        other => panic!("a serverAuth leaf passed: {other:?}"),
    }
    for (name, mode) in ClientAuth::NAMES {
        assert_eq!(mode.as_str(), *name);
    }
    Ok(())
}

#[test]
fn a_crl_revokes_by_serial() -> R<()> {
    let root = pki::root("Root")?;
    let ica = intermediate("Intermediate", &root)?;
    let ica_cert = Certificate::parse(ica.pem().as_bytes())?;
    let good = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?,
        &ica,
    )?;
    let crl = CertificateRevocationListParams {
        this_update: date_time_ymd(2000, 1, 1),
        next_update: date_time_ymd(2090, 1, 1),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: vec![RevokedCertParams {
            serial_number: SerialNumber::from(vec![0x42, 0x01]),
            revocation_time: date_time_ymd(2000, 1, 1),
            reason_code: None,
            invalidity_date: None,
        }],
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ica.issuer)?;
    let crl_pem = crl.pem()?;
    let store = TrustStore::new(root.pem().as_bytes(), &[crl_pem.as_bytes()])?;
    assert_eq!(
        reason(store.verify(&good, &[&ica_cert], now())),
        Some(UntrustedReason::Revoked)
    );
    let der_store = TrustStore::new(root.pem().as_bytes(), &[crl.der().as_ref()])?;
    assert_eq!(
        reason(der_store.verify(&good, &[&ica_cert], now())),
        Some(UntrustedReason::Revoked)
    );
    Ok(())
}

#[test]
fn the_store_needs_a_ca() -> R<()> {
    let root = pki::root("Root")?;
    let l = signed(
        &leaf_params(vec![ExtendedKeyUsagePurpose::ClientAuth])?,
        &root,
    )?;
    for bad in [&b""[..], b"junk", l.to_pem().as_bytes()] {
        assert!(matches!(
            TrustStore::new(bad, &[]),
            Err(Error::Configuration(_))
        ));
    }
    assert!(matches!(
        TrustStore::new(root.pem().as_bytes(), &[b"not a crl"]),
        Err(Error::Configuration(_))
    ));
    let two = format!("{}{}", root.pem(), l.to_pem());
    assert_eq!(TrustStore::new(two.as_bytes(), &[])?.anchor_count(), 1);
    Ok(())
}

#[test]
fn store_and_certificates_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TrustStore>();
    assert_send_sync::<Certificate>();
}
