//! Scanning trees: which files are read, which are skipped and said so, and inputs built to
//! crash a scanner (deep nesting, huge files, binary files, bad encodings, syntax errors).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use hanami_guard_core::audit::{scan, Options, Rule};

const VULNERABLE: &str =
    "def handle(request, response)\n  system(\"ls #{request.params[:dir]}\")\nend\n";

fn write(dir: &Path, rel: &str, body: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(rel);
    fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
    fs::write(&path, body).expect("write");
    path
}

fn rules(report: &hanami_guard_core::audit::Report) -> Vec<(String, Rule)> {
    report
        .findings
        .iter()
        .map(|f| (f.path.clone(), f.rule))
        .collect()
}

#[test]
fn a_symlink_out_of_the_tree_is_not_followed_and_is_reported() {
    let outside = tempfile::tempdir().expect("tempdir");
    write(outside.path(), "evil.rb", VULNERABLE);
    write(outside.path(), "dir/evil.rb", VULNERABLE);
    let app = tempfile::tempdir().expect("tempdir");
    write(app.path(), "app/ok.rb", "puts 1\n");
    std::os::unix::fs::symlink(
        outside.path().join("evil.rb"),
        app.path().join("app/link.rb"),
    )
    .expect("symlink");
    std::os::unix::fs::symlink(outside.path().join("dir"), app.path().join("app/linkdir"))
        .expect("symlink");
    let report = scan(&[app.path().join("app")], &Options::default()).expect("scan");
    assert!(report.findings.is_empty(), "{:?}", report.findings);
    assert_eq!(report.files, 1);
    let skipped: HashSet<_> = report
        .skipped
        .iter()
        .map(|s| s.path.rsplit('/').next().unwrap_or_default().to_owned())
        .collect();
    assert!(
        skipped.contains("link.rb") && skipped.contains("linkdir"),
        "{:?}",
        report.skipped
    );
}

#[test]
fn a_symlink_inside_the_tree_is_scanned_once() {
    let app = tempfile::tempdir().expect("tempdir");
    write(app.path(), "lib/real.rb", VULNERABLE);
    std::os::unix::fs::symlink(
        app.path().join("lib/real.rb"),
        app.path().join("lib/alias.rb"),
    )
    .expect("symlink");
    let report = scan(&[app.path().to_path_buf()], &Options::default()).expect("scan");
    assert_eq!(report.files, 1);
    assert_eq!(
        report.findings.len(),
        2,
        "shell-exec and missing-authorization: {:?}",
        report.findings
    );
}

#[test]
fn binary_non_utf8_and_broken_files_are_reported_and_do_not_stop_the_scan() {
    let app = tempfile::tempdir().expect("tempdir");
    write(app.path(), "app/a_binary.rb", b"\x7fELF\x00\x00\x01");
    write(
        app.path(),
        "app/b_latin1.rb",
        b"# caf\xe9\nsystem(\"ls #{params[:x]}\")\n",
    );
    write(
        app.path(),
        "app/c_syntax.rb",
        "def handle(\n  system(\"ls #{params[:x]}\"\nclass end end (((\n",
    );
    write(app.path(), "app/d_ok.rb", VULNERABLE);
    let report = scan(&[app.path().to_path_buf()], &Options::default()).expect("scan");
    let reasons: Vec<_> = report
        .skipped
        .iter()
        .map(|s| {
            (
                s.path.rsplit('/').next().unwrap_or_default().to_owned(),
                s.reason.clone(),
            )
        })
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(p, r)| p == "a_binary.rb" && r.contains("binary")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|(p, _)| p == "b_latin1.rb"),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(p, r)| p == "c_syntax.rb" && r.contains("syntax error")),
        "{reasons:?}"
    );
    let found = rules(&report);
    assert!(
        found
            .iter()
            .any(|(p, r)| p.ends_with("b_latin1.rb") && *r == Rule::ShellExec),
        "{found:?}"
    );
    assert!(
        found
            .iter()
            .any(|(p, r)| p.ends_with("d_ok.rb") && *r == Rule::ShellExec),
        "{found:?}"
    );
    assert_eq!(report.files, 3, "the binary file is not counted as scanned");
}

#[test]
fn ten_thousand_nested_expressions_do_not_overflow_the_stack() {
    let app = tempfile::tempdir().expect("tempdir");
    for (name, open, close, depth) in [
        ("arrays.rb", "[", "]", 10_000),
        ("parens.rb", "(", ")", 10_000),
        ("calls.rb", "f(", ")", 10_000),
        ("deeper_than_prism_allows.rb", "[", "]", 100_000),
    ] {
        let body = format!(
            "x = {}params[:a]{}\nsystem(\"ls #{{x}}\")\n",
            open.repeat(depth),
            close.repeat(depth)
        );
        write(app.path(), name, body);
    }
    let mut nested_ifs = String::new();
    for _ in 0..3_000 {
        nested_ifs.push_str("if a\n");
    }
    nested_ifs.push_str("system(\"ls #{params[:x]}\")\n");
    for _ in 0..3_000 {
        nested_ifs.push_str("end\n");
    }
    write(app.path(), "ifs.rb", nested_ifs);
    let report = scan(&[app.path().to_path_buf()], &Options::default()).expect("scan");
    assert_eq!(report.files, 5);
    let found = rules(&report);
    for file in ["ifs.rb", "arrays.rb"] {
        assert!(
            found
                .iter()
                .any(|(p, r)| p.ends_with(file) && *r == Rule::ShellExec),
            "{file}: {found:?}"
        );
    }
}

#[test]
fn a_five_megabyte_file_is_scanned_and_a_larger_than_limit_one_is_skipped() {
    let app = tempfile::tempdir().expect("tempdir");
    let mut big = String::with_capacity(5 << 20);
    let mut i = 0;
    while big.len() < 5 << 20 {
        big.push_str(&format!("def m{i}(a)\n  b = a + {i}\n  b.to_s\nend\n"));
        i += 1;
    }
    big.push_str(VULNERABLE);
    write(app.path(), "big.rb", &big);
    write(app.path(), "medium.rb", "x = 1\n".repeat(100_000));
    let options = Options {
        max_file_bytes: 6 << 20,
        ..Options::default()
    };
    let small_limit = Options {
        max_file_bytes: 1 << 20,
        ..Options::default()
    };
    let report = scan(&[app.path().to_path_buf()], &options).expect("scan");
    assert_eq!(report.files, 2);
    assert!(rules(&report)
        .iter()
        .any(|(p, r)| p.ends_with("big.rb") && *r == Rule::ShellExec));
    let report = scan(&[app.path().to_path_buf()], &small_limit).expect("scan");
    assert_eq!(report.files, 1);
    assert!(report
        .skipped
        .iter()
        .any(|s| s.path.ends_with("big.rb") && s.reason.contains("larger than")));
}

#[test]
fn a_missing_path_is_an_error_that_names_it() {
    let app = tempfile::tempdir().expect("tempdir");
    let err = scan(&[app.path().join("nope")], &Options::default()).expect_err("missing");
    assert_eq!(err.errno(), Some(libc::ENOENT));
    assert!(err.to_string().contains("nope"));
}

#[test]
fn a_missing_path_after_a_scanned_tree_is_still_an_error() {
    // The workers start on the first tree's files while the walk goes on to the missing path:
    // the scan must stop them and report the error, not hang or return a partial report.
    let app = tempfile::tempdir().expect("tempdir");
    for i in 0..200 {
        write(app.path(), &format!("app/f{i}.rb"), VULNERABLE);
    }
    for threads in [1, 2, 8] {
        let err = scan(
            &[app.path().join("app"), app.path().join("nope")],
            &Options {
                threads,
                ..Options::default()
            },
        )
        .expect_err("missing");
        assert_eq!(err.errno(), Some(libc::ENOENT));
        assert!(err.to_string().contains("nope"));
    }
}

#[test]
fn files_reached_by_two_roots_are_scanned_once_in_walk_order() {
    let app = tempfile::tempdir().expect("tempdir");
    for i in 0..30 {
        write(app.path(), &format!("app/f{i:02}.rb"), VULNERABLE);
    }
    // Canonical, as the named file's path is: the walk keys files by their real path.
    let base = app.path().canonicalize().expect("canonical");
    let report = scan(
        &[base.join("app"), base.join("app/f07.rb"), base.join("app")],
        &Options {
            threads: 3,
            ..Options::default()
        },
    )
    .expect("scan");
    assert_eq!(report.files, 30);
    assert_eq!(report.findings.len(), 60);
    let paths: Vec<&str> = report.findings.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort_unstable();
    assert_eq!(paths, sorted);
}

#[test]
fn a_file_reached_through_a_symlinked_root_and_by_name_is_scanned_once() {
    let app = tempfile::tempdir().expect("tempdir");
    write(app.path(), "app/a.rb", VULNERABLE);
    write(app.path(), "app/b.rb", VULNERABLE);
    std::os::unix::fs::symlink(app.path().join("app"), app.path().join("alias")).expect("symlink");
    let report = scan(
        &[
            app.path().join("alias"),
            app.path().join("app/a.rb"),
            app.path().join("app"),
        ],
        &Options::default(),
    )
    .expect("scan");
    assert_eq!(report.files, 2, "{:?}", report.findings);
    assert_eq!(report.findings.len(), 4);
}

#[test]
fn the_baseline_silences_exactly_the_findings_it_lists() {
    let app = tempfile::tempdir().expect("tempdir");
    write(app.path(), "a.rb", VULNERABLE);
    write(app.path(), "b.rb", VULNERABLE);
    let first = scan(&[app.path().to_path_buf()], &Options::default()).expect("scan");
    assert_eq!(first.findings.len(), 4);
    let baseline = first
        .findings
        .iter()
        .filter(|f| f.path.ends_with("a.rb"))
        .map(|f| f.fingerprint.clone())
        .collect();
    let second = scan(
        &[app.path().to_path_buf()],
        &Options {
            baseline,
            ..Options::default()
        },
    )
    .expect("scan");
    assert_eq!(second.baselined, 2);
    assert!(second.findings.iter().all(|f| f.path.ends_with("b.rb")));
    assert_eq!(second.findings.len(), 2);
}

#[test]
fn threads_find_the_same_as_one_thread() {
    let app = tempfile::tempdir().expect("tempdir");
    for i in 0..40 {
        write(
            app.path(),
            &format!("app/f{i}.rb"),
            if i % 3 == 0 { VULNERABLE } else { "puts 1\n" },
        );
    }
    let one = scan(
        &[app.path().to_path_buf()],
        &Options {
            threads: 1,
            ..Options::default()
        },
    )
    .expect("scan");
    let many = scan(
        &[app.path().to_path_buf()],
        &Options {
            threads: 4,
            ..Options::default()
        },
    )
    .expect("scan");
    assert_eq!(one.findings, many.findings);
    assert_eq!(one.files, 40);
    assert_eq!(one.findings.len(), 28);
}

#[test]
fn a_directory_swapped_for_a_symlink_during_the_scan_is_never_followed_out_of_the_tree() {
    // `app/dir` and `app/link` trade places again and again (renameat2 RENAME_EXCHANGE): one is
    // the real directory, the other a symlink to a directory outside the tree holding a file of
    // the same name. Whatever the walk saw, a file must never be read through the symlink.
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let outside = tempfile::tempdir().expect("tempdir");
    write(
        outside.path(),
        "x.rb",
        "def handle(request, response)\n  system(\"OUTSIDE #{request.params[:x]}\")\nend\n",
    );
    let app = tempfile::tempdir().expect("tempdir");
    for i in 0..30 {
        write(app.path(), &format!("app/dir/f{i}.rb"), VULNERABLE);
    }
    write(
        app.path(),
        "app/dir/x.rb",
        "def handle(request, response)\n  system(\"INSIDE #{request.params[:x]}\")\nend\n",
    );
    std::os::unix::fs::symlink(outside.path(), app.path().join("app/link")).expect("symlink");

    let stop = Arc::new(AtomicBool::new(false));
    let swapper = {
        let (stop, a, b) = (
            Arc::clone(&stop),
            app.path().join("app/dir"),
            app.path().join("app/link"),
        );
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                renameat_with(CWD, &a, CWD, &b, RenameFlags::EXCHANGE).expect("exchange");
                swaps += 1;
            }
            swaps
        })
    };
    let started = std::time::Instant::now();
    let mut scans = 0;
    let mut refused = 0;
    while started.elapsed() < std::time::Duration::from_secs(3) {
        let report = scan(&[app.path().join("app")], &Options::default()).expect("scan");
        assert!(
            report
                .findings
                .iter()
                .all(|f| !f.snippet.contains("OUTSIDE")),
            "read through the symlink: {:?}",
            report.findings
        );
        refused += report
            .skipped
            .iter()
            .filter(|s| s.reason.contains("symlink replaced"))
            .count();
        scans += 1;
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = swapper.join().expect("swapper");
    assert!(scans > 10 && swaps > 1000, "{scans} scans, {swaps} swaps");
    eprintln!("{scans} scans, {swaps} swaps, {refused} opens refused mid-swap");
}
