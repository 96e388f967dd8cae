//! The doctor on the machine the tests run on: it reads this process's own /proc and answers
//! the probes with live system calls.

use std::path::PathBuf;

use hanami_guard_core::doctor::{self, Options, Severity, IDS};

fn status_field(name: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or("")
        .trim()
        .to_owned()
}

#[test]
fn a_live_run_agrees_with_what_the_process_reads_itself() {
    let report = doctor::run(&Options {
        root: PathBuf::from("/"),
        env_names: vec!["DATABASE_URL".into(), "HOME".into()],
        roots: vec![],
    })
    .expect("a live run");
    for f in &report.findings {
        assert!(IDS.contains(&f.id), "{}", f.id);
        assert!(!f.evidence.is_empty() && !f.fix.is_empty());
    }
    let has = |id: &str| report.findings.iter().any(|f| f.id == id);
    assert_eq!(has("seccomp"), status_field("Seccomp") == "0");
    assert_eq!(has("no-new-privs"), status_field("NoNewPrivs") == "0");
    let euid: u32 = status_field("Uid")
        .split_whitespace()
        .nth(1)
        .expect("euid")
        .parse()
        .expect("a number");
    assert_eq!(has("root-user"), euid == 0);
    assert!(has("secret-env"));
    // Live probes always answer.
    let probes: Vec<&str> = report.probes.iter().map(|(n, _)| *n).collect();
    assert_eq!(probes, ["openat2", "landlock"]);
    assert!(report.not_checked.iter().all(|(id, _)| *id != "openat2"));
    // Findings come most severe first.
    let severities: Vec<Severity> = report.findings.iter().map(|f| f.severity).collect();
    let mut sorted = severities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(severities, sorted);
    assert_eq!(report.ok(Severity::Info), report.findings.is_empty());
    let high = report.at_or_above(Severity::High);
    assert!(high
        .iter()
        .all(|&i| report.findings[i].severity >= Severity::High));
    assert_eq!(
        high.len(),
        severities.iter().filter(|s| **s >= Severity::High).count()
    );
    for f in &report.findings {
        eprintln!(
            "{:8} {:22} {}\n         {:?}",
            f.severity, f.id, f.title, f.evidence
        );
    }
}

#[test]
fn unknown_severities_are_refused_with_the_valid_ones() {
    let err = Severity::parse("severe").expect_err("unknown").to_string();
    assert!(err.contains("critical, high, medium, low, info"), "{err}");
    assert_eq!(Severity::parse("high").expect("high"), Severity::High);
}

#[test]
fn a_root_that_is_not_a_directory_is_a_configuration_error() {
    let err = doctor::run(&Options {
        root: PathBuf::from("/nonexistent/doctor-root"),
        env_names: vec![],
        roots: vec![],
    })
    .expect_err("not a directory");
    assert!(matches!(err, hanami_guard_core::Error::Configuration(_)));
}
