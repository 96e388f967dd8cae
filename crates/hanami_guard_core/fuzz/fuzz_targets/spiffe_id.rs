#![no_main]
//! Fuzz target `spiffe_id`: parsing must never panic; an accepted ID must satisfy the spec's
//! character rules and split consistently into trust domain and path.

use hanami_guard_core::identity::SpiffeId;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(id) = SpiffeId::parse(text) {
        assert_eq!(id.as_str(), text);
        assert!(text.len() <= 2048);
        let td = id.trust_domain();
        assert!(!td.is_empty());
        assert!(td
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)));
        assert_eq!(format!("spiffe://{td}{}", id.path()), text);
        for seg in id.path().split('/').skip(1) {
            assert!(!seg.is_empty() && seg != "." && seg != "..");
            assert!(seg
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)));
        }
        assert!(id.member_of(td));
    }
});
