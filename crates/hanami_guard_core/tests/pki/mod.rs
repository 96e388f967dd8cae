//! A test PKI made with rcgen for the `identity_chain*` tests: CAs, signed leaves, the clock, and
//! the reason a verification refused. Each test file makes the leaves its cases need.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use hanami_guard_core::error::UntrustedReason;
use hanami_guard_core::identity::{Certificate, TrustStore};
use hanami_guard_core::Error;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    PublicKeyData,
};

pub type R<T> = Result<T, Box<dyn std::error::Error>>;

/// A CA: its certificate, what signs with its key, and the key's SPKI digest.
pub struct Ca {
    pub cert: Certificate,
    pub issuer: Issuer<'static, KeyPair>,
    /// Lowercase hex SHA-256 of the SubjectPublicKeyInfo (what a policy's `issuer_key:` names).
    pub spki_sha256: String,
}

impl Ca {
    pub fn pem(&self) -> String {
        self.cert.to_pem()
    }

    /// A store that trusts this CA alone, with no CRL.
    pub fn store(&self) -> R<TrustStore> {
        Ok(TrustStore::new(self.pem().as_bytes(), &[])?)
    }
}

/// A CA's parameters: the common name `cn`, basicConstraints CA (no path length), and
/// keyCertSign with cRLSign. Cases change them before [`make_ca`].
pub fn ca_params(cn: &str) -> R<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    p.distinguished_name.push(DnType::CommonName, cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok(p)
}

/// A CA from `p` with a fresh key: self-signed, or signed by `parent`.
pub fn make_ca(p: CertificateParams, parent: Option<&Ca>) -> R<Ca> {
    let key = KeyPair::generate()?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &key.subject_public_key_info());
    let spki_sha256 = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let cert = match parent {
        Some(parent) => p.signed_by(&key, &parent.issuer)?,
        None => p.self_signed(&key)?,
    };
    Ok(Ca {
        cert: Certificate::parse(cert.pem().as_bytes())?,
        issuer: Issuer::new(p, key),
        spki_sha256,
    })
}

/// A self-signed root CA named `cn`.
pub fn root(cn: &str) -> R<Ca> {
    make_ca(ca_params(cn)?, None)
}

/// An intermediate CA named `cn`, signed by `parent`.
pub fn intermediate(cn: &str, parent: &Ca) -> R<Ca> {
    make_ca(ca_params(cn)?, Some(parent))
}

/// The certificate `p` describes, with a fresh key, signed by `issuer`.
pub fn signed(p: &CertificateParams, issuer: &Ca) -> R<Certificate> {
    let key = KeyPair::generate()?;
    Ok(Certificate::parse(
        p.signed_by(&key, &issuer.issuer)?.pem().as_bytes(),
    )?)
}

/// Now, in seconds since the epoch (what `TrustStore::verify` takes).
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Why a verification refused (None when it passed). Any error but `Untrusted` fails the test,
/// and so does an `Untrusted` without a message.
pub fn reason(result: hanami_guard_core::Result<()>) -> Option<UntrustedReason> {
    match result {
        Ok(()) => None,
        Err(Error::Untrusted { reason, message }) => {
            assert!(!message.is_empty(), "{reason:?} has no message");
            Some(reason)
        }
        Err(other) => panic!("not an Untrusted error: {other}"),
    }
}
