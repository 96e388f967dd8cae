#![no_main]
//! Fuzz target `dn_parse`: RFC 4514 parsing must never panic, and whatever parses must print
//! and parse back to an equal name (so `to_s` can never be read as a different identity).

use hanami_guard_core::identity::DistinguishedName;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(dn) = DistinguishedName::parse(text) {
        let printed = dn.to_rfc4514();
        let back = DistinguishedName::parse(&printed)
            .unwrap_or_else(|e| panic!("printed {printed:?} does not parse: {e}"));
        assert!(
            back == dn,
            "{text:?} printed as {printed:?} parses to a different name"
        );
        assert_eq!(back.to_rfc4514(), printed);
        let _ = dn.canonical_key();
    }
});
