//! Property tests: random policies, identities and requests, decided by the compiled policy
//! and by a naive reference evaluator written independently here (a loop over every rule, a
//! recursive glob matcher). They must agree, and in particular:
//! - a matching deny rule always wins (and is the one named);
//! - when no rule matches, the decision is deny with no rule id;
//! - a nil identity is always denied.

use hanami_guard_core::identity::{attr, fold};
use hanami_guard_core::policy::pattern::is_valid_spiffe_id;
use hanami_guard_core::policy::tree::{Mapping, Value};
use hanami_guard_core::policy::{OwnedIdentity, Policy, Reason};
use proptest::prelude::*;

const ACTIONS: &[&str] = &["read", "write", "deploy", "*"];
const REQUEST_ACTIONS: &[&str] = &["read", "write", "deploy", "other"];
const RESOURCES: &[&str] = &[
    "a", "b", "a/b", "a/b/c", "x/../a", "/a/b", "*", "**", "a/*", "a/**", "*/b", "a/**/c", "a*",
    "**/c", "*b*", "/a/*", "a/../*",
];
const REQUEST_RESOURCES: &[&str] = &[
    "a", "b", "a/b", "a/b/c", "a/x/c", "a/x/y/c", "x/../a", "a//b", "a/b/", "c", "", "/a/b", "ab",
    "bab", "a/./b", "a/b\n", "a/../b",
];
const CN_POLICY: &[&str] = &["op", "Op", "admin", "my  org"];
const CN_PRESENTED: &[&str] = &["op", "OP ", " admin", "My Org", "op\0", "op,O=x", "adm in"];
const SPIFFE_POLICY: &[&str] = &[
    "spiffe://td/ns/ops",
    "spiffe://td/ns/ops/*",
    "spiffe://td/ns/ops/**",
    "spiffe://td/**",
    "spiffe://other/ns/ops/*",
];
const SPIFFE_PRESENTED: &[&str] = &[
    "spiffe://td/ns/ops",
    "spiffe://td/ns/ops/sa",
    "spiffe://td/ns/ops/sa/x",
    "spiffe://td/ns/opsx/sa",
    "spiffe://td/ns/ops/../x",
    "spiffe://other/ns/ops/sa",
    "spiffe://td",
    "SPIFFE://td/ns/ops/sa",
];
const FINGERPRINTS: &[&str] = &[
    "aa00000000000000000000000000000000000000000000000000000000000000",
    "bb00000000000000000000000000000000000000000000000000000000000000",
];
const DNS: &[&str] = &["api.example.org", "web.example.org"];

#[derive(Debug, Clone)]
struct Cond {
    cn: Option<&'static str>,
    ou: Option<&'static str>,
    issuer_o: Option<&'static str>,
    spiffe: Option<&'static str>,
    fingerprint: Option<&'static str>,
    dns: Option<&'static str>,
}

#[derive(Debug, Clone)]
enum Who {
    Anyone,
    Cond(Cond),
}

#[derive(Debug, Clone)]
struct RuleSpec {
    deny: bool,
    actions: Vec<&'static str>,
    resources: Vec<&'static str>,
    principals: Vec<Who>,
}

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = &'static str> {
    proptest::sample::select(list)
}

fn cond() -> impl Strategy<Value = Cond> {
    (
        proptest::option::weighted(0.6, pick(CN_POLICY)),
        proptest::option::weighted(0.3, pick(&["c", "d"])),
        proptest::option::weighted(0.2, pick(&["MyOrg", "Other"])),
        proptest::option::weighted(0.3, pick(SPIFFE_POLICY)),
        proptest::option::weighted(0.1, pick(FINGERPRINTS)),
        proptest::option::weighted(0.1, pick(DNS)),
    )
        .prop_map(|(cn, ou, issuer_o, spiffe, fingerprint, dns)| Cond {
            cn,
            ou,
            issuer_o,
            spiffe,
            fingerprint,
            dns,
        })
        .prop_filter("a principal needs a condition", |c| {
            c.cn.is_some()
                || c.ou.is_some()
                || c.issuer_o.is_some()
                || c.spiffe.is_some()
                || c.fingerprint.is_some()
                || c.dns.is_some()
        })
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![1 => Just(Who::Anyone), 5 => cond().prop_map(Who::Cond)]
}

fn rule() -> impl Strategy<Value = RuleSpec> {
    (
        proptest::bool::weighted(0.4),
        proptest::collection::vec(pick(ACTIONS), 1..3),
        proptest::collection::vec(pick(RESOURCES), 1..4),
        proptest::collection::vec(who(), 1..3),
    )
        .prop_map(|(deny, actions, resources, principals)| RuleSpec {
            deny,
            actions,
            resources,
            principals,
        })
}

#[derive(Debug, Clone)]
struct Presented {
    subject: Vec<(&'static str, &'static str)>,
    issuer_o: Option<&'static str>,
    spiffe: Option<&'static str>,
    fingerprint: Option<String>,
    dns: Vec<&'static str>,
}

fn presented() -> impl Strategy<Value = Presented> {
    (
        proptest::collection::vec(
            prop_oneof![
                pick(CN_PRESENTED).prop_map(|v| ("CN", v)),
                pick(&["c", "d", "C "]).prop_map(|v| ("OU", v)),
                pick(&["op", "c"]).prop_map(|v| ("2.5.4.99", v)),
            ],
            0..4,
        ),
        proptest::option::of(pick(&["myorg", "Other", "MyOrg,x"])),
        proptest::option::of(pick(SPIFFE_PRESENTED)),
        proptest::option::of((pick(FINGERPRINTS), any::<bool>()).prop_map(|(f, upper)| {
            if upper {
                f.to_uppercase()
            } else {
                f.to_owned()
            }
        })),
        proptest::collection::vec(pick(&["API.example.org", "web.example.org", "x.org"]), 0..2),
    )
        .prop_map(|(subject, issuer_o, spiffe, fingerprint, dns)| Presented {
            subject,
            issuer_o,
            spiffe,
            fingerprint,
            dns,
        })
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

fn tree(rules: &[RuleSpec]) -> Value {
    let mut top = Mapping::new();
    top.insert(s("version"), Value::Number(1.into()));
    let rules = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut m = Mapping::new();
            m.insert(s("id"), s(&format!("r{i}")));
            m.insert(s("effect"), s(if r.deny { "deny" } else { "allow" }));
            m.insert(
                s("actions"),
                Value::Sequence(r.actions.iter().map(|a| s(a)).collect()),
            );
            m.insert(
                s("resources"),
                Value::Sequence(r.resources.iter().map(|a| s(a)).collect()),
            );
            let principals = r
                .principals
                .iter()
                .map(|p| match p {
                    Who::Anyone => s("*"),
                    Who::Cond(c) => {
                        let mut pm = Mapping::new();
                        let mut subject = Mapping::new();
                        if let Some(cn) = c.cn {
                            subject.insert(s("CN"), s(cn));
                        }
                        if let Some(ou) = c.ou {
                            subject.insert(s("organizationalUnitName"), s(ou));
                        }
                        if !subject.is_empty() {
                            pm.insert(s("subject"), Value::Mapping(subject));
                        }
                        if let Some(o) = c.issuer_o {
                            let mut issuer = Mapping::new();
                            issuer.insert(s("2.5.4.10"), s(o));
                            pm.insert(s("issuer"), Value::Mapping(issuer));
                        }
                        if let Some(x) = c.spiffe {
                            pm.insert(s("spiffe_id"), s(x));
                        }
                        if let Some(x) = c.fingerprint {
                            pm.insert(s("fingerprint"), s(x));
                        }
                        if let Some(x) = c.dns {
                            pm.insert(s("dns_name"), s(x));
                        }
                        Value::Mapping(pm)
                    }
                })
                .collect();
            m.insert(s("principals"), Value::Sequence(principals));
            Value::Mapping(m)
        })
        .collect();
    top.insert(s("rules"), Value::Sequence(rules));
    Value::Mapping(top)
}

fn identity(p: &Presented) -> OwnedIdentity {
    OwnedIdentity {
        subject: p
            .subject
            .iter()
            .map(|(t, v)| OwnedIdentity::attribute(t, *v))
            .collect(),
        issuer: p
            .issuer_o
            .iter()
            .map(|v| OwnedIdentity::attribute("O", *v))
            .collect(),
        spiffe_id: p.spiffe.map(str::to_owned),
        dns_names: p.dns.iter().map(|d| d.to_string()).collect(),
        fingerprint: p.fingerprint.clone(),
    }
}

// ----- the reference evaluator -----

fn ref_seg(p: &[char], s: &[char]) -> bool {
    match p.split_first() {
        None => s.is_empty(),
        Some(('*', rest)) => (0..=s.len()).any(|k| ref_seg(rest, &s[k..])),
        Some((c, rest)) => s.first() == Some(c) && ref_seg(rest, &s[1..]),
    }
}

fn ref_segs(p: &[&str], r: &[&str]) -> bool {
    match p.split_first() {
        None => r.is_empty(),
        Some((&"**", rest)) => (0..=r.len()).any(|k| ref_segs(rest, &r[k..])),
        Some((seg, rest)) => {
            !r.is_empty()
                && ref_seg(
                    &seg.chars().collect::<Vec<_>>(),
                    &r[0].chars().collect::<Vec<_>>(),
                )
                && ref_segs(rest, &r[1..])
        }
    }
}

fn ref_resource(pattern: &str, resource: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == resource;
    }
    let segs: Vec<&str> = resource.split('/').collect();
    let normal = !resource.is_empty()
        && !resource.chars().any(char::is_control)
        && segs
            .iter()
            .all(|s| *s != "." && *s != ".." && !s.is_empty());
    normal && ref_segs(&pattern.split('/').collect::<Vec<_>>(), &segs)
}

fn ref_spiffe_one(pattern: &str, id: &str) -> bool {
    if let Some(base) = pattern.strip_suffix("/**") {
        id == base || id.starts_with(&format!("{base}/"))
    } else if let Some(base) = pattern.strip_suffix("/*") {
        id.strip_prefix(&format!("{base}/"))
            .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
    } else {
        id == pattern
    }
}

/// An allow reads only a valid SPIFFE ID with a path (an ID without one names a trust domain,
/// not a workload); a deny also reads an invalid one as written and with its `..` segments
/// resolved (the generated IDs need no other normalisation).
fn ref_spiffe(pattern: &str, id: Option<&str>, deny: bool) -> bool {
    let Some(id) = id else { return false };
    if !deny {
        return is_valid_spiffe_id(id)
            && id["spiffe://".len()..].contains('/')
            && ref_spiffe_one(pattern, id);
    }
    let mut resolved: Vec<&str> = Vec::new();
    for seg in id["spiffe://".len()..].split('/') {
        if seg == ".." {
            resolved.pop();
        } else {
            resolved.push(seg);
        }
    }
    let resolved = format!("spiffe://{}", resolved.join("/"));
    ref_spiffe_one(pattern, id) || ref_spiffe_one(pattern, &resolved)
}

/// A name condition: for a deny rule any value of the type may equal; for an allow rule the
/// type must be present and every value of it must equal (an ambiguous name never grants).
fn has_attr(attrs: &[(String, String)], type_name: &str, value: &str, deny: bool) -> bool {
    let oid = attr::oid_for(type_name).expect("known type");
    let values: Vec<&String> = attrs
        .iter()
        .filter(|(t, _)| *t == oid)
        .map(|(_, v)| v)
        .collect();
    if deny {
        // A deny also reads a value cut at its first NUL, as a C string reader sees it.
        values.iter().any(|v| {
            fold::wide_equal(v, value)
                || v.split_once('\0')
                    .is_some_and(|(p, _)| fold::wide_equal(p, value))
        })
    } else {
        !values.is_empty() && values.iter().all(|v| fold::values_equal(v, value))
    }
}

fn ref_principal(who: &Who, id: &OwnedIdentity, deny: bool) -> bool {
    let c = match who {
        Who::Anyone => return true,
        Who::Cond(c) => c,
    };
    c.cn.none_or(|v| has_attr(&id.subject, "CN", v, deny))
        && c.ou.none_or(|v| has_attr(&id.subject, "OU", v, deny))
        && c.issuer_o.none_or(|v| has_attr(&id.issuer, "O", v, deny))
        && c.spiffe
            .none_or(|p| ref_spiffe(p, id.spiffe_id.as_deref(), deny))
        && c.fingerprint.none_or(|f| {
            id.fingerprint
                .as_deref()
                .is_some_and(|g| g.to_lowercase().replace(':', "") == f)
        })
        && c.dns
            .none_or(|d| id.dns_names.iter().any(|n| n.eq_ignore_ascii_case(d)))
}

trait NoneOr<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool;
}
impl<T> NoneOr<T> for Option<T> {
    fn none_or(self, f: impl FnOnce(T) -> bool) -> bool {
        match self {
            None => true,
            Some(x) => f(x),
        }
    }
}

fn ref_matches(r: &RuleSpec, id: &OwnedIdentity, action: &str, resource: &str) -> bool {
    r.actions.iter().any(|a| *a == "*" || *a == action)
        && r.resources.iter().any(|p| ref_resource(p, resource))
        && r.principals.iter().any(|p| ref_principal(p, id, r.deny))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_policy_agrees_with_the_reference(
        rules in proptest::collection::vec(rule(), 0..12),
        who in presented(),
        action in pick(REQUEST_ACTIONS),
        resource in pick(REQUEST_RESOURCES),
    ) {
        let policy = Policy::from_value(&tree(&rules), "prop.yml").expect("generated policies are valid");
        let id = identity(&who);
        let d = policy.decide(Some(&id), action, resource);

        let first_deny = rules.iter().position(|r| r.deny && ref_matches(r, &id, action, resource));
        let first_allow = rules.iter().position(|r| !r.deny && ref_matches(r, &id, action, resource));
        match (first_deny, first_allow) {
            (Some(i), _) => {
                // A deny always wins, and is the one named.
                prop_assert!(!d.allowed);
                prop_assert_eq!(d.rule, Some(i));
                prop_assert_eq!(d.reason, Reason::DeniedByRule);
            }
            (None, Some(i)) => {
                prop_assert!(d.allowed);
                prop_assert_eq!(d.rule, Some(i));
            }
            (None, None) => {
                // No matching rule means deny, with no rule named.
                prop_assert!(!d.allowed);
                prop_assert_eq!(d.rule, None);
                prop_assert_eq!(d.reason, Reason::NoRuleMatched);
            }
        }
        prop_assert!(!policy.allowed(None::<&OwnedIdentity>, action, resource));
    }

    #[test]
    fn attribute_conditions_match_exactly_when_values_equal(
        policy_value in "[ aAbB\u{c4}\u{e4}]{1,6}",
        presented in "[ aAbB\u{c4}\u{e4}\u{0}\n,=]{0,8}",
    ) {
        prop_assume!(!policy_value.trim().is_empty());
        let mut top = Mapping::new();
        top.insert(s("version"), Value::Number(1.into()));
        let mut subject = Mapping::new();
        subject.insert(s("CN"), s(&policy_value));
        let mut principal = Mapping::new();
        principal.insert(s("subject"), Value::Mapping(subject));
        let mut rule = Mapping::new();
        rule.insert(s("id"), s("r"));
        rule.insert(s("effect"), s("allow"));
        rule.insert(s("actions"), Value::Sequence(vec![s("a")]));
        rule.insert(s("resources"), Value::Sequence(vec![s("r")]));
        rule.insert(s("principals"), Value::Sequence(vec![Value::Mapping(principal)]));
        top.insert(s("rules"), Value::Sequence(vec![Value::Mapping(rule)]));
        let policy = Policy::from_value(&Value::Mapping(top), "prop.yml").expect("valid");
        let id = OwnedIdentity {
            subject: vec![OwnedIdentity::attribute("CN", presented.clone())],
            ..Default::default()
        };
        let expected = fold::values_equal(&presented, &policy_value);
        prop_assert_eq!(policy.allowed(Some(&id), "a", "r"), expected);
        if presented.chars().any(char::is_control) {
            // A value with a control character never matches one without.
            prop_assert!(!policy.allowed(Some(&id), "a", "r"));
        }
    }

    #[test]
    fn deny_conditions_match_exactly_when_values_fold_equal(
        policy_value in "[ aAbB\u{c4}\u{e4}]{1,6}",
        presented in "[ aAbB\u{c4}\u{e4}\u{0}\n\u{a0}\u{ad}\u{200b}\u{ff21}\u{ff42}\u{212a}k,=]{0,8}",
    ) {
        prop_assume!(!policy_value.trim().is_empty());
        let mut top = Mapping::new();
        top.insert(s("version"), Value::Number(1.into()));
        let mut subject = Mapping::new();
        subject.insert(s("CN"), s(&policy_value));
        let mut principal = Mapping::new();
        principal.insert(s("subject"), Value::Mapping(subject));
        let mut rule = Mapping::new();
        rule.insert(s("id"), s("r"));
        rule.insert(s("effect"), s("deny"));
        rule.insert(s("actions"), Value::Sequence(vec![s("a")]));
        rule.insert(s("resources"), Value::Sequence(vec![s("r")]));
        rule.insert(s("principals"), Value::Sequence(vec![Value::Mapping(principal)]));
        top.insert(s("rules"), Value::Sequence(vec![Value::Mapping(rule)]));
        let policy = Policy::from_value(&Value::Mapping(top), "prop.yml").expect("valid");
        let id = OwnedIdentity {
            subject: vec![OwnedIdentity::attribute("CN", presented.clone())],
            ..Default::default()
        };
        // Wide equality decides a deny; strict equality always implies it.
        let expected = fold::wide_equal(&presented, &policy_value)
            || presented.split_once('\0').is_some_and(|(p, _)| fold::wide_equal(p, &policy_value));
        let d = policy.decide(Some(&id), "a", "r");
        prop_assert_eq!(d.rule.is_some(), expected);
        if fold::values_equal(&presented, &policy_value) {
            prop_assert!(expected);
        }
    }
}
