//! The verified-chain cache: a hit gives the result a full verification gives, and an entry is
//! never served where a full verification could answer otherwise (after a notAfter, for
//! another intermediate, after a CRL's nextUpdate, after a reload).

use hanami_guard_core::error::UntrustedReason;
use hanami_guard_core::identity::trust::MAX_CACHE_CAPACITY;
use hanami_guard_core::identity::{Certificate, TrustFiles, TrustStore, TrustStoreFiles};
use hanami_guard_core::Error;
use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose,
    RevokedCertParams, SerialNumber,
};

type R<T> = Result<T, Box<dyn std::error::Error>>;

struct Ca {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca_params(cn: &str) -> R<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2080, 1, 1);
    Ok(p)
}

fn ca(p: CertificateParams, parent: Option<&Ca>) -> R<Ca> {
    let key = KeyPair::generate()?;
    let cert = match parent {
        Some(parent) => p.signed_by(&key, &parent.issuer)?,
        None => p.self_signed(&key)?,
    };
    Ok(Ca {
        cert: Certificate::parse(cert.pem().as_bytes())?,
        issuer: Issuer::new(p, key),
    })
}

fn leaf(issuer: &Ca, serial: u8, not_after: (i32, u8, u8)) -> R<Certificate> {
    let mut p = CertificateParams::new(vec!["client.example.org".to_owned()])?;
    p.distinguished_name.push(DnType::CommonName, "client");
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    p.serial_number = Some(SerialNumber::from(vec![0x42, serial]));
    p.not_before = date_time_ymd(2021, 1, 1);
    p.not_after = date_time_ymd(not_after.0, not_after.1, not_after.2);
    let key = KeyPair::generate()?;
    Ok(Certificate::parse(
        p.signed_by(&key, &issuer.issuer)?.pem().as_bytes(),
    )?)
}

fn crl(issuer: &Ca, revoked: &[u8], next_update: (i32, u8, u8)) -> R<String> {
    Ok(CertificateRevocationListParams {
        this_update: date_time_ymd(2021, 1, 1),
        next_update: date_time_ymd(next_update.0, next_update.1, next_update.2),
        crl_number: SerialNumber::from(1u64),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|&serial| RevokedCertParams {
                serial_number: SerialNumber::from(vec![0x42, serial]),
                revocation_time: date_time_ymd(2021, 1, 1),
                reason_code: None,
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&issuer.issuer)?
    .pem()?)
}

fn reason<T>(result: hanami_guard_core::Result<T>) -> Option<UntrustedReason> {
    match result {
        Ok(_) => None,
        Err(Error::Untrusted { reason, .. }) => Some(reason),
        Err(other) => panic!("not an Untrusted error: {other}"),
    }
}

/// 2030-01-01, well inside every fixture's validity.
const AT: i64 = 1_893_456_000;

fn pki() -> R<(Ca, Ca)> {
    let root = ca(ca_params("Root")?, None)?;
    let ica = ca(ca_params("Intermediate")?, Some(&root))?;
    Ok((root, ica))
}

#[test]
fn a_hit_returns_what_a_full_verification_returns() -> R<()> {
    let (root, ica) = pki()?;
    let store = TrustStore::new(root.cert.to_pem().as_bytes(), &[])?;
    let uncached = TrustStore::new(root.cert.to_pem().as_bytes(), &[])?.with_cache_capacity(0)?;
    let client = leaf(&ica, 1, (2070, 1, 1))?;
    let full = uncached.verify_chain(&client, &[&ica.cert], AT)?;
    assert_eq!(store.verify_chain(&client, &[&ica.cert], AT)?, full);
    assert_eq!(store.cache_stats().hits, 0);
    // The same chain in a new parse of the same bytes (as Puma gives on each request).
    let again = Certificate::parse(client.der())?;
    assert_eq!(store.verify_chain(&again, &[&ica.cert], AT + 60)?, full);
    let stats = store.cache_stats();
    assert_eq!((stats.hits, stats.misses, stats.len), (1, 1, 1));
    assert_eq!(
        store.cached_chain(&again, &[&ica.cert], AT),
        Some(full.clone())
    );
    assert_eq!(store.cached_chain(&again, &[], AT), None);
    assert_eq!(store.cached_chain(&again, &[&ica.cert], -1), None);
    assert_eq!(
        store.cached_chain(&again, &[&ica.cert], client.not_after() + 1),
        None
    );
    assert_eq!(store.cache_stats().hits, 2, "only the hit counts");
    assert_eq!(store.cache_stats().misses, 1);
    assert_eq!(full.ca_keys().len(), 2);
    assert_eq!(uncached.cache_stats().len, 0);
    Ok(())
}

#[test]
fn an_entry_is_never_served_past_a_not_after() -> R<()> {
    let (root, ica) = pki()?;
    let store = TrustStore::new(root.cert.to_pem().as_bytes(), &[])?;
    let client = leaf(&ica, 1, (2040, 1, 1))?;
    let end = client.not_after();
    assert_eq!(reason(store.verify_chain(&client, &[&ica.cert], AT)), None);
    assert_eq!(reason(store.verify_chain(&client, &[&ica.cert], end)), None);
    assert_eq!(
        store.cache_stats().hits,
        1,
        "the last valid second is a hit"
    );
    assert_eq!(
        reason(store.verify_chain(&client, &[&ica.cert], end + 1)),
        Some(UntrustedReason::Expired)
    );
    assert_eq!(
        reason(store.verify_chain(&client, &[&ica.cert], client.not_before() - 1)),
        Some(UntrustedReason::NotYetValid)
    );
    assert_eq!(store.cache_stats().hits, 1);

    // An intermediate that expires before the leaf ends the entry's window.
    let mut short = ca_params("Short Intermediate")?;
    short.not_after = date_time_ymd(2035, 1, 1);
    let short = ca(short, Some(&root))?;
    let client = leaf(&short, 2, (2070, 1, 1))?;
    assert_eq!(
        reason(store.verify_chain(&client, &[&short.cert], AT)),
        None
    );
    assert_eq!(
        reason(store.verify_chain(&client, &[&short.cert], short.cert.not_after() + 1)),
        Some(UntrustedReason::Expired)
    );
    Ok(())
}

#[test]
fn a_different_intermediate_under_the_same_leaf_is_verified_in_full() -> R<()> {
    let (root, ica) = pki()?;
    let store = TrustStore::new(root.cert.to_pem().as_bytes(), &[])?;
    let client = leaf(&ica, 1, (2070, 1, 1))?;
    assert_eq!(reason(store.verify_chain(&client, &[&ica.cert], AT)), None);
    // Same name as the trusted intermediate, another key, issued by an unpinned root.
    let rogue_root = ca(ca_params("Root")?, None)?;
    let rogue = ca(ca_params("Intermediate")?, Some(&rogue_root))?;
    assert!(reason(store.verify_chain(&client, &[&rogue.cert], AT)).is_some());
    assert!(reason(store.verify_chain(&client, &[], AT)).is_some());
    assert_eq!(store.cached_chain(&client, &[&rogue.cert], AT), None);
    assert_eq!(store.cache_stats().hits, 0);
    Ok(())
}

#[test]
fn nothing_is_served_from_a_crl_next_update_on() -> R<()> {
    let (root, ica) = pki()?;
    let client = leaf(&ica, 1, (2070, 1, 1))?;
    let list = crl(&ica, &[9], (2031, 1, 1))?;
    let store = TrustStore::new(root.cert.to_pem().as_bytes(), &[list.as_bytes()])?;
    let next_update = 1_924_992_000; // 2031-01-01
    assert_eq!(reason(store.verify_chain(&client, &[&ica.cert], AT)), None);
    assert_eq!(
        reason(store.verify_chain(&client, &[&ica.cert], next_update - 1)),
        None
    );
    assert_eq!(store.cache_stats().hits, 1);
    for at in [next_update, next_update + 1] {
        assert_eq!(reason(store.verify_chain(&client, &[&ica.cert], at)), None);
    }
    // Past nextUpdate every verification runs in full, and none is stored.
    let stats = store.cache_stats();
    assert_eq!((stats.hits, stats.misses), (1, 3));
    Ok(())
}

#[test]
fn a_reload_empties_the_cache_and_a_new_crl_revokes() -> R<()> {
    let (root, ica) = pki()?;
    let client = leaf(&ica, 1, (2070, 1, 1))?;
    let dir = tempfile::tempdir()?;
    let (ca_path, crl_path) = (dir.path().join("ca.pem"), dir.path().join("ca.crl"));
    std::fs::write(&ca_path, root.cert.to_pem())?;
    std::fs::write(&crl_path, crl(&ica, &[9], (2070, 1, 1))?)?;
    let files = TrustStoreFiles::load_with_cache_capacity(
        TrustFiles {
            ca: Some(ca_path),
            crls: vec![crl_path.clone()],
            ..TrustFiles::default()
        },
        16,
    )?;
    assert_eq!(
        reason(files.current().verify_chain(&client, &[&ica.cert], AT)),
        None
    );
    assert_eq!(files.current().cache_stats().len, 1);
    // Unchanged files: the same store, emptied.
    assert!(!files.reload()?);
    assert_eq!(files.current().cache_stats().len, 0);
    assert_eq!(
        reason(files.current().verify_chain(&client, &[&ica.cert], AT)),
        None
    );
    std::fs::write(&crl_path, crl(&ica, &[1], (2070, 1, 1))?)?;
    assert!(files.reload()?);
    let store = files.current();
    assert_eq!(store.cache_capacity(), 16);
    assert_eq!(
        reason(store.verify_chain(&client, &[&ica.cert], AT)),
        Some(UntrustedReason::Revoked)
    );
    assert_eq!(store.cache_stats().len, 0, "a refusal is never cached");
    Ok(())
}

#[test]
fn the_cache_stays_bounded_and_right_under_threads() -> R<()> {
    let (root, ica) = pki()?;
    let rogue_root = ca(ca_params("Root")?, None)?;
    let rogue = ca(ca_params("Intermediate")?, Some(&rogue_root))?;
    let clients: Vec<Certificate> = (0..6)
        .map(|i| leaf(&ica, i, (2070, 1, 1)))
        .collect::<R<_>>()?;
    let pem = root.cert.to_pem();
    let uncached = TrustStore::new(pem.as_bytes(), &[])?.with_cache_capacity(0)?;
    let store = TrustStore::new(pem.as_bytes(), &[])?.with_cache_capacity(3)?;
    // Every case with the result of a full verification: a trusted chain, a rogue one.
    let mut cases = Vec::new();
    for client in &clients {
        for via in [&ica.cert, &rogue.cert] {
            let expected = uncached
                .verify_chain(client, &[via], AT)
                .map_err(|e| match e {
                    Error::Untrusted { reason, .. } => reason,
                    other => panic!("{other}"),
                });
            cases.push((client, via, expected));
        }
    }
    let rounds = 30;
    std::thread::scope(|s| {
        for t in 0..8 {
            let (store, cases) = (&store, &cases);
            s.spawn(move || {
                for round in 0..rounds {
                    // Half the threads hammer one chain, so hits must happen; the others
                    // cycle through twelve chains in a three-entry cache, evicting.
                    let (client, via, expected) = &cases[if t % 2 == 0 {
                        0
                    } else {
                        (round + t) % cases.len()
                    }];
                    let got = store.verify_chain(client, &[via], AT).map_err(|e| match e {
                        Error::Untrusted { reason, .. } => reason,
                        other => panic!("{other}"),
                    });
                    assert_eq!(&got, expected);
                    assert!(store.cache_stats().len <= 3);
                }
            });
        }
    });
    let stats = store.cache_stats();
    assert_eq!(stats.hits + stats.misses, 8 * rounds as u64);
    assert!(stats.hits > 0 && stats.len <= 3, "{stats:?}");
    Ok(())
}

#[test]
fn a_capacity_too_large_is_refused() -> R<()> {
    let (root, _) = pki()?;
    let store = TrustStore::new(root.cert.to_pem().as_bytes(), &[])?;
    assert!(matches!(
        store.with_cache_capacity(MAX_CACHE_CAPACITY + 1),
        Err(Error::Configuration(_))
    ));
    Ok(())
}

/// A store remembers the CA signatures it checked (over intermediates and CRLs), so a new leaf
/// under a known intermediate costs one signature check. Remembering must change no answer: a
/// store with it and one without (`cache_size: 0`) agree on every chain, in every order, each
/// call a new leaf (so the chain cache never answers), including the chains an attacker would
/// build around a remembered signature.
#[test]
fn remembered_ca_signatures_change_no_answer() -> R<()> {
    let (root, ica) = pki()?;
    // A CA that names itself as the pinned root and the intermediate, with its own keys.
    let impostor_root = ca(ca_params("Root")?, None)?;
    let impostor_ica = ca(ca_params("Intermediate")?, Some(&impostor_root))?;
    // An intermediate that expires before AT, valid at EARLY.
    let mut short = ca_params("Short-lived intermediate")?;
    short.not_after = date_time_ymd(2028, 1, 1);
    let short = ca(short, Some(&root))?;
    const EARLY: i64 = 1_767_225_600; // 2026-01-01
    let pem = root.cert.to_pem();
    let remembering = TrustStore::new(pem.as_bytes(), &[])?.with_cache_capacity(1)?;
    let plain = TrustStore::new(pem.as_bytes(), &[])?.with_cache_capacity(0)?;

    let mut serial = 0u8;
    let mut answers = Vec::new();
    for round in 0..3 {
        for case in 0..6 {
            serial = serial.wrapping_add(1);
            // (the leaf's issuer, the intermediate presented, the time)
            let (issuer, presented, at) = match (case + round) % 6 {
                0 => (&ica, &ica, AT),
                // A leaf forged under the real intermediate's name, presented with the real
                // intermediate, whose signature the store remembers.
                1 => (&impostor_ica, &ica, AT),
                // The impostor's intermediate itself: same name, another key.
                2 => (&impostor_ica, &impostor_ica, AT),
                3 => (&short, &short, EARLY),
                // The same intermediate after its notAfter: remembered, and expired.
                4 => (&short, &short, AT),
                _ => (&ica, &short, AT),
            };
            let client = leaf(issuer, serial, (2070, 1, 1))?;
            let a = reason(remembering.verify_chain(&client, &[&presented.cert], at));
            let b = reason(plain.verify_chain(&client, &[&presented.cert], at));
            assert_eq!(a, b, "round {round}, case {case}");
            answers.push(a);
        }
    }
    assert_eq!(remembering.cache_stats().hits, 0, "every call a new leaf");
    // The cases give what they should, so the comparison covered both outcomes.
    assert_eq!(
        &answers[..6],
        &[
            None,
            Some(UntrustedReason::BadSignature),
            Some(UntrustedReason::BadSignature),
            None,
            Some(UntrustedReason::Expired),
            Some(UntrustedReason::UnknownIssuer),
        ]
    );
    Ok(())
}
