//! `HanamiGuard::Certificate`: wraps the core's parsed, owned certificate. Every accessor copies
//! a field out into a new frozen Ruby value; nothing is re-parsed, nothing Ruby is kept.

use std::sync::{Arc, OnceLock};

use hanami_guard_core::identity::{Certificate, VerifiedChain};
use magnus::value::{LazyId, Opaque};
use magnus::{
    function, method, prelude::*, typed_data::Obj, Error, RArray, RClass, RModule, RString, Ruby,
    Value,
};

use super::convert::{frozen_str, interned_str, interned_strs, with_bytes, This};
use super::distinguished_name::{RbDistinguishedName, Source};
use super::spiffe_id::RbSpiffeId;
use crate::errors;

/// The Ruby object: a shared pointer to the immutable core certificate, and the chain a
/// `TrustStore` verified for it when it was returned by `TrustStore#verify` (the only way to
/// build one with a chain, so a policy's `issuer_key:` never reads a claim).
#[magnus::wrap(
    class = "HanamiGuard::Certificate",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
pub struct RbCertificate(pub Arc<Certificate>, pub Option<Arc<VerifiedChain>>);

/// Wraps a core certificate into a frozen Ruby object.
pub fn wrap(ruby: &Ruby, cert: Arc<Certificate>) -> Obj<RbCertificate> {
    let obj = ruby.obj_wrap(RbCertificate(cert, None));
    obj.freeze();
    obj
}

/// Wraps a certificate with the chain a `TrustStore` verified for it.
pub fn wrap_verified(
    ruby: &Ruby,
    cert: Arc<Certificate>,
    chain: VerifiedChain,
) -> Obj<RbCertificate> {
    let obj = ruby.obj_wrap(RbCertificate(cert, Some(Arc::new(chain))));
    obj.freeze();
    obj
}

fn parse(ruby: &Ruby, input: RString) -> Result<Obj<RbCertificate>, Error> {
    errors::guard(ruby, || {
        let cert = errors::map(ruby, with_bytes(input, Certificate::parse))?;
        Ok(wrap(ruby, Arc::new(cert)))
    })
}

/// `Certificate.parse`: a String (PEM or DER) or an `OpenSSL::X509::Certificate` (read through
/// `#to_der`). Dispatching here rather than in Ruby keeps the hot path to one method call.
fn parse_any(ruby: &Ruby, input: Value) -> Result<Obj<RbCertificate>, Error> {
    if let Some(s) = RString::from_value(input) {
        return parse(ruby, s);
    }
    // Looked up once: this is the per-request path for Puma's env["puma.peercert"].
    static OPENSSL_CERTIFICATE: OnceLock<Opaque<RClass>> = OnceLock::new();
    static TO_DER: LazyId = LazyId::new("to_der");
    let class = match OPENSSL_CERTIFICATE.get() {
        Some(class) => Some(ruby.get_inner(*class)),
        None => {
            let class = ruby
                .class_object()
                .const_get::<_, RModule>("OpenSSL")
                .and_then(|m| m.const_get::<_, RModule>("X509"))
                .and_then(|m| m.const_get::<_, RClass>("Certificate"))
                .ok();
            if let Some(class) = class {
                // A class constant is never collected; pin it against compaction too.
                magnus::gc::register_mark_object(class);
                let _ = OPENSSL_CERTIFICATE.set(class.into());
            }
            class
        }
    };
    if let Some(class) = class {
        if input.is_kind_of(class) {
            let der: RString = input.funcall(*TO_DER, ())?;
            return parse(ruby, der);
        }
    }
    Err(Error::new(
        ruby.exception_type_error(),
        format!(
            "Certificate.parse takes a PEM or DER String or an OpenSSL::X509::Certificate, not {}",
            class_name(input)
        ),
    ))
}

fn class_name(value: Value) -> String {
    match value.class().to_string() {
        s if s.is_empty() => "an object".to_owned(),
        s => s,
    }
}

fn parse_chain(ruby: &Ruby, input: RString) -> Result<RArray, Error> {
    parse_many(ruby, input, Certificate::parse_chain)
}

/// `Certificate._parse_pem_only`: PEM that holds only CERTIFICATE blocks (a forwarded header).
fn parse_pem_only(ruby: &Ruby, input: RString) -> Result<RArray, Error> {
    parse_many(ruby, input, Certificate::parse_pem_only)
}

/// `Certificate._parse_pem_one`: PEM that holds exactly one CERTIFICATE block (a forwarded
/// client certificate).
fn parse_pem_one(ruby: &Ruby, input: RString) -> Result<Obj<RbCertificate>, Error> {
    errors::guard(ruby, || {
        let cert = errors::map(ruby, with_bytes(input, Certificate::parse_pem_one))?;
        Ok(wrap(ruby, Arc::new(cert)))
    })
}

/// A frozen Array of the certificates `parse` reads from `input`.
fn parse_many(
    ruby: &Ruby,
    input: RString,
    parse: fn(&[u8]) -> hanami_guard_core::Result<Vec<Certificate>>,
) -> Result<RArray, Error> {
    errors::guard(ruby, || {
        let certs = errors::map(ruby, with_bytes(input, parse))?;
        let out = ruby.ary_new_capa(certs.len());
        for c in certs {
            out.push(wrap(ruby, Arc::new(c)))?;
        }
        out.freeze();
        Ok(out)
    })
}

impl RbCertificate {
    fn subject(ruby: &Ruby, rb_self: This<Self>) -> Obj<RbDistinguishedName> {
        RbDistinguishedName::wrap(ruby, Source::Subject(Arc::clone(&rb_self.0)))
    }

    fn issuer(ruby: &Ruby, rb_self: This<Self>) -> Obj<RbDistinguishedName> {
        RbDistinguishedName::wrap(ruby, Source::Issuer(Arc::clone(&rb_self.0)))
    }

    fn serial(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, rb_self.0.serial_hex())
    }

    fn not_before(rb_self: This<Self>) -> i64 {
        rb_self.0.not_before()
    }

    fn not_after(rb_self: This<Self>) -> i64 {
        rb_self.0.not_after()
    }

    fn valid_at(rb_self: This<Self>, unix_seconds: i64) -> bool {
        rb_self.0.valid_at(unix_seconds)
    }

    fn fingerprint(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, rb_self.0.fingerprint_hex())
    }

    fn dns_names(ruby: &Ruby, rb_self: This<Self>) -> RArray {
        interned_strs(ruby, rb_self.0.dns_names())
    }

    fn uris(ruby: &Ruby, rb_self: This<Self>) -> RArray {
        interned_strs(ruby, rb_self.0.uris())
    }

    fn emails(ruby: &Ruby, rb_self: This<Self>) -> RArray {
        interned_strs(ruby, rb_self.0.emails())
    }

    fn ip_addresses(ruby: &Ruby, rb_self: This<Self>) -> RArray {
        interned_strs(ruby, rb_self.0.ip_addresses())
    }

    fn spiffe_id(ruby: &Ruby, rb_self: This<Self>) -> Option<Obj<RbSpiffeId>> {
        rb_self
            .0
            .spiffe()
            .map(|id| RbSpiffeId::wrap(ruby, id.clone()))
    }

    fn is_svid(rb_self: This<Self>) -> bool {
        rb_self.0.is_svid()
    }

    /// The SPKI SHA-256 (hex) of each CA on the verified path, issuer first; `nil` unless this
    /// object came from `TrustStore#verify`.
    fn verified_issuer_keys(ruby: &Ruby, rb_self: This<Self>) -> Option<RArray> {
        rb_self.1.as_ref().map(|chain| {
            let keys: Vec<String> = chain
                .ca_keys()
                .iter()
                .map(|k| k.iter().map(|b| format!("{b:02x}")).collect())
                .collect();
            interned_strs(ruby, &keys)
        })
    }

    fn client_auth(rb_self: This<Self>) -> bool {
        rb_self.0.client_auth()
    }

    fn is_ca(rb_self: This<Self>) -> bool {
        rb_self.0.is_ca()
    }

    fn key_usage(ruby: &Ruby, rb_self: This<Self>) -> RArray {
        let usages = rb_self.0.key_usage();
        let a = ruby.ary_new_capa(usages.len());
        for u in usages {
            let _ = a.push(ruby.to_symbol(u));
        }
        a.freeze();
        a
    }

    fn to_der(ruby: &Ruby, rb_self: This<Self>) -> RString {
        let s = ruby.str_from_slice(rb_self.0.der());
        s.freeze();
        s
    }

    fn to_pem(ruby: &Ruby, rb_self: This<Self>) -> RString {
        frozen_str(ruby, &rb_self.0.to_pem())
    }

    fn same(rb_self: This<Self>, other: This<RbCertificate>) -> bool {
        Arc::ptr_eq(&rb_self.0, &other.0) || *rb_self.0 == *other.0
    }
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Certificate", ruby.class_object())?;
    class.undef_default_alloc_func();
    class
        .singleton_class()?
        .define_private_method("_parse", function!(parse, 1))?;
    class.define_singleton_method("parse", function!(parse_any, 1))?;
    class
        .singleton_class()?
        .define_private_method("_parse_chain", function!(parse_chain, 1))?;
    class
        .singleton_class()?
        .define_private_method("_parse_pem_only", function!(parse_pem_only, 1))?;
    class
        .singleton_class()?
        .define_private_method("_parse_pem_one", function!(parse_pem_one, 1))?;
    class.define_method("subject", method!(RbCertificate::subject, 0))?;
    class.define_method("issuer", method!(RbCertificate::issuer, 0))?;
    class.define_method("serial", method!(RbCertificate::serial, 0))?;
    class.define_private_method("_not_before", method!(RbCertificate::not_before, 0))?;
    class.define_private_method("_not_after", method!(RbCertificate::not_after, 0))?;
    class.define_private_method("_valid_at", method!(RbCertificate::valid_at, 1))?;
    class.define_method("fingerprint", method!(RbCertificate::fingerprint, 0))?;
    class.define_method("dns_names", method!(RbCertificate::dns_names, 0))?;
    class.define_method("uris", method!(RbCertificate::uris, 0))?;
    class.define_method("emails", method!(RbCertificate::emails, 0))?;
    class.define_method("ip_addresses", method!(RbCertificate::ip_addresses, 0))?;
    class.define_method("spiffe_id", method!(RbCertificate::spiffe_id, 0))?;
    class.define_method("svid?", method!(RbCertificate::is_svid, 0))?;
    class.define_method(
        "verified_issuer_keys",
        method!(RbCertificate::verified_issuer_keys, 0),
    )?;
    class.define_method("client_auth?", method!(RbCertificate::client_auth, 0))?;
    class.define_method("ca?", method!(RbCertificate::is_ca, 0))?;
    class.define_method("key_usage", method!(RbCertificate::key_usage, 0))?;
    class.define_method("to_der", method!(RbCertificate::to_der, 0))?;
    class.define_method("to_pem", method!(RbCertificate::to_pem, 0))?;
    class.define_private_method("_same?", method!(RbCertificate::same, 1))?;
    Ok(())
}
