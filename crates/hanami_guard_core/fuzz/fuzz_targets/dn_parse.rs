#![no_main]
//! Fuzz target `dn_parse`. (Being built: see the issue tracker.)

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
