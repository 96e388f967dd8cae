//! CRLs given to a TrustStore, in layers.
//!
//! webpki consults the first CRL whose issuer matches a certificate and ignores the rest, so
//! with an issuer's older CRL loaded before its newer one, a certificate revoked only in the
//! newer one verified. A revocation in any loaded, validly signed CRL must count: the CRLs are
//! split into layers holding at most one CRL per issuer name, and the chain is checked against
//! every layer. One CRL per issuer (the usual case) is one layer and one verification.

use webpki::{CertRevocationList, OwnedCertRevocationList};

use super::super::pem;
use crate::error::{Error, Result};

/// The largest CRL accepted, DER.
const MAX_CRL_DER: usize = 64 << 20;

/// CRLs, each layer holding at most one CRL per issuer.
#[derive(Debug, Default)]
pub(super) struct Layers(pub Vec<Vec<CertRevocationList<'static>>>);

fn config(message: String) -> Error {
    Error::Configuration(message)
}

impl Layers {
    /// Parses CRLs, PEM (`X509 CRL` blocks, any number) or DER (one).
    pub fn parse(inputs: &[&[u8]]) -> Result<Self> {
        let mut layers: Vec<Vec<CertRevocationList<'static>>> = Vec::new();
        for (i, input) in inputs.iter().enumerate() {
            for der in ders(input, i + 1)? {
                let crl = OwnedCertRevocationList::from_der(&der).map_err(|e| {
                    config(format!("CRL {} is not a valid X.509 CRL: {e:?}", i + 1))
                })?;
                let crl = CertRevocationList::from(crl);
                let slot = layers
                    .iter()
                    .position(|layer| layer.iter().all(|c| c.issuer() != crl.issuer()));
                match slot {
                    Some(n) => layers[n].push(crl),
                    None => layers.push(vec![crl]),
                }
            }
        }
        Ok(Layers(layers))
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
