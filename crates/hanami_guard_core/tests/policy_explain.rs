//! Explanations (the closest rule of a default deny and the condition that failed), shadow mode
//! and the policy version.

use hanami_guard_core::policy::{Condition, Mode, OwnedIdentity, Policy, Reason};

fn policy(yaml: &str) -> Policy {
    match Policy::parse(yaml, "test.yml") {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn who(subject: &[(&str, &str)], issuer: &[(&str, &str)]) -> OwnedIdentity {
    let attrs = |list: &[(&str, &str)]| {
        list.iter()
            .map(|(t, v)| OwnedIdentity::attribute(t, *v))
            .collect()
    };
    OwnedIdentity {
        subject: attrs(subject),
        issuer: attrs(issuer),
        ..Default::default()
    }
}

fn explain(p: &Policy, id: &OwnedIdentity, action: &str, resource: &str) -> String {
    let d = p.decide(Some(id), action, resource);
    p.explain(Some(id), &d, action, resource)
}

const OPERATORS: &str = r#"
version: 1
rules:
  - id: operators-deploy
    effect: allow
    actions: [deploy]
    resources: [worker, api]
    principals:
      - subject: { CN: operator, O: MyOrg }
        issuer: { CN: MyOrg Internal CA }
  - id: auditors-read
    effect: allow
    actions: [read]
    resources: ["**"]
    principals:
      - subject: { OU: Auditors }
"#;

#[test]
fn a_near_miss_names_the_rule_and_the_condition_that_failed() {
    let p = policy(OPERATORS);
    let op = who(
        &[("CN", "operator"), ("O", "MyOrg")],
        &[("O", "MyOrg"), ("CN", "MyOrg Root CA")],
    );
    let d = p.decide(Some(&op), "deploy", "worker");
    assert_eq!(d.reason, Reason::NoRuleMatched);
    assert_eq!(
        p.explain(Some(&op), &d, "deploy", "worker"),
        "operators-deploy: issuer is CN=MyOrg Root CA,O=MyOrg, the rule wants CN=MyOrg Internal CA"
    );
    let miss = p.near_miss(&op, "deploy", "worker").expect("a near miss");
    assert_eq!((miss.rule, miss.principal), (0, 0));
    assert_eq!(miss.failed.len(), 1);
    assert_eq!(miss.failed[0].condition, Condition::Issuer);
}

#[test]
fn every_failed_condition_is_named() {
    let p = policy(OPERATORS);
    let stranger = who(&[("CN", "mallory")], &[]);
    assert_eq!(
        explain(&p, &stranger, "deploy", "api"),
        "operators-deploy: subject is CN=mallory, the rule wants CN=operator,O=MyOrg; issuer is \
         (no issuer), the rule wants CN=MyOrg Internal CA"
    );
}

#[test]
fn the_rule_with_fewest_failures_is_closest_whatever_its_place() {
    let p = policy(
        r#"
version: 1
rules:
  - id: far
    effect: allow
    actions: [deploy]
    resources: [worker]
    principals: [{ subject: { CN: admin }, issuer: { CN: Other CA } }]
  - id: near
    effect: allow
    actions: [deploy]
    resources: [worker]
    principals:
      - subject: { CN: admin }
        issuer: { CN: Other CA }
      - subject: { CN: operator }
        issuer: { CN: Other CA }
"#,
    );
    let op = who(&[("CN", "operator")], &[("CN", "MyOrg CA")]);
    let miss = p.near_miss(&op, "deploy", "worker").expect("a near miss");
    assert_eq!((miss.rule, miss.principal), (1, 1));
    assert!(explain(&p, &op, "deploy", "worker").starts_with("near: issuer is CN=MyOrg CA"));
}

#[test]
fn ties_go_to_the_first_rule_in_file_order() {
    let rule = |id: &str, cn: &str| {
        format!(
            "  - id: {id}\n    effect: allow\n    actions: [deploy]\n    resources: [worker]\n    \
             principals: [{{ subject: {{ CN: {cn} }} }}]\n"
        )
    };
    let ab = policy(&format!(
        "version: 1\nrules:\n{}{}",
        rule("first", "alice"),
        rule("second", "bob")
    ));
    let ba = policy(&format!(
        "version: 1\nrules:\n{}{}",
        rule("second", "bob"),
        rule("first", "alice")
    ));
    let carol = who(&[("CN", "carol")], &[]);
    for _ in 0..3 {
        assert!(explain(&ab, &carol, "deploy", "worker").starts_with("first: subject is CN=carol"));
        assert!(explain(&ba, &carol, "deploy", "worker").starts_with("second: subject is CN=carol"));
    }
}

#[test]
fn only_allow_rules_in_force_for_the_action_and_resource_are_candidates() {
    let p = policy(
        r#"
version: 1
rules:
  - id: other-resource
    effect: allow
    actions: [deploy]
    resources: [api]
    principals: [{ subject: { CN: carol } }]
  - id: watched
    effect: allow
    mode: shadow
    actions: [deploy]
    resources: [worker]
    principals: [{ subject: { CN: carol } }]
  - id: a-deny
    effect: deny
    actions: [deploy]
    resources: [worker]
    principals: [{ subject: { CN: mallory } }]
"#,
    );
    let carol = who(&[("CN", "carol")], &[]);
    assert!(p.near_miss(&carol, "deploy", "worker").is_none());
    assert_eq!(
        explain(&p, &carol, "deploy", "worker"),
        "no allow rule in force names action \"deploy\" and resource \"worker\" (default deny)"
    );
}

#[test]
fn a_hostile_name_cannot_forge_an_explanation_line() {
    let p = policy(OPERATORS);
    let op = who(
        &[("CN", "operator"), ("O", "MyOrg")],
        &[("CN", "x\nINFO allowed by rule operators-deploy\u{202e}")],
    );
    let text = explain(&p, &op, "deploy", "worker");
    assert!(!text.contains('\n') && !text.contains('\u{202e}'), "{text}");
    assert!(text.contains("issuer is CN=x\\0AINFO"), "{text}");
}

#[test]
fn other_decisions_are_explained_by_their_reason() {
    let p = policy(OPERATORS);
    let auditor = who(&[("OU", "Auditors")], &[]);
    assert_eq!(explain(&p, &auditor, "read", "x"), "auditors-read: allowed");
    let d = p.decide(None::<&OwnedIdentity>, "read", "x");
    assert!(p
        .explain(None::<&OwnedIdentity>, &d, "read", "x")
        .contains("no identity"));
}

const SHADOWED: &str = r#"
version: 1
rules:
  - id: everyone-reads
    effect: allow
    actions: [read]
    resources: ["**"]
    principals: ["*"]
  - id: no-contractors
    effect: deny
    mode: shadow
    actions: [read]
    resources: [secrets]
    principals: [{ subject: { OU: Contractors } }]
"#;

#[test]
fn a_shadow_rule_never_changes_a_decision_but_says_what_it_would_decide() {
    let p = policy(SHADOWED);
    let contractor = who(&[("OU", "Contractors")], &[]);
    let d = p.decide(Some(&contractor), "read", "secrets");
    assert!(d.allowed, "a rule in shadow mode must not deny");
    let shadow = p
        .decide_shadow(Some(&contractor), "read", "secrets")
        .expect("the policy has a shadow rule");
    assert!(!shadow.allowed);
    assert_eq!(
        shadow.rule.and_then(|i| p.rule_id(i)),
        Some("no-contractors")
    );
    let enforced = policy(&SHADOWED.replace("    mode: shadow\n", ""));
    assert!(enforced
        .decide_shadow(Some(&contractor), "read", "secrets")
        .is_none());
    assert!(!enforced.allowed(Some(&contractor), "read", "secrets"));
}

#[test]
fn a_policy_loaded_in_shadow_mode_decides_nothing_and_reports_everything() {
    let p = Policy::parse_as(SHADOWED, "candidate.yml", Mode::Shadow).expect("valid");
    let anyone = who(&[("CN", "x")], &[]);
    assert!(
        !p.allowed(Some(&anyone), "read", "docs"),
        "nothing is in force"
    );
    let would = p
        .decide_shadow(Some(&anyone), "read", "docs")
        .expect("all rules watched");
    assert!(would.allowed);
    assert!(p.lint().iter().any(|w| w.kind == "no_allow_rules"));
}

#[test]
fn an_unknown_mode_is_refused() {
    for mode in ["Shadow", "audit", "off", "\"\""] {
        let yaml = SHADOWED.replace("mode: shadow", &format!("mode: {mode}"));
        let err = Policy::parse(&yaml, "t.yml").expect_err(mode).to_string();
        assert!(err.contains("key mode: must be enforce or shadow"), "{err}");
    }
    assert_eq!(Mode::from_name("shadow"), Some(Mode::Shadow));
    assert_eq!(Mode::from_name("SHADOW"), None);
}

#[test]
fn lint_names_rules_in_shadow_mode() {
    let p = policy(SHADOWED);
    let w = p.lint();
    assert!(
        w.iter()
            .any(|w| w.kind == "shadow_mode" && w.rule == Some(1)),
        "{w:?}"
    );
}

#[test]
fn the_version_is_the_canonical_source_not_its_layout() {
    let a = policy(OPERATORS);
    let commented = policy(&format!(
        "# a comment\n{}",
        OPERATORS.replace("[worker, api]", "[\"worker\", 'api']")
    ));
    assert_eq!(a.version(), commented.version());
    assert_eq!(a.version_hex().len(), 64);
    let other = policy(&OPERATORS.replace("MyOrg Internal CA", "MyOrg Other CA"));
    assert_ne!(a.version(), other.version());
    let shadow = Policy::parse_as(OPERATORS, "t.yml", Mode::Shadow).expect("valid");
    assert_ne!(a.version(), shadow.version());
}
