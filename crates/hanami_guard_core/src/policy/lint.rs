//! `lint`: rules that load fine but are probably mistakes.
//!
//! - an allow rule that a deny rule shadows completely (it can never allow anything);
//! - an allow rule whose principals match everyone (`"*"`);
//! - a glob that can never match (it has a `.`, `..` or empty segment, which no resource a glob
//!   may match has);
//! - a resource with a `..` segment, or an exact resource not in normal form (`/x`, `a//b`,
//!   `x/`, `./x`): only that exact spelling matches it, while the file system reads it as the
//!   normal one;
//! - an allow rule on every resource (`**`) beside a deny rule that names resources by a glob:
//!   the deny holds only for the spelling its glob sees, and any other spelling of the same
//!   thing (another case on a case-insensitive file system, a name the app decodes later)
//!   falls through to the allow. Allowing what is meant is safer than denying what is not;
//! - a policy with no allow rule in force (it denies everything);
//! - a rule in shadow mode (it never changes a decision), so one is not left in by mistake.
//!
//! Shadowing is checked conservatively: a warning means the allow rule is certainly dead; no
//! warning does not prove it is alive.

use std::collections::HashMap;

use super::{Effect, Mode, Policy, ResourcePattern, Rule};
use crate::error::excerpt;

/// Upper bound on rule pairs compared for shadowing, so lint stays fast on huge policies.
const MAX_SHADOW_COMPARISONS: usize = 2_000_000;

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The rule concerned (index), if any.
    pub rule: Option<usize>,
    /// A stable code: `shadowed`, `allows_anyone`, `glob_never_matches`, `dot_dot_resource`,
    /// `resource_not_normal`, `allow_all_beside_deny_glob`, `no_allow_rules`, `shadow_mode`,
    /// `lint_truncated`.
    pub kind: &'static str,
    /// A sentence naming the rule and what to do.
    pub message: String,
}

fn label(i: usize, rule: &Rule) -> String {
    format!("rule \"{}\" (rules[{i}])", excerpt(&rule.id, 64))
}

fn actions_cover(deny: &Rule, allow: &Rule) -> bool {
    deny.any_action || (!allow.any_action && allow.actions.iter().all(|a| deny.actions.contains(a)))
}

fn resources_cover(deny: &Rule, allow: &Rule) -> bool {
    allow.resources.iter().all(|r| {
        matches!(r, ResourcePattern::Glob(g) if !g.can_match())
            || deny.resources.iter().any(|d| d.covers(r))
    })
}

fn actions_overlap(a: &Rule, b: &Rule) -> bool {
    a.any_action || b.any_action || a.actions.iter().any(|x| b.actions.contains(x))
}

fn deny_glob(rule: &Rule) -> Option<&ResourcePattern> {
    rule.resources
        .iter()
        .find(|r| matches!(r, ResourcePattern::Glob(g) if g.can_match()))
}

fn principals_cover(deny: &Rule, allow: &Rule) -> bool {
    allow
        .principals
        .iter()
        .all(|a| deny.principals.iter().any(|d| d.covers(a)))
}

pub(super) fn lint(policy: &Policy) -> Vec<Warning> {
    let rules = policy.rules();
    let mut out = Vec::new();

    let enforcing = |r: &Rule| r.mode == Mode::Enforce;
    if !rules
        .iter()
        .any(|r| r.effect == Effect::Allow && enforcing(r))
    {
        let message = if rules.iter().any(|r| r.effect == Effect::Allow) {
            "the policy has no allow rule in force (every one is in shadow mode), so it denies \
             every request; that is right for a candidate loaded to run beside the enforcing \
             policy, not for the policy in force"
        } else {
            "the policy has no allow rule, so it denies every request"
        };
        out.push(Warning {
            rule: None,
            kind: "no_allow_rules",
            // Whoever prints warnings names the file; the others name their rule.
            message: message.to_owned(),
        });
    }

    // Deny rules by action, so an allow rule is compared only with denies that share one.
    let mut deny_by_action: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut deny_any: Vec<usize> = Vec::new();
    for (i, r) in rules.iter().enumerate() {
        // A deny in shadow mode never denies, so it shadows nothing.
        if r.effect != Effect::Deny || !enforcing(r) {
            continue;
        }
        if r.any_action {
            deny_any.push(i);
        } else {
            for a in &r.actions {
                deny_by_action.entry(a).or_default().push(i);
            }
        }
    }

    let mut budget = MAX_SHADOW_COMPARISONS;
    let mut truncated = false;
    for (i, rule) in rules.iter().enumerate() {
        let name = label(i, rule);
        if rule.mode == Mode::Shadow {
            out.push(Warning {
                rule: Some(i),
                kind: "shadow_mode",
                message: format!(
                    "{name}: is in shadow mode: it is evaluated and reported (the policy.shadow \
                     event) but never changes a decision; remove `mode: shadow` to enforce it"
                ),
            });
        }
        for r in &rule.resources {
            if let ResourcePattern::Glob(g) = r {
                if !g.can_match() {
                    out.push(Warning {
                        rule: Some(i),
                        kind: "glob_never_matches",
                        message: format!(
                            "{name}: the glob {:?} can never match: globs never match a resource \
                             with a `.`, `..` or empty segment; remove that segment",
                            excerpt(r.as_str(), 80)
                        ),
                    });
                }
            }
            if let ResourcePattern::Exact(e) = r {
                if !r.has_dot_dot() && super::pattern::glob_segments(e).is_none() {
                    out.push(Warning {
                        rule: Some(i),
                        kind: "resource_not_normal",
                        message: format!(
                            "{name}: the resource {:?} is not in normal form (a leading, doubled \
                             or trailing `/`, a `.` segment or a control character): only that \
                             exact spelling matches it, while a file system reads it as the \
                             normal one. Write it as `a/b`",
                            excerpt(e, 80)
                        ),
                    });
                }
            }
            if r.has_dot_dot() {
                out.push(Warning {
                    rule: Some(i),
                    kind: "dot_dot_resource",
                    message: format!(
                        "{name}: the resource {:?} has a `..` segment; name resources in normal \
                         form (a `..` usually means a path traversal, not a resource)",
                        excerpt(r.as_str(), 80)
                    ),
                });
            }
        }
        if rule.effect != Effect::Allow {
            continue;
        }
        let allows_everything = rule
            .resources
            .iter()
            .any(|r| matches!(r, ResourcePattern::Glob(g) if g.matches_everything()));
        if allows_everything {
            let beside = rules.iter().enumerate().find_map(|(d, deny)| {
                let glob = deny_glob(deny)?;
                (deny.effect == Effect::Deny && actions_overlap(deny, rule)).then_some((d, glob))
            });
            if let Some((d, glob)) = beside {
                out.push(Warning {
                    rule: Some(i),
                    kind: "allow_all_beside_deny_glob",
                    message: format!(
                        "{name}: allows every resource (`**`) while {} denies only what its glob \
                         {:?} matches; resources are compared case-sensitively, so another \
                         spelling of the same thing (`Secrets/key` on a case-insensitive file \
                         system, a name decoded later) is allowed. List the resources this rule \
                         grants instead of `**`",
                        label(d, &rules[d]),
                        excerpt(glob.as_str(), 80)
                    ),
                });
            }
        }
        if rule
            .principals
            .iter()
            .any(|p| matches!(p, super::Principal::Anyone))
        {
            let scope = if rule.any_action {
                "every action"
            } else {
                "its actions"
            };
            out.push(Warning {
                rule: Some(i),
                kind: "allows_anyone",
                message: format!(
                    "{name}: allows any identity (principal \"*\") on {scope}; any client with a \
                     trusted certificate passes. Name the principals, or make sure this is meant"
                ),
            });
        }
        if truncated {
            continue;
        }
        let candidates: Vec<usize> = if rule.any_action {
            deny_any.clone()
        } else {
            let mut c = deny_any.clone();
            if let Some(first) = rule.actions.first() {
                c.extend(deny_by_action.get(&**first).into_iter().flatten());
            }
            c
        };
        for d in candidates {
            if budget == 0 {
                truncated = true;
                break;
            }
            budget -= 1;
            let deny = &rules[d];
            if actions_cover(deny, rule)
                && resources_cover(deny, rule)
                && principals_cover(deny, rule)
            {
                out.push(Warning {
                    rule: Some(i),
                    kind: "shadowed",
                    message: format!(
                        "{name}: can never allow anything: {} denies every action, resource \
                         and principal it allows (deny overrides allow). Remove one of them or \
                         narrow the deny",
                        label(d, deny)
                    ),
                });
                break;
            }
        }
    }
    if truncated {
        out.push(Warning {
            rule: None,
            kind: "lint_truncated",
            message: format!(
                "{}: stopped looking for shadowed rules after {MAX_SHADOW_COMPARISONS} \
                 comparisons; split the policy to check the rest",
                policy.source()
            ),
        });
    }
    out
}
