//! What a policy needs to know about a client: its subject and issuer names, SPIFFE ID, DNS
//! names and certificate fingerprint.
//!
//! [`Identity`] is the trait a decision reads through, so a parsed certificate can be decided on
//! without copying it; [`OwnedIdentity`] is a plain owned value for everything else (an identity
//! an app builds itself, or one converted once from a Ruby object).

use crate::identity::attr;

/// The facts about a client that policy conditions can test.
///
/// Attribute types are dotted OIDs (`2.5.4.3` for CN), in certificate order; values are the
/// attribute text as in the certificate. A multi-valued attribute appears once per value.
pub trait Identity {
    /// The subject's attributes as `(oid, value)`.
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)>;
    /// The issuer's attributes as `(oid, value)`.
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)>;
    /// The SPIFFE ID text, when the identity has one.
    fn spiffe_id(&self) -> Option<&str>;
    /// The DNS names (subjectAltName dNSName entries).
    fn dns_names(&self) -> impl Iterator<Item = &str>;
    /// The SHA-256 fingerprint of the certificate, as hex (any case; colons are ignored).
    fn fingerprint_hex(&self) -> Option<&str>;
    /// The SPKI SHA-256 of every CA on the path a `TrustStore` verified, or `None` when the
    /// identity was not verified here. Only [`Verified`] has them: a claim the identity makes
    /// about its own issuer is never a verified key.
    fn verified_ca_keys(&self) -> Option<&[[u8; 32]]> {
        None
    }
}

/// An identity and the chain a `TrustStore` verified for it.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a, I: Identity + ?Sized> {
    /// The identity (usually the certificate).
    pub identity: &'a I,
    /// What `TrustStore::verify_chain` returned for it.
    pub chain: &'a crate::identity::VerifiedChain,
}

impl<I: Identity + ?Sized> Identity for Verified<'_, I> {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.identity.subject_attributes()
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.identity.issuer_attributes()
    }
    fn spiffe_id(&self) -> Option<&str> {
        self.identity.spiffe_id()
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.identity.dns_names()
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        self.identity.fingerprint_hex()
    }
    fn verified_ca_keys(&self) -> Option<&[[u8; 32]]> {
        Some(self.chain.ca_keys())
    }
}

/// An identity as plain owned data. `Send + Sync`; cheap to evaluate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedIdentity {
    /// Subject attributes as `(oid, value)`, in certificate order. Use [`OwnedIdentity::attribute`]
    /// to build an entry from a type name.
    pub subject: Vec<(String, String)>,
    /// Issuer attributes as `(oid, value)`.
    pub issuer: Vec<(String, String)>,
    /// The SPIFFE ID text.
    pub spiffe_id: Option<String>,
    /// DNS names.
    pub dns_names: Vec<String>,
    /// SHA-256 of the certificate's DER, hex.
    pub fingerprint: Option<String>,
}

impl OwnedIdentity {
    /// An `(oid, value)` entry from an attribute type given as a short name (`CN`), a long name
    /// (`commonName`) or a dotted OID. A type that is neither known nor an OID is kept as given:
    /// it can never equal a policy condition, which are always resolved to OIDs.
    pub fn attribute(type_name: &str, value: impl Into<String>) -> (String, String) {
        let oid = attr::oid_for(type_name).unwrap_or_else(|| format!("?{type_name}"));
        (oid, value.into())
    }

    /// A one-line, log-safe summary: the SPIFFE ID if any, else the subject in RFC 4514 order
    /// of appearance, and the first 16 hex digits of the fingerprint. Control characters are
    /// escaped and each part is cut short, so a hostile name cannot forge a log line.
    pub fn summary(&self) -> String {
        summary(self)
    }
}

impl Identity for OwnedIdentity {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.subject.iter().map(|(t, v)| (t.as_str(), v.as_str()))
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.issuer.iter().map(|(t, v)| (t.as_str(), v.as_str()))
    }
    fn spiffe_id(&self) -> Option<&str> {
        self.spiffe_id.as_deref()
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.dns_names.iter().map(String::as_str)
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }
}

impl<T: Identity> Identity for &T {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        (**self).subject_attributes()
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        (**self).issuer_attributes()
    }
    fn spiffe_id(&self) -> Option<&str> {
        (**self).spiffe_id()
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        (**self).dns_names()
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        (**self).fingerprint_hex()
    }
    fn verified_ca_keys(&self) -> Option<&[[u8; 32]]> {
        (**self).verified_ca_keys()
    }
}

/// A parsed certificate is decided on in place: no copy of its names per decision.
impl Identity for crate::identity::Certificate {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.subject().attributes()
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.issuer().attributes()
    }
    fn spiffe_id(&self) -> Option<&str> {
        crate::identity::Certificate::spiffe_id(self)
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        crate::identity::Certificate::dns_names(self)
            .iter()
            .map(compact_str::CompactString::as_str)
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        Some(crate::identity::Certificate::fingerprint_hex(self))
    }
}

/// A one-line, log-safe summary of any identity (see [`OwnedIdentity::summary`]).
pub fn summary<I: Identity + ?Sized>(identity: &I) -> String {
    use crate::error::excerpt;
    let mut out = String::new();
    if let Some(id) = identity.spiffe_id() {
        out.push_str(&excerpt(id, 128));
    } else {
        for (i, (oid, value)) in identity.subject_attributes().take(8).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let name = oid
                .strip_prefix('?')
                .map(str::to_owned)
                .unwrap_or_else(|| attr::short_name_for_oid(oid));
            out.push_str(&excerpt(&name, 32));
            out.push('=');
            out.push_str(&excerpt(value, 64));
        }
        if out.is_empty() {
            out.push_str("(no subject)");
        }
    }
    if let Some(fp) = identity.fingerprint_hex() {
        out.push_str(" sha256:");
        out.push_str(&excerpt(fp, 16));
    }
    out
}

/// Whether `value` prepared (RFC 4518 as in [`attr::prepare`]) equals `prepared`, without
/// allocating. Exactly `attr::prepare(value) == prepared`; the property tests check it against
/// [`attr::values_equal`].
pub(crate) fn prepared_eq(value: &str, prepared: &str) -> bool {
    let mut want = prepared.chars();
    let mut started = false;
    let mut pending_space = false;
    for c in value.chars() {
        if c == ' ' {
            pending_space = started;
            continue;
        }
        if pending_space {
            if want.next() != Some(' ') {
                return false;
            }
            pending_space = false;
        }
        for l in c.to_lowercase() {
            if want.next() != Some(l) {
                return false;
            }
        }
        started = true;
    }
    want.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepared_eq_agrees_with_values_equal() {
        for (a, b) in [
            ("  My   Org ", "my org"),
            ("my org", "myorg"),
            ("admin\0", "admin"),
            ("operator,O=MyOrg", "operator"),
            ("ÄBC", "äbc"),
            ("", " "),
            ("a", ""),
        ] {
            assert_eq!(
                prepared_eq(a, &attr::prepare(b)),
                attr::values_equal(a, b),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn attribute_resolves_type_names() {
        assert_eq!(OwnedIdentity::attribute("commonName", "x").0, "2.5.4.3");
        assert_eq!(OwnedIdentity::attribute("CN", "x").0, "2.5.4.3");
        assert_eq!(OwnedIdentity::attribute("1.2.3.4", "x").0, "1.2.3.4");
        assert_eq!(OwnedIdentity::attribute("bogus", "x").0, "?bogus");
    }

    #[test]
    fn summary_is_log_safe() {
        let id = OwnedIdentity {
            subject: vec![OwnedIdentity::attribute("CN", "evil\nINFO forged")],
            fingerprint: Some("ab".repeat(32)),
            ..Default::default()
        };
        let s = id.summary();
        assert!(!s.contains('\n'));
        assert!(s.starts_with("CN=evil\\nINFO forged sha256:abababab"));
    }
}
