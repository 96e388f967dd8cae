//! `PolicyFile::reload` never fails open; `lint` finds the mistakes it promises to.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

use hanami_guard_core::policy::{OwnedIdentity, Policy, PolicyFile};
use hanami_guard_core::Error;

const V1: &str = "version: 1\nrules:\n  - { id: r, effect: allow, actions: [read], resources: [a], principals: [\"*\"] }\n";
const V2: &str = "version: 1\nrules:\n  - { id: r2, effect: allow, actions: [read], resources: [b], principals: [\"*\"] }\n";

/// Deploys a policy the way the docs say: a new file renamed over the old one.
fn replace(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write");
    std::fs::rename(&tmp, path).expect("rename");
}

/// Sets a file's modification time `secs` seconds in the past.
fn age(path: &Path, secs: u64) {
    let file = std::fs::File::options()
        .write(true)
        .open(path)
        .expect("open");
    file.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .expect("set_modified");
}

fn who() -> OwnedIdentity {
    OwnedIdentity {
        subject: vec![OwnedIdentity::attribute("CN", "x")],
        ..Default::default()
    }
}

#[test]
fn reload_swaps_only_a_changed_valid_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guard.yml");
    std::fs::write(&path, V1).expect("write");
    let file = PolicyFile::load(&path).expect("load");
    let id = who();
    assert!(file.current().allowed(Some(&id), "read", "a"));

    assert!(!file.reload().expect("unchanged"));

    replace(&path, V2);
    assert!(file.reload().expect("changed"));
    assert!(!file.current().allowed(Some(&id), "read", "a"));
    assert!(file.current().allowed(Some(&id), "read", "b"));

    // Broken: the error names the file; the old policy stays.
    replace(&path, "version: 1\nrules:\n  - { id: r3, effect: allow }\n");
    match file.reload() {
        Err(Error::Policy(msg)) => {
            assert!(msg.starts_with(&path.display().to_string()), "{msg}");
            assert!(msg.contains("r3"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
    assert!(file.current().allowed(Some(&id), "read", "b"));

    // Gone: an I/O error; the old policy stays.
    std::fs::remove_file(&path).expect("rm");
    assert!(matches!(file.reload(), Err(Error::Io { .. })));
    assert!(file.current().allowed(Some(&id), "read", "b"));

    // Fixed again: reloads.
    replace(&path, V1);
    assert!(file.reload().expect("fixed"));
    assert!(file.current().allowed(Some(&id), "read", "a"));
}

const FULL: &str = "version: 1\nrules:\n  - { id: all, effect: allow, actions: [read], resources: [\"**\"], principals: [\"*\"] }\n  - { id: no-secrets, effect: deny, actions: [read], resources: [\"secrets/**\"], principals: [\"*\"] }\n";

/// A writer that writes the file in place in two chunks: the first is valid YAML without the
/// trailing deny rule. A reload between the chunks must not drop the rule.
#[test]
fn reload_never_takes_a_file_being_written_in_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guard.yml");
    std::fs::write(&path, FULL).expect("write");
    age(&path, 60);
    let file = PolicyFile::load(&path).expect("load");
    let id = who();
    assert!(!file.current().allowed(Some(&id), "read", "secrets/key"));

    let cut = FULL.find("  - { id: no-secrets").expect("second rule");
    let mut writer = std::fs::File::create(&path).expect("truncate in place");
    writer.write_all(&FULL.as_bytes()[..cut]).expect("chunk 1");
    writer.flush().expect("flush");
    // The first chunk alone is a valid policy without the deny rule.
    assert!(Policy::parse(&FULL[..cut], "chunk.yml").is_ok());
    match file.reload() {
        Err(Error::Policy(msg)) => assert!(msg.contains("changed in place"), "{msg}"),
        other => panic!("took a half-written file: {other:?}"),
    }
    assert!(!file.current().allowed(Some(&id), "read", "secrets/key"));

    writer.write_all(&FULL.as_bytes()[cut..]).expect("chunk 2");
    drop(writer);
    // The whole file again: the content in force, so nothing to take.
    assert!(!file.reload().expect("unchanged content"));
    assert!(!file.current().allowed(Some(&id), "read", "secrets/key"));

    // An edit in place that has settled is taken.
    std::fs::write(&path, V1).expect("write");
    assert!(file.reload().is_err());
    age(&path, 60);
    assert!(file.reload().expect("settled"));
    assert!(file.current().allowed(Some(&id), "read", "a"));
}

/// A new file that was refused and is then edited in place is an in-place edit: it waits to
/// settle like any other.
#[test]
fn a_refused_new_file_edited_in_place_must_settle() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guard.yml");
    std::fs::write(&path, FULL).expect("write");
    let file = PolicyFile::load(&path).expect("load");
    replace(&path, "version: 1\nrules: [");
    assert!(matches!(file.reload(), Err(Error::Policy(m)) if !m.contains("changed in place")));
    let cut = FULL.find("  - { id: no-secrets").expect("second rule");
    let mut writer = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("open in place");
    writer.write_all(&FULL.as_bytes()[..cut]).expect("chunk 1");
    writer.flush().expect("flush");
    match file.reload() {
        Err(Error::Policy(msg)) => assert!(msg.contains("changed in place"), "{msg}"),
        other => panic!("took a half-written file: {other:?}"),
    }
    assert!(!file.current().allowed(Some(&who()), "read", "secrets/key"));
}

/// A rename (and a ConfigMap's symlink swap) is atomic, so a new file is taken at once.
#[test]
fn reload_takes_a_renamed_or_swapped_file_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let v1 = dir.path().join("..2026_01_01");
    let v2 = dir.path().join("..2026_01_02");
    std::fs::create_dir(&v1).expect("mkdir");
    std::fs::create_dir(&v2).expect("mkdir");
    std::fs::write(v1.join("guard.yml"), V1).expect("write");
    std::fs::write(v2.join("guard.yml"), V2).expect("write");
    let data = dir.path().join("..data");
    std::os::unix::fs::symlink(&v1, &data).expect("symlink");
    let path = dir.path().join("guard.yml");
    std::os::unix::fs::symlink("..data/guard.yml", &path).expect("symlink");

    let file = PolicyFile::load(&path).expect("load");
    let id = who();
    assert!(file.current().allowed(Some(&id), "read", "a"));
    // kubelet's swap: a new ..data link renamed over the old one.
    let next = dir.path().join("..data_tmp");
    std::os::unix::fs::symlink(&v2, &next).expect("symlink");
    std::fs::rename(&next, &data).expect("rename");
    assert!(file.reload().expect("swapped"));
    assert!(file.current().allowed(Some(&id), "read", "b"));

    replace(&path, V1);
    assert!(file.reload().expect("renamed"));
    assert!(file.current().allowed(Some(&id), "read", "a"));
}

#[test]
fn a_policy_without_a_file_cannot_reload() {
    let file = PolicyFile::fixed(Policy::parse(V1, "(string)").expect("valid"));
    assert!(matches!(file.reload(), Err(Error::Policy(m)) if m.contains("not loaded from a file")));
}

fn kinds(yaml: &str) -> Vec<(&'static str, Option<String>)> {
    let p = Policy::parse(yaml, "lint.yml").expect("valid");
    p.lint()
        .into_iter()
        .map(|w| (w.kind, w.rule.and_then(|i| p.rule_id(i)).map(str::to_owned)))
        .collect()
}

#[test]
fn lint_finds_shadowed_allow_rules() {
    let yaml = r#"
version: 1
rules:
  - { id: ops, effect: allow, actions: [deploy], resources: [worker, "reports/*"], principals: [{ subject: { CN: op, O: MyOrg } }] }
  - { id: also-ok, effect: allow, actions: [deploy], resources: [api], principals: [{ subject: { CN: op } }] }
  - { id: block-myorg, effect: deny, actions: ["*"], resources: ["**"], principals: [{ subject: { o: myorg } }] }
"#;
    let found = kinds(yaml);
    assert!(
        found.contains(&("shadowed", Some("ops".into()))),
        "{found:?}"
    );
    assert!(!found
        .iter()
        .any(|(k, id)| *k == "shadowed" && id.as_deref() == Some("also-ok")));

    // A narrower deny does not shadow.
    let yaml = r#"
version: 1
rules:
  - { id: ops, effect: allow, actions: [deploy, read], resources: ["reports/**"], principals: ["*"] }
  - { id: d, effect: deny, actions: [deploy], resources: ["reports/*"], principals: ["*"] }
"#;
    assert!(!kinds(yaml).iter().any(|(k, _)| *k == "shadowed"));

    let yaml = r#"
version: 1
rules:
  - { id: a, effect: allow, actions: [deploy], resources: ["reports/2024/*"], principals: [{ spiffe_id: "spiffe://td/ns/ops/*" }] }
  - { id: d, effect: deny, actions: [deploy], resources: ["reports/**"], principals: [{ trust_domain: td }] }
"#;
    assert!(kinds(yaml).contains(&("shadowed", Some("a".into()))));
}

#[test]
fn lint_finds_allow_anyone_never_matching_globs_and_dot_dot() {
    let yaml = r#"
version: 1
rules:
  - { id: open, effect: allow, actions: ["*"], resources: ["**"], principals: ["*"] }
  - { id: dead-glob, effect: allow, actions: [read], resources: ["a/../*", "b//*"], principals: [{ subject: { CN: x } }] }
  - { id: traversal, effect: allow, actions: [read], resources: ["../etc/passwd"], principals: [{ subject: { CN: x } }] }
  - { id: deny-anyone, effect: deny, actions: [nuke], resources: [x], principals: ["*"] }
"#;
    let found = kinds(yaml);
    assert!(
        found.contains(&("allows_anyone", Some("open".into()))),
        "{found:?}"
    );
    assert!(!found.contains(&("allows_anyone", Some("deny-anyone".into()))));
    assert_eq!(
        found
            .iter()
            .filter(|f| **f == ("glob_never_matches", Some("dead-glob".into())))
            .count(),
        2
    );
    assert!(found.contains(&("dot_dot_resource", Some("traversal".into()))));
    assert!(found.contains(&("dot_dot_resource", Some("dead-glob".into()))));
}

#[test]
fn lint_warns_of_an_allow_all_glob_beside_a_deny_glob() {
    let yaml = r#"
version: 1
rules:
  - { id: all, effect: allow, actions: [read], resources: ["**"], principals: [{ subject: { CN: x } }] }
  - { id: other-action, effect: deny, actions: [write], resources: ["secrets/**"], principals: ["*"] }
  - { id: no-secrets, effect: deny, actions: [read], resources: ["secrets/**"], principals: [{ subject: { OU: c } }] }
  - { id: also-all, effect: allow, actions: ["*"], resources: [docs, "**"], principals: [{ subject: { CN: y } }] }
  - { id: exact-deny-only, effect: allow, actions: [list], resources: ["**"], principals: [{ subject: { CN: z } }] }
  - { id: exact, effect: deny, actions: [list], resources: [secrets], principals: ["*"] }
"#;
    let found = kinds(yaml);
    let beside: Vec<_> = found
        .iter()
        .filter(|(k, _)| *k == "allow_all_beside_deny_glob")
        .map(|(_, id)| id.clone())
        .collect();
    assert_eq!(
        beside,
        vec![Some("all".into()), Some("also-all".into())],
        "{found:?}"
    );
    let p = Policy::parse(yaml, "lint.yml").expect("valid");
    let w = p.lint();
    let msg = &w
        .iter()
        .find(|w| w.kind == "allow_all_beside_deny_glob")
        .expect("warned")
        .message;
    assert!(msg.contains("rule \"no-secrets\""), "{msg}");
    assert!(msg.contains("case-sensitively"), "{msg}");
}

#[test]
fn lint_warns_of_exact_resources_not_in_normal_form() {
    let yaml = r#"
version: 1
rules:
  - { id: ok, effect: allow, actions: [read], resources: [a/b, c], principals: [{ subject: { CN: x } }] }
  - { id: slash, effect: deny, actions: [read], resources: ["/secrets/key"], principals: ["*"] }
  - { id: others, effect: deny, actions: [read], resources: ["a//b", "x/", "./y"], principals: ["*"] }
"#;
    let found = kinds(yaml);
    let count = |id: &str| {
        found
            .iter()
            .filter(|f| **f == ("resource_not_normal", Some(id.to_owned())))
            .count()
    };
    assert_eq!(
        (count("ok"), count("slash"), count("others")),
        (0, 1, 3),
        "{found:?}"
    );
}

#[test]
fn lint_of_a_clean_policy_is_empty_and_a_deny_only_policy_is_flagged() {
    let clean = r#"
version: 1
rules:
  - { id: a, effect: allow, actions: [read], resources: ["docs/**"], principals: [{ subject: { CN: x } }] }
  - { id: d, effect: deny, actions: [read], resources: ["docs/secret/**"], principals: [{ subject: { OU: Contractors } }] }
"#;
    assert_eq!(kinds(clean), vec![]);
    assert!(kinds("version: 1\nrules: []\n").contains(&("no_allow_rules", None)));
}

#[test]
fn lint_messages_name_the_rule_and_say_what_to_do() {
    let p = Policy::parse(
        "version: 1\nrules:\n  - { id: open, effect: allow, actions: [\"*\"], resources: [\"**\"], principals: [\"*\"] }\n",
        "lint.yml",
    )
    .expect("valid");
    let w = p.lint();
    assert_eq!(w.len(), 1);
    assert!(
        w[0].message.contains("rule \"open\" (rules[0])"),
        "{}",
        w[0].message
    );
    assert!(w[0].message.contains("Name the principals"));
}
