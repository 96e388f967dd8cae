//! SPIFFE trust bundles: the CAs of one trust domain, as a PEM bundle or in the SPIFFE bundle
//! format (SPIFFE Trust Domain and Bundle spec, section 4: a JWK Set whose `x509-svid` keys
//! carry the CA certificate in `x5c`).

use base64::Engine as _;
use serde_json::Value;

use super::super::cert::Certificate;
use super::super::spiffe::SpiffeId;
use crate::error::{excerpt, Error, Result};

/// The largest bundle accepted.
const MAX_BUNDLE: usize = 16 << 20;

fn config(message: String) -> Error {
    Error::configuration(message)
}

/// The trust domain name, given bare (`prod.example.org`) or as `spiffe://prod.example.org`.
pub(super) fn trust_domain(input: &str) -> Result<String> {
    let td = input.strip_prefix("spiffe://").unwrap_or(input);
    match SpiffeId::parse(&format!("spiffe://{td}")) {
        Ok(id) if id.path().is_empty() => Ok(td.to_owned()),
        _ => Err(config(format!(
            "{:?} is not a trust domain name: write it as prod.example.org (lower-case letters, \
             digits, '.', '_', '-')",
            excerpt(input, 80)
        ))),
    }
}

/// The CA certificates of the bundle of `td`.
pub(super) fn parse(td: &str, input: &[u8]) -> Result<Vec<Certificate>> {
    if input.len() > MAX_BUNDLE {
        return Err(config(format!(
            "the bundle of trust domain {td} is larger than {} MiB: refused",
            MAX_BUNDLE >> 20
        )));
    }
    let first = input.iter().find(|b| !b.is_ascii_whitespace());
    let certs = if first == Some(&b'{') {
        from_jwks(td, input)?
    } else {
        Certificate::parse_chain(input).map_err(|e| {
            config(format!(
                "the bundle of trust domain {td} is neither a SPIFFE bundle (JSON) nor a PEM \
                 bundle of CA certificates: {e}"
            ))
        })?
    };
    if certs.is_empty() {
        return Err(config(format!(
            "the bundle of trust domain {td} holds no x509-svid key: nothing could verify \
             against it"
        )));
    }
    // Unlike the flat CA bundle, a trust bundle holds X.509 authorities only: a leaf in it is
    // a mistake worth stopping at, not something to skip.
    if let Some(leaf) = certs.iter().find(|c| !c.is_ca()) {
        return Err(config(format!(
            "the bundle of trust domain {td} holds {}, which is not a CA (basicConstraints \
             CA:TRUE): a bundle lists the trust domain's CAs",
            leaf.subject()
        )));
    }
    Ok(certs)
}

fn from_jwks(td: &str, input: &[u8]) -> Result<Vec<Certificate>> {
    let not_a_set = |why: String| {
        config(format!(
            "the SPIFFE bundle of trust domain {td} is not a JWK Set ({why}): expected \
             {{\"keys\": [{{\"use\": \"x509-svid\", \"x5c\": [\"<base64 DER>\"], ...}}]}}"
        ))
    };
    let set: Value = serde_json::from_slice(input).map_err(|e| not_a_set(e.to_string()))?;
    let Some(keys) = set.get("keys").and_then(Value::as_array) else {
        return Err(not_a_set("no \"keys\" list".to_owned()));
    };
    let mut out = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let usage = match key.get("use") {
            None | Some(Value::Null) => None,
            Some(Value::String(u)) => Some(u.as_str()),
            Some(_) => return Err(not_a_set(format!("key {i}: \"use\" is not a string"))),
        };
        // JWT authorities (`jwt-svid`) and uses this version does not know verify no X.509
        // certificate here: they are left out, and so trusted for nothing.
        if usage != Some("x509-svid") {
            continue;
        }
        let x5c: Option<Vec<&str>> = key
            .get("x5c")
            .and_then(Value::as_array)
            .and_then(|list| list.iter().map(Value::as_str).collect());
        // Bundle spec 4.2.2: an x509-svid key carries exactly one certificate, the authority.
        let der = match x5c.as_deref() {
            Some([one]) => base64::engine::general_purpose::STANDARD
                .decode(one)
                .map_err(|_| {
                    config(format!(
                        "key {i} of the SPIFFE bundle of trust domain {td}: x5c is not base64"
                    ))
                })?,
            _ => {
                return Err(config(format!(
                    "key {i} of the SPIFFE bundle of trust domain {td}: an x509-svid key must \
                     have an x5c of exactly one certificate"
                )))
            }
        };
        out.push(Certificate::from_der(der).map_err(|e| {
            config(format!(
                "key {i} of the SPIFFE bundle of trust domain {td}: {e}"
            ))
        })?);
    }
    Ok(out)
}
