#![no_main]
//! Fuzz target `certificate_parse`: PEM/DER certificate parsing must never panic, and every name
//! it reads must print as RFC 4514 text that parses back to an equal name.

use hanami_guard_core::identity::{Certificate, DistinguishedName};
use libfuzzer_sys::fuzz_target;

fn check(cert: &Certificate) {
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
    if let Ok(cert) = Certificate::parse(data) {
        check(&cert);
    }
    if let Ok(chain) = Certificate::parse_chain(data) {
        assert!(!chain.is_empty());
        chain.iter().for_each(check);
    }
});
