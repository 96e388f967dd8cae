//! Chain verification against pinned CAs, for client authentication, with rustls-webpki (ring).
//!
//! webpki does the cryptography and the RFC 5280 path rules; this module pins the anchors,
//! requires clientAuth on the leaf (webpki alone accepts a leaf without any EKU), bounds the
//! input, and turns webpki's errors into the stable reasons of `UntrustedCertificate#reason`.

use std::time::Duration;

use pki_types::{CertificateDer, TrustAnchor, UnixTime};
use webpki::{
    CertRevocationList, EndEntityCert, KeyUsage, OwnedCertRevocationList, RevocationCheckDepth,
    RevocationOptionsBuilder, UnknownStatusPolicy,
};

use super::cert::Certificate;
use super::pem;
use crate::error::{Error, Result, UntrustedReason};

/// The most intermediates a chain may carry. Real client chains have one or two; more is an
/// attempt to make path building expensive.
pub const MAX_INTERMEDIATES: usize = 8;

/// The smallest RSA key rustls-webpki (through ring) verifies.
const MIN_RSA_BITS: usize = 2048;

/// Pinned CA certificates (and optional CRLs). Immutable, `Send + Sync`.
#[derive(Debug)]
pub struct TrustStore {
    anchors: Vec<TrustAnchor<'static>>,
    crls: Vec<CertRevocationList<'static>>,
}

fn config(message: impl Into<String>) -> Error {
    Error::Configuration(message.into())
}

impl TrustStore {
    /// Pins every CA certificate of a PEM bundle (or one DER certificate). Non-CA certificates
    /// in the bundle are skipped; a bundle with no CA is a configuration error. `crls` are PEM
    /// (`X509 CRL` blocks) or DER.
    pub fn new(ca_bundle: &[u8], crls: &[&[u8]]) -> Result<Self> {
        let certs = Certificate::parse_chain(ca_bundle).map_err(|e| {
            config(format!(
                "the TrustStore needs a PEM bundle of CA certificates, and this one is unusable: {e}"
            ))
        })?;
        let mut anchors = Vec::new();
        for cert in certs.iter().filter(|c| c.is_ca()) {
            if let Some(bits) = cert.rsa_key_bits().filter(|&b| b < MIN_RSA_BITS) {
                return Err(config(format!(
                    "the CA certificate {} has a {bits}-bit RSA key; rustls-webpki verifies only \
                     RSA keys of {MIN_RSA_BITS} bits or more, so nothing it issued could verify: \
                     re-issue the CA with a stronger key",
                    cert.subject()
                )));
            }
            let der = CertificateDer::from(cert.der());
            let anchor = webpki::anchor_from_trusted_cert(&der).map_err(|e| {
                config(format!(
                    "the CA certificate {} cannot be used as a trust anchor: {e:?}",
                    cert.subject()
                ))
            })?;
            anchors.push(anchor.to_owned());
        }
        if anchors.is_empty() {
            return Err(config(format!(
                "the TrustStore bundle holds {} certificate(s) but no CA (basicConstraints CA:TRUE): \
                 pin the CA that issues your client certificates, not a leaf",
                certs.len()
            )));
        }
        let mut owned_crls = Vec::new();
        for (i, input) in crls.iter().enumerate() {
            let ders: Vec<Vec<u8>> = if pem::looks_like_pem(input) {
                let mut v = Vec::new();
                for block in pem::blocks(input) {
                    let block = block.map_err(|e| config(format!("CRL {}: {e}", i + 1)))?;
                    if block.label == "X509 CRL" {
                        v.push(
                            pem::decode_body(block.body, 64 << 20)
                                .map_err(|e| config(format!("CRL {}: {e}", i + 1)))?,
                        );
                    }
                }
                if v.is_empty() {
                    return Err(config(format!(
                        "CRL {} has no \"X509 CRL\" PEM block",
                        i + 1
                    )));
                }
                v
            } else {
                vec![input.to_vec()]
            };
            for der in ders {
                let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| {
                    config(format!("CRL {} is not a valid X.509 CRL: {e:?}", i + 1))
                })?;
                owned_crls.push(CertRevocationList::from(crl));
            }
        }
        Ok(TrustStore {
            anchors,
            crls: owned_crls,
        })
    }

    /// How many CAs are pinned.
    pub fn anchor_count(&self) -> usize {
        self.anchors.len()
    }

    /// Verifies `leaf` for client authentication at `unix_seconds`, building a path through
    /// `intermediates` to a pinned CA.
    pub fn verify(
        &self,
        leaf: &Certificate,
        intermediates: &[&Certificate],
        unix_seconds: i64,
    ) -> Result<()> {
        if intermediates.len() > MAX_INTERMEDIATES {
            return Err(untrusted(
                UntrustedReason::Invalid,
                format!(
                    "{} intermediates given; at most {MAX_INTERMEDIATES} are accepted: send only \
                     the chain from the leaf to the pinned CA",
                    intermediates.len()
                ),
            ));
        }
        let Ok(secs) = u64::try_from(unix_seconds) else {
            return Err(untrusted(
                UntrustedReason::Invalid,
                "the verification time is before 1970".into(),
            ));
        };
        let time = UnixTime::since_unix_epoch(Duration::from_secs(secs));
        let leaf_der = CertificateDer::from(leaf.der());
        let ee = EndEntityCert::try_from(&leaf_der).map_err(|e| map_error(&e))?;
        let ints: Vec<CertificateDer<'_>> = intermediates
            .iter()
            .map(|c| CertificateDer::from(c.der()))
            .collect();
        let crl_refs: Vec<&CertRevocationList<'_>> = self.crls.iter().collect();
        let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
            b.with_depth(RevocationCheckDepth::Chain)
                .with_status_policy(UnknownStatusPolicy::Allow)
                .build()
        });
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &self.anchors,
            &ints,
            time,
            KeyUsage::client_auth(),
            revocation,
            None,
        )
        .map_err(|e| {
            let mut err = map_error(&e);
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
        })?;
        // webpki's client_auth() accepts a leaf with no EKU extension at all; we require it.
        if !leaf.client_auth() {
            return Err(untrusted(
                UntrustedReason::MissingClientAuth,
                missing_client_auth(),
            ));
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
        Ok(())
    }
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
