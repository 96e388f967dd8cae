//! What the pinned CA and the intermediates allow, beyond webpki's own checks: the anchor's
//! pathLenConstraint, extendedKeyUsage and validity, keyCertSign (RFC 5280 6.1.4 (n)), and a
//! revocation in any of an issuer's CRLs.

mod pki;

use hanami_guard_core::error::UntrustedReason;
use hanami_guard_core::identity::{Certificate, TrustStore};
use pki::{ca_params, make_ca, now, reason, signed, Ca, R};
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyUsagePurpose, RevokedCertParams, SerialNumber,
};

fn leaf(issuer: &Ca, serial: u8) -> R<Certificate> {
    let mut p = CertificateParams::new(vec!["client.example.org".to_owned()])?;
    p.distinguished_name.push(DnType::CommonName, "client");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.serial_number = Some(SerialNumber::from(vec![0x42, serial]));
    signed(&p, issuer)
}

#[test]
fn a_pinned_ca_with_pathlen_zero_may_not_have_a_sub_ca() -> R<()> {
    let mut p = ca_params("Root pathlen 0")?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let root = make_ca(p, None)?;
    let sub = make_ca(ca_params("Sub")?, Some(&root))?;
    let s = root.store()?;
    assert_eq!(reason(s.verify(&leaf(&root, 1)?, &[], now())), None);
    assert_eq!(
        reason(s.verify(&leaf(&sub, 2)?, &[&sub.cert], now())),
        Some(UntrustedReason::Invalid)
    );
    // pathlen:1 allows exactly that one level.
    let mut p = ca_params("Root pathlen 1")?;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    let root1 = make_ca(p, None)?;
    let sub1 = make_ca(ca_params("Sub1")?, Some(&root1))?;
    let subsub = make_ca(ca_params("SubSub")?, Some(&sub1))?;
    let s1 = root1.store()?;
    assert_eq!(
        reason(s1.verify(&leaf(&sub1, 3)?, &[&sub1.cert], now())),
        None
    );
    assert_eq!(
        reason(s1.verify(&leaf(&subsub, 4)?, &[&subsub.cert, &sub1.cert], now())),
        Some(UntrustedReason::Invalid)
    );
    Ok(())
}

#[test]
fn a_pinned_ca_restricted_to_server_auth_vouches_for_no_client() -> R<()> {
    let mut p = ca_params("Server-only Root")?;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let root = make_ca(p, None)?;
    assert_eq!(
        reason(root.store()?.verify(&leaf(&root, 1)?, &[], now())),
        Some(UntrustedReason::MissingClientAuth)
    );
    let mut p = ca_params("Client Root")?;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let root = make_ca(p, None)?;
    assert_eq!(
        reason(root.store()?.verify(&leaf(&root, 1)?, &[], now())),
        None
    );
    Ok(())
}

#[test]
fn an_expired_or_future_pinned_ca_verifies_nothing() -> R<()> {
    let mut p = ca_params("Old Root")?;
    p.not_before = date_time_ymd(2000, 1, 1);
    p.not_after = date_time_ymd(2001, 1, 1);
    let old = make_ca(p, None)?;
    let l = leaf(&old, 1)?;
    assert_eq!(
        reason(old.store()?.verify(&l, &[], now())),
        Some(UntrustedReason::Expired)
    );
    let mut p = ca_params("Future Root")?;
    p.not_before = date_time_ymd(2090, 1, 1);
    p.not_after = date_time_ymd(2091, 1, 1);
    let future = make_ca(p, None)?;
    assert_eq!(
        reason(future.store()?.verify(&leaf(&future, 1)?, &[], now())),
        Some(UntrustedReason::NotYetValid)
    );
    Ok(())
}

#[test]
fn a_ca_without_key_cert_sign_signs_nothing() -> R<()> {
    let root = make_ca(ca_params("Root")?, None)?;
    let mut p = ca_params("No certSign")?;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::CrlSign];
    let ica = make_ca(p, Some(&root))?;
    let s = root.store()?;
    assert_eq!(
        reason(s.verify(&leaf(&ica, 1)?, &[&ica.cert], now())),
        Some(UntrustedReason::Invalid)
    );
    let mut p = ca_params("Root no certSign")?;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let bad_root = make_ca(p, None)?;
    assert_eq!(
        reason(bad_root.store()?.verify(&leaf(&bad_root, 1)?, &[], now())),
        Some(UntrustedReason::Invalid)
    );
    Ok(())
}

#[test]
fn a_refused_anchor_does_not_hide_a_good_one_with_the_same_name() -> R<()> {
    let mut p = ca_params("Rotated Root")?;
    p.not_before = date_time_ymd(2000, 1, 1);
    p.not_after = date_time_ymd(2001, 1, 1);
    let old = make_ca(p, None)?;
    let new = make_ca(ca_params("Rotated Root")?, None)?;
    let bundle = format!("{}{}", old.cert.to_pem(), new.cert.to_pem());
    let s = TrustStore::new(bundle.as_bytes(), &[])?;
    assert_eq!(reason(s.verify(&leaf(&new, 1)?, &[], now())), None);
    // The old CA is refused as expired, and the new one's key did not sign: the most telling
    // reason wins.
    assert_eq!(
        reason(s.verify(&leaf(&old, 1)?, &[], now())),
        Some(UntrustedReason::Expired)
    );
    Ok(())
}

fn crl(issuer: &Ca, number: u64, revoked: &[u8]) -> R<String> {
    Ok(CertificateRevocationListParams {
        this_update: date_time_ymd(2000, 1, 1),
        next_update: date_time_ymd(2090, 1, 1),
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(vec![0x42, *s]),
                revocation_time: date_time_ymd(2000, 1, 1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer.issuer)?
    .pem()?)
}

#[test]
fn a_revocation_in_any_crl_of_an_issuer_counts() -> R<()> {
    let root = make_ca(ca_params("Root")?, None)?;
    let ica = make_ca(ca_params("Intermediate")?, Some(&root))?;
    let older = crl(&ica, 1, &[1])?;
    let newer = crl(&ica, 2, &[1, 2])?;
    let root_crl = crl(&root, 1, &[])?;
    let (a, b, c) = (leaf(&ica, 1)?, leaf(&ica, 2)?, leaf(&ica, 3)?);
    for order in [
        [older.as_str(), newer.as_str(), root_crl.as_str()],
        [newer.as_str(), root_crl.as_str(), older.as_str()],
    ] {
        let crls: Vec<&[u8]> = order.iter().map(|s| s.as_bytes()).collect();
        let s = TrustStore::new(root.cert.to_pem().as_bytes(), &crls)?;
        assert_eq!(
            reason(s.verify(&a, &[&ica.cert], now())),
            Some(UntrustedReason::Revoked)
        );
        assert_eq!(
            reason(s.verify(&b, &[&ica.cert], now())),
            Some(UntrustedReason::Revoked)
        );
        assert_eq!(reason(s.verify(&c, &[&ica.cert], now())), None);
    }
    // Both CRLs in one PEM file.
    let joined = format!("{older}{newer}");
    let s = TrustStore::new(root.cert.to_pem().as_bytes(), &[joined.as_bytes()])?;
    assert_eq!(
        reason(s.verify(&b, &[&ica.cert], now())),
        Some(UntrustedReason::Revoked)
    );
    Ok(())
}
