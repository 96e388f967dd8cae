//! A refused policy file names the line to fix: in the error's `line` field (for code) and in
//! its message (for people), for YAML the reader refuses and for every refusal of the loader.

use hanami_guard_core::error::{key, Field};
use hanami_guard_core::policy::Policy;
use hanami_guard_core::Error;

const RULE: &str = "  - id: r1\n    effect: allow\n    actions: [deploy]\n    resources: [worker]\n    principals: [\"*\"]\n";

/// `version: 1`, `rules:`, one good rule (lines 3-7), then `tail`: the first line of `tail` is
/// line 8.
fn after_good_rule(tail: &str) -> String {
    format!("version: 1\nrules:\n{RULE}{tail}")
}

fn int(e: &Error, k: &str) -> Option<u64> {
    match e.detail(k) {
        Some(Field::Int(n)) => Some(*n),
        _ => None,
    }
}

fn text(e: &Error, k: &str) -> Option<String> {
    match e.detail(k) {
        Some(Field::Text(s)) => Some(s.clone()),
        _ => None,
    }
}

/// What is wrong, the policy text, and the line, rule id and key the refusal must name.
type Case<'a> = (&'a str, String, u64, Option<&'a str>, Option<&'a str>);

#[test]
fn every_refusal_names_its_line_and_rule() {
    let second = |fields: &str| after_good_rule(&format!("  - id: r2\n{fields}"));
    let good_rest = "    effect: allow\n    actions: [deploy]\n    resources: [worker]\n    principals: [\"*\"]\n";
    let cases: Vec<Case> = vec![
        ("YAML syntax", after_good_rule("  - id: [oops\n"), 9, None, None),
        ("duplicate key", second(&format!("{good_rest}    effect: deny\n")), 13, None, None),
        ("more than one document", "version: 1\nrules: []\n---\n".to_owned(), 3, None, None),
        ("unknown anchor", after_good_rule("  - *nowhere\n"), 8, None, None),
        ("bad version", "# a comment\nrules: []\nversion: 2\n".to_owned(), 3, None, Some("version")),
        ("missing version", "\nrules: []\n".to_owned(), 2, None, Some("version")),
        ("unknown top-level key", after_good_rule("ruels: []\n"), 8, None, Some("ruels")),
        ("merge key", second(&format!("{good_rest}    <<: {{mode: shadow}}\n")), 13, Some("r2"), Some("<<")),
        ("tag", second("    effect: !allow allow\n"), 9, Some("r2"), Some("effect")),
        ("non-string action", second("    effect: allow\n    actions:\n      - deploy\n      - 42\n"), 12, Some("r2"), Some("actions[1]")),
        ("bad effect", second("    effect: permit\n"), 9, Some("r2"), Some("effect")),
        ("missing key: the rule's line", second("    effect: allow\n"), 8, Some("r2"), Some("actions")),
        ("unknown rule key", second("    efect: allow\n"), 9, Some("r2"), Some("efect")),
        ("bad glob", second("    effect: allow\n    actions: [deploy]\n    resources: [\"a**\"]\n"), 11, Some("r2"), Some("resources[0]")),
        (
            "unknown attribute",
            second("    effect: allow\n    actions: [deploy]\n    resources: [worker]\n    principals:\n      - subject:\n          CN: op\n          XX: y\n"),
            15,
            Some("r2"),
            Some("principals[0].subject.XX"),
        ),
        ("bad mode", second(&format!("{good_rest}    mode: loud\n")), 13, Some("r2"), Some("mode")),
        ("duplicate id", after_good_rule(RULE), 8, Some("r1"), Some("id")),
        ("rule not a mapping", after_good_rule("  - just text\n"), 8, None, Some("(rule)")),
        ("bad id, no rule_id", after_good_rule("  - id: \"\"\n"), 8, None, Some("id")),
        ("top level not a mapping", "\n\n- a\n".to_owned(), 3, None, Some("(top level)")),
    ];
    for (what, text_, line, rule_id, key_) in cases {
        let e = match Policy::parse(&text_, "config/guard.yml") {
            Err(e @ Error::Policy(_)) => e,
            other => panic!("{what}: expected a policy error, got {other:?}"),
        };
        assert_eq!(int(&e, key::LINE), Some(line), "{what}: {e}\n{text_}");
        assert_eq!(text(&e, key::RULE_ID).as_deref(), rule_id, "{what}: {e}");
        assert_eq!(text(&e, key::KEY).as_deref(), key_, "{what}: {e}");
        assert_eq!(
            text(&e, key::FILE).as_deref(),
            Some("config/guard.yml"),
            "{what}"
        );
        let message = e.to_string();
        assert!(
            message.starts_with(&format!("config/guard.yml: line {line}, ")),
            "{what}: {message}"
        );
    }
}

#[test]
fn a_tree_without_text_has_no_line() {
    use hanami_guard_core::policy::tree::{parse, Value};
    let tree: Value = parse("version: 2\nrules: []\n").expect("yaml");
    let e = Policy::from_value(&tree, "Policy.define (app.rb:3)").expect_err("version 2");
    assert_eq!(e.detail(key::LINE), None);
    assert!(
        e.to_string()
            .starts_with("Policy.define (app.rb:3): key version"),
        "{e}"
    );
}

#[test]
fn a_file_that_is_not_utf8_has_no_line_but_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.yml");
    std::fs::write(&path, b"version: 1\nrules: []\n# \xff\n").expect("write");
    let e = Policy::load(&path).expect_err("not UTF-8");
    assert_eq!(e.detail(key::LINE), None);
    let shown = path.display().to_string();
    assert_eq!(text(&e, key::FILE), Some(shown));
}

#[test]
fn lint_warnings_name_the_line_their_rule_starts_at() {
    let text = "version: 1\nrules:\n  - id: open\n    effect: allow\n    actions: [read]\n    \
                resources: [\"**\"]\n    principals: [\"*\"]\n\n  - id: dead\n    effect: allow\n    \
                actions: [read]\n    resources: [\"a/./b\"]\n    principals: [\"*\"]\n";
    let policy = Policy::parse(text, "lint.yml").expect("valid");
    let warnings = policy.lint_lines(text);
    assert!(!warnings.is_empty());
    for (warning, line) in &warnings {
        let expected = warning.rule.map(|i| [3, 9][i]);
        assert_eq!(*line, expected, "{warning:?}");
    }
    assert!(warnings.iter().any(|(w, _)| w.rule == Some(1)));
    // Text other than the policy's own gives no lines rather than wrong ones.
    let other = format!("# moved\n{text}");
    assert!(policy
        .lint_lines(&other)
        .iter()
        .all(|(_, line)| line.is_none()));
}
