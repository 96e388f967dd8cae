//! `HanamiGuard::Xfcc`: Envoy's x-forwarded-client-cert header, parsed by the core into frozen
//! Hashes with canonical keys.

use hanami_guard_core::identity::xfcc;
use magnus::{function, prelude::*, Error, RArray, RModule, RString, Ruby};

use super::certificate::RbCertificate;
use super::convert::{frozen_str, frozen_strs, with_bytes, This};
use crate::errors;

fn parse(ruby: &Ruby, header: RString) -> Result<RArray, Error> {
    errors::guard(ruby, || {
        let elements = errors::map(ruby, with_bytes(header, xfcc::parse))?;
        let out = ruby.ary_new_capa(elements.len());
        for e in elements {
            let h = ruby.hash_new();
            for key in &e.keys {
                let value = match *key {
                    "By" => e.by.as_deref().map(|v| frozen_str(ruby, v).as_value()),
                    "Hash" => e.hash.as_deref().map(|v| frozen_str(ruby, v).as_value()),
                    "Cert" => e.cert.as_deref().map(|v| frozen_str(ruby, v).as_value()),
                    "Chain" => e.chain.as_deref().map(|v| frozen_str(ruby, v).as_value()),
                    "Subject" => e.subject.as_deref().map(|v| frozen_str(ruby, v).as_value()),
                    "URI" => Some(frozen_strs(ruby, &e.uris).as_value()),
                    _ => Some(frozen_strs(ruby, &e.dns).as_value()),
                };
                if let Some(v) = value {
                    h.aset(frozen_str(ruby, key), v)?;
                }
            }
            h.freeze();
            out.push(h)?;
        }
        out.freeze();
        Ok(out)
    })
}

/// Raises `CertificateError` unless `expected` is the certificate's SHA-256 (the core's rule).
fn check_hash(ruby: &Ruby, expected: RString, cert: This<RbCertificate>) -> Result<(), Error> {
    errors::guard(ruby, || {
        errors::map(ruby, with_bytes(expected, |b| xfcc::check_hash(b, &cert.0)))
    })
}

pub fn init(_ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let m = module.define_module("Xfcc")?;
    let singleton = m.singleton_class()?;
    singleton.define_private_method("_parse", function!(parse, 1))?;
    singleton.define_private_method("_check_hash", function!(check_hash, 2))?;
    Ok(())
}
