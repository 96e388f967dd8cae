//! One request to a policy, read from its Ruby arguments: the identity, the action and the
//! resource. Reading never raises on request data: anything unusable becomes a denial with a
//! reason ([`Reason::InvalidRequest`]).

use hanami_guard_core::policy::{Decision, OwnedIdentity, Policy, Reason, Uses, Verified};
use magnus::value::ReprValue;
use magnus::{Error, RString, Ruby, Symbol, Value};

use super::convert::class_name;
use super::policy_identity::{read_identity, Who};

/// The text of an action or resource, or why it is unusable.
pub enum Text<'a> {
    Borrowed(&'a str),
    Owned(String),
    Invalid(String),
}

impl Text<'_> {
    fn as_str(&self) -> &str {
        match self {
            Text::Borrowed(s) => s,
            Text::Owned(s) => s,
            Text::Invalid(_) => "",
        }
    }
}

/// Reads a String or Symbol argument.
///
/// # Safety
/// A borrowed result points into the Ruby string: the caller must make no Ruby call while it
/// holds it (so the string cannot be mutated or moved).
unsafe fn text<'a>(v: Value, what: &str) -> Text<'a> {
    if let Some(s) = RString::from_value(v) {
        // SAFETY: the caller keeps the string unchanged and alive while the result is held (see
        // the function's contract: the argument is on the Ruby stack and no Ruby code runs).
        return match unsafe { s.as_str() } {
            // SAFETY: the bytes belong to the Ruby string, not to the local handle `s`, so the
            // lifetime is widened to 'a under the same contract.
            Ok(s) => Text::Borrowed(unsafe { &*(s as *const str) }),
            Err(_) => Text::Invalid(format!("the {what} is not valid UTF-8")),
        };
    }
    if let Some(sym) = Symbol::from_value(v) {
        return match sym.name() {
            Ok(std::borrow::Cow::Borrowed(s)) => Text::Borrowed(s),
            Ok(std::borrow::Cow::Owned(s)) => Text::Owned(s),
            Err(_) => Text::Invalid(format!("the {what} is not valid UTF-8")),
        };
    }
    if v.is_nil() {
        return Text::Invalid(format!("no {what} was given (nil)"));
    }
    Text::Invalid(format!(
        "the {what} is a {}, not a String or Symbol",
        class_name(v)
    ))
}
/// A request read from its arguments, borrowing the Ruby strings it was given.
pub struct Request<'a> {
    who: Who<'a>,
    action: Text<'a>,
    resource: Text<'a>,
}

/// Runs `$body` with `$id` bound to the request's identity as the core reads it (a verified
/// certificate carries its chain), or evaluates `$none` when there is no usable identity.
macro_rules! with_identity {
    ($req:expr, |$id:ident| $body:expr, $none:expr) => {
        match &$req.who {
            Who::Converted(x) => {
                let $id = *x;
                $body
            }
            Who::Read(x) => {
                let $id = x;
                $body
            }
            Who::Certificate(cert, None) => {
                let $id = *cert;
                $body
            }
            Who::Certificate(cert, Some(chain)) => {
                let verified = Verified {
                    identity: *cert,
                    chain,
                };
                let $id = &verified;
                $body
            }
            Who::None | Who::Unreadable(_) => $none,
        }
    };
}

impl Request<'_> {
    /// The action's text ("" when unusable).
    pub fn action(&self) -> &str {
        self.action.as_str()
    }

    /// The resource's text ("" when unusable).
    pub fn resource(&self) -> &str {
        self.resource.as_str()
    }

    /// Why the request cannot be decided at all, if so.
    fn refused(&self) -> Option<Decision> {
        match (&self.who, &self.action, &self.resource) {
            (Who::None, _, _) => Some(Decision::denied(Reason::NoIdentity)),
            (Who::Unreadable(why), _, _) => Some(Decision::denied(Reason::InvalidRequest(
                why.as_str().into(),
            ))),
            (_, Text::Invalid(why), _) | (_, _, Text::Invalid(why)) => Some(Decision::denied(
                Reason::InvalidRequest(why.as_str().into()),
            )),
            _ => None,
        }
    }

    /// The decision of `policy`.
    pub fn decide(&self, policy: &Policy) -> Decision {
        if let Some(d) = self.refused() {
            return d;
        }
        let (a, r) = (self.action(), self.resource());
        with_identity!(
            self,
            |id| policy.decide(Some(id), a, r),
            Decision::denied(Reason::NoIdentity)
        )
    }

    /// What `candidate` would decide: its shadow rules in force, or, for a policy without any,
    /// its own decision (so any policy can be watched beside the one in force).
    pub fn decide_as_candidate(&self, candidate: &Policy) -> Decision {
        if let Some(d) = self.refused() {
            return d;
        }
        let (a, r) = (self.action(), self.resource());
        with_identity!(
            self,
            |id| candidate
                .decide_shadow(Some(id), a, r)
                .unwrap_or_else(|| candidate.decide(Some(id), a, r)),
            Decision::denied(Reason::NoIdentity)
        )
    }

    /// What `policy` would decide with its own shadow rules in force, if it has any.
    pub fn decide_shadow(&self, policy: &Policy) -> Option<Decision> {
        if !policy.has_shadow_rules() {
            return None;
        }
        if let Some(d) = self.refused() {
            return Some(d);
        }
        let (a, r) = (self.action(), self.resource());
        with_identity!(
            self,
            |id| policy.decide_shadow(Some(id), a, r),
            Some(Decision::denied(Reason::NoIdentity))
        )
    }

    /// The reason for `decision` (cheap: reads no identity).
    pub fn reason(&self, policy: &Policy, decision: &Decision) -> String {
        policy.reason(decision, self.action(), self.resource())
    }

    /// The explanation of `decision`: for a default deny, the closest rule and the condition
    /// that failed.
    pub fn explain(&self, policy: &Policy, decision: &Decision) -> String {
        let (a, r) = (self.action(), self.resource());
        with_identity!(
            self,
            |id| policy.explain(Some(id), decision, a, r),
            policy.explain(None::<&OwnedIdentity>, decision, a, r)
        )
    }
}

/// What `a` or `b` reads, so one read of a duck-typed identity serves both policies.
pub fn union(a: Uses, b: Uses) -> Uses {
    Uses {
        subject: a.subject || b.subject,
        issuer: a.issuer || b.issuer,
        spiffe_id: a.spiffe_id || b.spiffe_id,
        dns_names: a.dns_names || b.dns_names,
        fingerprint: a.fingerprint || b.fingerprint,
    }
}

/// Reads a request and hands it to `f`, which must return owned data: no Ruby call happens
/// between reading the arguments and the end of `f`. `uses` says what to read from a
/// duck-typed identity.
pub fn evaluate<R>(
    ruby: &Ruby,
    uses: Uses,
    identity: Value,
    action: Value,
    resource: Value,
    f: impl FnOnce(&Request<'_>) -> R,
) -> Result<R, Error> {
    let who = read_identity(ruby, identity, uses)?;
    // SAFETY: from here to the end of this function no Ruby method is called and nothing is
    // allocated on the Ruby heap (`f` returns owned Rust data), so the borrowed strings stay
    // valid and unchanged.
    let (action, resource) = unsafe { (text(action, "action"), text(resource, "resource")) };
    let request = Request {
        who,
        action,
        resource,
    };
    Ok(f(&request))
}
