#![no_main]
//! Fuzz target `xfcc`: the XFCC parser must never panic, and every element it returns must hold
//! at least one key, with at most one value for each single-valued key.

use hanami_guard_core::identity::xfcc;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(elements) = xfcc::parse(data) {
        assert!(!elements.is_empty());
        for e in &elements {
            assert!(!e.keys.is_empty());
            let mut sorted = e.keys.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), e.keys.len());
        }
    }
});
