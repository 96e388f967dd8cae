//! `HanamiGuard::Policy`: loading, deciding, reloading.
//!
//! Converts values and errors, nothing else: the loader, the index, the matching and the
//! explanations live in `hanami_guard_core::policy`. The jobs around it have their own files:
//! `policy_tree` (the DSL's Hash tree to the core's tree), `policy_identity` (reading the
//! identity of a request, and `Policy::Identity`), `policy_request` (one request read from its
//! arguments) and `policy_events` (the `policy.decision` and `policy.shadow` events). The Ruby
//! facade (`lib/hanami_guard/policy.rb`) adds keywords, the DSL, `decide`, `authorize!` and
//! `lint`; `allowed?` and `reload!` are bound here directly, because `allowed?` is the hot path
//! and a Ruby wrapper would add a measurable share of its cost. Every other native method is
//! private.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use hanami_guard_core::policy::{Decision, Mode, Policy, PolicyFile};
use magnus::{function, method, prelude::*, Error, RModule, RString, Ruby, Value};

use super::convert::{closed_set, This};
use super::policy_events::{self, Listening, Outcome, ShadowOutcome};
use super::policy_request::{evaluate, union, Request};
use super::{policy_identity, policy_tree};
use crate::{errors, gvl};

/// A policy and the file it reloads from, with the candidate policy watched beside it.
#[magnus::wrap(
    class = "HanamiGuard::Policy",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
struct RbPolicy {
    file: Arc<PolicyFile>,
    /// A whole policy run in shadow beside this one (`Policy.load(path, shadow: candidate)`).
    candidate: Option<Arc<PolicyFile>>,
}

impl RbPolicy {
    fn new(file: PolicyFile) -> RbPolicy {
        RbPolicy {
            file: Arc::new(file),
            candidate: None,
        }
    }
}

fn mode(ruby: &Ruby, name: String) -> Result<Mode, Error> {
    closed_set(ruby, "mode", "policy mode", &name, Mode::NAMES)
}

fn load(ruby: &Ruby, path: String, mode_name: String) -> Result<RbPolicy, Error> {
    errors::guard(ruby, || {
        let mode = mode(ruby, mode_name)?;
        let path = PathBuf::from(path);
        let file = gvl::nogvl(ruby, move || PolicyFile::load_as(&path, mode))?;
        errors::map(ruby, file).map(RbPolicy::new)
    })
}

fn parse(ruby: &Ruby, text: RString, source: String, mode_name: String) -> Result<RbPolicy, Error> {
    errors::guard(ruby, || {
        let mode = mode(ruby, mode_name)?;
        let text = text.to_string().map_err(|_| {
            errors::to_ruby(
                ruby,
                hanami_guard_core::Error::policy(format!(
                    "{source}: the policy text is not valid UTF-8"
                )),
            )
        })?;
        let policy = gvl::nogvl(ruby, move || Policy::parse_as(&text, &source, mode))?;
        errors::map(ruby, policy).map(|p| RbPolicy::new(PolicyFile::fixed(p)))
    })
}

fn from_tree(
    ruby: &Ruby,
    tree: Value,
    source: String,
    mode_name: String,
) -> Result<RbPolicy, Error> {
    errors::guard(ruby, || {
        let mode = mode(ruby, mode_name)?;
        let value = policy_tree::to_tree(ruby, tree, 0)?;
        let policy = Policy::from_value_as(&value, &source, mode);
        errors::map(ruby, policy).map(|p| RbPolicy::new(PolicyFile::fixed(p)))
    })
}

fn shadow_outcome(policy: &Policy, request: &Request<'_>, d: &Decision) -> ShadowOutcome {
    ShadowOutcome {
        allowed: d.allowed,
        rule_id: d.rule.and_then(|i| policy.rule_id(i)).map(str::to_owned),
        reason: request.reason(policy, d),
        version: policy.version_hex().to_owned(),
    }
}

impl RbPolicy {
    /// Decides, and gathers what the listeners want: the reason, the explanation when asked
    /// for, and what each policy in shadow would decide.
    fn outcome(
        &self,
        ruby: &Ruby,
        listening: Listening,
        args: (Value, Value, Value),
    ) -> Result<Outcome, Error> {
        let policy = self.file.current();
        let candidate = self.candidate.as_ref().map(|c| c.current());
        let uses = match &candidate {
            Some(c) if listening.shadow => union(policy.uses(), c.uses()),
            _ => policy.uses(),
        };
        let (identity, action, resource) = args;
        evaluate(ruby, uses, identity, action, resource, |request| {
            let d = request.decide(&policy);
            let mut shadows = Vec::new();
            if listening.shadow {
                if let Some(s) = request.decide_shadow(&policy) {
                    shadows.push(shadow_outcome(&policy, request, &s));
                }
                if let Some(c) = &candidate {
                    let s = request.decide_as_candidate(c);
                    shadows.push(shadow_outcome(c, request, &s));
                }
            }
            Outcome {
                allowed: d.allowed,
                rule_id: d.rule.and_then(|i| policy.rule_id(i)).map(str::to_owned),
                reason: request.reason(&policy, &d),
                explanation: (listening.decisions && listening.explain)
                    .then(|| request.explain(&policy, &d)),
                version: policy.version_hex().to_owned(),
                shadows,
            }
        })
    }

    fn allowed(
        ruby: &Ruby,
        rb_self: This<Self>,
        identity: Value,
        action: Value,
        resource: Value,
    ) -> Result<bool, Error> {
        errors::guard(ruby, || {
            let listening = Listening::now();
            if !listening.anyone() {
                let policy = rb_self.file.current();
                return evaluate(ruby, policy.uses(), identity, action, resource, |r| {
                    r.decide(&policy).allowed
                });
            }
            let started = Instant::now();
            let args = (identity, action, resource);
            let outcome = rb_self.outcome(ruby, listening, args)?;
            policy_events::emit(ruby, listening, args, &outcome, started)?;
            Ok(outcome.allowed)
        })
    }

    /// `[allowed, rule_id, reason]`, for `Policy#decide` to wrap in a `Decision`.
    fn decide(
        ruby: &Ruby,
        rb_self: This<Self>,
        identity: Value,
        action: Value,
        resource: Value,
    ) -> Result<(bool, Option<String>, String), Error> {
        errors::guard(ruby, || {
            let started = Instant::now();
            let listening = Listening::now();
            let args = (identity, action, resource);
            let outcome = rb_self.outcome(ruby, listening, args)?;
            if listening.anyone() {
                policy_events::emit(ruby, listening, args, &outcome, started)?;
            }
            Ok((outcome.allowed, outcome.rule_id, outcome.reason))
        })
    }

    /// The explanation of the decision on these arguments (`Decision#explain`), by the policy
    /// in force now. Emits no event.
    fn explain(
        ruby: &Ruby,
        rb_self: This<Self>,
        identity: Value,
        action: Value,
        resource: Value,
    ) -> Result<String, Error> {
        errors::guard(ruby, || {
            let policy = rb_self.file.current();
            evaluate(ruby, policy.uses(), identity, action, resource, |request| {
                let d = request.decide(&policy);
                request.explain(&policy, &d)
            })
        })
    }

    /// This policy with `candidate` run in shadow beside it (both share their files: a
    /// reload of either is seen here).
    fn with_shadow(rb_self: This<Self>, candidate: This<RbPolicy>) -> RbPolicy {
        RbPolicy {
            file: Arc::clone(&rb_self.file),
            candidate: Some(Arc::clone(&candidate.file)),
        }
    }

    fn lint(ruby: &Ruby, rb_self: This<Self>) -> Result<Vec<String>, Error> {
        errors::guard(ruby, || {
            let policy = rb_self.file.current();
            Ok(policy.lint().into_iter().map(|w| w.message).collect())
        })
    }

    /// `[[message, line or nil], ...]`: the lint warnings with the line of their rule in
    /// `text`, the YAML the policy was parsed from.
    fn lint_lines(
        ruby: &Ruby,
        rb_self: This<Self>,
        text: String,
    ) -> Result<Vec<(String, Option<usize>)>, Error> {
        errors::guard(ruby, || {
            let policy = rb_self.file.current();
            Ok(policy
                .lint_lines(&text)
                .into_iter()
                .map(|(w, line)| (w.message, line))
                .collect())
        })
    }

    fn reload(ruby: &Ruby, rb_self: This<Self>) -> Result<bool, Error> {
        errors::guard(ruby, || {
            let file = &rb_self.file;
            let result = gvl::nogvl(ruby, || file.reload())?;
            errors::map(ruby, result)
        })
    }

    fn path(rb_self: This<Self>) -> Option<String> {
        rb_self.file.path().map(|p| p.display().to_string())
    }

    fn source(rb_self: This<Self>) -> String {
        rb_self.file.current().source().to_owned()
    }

    fn version(rb_self: This<Self>) -> String {
        rb_self.file.current().version_hex().to_owned()
    }

    fn rule_ids(rb_self: This<Self>) -> Vec<String> {
        rb_self
            .file
            .current()
            .rules()
            .iter()
            .map(|r| r.id.to_string())
            .collect()
    }

    fn size(rb_self: This<Self>) -> usize {
        rb_self.file.current().rules().len()
    }
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Policy", ruby.class_object())?;
    magnus::gc::register_mark_object(class);
    policy_events::init(class);
    let singleton = class.singleton_class()?;
    singleton.define_private_method("_load", function!(load, 2))?;
    singleton.define_private_method("_parse", function!(parse, 3))?;
    singleton.define_private_method("_from_tree", function!(from_tree, 3))?;
    singleton.define_private_method("_listen", function!(policy_events::set_listening, 3))?;
    class.define_method("allowed?", method!(RbPolicy::allowed, 3))?;
    class.define_method("reload!", method!(RbPolicy::reload, 0))?;
    class.define_method("path", method!(RbPolicy::path, 0))?;
    class.define_method("source", method!(RbPolicy::source, 0))?;
    class.define_method("version", method!(RbPolicy::version, 0))?;
    class.define_method("rule_ids", method!(RbPolicy::rule_ids, 0))?;
    class.define_method("size", method!(RbPolicy::size, 0))?;
    class.define_private_method("_decide", method!(RbPolicy::decide, 3))?;
    class.define_private_method("_explain", method!(RbPolicy::explain, 3))?;
    class.define_private_method("_with_shadow", method!(RbPolicy::with_shadow, 1))?;
    class.define_private_method("_lint", method!(RbPolicy::lint, 0))?;
    class.define_private_method("_lint_lines", method!(RbPolicy::lint_lines, 1))?;
    policy_identity::init(ruby, class)
}
