#![no_main]
//! Fuzz target `audit_scan`: any bytes as a Ruby file through the audit's per-file analysis
//! (Prism parse, the passes over the tree, inline ignores, fingerprints) must never panic, and
//! every finding must point inside the file: a line within its line count, a column of at least
//! one, a one-line snippet and a fingerprint of 32 hex digits, findings in line order.

use hanami_guard_core::audit;
use libfuzzer_sys::fuzz_target;

/// The scan runs each file on a worker with a large stack (Prism and the tree walk recurse once
/// per level of nesting); so does the target, or deep nesting would overflow libFuzzer's main
/// thread where the real scan never runs.
const STACK_BYTES: usize = 256 << 20;

fuzz_target!(|data: &[u8]| {
    let source = data.to_vec();
    let result = std::thread::Builder::new()
        .stack_size(STACK_BYTES)
        .spawn(move || {
            let result = audit::analyze_source("app/actions/fuzz.rb", &source);
            (source, result)
        })
        .expect("spawn")
        .join();
    let Ok((source, result)) = result else {
        panic!("analyze_source panicked");
    };

    if memchr_nul(&source) {
        assert!(result.findings.is_empty());
        assert!(result.problem.is_some());
        return;
    }
    let lines = source.iter().filter(|&&b| b == b'\n').count() + 1;
    assert_eq!(result.lines, lines);
    let mut last = 0;
    for f in &result.findings {
        assert!(f.line >= 1 && f.line <= lines, "line {} of {lines}", f.line);
        assert!(f.line >= last, "findings out of order");
        last = f.line;
        assert!(f.column >= 1);
        assert_eq!(f.path, "app/actions/fuzz.rb");
        assert!(!f.message.is_empty());
        assert!(!f.snippet.contains(['\n', '\r']));
        assert_eq!(f.fingerprint.len(), 32);
        assert!(f.fingerprint.bytes().all(|b| b.is_ascii_hexdigit()));
    }
});

fn memchr_nul(source: &[u8]) -> bool {
    source.contains(&0)
}
