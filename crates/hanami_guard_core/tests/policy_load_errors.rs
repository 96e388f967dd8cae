//! Every way a policy is refused: each is an `Error::Policy` whose message names the file, the
//! rule (id, or index when the id is unusable) and the key.

use hanami_guard_core::policy::Policy;
use hanami_guard_core::Error;

fn refused(yaml: &str) -> String {
    match Policy::parse(yaml, "config/guard.yml") {
        Err(Error::Policy(msg)) => msg.message().to_owned(),
        Err(other) => panic!("expected a policy error, got {other:?}"),
        Ok(_) => panic!("expected {yaml:?} to be refused"),
    }
}

const FIRST: &str = "version: 1\nrules:\n  - id: ok\n    effect: allow\n    actions: [a]\n    resources: [r]\n    principals: [\"*\"]\n";

const GOOD: &[(&str, &str)] = &[
    ("id", "r1"),
    ("effect", "allow"),
    ("actions", "[deploy]"),
    ("resources", "[worker]"),
    ("principals", "[\"*\"]"),
];

/// A policy whose second rule (rules[1]) has the given fields.
fn second(fields: &[(&str, &str)]) -> String {
    let mut out = FIRST.to_owned();
    for (i, (k, v)) in fields.iter().enumerate() {
        out.push_str(if i == 0 { "  - " } else { "    " });
        out.push_str(&format!("{k}: {v}\n"));
    }
    out
}

/// The good second rule with `key` set to `value` (added when absent).
fn with(key: &str, value: &str) -> String {
    let mut fields: Vec<(&str, &str)> = GOOD.to_vec();
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(f) => f.1 = value,
        None => fields.push((key, value)),
    }
    second(&fields)
}

/// The good second rule without `key`.
fn without(key: &str) -> String {
    let fields: Vec<(&str, &str)> = GOOD.iter().copied().filter(|(k, _)| *k != key).collect();
    second(&fields)
}

#[track_caller]
fn assert_names(msg: &str, parts: &[&str]) {
    assert!(msg.starts_with("config/guard.yml:"), "{msg}");
    for p in parts {
        assert!(msg.contains(p), "{msg:?} should contain {p:?}");
    }
}

#[test]
fn a_valid_policy_loads() {
    let p = Policy::parse(&second(GOOD), "config/guard.yml").expect("valid");
    assert_eq!(p.rules().len(), 2);
}

#[test]
fn invalid_yaml() {
    assert_names(&refused("version: 1\nrules: [\n"), &["invalid YAML"]);
    assert_names(
        &refused("version: 1\nversion: 1\nrules: []"),
        &["invalid YAML", "duplicate"],
    );
    assert_names(
        &refused("version: 1\nrules: []\n---\nversion: 1\n"),
        &["invalid YAML"],
    );
    assert_names(
        &refused(&"[".repeat(100_000)),
        &["invalid YAML", "recursion"],
    );
}

#[test]
fn version_other_than_1() {
    for v in ["2", "0", "\"1\"", "1.0", "null"] {
        assert_names(
            &refused(&format!("version: {v}\nrules: []")),
            &["key version", "must be 1"],
        );
    }
    assert_names(&refused("rules: []"), &["key version", "missing"]);
}

#[test]
fn top_level_shape() {
    assert_names(&refused(""), &["a policy is a mapping"]);
    assert_names(&refused("- 1"), &["a policy is a mapping"]);
    assert_names(&refused("version: 1"), &["key rules", "missing"]);
    assert_names(&refused("version: 1\nrules: {}"), &["key rules", "list"]);
    assert_names(
        &refused("version: 1\nrules: []\nrule: []"),
        &["key rule:", "unknown key", "version, rules"],
    );
}

#[test]
fn unknown_keys_in_a_rule_and_a_principal() {
    let msg = refused(&with("action", "[x]"));
    assert_names(
        &msg,
        &["rule \"r1\" (rules[1])", "key action:", "unknown key"],
    );
    let msg = refused(&with("principals", "[{ cn: x }]"));
    assert_names(
        &msg,
        &["rule \"r1\"", "key principals[0].cn", "unknown key"],
    );
    let msg = refused(&with("principals", "[{ spiffe_id: { domain: x } }]"));
    assert_names(&msg, &["principals[0].spiffe_id.domain", "unknown key"]);
}

#[test]
fn wrong_types() {
    assert_names(
        &refused(&with("actions", "deploy")),
        &["rule \"r1\"", "key actions:", "must be a list"],
    );
    assert_names(
        &refused(&with("actions", "[deploy, 42]")),
        &["key actions[1]", "must be a string", "number 42", "quote"],
    );
    assert_names(
        &refused(&with("resources", "[{ a: b }]")),
        &["key resources[0]", "must be a string"],
    );
    assert_names(
        &refused(&with("principals", "\"*\"")),
        &["key principals", "must be a list"],
    );
    assert_names(
        &refused(&with("principals", "[anyone]")),
        &["key principals[0]", "a principal is \"*\""],
    );
    assert_names(
        &refused(&with("principals", "[{ subject: CN=operator }]")),
        &["key principals[0].subject", "mapping of attribute"],
    );
    assert_names(
        &refused(&with("principals", "[{ subject: { C: 12 } }]")),
        &["key principals[0].subject.C", "must be a string"],
    );
    assert_names(
        &refused(&with("effect", "permit")),
        &["key effect", "allow or deny"],
    );
    assert_names(
        &refused(&with("id", "[x]")),
        &["rules[1] (no valid id)", "key id", "must be a string"],
    );
    assert_names(
        &refused(&format!("{FIRST}  - 7\n")),
        &["rules[1]", "each rule is a mapping"],
    );
    assert_names(
        &refused(&with("principals", "[!custom { subject: { CN: x } }]")),
        &["key principals[0]", "tagged"],
    );
}

#[test]
fn missing_keys_and_duplicate_ids() {
    assert_names(
        &refused(&without("id")),
        &["rules[1] (no valid id)", "key id", "missing"],
    );
    for key in ["effect", "actions", "resources", "principals"] {
        assert_names(
            &refused(&without(key)),
            &["rule \"r1\"", &format!("key {key}"), "missing"],
        );
    }
    assert_names(
        &refused(&with("id", "ok")),
        &["rule \"ok\" (rules[1])", "key id", "duplicate", "rules[0]"],
    );
}

#[test]
fn empty_lists() {
    assert_names(
        &refused(&with("actions", "[]")),
        &["key actions", "must not be empty"],
    );
    assert_names(
        &refused(&with("resources", "[]")),
        &["key resources", "must not be empty"],
    );
    assert_names(
        &refused(&with("principals", "[]")),
        &["key principals", "must not be empty"],
    );
    assert_names(
        &refused(&with("principals", "[{}]")),
        &["key principals[0]", "is empty"],
    );
    assert_names(
        &refused(&with("principals", "[{ subject: {} }]")),
        &["key principals[0].subject", "non-empty"],
    );
    assert_names(
        &refused(&with("id", "\"\"")),
        &["key id", "must not be empty"],
    );
}

#[test]
fn malformed_patterns() {
    assert_names(
        &refused(&with("resources", "[\"a**\"]")),
        &["key resources[0]", "malformed glob"],
    );
    assert_names(
        &refused(&with("resources", "[\"***\"]")),
        &["key resources[0]", "malformed glob"],
    );
    assert_names(
        &refused(&with("resources", "[\"\"]")),
        &["key resources[0]", "empty"],
    );
    assert_names(
        &refused(&with("resources", "[\"a\\0b\"]")),
        &["key resources[0]", "control"],
    );
    assert_names(
        &refused(&with("actions", "[\"dep*\"]")),
        &["key actions[0]", "`*` is only allowed alone"],
    );
    for bad in [
        "spiffe://td/*/x",
        "spiffe://TD/x",
        "spiffe://td/a//b",
        "spiffe://td/a/../b",
        "https://td/x",
        "spiffe://td/a%20b",
        "spiffe://td/x*",
    ] {
        assert_names(
            &refused(&with(
                "principals",
                &format!("[{{ spiffe_id: \"{bad}\" }}]"),
            )),
            &["key principals[0].spiffe_id", "malformed spiffe_id"],
        );
    }
    assert_names(
        &refused(&with("principals", "[{ trust_domain: \"spiffe://td\" }]")),
        &["key principals[0].trust_domain", "malformed trust_domain"],
    );
    assert_names(
        &refused(&with("principals", "[{ dns_name: \"*.example.org\" }]")),
        &["key principals[0].dns_name", "wildcards"],
    );
    assert_names(
        &refused(&with("principals", "[{ fingerprint: abc }]")),
        &["key principals[0].fingerprint", "64 hex"],
    );
    assert_names(
        &refused(&with("principals", "[{ subject: { XX: y } }]")),
        &["key principals[0].subject.XX", "unknown attribute type"],
    );
    assert_names(
        &refused(&with("principals", "[{ issuer: { CN: \"a\\nb\" } }]")),
        &["key principals[0].issuer.CN", "control"],
    );
}

#[test]
fn limits() {
    let long = "x".repeat(2000);
    assert_names(
        &refused(&with("resources", &format!("[{long}]"))),
        &["key resources[0]", "limited"],
    );
    let huge = format!("version: 1\nrules: []\n# {}\n", "x".repeat(17 << 20));
    assert_names(&refused(&huge), &["at most"]);
}

#[test]
fn messages_do_not_echo_long_input() {
    let long_id = "i".repeat(250);
    let mut fields = GOOD.to_vec();
    fields[0].1 = &long_id;
    fields[1].1 = "maybe";
    let msg = refused(&second(&fields));
    assert!(msg.len() < 400, "{msg}");
    assert!(msg.contains('…'));
}

#[test]
fn load_names_the_file_and_reports_missing_files_as_io() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.yml");
    std::fs::write(&path, "version: 3\nrules: []\n").expect("write");
    match Policy::load(&path) {
        Err(Error::Policy(msg)) => assert!(msg.starts_with(&path.display().to_string())),
        other => panic!("{other:?}"),
    }
    match Policy::load(&dir.path().join("missing.yml")) {
        Err(e @ Error::Io { .. }) => assert_eq!(e.errno(), Some(libc::ENOENT)),
        other => panic!("{other:?}"),
    }
    std::fs::write(&path, b"version: 1\nrules: []\n# \xff\n").expect("write");
    assert!(matches!(Policy::load(&path), Err(Error::Policy(m)) if m.contains("UTF-8")));
}

#[test]
fn more_than_max_rules_is_refused() {
    use hanami_guard_core::policy::tree::{Mapping, Value};
    use hanami_guard_core::policy::MAX_RULES;
    let mut top = Mapping::new();
    top.insert("version".into(), Value::Number(1.into()));
    top.insert(
        "rules".into(),
        Value::Sequence(vec![Value::Null; MAX_RULES + 1]),
    );
    match Policy::from_value(&Value::Mapping(top), "many.yml") {
        Err(Error::Policy(msg)) => {
            assert_names_in(&msg, "many.yml", &["key rules", "at most 100000"])
        }
        other => panic!("{other:?}"),
    }
}

#[track_caller]
fn assert_names_in(msg: &str, source: &str, parts: &[&str]) {
    assert!(msg.starts_with(source), "{msg}");
    for p in parts {
        assert!(msg.contains(p), "{msg:?} should contain {p:?}");
    }
}
