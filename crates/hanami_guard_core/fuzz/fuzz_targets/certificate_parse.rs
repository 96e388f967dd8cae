#![no_main]
//! Fuzz target `certificate_parse`: PEM/DER certificate parsing must never panic, and every name
//! it reads must print as RFC 4514 text that parses back to an equal name (one subject value
//! read straight from the DER is the one the decoded name gives), and every PEM body
//! must decode as the `base64` crate (strict, canonical) decodes it with the whitespace taken out;
//! the strict PEM reading of a forwarded header accepts only what the lenient one does.

use base64::Engine as _;
use hanami_guard_core::identity::{pem, Certificate, DistinguishedName};
use libfuzzer_sys::fuzz_target;

/// The PEM decoder (a line fast path on SIMD, a careful path for the rest) against the
/// reference: the same bytes, or both refuse.
fn check_pem(data: &[u8]) {
    for block in pem::blocks(data).map_while(Result::ok) {
        let ours = pem::decode_body(block.body, pem::MAX_CERTIFICATE_DER).ok();
        let text: Vec<u8> = block
            .body
            .iter()
            .copied()
            .filter(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
            .collect();
        let reference = base64::engine::general_purpose::STANDARD
            .decode(&text)
            .ok()
            .filter(|d| d.len() <= pem::MAX_CERTIFICATE_DER);
        assert_eq!(ours, reference, "body {:?}", String::from_utf8_lossy(block.body));
    }
}

/// Types a subject is read by, known and not.
const OIDS: [&str; 4] = ["2.5.4.3", "2.5.4.10", "2.5.4.6", "1.2.3.4"];

fn check(cert: &Certificate) {
    // One value read straight from the DER (before the name is decoded), then from the
    // decoded name: the same.
    let direct: Vec<_> = OIDS.iter().map(|oid| cert.subject_first(oid)).collect();
    for (oid, value) in OIDS.iter().zip(&direct) {
        assert_eq!(value.as_deref(), cert.subject().first(oid), "subject {oid}");
        assert_eq!(cert.subject_first(oid), *value);
    }
    for dn in [cert.subject(), cert.issuer()] {
        let text = dn.to_rfc4514();
        let back = DistinguishedName::parse(&text)
            .unwrap_or_else(|e| panic!("to_rfc4514 output {text:?} does not parse: {e}"));
        assert!(back == *dn, "round trip changed the name: {text:?}");
    }
    let _ = cert.fingerprint_hex();
    let _ = cert.is_svid();
    let _ = cert.key_usage();
    let _ = cert.to_pem();
    if let Some(id) = cert.spiffe_id() {
        assert_eq!(cert.uris().len(), 1);
        assert!(id.starts_with("spiffe://"));
    }
}

fuzz_target!(|data: &[u8]| {
    check_pem(data);
    if let Ok(cert) = Certificate::parse(data) {
        check(&cert);
    }
    let chain = Certificate::parse_chain(data);
    if let Ok(chain) = &chain {
        assert!(!chain.is_empty());
        chain.iter().for_each(check);
    }
    // The strict reading (a forwarded header: CERTIFICATE blocks and whitespace only) accepts
    // nothing the lenient one refuses, and reads the same certificates from it.
    if let Ok(only) = Certificate::parse_pem_only(data) {
        let Ok(chain) = &chain else {
            panic!("parse_pem_only accepted what parse_chain refuses");
        };
        assert_eq!(only.len(), chain.len());
        assert!(only.iter().zip(chain).all(|(a, b)| a.der() == b.der()));
        assert!(data.is_ascii());
    }
});
