#![no_main]
//! Fuzz target `root_resolve`. (Being built: see the issue tracker.)

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = data;
});
