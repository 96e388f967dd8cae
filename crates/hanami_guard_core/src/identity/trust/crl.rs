//! CRLs given to a TrustStore, in layers.
//!
//! webpki consults the first CRL whose issuer matches a certificate and ignores the rest, so
//! with an issuer's older CRL loaded before its newer one, a certificate revoked only in the
//! newer one verified. A revocation in any loaded, validly signed CRL must count: the CRLs are
//! split into layers holding at most one CRL per issuer name, and the chain is checked against
//! every layer. One CRL per issuer (the usual case) is one layer and one verification.

use webpki::{CertRevocationList, OwnedCertRevocationList};
use x509_parser::prelude::FromDer;
use x509_parser::revocation_list::CertificateRevocationList;

use super::super::pem;
use crate::error::{Error, Result};

/// The largest CRL accepted, DER.
const MAX_CRL_DER: usize = 64 << 20;

/// CRLs, each layer holding at most one CRL per issuer, and the earliest nextUpdate among them
/// (Unix seconds), after which a cached verification is not trusted (see `cache`).
#[derive(Debug, Default)]
pub(super) struct Layers(pub Vec<Vec<CertRevocationList<'static>>>, pub Option<i64>);

fn config(message: String) -> Error {
    Error::configuration(message)
}

impl Layers {
    /// Parses CRLs, PEM (`X509 CRL` blocks, any number) or DER (one).
    pub fn parse(inputs: &[&[u8]]) -> Result<Self> {
        let mut layers: Vec<Vec<CertRevocationList<'static>>> = Vec::new();
        let mut next_update: Option<i64> = None;
        for (i, input) in inputs.iter().enumerate() {
            for der in ders(input, i + 1)? {
                let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| {
                    config(format!("CRL {} is not a valid X.509 CRL: {e:?}", i + 1))
                })?;
                let crl = CertRevocationList::from(crl);
                // webpki parsed it and keeps nextUpdate to itself; it refuses a CRL without one.
                let when = CertificateRevocationList::from_der(&der)
                    .ok()
                    .and_then(|(_, c)| c.next_update())
                    .map(|t| t.timestamp())
                    .ok_or_else(|| config(format!("CRL {} has no readable nextUpdate", i + 1)))?;
                next_update = Some(next_update.map_or(when, |n| n.min(when)));
                let slot = layers
                    .iter()
                    .position(|layer| layer.iter().all(|c| c.issuer() != crl.issuer()));
                match slot {
                    Some(n) => layers[n].push(crl),
                    None => layers.push(vec![crl]),
                }
            }
        }
        Ok(Layers(layers, next_update))
    }
}

fn ders(input: &[u8], n: usize) -> Result<Vec<Vec<u8>>> {
    if !pem::looks_like_pem(input) {
        return Ok(vec![input.to_vec()]);
    }
    let mut out = Vec::new();
    for block in pem::blocks(input) {
        let block = block.map_err(|e| config(format!("CRL {n}: {e}")))?;
        if block.label == "X509 CRL" {
            out.push(
                pem::decode_body(block.body, MAX_CRL_DER)
                    .map_err(|e| config(format!("CRL {n}: {e}")))?,
            );
        }
    }
    if out.is_empty() {
        return Err(config(format!("CRL {n} has no \"X509 CRL\" PEM block")));
    }
    Ok(out)
}
