//! `HanamiGuard::Policy::Identity`, and reading the identity of a request: a converted
//! `Policy::Identity`, a `HanamiGuard::Certificate` (decided on in place), or any object that
//! responds to `subject`, `issuer`, `spiffe_id`, `dns_names` and `fingerprint`.
//!
//! Request data never raises: an identity object whose methods raise a `StandardError`, or
//! return what no identity holds, is read as [`Who::Unreadable`] (a denial with the reason).
//! Only non-`StandardError` exceptions (an interrupt, `Thread#kill`) propagate, since
//! swallowing those would break the thread.

use hanami_guard_core::identity::dn::{tagged_value, DistinguishedName};
use hanami_guard_core::policy::{rfc4514_text, Identity, OwnedIdentity, Uses};
use magnus::value::ReprValue;
use magnus::{
    function, method, prelude::*, Error, Integer, RArray, RClass, RString, Ruby, Symbol, Value,
};

use super::certificate::RbCertificate;
use super::convert::{class_name, This};
use super::distinguished_name::RbDistinguishedName;
use crate::errors;

/// An identity converted once into Rust data, so each decision reads no Ruby object.
#[magnus::wrap(
    class = "HanamiGuard::Policy::Identity",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
pub struct RbIdentity(OwnedIdentity);

/// The identity of a request, as read for one decision.
pub enum Who<'a> {
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
    if let Some(dn) = This::<RbDistinguishedName>::from_value(name) {
        return Ok(Ok(oid_pairs(dn.dn())));
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

pub fn read_identity<'a>(ruby: &Ruby, v: Value, uses: Uses) -> Result<Who<'a>, Error> {
    if v.is_nil() {
        return Ok(Who::None);
    }
    // Recognised by type, with no error built for what is not (that would cost more than the
    // whole decision).
    if let Some(id) = This::<RbIdentity>::from_value(v) {
        return Ok(Who::Converted(&id.into_ref().0));
    }
    // A HanamiGuard::Certificate is decided on in place (the core certificate implements
    // `policy::Identity`), with no Ruby method called.
    if let Some(cert) = This::<RbCertificate>::from_value(v) {
        let cert = cert.into_ref();
        return Ok(Who::Certificate(&cert.0, cert.1.as_deref()));
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
    fn summary(rb_self: This<Self>) -> String {
        rb_self.0.summary()
    }

    fn subject(rb_self: This<Self>) -> Vec<(String, String)> {
        named(&rb_self.0.subject)
    }

    fn issuer(rb_self: This<Self>) -> Vec<(String, String)> {
        named(&rb_self.0.issuer)
    }

    fn spiffe_id(rb_self: This<Self>) -> Option<String> {
        rb_self.0.spiffe_id.clone()
    }

    fn dns_names(rb_self: This<Self>) -> Vec<String> {
        rb_self.0.dns_names.clone()
    }

    fn fingerprint(rb_self: This<Self>) -> Option<String> {
        rb_self.0.fingerprint.clone()
    }
}
impl RbIdentity {
    /// `[subject, issuer, spiffe_id, dns_names, fingerprint]`, the names as whole RFC 4514
    /// strings: what a decision log records so `hanami_guard replay` can rebuild the identity
    /// (`DistinguishedName.parse` reads each name back to the same attributes).
    #[allow(clippy::type_complexity)]
    fn record(
        rb_self: This<Self>,
    ) -> (String, String, Option<String>, Vec<String>, Option<String>) {
        let id = &rb_self.0;
        (
            rfc4514_text(id.subject_attributes()),
            rfc4514_text(id.issuer_attributes()),
            id.spiffe_id.clone(),
            id.dns_names.clone(),
            id.fingerprint.clone(),
        )
    }
}

pub fn init(ruby: &Ruby, policy: RClass) -> Result<(), Error> {
    let identity = policy.define_class("Identity", ruby.class_object())?;
    let singleton = identity.singleton_class()?;
    singleton.define_private_method("_new", function!(identity_new, 5))?;
    singleton.define_private_method("_from", function!(identity_from, 1))?;
    identity.define_method("to_s", method!(RbIdentity::summary, 0))?;
    identity.define_method("subject", method!(RbIdentity::subject, 0))?;
    identity.define_method("issuer", method!(RbIdentity::issuer, 0))?;
    identity.define_method("spiffe_id", method!(RbIdentity::spiffe_id, 0))?;
    identity.define_method("dns_names", method!(RbIdentity::dns_names, 0))?;
    identity.define_method("fingerprint", method!(RbIdentity::fingerprint, 0))?;
    identity.define_private_method("_record", method!(RbIdentity::record, 0))?;
    Ok(())
}
