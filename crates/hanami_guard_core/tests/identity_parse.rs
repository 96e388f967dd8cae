//! Certificate, name, SPIFFE ID and XFCC parsing from the outside of the crate, with rcgen
//! certificates and property tests for the invariants an attacker would try to break.

use hanami_guard_core::error::key;
use hanami_guard_core::identity::cert::check;
use hanami_guard_core::identity::{xfcc, Certificate, DistinguishedName, SpiffeId};
use hanami_guard_core::{Error, Field};
use proptest::prelude::*;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, DnValue, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

type R<T> = Result<T, Box<dyn std::error::Error>>;

fn make(
    dn: &[(DnType, &str)],
    sans: Vec<SanType>,
    ca: bool,
    ku: Vec<KeyUsagePurpose>,
) -> R<(String, Vec<u8>)> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    for (t, v) in dn {
        p.distinguished_name
            .push(t.clone(), DnValue::Utf8String((*v).to_owned()));
    }
    p.subject_alt_names = sans;
    if ca {
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    p.key_usages = ku;
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let key = KeyPair::generate()?;
    let cert = p.self_signed(&key)?;
    Ok((cert.pem(), cert.der().to_vec()))
}

#[test]
fn reads_fields_from_pem_and_der_alike() -> R<()> {
    let (pem, der) = make(
        &[
            (DnType::OrganizationName, "MyOrg"),
            (DnType::CommonName, "operator"),
        ],
        vec![
            SanType::DnsName("api.example.org".try_into()?),
            SanType::URI("spiffe://prod.example.org/ns/ops".try_into()?),
            SanType::Rfc822Name("ops@example.org".try_into()?),
            SanType::IpAddress("10.0.0.1".parse()?),
            SanType::IpAddress("2001:db8::1".parse()?),
        ],
        false,
        vec![KeyUsagePurpose::DigitalSignature],
    )?;
    let a = Certificate::parse(pem.as_bytes())?;
    let b = Certificate::parse(&der)?;
    assert!(a == b);
    assert_eq!(a.der(), der.as_slice());
    assert_eq!(a.subject().first("2.5.4.3"), Some("operator"));
    // RFC 4514 prints the RDNs in reverse certificate order.
    let attrs: Vec<_> = a.subject().attributes().collect();
    assert_eq!(attrs.len(), 2);
    let printed: Vec<String> = attrs
        .iter()
        .rev()
        .map(|(oid, v)| format!("{}={v}", if *oid == "2.5.4.3" { "CN" } else { "O" }))
        .collect();
    assert_eq!(a.subject().to_rfc4514(), printed.join(","));
    assert_eq!(
        DistinguishedName::parse(&a.subject().to_rfc4514())?,
        *a.subject()
    );
    assert_eq!(a.dns_names(), ["api.example.org"]);
    assert_eq!(a.emails(), ["ops@example.org"]);
    assert_eq!(a.ip_addresses(), ["10.0.0.1", "2001:db8::1"]);
    assert_eq!(a.spiffe_id(), Some("spiffe://prod.example.org/ns/ops"));
    assert!(a.is_svid() && a.client_auth() && !a.is_ca());
    assert_eq!(a.fingerprint_hex().len(), 64);
    assert_eq!(a.to_pem(), pem.replace("\r\n", "\n"));
    Ok(())
}

#[test]
fn two_uri_sans_give_no_spiffe_id_and_a_ca_is_no_svid() -> R<()> {
    let (pem, _) = make(
        &[(DnType::CommonName, "x")],
        vec![
            SanType::URI("spiffe://a.org/x".try_into()?),
            SanType::URI("spiffe://a.org/y".try_into()?),
        ],
        false,
        vec![KeyUsagePurpose::DigitalSignature],
    )?;
    let c = Certificate::parse(pem.as_bytes())?;
    assert_eq!(c.uris().len(), 2);
    assert_eq!(c.spiffe_id(), None);
    assert!(!c.is_svid());
    let (pem, _) = make(
        &[(DnType::CommonName, "x")],
        vec![SanType::URI("spiffe://a.org/x".try_into()?)],
        true,
        vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ],
    )?;
    let c = Certificate::parse(pem.as_bytes())?;
    assert!(c.spiffe_id().is_some() && c.is_ca() && !c.is_svid());
    Ok(())
}

#[test]
fn nuls_are_kept_and_never_match() -> R<()> {
    let (pem, _) = make(
        &[(DnType::CommonName, "admin\0.evil")],
        vec![],
        false,
        vec![],
    )?;
    let c = Certificate::parse(pem.as_bytes())?;
    assert_eq!(c.subject().values("2.5.4.3"), vec!["admin\0.evil"]);
    assert!(!c.subject().matches_values("2.5.4.3", &["admin"]));
    assert!(!c.subject().matches_values("2.5.4.3", &["admin.evil"]));
    assert_eq!(c.subject().to_rfc4514(), "CN=admin\\00.evil");
    // rcgen cannot repeat a type; duplicates come from the RFC 4514 side.
    let dup = DistinguishedName::parse("CN=admin,CN=alice")?;
    assert_eq!(dup.values("2.5.4.3"), vec!["alice", "admin"]);
    assert!(!dup.matches_values("2.5.4.3", &["alice"]));
    Ok(())
}

#[test]
fn refuses_malformed_input_with_certificate_errors() -> R<()> {
    let (pem, der) = make(&[(DnType::CommonName, "x")], vec![], false, vec![])?;
    let mut trailing = der.clone();
    trailing.push(0);
    let key = KeyPair::generate()?;
    let inputs: Vec<Vec<u8>> = vec![
        vec![],
        der[..der.len() - 1].to_vec(),
        trailing,
        key.serialize_pem().into_bytes(),
        key.serialize_der(),
        pem.replace("-----END CERTIFICATE-----", "").into_bytes(),
        vec![0x30; 70_000],
        b"not a certificate".to_vec(),
    ];
    for input in inputs {
        assert!(matches!(
            Certificate::parse(&input),
            Err(Error::Certificate(_))
        ));
    }
    Ok(())
}

proptest! {
    #[test]
    fn any_value_round_trips_through_rfc4514(values in proptest::collection::vec(any::<String>(), 1..4)) {
        let text: String = values
            .iter()
            .map(|v| {
                let d = DistinguishedName::from_rdns(vec![vec![
                    hanami_guard_core::identity::Attribute::text("2.5.4.3", v.clone()),
                ]]);
                d.to_rfc4514()
            })
            .collect::<Vec<_>>()
            .join(",");
        let parsed = DistinguishedName::parse(&text);
        prop_assert!(parsed.is_ok(), "{text:?}");
        let parsed = parsed.unwrap_or_default();
        let mut got: Vec<&str> = parsed.values("2.5.4.3");
        got.reverse();
        let want: Vec<&str> = values.iter().map(String::as_str).collect();
        prop_assert_eq!(got, want);
    }

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), text in ".{0,200}") {
        let _ = Certificate::parse(&bytes);
        let _ = Certificate::parse_chain(&bytes);
        let _ = xfcc::parse(&bytes);
        let _ = xfcc::parse(text.as_bytes());
        let _ = DistinguishedName::parse(&text);
        let _ = SpiffeId::parse(&text);
    }

    #[test]
    fn accepted_spiffe_ids_follow_the_spec(td in "[a-z0-9._-]{1,20}", segs in proptest::collection::vec("[a-zA-Z0-9._-]{1,10}", 0..5)) {
        let id = format!("spiffe://{td}{}", segs.iter().map(|s| format!("/{s}")).collect::<String>());
        let ok = segs.iter().all(|s| s != "." && s != "..");
        prop_assert_eq!(SpiffeId::parse(&id).is_ok(), ok);
    }
}

/// Found by the certificate_parse fuzz target: a name attribute with an empty type OID printed
/// as `=#...`, which no RFC 4514 parser reads back. Such a certificate is refused.
#[test]
fn refuses_a_name_attribute_with_an_empty_oid() {
    let input = include_bytes!("../fuzz/corpus/certificate_parse/seed-crash-empty-attribute-oid");
    if let Ok(cert) = Certificate::parse(input) {
        for dn in [cert.subject(), cert.issuer()] {
            assert!(DistinguishedName::parse(&dn.to_rfc4514()).is_ok());
        }
    }
}

proptest! {
    /// The one-pass PEM decoder agrees with the base64 crate whatever the line length.
    #[test]
    fn pem_bodies_decode_like_the_base64_crate(data in proptest::collection::vec(any::<u8>(), 0..300), width in 1usize..80) {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
        let wrapped = b64.as_bytes().chunks(width).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("\r\n");
        let decoded = hanami_guard_core::identity::pem::decode_body(wrapped.as_bytes(), 1000);
        prop_assert_eq!(decoded.ok(), Some(data));
    }
}

/// RFC 5280 4.2: an extension appears at most once. Short and long OIDs, repeated or only
/// alike (the same first seven bytes), each way the parse compares them.
#[test]
fn an_extension_given_twice_is_refused() -> R<()> {
    use rcgen::CustomExtension;
    let with = |extensions: Vec<CustomExtension>, san: bool| -> R<Vec<u8>> {
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, "x");
        if san {
            p.subject_alt_names = vec![SanType::DnsName("a.example".try_into()?)];
        }
        p.custom_extensions = extensions;
        Ok(p.self_signed(&KeyPair::generate()?)?.der().to_vec())
    };
    let ext = |oid: &[u64]| CustomExtension::from_oid_content(oid, vec![0x05, 0x00]);
    let long = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];
    let long_alike = [1, 3, 6, 1, 4, 1, 11129, 2, 4, 3];
    let refused = |der: &[u8]| {
        Certificate::parse(der).is_err_and(|e| {
            e.kind() == "certificate"
                && e.detail(key::CHECK) == Some(&Field::Name(check::REPEATED_EXTENSION))
        })
    };
    // A second subjectAltName (2.5.29.17), beside the one rcgen writes.
    assert!(refused(&with(vec![ext(&[2, 5, 29, 17])], true)?));
    assert!(refused(&with(vec![ext(&long), ext(&long)], false)?));
    assert!(refused(&with(
        vec![ext(&[1, 2, 3]), ext(&[1, 2, 3])],
        false
    )?));
    // Different OIDs, however alike, are fine.
    for extensions in [
        vec![ext(&long), ext(&long_alike)],
        vec![ext(&[1, 2, 3]), ext(&[1, 2, 4]), ext(&long)],
    ] {
        let der = with(extensions, true)?;
        assert!(Certificate::parse(&der).is_ok());
    }
    Ok(())
}
