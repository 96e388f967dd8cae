//! Chain verification against pinned CAs, for client authentication, with rustls-webpki (ring).
//!
//! webpki does the cryptography and the RFC 5280 path rules; this module pins the anchors,
//! applies the constraints of the anchor certificates that webpki ignores ([`anchor`]),
//! requires clientAuth on the leaf unless told to follow OpenSSL ([`ClientAuth`]), keeps each
//! SPIFFE trust domain to its own bundle ([`bundle`]), counts a revocation in any loaded CRL
//! ([`crl`]), applies name constraints to the subject ([`names`]), bounds the input, and turns webpki's errors into the stable reasons of
//! [`UntrustedReason`].

mod anchor;
mod bundle;
mod cache;
mod crl;
mod names;
mod reload;
mod signatures;

pub use cache::{CacheStats, DEFAULT_CACHE_CAPACITY, MAX_CACHE_CAPACITY};
pub use reload::{TrustFiles, TrustStoreFiles};

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use pki_types::{CertificateDer, SignatureVerificationAlgorithm, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, KeyUsage, RevocationCheckDepth, RevocationOptionsBuilder,
    UnknownStatusPolicy, VerifiedPath,
};

use super::cert::Certificate;
use crate::error::{key, Error, Field, Result, UntrustedReason};
use anchor::{Anchors, Refusal, MIN_RSA_BITS};

/// The most intermediates a chain may carry. Real client chains have one or two; more is an
/// attempt to make path building expensive.
pub const MAX_INTERMEDIATES: usize = 8;

/// The most SPIFFE trust bundles one store holds.
pub const MAX_TRUST_DOMAINS: usize = 1024;

/// Refuses a chain of more than [`MAX_INTERMEDIATES`] intermediates. [`TrustStore::verify`]
/// applies it; a caller that must parse each intermediate first (a binding) applies it before
/// parsing, so a request cannot make it parse thousands.
pub fn check_chain_length(intermediates: usize) -> Result<()> {
    if intermediates > MAX_INTERMEDIATES {
        return Err(untrusted(
            UntrustedReason::Invalid,
            format!(
                "{intermediates} intermediates given; at most {MAX_INTERMEDIATES} are accepted: \
                 send only the chain from the leaf to the pinned CA"
            ),
        ));
    }
    Ok(())
}

/// Which leaves count as client certificates, as far as extendedKeyUsage goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum ClientAuth {
    /// The leaf must carry an extendedKeyUsage that lists clientAuth. A certificate issued for
    /// something else (a server, code signing) and lacking any EKU cannot pose as a client.
    #[default]
    Required,
    /// OpenSSL's rule (purpose `sslclient`, RFC 5280 section 4.2.1.12): a leaf without
    /// extendedKeyUsage passes, one whose extendedKeyUsage lacks clientAuth does not. For older
    /// PKIs that never set the extension.
    WhenPresent,
}

impl ClientAuth {
    /// Every mode with its name, for bindings and configuration files.
    pub const NAMES: &'static [(&'static str, ClientAuth)] = &[
        ("required", ClientAuth::Required),
        ("when_present", ClientAuth::WhenPresent),
    ];

    /// The mode's name (`required`, `when_present`).
    pub fn as_str(self) -> &'static str {
        match self {
            ClientAuth::Required => "required",
            ClientAuth::WhenPresent => "when_present",
        }
    }
}

/// Pinned CA certificates, SPIFFE trust bundles and CRLs. Immutable but for a bounded cache of
/// the chains it verified (see [`TrustStore::with_cache_capacity`]); `Send + Sync`.
///
/// Without bundles every certificate verifies against the pinned CAs. With bundles, a
/// certificate that carries a `spiffe:` URI must be an X509-SVID and verifies only against the
/// bundle of its own trust domain (as go-spiffe's `x509svid.Verify` does), so a partner's CA
/// pinned for federation cannot issue an identity in this trust domain; the pinned CAs then
/// verify only certificates without a SPIFFE ID.
#[derive(Debug)]
pub struct TrustStore {
    pool: Anchors,
    /// Sorted by trust domain.
    domains: Vec<(String, Anchors)>,
    crls: crl::Layers,
    client_auth: ClientAuth,
    cache: cache::ChainCache,
    signatures: signatures::SignatureMemo,
}

fn config(message: impl Into<String>) -> Error {
    Error::configuration(message.into())
}

/// Names the argument a refusal is about (`ca`, `bundles`, `crls`, `cache_size`), as the
/// facade's `TrustStore.new` calls them.
fn about(option: &'static str) -> impl Fn(Error) -> Error {
    move |e| e.with(key::OPTION, Field::Name(option))
}

/// Whether a URI reads as a SPIFFE ID to anyone: scheme compared without case, as URL parsers
/// do, so `SPIFFE://prod.example.org/x` cannot dodge the bundle rule by failing strict parsing.
fn looks_spiffe(uri: &str) -> bool {
    uri.get(..7)
        .is_some_and(|s| s.eq_ignore_ascii_case("spiffe:"))
}

impl TrustStore {
    /// Pins every CA certificate of a PEM bundle (or one DER certificate). Non-CA certificates
    /// in the bundle are skipped; a bundle with no CA is a configuration error. `crls` are PEM
    /// (`X509 CRL` blocks) or DER.
    pub fn new(ca_bundle: &[u8], crls: &[&[u8]]) -> Result<Self> {
        Self::with_bundles(Some(ca_bundle), &[], crls)
    }

    /// Like [`TrustStore::new`], with SPIFFE trust bundles: `(trust domain, bundle)` pairs, each
    /// bundle a SPIFFE bundle (JSON, `x509-svid` keys) or a PEM bundle of that domain's CAs.
    /// `ca_bundle` may be `None` when bundles are given.
    pub fn with_bundles(
        ca_bundle: Option<&[u8]>,
        bundles: &[(&str, &[u8])],
        crls: &[&[u8]],
    ) -> Result<Self> {
        let mut pool = Anchors::default();
        if let Some(ca_bundle) = ca_bundle {
            let certs = Certificate::parse_chain(ca_bundle)
                .map_err(|e| {
                    config(format!(
                        "the TrustStore needs a PEM bundle of CA certificates, and this one is unusable: {e}"
                    ))
                })
                .map_err(about("ca"))?;
            for cert in certs.iter().filter(|c| c.is_ca()) {
                pool.push(cert).map_err(about("ca"))?;
            }
            if pool.is_empty() {
                return Err(about("ca")(config(format!(
                    "the TrustStore bundle holds {} certificate(s) but no CA (basicConstraints CA:TRUE): \
                     pin the CA that issues your client certificates, not a leaf",
                    certs.len()
                ))));
            }
        } else if bundles.is_empty() {
            return Err(config(
                "the TrustStore needs a PEM bundle of CA certificates, SPIFFE bundles, or both",
            ));
        }
        if bundles.len() > MAX_TRUST_DOMAINS {
            return Err(about("bundles")(config(format!(
                "{} SPIFFE bundles given; at most {MAX_TRUST_DOMAINS} are accepted",
                bundles.len()
            ))));
        }
        let mut domains: Vec<(String, Anchors)> = Vec::with_capacity(bundles.len());
        for (td, input) in bundles {
            let td = bundle::trust_domain(td).map_err(about("bundles"))?;
            if domains.iter().any(|(d, _)| *d == td) {
                return Err(about("bundles")(config(format!(
                    "two bundles are given for trust domain {td}: merge them into one"
                ))));
            }
            let mut anchors = Anchors::default();
            for cert in bundle::parse(&td, input).map_err(about("bundles"))? {
                anchors.push(&cert).map_err(about("bundles"))?;
            }
            // A CA naming another trust domain could verify nothing here (see `check_path`):
            // a bundle filed under the wrong name, said at boot rather than at every request.
            if let Some(other) = anchors
                .info
                .iter()
                .filter_map(|i| i.trust_domain.as_deref())
                .find(|other| *other != td)
            {
                return Err(about("bundles")(config(format!(
                    "the bundle given for trust domain {td} holds a CA of trust domain {other}: \
                     give each trust domain its own bundle"
                ))));
            }
            domains.push((td, anchors));
        }
        domains.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(TrustStore {
            pool,
            domains,
            crls: crl::Layers::parse(crls).map_err(about("crls"))?,
            client_auth: ClientAuth::default(),
            cache: cache::ChainCache::new(DEFAULT_CACHE_CAPACITY),
            signatures: signatures::SignatureMemo::new(DEFAULT_CACHE_CAPACITY > 0),
        })
    }

    /// The same store, with `client_auth` deciding which leaves count as client certificates.
    #[must_use]
    pub fn with_client_auth(mut self, client_auth: ClientAuth) -> Self {
        self.client_auth = client_auth;
        // Every cached chain passed under the old mode.
        self.cache.clear();
        self
    }

    /// Which leaves count as client certificates.
    pub fn client_auth(&self) -> ClientAuth {
        self.client_auth
    }

    /// The same store, caching at most `capacity` verified chains (0: none). The default is
    /// [`DEFAULT_CACHE_CAPACITY`]; more than [`MAX_CACHE_CAPACITY`] is refused.
    pub fn with_cache_capacity(mut self, capacity: usize) -> Result<Self> {
        if capacity > MAX_CACHE_CAPACITY {
            return Err(about("cache_size")(config(format!(
                "a verified-chain cache of {capacity} entries is too large: give at most \
                 {MAX_CACHE_CAPACITY} (the default, {DEFAULT_CACHE_CAPACITY}, suits most apps; 0 \
                 turns the cache off)"
            ))));
        }
        self.cache = cache::ChainCache::new(capacity);
        // Off with the chain cache: a store told to cache nothing checks every signature.
        self.signatures = signatures::SignatureMemo::new(capacity > 0);
        Ok(self)
    }

    /// The most verified chains this store caches.
    pub fn cache_capacity(&self) -> usize {
        self.cache.capacity()
    }

    /// How the verified-chain cache has been used.
    pub fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// Empties the verified-chain cache, and forgets the CA signatures it checked: every later
    /// verification runs in full once.
    pub fn clear_cache(&self) {
        self.cache.clear();
        self.signatures.clear();
    }

    /// How many CAs are pinned, in the CA bundle and in every trust bundle.
    pub fn anchor_count(&self) -> usize {
        self.pool.len() + self.domains.iter().map(|(_, a)| a.len()).sum::<usize>()
    }

    /// The trust domains that have a bundle, sorted.
    pub fn trust_domains(&self) -> impl Iterator<Item = &str> {
        self.domains.iter().map(|(td, _)| td.as_str())
    }

    /// The anchors `leaf` may verify against (see [`TrustStore`]).
    fn anchors_for(&self, leaf: &Certificate) -> Result<&Anchors> {
        if self.domains.is_empty() || !leaf.uris().iter().any(|u| looks_spiffe(u)) {
            if self.pool.is_empty() {
                return Err(untrusted(
                    UntrustedReason::UnknownIssuer,
                    "the certificate has no SPIFFE ID, and this TrustStore holds only SPIFFE \
                     bundles: pin the CA that issues it"
                        .into(),
                ));
            }
            return Ok(&self.pool);
        }
        // X509-SVID section 2: exactly one URI SAN, a valid SPIFFE ID; anything else that
        // reads as SPIFFE must not fall back to the pinned CAs.
        let Some(id) = leaf.spiffe() else {
            return Err(untrusted(
                UntrustedReason::Invalid,
                "the certificate carries a spiffe: URI but is not an X509-SVID (exactly one URI \
                 SAN, a valid lower-case SPIFFE ID): re-issue it"
                    .into(),
            ));
        };
        match self
            .domains
            .binary_search_by(|(td, _)| td.as_str().cmp(id.trust_domain()))
        {
            Ok(i) => Ok(&self.domains[i].1),
            Err(_) => Err(untrusted(
                UntrustedReason::UnknownIssuer,
                format!(
                    "no SPIFFE bundle is given for trust domain {}: an X509-SVID verifies only \
                     against its own trust domain's bundle",
                    id.trust_domain()
                ),
            )),
        }
    }

    /// Verifies `leaf` for client authentication at `unix_seconds`, building a path through
    /// `intermediates` to a pinned CA.
    pub fn verify(
        &self,
        leaf: &Certificate,
        intermediates: &[&Certificate],
        unix_seconds: i64,
    ) -> Result<()> {
        self.verify_chain(leaf, intermediates, unix_seconds)
            .map(|_| ())
    }

    /// What [`TrustStore::verify_chain`] would return from its cache for these inputs, if it
    /// holds them; `None` means "verify in full". No signature is checked, so a caller may ask
    /// first while holding a lock it must not hold long (Ruby's GVL). An entry exists only for
    /// inputs that passed every check, so the cheap checks that depend on more than the
    /// certificates (the number of intermediates, the time) are the only ones repeated here.
    pub fn cached_chain(
        &self,
        leaf: &Certificate,
        intermediates: &[&Certificate],
        unix_seconds: i64,
    ) -> Option<VerifiedChain> {
        if intermediates.len() > MAX_INTERMEDIATES || unix_seconds < 0 {
            return None;
        }
        self.cache
            .peek(&cache::key(leaf, intermediates), unix_seconds)
            .map(|chain| VerifiedChain::clone(&chain))
    }

    /// Like [`TrustStore::verify`], and returns what the verification established: the keys
    /// of the CAs on the verified path, for a policy's `issuer_key:` conditions.
    ///
    /// A chain that verified before is answered from the cache (see the `cache` module for
    /// when an entry holds): the same result, without the signature checks.
    pub fn verify_chain(
        &self,
        leaf: &Certificate,
        intermediates: &[&Certificate],
        unix_seconds: i64,
    ) -> Result<VerifiedChain> {
        check_chain_length(intermediates.len())?;
        let Ok(secs) = u64::try_from(unix_seconds) else {
            return Err(untrusted(
                UntrustedReason::Invalid,
                "the verification time is before 1970".into(),
            ));
        };
        // X509-SVID section 5.2: a leaf's SPIFFE ID names a workload, never the trust domain.
        if leaf.spiffe().is_some_and(|id| id.path().is_empty()) {
            return Err(untrusted(
                UntrustedReason::Invalid,
                "the certificate's SPIFFE ID has no path (it names the trust domain itself), \
                 which an X509-SVID leaf may not (X509-SVID 5.2): re-issue it with a workload path"
                    .into(),
            ));
        }
        let anchors = self.anchors_for(leaf)?;
        let key = cache::key(leaf, intermediates);
        if let Some(chain) = self.cache.get(&key, unix_seconds) {
            return Ok(VerifiedChain::clone(&chain));
        }
        let chain = self.verify_uncached(anchors, leaf, intermediates, unix_seconds, secs)?;
        let window = self.window(anchors, leaf, intermediates, unix_seconds);
        if window.contains(unix_seconds) {
            self.cache.insert(key, Arc::new(chain.clone()), window);
        }
        Ok(chain)
    }

    /// Around `at`, the times at which every certificate that verification read (the leaf,
    /// every intermediate given, every anchor it could reach) is as valid as at `at`, before
    /// the earliest CRL nextUpdate: the verification would give the same result at any of them.
    fn window(
        &self,
        anchors: &anchor::Anchors,
        leaf: &Certificate,
        intermediates: &[&Certificate],
        at: i64,
    ) -> cache::Window {
        let mut window = cache::Window::ALL;
        for c in std::iter::once(leaf).chain(intermediates.iter().copied()) {
            window.narrow_to_validity(at, c.not_before(), c.not_after());
        }
        for info in &anchors.info {
            window.narrow_to_validity(at, info.not_before, info.not_after);
        }
        if let Some(next_update) = self.crls.1 {
            window.end_before(next_update);
        }
        window
    }

    /// The verification itself, with no cache.
    fn verify_uncached(
        &self,
        anchors: &Anchors,
        leaf: &Certificate,
        intermediates: &[&Certificate],
        unix_seconds: i64,
        secs: u64,
    ) -> Result<VerifiedChain> {
        let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let leaf_der = CertificateDer::from(leaf.der());
        let ee = EndEntityCert::try_from(&leaf_der).map_err(|e| map_error(&e))?;
        let ints: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let refusal: RefCell<Option<Refusal>> = RefCell::new(None);
        let check = |path: &VerifiedPath<'_>| -> std::result::Result<(), webpki::Error> {
            let Some(index) = anchors.index_of(path.anchor()) else {
                return Err(webpki::Error::UnknownIssuer);
            };
            let used: Vec<&Certificate> = path
                .intermediate_certificates()
                .filter_map(|c| {
                    let der = c.der();
                    intermediates
                        .iter()
                        .copied()
                        .find(|i| i.der() == der.as_ref())
                })
                .collect();
            anchors
                .check_path(index, leaf, &used, unix_seconds)
                .map_err(|r| {
                    let sentinel = r.sentinel.clone();
                    *refusal.borrow_mut() = Some(r);
                    sentinel
                })
        };
        let remembering = self
            .signatures
            .algorithms(webpki::ALL_VERIFICATION_ALGS, leaf.der());
        let remembering: Vec<&dyn SignatureVerificationAlgorithm> = remembering
            .iter()
            .map(|a| a as &dyn SignatureVerificationAlgorithm)
            .collect();
        let algs: &[&dyn SignatureVerificationAlgorithm] = if self.signatures.is_enabled() {
            &remembering
        } else {
            webpki::ALL_VERIFICATION_ALGS
        };
        let first = self.crls.0.first().map(Vec::as_slice).unwrap_or(&[]);
        let path = verify_with(&ee, algs, &anchors.tas, &ints, time, first, Some(&check))
            .map_err(|e| report(&e, refusal.take(), intermediates))?;
        let mut ca_keys: Vec<[u8; 32]> = path
            .intermediate_certificates()
            .map(|c| sha256(c.subject_public_key_info().as_ref()))
            .collect();
        if let Some(i) = anchors.index_of(path.anchor()) {
            ca_keys.push(anchors.info[i].spki_sha256);
        }
        // The other CRL layers, on the same path: an issuer's second CRL is consulted too.
        if self.crls.0.len() > 1 {
            let anchor = std::slice::from_ref(path.anchor());
            let used: Vec<CertificateDer<'_>> =
                path.intermediate_certificates().map(|c| c.der()).collect();
            for layer in &self.crls.0[1..] {
                verify_with(&ee, algs, anchor, &used, time, layer, None)
                    .map_err(|e| report(&e, None, intermediates))?;
            }
        }
        // webpki's client_auth() accepts a leaf with no EKU extension at all (OpenSSL's rule,
        // ClientAuth::WhenPresent). Required also refuses that leaf: a certificate issued for
        // anything, without saying what for, must not pose as a client.
        if !leaf.client_auth() {
            if leaf.has_extended_key_usage() {
                return Err(untrusted(
                    UntrustedReason::MissingClientAuth,
                    missing_client_auth(),
                ));
            }
            if self.client_auth == ClientAuth::Required {
                return Err(untrusted(
                    UntrustedReason::MissingClientAuth,
                    "the certificate has no extended key usage, and this TrustStore requires \
                     clientAuth in one (client_auth: required): issue client certificates with \
                     extendedKeyUsage = clientAuth, or accept leaves without the extension as \
                     OpenSSL does (client_auth: when_present)"
                        .into(),
                ));
            }
        }
        // webpki does not read the leaf's keyUsage. A TLS client signs with its key, so a
        // keyUsage that allows neither digitalSignature nor keyAgreement cannot authenticate
        // one (OpenSSL's sslclient purpose refuses it too).
        if !leaf.key_usage_allows_tls_client() {
            return Err(untrusted(
                UntrustedReason::Invalid,
                "the certificate's key usage allows neither digitalSignature nor keyAgreement, \
                 so its key cannot authenticate a TLS client: issue client certificates with \
                 keyUsage = digitalSignature"
                    .into(),
            ));
        }
        Ok(VerifiedChain { ca_keys })
    }
}

/// What a successful verification established about a certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedChain {
    ca_keys: Vec<[u8; 32]>,
}

impl VerifiedChain {
    /// SHA-256 of the DER SubjectPublicKeyInfo of every CA on the verified path: the issuer
    /// first, the pinned CA last.
    pub fn ca_keys(&self) -> &[[u8; 32]] {
        &self.ca_keys
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref());
    out
}

/// webpki's `verify_path` hook: refuses a built path, so path building tries the next one.
type PathCheck<'a> = dyn Fn(&VerifiedPath<'_>) -> std::result::Result<(), webpki::Error> + 'a;

/// One webpki verification with one layer of CRLs.
fn verify_with<'p>(
    ee: &'p EndEntityCert<'p>,
    algs: &[&dyn SignatureVerificationAlgorithm],
    anchors: &'p [pki_types::TrustAnchor<'p>],
    intermediates: &'p [CertificateDer<'p>],
    time: UnixTime,
    crls: &[CertRevocationList<'_>],
    check: Option<&PathCheck<'_>>,
) -> std::result::Result<VerifiedPath<'p>, webpki::Error> {
    let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_depth(RevocationCheckDepth::Chain)
            .with_status_policy(UnknownStatusPolicy::Allow)
            .build()
    });
    ee.verify_for_usage(
        algs,
        anchors,
        intermediates,
        time,
        KeyUsage::client_auth(),
        revocation,
        check,
    )
}

/// The error to report for webpki's final error `e`: the anchor check's own when webpki's
/// error is the one that check returned.
fn report(e: &webpki::Error, refusal: Option<Refusal>, intermediates: &[&Certificate]) -> Error {
    if let Some(r) = refusal.filter(|r| r.sentinel == *e) {
        return r.error;
    }
    let mut err = map_error(e);
    // ring refuses RSA keys under 2048 bits as a failed signature; say so rather than
    // leave only the suggestion of a forgery.
    if let Error::Untrusted {
        reason: UntrustedReason::BadSignature,
        message,
    } = &mut err
    {
        let weak = intermediates
            .iter()
            .find_map(|c| c.rsa_key_bits().filter(|&b| b < MIN_RSA_BITS));
        if let Some(bits) = weak {
            message.push_str(&format!(
                "; note that an intermediate has a {bits}-bit RSA key, and only keys of \
                 {MIN_RSA_BITS} bits or more verify"
            ));
        }
    }
    err
}

fn untrusted(reason: UntrustedReason, message: String) -> Error {
    Error::Untrusted { reason, message }
}

fn missing_client_auth() -> String {
    "the certificate's extended key usage does not include clientAuth: issue client \
     certificates with extendedKeyUsage = clientAuth"
        .into()
}

// The deprecated unit variants are still produced by some webpki paths: match them too.
#[allow(deprecated)]
fn map_error(e: &webpki::Error) -> Error {
    use webpki::Error as E;
    let (reason, message) = match e {
        E::CertExpired { .. } => (
            UntrustedReason::Expired,
            "the certificate, or one in its chain, has expired: renew it (or check the clock)".into(),
        ),
        E::CertNotValidYet { .. } => (
            UntrustedReason::NotYetValid,
            "the certificate, or one in its chain, is not valid yet: check the clocks of the issuer and of this host".into(),
        ),
        E::UnknownIssuer => (
            UntrustedReason::UnknownIssuer,
            "no chain leads from the certificate to a pinned CA: pin the issuing CA in the \
             TrustStore, or pass the missing intermediates (Puma gives the app only the leaf)"
                .into(),
        ),
        E::InvalidSignatureForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKey
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_)
        | E::SignatureAlgorithmMismatch => (
            UntrustedReason::BadSignature,
            "a signature in the chain does not verify: the certificate was not signed by the \
             key of the CA it names (forged, or issued by another CA with the same name)"
                .into(),
        ),
        E::UnsupportedSignatureAlgorithm | E::UnsupportedSignatureAlgorithmContext(_) => (
            UntrustedReason::Invalid,
            "a certificate in the chain is signed with an algorithm that is not accepted (SHA-1 \
             or another legacy algorithm): re-issue it with SHA-256 or better"
                .into(),
        ),
        E::RequiredEkuNotFound | E::RequiredEkuNotFoundContext(_) => {
            (UntrustedReason::MissingClientAuth, missing_client_auth())
        }
        E::CertRevoked => (
            UntrustedReason::Revoked,
            "a CRL given to the TrustStore revokes this certificate (or one in its chain)".into(),
        ),
        E::CaUsedAsEndEntity => (
            UntrustedReason::Invalid,
            "the certificate is a CA (basicConstraints CA:TRUE), not a client certificate".into(),
        ),
        E::EndEntityUsedAsCa => (
            UntrustedReason::Invalid,
            "an intermediate in the chain is not a CA (basicConstraints CA:FALSE or absent)".into(),
        ),
        other => (
            UntrustedReason::Invalid,
            format!("the certificate chain is invalid ({other:?}): check how it was issued"),
        ),
    };
    untrusted(reason, message)
}
