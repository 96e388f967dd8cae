#![no_main]
//! Fuzz target `audit_scan`: any bytes as a Ruby file through the audit's per-file analysis
//! (Prism parse, the passes over the tree, inline ignores, fingerprints) must never panic, and
//! every finding must point inside the file: a line within its line count, a column of at least
//! one, a one-line snippet and a fingerprint of 32 hex digits, findings in line order.

use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use hanami_guard_core::audit::{self, FileResult};
use libfuzzer_sys::fuzz_target;

/// The scan runs each file on a worker with a large stack (Prism and the tree walk recurse once
/// per level of nesting); so does the target, or deep nesting would overflow libFuzzer's main
/// thread where the real scan never runs. One worker for the whole run: a thread per input
/// costs more than the analysis under ASan.
const STACK_BYTES: usize = 256 << 20;

struct Worker {
    inputs: Sender<Vec<u8>>,
    results: Receiver<(Vec<u8>, FileResult)>,
}

fn worker() -> &'static Mutex<Worker> {
    static WORKER: OnceLock<Mutex<Worker>> = OnceLock::new();
    WORKER.get_or_init(|| {
        let (inputs, input_rx) = channel::<Vec<u8>>();
        let (result_tx, results) = channel();
        std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn(move || {
                for source in input_rx {
                    let result = audit::analyze_source("app/actions/fuzz.rb", &source);
                    if result_tx.send((source, result)).is_err() {
                        break;
                    }
                }
            })
            .expect("spawn");
        Mutex::new(Worker { inputs, results })
    })
}

fn analyze(data: &[u8]) -> (Vec<u8>, FileResult) {
    let w = worker().lock().expect("worker lock");
    w.inputs.send(data.to_vec()).expect("worker alive");
    // A panic in the worker aborts the process (libFuzzer's panic hook): the crash is reported.
    w.results.recv().expect("worker alive")
}

fuzz_target!(|data: &[u8]| {
    let (source, result) = analyze(data);

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
