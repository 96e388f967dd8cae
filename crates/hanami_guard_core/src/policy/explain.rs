//! Explaining a decision: for a default deny, the closest rule and the condition that failed.
//!
//! "Default deny" alone does not tell an operator that a rule failed on one condition (the
//! client's certificate came from another CA, its SPIFFE ID sits one namespace off). The
//! *closest rule* of a denial is defined as follows:
//!
//! 1. the candidates are the allow rules in force (not those in shadow mode) that name the
//!    action (or `*`) and whose resources match the resource;
//! 2. each principal of a candidate is scored by the number of its conditions that fail for
//!    the identity, read as an allow rule reads it (a condition is one key: `subject`,
//!    `issuer`, `spiffe_id`/`trust_domain` together, `dns_name`, `fingerprint`, `issuer_key`);
//! 3. the closest is the principal with the fewest failures; ties go to the rule first in file
//!    order, then to the principal first in the rule, so the answer never depends on hashing
//!    or threads.
//!
//! The explanation names that rule and each failed condition: what the identity presents and
//! what the rule wants, both escaped as log-safe text. It is computed only when asked for
//! ([`Policy::explain`]), never while deciding.

use smallvec::SmallVec;

use super::identity::{name_text, Identity};
use super::pattern::{glob_segments, is_valid_spiffe_id, SpiffePattern};
use super::principal::{AttrCondition, Condition, Conditions, Subject};
use super::{Decision, Effect, Mode, Policy, Principal, Reason, ResourcePattern};
use crate::error::excerpt;

/// One condition of the closest principal that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Which condition.
    pub condition: Condition,
    /// What the identity presents for it (log-safe text).
    pub presented: String,
    /// What the rule wants (log-safe text).
    pub wanted: String,
}

/// The rule that came closest to allowing a denied request (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearMiss {
    /// The rule's index.
    pub rule: usize,
    /// The principal's index in that rule.
    pub principal: usize,
    /// The conditions that failed, in the order the rule's principal is checked.
    pub failed: Vec<Failure>,
}

fn attr_conditions_text(conditions: &[AttrCondition]) -> String {
    let mut out = String::new();
    for (i, c) in conditions.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&crate::identity::attr::short_name_for_oid(&c.oid));
        out.push('=');
        crate::identity::dn::escape_value(&excerpt(&c.value, 64), &mut out);
    }
    out
}

fn spiffe_pattern_text(p: &SpiffePattern) -> String {
    match p {
        SpiffePattern::Exact(e) => e.to_string(),
        SpiffePattern::Children(prefix) => format!("{prefix}*"),
        SpiffePattern::Descendants(base) => format!("{base}/**"),
        SpiffePattern::TrustDomain(base) => format!(
            "any ID in trust domain {}",
            base.strip_prefix("spiffe://").unwrap_or(base)
        ),
    }
}

fn join<T: AsRef<str>>(items: impl Iterator<Item = T>, sep: &str, empty: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.take(8).enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(&excerpt(item.as_ref(), 128));
    }
    if out.is_empty() {
        out.push_str(empty);
    }
    out
}

fn describe<I: Identity + ?Sized>(
    cond: Condition,
    c: &Conditions,
    who: &Subject<'_, I>,
) -> Failure {
    let id = who.identity;
    let (presented, wanted) = match cond {
        Condition::Subject => (
            name_text(id.subject_attributes(), "(no subject)"),
            attr_conditions_text(&c.subject),
        ),
        Condition::Issuer => (
            name_text(id.issuer_attributes(), "(no issuer)"),
            attr_conditions_text(&c.issuer),
        ),
        Condition::SpiffeId => {
            let presented = match id.spiffe_id() {
                None => "(none)".to_owned(),
                Some(s) if !is_valid_spiffe_id(s) => {
                    format!("{} (not a valid SPIFFE ID)", excerpt(s, 128))
                }
                Some(s) if !s["spiffe://".len()..].contains('/') => {
                    format!("{} (a trust domain, not a workload)", excerpt(s, 128))
                }
                Some(s) => excerpt(s, 128),
            };
            (
                presented,
                join(c.spiffe.iter().map(spiffe_pattern_text), " and ", ""),
            )
        }
        Condition::DnsName => (
            join(id.dns_names(), ", ", "(none)"),
            c.dns_name.as_deref().unwrap_or_default().to_owned(),
        ),
        Condition::Fingerprint => (
            id.fingerprint_hex()
                .map_or_else(|| "(none)".to_owned(), |f| excerpt(f, 96)),
            c.fingerprint.as_deref().unwrap_or_default().to_owned(),
        ),
        Condition::IssuerKey => (
            match id.verified_ca_keys() {
                None => "unknown (the identity was not verified by a TrustStore)".to_owned(),
                Some(_) => "a verified chain through other CA keys".to_owned(),
            },
            c.issuer_key.map_or_else(String::new, |k| {
                let hex: String = k.iter().map(|b| format!("{b:02x}")).collect();
                format!("a CA with key sha256:{hex}")
            }),
        ),
    };
    Failure {
        condition: cond,
        presented,
        wanted,
    }
}

impl NearMiss {
    /// `operators-deploy: issuer is CN=MyOrg Root CA,O=MyOrg, the rule wants CN=MyOrg Internal
    /// CA` (failures joined by `; `).
    pub fn sentence(&self, policy: &Policy) -> String {
        let id = policy.rule_id(self.rule).unwrap_or_default();
        let mut out = excerpt(id, 64);
        out.push_str(": ");
        for (i, f) in self.failed.iter().enumerate() {
            if i > 0 {
                out.push_str("; ");
            }
            out.push_str(&format!(
                "{} is {}, the rule wants {}",
                f.condition.key(),
                f.presented,
                f.wanted
            ));
        }
        out
    }
}

impl Policy {
    /// The allow rule in force that came closest to allowing `identity` to do `action` on
    /// `resource` (see the module documentation), or `None` when no allow rule in force names
    /// that action and resource. Slow next to [`Policy::decide`]: call it only to explain.
    pub fn near_miss<I: Identity + ?Sized>(
        &self,
        identity: &I,
        action: &str,
        resource: &str,
    ) -> Option<NearMiss> {
        let who = Subject::new(identity, true);
        let segments = glob_segments(resource);
        let mut best: Option<(usize, usize, SmallVec<[Condition; 6]>)> = None;
        for (i, rule) in self.rules().iter().enumerate() {
            if rule.effect != Effect::Allow || rule.mode != Mode::Enforce {
                continue;
            }
            if !(rule.any_action || rule.actions.iter().any(|a| &**a == action)) {
                continue;
            }
            let resource_matches = rule.resources.iter().any(|r| match r {
                ResourcePattern::Exact(e) => **e == *resource,
                ResourcePattern::Glob(g) => {
                    segments.as_ref().is_some_and(|s| g.matches_segments(s))
                }
            });
            if !resource_matches {
                continue;
            }
            for (j, p) in rule.principals.iter().enumerate() {
                let failed = p.failed_conditions(&who);
                // Strictly fewer: an equal count keeps the earlier rule and principal.
                if best
                    .as_ref()
                    .map_or(true, |(_, _, b)| failed.len() < b.len())
                {
                    best = Some((i, j, failed));
                }
            }
        }
        let (rule, principal, failed) = best?;
        let failed = match &self.rules()[rule].principals[principal] {
            Principal::Conditions(c) => failed.into_iter().map(|f| describe(f, c, &who)).collect(),
            Principal::Anyone => Vec::new(),
        };
        Some(NearMiss {
            rule,
            principal,
            failed,
        })
    }

    /// Explains `decision` (made by this policy on these arguments): for a default deny, the
    /// closest rule and each condition that failed; otherwise the reason. Request and identity
    /// values are excerpted and escaped. Computed on demand, never while deciding.
    pub fn explain<I: Identity + ?Sized>(
        &self,
        identity: Option<&I>,
        decision: &Decision,
        action: &str,
        resource: &str,
    ) -> String {
        let rule_id = || {
            decision
                .rule
                .and_then(|i| self.rule_id(i))
                .map(|s| excerpt(s, 64))
                .unwrap_or_default()
        };
        match (&decision.reason, identity) {
            (Reason::NoRuleMatched, Some(identity)) => {
                match self.near_miss(identity, action, resource) {
                    Some(miss) => miss.sentence(self),
                    None => format!(
                        "no allow rule in force names action \"{}\" and resource \"{}\" \
                         (default deny)",
                        excerpt(action, 64),
                        excerpt(resource, 64)
                    ),
                }
            }
            (Reason::DeniedByRule, _) => format!(
                "{}: this deny rule matches the identity (a deny rule overrides any allow)",
                rule_id()
            ),
            (Reason::AllowedByRule, _) => format!("{}: allowed", rule_id()),
            _ => self.reason(decision, action, resource),
        }
    }
}
