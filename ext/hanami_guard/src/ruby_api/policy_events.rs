//! The `policy.decision` and `policy.shadow` events: whether anyone listens (one relaxed
//! atomic load per decision when nobody does), and the hand-over of a decision to
//! `HanamiGuard::Policy.__emit_decision` / `.__emit_shadow` (lib/hanami_guard/policy.rb), which
//! build the payloads and deliver them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use magnus::value::Opaque;
use magnus::{prelude::*, Error, RClass, Ruby, Value};

/// Someone listens to `policy.decision`.
static DECISIONS: AtomicBool = AtomicBool::new(false);
/// Someone listens to `policy.shadow`.
static SHADOW: AtomicBool = AtomicBool::new(false);
/// A `policy.decision` subscriber asked for explanations (`explain: true`).
static EXPLAIN: AtomicBool = AtomicBool::new(false);

/// `HanamiGuard::Policy`, to call the emitters on.
static POLICY_CLASS: OnceLock<Opaque<RClass>> = OnceLock::new();

/// What the listeners want, read once per decision.
#[derive(Clone, Copy)]
pub struct Listening {
    pub decisions: bool,
    pub shadow: bool,
    pub explain: bool,
}

impl Listening {
    pub fn now() -> Listening {
        Listening {
            decisions: DECISIONS.load(Ordering::Relaxed),
            shadow: SHADOW.load(Ordering::Relaxed),
            explain: EXPLAIN.load(Ordering::Relaxed),
        }
    }

    pub fn anyone(self) -> bool {
        self.decisions || self.shadow
    }
}

/// `Policy._listen(decisions, shadow, explain)`, called by `HanamiGuard::Events` whenever the
/// subscriptions change.
pub fn set_listening(decisions: bool, shadow: bool, explain: bool) {
    DECISIONS.store(decisions, Ordering::Relaxed);
    SHADOW.store(shadow, Ordering::Relaxed);
    EXPLAIN.store(explain, Ordering::Relaxed);
}

pub fn init(class: RClass) {
    let _ = POLICY_CLASS.set(class.into());
}

/// A decision, as owned data for the events.
pub struct Outcome {
    pub allowed: bool,
    pub rule_id: Option<String>,
    pub reason: String,
    /// Only when a subscriber asked for it.
    pub explanation: Option<String>,
    /// The version of the policy that decided.
    pub version: String,
    /// What each watched policy (the shadow rules, an attached candidate) would decide.
    pub shadows: Vec<ShadowOutcome>,
}

/// What a policy in shadow would have decided.
pub struct ShadowOutcome {
    pub allowed: bool,
    pub rule_id: Option<String>,
    pub reason: String,
    pub version: String,
}

/// Delivers the events for one decision.
pub fn emit(
    ruby: &Ruby,
    listening: Listening,
    args: (Value, Value, Value),
    outcome: &Outcome,
    started: Instant,
) -> Result<(), Error> {
    let duration = started.elapsed().as_secs_f64();
    let Some(class) = POLICY_CLASS.get() else {
        return Ok(());
    };
    let class = ruby.get_inner(*class);
    let (identity, action, resource) = args;
    if listening.decisions {
        let _: Value = class.funcall(
            "__emit_decision",
            (
                identity,
                action,
                resource,
                outcome.allowed,
                outcome.rule_id.clone(),
                outcome.reason.clone(),
                duration,
                outcome.version.clone(),
                outcome.explanation.clone(),
            ),
        )?;
    }
    if listening.shadow {
        for s in &outcome.shadows {
            let _: Value = class.funcall(
                "__emit_shadow",
                (
                    identity,
                    action,
                    resource,
                    (
                        outcome.allowed,
                        outcome.rule_id.clone(),
                        outcome.version.clone(),
                    ),
                    (
                        s.allowed,
                        s.rule_id.clone(),
                        s.reason.clone(),
                        s.version.clone(),
                    ),
                ),
            )?;
        }
    }
    Ok(())
}
