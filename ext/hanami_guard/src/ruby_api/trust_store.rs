//! `HanamiGuard::TrustStore`: pinned CAs; verification runs in the core (rustls-webpki) without
//! the GVL, on owned copies of the certificates.

use std::sync::Arc;

use std::path::PathBuf;

use hanami_guard_core::error::key;
use hanami_guard_core::{Error as CoreError, Field};

use hanami_guard_core::identity::trust::{check_chain_length, MAX_INTERMEDIATES};
use hanami_guard_core::identity::{
    Certificate, ClientAuth, TrustFiles, TrustStore, TrustStoreFiles, VerifiedChain,
};
use magnus::{
    function, method, prelude::*, typed_data::Obj, Error, RArray, RHash, RModule, RString, Ruby,
    Symbol,
};

use super::certificate::{wrap_verified, RbCertificate};
use super::convert::{self, This};
use super::convert::{frozen_str, with_bytes};
use crate::{errors, gvl};

/// The Ruby object: the trust anchors and CRLs in force, and the files they reload from.
#[magnus::wrap(
    class = "HanamiGuard::TrustStore",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
pub struct RbTrustStore(TrustStoreFiles);

/// `client_auth:` as the facade names it (`required`, `when_present`).
fn client_auth(ruby: &Ruby, name: String) -> Result<ClientAuth, Error> {
    convert::closed_set_or(
        ruby,
        "client_auth",
        "client_auth:",
        &name,
        ClientAuth::NAMES,
        CoreError::Argument,
    )
}

fn new(
    ruby: &Ruby,
    bundle: Option<RString>,
    crls: RArray,
    bundles: RArray,
    mode: String,
    cache_size: i64,
) -> Result<Obj<RbTrustStore>, Error> {
    errors::guard(ruby, || {
        let mode = client_auth(ruby, mode)?;
        let cache_size = capacity(ruby, cache_size)?;
        let mut crl_bytes: Vec<Vec<u8>> = Vec::with_capacity(crls.len());
        for i in 0..crls.len() {
            let c: RString = crls.entry(i as isize)?;
            crl_bytes.push(with_bytes(c, <[u8]>::to_vec));
        }
        let crl_refs: Vec<&[u8]> = crl_bytes.iter().map(Vec::as_slice).collect();
        // `bundles` is `[[trust_domain, bundle], ...]`, built by the Ruby facade from a Hash.
        let mut domain_bytes: Vec<(String, Vec<u8>)> = Vec::with_capacity(bundles.len());
        for i in 0..bundles.len() {
            let pair: RArray = bundles.entry(i as isize)?;
            let td: RString = pair.entry(0)?;
            let body: RString = pair.entry(1)?;
            domain_bytes.push((trust_domain(ruby, td)?, with_bytes(body, <[u8]>::to_vec)));
        }
        let domain_refs: Vec<(&str, &[u8])> = domain_bytes
            .iter()
            .map(|(td, b)| (td.as_str(), b.as_slice()))
            .collect();
        let ca = bundle.map(|b| with_bytes(b, <[u8]>::to_vec));
        let store = errors::map(
            ruby,
            TrustStore::with_bundles(ca.as_deref(), &domain_refs, &crl_refs)
                .and_then(|store| store.with_client_auth(mode).with_cache_capacity(cache_size)),
        )?;
        let obj = ruby.obj_wrap(RbTrustStore(TrustStoreFiles::fixed(store)));
        obj.freeze();
        Ok(obj)
    })
}

/// A cache size: a count, so never negative.
fn capacity(ruby: &Ruby, n: i64) -> Result<usize, Error> {
    usize::try_from(n).map_err(|_| {
        errors::to_ruby(
            ruby,
            CoreError::configuration(format!(
                "cache_size: {n} is negative: give the number of verified chains to keep (0 turns the cache off)"
            ))
            .with(key::OPTION, Field::Name("cache_size")),
        )
    })
}

/// A file path, as Ruby's File takes it: any bytes but NUL.
fn path(ruby: &Ruby, s: RString) -> Result<PathBuf, Error> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = with_bytes(s, <[u8]>::to_vec);
    if bytes.contains(&0) {
        return Err(errors::to_ruby(
            ruby,
            CoreError::Argument("a trust file path contains a NUL byte".into()),
        ));
    }
    Ok(PathBuf::from(std::ffi::OsStr::from_bytes(&bytes)))
}

/// A trust domain name: refused as configuration when it is not UTF-8 (no trust domain is).
fn trust_domain(ruby: &Ruby, s: RString) -> Result<String, Error> {
    String::from_utf8(with_bytes(s, <[u8]>::to_vec)).map_err(|_| {
        errors::to_ruby(
            ruby,
            CoreError::Configuration(
                "a trust domain name is not UTF-8: write it as prod.example.org".into(),
            ),
        )
    })
}

/// `_load(ca_path_or_nil, [crl_path, ...], [[trust_domain, bundle_path], ...], client_auth,
/// cache_size)`.
fn load(
    ruby: &Ruby,
    ca: Option<RString>,
    crls: RArray,
    bundles: RArray,
    mode: String,
    cache_size: i64,
) -> Result<Obj<RbTrustStore>, Error> {
    errors::guard(ruby, || {
        let cache_size = capacity(ruby, cache_size)?;
        let mut files = TrustFiles {
            ca: ca.map(|c| path(ruby, c)).transpose()?,
            client_auth: client_auth(ruby, mode)?,
            ..TrustFiles::default()
        };
        for i in 0..crls.len() {
            files.crls.push(path(ruby, crls.entry(i as isize)?)?);
        }
        for i in 0..bundles.len() {
            let pair: RArray = bundles.entry(i as isize)?;
            let td: RString = pair.entry(0)?;
            files
                .bundles
                .push((trust_domain(ruby, td)?, path(ruby, pair.entry(1)?)?));
        }
        let loaded = gvl::nogvl(ruby, move || {
            TrustStoreFiles::load_with_cache_capacity(files, cache_size)
        })?;
        let obj = ruby.obj_wrap(RbTrustStore(errors::map(ruby, loaded)?));
        obj.freeze();
        Ok(obj)
    })
}

/// The intermediates as core certificates, after the core's length limit (a list of more is
/// refused before anything else is done with it).
fn chain(ruby: &Ruby, intermediates: RArray) -> Result<Vec<Arc<Certificate>>, Error> {
    errors::map(ruby, check_chain_length(intermediates.len()))?;
    let mut out = Vec::with_capacity(intermediates.len());
    for i in 0..intermediates.len() {
        let o: This<RbCertificate> = intermediates.entry(i as isize)?;
        out.push(Arc::clone(&o.0));
    }
    Ok(out)
}

impl RbTrustStore {
    fn check(
        ruby: &Ruby,
        rb_self: This<Self>,
        cert: This<RbCertificate>,
        intermediates: RArray,
        at: i64,
    ) -> Result<hanami_guard_core::Result<VerifiedChain>, Error> {
        let leaf = Arc::clone(&cert.0);
        let ints = chain(ruby, intermediates)?;
        let store = rb_self.0.current();
        // A chain verified before is a hash and a lookup: answered without releasing the GVL,
        // which costs more than that. Only a full verification runs without it.
        let refs: Vec<&Certificate> = ints.iter().map(|c| c.as_ref()).collect();
        if let Some(chain) = store.cached_chain(&leaf, &refs, at) {
            return Ok(Ok(chain));
        }
        drop(refs);
        gvl::nogvl(ruby, move || {
            let refs: Vec<&Certificate> = ints.iter().map(|c| c.as_ref()).collect();
            store.verify_chain(&leaf, &refs, at)
        })
    }

    /// The certificate again, as a new object that carries the verified chain.
    fn verify(
        ruby: &Ruby,
        rb_self: This<Self>,
        cert: This<RbCertificate>,
        intermediates: RArray,
        at: i64,
    ) -> Result<Obj<RbCertificate>, Error> {
        errors::guard(ruby, || {
            let result = Self::check(ruby, rb_self, cert, intermediates, at)?;
            let chain = errors::map(ruby, result)?;
            Ok(wrap_verified(ruby, Arc::clone(&cert.0), chain))
        })
    }

    /// `nil` when trusted, else the reason Symbol (no exception built for `verified?`).
    fn reason(
        ruby: &Ruby,
        rb_self: This<Self>,
        cert: This<RbCertificate>,
        intermediates: RArray,
        at: i64,
    ) -> Result<Option<Symbol>, Error> {
        errors::guard(ruby, || {
            Ok(match Self::check(ruby, rb_self, cert, intermediates, at)? {
                Ok(_) => None,
                Err(hanami_guard_core::Error::Untrusted { reason, .. }) => {
                    Some(ruby.to_symbol(reason.as_str()))
                }
                Err(other) => return Err(errors::to_ruby(ruby, other)),
            })
        })
    }

    fn client_auth(ruby: &Ruby, rb_self: This<Self>) -> Symbol {
        ruby.to_symbol(rb_self.0.current().client_auth().as_str())
    }

    fn anchor_count(rb_self: This<Self>) -> usize {
        rb_self.0.current().anchor_count()
    }

    fn reload(ruby: &Ruby, rb_self: This<Self>) -> Result<bool, Error> {
        errors::guard(ruby, || {
            let files = &rb_self.0;
            let result = gvl::nogvl(ruby, || files.reload())?;
            errors::map(ruby, result)
        })
    }

    /// `{capacity:, size:, hits:, misses:}` of the verified-chain cache in force.
    fn cache_stats(ruby: &Ruby, rb_self: This<Self>) -> Result<RHash, Error> {
        let stats = rb_self.0.current().cache_stats();
        let out = ruby.hash_new();
        out.aset(ruby.to_symbol("capacity"), stats.capacity)?;
        out.aset(ruby.to_symbol("size"), stats.len)?;
        out.aset(ruby.to_symbol("hits"), stats.hits)?;
        out.aset(ruby.to_symbol("misses"), stats.misses)?;
        out.freeze();
        Ok(out)
    }

    fn reloadable(rb_self: This<Self>) -> bool {
        rb_self.0.files().is_some()
    }

    fn trust_domains(ruby: &Ruby, rb_self: This<Self>) -> Result<RArray, Error> {
        let out = ruby.ary_new();
        for td in rb_self.0.current().trust_domains() {
            out.push(frozen_str(ruby, td))?;
        }
        out.freeze();
        Ok(out)
    }
}

/// Refuses a list of more intermediates than the core verifies, before the facade parses them.
fn check_length(ruby: &Ruby, count: usize) -> Result<(), Error> {
    errors::map(ruby, check_chain_length(count))
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("TrustStore", ruby.class_object())?;
    class.undef_default_alloc_func();
    class.const_set("MAX_INTERMEDIATES", MAX_INTERMEDIATES)?;
    let singleton = class.singleton_class()?;
    singleton.define_private_method("_new", function!(new, 5))?;
    singleton.define_private_method("_load", function!(load, 5))?;
    singleton.define_private_method("_check_chain_length", function!(check_length, 1))?;
    class.define_method("reload!", method!(RbTrustStore::reload, 0))?;
    class.define_method("reloadable?", method!(RbTrustStore::reloadable, 0))?;
    class.define_method("client_auth", method!(RbTrustStore::client_auth, 0))?;
    class.define_private_method("_verify", method!(RbTrustStore::verify, 3))?;
    class.define_private_method("_reason", method!(RbTrustStore::reason, 3))?;
    class.define_method("size", method!(RbTrustStore::anchor_count, 0))?;
    class.define_method("cache_stats", method!(RbTrustStore::cache_stats, 0))?;
    class.define_method("trust_domains", method!(RbTrustStore::trust_domains, 0))?;
    Ok(())
}
