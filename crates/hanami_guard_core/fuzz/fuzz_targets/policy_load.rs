#![no_main]
//! Fuzz target `policy_load`: the real loader (YAML text to validated, compiled policy), then
//! decisions and lint on whatever loaded. Nothing may panic or hang; a loaded policy must deny a
//! missing identity, and a decision naming a rule must name one that exists.

use hanami_guard_core::policy::{OwnedIdentity, Policy};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = match std::str::from_utf8(data) {
        Ok(t) => t,
        Err(_) => return,
    };
    let policy = match Policy::parse(text, "fuzz.yml") {
        Ok(p) => p,
        Err(e) => {
            assert!(e.to_string().starts_with("fuzz.yml:"));
            return;
        }
    };
    let identities = [
        OwnedIdentity::default(),
        OwnedIdentity {
            subject: vec![
                OwnedIdentity::attribute("CN", "operator"),
                OwnedIdentity::attribute("O", "MyOrg"),
            ],
            issuer: vec![OwnedIdentity::attribute("CN", "MyOrg Internal CA")],
            spiffe_id: Some("spiffe://prod.example.org/ns/ops/x".to_owned()),
            dns_names: vec!["api.example.org".to_owned()],
            fingerprint: Some("ab".repeat(32)),
        },
    ];
    // Actions and resources drawn from the policy itself, plus hostile ones.
    let mut actions: Vec<&str> = vec!["deploy", "*", ""];
    let mut resources: Vec<&str> = vec!["worker", "a/../b", "", "a//b"];
    for rule in policy.rules().iter().take(8) {
        actions.extend(rule.actions.iter().map(|a| &**a));
        resources.extend(rule.resources.iter().map(|r| r.as_str()));
    }
    actions.truncate(16);
    resources.truncate(16);
    for action in &actions {
        for resource in &resources {
            assert!(!policy.allowed(None::<&OwnedIdentity>, action, resource));
            for who in &identities {
                let d = policy.decide(Some(who), action, resource);
                if let Some(i) = d.rule {
                    assert!(i < policy.rules().len());
                }
                let _ = policy.reason(&d, action, resource);
                let _ = policy.explain(Some(who), &d, action, resource);
            }
        }
    }
    let _ = policy.lint();
});
