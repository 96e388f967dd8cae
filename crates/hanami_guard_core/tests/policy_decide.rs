//! Decisions: default deny, deny wins, resource globs, SPIFFE patterns, DN spoofing, issuer,
//! DNS names and fingerprint pins, limits, and concurrent decisions on a reloading policy.

use std::sync::Arc;

use hanami_guard_core::policy::{OwnedIdentity, Policy, PolicyFile, Reason, MAX_RESOURCE_BYTES};

fn policy(yaml: &str) -> Policy {
    match Policy::parse(yaml, "test.yml") {
        Ok(p) => p,
        Err(e) => panic!("{e}"),
    }
}

fn subject(attrs: &[(&str, &str)]) -> OwnedIdentity {
    OwnedIdentity {
        subject: attrs
            .iter()
            .map(|(t, v)| OwnedIdentity::attribute(t, *v))
            .collect(),
        ..Default::default()
    }
}

fn spiffe(id: &str) -> OwnedIdentity {
    OwnedIdentity {
        spiffe_id: Some(id.to_owned()),
        ..Default::default()
    }
}

fn rule_of(p: &Policy, who: &OwnedIdentity, action: &str, resource: &str) -> Option<String> {
    let d = p.decide(Some(who), action, resource);
    d.rule.and_then(|i| p.rule_id(i)).map(str::to_owned)
}

const OPERATORS: &str = r#"
version: 1
rules:
  - id: operators-deploy
    effect: allow
    actions: [deploy, restart]
    resources: [worker, api, "reports/*", "archive/**"]
    principals:
      - subject: { CN: operator, O: MyOrg }
        issuer: { CN: MyOrg Internal CA }
  - id: no-contractors
    effect: deny
    actions: ["*"]
    resources: [api, "archive/secret/**"]
    principals:
      - subject: { OU: Contractors }
"#;

fn operator(extra: &[(&str, &str)]) -> OwnedIdentity {
    let mut id = subject(&[("CN", "operator"), ("O", "MyOrg")]);
    id.subject
        .extend(extra.iter().map(|(t, v)| OwnedIdentity::attribute(t, *v)));
    id.issuer = vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")];
    id
}

#[test]
fn default_deny() {
    let p = policy(OPERATORS);
    let op = operator(&[]);
    let d = p.decide(Some(&op), "delete", "worker");
    assert!(!d.allowed);
    assert_eq!(d.rule, None);
    assert_eq!(d.reason, Reason::NoRuleMatched);
    assert!(!p.allowed(Some(&op), "deploy", "database"));
    assert!(!p.allowed(Some(&OwnedIdentity::default()), "deploy", "worker"));
    let none = p.decide(None::<&OwnedIdentity>, "deploy", "worker");
    assert_eq!((none.allowed, none.reason), (false, Reason::NoIdentity));
    let empty = policy("version: 1\nrules: []\n");
    assert!(!empty.allowed(Some(&op), "deploy", "worker"));
}

#[test]
fn deny_wins_whatever_the_order() {
    let p = policy(OPERATORS);
    let contractor = operator(&[("OU", "Contractors")]);
    assert!(p.allowed(Some(&contractor), "deploy", "worker"));
    assert!(!p.allowed(Some(&contractor), "deploy", "api"));
    assert_eq!(
        rule_of(&p, &contractor, "deploy", "api").as_deref(),
        Some("no-contractors")
    );
    assert!(!p.allowed(Some(&contractor), "restart", "archive/secret/x/y"));
    assert!(p.allowed(Some(&contractor), "restart", "archive/public/x"));
    // The same rules with the deny first: same outcome.
    let reversed = policy(
        r#"
version: 1
rules:
  - id: no-contractors
    effect: deny
    actions: ["*"]
    resources: [api]
    principals: [{ subject: { OU: Contractors } }]
  - id: anyone
    effect: allow
    actions: ["*"]
    resources: ["**"]
    principals: ["*"]
"#,
    );
    assert!(!reversed.allowed(Some(&contractor), "deploy", "api"));
    assert!(reversed.allowed(Some(&contractor), "deploy", "worker"));
}

#[test]
fn the_first_matching_rule_in_file_order_is_named() {
    let p = policy(
        r#"
version: 1
rules:
  - { id: glob-allow, effect: allow, actions: [read], resources: ["docs/*"], principals: ["*"] }
  - { id: exact-allow, effect: allow, actions: [read], resources: [docs/a], principals: ["*"] }
  - { id: star-deny, effect: deny, actions: ["*"], resources: [docs/b], principals: ["*"] }
  - { id: exact-deny, effect: deny, actions: [read], resources: [docs/b], principals: ["*"] }
"#,
    );
    let who = subject(&[("CN", "x")]);
    assert_eq!(
        rule_of(&p, &who, "read", "docs/a").as_deref(),
        Some("glob-allow")
    );
    assert_eq!(
        rule_of(&p, &who, "read", "docs/b").as_deref(),
        Some("star-deny")
    );
    assert_eq!(
        rule_of(&p, &who, "write", "docs/b").as_deref(),
        Some("star-deny")
    );
}

#[test]
fn resource_globs() {
    let p = policy(OPERATORS);
    let op = operator(&[]);
    assert!(p.allowed(Some(&op), "deploy", "reports/q1"));
    assert!(!p.allowed(Some(&op), "deploy", "reports/2024/q1"));
    assert!(!p.allowed(Some(&op), "deploy", "reports"));
    assert!(p.allowed(Some(&op), "deploy", "archive/2024/q1/x"));
    for sneaky in [
        "reports/../secrets",
        "archive/../../etc/passwd",
        "archive/./x",
        "archive//x",
        "archive/x/",
        "reports/q1\n",
        "reports/q1\0",
    ] {
        assert!(!p.allowed(Some(&op), "deploy", sneaky), "{sneaky:?}");
    }
}

#[test]
fn a_dot_dot_resource_cannot_slip_past_a_deny_glob() {
    let p = policy(
        r#"
version: 1
rules:
  - { id: public, effect: allow, actions: [read], resources: ["public/**"], principals: ["*"] }
  - { id: secrets, effect: deny, actions: [read], resources: ["secrets/**"], principals: ["*"] }
"#,
    );
    let who = subject(&[("CN", "x")]);
    assert!(p.allowed(Some(&who), "read", "public/a"));
    assert!(!p.allowed(Some(&who), "read", "public/../secrets/key"));
    assert!(!p.allowed(Some(&who), "read", "secrets/key"));
}

/// `File.join(base, "/secrets/key")` reads `base/secrets/key`: a leading `/` must not take a
/// resource past `deny secrets/**` into an allow-all glob. Like `a//b` and `x/`, a resource with
/// an empty segment matches no glob at all; only a rule naming it exactly can.
#[test]
fn a_leading_slash_cannot_slip_past_a_deny_glob() {
    let p = policy(
        r#"
version: 1
rules:
  - { id: all, effect: allow, actions: [read], resources: ["**"], principals: ["*"] }
  - { id: secrets, effect: deny, actions: [read], resources: ["secrets/**"], principals: ["*"] }
  - { id: exact, effect: allow, actions: [list], resources: ["/"], principals: ["*"] }
"#,
    );
    let who = subject(&[("CN", "x")]);
    assert!(p.allowed(Some(&who), "read", "public/a"));
    assert!(!p.allowed(Some(&who), "read", "secrets/key"));
    for resource in ["/secrets/key", "//secrets/key", "/public/a", "/", "/x"] {
        let d = p.decide(Some(&who), "read", resource);
        assert!(!d.allowed, "{resource:?}");
        assert_eq!(d.rule, None, "{resource:?}");
    }
    assert!(p.allowed(Some(&who), "list", "/"));
}

/// Resources compare byte for byte: case differs, resource differs (documented; the lint
/// below warns where that matters).
#[test]
fn resources_are_case_sensitive() {
    let p = policy(
        r#"
version: 1
rules:
  - { id: docs, effect: allow, actions: [read], resources: ["docs/**", Report], principals: ["*"] }
"#,
    );
    let who = subject(&[("CN", "x")]);
    assert!(p.allowed(Some(&who), "read", "docs/a"));
    assert!(!p.allowed(Some(&who), "read", "Docs/a"));
    assert!(p.allowed(Some(&who), "read", "Report"));
    assert!(!p.allowed(Some(&who), "read", "report"));
}

#[test]
fn spiffe_patterns() {
    let p = policy(
        r#"
version: 1
rules:
  - id: one-level
    effect: allow
    actions: [deploy]
    resources: ["*"]
    principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/*" }]
  - id: any-depth
    effect: allow
    actions: [read]
    resources: ["*"]
    principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/**" }]
  - id: exact
    effect: allow
    actions: [admin]
    resources: ["*"]
    principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/sa/root" }]
  - id: domain
    effect: allow
    actions: [ping]
    resources: ["*"]
    principals: [{ spiffe_id: { trust_domain: prod.example.org } }, { trust_domain: staging.example.org }]
"#,
    );
    let allowed = |id: &str, action: &str| p.allowed(Some(&spiffe(id)), action, "x");
    assert!(allowed(
        "spiffe://prod.example.org/ns/ops/deployer",
        "deploy"
    ));
    assert!(!allowed(
        "spiffe://prod.example.org/ns/ops/sa/deployer",
        "deploy"
    ));
    assert!(!allowed("spiffe://prod.example.org/ns/ops", "deploy"));
    assert!(allowed(
        "spiffe://prod.example.org/ns/ops/sa/deployer",
        "read"
    ));
    assert!(allowed("spiffe://prod.example.org/ns/ops/a/b/c/d", "read"));
    assert!(allowed("spiffe://prod.example.org/ns/ops/sa/root", "admin"));
    assert!(!allowed(
        "spiffe://prod.example.org/ns/ops/sa/root/x",
        "admin"
    ));
    assert!(!allowed("spiffe://prod.example.org/ns/ops/sa/roo", "admin"));
    for lookalike in [
        "spiffe://prod.example.org/ns/opsx/deployer",
        "spiffe://prod.example.org/ns/opsx",
        "spiffe://evil.example.org/ns/ops/deployer",
        "spiffe://prod.example.org.evil/ns/ops/deployer",
        "spiffe://prod.example.org/ns/ops/../admin",
        "spiffe://prod.example.org/ns/ops/./x",
        "spiffe://prod.example.org/ns/ops//x",
        "spiffe://prod.example.org/ns/ops/x/",
        "SPIFFE://prod.example.org/ns/ops/x",
        "spiffe://PROD.example.org/ns/ops/x",
        "spiffe://prod.example.org/ns/ops/x%2fy",
        "spiffe://prod.example.org/ns/ops/x\0",
        "spiffe://user@prod.example.org/ns/ops/x",
        "spiffe://prod.example.org:443/ns/ops/x",
    ] {
        assert!(!allowed(lookalike, "deploy"), "{lookalike}");
        assert!(!allowed(lookalike, "read"), "{lookalike}");
    }
    assert!(allowed("spiffe://prod.example.org/anything", "ping"));
    assert!(allowed("spiffe://staging.example.org/x", "ping"));
    assert!(!allowed("spiffe://prod.example.orgx/anything", "ping"));
    assert!(!allowed("spiffe://dev.example.org/x", "ping"));
}

#[test]
fn dn_spoofing_never_matches() {
    let p = policy(OPERATORS);
    let mut spoof = subject(&[("CN", "operator,O=MyOrg")]);
    spoof.issuer = vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")];
    assert!(!p.allowed(Some(&spoof), "deploy", "worker"));
    let mut spoof = subject(&[("CN", "operator\0"), ("O", "MyOrg")]);
    spoof.issuer = vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")];
    assert!(!p.allowed(Some(&spoof), "deploy", "worker"));
    // The O is in the issuer, not the subject: no match.
    let mut misplaced = subject(&[("CN", "operator")]);
    misplaced.issuer = vec![
        OwnedIdentity::attribute("CN", "MyOrg Internal CA"),
        OwnedIdentity::attribute("O", "MyOrg"),
    ];
    assert!(!p.allowed(Some(&misplaced), "deploy", "worker"));
    // An unknown attribute type named like CN is not CN.
    let mut odd = OwnedIdentity {
        subject: vec![
            OwnedIdentity::attribute("1.2.3.4", "operator"),
            OwnedIdentity::attribute("O", "MyOrg"),
        ],
        ..Default::default()
    };
    odd.issuer = vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")];
    assert!(!p.allowed(Some(&odd), "deploy", "worker"));
}

#[test]
fn names_compare_as_rfc_5280_says() {
    let p = policy(OPERATORS);
    let mut id = subject(&[("commonName", "  OPERATOR "), ("2.5.4.10", "myorg")]);
    id.issuer = vec![OwnedIdentity::attribute("CN", "myorg   internal ca")];
    assert!(p.allowed(Some(&id), "deploy", "worker"));
    // A second value of a multi-valued attribute counts.
    let mut two_ou = operator(&[("OU", "Staff"), ("OU", "Contractors")]);
    two_ou.issuer = vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")];
    assert!(!p.allowed(Some(&two_ou), "deploy", "api"));
}

#[test]
fn issuer_conditions() {
    let p = policy(OPERATORS);
    let mut other_ca = operator(&[]);
    other_ca.issuer = vec![OwnedIdentity::attribute("CN", "Evil CA")];
    assert!(!p.allowed(Some(&other_ca), "deploy", "worker"));
    let mut no_issuer = operator(&[]);
    no_issuer.issuer.clear();
    assert!(!p.allowed(Some(&no_issuer), "deploy", "worker"));
}

#[test]
fn fingerprint_pins_and_dns_names() {
    let fp = "3f".repeat(32);
    let p = policy(&format!(
        r#"
version: 1
rules:
  - id: pinned
    effect: allow
    actions: [deploy]
    resources: [worker]
    principals: [{{ fingerprint: "{}" }}]
  - id: by-dns
    effect: allow
    actions: [read]
    resources: [worker]
    principals: [{{ dns_name: API.example.org, issuer: {{ O: MyOrg }} }}]
"#,
        fp.to_uppercase()
    ));
    let with_fp = |f: &str| OwnedIdentity {
        fingerprint: Some(f.to_owned()),
        ..Default::default()
    };
    assert!(p.allowed(Some(&with_fp(&fp)), "deploy", "worker"));
    let colons: Vec<String> = (0..32).map(|_| "3F".to_owned()).collect();
    assert!(p.allowed(Some(&with_fp(&colons.join(":"))), "deploy", "worker"));
    assert!(!p.allowed(Some(&with_fp(&"3f".repeat(31))), "deploy", "worker"));
    assert!(!p.allowed(Some(&with_fp(&format!("{fp}00"))), "deploy", "worker"));
    assert!(!p.allowed(Some(&OwnedIdentity::default()), "deploy", "worker"));

    let dns = |names: &[&str]| OwnedIdentity {
        dns_names: names.iter().map(|s| s.to_string()).collect(),
        issuer: vec![OwnedIdentity::attribute("O", "MyOrg")],
        ..Default::default()
    };
    assert!(p.allowed(
        Some(&dns(&["other.example.org", "api.EXAMPLE.org"])),
        "read",
        "worker"
    ));
    assert!(!p.allowed(Some(&dns(&["api.example.org.evil"])), "read", "worker"));
    assert!(!p.allowed(Some(&dns(&["*.example.org"])), "read", "worker"));
}

#[test]
fn a_principal_needs_every_condition_and_any_principal_will_do() {
    let p = policy(
        r#"
version: 1
rules:
  - id: r
    effect: allow
    actions: [deploy]
    resources: [worker]
    principals:
      - { subject: { CN: a }, spiffe_id: "spiffe://td/a" }
      - { subject: { CN: b } }
"#,
    );
    let mut a = subject(&[("CN", "a")]);
    assert!(!p.allowed(Some(&a), "deploy", "worker"));
    a.spiffe_id = Some("spiffe://td/a".into());
    assert!(p.allowed(Some(&a), "deploy", "worker"));
    assert!(p.allowed(Some(&subject(&[("CN", "b")])), "deploy", "worker"));
}

#[test]
fn oversized_requests_are_denied_in_bounded_time() {
    let p = policy(OPERATORS);
    let op = operator(&[]);
    let long = format!("archive/{}", "a/".repeat(MAX_RESOURCE_BYTES));
    let d = p.decide(Some(&op), "deploy", &long);
    assert_eq!((d.allowed, d.reason), (false, Reason::ResourceTooLong));
    let long_action = "d".repeat(10 << 20);
    assert!(!p.allowed(Some(&op), &long_action, "worker"));
    let mut many = operator(&[]);
    many.subject
        .extend((0..100_000).map(|i| OwnedIdentity::attribute("OU", format!("u{i}"))));
    let started = std::time::Instant::now();
    assert!(p.allowed(Some(&many), "deploy", "worker"));
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn concurrent_decisions_see_one_consistent_policy_during_reloads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("p.yml");
    let allow = |resource: &str| {
        format!("version: 1\nrules:\n  - {{ id: r, effect: allow, actions: [read], resources: [{resource}], principals: [\"*\"] }}\n")
    };
    std::fs::write(&path, allow("a")).expect("write");
    let file = Arc::new(PolicyFile::load(&path).expect("load"));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut workers = Vec::new();
    for _ in 0..8 {
        let file = Arc::clone(&file);
        let stop = Arc::clone(&stop);
        workers.push(std::thread::spawn(move || {
            let who = subject(&[("CN", "x")]);
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let p = file.current();
                // Exactly one of a/b is allowed in every snapshot.
                let a = p.allowed(Some(&who), "read", "a");
                let b = p.allowed(Some(&who), "read", "b");
                assert!(a ^ b);
                assert!(!p.allowed(Some(&who), "read", "c"));
                n += 1;
            }
            n
        }));
    }
    // Each version is deployed as the docs say: a new file renamed over the old one.
    let replace = |text: &str| {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, text).expect("write");
        std::fs::rename(&tmp, &path).expect("rename");
    };
    for i in 0..50 {
        let text = if i % 2 == 0 { allow("b") } else { allow("a") };
        replace(&text);
        assert!(file.reload().expect("reload"));
        replace("version: 1\nrules: [");
        assert!(file.reload().is_err());
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in workers {
        assert!(w.join().expect("worker") > 0);
    }
}
