#![no_main]
//! Fuzz target `frame_parity`: the certificate is read by hand (src/identity/frame.rs,
//! src/identity/dn, the extension values in src/identity/cert.rs). Whatever `Certificate::parse`
//! accepts, x509-parser's whole-certificate parser must accept too, with the same names
//! (attribute by attribute), validity, serial, SAN names, basicConstraints and keyUsage: the
//! hand-written reading may be stricter (DER only), never more lenient.

use hanami_guard_core::identity::{Certificate, DistinguishedName};
use libfuzzer_sys::fuzz_target;
use x509_parser::certificate::X509CertificateParser;
use x509_parser::extensions::{BasicConstraints, GeneralName, KeyUsage, SubjectAlternativeName};
use x509_parser::nom::Parser as _;
use x509_parser::prelude::FromDer;

fuzz_target!(|data: &[u8]| {
    let Ok(cert) = Certificate::parse(data) else {
        return;
    };
    let der = cert.der();
    let (rest, x509) = X509CertificateParser::new()
        .with_deep_parse_extensions(false)
        .parse(der)
        .unwrap_or_else(|e| panic!("accepted here, refused by x509-parser: {e:?}"));
    assert!(rest.is_empty(), "x509-parser leaves {} bytes", rest.len());
    let subject = DistinguishedName::from_x509(x509.subject()).expect("the subject");
    let issuer = DistinguishedName::from_x509(x509.issuer()).expect("the issuer");
    assert_eq!(subject.rdns(), cert.subject().rdns(), "subjects differ");
    assert_eq!(issuer.rdns(), cert.issuer().rdns(), "issuers differ");
    assert_eq!(x509.validity().not_before.timestamp(), cert.not_before());
    assert_eq!(x509.validity().not_after.timestamp(), cert.not_after());
    let serial = x509.raw_serial();
    let hex: String = serial.iter().map(|b| format!("{b:02x}")).collect();
    if serial.first().is_some_and(|b| b & 0x80 == 0) {
        // A positive serial (or zero): the same number, leading zeros aside.
        let digits = |s: &str| match s.trim_start_matches('0') {
            "" => "0".to_owned(),
            t => t.to_owned(),
        };
        assert_eq!(digits(&hex), digits(cert.serial_hex()));
    }
    let mut dns = Vec::new();
    let mut uris = Vec::new();
    let mut is_ca = false;
    let mut key_usage = None;
    for ext in x509.extensions() {
        if ext.oid.as_bytes() == [0x55, 0x1d, 0x13] {
            let (_, bc) = BasicConstraints::from_der(ext.value).expect("the basicConstraints");
            is_ca = bc.ca;
        }
        if ext.oid.as_bytes() == [0x55, 0x1d, 0x0f] {
            let (_, ku) = KeyUsage::from_der(ext.value).expect("the keyUsage");
            key_usage = Some(ku.flags);
        }
        if ext.oid.as_bytes() == [0x55, 0x1d, 0x11] {
            let (_, san) = SubjectAlternativeName::from_der(ext.value).expect("the SAN");
            for name in &san.general_names {
                match name {
                    GeneralName::DNSName(s) => dns.push(s.to_string()),
                    GeneralName::URI(s) => uris.push(s.to_string()),
                    _ => {}
                }
            }
        }
    }
    assert_eq!(is_ca, cert.is_ca(), "basicConstraints differ");
    assert_eq!(key_usage, cert.key_usage_bits(), "keyUsage differs");
    assert_eq!(dns, cert.dns_names().iter().map(|s| s.to_string()).collect::<Vec<_>>());
    assert_eq!(uris, cert.uris().iter().map(|s| s.to_string()).collect::<Vec<_>>());
});
