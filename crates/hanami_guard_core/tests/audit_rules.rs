//! Each rule against its fixture in spec/fixtures/audit/rules/: every line marked
//! `# expect: RULE` must be reported with that rule, and no other line may be reported. The
//! fixtures hold the look-alikes too (constant strings, allowlist lookups, hanami_guard calls),
//! so a rule that fires too widely fails here as surely as one that misses.

use std::collections::BTreeSet;
use std::path::PathBuf;

use hanami_guard_core::audit::{analyze_source, FileResult, Rule};

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../spec/fixtures/audit/rules")
}

fn expected(source: &str) -> BTreeSet<(usize, String)> {
    source
        .lines()
        .enumerate()
        .flat_map(|(i, line)| {
            line.split("# expect: ")
                .skip(1)
                .flat_map(|rest| rest.split(',').map(|r| (i + 1, r.trim().to_owned())))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Analyzes the fixture `file` (relative to the rules' fixtures) and asserts that exactly the
/// lines marked `# expect: RULE` are reported, each with its rule; returns the analysis.
fn analyze_marked(file: &str) -> FileResult {
    let path = fixtures().join(file);
    let source = std::fs::read_to_string(&path).expect("fixture is readable");
    let result = analyze_source(file, source.as_bytes());
    assert_eq!(result.problem, None, "{file} parses");
    let got: BTreeSet<(usize, String)> = result
        .findings
        .iter()
        .map(|f| (f.line, f.rule.id().to_owned()))
        .collect();
    let want = expected(&source);
    let missed: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "{file}: missed {missed:?}, unexpected {extra:?}"
    );
    result
}

fn check(file: &str) {
    let result = analyze_marked(file);
    for f in &result.findings {
        assert!(!f.snippet.is_empty() && !f.message.is_empty());
        assert!(
            f.rule.fix().contains("HanamiGuard::"),
            "{} fix names the call",
            f.rule.id()
        );
    }
}

#[test]
fn shell_exec() {
    check("shell_exec.rb");
}

#[test]
fn option_injection() {
    check("option_injection.rb");
}

#[test]
fn file_access() {
    check("file_access.rb");
}

#[test]
fn prefix_containment() {
    check("prefix_containment.rb");
}

#[test]
fn dynamic_code() {
    check("dynamic_code.rb");
}

#[test]
fn identity_string_compare() {
    check("identity_string_compare.rb");
}

#[test]
fn unsafe_deserialize() {
    check("unsafe_deserialize.rb");
}

#[test]
fn tls_verify_none() {
    check("tls_verify_none.rb");
}

#[test]
fn missing_authorization() {
    check("missing_authorization.rb");
}

#[test]
fn every_rule_has_a_fixture() {
    for rule in Rule::ALL {
        let file = format!("{}.rb", rule.id().replace('-', "_"));
        assert!(fixtures().join(&file).is_file(), "missing fixture {file}");
    }
}

#[test]
fn an_ignore_comment_with_a_reason_silences_its_rule_on_its_line_only() {
    let source = b"def handle(request, response)\n  authorize! request, :x, 'y'\n  File.read(params[:f]) # hanami_guard:ignore file-access served from a fixed list\n  File.read(params[:g]) # hanami_guard:ignore shell-exec wrong rule\n  File.read(params[:h]) # hanami_guard:ignore file-access\nend\n";
    let r = analyze_source("x.rb", source);
    let lines: Vec<usize> = r.findings.iter().map(|f| f.line).collect();
    assert_eq!(lines, vec![4, 5]);
    assert_eq!(r.ignored, 1);
    assert!(r
        .problem
        .is_some_and(|p| p.contains("needs a rule id and a reason")));
}

#[test]
fn fingerprints_survive_moving_the_line_and_tell_repeats_apart() {
    let a = analyze_source(
        "app/x.rb",
        b"system(\"ls #{params[:a]}\")\nsystem(\"ls #{params[:a]}\")\n",
    );
    let b = analyze_source(
        "app/x.rb",
        b"\n\n# moved\nsystem(\"ls #{params[:a]}\")\n  system(\"ls #{params[:a]}\")\n",
    );
    let fa: Vec<_> = a.findings.iter().map(|f| f.fingerprint.clone()).collect();
    let fb: Vec<_> = b.findings.iter().map(|f| f.fingerprint.clone()).collect();
    assert_eq!(fa.len(), 2);
    assert_ne!(fa[0], fa[1]);
    assert_eq!(fa, fb);
    let other = analyze_source("app/y.rb", b"system(\"ls #{params[:a]}\")\n");
    assert_ne!(other.findings[0].fingerprint, fa[0]);
}

#[test]
fn evasions_through_helpers_blocks_formatting_and_shells() {
    analyze_marked("../evasion.rb");
}

/// Input handed down a chain of helpers, each defined after its caller: the first pass uses
/// what it learns as it goes, so the chain is followed however deep it is (three passes that
/// each learnt one step stopped at the third helper).
#[test]
fn helper_chain_deeper_than_the_pass_limit() {
    let source = b"class Show < Hanami::Action
  def handle(request, response)
    authorize! request, :read, :file
    response.body = step1(request.params[:name])
  end

  def step1(a) = step2(a)
  def step2(b) = step3(b)
  def step3(c) = step4(c)
  def step4(d) = step5(d)

  def step5(e)
    File.read(e)
  end
end
";
    let result = analyze_source("app/actions/show.rb", source);
    let got: Vec<_> = result
        .findings
        .iter()
        .map(|f| (f.line, f.rule.id()))
        .collect();
    assert_eq!(got, vec![(13, "file-access")]);
}

/// The same file scanned with its helpers before the entry point (read before they are
/// learnt) finds the same: the later passes still run when the first pass read too early.
#[test]
fn helper_defined_before_its_caller() {
    let source = b"class Show < Hanami::Action
  def fetch(name)
    File.read(name)
  end

  def handle(request, response)
    authorize! request, :read, :file
    response.body = fetch(request.params[:name])
  end
end
";
    let result = analyze_source("app/actions/show.rb", source);
    let got: Vec<_> = result
        .findings
        .iter()
        .map(|f| (f.line, f.rule.id()))
        .collect();
    assert_eq!(got, vec![(3, "file-access")]);
}

/// `--fail-on`: a report fails at a severity exactly when one of its findings reaches it, and a
/// name outside the four is a configuration error that lists them.
#[test]
fn a_report_fails_at_the_severities_its_findings_reach() {
    use hanami_guard_core::audit::{Report, Severity};

    let result = analyze_marked("tls_verify_none.rb");
    let worst = result
        .findings
        .iter()
        .map(|f| f.severity())
        .max()
        .expect("the fixture has findings");
    // Both answers are reached: the fixture's worst is below the worst there is.
    assert!(
        worst > Severity::Low && worst < Severity::Critical,
        "{worst:?}"
    );
    let report = Report {
        findings: result.findings.clone(),
        ..Report::default()
    };
    for floor in Severity::ALL {
        assert_eq!(report.fails_at(floor), floor <= worst, "{floor:?}");
        assert!(!Report::default().fails_at(floor));
        assert_eq!(Severity::parse(floor.as_str()).ok(), Some(floor));
    }
    for bad in ["severe", "High", "", "info"] {
        let err = Severity::parse(bad).expect_err(bad);
        assert_eq!(err.kind(), "configuration");
        assert!(
            err.to_string().contains("low, medium, high, critical"),
            "{err}"
        );
    }
}

/// A file limit of 0 would skip every file and report nothing: refused, naming the option.
#[test]
fn a_scan_refuses_a_file_limit_of_zero() {
    use hanami_guard_core::audit::{scan, Options};
    use hanami_guard_core::Field;

    let options = Options {
        max_file_bytes: 0,
        ..Options::default()
    };
    let err = scan(&[fixtures()], &options).expect_err("refused");
    assert_eq!(err.kind(), "configuration");
    assert_eq!(err.details(), &[("option", Field::Name("max_file_bytes"))]);
    let report = scan(&[fixtures()], &Options::default()).expect("scans");
    assert!(report.files > 5 && !report.findings.is_empty());
}
