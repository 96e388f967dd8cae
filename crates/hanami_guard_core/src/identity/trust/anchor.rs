//! Pinned CAs, and the checks rustls-webpki leaves to the caller.
//!
//! webpki treats a trust anchor as a bare name and key: it never reads the anchor certificate's
//! validity, basicConstraints pathLenConstraint, extendedKeyUsage or keyUsage, and it never reads
//! keyUsage on intermediates. OpenSSL (purpose sslclient) and Go's crypto/x509 refuse a chain
//! that any of these forbids, so a CA its operator restricted (to one level, to server
//! certificates, to a lifetime) must not be stretched here. [`Anchors::check_path`] applies them
//! to the path webpki verified, as webpki's own `verify_path` hook, so path building can still
//! try another anchor or another intermediate when one is refused.

use pki_types::{TrustAnchor, UnixTime};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::super::cert::Certificate;
use super::names::SubjectConstraints;
use crate::error::{Error, UntrustedReason};

/// One pinned CA: webpki's anchor and the constraints read from its certificate.
#[derive(Debug)]
pub(super) struct AnchorInfo {
    /// The subject, RFC 4514, for messages.
    pub subject: String,
    pub not_before: i64,
    pub not_after: i64,
    /// basicConstraints pathLenConstraint: the most intermediates below this CA.
    pub path_len: Option<u32>,
    /// keyUsage allows keyCertSign (true when there is no keyUsage extension).
    pub cert_sign: bool,
    /// extendedKeyUsage allows clientAuth (true when there is no extendedKeyUsage extension).
    pub client_auth: bool,
    /// The trust domain the CA names in a `spiffe://td` URI SAN, as SPIRE's CAs do.
    pub trust_domain: Option<String>,
    /// Its DNS and email name constraints, applied to subjects below it.
    pub constraints: Option<SubjectConstraints>,
    /// SHA-256 of its DER SubjectPublicKeyInfo (the `issuer_key:` a policy names).
    pub spki_sha256: [u8; 32],
}

/// A set of pinned CAs, in the order given.
#[derive(Debug, Default)]
pub(super) struct Anchors {
    pub tas: Vec<TrustAnchor<'static>>,
    pub info: Vec<AnchorInfo>,
}

/// The smallest RSA key rustls-webpki (through ring) verifies.
pub(super) const MIN_RSA_BITS: usize = 2048;

fn config(message: String) -> Error {
    Error::configuration(message)
}

impl Anchors {
    /// Pins `cert`, which must be a CA.
    pub fn push(&mut self, cert: &Certificate) -> Result<(), Error> {
        if let Some(bits) = cert.rsa_key_bits().filter(|&b| b < MIN_RSA_BITS) {
            return Err(config(format!(
                "the CA certificate {} has a {bits}-bit RSA key; rustls-webpki verifies only \
                 RSA keys of {MIN_RSA_BITS} bits or more, so nothing it issued could verify: \
                 re-issue the CA with a stronger key",
                cert.subject()
            )));
        }
        let der = pki_types::CertificateDer::from(cert.der());
        let ta = webpki::anchor_from_trusted_cert(&der).map_err(|e| {
            config(format!(
                "the CA certificate {} cannot be used as a trust anchor: {e:?}",
                cert.subject()
            ))
        })?;
        let unreadable = |what: &str| {
            config(format!(
                "the CA certificate {} has an unreadable {what} extension: re-issue it",
                cert.subject()
            ))
        };
        let (_, x) = X509Certificate::from_der(cert.der()).map_err(|_| unreadable("(any)"))?;
        let path_len = x
            .basic_constraints()
            .map_err(|_| unreadable("basicConstraints"))?
            .and_then(|bc| bc.value.path_len_constraint);
        let cert_sign = x
            .key_usage()
            .map_err(|_| unreadable("keyUsage"))?
            .map_or(true, |ku| ku.value.key_cert_sign());
        let client_auth = x
            .extended_key_usage()
            .map_err(|_| unreadable("extendedKeyUsage"))?
            .map_or(true, |eku| eku.value.client_auth);
        let mut spki_sha256 = [0u8; 32];
        spki_sha256.copy_from_slice(
            ring::digest::digest(&ring::digest::SHA256, x.public_key().raw).as_ref(),
        );
        self.tas.push(ta.to_owned());
        self.info.push(AnchorInfo {
            subject: cert.subject().to_string(),
            not_before: cert.not_before(),
            not_after: cert.not_after(),
            path_len,
            cert_sign,
            client_auth,
            trust_domain: ca_trust_domain(cert).map(str::to_owned),
            constraints: SubjectConstraints::of(cert.der())
                .map_err(|()| unreadable("nameConstraints"))?,
            spki_sha256,
        });
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.tas.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tas.is_empty()
    }

    /// The index of `anchor`, which webpki returns as a reference into `self.tas`.
    pub fn index_of(&self, anchor: &TrustAnchor<'_>) -> Option<usize> {
        self.tas
            .iter()
            .position(|t| std::ptr::eq(t as *const _ as *const u8, anchor as *const _ as *const u8))
    }

    /// The checks webpki does not make, on the path it built: `anchor` and the intermediates
    /// (leaf side first) that path used. A refusal carries the webpki error that keeps path
    /// building going and the error to report if no other path verifies.
    pub fn check_path(
        &self,
        anchor: usize,
        leaf: &Certificate,
        path_intermediates: &[&Certificate],
        unix_seconds: i64,
    ) -> Result<(), Refusal> {
        let info = &self.info[anchor];
        // A CA that names its SPIFFE trust domain (SPIRE's do, X509-SVID 4.1) vouches for SVIDs
        // of that domain only: pinned next to a partner's CA for federation, the partner's CA
        // must not issue IDs in this domain.
        if let Some(td) = leaf.spiffe().map(|id| id.trust_domain()) {
            let foreign = std::iter::once(info.trust_domain.as_deref())
                .chain(path_intermediates.iter().map(|c| ca_trust_domain(c)))
                .flatten()
                .find(|ca_td| *ca_td != td);
            if let Some(ca_td) = foreign {
                return Err(Refusal {
                    sentinel: webpki::Error::NameConstraintViolation,
                    error: untrusted(
                        UntrustedReason::UnknownIssuer,
                        format!(
                            "the certificate's SPIFFE ID is in trust domain {td}, but a CA on its \
                             chain belongs to trust domain {ca_td}: a trust domain's CA issues \
                             only its own IDs"
                        ),
                    ),
                });
            }
        }
        let at =
            |s: i64| UnixTime::since_unix_epoch(std::time::Duration::from_secs(s.max(0) as u64));
        // RFC 5280 6.1.1 takes the anchor as given, but OpenSSL and Go check its validity, and
        // an operator whose CA expired expects nothing it issued to verify any more.
        if unix_seconds > info.not_after {
            return Err(Refusal {
                sentinel: webpki::Error::CertExpired {
                    time: at(unix_seconds),
                    not_after: at(info.not_after),
                },
                error: untrusted(
                    UntrustedReason::Expired,
                    format!(
                        "the pinned CA {} has expired: replace it in the TrustStore",
                        info.subject
                    ),
                ),
            });
        }
        if unix_seconds < info.not_before {
            return Err(Refusal {
                sentinel: webpki::Error::CertNotValidYet {
                    time: at(unix_seconds),
                    not_before: at(info.not_before),
                },
                error: untrusted(
                    UntrustedReason::NotYetValid,
                    format!(
                        "the pinned CA {} is not valid yet: check the clocks",
                        info.subject
                    ),
                ),
            });
        }
        // pathLenConstraint counts every intermediate below the CA. RFC 5280 6.1.4 (l) exempts
        // self-issued ones; Go does not, and neither do we: the stricter reading never lets a
        // CA reach further than its operator allowed.
        if let Some(max) = info.path_len {
            if path_intermediates.len() > max as usize {
                return Err(Refusal {
                    sentinel: webpki::Error::PathLenConstraintViolated,
                    error: untrusted(
                        UntrustedReason::Invalid,
                        format!(
                            "the pinned CA {} allows {max} intermediate(s) below it \
                             (basicConstraints pathlen:{max}), and this chain has {}: the \
                             sub-CA may not issue certificates",
                            info.subject,
                            path_intermediates.len()
                        ),
                    ),
                });
            }
        }
        // webpki requires clientAuth of every intermediate's EKU, never of the anchor's.
        // OpenSSL (sslclient) and Go read a CA's EKU as a limit on what it may vouch for.
        if !info.client_auth {
            // The unit variant is one webpki itself no longer returns, so it marks this refusal.
            #[allow(deprecated)]
            let sentinel = webpki::Error::RequiredEkuNotFound;
            return Err(Refusal {
                sentinel,
                error: untrusted(
                    UntrustedReason::MissingClientAuth,
                    format!(
                        "the pinned CA {} is restricted by its extendedKeyUsage to other \
                         purposes than clientAuth, so it cannot vouch for a client \
                         certificate: pin a CA whose extendedKeyUsage includes clientAuth (or \
                         has none)",
                        info.subject
                    ),
                ),
            });
        }
        // RFC 5280 6.1.4 (n): a CA whose keyUsage lacks keyCertSign may not sign certificates.
        if !info.cert_sign {
            return Err(no_cert_sign(&info.subject, "pinned CA"));
        }
        if let Some(ica) = path_intermediates.iter().find(|c| {
            c.key_usage_bits()
                .is_some_and(|ku| ku & KU_KEY_CERT_SIGN == 0)
        }) {
            return Err(no_cert_sign(&ica.subject().to_string(), "intermediate"));
        }
        // Name constraints on the subject: the anchor's hold for every certificate below it,
        // an intermediate's for those below that intermediate (the leaf's issuer comes first).
        let check = |ca: &dyn std::fmt::Display, c: &SubjectConstraints, n: usize| {
            let below = std::iter::once(leaf).chain(path_intermediates[..n].iter().copied());
            match below.into_iter().find_map(|cert| c.violation(cert)) {
                None => Ok(()),
                Some((kind, name)) => Err(Refusal {
                    sentinel: webpki::Error::NameConstraintViolation,
                    error: untrusted(
                        UntrustedReason::Invalid,
                        format!(
                            "the subject {kind} {:?} is outside the name constraints of the CA \
                             {ca} (RFC 5280 4.2.1.10): that CA may not issue this name",
                            crate::error::excerpt(name, 80)
                        ),
                    ),
                }),
            }
        };
        if let Some(c) = &info.constraints {
            check(&info.subject, c, path_intermediates.len())?;
        }
        for (i, ica) in path_intermediates.iter().enumerate() {
            match SubjectConstraints::of(ica.der()) {
                Ok(Some(c)) => check(ica.subject(), &c, i)?,
                Ok(None) => {}
                Err(()) => {
                    return Err(Refusal {
                        sentinel: webpki::Error::NameConstraintViolation,
                        error: untrusted(
                            UntrustedReason::Invalid,
                            format!(
                                "the intermediate {} has an unreadable nameConstraints extension",
                                ica.subject()
                            ),
                        ),
                    })
                }
            }
        }
        Ok(())
    }
}

const KU_KEY_CERT_SIGN: u16 = 1 << 5;

/// The trust domain a CA certificate names with its one `spiffe://td` URI SAN (no path).
fn ca_trust_domain(cert: &Certificate) -> Option<&str> {
    cert.spiffe()
        .filter(|id| id.path().is_empty())
        .map(|id| id.trust_domain())
}

fn no_cert_sign(subject: &str, role: &str) -> Refusal {
    Refusal {
        sentinel: webpki::Error::EndEntityUsedAsCa,
        error: untrusted(
            UntrustedReason::Invalid,
            format!(
                "the {role} {subject} is a CA whose keyUsage does not include keyCertSign, so \
                 it may not sign certificates (RFC 5280 6.1.4 (n)): re-issue it with keyUsage \
                 keyCertSign"
            ),
        ),
    }
}

fn untrusted(reason: UntrustedReason, message: String) -> Error {
    Error::Untrusted { reason, message }
}

/// A path refused by [`Anchors::check_path`].
pub(super) struct Refusal {
    /// Returned to webpki, which goes on building other paths and returns its best error.
    pub sentinel: webpki::Error,
    /// Reported when webpki's final error is `sentinel`.
    pub error: Error,
}
