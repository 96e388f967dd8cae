//! `HanamiGuard::Policy` and `HanamiGuard::Policy::Identity`.
//!
//! Converts values and errors, nothing else: the loader, the index and the matching live in
//! `hanami_guard_core::policy`. The Ruby facade (`lib/hanami_guard/policy.rb`) adds the DSL,
//! `decide`, `authorize!` and `lint`; `allowed?` and `reload!` are bound here directly, because
//! `allowed?` is the hot path and a Ruby wrapper would add a measurable share of its cost.
//!
//! Request data never raises: a nil identity, an identity object whose methods raise a
//! `StandardError`, a resource that is not a String or Symbol, invalid UTF-8 — each is a
//! denial with a reason. Only non-`StandardError` exceptions (an interrupt, `Thread#kill`)
//! propagate, since swallowing those would break the thread.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

use hanami_guard_core::policy::tree::{self, Tag, TaggedValue};
use hanami_guard_core::policy::{Decision, OwnedIdentity, Policy, PolicyFile, Reason, Uses};
use magnus::value::{Opaque, ReprValue};
use magnus::{
    function, method, prelude::*, r_hash::ForEach, Error, Float, Integer, RArray, RClass, RHash,
    RModule, RString, Ruby, Symbol, TryConvert, Value,
};

use hanami_guard_core::identity::dn::{tagged_value, DistinguishedName};

use super::certificate::RbCertificate;
use super::distinguished_name::RbDistinguishedName;
use crate::{errors, gvl};

/// A policy and the file it reloads from.
#[magnus::wrap(
    class = "HanamiGuard::Policy",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
struct RbPolicy(PolicyFile);

/// An identity converted once into Rust data, so each decision reads no Ruby object.
#[magnus::wrap(
    class = "HanamiGuard::Policy::Identity",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
struct RbIdentity(OwnedIdentity);

/// Whether a decision subscriber is registered (`HanamiGuard.on_decision`). One relaxed load
/// per decision when off.
static AUDIT: AtomicBool = AtomicBool::new(false);

/// `HanamiGuard::Policy`, to call `__emit_decision` on when auditing.
static POLICY_CLASS: OnceLock<Opaque<RClass>> = OnceLock::new();

/// `HanamiGuard::Policy::Identity`, to recognise converted identities without raising.
static IDENTITY_CLASS: OnceLock<Opaque<RClass>> = OnceLock::new();
/// `HanamiGuard::Certificate`, to recognise certificates without raising.
static CERTIFICATE_CLASS: OnceLock<Opaque<RClass>> = OnceLock::new();

/// Deepest nesting the DSL tree may have (a policy needs 5).
const MAX_TREE_DEPTH: usize = 32;

// ---------------------------------------------------------------------------------------------
// Loading

fn load(ruby: &Ruby, path: String) -> Result<RbPolicy, Error> {
    errors::guard(ruby, || {
        let path = PathBuf::from(path);
        let file = gvl::nogvl(ruby, move || PolicyFile::load(&path))?;
        errors::map(ruby, file).map(RbPolicy)
    })
}

fn parse(ruby: &Ruby, text: RString, source: String) -> Result<RbPolicy, Error> {
    errors::guard(ruby, || {
        let text = text.to_string().map_err(|_| {
            errors::to_ruby(
                ruby,
                hanami_guard_core::Error::Policy(format!(
                    "{source}: the policy text is not valid UTF-8"
                )),
            )
        })?;
        let policy = gvl::nogvl(ruby, move || Policy::parse(&text, &source))?;
        errors::map(ruby, policy).map(|p| RbPolicy(PolicyFile::fixed(p)))
    })
}

fn from_tree(ruby: &Ruby, tree: Value, source: String) -> Result<RbPolicy, Error> {
    errors::guard(ruby, || {
        let value = to_yaml(ruby, tree, 0)?;
        let policy = Policy::from_value(&value, &source);
        errors::map(ruby, policy).map(|p| RbPolicy(PolicyFile::fixed(p)))
    })
}

fn ruby_tag(what: impl std::fmt::Display) -> tree::Value {
    tree::Value::Tagged(Box::new(TaggedValue {
        tag: Tag::new(format!(
            "{}{what}",
            hanami_guard_core::policy::DSL_TAG.trim_start_matches('!')
        )),
        value: tree::Value::Null,
    }))
}

/// Converts the DSL's Hash/Array tree into the loader's tree. Anything the loader cannot take
/// becomes a tagged value, so the loader refuses it with the rule and key in the message.
fn to_yaml(ruby: &Ruby, v: Value, depth: usize) -> Result<tree::Value, Error> {
    use tree::Value as Y;
    if depth > MAX_TREE_DEPTH {
        return Ok(ruby_tag(format!(
            "value nested deeper than {MAX_TREE_DEPTH} levels"
        )));
    }
    if v.is_nil() {
        return Ok(Y::Null);
    }
    if v.is_kind_of(ruby.class_true_class()) {
        return Ok(Y::Bool(true));
    }
    if v.is_kind_of(ruby.class_false_class()) {
        return Ok(Y::Bool(false));
    }
    if let Some(s) = RString::from_value(v) {
        return Ok(match s.to_string() {
            Ok(s) => Y::String(s),
            Err(_) => ruby_tag("String that is not valid UTF-8"),
        });
    }
    if let Some(s) = Symbol::from_value(v) {
        return Ok(match s.name() {
            Ok(s) => Y::String(s.into_owned()),
            Err(_) => ruby_tag("Symbol that is not valid UTF-8"),
        });
    }
    if let Some(i) = Integer::from_value(v) {
        return Ok(match i.to_i64() {
            Ok(n) => Y::Number(n.into()),
            Err(_) => ruby_tag("Integer too large"),
        });
    }
    if let Some(f) = Float::from_value(v) {
        return Ok(Y::Number(f.to_f64().into()));
    }
    if let Some(a) = RArray::from_value(v) {
        let mut out = Vec::with_capacity(a.len());
        for i in 0..a.len() {
            let item: Value = a.entry(i as isize)?;
            out.push(to_yaml(ruby, item, depth + 1)?);
        }
        return Ok(Y::Sequence(out));
    }
    if let Some(h) = RHash::from_value(v) {
        let mut map = tree::Mapping::new();
        h.foreach(|k: Value, val: Value| {
            let key = to_yaml(ruby, k, depth + 1)?;
            let val = to_yaml(ruby, val, depth + 1)?;
            if map.contains_key(&key) {
                // `{ CN: "a", "CN" => "b" }`: the loader reports it with its rule and key.
                map.insert(
                    key,
                    ruby_tag("Hash with this key given twice (as a String and as a Symbol)"),
                );
            } else {
                map.insert(key, val);
            }
            Ok(ForEach::Continue)
        })?;
        return Ok(Y::Mapping(map));
    }
    Ok(ruby_tag(class_name(v)))
}

fn class_name(v: Value) -> String {
    // SAFETY: the borrowed name is copied into an owned String before any other Ruby call.
    unsafe { v.classname() }.into_owned()
}

// ---------------------------------------------------------------------------------------------
// Identities

/// The identity of a request, as read for one decision.
enum Who<'a> {
    None,
    Converted(&'a OwnedIdentity),
    /// A certificate, with the chain a `TrustStore` verified when it came from `verify`.
    Certificate(
        &'a hanami_guard_core::identity::Certificate,
        Option<&'a hanami_guard_core::identity::VerifiedChain>,
    ),
    Read(OwnedIdentity),
    Unreadable(String),
}

/// Calls `identity.<name>`. `Ok(Err(why))` when it raised a `StandardError` (a denial);
/// `Err` for anything else (an interrupt), which must propagate.
fn call(ruby: &Ruby, recv: Value, name: &str) -> Result<Result<Value, String>, Error> {
    match recv.funcall::<_, _, Value>(name, ()) {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.is_kind_of(ruby.exception_standard_error()) => {
            let class = match e.value() {
                Some(ex) => class_name(ex.as_value()),
                None => "an error".to_owned(),
            };
            Ok(Err(format!("the identity's #{name} raised {class}")))
        }
        Err(e) => Err(e),
    }
}

fn owned_string(v: Value, what: &str) -> Result<String, String> {
    match RString::from_value(v) {
        Some(s) => s
            .to_string()
            .map_err(|_| format!("the identity's {what} is not valid UTF-8")),
        None => Err(format!(
            "the identity's {what} is a {}, not a String",
            class_name(v)
        )),
    }
}

/// Reads `subject`/`issuer` the way a certificate's names are read, so that a duck-typed identity
/// can never meet fewer deny rules than the same certificate as a `HanamiGuard::Certificate`:
///
/// - a `HanamiGuard::DistinguishedName` is read directly;
/// - an object with `to_der` (`OpenSSL::X509::Name`) is read from its DER by the core's name
///   reader, which decodes every value by its ASN.1 type (a BMPString OU is UTF-16, not bytes);
/// - otherwise `to_a` gives `[[type, value], ...]`; an entry with a third element (the ASN.1
///   type, as `OpenSSL::X509::Name#to_a` gives) has its value decoded by that type too, and a
///   type that is not an Integer is refused.
fn read_name(
    ruby: &Ruby,
    identity: Value,
    which: &str,
) -> Result<Result<Vec<(String, String)>, String>, Error> {
    let name = match call(ruby, identity, which)? {
        Ok(v) => v,
        Err(why) => return Ok(Err(why)),
    };
    read_name_value(ruby, name, which)
}

/// Reads one name object (see [`read_name`]); `which` names it in messages.
fn read_name_value(
    ruby: &Ruby,
    name: Value,
    which: &str,
) -> Result<Result<Vec<(String, String)>, String>, Error> {
    if name.is_nil() {
        return Ok(Ok(Vec::new()));
    }
    // Checked by class first: a failed `try_convert` builds a TypeError.
    if name.is_kind_of(<RbDistinguishedName as magnus::TypedData>::class(ruby)) {
        if let Ok(dn) = <&RbDistinguishedName>::try_convert(name) {
            return Ok(Ok(oid_pairs(dn.dn())));
        }
    }
    if name.respond_to("to_der", false)? {
        let der = match call(ruby, name, "to_der")? {
            Ok(v) => v,
            Err(why) => return Ok(Err(format!("{why} (from #{which})"))),
        };
        let Some(der) = RString::from_value(der) else {
            return Ok(Err(format!(
                "the identity's #{which}.to_der is not a String"
            )));
        };
        // SAFETY: the bytes are copied into an owned name before any other Ruby call.
        let parsed = DistinguishedName::from_der(unsafe { der.as_slice() });
        return Ok(match parsed {
            Ok(dn) => Ok(oid_pairs(&dn)),
            Err(e) => Err(format!("the identity's #{which}.to_der: {e}")),
        });
    }
    let list = match call(ruby, name, "to_a")? {
        Ok(v) => v,
        Err(why) => return Ok(Err(format!("{why} (from #{which})"))),
    };
    let list = match RArray::from_value(list) {
        Some(a) => a,
        None => return Ok(Err(format!("the identity's #{which}.to_a is not an Array"))),
    };
    let mut out = Vec::with_capacity(list.len());
    for i in 0..list.len() {
        let pair = match RArray::from_value(list.entry::<Value>(i as isize)?) {
            Some(p) if p.len() >= 2 => p,
            _ => {
                return Ok(Err(format!(
                    "the identity's #{which}.to_a holds an entry that is not [type, value]"
                )))
            }
        };
        let t: Value = pair.entry(0)?;
        let type_name = match Symbol::from_value(t) {
            Some(sym) => match sym.name() {
                Ok(n) => n.into_owned(),
                Err(_) => return Ok(Err(format!("an attribute type in #{which} is not UTF-8"))),
            },
            None => match owned_string(t, "attribute type") {
                Ok(s) => s,
                Err(why) => return Ok(Err(why)),
            },
        };
        let raw: Value = pair.entry(1)?;
        let value = if pair.len() >= 3 {
            match typed_value(pair.entry(2)?, raw, which) {
                Ok(s) => s,
                Err(why) => return Ok(Err(why)),
            }
        } else {
            match owned_string(raw, "attribute value") {
                Ok(s) => s,
                Err(why) => return Ok(Err(why)),
            }
        };
        out.push(OwnedIdentity::attribute(&type_name, value));
    }
    Ok(Ok(out))
}

/// A `[type, value, asn1_type]` entry's value, decoded by its ASN.1 type exactly as a
/// certificate's value is (see `hanami_guard_core::identity::dn::tagged_value`).
fn typed_value(tag: Value, raw: Value, which: &str) -> Result<String, String> {
    let tag = Integer::from_value(tag)
        .and_then(|i| i.to_u32().ok())
        .ok_or_else(|| {
            format!(
                "an entry of the identity's #{which}.to_a has a third element that is not an \
                 ASN.1 type number (OpenSSL::ASN1::UTF8STRING, ...)"
            )
        })?;
    let Some(raw) = RString::from_value(raw) else {
        return Err(format!(
            "the identity's attribute value is a {}, not a String",
            class_name(raw)
        ));
    };
    // SAFETY: the bytes are decoded into an owned String before any other Ruby call.
    let bytes = unsafe { raw.as_slice() };
    tagged_value(tag, bytes).ok_or_else(|| {
        format!(
            "an entry of the identity's #{which}.to_a has ASN.1 type {tag}, which is not a \
             universal type a name value can have"
        )
    })
}

/// A core name as `(oid, value)` pairs, as a certificate presents them to a policy.
fn oid_pairs(dn: &DistinguishedName) -> Vec<(String, String)> {
    dn.attributes()
        .map(|(oid, v)| (oid.to_owned(), v.to_owned()))
        .collect()
}

/// Reads what `uses` names from a duck-typed identity (`subject`, `issuer`, `spiffe_id`,
/// `dns_names`, `fingerprint`). Reading only what the policy tests keeps the per-call cost
/// down and lets identities without, say, a fingerprint work with policies that never pin one.
fn read_duck(ruby: &Ruby, v: Value, uses: Uses) -> Result<Result<OwnedIdentity, String>, Error> {
    macro_rules! tri {
        ($e:expr) => {
            match $e? {
                Ok(x) => x,
                Err(why) => return Ok(Err(why)),
            }
        };
    }
    let mut id = OwnedIdentity::default();
    if uses.subject {
        id.subject = tri!(read_name(ruby, v, "subject"));
    }
    if uses.issuer {
        id.issuer = tri!(read_name(ruby, v, "issuer"));
    }
    if uses.spiffe_id {
        let s = tri!(call(ruby, v, "spiffe_id"));
        if !s.is_nil() {
            let s = if RString::from_value(s).is_some() {
                s
            } else {
                tri!(call(ruby, s, "to_s"))
            };
            id.spiffe_id = Some(tri!(Ok::<_, Error>(owned_string(s, "spiffe_id"))));
        }
    }
    if uses.dns_names {
        let names = tri!(call(ruby, v, "dns_names"));
        if !names.is_nil() {
            let names = match RArray::from_value(names) {
                Some(a) => a,
                None => return Ok(Err("the identity's #dns_names is not an Array".to_owned())),
            };
            for i in 0..names.len() {
                let n = tri!(Ok::<_, Error>(owned_string(
                    names.entry(i as isize)?,
                    "DNS name"
                )));
                id.dns_names.push(n);
            }
        }
    }
    if uses.fingerprint {
        let fp = tri!(call(ruby, v, "fingerprint"));
        if !fp.is_nil() {
            id.fingerprint = Some(tri!(Ok::<_, Error>(owned_string(fp, "fingerprint"))));
        }
    }
    Ok(Ok(id))
}

fn read_identity<'a>(ruby: &Ruby, v: Value, uses: Uses) -> Result<Who<'a>, Error> {
    if v.is_nil() {
        return Ok(Who::None);
    }
    // Checked by class first: a failed `try_convert` builds a TypeError, which costs more than
    // the whole decision.
    let converted = IDENTITY_CLASS
        .get()
        .is_some_and(|c| v.is_kind_of(ruby.get_inner(*c)));
    if converted {
        if let Ok(id) = <&'a RbIdentity>::try_convert(v) {
            return Ok(Who::Converted(&id.0));
        }
    }
    // A HanamiGuard::Certificate is decided on in place (the core certificate implements
    // `policy::Identity`), with no Ruby method called. Checked by class, as above.
    let certificate = CERTIFICATE_CLASS
        .get()
        .is_some_and(|c| v.is_kind_of(ruby.get_inner(*c)));
    if certificate {
        if let Ok(cert) = <&'a RbCertificate>::try_convert(v) {
            return Ok(Who::Certificate(&cert.0, cert.1.as_deref()));
        }
    }
    Ok(match read_duck(ruby, v, uses)? {
        Ok(id) => Who::Read(id),
        Err(why) => Who::Unreadable(why),
    })
}

/// Builds an identity from plain data: `_new(subject, issuer, spiffe_id, dns_names,
/// fingerprint)`, where subject and issuer are names as a duck-typed identity gives them
/// (`[[type, value], ...]`, `[[type, value, asn1_type], ...]`, an `OpenSSL::X509::Name`, a
/// `DistinguishedName`), read the same way.
fn identity_new(
    ruby: &Ruby,
    subject: Value,
    issuer: Value,
    spiffe_id: Option<String>,
    dns_names: Vec<String>,
    fingerprint: Option<String>,
) -> Result<RbIdentity, Error> {
    errors::guard(ruby, || {
        let read = |v: Value, which: &str| -> Result<Vec<(String, String)>, Error> {
            read_name_value(ruby, v, which)?
                .map_err(|why| Error::new(ruby.exception_type_error(), format!("{which}: {why}")))
        };
        Ok(RbIdentity(OwnedIdentity {
            subject: read(subject, "subject")?,
            issuer: read(issuer, "issuer")?,
            spiffe_id,
            dns_names,
            fingerprint,
        }))
    })
}

/// `Policy::Identity.from(obj)`: converts a duck-typed identity once, reading every field.
fn identity_from(ruby: &Ruby, v: Value) -> Result<RbIdentity, Error> {
    errors::guard(ruby, || {
        let all = Uses {
            subject: true,
            issuer: true,
            spiffe_id: true,
            dns_names: true,
            fingerprint: true,
        };
        match read_duck(ruby, v, all)? {
            Ok(id) => Ok(RbIdentity(id)),
            Err(why) => Err(Error::new(
                ruby.exception_type_error(),
                format!(
                    "cannot convert the identity: {why}. An identity responds to subject and \
                     issuer (each an OpenSSL::X509::Name, or an object whose to_a gives \
                     [[type, value], ...]), spiffe_id, dns_names and fingerprint"
                ),
            )),
        }
    })
}

/// `[[short name or OID, value], ...]`, as `DistinguishedName#to_a` gives them.
fn named(attrs: &[(String, String)]) -> Vec<(String, String)> {
    attrs
        .iter()
        .map(|(oid, v)| {
            let name = match oid.strip_prefix('?') {
                Some(unknown) => unknown.to_owned(),
                None => hanami_guard_core::identity::attr::short_name_for_oid(oid),
            };
            (name, v.clone())
        })
        .collect()
}

impl RbIdentity {
    fn summary(&self) -> String {
        self.0.summary()
    }

    fn subject(&self) -> Vec<(String, String)> {
        named(&self.0.subject)
    }

    fn issuer(&self) -> Vec<(String, String)> {
        named(&self.0.issuer)
    }

    fn spiffe_id(&self) -> Option<String> {
        self.0.spiffe_id.clone()
    }

    fn dns_names(&self) -> Vec<String> {
        self.0.dns_names.clone()
    }

    fn fingerprint(&self) -> Option<String> {
        self.0.fingerprint.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Decisions

/// The text of an action or resource, or why it is unusable.
enum Text<'a> {
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

/// Evaluates a request and hands the decision (and the action and resource text) to `f`, which
/// must return owned data: no Ruby call happens between reading the arguments and `f`.
fn evaluate<R>(
    ruby: &Ruby,
    policy: &Policy,
    identity: Value,
    action: Value,
    resource: Value,
    f: impl FnOnce(&Decision, &str, &str) -> R,
) -> Result<R, Error> {
    let who = read_identity(ruby, identity, policy.uses())?;
    // SAFETY: from here to the end of this function no Ruby method is called and nothing is
    // allocated on the Ruby heap, so the borrowed strings stay valid and unchanged.
    let (action, resource) = unsafe { (text(action, "action"), text(resource, "resource")) };
    let decision = match (&who, &action, &resource) {
        (Who::None, _, _) => Decision::denied(Reason::NoIdentity),
        (Who::Unreadable(why), _, _) => {
            Decision::denied(Reason::InvalidRequest(why.as_str().into()))
        }
        (_, Text::Invalid(why), _) | (_, _, Text::Invalid(why)) => {
            Decision::denied(Reason::InvalidRequest(why.as_str().into()))
        }
        (Who::Converted(id), a, r) => policy.decide(Some(*id), a.as_str(), r.as_str()),
        (Who::Read(id), a, r) => policy.decide(Some(id), a.as_str(), r.as_str()),
        (Who::Certificate(cert, None), a, r) => policy.decide(Some(*cert), a.as_str(), r.as_str()),
        (Who::Certificate(cert, Some(chain)), a, r) => {
            let verified = hanami_guard_core::policy::Verified {
                identity: *cert,
                chain,
            };
            policy.decide(Some(&verified), a.as_str(), r.as_str())
        }
    };
    Ok(f(&decision, action.as_str(), resource.as_str()))
}

struct Explained {
    allowed: bool,
    rule_id: Option<String>,
    reason: String,
}

fn explained(policy: &Policy, d: &Decision, action: &str, resource: &str) -> Explained {
    Explained {
        allowed: d.allowed,
        rule_id: d.rule.and_then(|i| policy.rule_id(i)).map(str::to_owned),
        reason: policy.explain(d, action, resource),
    }
}

/// Calls `HanamiGuard::Policy.__emit_decision` (lib/hanami_guard/policy.rb), which builds the
/// event and hands it to the subscribers.
fn emit(
    ruby: &Ruby,
    identity: Value,
    action: Value,
    resource: Value,
    e: &Explained,
    started: Instant,
) -> Result<(), Error> {
    let duration = started.elapsed().as_secs_f64();
    if let Some(class) = POLICY_CLASS.get() {
        let class = ruby.get_inner(*class);
        let _: Value = class.funcall(
            "__emit_decision",
            (
                identity,
                action,
                resource,
                e.allowed,
                e.rule_id.clone(),
                e.reason.clone(),
                duration,
            ),
        )?;
    }
    Ok(())
}

impl RbPolicy {
    fn allowed(
        ruby: &Ruby,
        rb_self: &Self,
        identity: Value,
        action: Value,
        resource: Value,
    ) -> Result<bool, Error> {
        errors::guard(ruby, || {
            let policy = rb_self.0.current();
            if !AUDIT.load(Ordering::Relaxed) {
                return evaluate(ruby, &policy, identity, action, resource, |d, _, _| {
                    d.allowed
                });
            }
            let started = Instant::now();
            let e = evaluate(ruby, &policy, identity, action, resource, |d, a, r| {
                explained(&policy, d, a, r)
            })?;
            emit(ruby, identity, action, resource, &e, started)?;
            Ok(e.allowed)
        })
    }

    /// `[allowed, rule_id, reason]`, for `Policy#decide` to wrap in a `Decision`.
    fn decide(
        ruby: &Ruby,
        rb_self: &Self,
        identity: Value,
        action: Value,
        resource: Value,
    ) -> Result<(bool, Option<String>, String), Error> {
        errors::guard(ruby, || {
            let started = Instant::now();
            let policy = rb_self.0.current();
            let e = evaluate(ruby, &policy, identity, action, resource, |d, a, r| {
                explained(&policy, d, a, r)
            })?;
            if AUDIT.load(Ordering::Relaxed) {
                emit(ruby, identity, action, resource, &e, started)?;
            }
            Ok((e.allowed, e.rule_id, e.reason))
        })
    }

    fn lint(ruby: &Ruby, rb_self: &Self) -> Result<Vec<String>, Error> {
        errors::guard(ruby, || {
            let policy = rb_self.0.current();
            Ok(policy.lint().into_iter().map(|w| w.message).collect())
        })
    }

    fn reload(ruby: &Ruby, rb_self: &Self) -> Result<bool, Error> {
        errors::guard(ruby, || {
            let file = &rb_self.0;
            let result = gvl::nogvl(ruby, || file.reload())?;
            errors::map(ruby, result)
        })
    }

    fn path(&self) -> Option<String> {
        self.0.path().map(|p| p.display().to_string())
    }

    fn source(&self) -> String {
        self.0.current().source().to_owned()
    }

    fn rule_ids(&self) -> Vec<String> {
        self.0
            .current()
            .rules()
            .iter()
            .map(|r| r.id.to_string())
            .collect()
    }

    fn size(&self) -> usize {
        self.0.current().rules().len()
    }
}

fn set_audit(enabled: bool) {
    AUDIT.store(enabled, Ordering::Relaxed);
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Policy", ruby.class_object())?;
    magnus::gc::register_mark_object(class);
    let _ = POLICY_CLASS.set(class.into());
    class.define_singleton_method("_load", function!(load, 1))?;
    class.define_singleton_method("_parse", function!(parse, 2))?;
    class.define_singleton_method("_from_tree", function!(from_tree, 2))?;
    class.define_singleton_method("_audit=", function!(set_audit, 1))?;
    class.define_method("allowed?", method!(RbPolicy::allowed, 3))?;
    class.define_method("_decide", method!(RbPolicy::decide, 3))?;
    class.define_method("_lint", method!(RbPolicy::lint, 0))?;
    class.define_method("reload!", method!(RbPolicy::reload, 0))?;
    class.define_method("path", method!(RbPolicy::path, 0))?;
    class.define_method("source", method!(RbPolicy::source, 0))?;
    class.define_method("rule_ids", method!(RbPolicy::rule_ids, 0))?;
    class.define_method("size", method!(RbPolicy::size, 0))?;

    let identity = class.define_class("Identity", ruby.class_object())?;
    magnus::gc::register_mark_object(identity);
    let _ = IDENTITY_CLASS.set(identity.into());
    let _ = CERTIFICATE_CLASS.set(<RbCertificate as magnus::TypedData>::class(ruby).into());
    identity.define_singleton_method("_new", function!(identity_new, 5))?;
    identity.define_singleton_method("_from", function!(identity_from, 1))?;
    identity.define_method("to_s", method!(RbIdentity::summary, 0))?;
    identity.define_method("subject", method!(RbIdentity::subject, 0))?;
    identity.define_method("issuer", method!(RbIdentity::issuer, 0))?;
    identity.define_method("spiffe_id", method!(RbIdentity::spiffe_id, 0))?;
    identity.define_method("dns_names", method!(RbIdentity::dns_names, 0))?;
    identity.define_method("fingerprint", method!(RbIdentity::fingerprint, 0))?;
    Ok(())
}
