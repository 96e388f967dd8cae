//! `HanamiGuard::DistinguishedName`: wraps the core's name. Type lookup, RFC 4514 printing and
//! RFC 5280 comparison all happen in the core.

use std::sync::Arc;

use hanami_guard_core::identity::attr;
use hanami_guard_core::identity::dn::DistinguishedName;
use hanami_guard_core::identity::Certificate;
use magnus::{
    function, method, prelude::*, typed_data::Obj, Error, RArray, RModule, RString, Ruby, Symbol,
    Value,
};

use super::convert::{interned_str, interned_strs, with_bytes, This};
use crate::errors;

/// Where a name lives: parsed from a string (owned), or inside a certificate (shared with it,
/// so `cert.subject` allocates nothing but the Ruby object; the certificate decodes the name
/// once, when something first needs all of it).
pub enum Source {
    Owned(Box<DistinguishedName>),
    Subject(Arc<Certificate>),
    Issuer(Arc<Certificate>),
}

/// The Ruby object: an immutable core name.
#[magnus::wrap(
    class = "HanamiGuard::DistinguishedName",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
pub struct RbDistinguishedName(pub Source);

fn oid(ruby: &Ruby, name: &str) -> Result<String, Error> {
    if let Some(t) = attr::lookup(name) {
        return Ok(t.oid.to_owned());
    }
    attr::oid_for(name).ok_or_else(|| {
        errors::to_ruby(
            ruby,
            hanami_guard_core::Error::Argument(format!(
                "unknown attribute type {:?}: use a short name (CN, O, OU, ...), a long name \
                 (commonName) or a dotted OID (2.5.4.3)",
                hanami_guard_core::error::excerpt(name, 40)
            )),
        )
    })
}

/// An attribute type name given as a String or a Symbol.
fn type_name(ruby: &Ruby, name: Value) -> Result<String, Error> {
    if let Some(s) = RString::from_value(name) {
        return s.to_string();
    }
    if let Some(sym) = Symbol::from_value(name) {
        return Ok(sym.name()?.into_owned());
    }
    Err(Error::new(
        ruby.exception_type_error(),
        "an attribute type is a String or Symbol (\"CN\", :O)",
    ))
}

fn parse(ruby: &Ruby, input: RString) -> Result<Obj<RbDistinguishedName>, Error> {
    errors::guard(ruby, || {
        let text = input.to_string().map_err(|_| {
            errors::to_ruby(
                ruby,
                hanami_guard_core::Error::certificate(
                    hanami_guard_core::identity::cert::check::DISTINGUISHED_NAME,
                    // Ruby converts the encoding; the bytes were not text in it.
                    "a distinguished name string must be valid UTF-8",
                ),
            )
        })?;
        let dn = errors::map(ruby, DistinguishedName::parse(&text))?;
        Ok(RbDistinguishedName::wrap(ruby, Source::Owned(Box::new(dn))))
    })
}

impl RbDistinguishedName {
    /// Wraps a name into a frozen Ruby object.
    pub fn wrap(ruby: &Ruby, source: Source) -> Obj<Self> {
        let obj = ruby.obj_wrap(RbDistinguishedName(source));
        obj.freeze();
        obj
    }

    /// The name.
    pub fn dn(&self) -> &DistinguishedName {
        match &self.0 {
            Source::Owned(dn) => dn,
            Source::Subject(cert) => cert.subject(),
            Source::Issuer(cert) => cert.issuer(),
        }
    }

    fn to_s(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, &rb_self.dn().to_rfc4514())
    }

    fn to_a(ruby: &Ruby, rb_self: This<Self>) -> Result<RArray, Error> {
        let out = ruby.ary_new();
        for a in rb_self.dn().iter() {
            let pair = interned_strs(ruby, &[a.type_str(), a.value()]);
            out.push(pair)?;
        }
        out.freeze();
        Ok(out)
    }

    fn first(ruby: &Ruby, rb_self: This<Self>, name: Value) -> Result<Option<RString>, Error> {
        // The hot path (`dn["CN"]`): look a known name up in the String's own bytes.
        if let Some(s) = RString::from_value(name) {
            let known = with_bytes(s, |b| {
                std::str::from_utf8(b)
                    .ok()
                    .and_then(attr::lookup)
                    .map(|t| t.oid)
            });
            if let Some(oid) = known {
                return Ok(rb_self.first_value(ruby, oid));
            }
        }
        let name = type_name(ruby, name)?;
        // Known names resolve to a static OID: no allocation on the hot path (`dn["CN"]`).
        Ok(match attr::lookup(&name) {
            Some(t) => rb_self.first_value(ruby, t.oid),
            None => rb_self.first_value(ruby, &oid(ruby, &name)?),
        })
    }

    /// The first value of the type with this OID; a certificate's subject reads it straight
    /// from the DER (the core decodes the whole name only when something needs all of it).
    fn first_value(&self, ruby: &Ruby, oid: &str) -> Option<RString> {
        match &self.0 {
            Source::Subject(cert) => cert.subject_first(oid).map(|v| interned_str(ruby, &v)),
            _ => self.dn().first(oid).map(|v| interned_str(ruby, v)),
        }
    }

    fn values(ruby: &Ruby, rb_self: This<Self>, name: Value) -> Result<RArray, Error> {
        let oid = oid(ruby, &type_name(ruby, name)?)?;
        Ok(interned_strs(ruby, &rb_self.dn().values(&oid)))
    }

    /// `conditions`: `[[type_name, [value, ...]], ...]`, checked by the Ruby facade.
    fn matches(
        ruby: &Ruby,
        rb_self: This<Self>,
        conditions: Vec<(String, Vec<String>)>,
    ) -> Result<bool, Error> {
        let mut all = true;
        for (name, values) in &conditions {
            let oid = oid(ruby, name)?;
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            if !rb_self.dn().matches_values(&oid, &values) {
                all = false;
            }
        }
        Ok(all)
    }

    fn same(rb_self: This<Self>, other: This<RbDistinguishedName>) -> bool {
        *rb_self.dn() == *other.dn()
    }

    fn canonical(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, &rb_self.dn().canonical_key())
    }

    fn size(rb_self: This<Self>) -> usize {
        rb_self.dn().iter().count()
    }
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("DistinguishedName", ruby.class_object())?;
    class.undef_default_alloc_func();
    class
        .singleton_class()?
        .define_private_method("_parse", function!(parse, 1))?;
    class.define_method("to_s", method!(RbDistinguishedName::to_s, 0))?;
    class.define_method("to_a", method!(RbDistinguishedName::to_a, 0))?;
    class.define_method("[]", method!(RbDistinguishedName::first, 1))?;
    class.define_method("values", method!(RbDistinguishedName::values, 1))?;
    class.define_private_method("_match", method!(RbDistinguishedName::matches, 1))?;
    class.define_private_method("_same?", method!(RbDistinguishedName::same, 1))?;
    class.define_private_method("_canonical", method!(RbDistinguishedName::canonical, 0))?;
    class.define_method("size", method!(RbDistinguishedName::size, 0))?;
    Ok(())
}
