//! Ambiguous names against policies, with rcgen certificates decided on in place: an allow
//! reads a name strictly, a deny reads it every way it can be read (wide folding of values,
//! every URI SAN leniently, DNS names without a trailing dot or through a wildcard). And a name
//! read from DER (`OpenSSL::X509::Name#to_der`) reads as the certificate's own subject does.

use hanami_guard_core::identity::{Certificate, DistinguishedName};
use hanami_guard_core::policy::{OwnedIdentity, Policy};
use rcgen::{CertificateParams, DnType, DnValue, KeyPair, SanType};

type R<T> = Result<T, Box<dyn std::error::Error>>;

const POLICY: &str = r#"
version: 1
rules:
  - id: kubelet
    effect: allow
    actions: [deploy]
    resources: [worker]
    principals: [{ subject: { CN: kubelet } }]
  - id: ops
    effect: allow
    actions: [deploy]
    resources: [worker]
    principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/**" }]
  - id: anyone-reads
    effect: allow
    actions: [read]
    resources: [reports]
    principals: ["*"]
  - id: no-contractors
    effect: deny
    actions: ["*"]
    resources: [reports, worker]
    principals:
      - subject: { OU: Contractors }
      - spiffe_id: "spiffe://prod.example.org/ns/contractors/**"
      - dns_name: evil.example.org
"#;

fn cert(dn: &[(DnType, DnValue)], sans: Vec<SanType>) -> R<Certificate> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    for (t, v) in dn {
        p.distinguished_name.push(t.clone(), v.clone());
    }
    p.subject_alt_names = sans;
    let key = KeyPair::generate()?;
    let c = p.self_signed(&key)?;
    Ok(Certificate::parse(c.der())?)
}

fn utf8(s: &str) -> DnValue {
    DnValue::Utf8String(s.to_owned())
}

fn rule(p: &Policy, c: &Certificate, action: &str, resource: &str) -> Option<String> {
    let d = p.decide(Some(c), action, resource);
    d.rule.and_then(|i| p.rule_id(i)).map(str::to_owned)
}

#[test]
fn look_alike_values_meet_denies_but_not_allows() -> R<()> {
    let p = Policy::parse(POLICY, "t.yml")?;
    for ou in [
        "Contractors\u{A0}",
        "Contr\u{AD}actors",
        "\u{FF23}\u{FF4F}\u{FF4E}\u{FF54}\u{FF52}\u{FF41}\u{FF43}\u{FF54}\u{FF4F}\u{FF52}\u{FF53}",
        "Con\u{200B}tractors",
        "Contractors\u{0}.example",
        "\u{FF23}ontractors\u{0}x",
    ] {
        let c = cert(&[(DnType::OrganizationalUnitName, utf8(ou))], vec![])?;
        assert_eq!(
            rule(&p, &c, "read", "reports").as_deref(),
            Some("no-contractors"),
            "{ou:?}"
        );
    }
    // A BMPString value is decoded before it is folded.
    let bmp = cert(
        &[(
            DnType::OrganizationalUnitName,
            DnValue::BmpString("CONTRACTORS".try_into()?),
        )],
        vec![],
    )?;
    assert_eq!(
        rule(&p, &bmp, "read", "reports").as_deref(),
        Some("no-contractors")
    );
    let kelvin = cert(&[(DnType::CommonName, utf8("\u{212A}ubelet"))], vec![])?;
    assert_eq!(rule(&p, &kelvin, "deploy", "worker"), None);
    let plain = cert(&[(DnType::CommonName, utf8("Kubelet"))], vec![])?;
    assert_eq!(
        rule(&p, &plain, "deploy", "worker").as_deref(),
        Some("kubelet")
    );
    Ok(())
}

#[test]
fn every_uri_san_meets_spiffe_denies() -> R<()> {
    let p = Policy::parse(POLICY, "t.yml")?;
    let cn = [(DnType::CommonName, utf8("w"))];
    for uris in [
        vec![
            "spiffe://prod.example.org/ns/ops/a",
            "spiffe://prod.example.org/ns/contractors/b",
        ],
        vec!["SPIFFE://PROD.EXAMPLE.ORG/ns/contractors/b"],
        vec!["spiffe://prod.example.org/ns/contractors/b/"],
        vec!["spiffe://prod.example.org/ns/%63ontractors/b"],
        vec!["spiffe://prod.example.org\\ns\\contractors\\b"],
    ] {
        let sans = uris
            .iter()
            .map(|u| Ok(SanType::URI((*u).try_into()?)))
            .collect::<R<Vec<_>>>()?;
        let c = cert(&cn, sans)?;
        assert_eq!(c.spiffe_id(), None, "{uris:?}");
        assert_eq!(
            rule(&p, &c, "read", "reports").as_deref(),
            Some("no-contractors"),
            "{uris:?}"
        );
    }
    let ops = cert(
        &cn,
        vec![SanType::URI(
            "spiffe://prod.example.org/ns/ops/a".try_into()?,
        )],
    )?;
    assert_eq!(rule(&p, &ops, "deploy", "worker").as_deref(), Some("ops"));
    let ops_slash = cert(
        &cn,
        vec![SanType::URI(
            "spiffe://prod.example.org/ns/ops/a/".try_into()?,
        )],
    )?;
    assert_eq!(rule(&p, &ops_slash, "deploy", "worker"), None);
    Ok(())
}

#[test]
fn dns_names_meet_denies_without_their_trailing_dot() -> R<()> {
    let p = Policy::parse(POLICY, "t.yml")?;
    let cn = [(DnType::CommonName, utf8("w"))];
    for dns in ["evil.example.org.", "EVIL.example.org", "*.example.org"] {
        let c = cert(&cn, vec![SanType::DnsName(dns.try_into()?)])?;
        assert_eq!(
            rule(&p, &c, "read", "reports").as_deref(),
            Some("no-contractors"),
            "{dns}"
        );
    }
    let other = cert(
        &cn,
        vec![SanType::DnsName("*.evil.example.org".try_into()?)],
    )?;
    assert_eq!(
        rule(&p, &other, "read", "reports").as_deref(),
        Some("anyone-reads")
    );
    Ok(())
}

#[test]
fn a_name_read_from_der_reads_as_the_certificate_subject() -> R<()> {
    let c = cert(
        &[
            (DnType::OrganizationName, utf8("MyOrg")),
            (
                DnType::OrganizationalUnitName,
                DnValue::BmpString("Contractors".try_into()?),
            ),
        ],
        vec![],
    )?;
    // The subject Name is the sixth element of the TBSCertificate; find it by re-encoding.
    let subject_der = subject_der(c.der()).ok_or("no subject in the test certificate")?;
    let dn = DistinguishedName::from_der(subject_der)?;
    assert!(dn == *c.subject());
    assert_eq!(dn.first("2.5.4.11"), Some("Contractors"));
    let mut trailing = subject_der.to_vec();
    trailing.push(0);
    assert!(DistinguishedName::from_der(&trailing).is_err());
    assert!(DistinguishedName::from_der(&subject_der[..subject_der.len() - 1]).is_err());
    assert!(DistinguishedName::from_der(b"\x30\x03junk").is_err());
    let id = OwnedIdentity {
        subject: dn
            .attributes()
            .map(|(o, v)| (o.to_owned(), v.to_owned()))
            .collect(),
        ..Default::default()
    };
    let p = Policy::parse(POLICY, "t.yml")?;
    assert!(!p.allowed(Some(&id), "read", "reports"));
    Ok(())
}

/// The DER of the subject Name of a certificate (version, serial, signature, issuer, validity,
/// subject), walked with a minimal TLV reader.
fn subject_der(cert: &[u8]) -> Option<&[u8]> {
    fn tlv(b: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
        let (&l, rest) = b.get(1..)?.split_first()?;
        let (len, hdr) = if l < 0x80 {
            (l as usize, 2)
        } else {
            let n = (l & 0x7f) as usize;
            let len = rest
                .get(..n)?
                .iter()
                .fold(0usize, |a, &x| a << 8 | x as usize);
            (len, 2 + n)
        };
        let whole = b.get(..hdr + len)?;
        Some((whole, &whole[hdr..], &b[hdr + len..]))
    }
    let (_, cert_body, _) = tlv(cert)?;
    let (_, tbs, _) = tlv(cert_body)?;
    let mut rest = tbs;
    if rest.first() == Some(&0xa0) {
        rest = tlv(rest)?.2;
    }
    for _ in 0..4 {
        rest = tlv(rest)?.2; // serial, signature, issuer, validity
    }
    Some(tlv(rest)?.0)
}
