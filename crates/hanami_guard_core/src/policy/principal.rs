//! Principals: who a rule applies to.
//!
//! A rule lists principals; any one matching is enough. A principal is `"*"` (any identity;
//! never a missing one) or a set of conditions that must all match: `subject` and `issuer`
//! (attribute => value, compared as `DistinguishedName#match?` compares them: each named
//! attribute present with an equal value, RFC 5280 section 7.1), `spiffe_id` (or
//! `trust_domain`), `dns_name`, `fingerprint`, `issuer_key` (a CA on the verified path, by key).
//!
//! Names are compared as structures, never as strings: a CN of `operator,O=MyOrg` is one CN
//! attribute with that odd value, and does not satisfy `subject: { CN: operator, O: MyOrg }`.

use super::identity::{prepared_eq, Identity};
use super::pattern::{fingerprint_matches, is_valid_spiffe_id, SpiffePattern};
use crate::identity::attr;

/// One `attribute: value` condition, resolved when the policy loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrCondition {
    /// The dotted OID of the attribute type.
    pub oid: Box<str>,
    /// The value as written.
    pub value: Box<str>,
    /// `attr::prepare(value)`, computed once.
    prepared: Box<str>,
}

impl AttrCondition {
    /// A condition on an attribute type given by OID.
    pub fn new(oid: &str, value: &str) -> Self {
        AttrCondition {
            oid: oid.into(),
            value: value.into(),
            prepared: attr::prepare(value).into(),
        }
    }

    /// `values_equal(presented, self.value)`, without allocating.
    fn value_matches(&self, presented: &str) -> bool {
        presented == &*self.value || prepared_eq(presented, &self.prepared)
    }

    /// Whether `self` holds whenever `other` does (same type, equal values).
    fn implied_by(&self, other: &AttrCondition) -> bool {
        self.oid == other.oid && self.prepared == other.prepared
    }
}

/// How a name condition treats an attribute type that appears more than once (two CNs, say).
/// Such a name is ambiguous, and the ambiguity must never help the certificate's holder:
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeats {
    /// For allow rules, as `DistinguishedName#match?`: the type must be present and *every* value
    /// of it must equal the condition, so `CN=admin` plus `CN=evil` is not `CN: admin`.
    AllMustMatch,
    /// For deny rules: *any* value equal to the condition is enough, so adding a second `OU`
    /// never slips a certificate out from under a deny.
    AnyMatches,
}

/// Every condition must hold for one attribute list, with repeated types treated as `repeats`.
fn name_matches<'a, It>(
    conditions: &[AttrCondition],
    attributes: impl Fn() -> It,
    repeats: Repeats,
) -> bool
where
    It: Iterator<Item = (&'a str, &'a str)>,
{
    conditions.iter().all(|c| {
        let mut values = attributes()
            .filter(|(oid, _)| *oid == &*c.oid)
            .map(|(_, v)| v);
        match repeats {
            Repeats::AnyMatches => values.any(|v| c.value_matches(v)),
            Repeats::AllMustMatch => {
                let mut seen = false;
                values.all(|v| {
                    seen = true;
                    c.value_matches(v)
                }) && seen
            }
        }
    })
}

/// Whether a valid SPIFFE ID names only its trust domain (`spiffe://td`).
fn has_no_path(id: &str) -> bool {
    id.strip_prefix("spiffe://")
        .is_some_and(|rest| !rest.contains('/'))
}

/// The conditions of one principal. At least one is present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `subject:` conditions.
    pub subject: Vec<AttrCondition>,
    /// `issuer:` conditions.
    pub issuer: Vec<AttrCondition>,
    /// `spiffe_id:` and `trust_domain:` conditions.
    pub spiffe: Vec<SpiffePattern>,
    /// `dns_name:`, lowercase.
    pub dns_name: Option<Box<str>>,
    /// `fingerprint:`, lowercase hex.
    pub fingerprint: Option<Box<str>>,
    /// `issuer_key:`, the SHA-256 of a CA's SubjectPublicKeyInfo: some CA on the identity's
    /// *verified* path (see [`Identity::verified_ca_keys`]) has that key.
    pub issuer_key: Option<[u8; 32]>,
}

/// Parses an `issuer_key:` value: 64 hex digits (any case, colons allowed, optional `sha256:`).
pub fn parse_issuer_key(s: &str) -> Result<[u8; 32], String> {
    let body = s
        .strip_prefix("sha256:")
        .or_else(|| s.strip_prefix("SHA256:"))
        .unwrap_or(s);
    let hex: Vec<u8> = body.bytes().filter(|b| *b != b':').collect();
    let mut out = [0u8; 32];
    let ok = hex.len() == 64
        && hex.chunks(2).zip(out.iter_mut()).all(|(pair, byte)| {
            let digit = |b: u8| char::from(b).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(h), Some(l)) => {
                    *byte = (h * 16 + l) as u8;
                    true
                }
                _ => false,
            }
        });
    if ok {
        Ok(out)
    } else {
        Err(format!(
            "malformed issuer_key {:?}: give the SHA-256 of the CA's SubjectPublicKeyInfo as 64 \
             hex digits (openssl x509 -in ca.pem -pubkey -noout | openssl pkey -pubin -outform \
             der | sha256sum)",
            crate::error::excerpt(s, 80)
        ))
    }
}

/// A compiled principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// `"*"`: any identity.
    Anyone,
    /// All of these must hold.
    Conditions(Conditions),
}

/// What a principal reads from an identity, so a binding extracts only that.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Uses {
    /// Some condition reads the subject.
    pub subject: bool,
    /// Some condition reads the issuer.
    pub issuer: bool,
    /// Some condition reads the SPIFFE ID.
    pub spiffe_id: bool,
    /// Some condition reads the DNS names.
    pub dns_names: bool,
    /// Some condition reads the fingerprint.
    pub fingerprint: bool,
}

impl Uses {
    /// Adds what `p` reads.
    pub fn add(&mut self, p: &Principal) {
        if let Principal::Conditions(c) = p {
            self.subject |= !c.subject.is_empty();
            self.issuer |= !c.issuer.is_empty();
            self.spiffe_id |= !c.spiffe.is_empty();
            self.dns_names |= c.dns_name.is_some();
            self.fingerprint |= c.fingerprint.is_some();
        }
    }
}

/// The identity under decision, with its SPIFFE ID checked once.
pub(crate) struct Subject<'a, I: Identity + ?Sized> {
    pub identity: &'a I,
    /// The SPIFFE ID, only if it is syntactically valid.
    pub spiffe_id: Option<&'a str>,
}

impl<'a, I: Identity + ?Sized> Subject<'a, I> {
    pub fn new(identity: &'a I, check_spiffe: bool) -> Self {
        let spiffe_id = if check_spiffe {
            identity.spiffe_id().filter(|s| is_valid_spiffe_id(s))
        } else {
            None
        };
        Subject {
            identity,
            spiffe_id,
        }
    }
}

impl Principal {
    pub(crate) fn matches<I: Identity + ?Sized>(
        &self,
        who: &Subject<'_, I>,
        repeats: Repeats,
    ) -> bool {
        let c = match self {
            Principal::Anyone => return true,
            Principal::Conditions(c) => c,
        };
        if !c.spiffe.is_empty() {
            match who.spiffe_id {
                // X509-SVID 5.2: an ID without a path names a trust domain, never a workload.
                // Read as "any ID of the domain" a deny still matches it; no allow does.
                Some(id) if repeats == Repeats::AllMustMatch && has_no_path(id) => return false,
                Some(id) if c.spiffe.iter().all(|p| p.matches_valid(id)) => {}
                _ => return false,
            }
        }
        if let Some(pin) = &c.fingerprint {
            match who.identity.fingerprint_hex() {
                Some(fp) if fingerprint_matches(pin, fp) => {}
                _ => return false,
            }
        }
        if let Some(key) = &c.issuer_key {
            match who.identity.verified_ca_keys() {
                Some(keys) if keys.contains(key) => {}
                // No verified chain: which CA issued the identity is unknown. An allow cannot
                // hold on an unknown; a deny must.
                None if repeats == Repeats::AnyMatches => {}
                _ => return false,
            }
        }
        if let Some(name) = &c.dns_name {
            if !who
                .identity
                .dns_names()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                return false;
            }
        }
        if !c.subject.is_empty()
            && !name_matches(&c.subject, || who.identity.subject_attributes(), repeats)
        {
            return false;
        }
        if !c.issuer.is_empty()
            && !name_matches(&c.issuer, || who.identity.issuer_attributes(), repeats)
        {
            return false;
        }
        true
    }

    /// Whether every identity `other` matches is matched by `self` (for lint). Conservative.
    pub fn covers(&self, other: &Principal) -> bool {
        match (self, other) {
            (Principal::Anyone, _) => true,
            (Principal::Conditions(_), Principal::Anyone) => false,
            (Principal::Conditions(a), Principal::Conditions(b)) => {
                a.subject
                    .iter()
                    .all(|x| b.subject.iter().any(|y| x.implied_by(y)))
                    && a.issuer
                        .iter()
                        .all(|x| b.issuer.iter().any(|y| x.implied_by(y)))
                    && a.spiffe
                        .iter()
                        .all(|x| b.spiffe.iter().any(|y| x.covers(y)))
                    && a.dns_name
                        .as_ref()
                        .map_or(true, |x| b.dns_name.as_ref() == Some(x))
                    && a.fingerprint
                        .as_ref()
                        .map_or(true, |x| b.fingerprint.as_ref() == Some(x))
                    && a.issuer_key
                        .as_ref()
                        .map_or(true, |x| b.issuer_key.as_ref() == Some(x))
            }
        }
    }
}
