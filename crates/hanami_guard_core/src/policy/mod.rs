//! Policy: compiled allow/deny rules over client identities.
//!
//! A policy is data (YAML, or the same tree from the Ruby DSL), validated and compiled once
//! ([`Policy::parse`], [`Policy::from_value`], [`Policy::load`]) into a structure indexed by
//! action and then by exact resource, and evaluated on every request ([`Policy::decide`]):
//!
//! - default deny: nothing matching means deny, and a missing identity is always denied;
//! - a matching deny rule overrides any allow (the decision names the first such deny rule in
//!   file order; an allow names the first matching allow rule);
//! - rules for other actions, and exact-resource rules for other resources, cost nothing.
//!
//! A rule in [`Mode::Shadow`] is compiled into a second index only: [`Policy::decide`] never
//! reads it, and [`Policy::decide_shadow`] answers what the policy would decide were those rules
//! in force, so a new rule (or a whole candidate policy) can be rolled out by watching what it
//! would change. [`Policy::explain`] says why a decision came out as it did and, for a default
//! deny, names the closest rule and the condition that failed (see [`NearMiss`]); it is computed
//! only when asked for, never on the decision path.
//!
//! A compiled [`Policy`] is immutable, `Send + Sync`. [`PolicyFile`] adds `reload`: it swaps in
//! a new compiled policy only when the file changed *and* the new text is valid, so a broken
//! edit never fails open.

mod explain;
mod identity;
mod lint;
mod load;
pub mod pattern;
mod principal;
mod reload;
pub mod tree;

use std::collections::HashMap;
use std::path::Path;

pub use explain::{Failure, NearMiss};
pub use identity::{rfc4514_text, summary, Identity, OwnedIdentity, Verified};
pub use lint::Warning;
pub use load::{DSL_TAG, MAX_POLICY_BYTES, MAX_RULES};
pub use pattern::{ResourcePattern, SpiffePattern, MAX_RESOURCE_BYTES};
pub use principal::{parse_issuer_key, AttrCondition, Condition, Conditions, Principal, Uses};
pub use reload::PolicyFile;

use crate::error::{excerpt, key, Error, Field, Result};
use principal::Subject;

/// What a rule does when it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Allows, unless a deny rule also matches.
    Allow,
    /// Denies, whatever allows.
    Deny,
}

/// Whether a rule decides, or is only watched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The rule decides (the default).
    Enforce,
    /// The rule is evaluated and reported ([`Policy::decide_shadow`]) but never changes a
    /// decision.
    Shadow,
}

impl Mode {
    /// Every mode by the name a policy (`mode:`) or a caller (`Policy.load(path, mode:)`) gives.
    pub const NAMES: &'static [(&'static str, Mode)] =
        &[("enforce", Mode::Enforce), ("shadow", Mode::Shadow)];

    /// The mode named `name`, or `None` for a name that is not a mode (refuse it: a typo must
    /// never turn a rule off or on).
    pub fn from_name(name: &str) -> Option<Mode> {
        Mode::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
    }

    /// The name, as written in a policy.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Enforce => "enforce",
            Mode::Shadow => "shadow",
        }
    }
}

/// One validated rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Unique within the policy.
    pub id: Box<str>,
    /// `allow` or `deny`.
    pub effect: Effect,
    /// The rule lists `*`: it applies to every action.
    pub any_action: bool,
    /// The actions, when not `any_action` (deduplicated).
    pub actions: Vec<Box<str>>,
    /// Exact resources and globs.
    pub resources: Vec<ResourcePattern>,
    /// Any one of these must match.
    pub principals: Vec<Principal>,
    /// Whether it decides or is only watched.
    pub mode: Mode,
}

impl Rule {
    fn principals_match<I: Identity + ?Sized>(&self, who: &Subject<'_, I>) -> bool {
        let side = match self.effect {
            Effect::Allow => principal::Side::Allow,
            Effect::Deny => principal::Side::Deny,
        };
        self.principals.iter().any(|p| p.matches(who, side))
    }

    fn glob_matches(&self, segments: &[&str]) -> bool {
        self.resources.iter().any(|r| match r {
            ResourcePattern::Glob(g) => g.matches_segments(segments),
            ResourcePattern::Exact(_) => false,
        })
    }
}

/// Rule indexes (ascending, so the first match is the first in file order) for one effect.
#[derive(Debug, Default)]
struct Candidates {
    /// Rules naming the resource exactly: only their principals need checking.
    exact: HashMap<Box<str>, Vec<u32>>,
    /// Rules with a glob whose first segment is this literal (`reports/*` under `reports`):
    /// their globs and principals need checking when the resource starts with that segment.
    glob_by_head: HashMap<Box<str>, Vec<u32>>,
    /// Rules with a glob starting with a wildcard (`*/x`, `**`): checked for every resource.
    glob_other: Vec<u32>,
}

#[derive(Debug, Default)]
struct Bucket {
    deny: Candidates,
    allow: Candidates,
}

/// Rules indexed by action.
#[derive(Debug, Default)]
struct Index {
    by_action: HashMap<Box<str>, Bucket>,
    any_action: Bucket,
}

impl Index {
    /// Indexes the rules `include` selects.
    fn build(rules: &[Rule], include: impl Fn(&Rule) -> bool) -> Index {
        let mut index = Index::default();
        for (i, rule) in rules.iter().enumerate().filter(|(_, r)| include(r)) {
            let i = i as u32;
            let place = |bucket: &mut Bucket| {
                let c = match rule.effect {
                    Effect::Deny => &mut bucket.deny,
                    Effect::Allow => &mut bucket.allow,
                };
                for r in &rule.resources {
                    let list = match r {
                        ResourcePattern::Exact(e) => c.exact.entry(e.clone()).or_default(),
                        ResourcePattern::Glob(g) if !g.can_match() => continue,
                        ResourcePattern::Glob(g) => match g.literal_head() {
                            Some(head) => c.glob_by_head.entry(head.into()).or_default(),
                            None => &mut c.glob_other,
                        },
                    };
                    // Rules are placed in file order, so a duplicate can only be the last entry.
                    if list.last() != Some(&i) {
                        list.push(i);
                    }
                }
            };
            if rule.any_action {
                place(&mut index.any_action);
            } else {
                for a in &rule.actions {
                    place(index.by_action.entry(a.clone()).or_default());
                }
            }
        }
        index
    }
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// The allow rule [`Decision::rule`] matched and no deny rule did.
    AllowedByRule,
    /// The deny rule [`Decision::rule`] matched (deny overrides allow).
    DeniedByRule,
    /// No rule matched: default deny.
    NoRuleMatched,
    /// There is no identity: always denied.
    NoIdentity,
    /// The resource is longer than [`MAX_RESOURCE_BYTES`]: denied without evaluating rules.
    ResourceTooLong,
    /// The request could not be read (given by the binding: a resource that is not a string,
    /// an identity object that raised, ...): denied.
    InvalidRequest(Box<str>),
}

/// The outcome of [`Policy::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// The index of the deciding rule (the deny rule when one denied), `None` when no rule
    /// decided.
    pub rule: Option<usize>,
    /// Why.
    pub reason: Reason,
}

impl Decision {
    /// A denial that no rule made.
    pub fn denied(reason: Reason) -> Self {
        Decision {
            allowed: false,
            rule: None,
            reason,
        }
    }
}

/// A compiled, immutable policy.
#[derive(Debug)]
pub struct Policy {
    source: Box<str>,
    rules: Vec<Rule>,
    /// The rules in force.
    enforcing: Index,
    /// Every rule, shadow ones as if in force; `None` when no rule is in shadow mode.
    watched: Option<Index>,
    uses: Uses,
    digest: [u8; 32],
    version: [u8; 32],
    /// `version` as hex, computed once: every event carries it.
    version_hex: Box<str>,
}

impl Policy {
    /// Parses and compiles YAML text. `source` names it in error messages (a file name).
    pub fn parse(text: &str, source: &str) -> Result<Policy> {
        Policy::parse_as(text, source, Mode::Enforce)
    }

    /// Parses and compiles YAML text; with [`Mode::Shadow`] every rule is in shadow mode, so
    /// the whole policy is a candidate that never decides (see [`Policy::decide_shadow`]).
    pub fn parse_as(text: &str, source: &str, mode: Mode) -> Result<Policy> {
        let value = load::parse_yaml(text, source)?;
        let mut policy = Policy::from_tree(&value, source, mode, Some(text))?;
        policy.digest = sha256(text.as_bytes());
        Ok(policy)
    }

    /// Validates and compiles a policy tree, as the Ruby DSL builds it: the same structure
    /// and the same checks as YAML.
    pub fn from_value(value: &tree::Value, source: &str) -> Result<Policy> {
        Policy::from_value_as(value, source, Mode::Enforce)
    }

    /// [`Policy::from_value`], with every rule in shadow mode when `mode` is [`Mode::Shadow`].
    pub fn from_value_as(value: &tree::Value, source: &str, mode: Mode) -> Result<Policy> {
        Policy::from_tree(value, source, mode, None)
    }

    /// [`Policy::from_value_as`]; `text` is the YAML `value` was parsed from, if it was, so a
    /// refusal can name its line.
    fn from_tree(
        value: &tree::Value,
        source: &str,
        mode: Mode,
        text: Option<&str>,
    ) -> Result<Policy> {
        let mut rules = load::rules_from_value(value, source, text)?;
        if mode == Mode::Shadow {
            rules.iter_mut().for_each(|r| r.mode = Mode::Shadow);
        }
        let mut policy = Policy::compile(rules, source);
        policy.version = version_of(value, mode);
        policy.version_hex = policy.version.iter().map(|b| format!("{b:02x}")).collect();
        Ok(policy)
    }

    /// Reads and compiles a policy file (at most [`MAX_POLICY_BYTES`]). A missing or
    /// unreadable file is an [`Error::Io`]; anything wrong inside it an [`Error::Policy`].
    pub fn load(path: &Path) -> Result<Policy> {
        let text = read_policy_file(path)?;
        Policy::parse(&text, &path.display().to_string())
    }

    /// Builds a policy from rules already validated. Its [`Policy::version`] is zero.
    pub fn compile(rules: Vec<Rule>, source: &str) -> Policy {
        let mut uses = Uses::default();
        for rule in &rules {
            rule.principals.iter().for_each(|p| uses.add(p));
        }
        let enforcing = Index::build(&rules, |r| r.mode == Mode::Enforce);
        let watched = rules
            .iter()
            .any(|r| r.mode == Mode::Shadow)
            .then(|| Index::build(&rules, |_| true));
        Policy {
            source: source.into(),
            rules,
            enforcing,
            watched,
            uses,
            digest: [0; 32],
            version: [0; 32],
            version_hex: "0".repeat(64).into(),
        }
    }

    /// The SHA-256 of the policy's canonical source: the tree it was built from (YAML or the
    /// DSL alike; comments, layout and quoting do not count, the order rules and keys are
    /// written in does), with the load mode when it is shadow. Two processes that loaded the
    /// same rules report the same version, so a decision log says which policy decided.
    pub fn version(&self) -> &[u8; 32] {
        &self.version
    }

    /// [`Policy::version`] as 64 lowercase hex digits.
    pub fn version_hex(&self) -> &str {
        &self.version_hex
    }

    /// Whether some rule is in shadow mode, so [`Policy::decide_shadow`] has something to say.
    pub fn has_shadow_rules(&self) -> bool {
        self.watched.is_some()
    }

    /// The source name given when loading (the file name, or a label).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The rules, in file order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The id of rule `index`.
    pub fn rule_id(&self, index: usize) -> Option<&str> {
        self.rules.get(index).map(|r| &*r.id)
    }

    /// What the rules read from an identity, so a caller extracts only that.
    pub fn uses(&self) -> Uses {
        self.uses
    }

    /// SHA-256 of the text this policy was parsed from (zero when built from a tree).
    pub fn digest(&self) -> &[u8; 32] {
        &self.digest
    }

    /// Whether `identity` may do `action` on `resource`. Never fails: every input is
    /// request data and anything unusable is a denial.
    pub fn allowed<I: Identity + ?Sized>(
        &self,
        identity: Option<&I>,
        action: &str,
        resource: &str,
    ) -> bool {
        self.decide(identity, action, resource).allowed
    }

    /// Decides, and says why.
    pub fn decide<I: Identity + ?Sized>(
        &self,
        identity: Option<&I>,
        action: &str,
        resource: &str,
    ) -> Decision {
        let identity = match identity {
            Some(i) => i,
            None => return Decision::denied(Reason::NoIdentity),
        };
        if resource.len() > MAX_RESOURCE_BYTES {
            return Decision::denied(Reason::ResourceTooLong);
        }
        self.decide_in(&self.enforcing, identity, action, resource)
    }

    /// What the policy would decide with its shadow rules in force (for a policy loaded in
    /// shadow mode: what the candidate would decide), or `None` when no rule is in shadow mode.
    /// Never the decision to act on: that is [`Policy::decide`].
    pub fn decide_shadow<I: Identity + ?Sized>(
        &self,
        identity: Option<&I>,
        action: &str,
        resource: &str,
    ) -> Option<Decision> {
        let watched = self.watched.as_ref()?;
        let identity = match identity {
            Some(i) => i,
            None => return Some(Decision::denied(Reason::NoIdentity)),
        };
        if resource.len() > MAX_RESOURCE_BYTES {
            return Some(Decision::denied(Reason::ResourceTooLong));
        }
        Some(self.decide_in(watched, identity, action, resource))
    }

    fn decide_in<I: Identity + ?Sized>(
        &self,
        index: &Index,
        identity: &I,
        action: &str,
        resource: &str,
    ) -> Decision {
        let who = Subject::new(identity, self.uses.spiffe_id);
        // An action longer than any rule may name can only match `*` rules.
        let bucket = if action.len() <= pattern::MAX_PATTERN_BYTES {
            index.by_action.get(action)
        } else {
            None
        };
        let mut segments: Option<Option<Vec<&str>>> = None;
        let buckets = [bucket, Some(&index.any_action)];

        if let Some(i) = self.first_match(&buckets, |b| &b.deny, &who, resource, &mut segments) {
            return Decision {
                allowed: false,
                rule: Some(i),
                reason: Reason::DeniedByRule,
            };
        }
        if let Some(i) = self.first_match(&buckets, |b| &b.allow, &who, resource, &mut segments) {
            return Decision {
                allowed: true,
                rule: Some(i),
                reason: Reason::AllowedByRule,
            };
        }
        Decision::denied(Reason::NoRuleMatched)
    }

    /// The lowest-index rule among the candidates that matches.
    fn first_match<'r, I: Identity + ?Sized>(
        &self,
        buckets: &[Option<&Bucket>; 2],
        pick: impl Fn(&Bucket) -> &Candidates,
        who: &Subject<'_, I>,
        resource: &'r str,
        segments: &mut Option<Option<Vec<&'r str>>>,
    ) -> Option<usize> {
        let mut best = u32::MAX;
        for bucket in buckets.iter().flatten() {
            let c = pick(bucket);
            if let Some(list) = c.exact.get(resource) {
                for &i in list.iter().take_while(|&&i| i < best) {
                    if self.rules[i as usize].principals_match(who) {
                        best = i;
                        break;
                    }
                }
            }
            if c.glob_by_head.is_empty() && c.glob_other.is_empty() {
                continue;
            }
            let segs = match segments.get_or_insert_with(|| pattern::glob_segments(resource)) {
                Some(segs) => segs,
                None => continue, // not in normal form: no glob may match it
            };
            let by_head = segs.first().and_then(|head| c.glob_by_head.get(*head));
            for list in [by_head, Some(&c.glob_other)].into_iter().flatten() {
                for &i in list.iter().take_while(|&&i| i < best) {
                    let rule = &self.rules[i as usize];
                    if rule.glob_matches(segs) && rule.principals_match(who) {
                        best = i;
                        break;
                    }
                }
            }
        }
        (best != u32::MAX).then_some(best as usize)
    }

    /// A sentence giving the reason for a decision, for logs and `Decision#reason`. Request
    /// values are excerpted and escaped. Cheap: it reads no identity (see [`Policy::explain`]
    /// for the closest rule of a denial).
    pub fn reason(&self, decision: &Decision, action: &str, resource: &str) -> String {
        let id = decision
            .rule
            .and_then(|i| self.rule_id(i))
            .map(|s| excerpt(s, 64))
            .unwrap_or_default();
        match &decision.reason {
            Reason::AllowedByRule => format!("allowed by rule \"{id}\""),
            Reason::DeniedByRule => {
                format!("denied by rule \"{id}\" (a deny rule overrides any allow)")
            }
            Reason::NoRuleMatched => format!(
                "denied: no rule allows action \"{}\" on resource \"{}\" for this identity \
                 (default deny)",
                excerpt(action, 64),
                excerpt(resource, 64)
            ),
            Reason::NoIdentity => {
                "denied: no identity (a request without a client identity is always denied)"
                    .to_owned()
            }
            Reason::ResourceTooLong => format!(
                "denied: the resource is longer than {MAX_RESOURCE_BYTES} bytes, so no rule is \
                 evaluated"
            ),
            Reason::InvalidRequest(why) => format!("denied: {why}"),
        }
    }

    /// Warnings about rules that are probably mistakes (see [`Warning`]).
    pub fn lint(&self) -> Vec<Warning> {
        lint::lint(self)
    }

    /// [`Policy::lint`], each warning with the 1-based line its rule starts at in `text`: the
    /// YAML this policy was parsed from (any other text gives no lines), for a tool that
    /// reports `FILE:LINE`. A warning about no rule in particular has no line.
    pub fn lint_lines(&self, text: &str) -> Vec<(Warning, Option<usize>)> {
        let lines = if sha256(text.as_bytes()) == self.digest {
            tree::item_lines(text, "rules")
        } else {
            Vec::new()
        };
        self.lint()
            .into_iter()
            .map(|w| {
                let line = w.rule.and_then(|i| lines.get(i).copied());
                (w, line)
            })
            .collect()
    }
}

/// The SHA-256 of a tree's canonical form (see [`Policy::version`]).
fn version_of(value: &tree::Value, mode: Mode) -> [u8; 32] {
    let mut canonical = String::new();
    value.write_canonical(&mut canonical);
    if mode == Mode::Shadow {
        canonical.push_str("\nmode: shadow");
    }
    sha256(canonical.as_bytes())
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// Reads a policy file: at most [`MAX_POLICY_BYTES`], UTF-8.
pub(crate) fn read_policy_file(path: &Path) -> Result<String> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(e, shown.clone()))?;
    read_policy_from(&file, &shown)
}

/// Reads an open policy file (see [`read_policy_file`]); `shown` names it in errors.
pub(crate) fn read_policy_from(file: &std::fs::File, shown: &str) -> Result<String> {
    use std::io::Read;
    let shown = shown.to_owned();
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(e, shown.clone()))?;
    let file = Field::Text(excerpt(&shown, 256));
    if bytes.len() > MAX_POLICY_BYTES {
        return Err(Error::policy(format!(
            "{shown}: the policy file is larger than {MAX_POLICY_BYTES} bytes"
        ))
        .with(key::FILE, file));
    }
    String::from_utf8(bytes).map_err(|e| {
        Error::policy(format!("{shown}: the policy file is not UTF-8 ({e})")).with(key::FILE, file)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = r#"
version: 1
rules:
  - id: operators-deploy
    effect: allow
    actions: [deploy]
    resources: [worker, api]
    principals:
      - subject: { CN: operator, O: MyOrg }
  - id: no-contractors
    effect: deny
    actions: ["*"]
    resources: [api]
    principals:
      - subject: { OU: Contractors }
"#;

    fn who(attrs: &[(&str, &str)]) -> OwnedIdentity {
        OwnedIdentity {
            subject: attrs
                .iter()
                .map(|(t, v)| OwnedIdentity::attribute(t, *v))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn decides_with_default_deny_and_deny_wins() -> Result<()> {
        let p = Policy::parse(YAML, "t.yml")?;
        let op = who(&[("CN", "operator"), ("O", "MyOrg")]);
        let contractor = who(&[("CN", "operator"), ("O", "MyOrg"), ("OU", "Contractors")]);
        assert!(p.allowed(Some(&op), "deploy", "worker"));
        assert!(p.allowed(Some(&op), "deploy", "api"));
        assert!(!p.allowed(Some(&op), "restart", "worker"));
        assert!(p.allowed(Some(&contractor), "deploy", "worker"));
        let d = p.decide(Some(&contractor), "deploy", "api");
        assert!(!d.allowed);
        assert_eq!(d.rule.and_then(|i| p.rule_id(i)), Some("no-contractors"));
        assert!(!p.allowed(None::<&OwnedIdentity>, "deploy", "worker"));
        let spoof = who(&[("CN", "operator,O=MyOrg")]);
        assert!(!p.allowed(Some(&spoof), "deploy", "worker"));
        Ok(())
    }
}
