//! Principals: who a rule applies to.
//!
//! A rule lists principals; any one matching is enough. A principal is `"*"` (any identity;
//! never a missing one) or a set of conditions that must all match: `subject` and `issuer`
//! (attribute => value: in an allow rule compared as `DistinguishedName#match?` compares them,
//! in a deny rule wide-folded, see below), `spiffe_id` (or `trust_domain`), `dns_name`,
//! `fingerprint`, `issuer_key` (a CA on the verified path, by key).
//!
//! Names are compared as structures, never as strings: a CN of `operator,O=MyOrg` is one CN
//! attribute with that odd value, and does not satisfy `subject: { CN: operator, O: MyOrg }`.
//!
//! Where a name can be read more than one way, the reading never helps the holder: an allow
//! rule reads an identity strictly (the strict equality of [`crate::identity::fold`], only a
//! valid SPIFFE ID, DNS names as written), a deny rule reads it every way it can be read (the
//! wide equality, every URI SAN leniently, DNS names without their trailing dot, wildcards, and
//! each value also cut at its first NUL, as a C string reader would see it).

use std::borrow::Cow;
use std::cell::OnceCell;

use smallvec::SmallVec;

use super::identity::{before_nul, dns_reading, dns_reading_covers, spiffe_readings, Identity};
use super::pattern::{fingerprint_matches, is_valid_spiffe_id, SpiffePattern};
use crate::identity::fold;

/// One `attribute: value` condition, resolved when the policy loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrCondition {
    /// The dotted OID of the attribute type.
    pub oid: Box<str>,
    /// The value as written.
    pub value: Box<str>,
    /// `fold::prepare(value)`: the strict form allow rules compare with.
    prepared: Box<str>,
    /// `fold::wide(value)`: the wide form deny rules compare with.
    wide: Box<str>,
}

impl AttrCondition {
    /// A condition on an attribute type given by OID.
    pub fn new(oid: &str, value: &str) -> Self {
        AttrCondition {
            oid: oid.into(),
            value: value.into(),
            prepared: fold::prepare(value).into(),
            wide: fold::wide(value).into(),
        }
    }

    /// `fold::values_equal(presented, self.value)`, without allocating.
    fn value_matches(&self, presented: &str) -> bool {
        presented == &*self.value || fold::prepared_eq(presented, &self.prepared)
    }

    /// Whether `self` holds whenever `other` does (same type, equal values).
    fn implied_by(&self, other: &AttrCondition) -> bool {
        self.oid == other.oid && self.prepared == other.prepared
    }
}

/// Which kind of rule is matching, and so how an ambiguous identity is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// An allow rule: the narrowest reading. Values compare strictly; a repeated type (two CNs)
    /// must be present and *every* value must equal, so `CN=admin` plus `CN=evil` is not
    /// `CN: admin` (as `DistinguishedName#match?`); only a valid SPIFFE ID and DNS names as
    /// written count.
    Allow,
    /// A deny rule: every reading. Values compare wide-folded; *any* value of a repeated type
    /// is enough, so adding a second `OU` never slips a certificate out from under a deny; every
    /// URI SAN and every DNS name is read leniently.
    Deny,
}

/// Every condition must hold for one attribute list, allow side.
fn name_matches_strictly<'a, It>(conditions: &[AttrCondition], attributes: impl Fn() -> It) -> bool
where
    It: Iterator<Item = (&'a str, &'a str)>,
{
    conditions.iter().all(|c| {
        let mut seen = false;
        attributes()
            .filter(|(oid, _)| *oid == &*c.oid)
            .all(|(_, v)| {
                seen = true;
                c.value_matches(v)
            })
            && seen
    })
}

/// Every condition must hold for one attribute list, deny side: some value of the type equal
/// under the wide folding. ASCII values are compared as they stream; only non-ASCII values are
/// folded, once per decision (`folded`).
fn name_matches_widely<'a, It>(
    conditions: &[AttrCondition],
    attributes: impl Fn() -> It,
    folded: impl Fn() -> &'a [(&'a str, Box<str>)],
) -> bool
where
    It: Iterator<Item = (&'a str, &'a str)>,
{
    conditions.iter().all(|c| {
        attributes().any(|(oid, v)| {
            *oid == *c.oid
                && v.is_ascii()
                && (fold::wide_eq_ascii(v, &c.wide)
                    || before_nul(v).is_some_and(|p| fold::wide_eq_ascii(p, &c.wide)))
        }) || folded()
            .iter()
            .any(|(oid, v)| **oid == *c.oid && **v == *c.wide)
    })
}

/// The wide forms of the non-ASCII values (ASCII ones are compared without folding), and of
/// their part before a NUL.
fn fold_non_ascii<'a>(
    attributes: impl Iterator<Item = (&'a str, &'a str)>,
) -> Vec<(&'a str, Box<str>)> {
    let mut out = Vec::new();
    for (oid, v) in attributes.filter(|(_, v)| !v.is_ascii()) {
        out.push((oid, Box::from(&*fold::wide(v))));
        if let Some(p) = before_nul(v) {
            out.push((oid, Box::from(&*fold::wide(p))));
        }
    }
    out
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

/// The identity under decision, with its SPIFFE ID checked once and its deny-side readings
/// computed at most once, when a deny rule first needs them (never per rule).
pub(crate) struct Subject<'a, I: Identity + ?Sized> {
    pub identity: &'a I,
    /// The SPIFFE ID, only if it is syntactically valid.
    pub spiffe_id: Option<&'a str>,
    folded_subject: OnceCell<Vec<(&'a str, Box<str>)>>,
    folded_issuer: OnceCell<Vec<(&'a str, Box<str>)>>,
    spiffe_readings: OnceCell<SmallVec<[Cow<'a, str>; 2]>>,
    dns_readings: OnceCell<SmallVec<[Cow<'a, str>; 2]>>,
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
            folded_subject: OnceCell::new(),
            folded_issuer: OnceCell::new(),
            spiffe_readings: OnceCell::new(),
            dns_readings: OnceCell::new(),
        }
    }

    fn folded_subject(&self) -> &[(&'a str, Box<str>)] {
        self.folded_subject
            .get_or_init(|| fold_non_ascii(self.identity.subject_attributes()))
    }

    fn folded_issuer(&self) -> &[(&'a str, Box<str>)] {
        self.folded_issuer
            .get_or_init(|| fold_non_ascii(self.identity.issuer_attributes()))
    }

    fn spiffe_readings(&self) -> &[Cow<'a, str>] {
        self.spiffe_readings.get_or_init(|| {
            let mut out = SmallVec::new();
            for uri in self.identity.uris() {
                spiffe_readings(uri, &mut out);
                if let Some(p) = before_nul(uri) {
                    spiffe_readings(p, &mut out);
                }
                // WHATWG URL parsers read `\` as `/` in special schemes; some read it so in any.
                if uri.contains('\\') {
                    let slashed = uri.replace('\\', "/");
                    let mut more = SmallVec::new();
                    spiffe_readings(&slashed, &mut more);
                    for r in more {
                        let r = Cow::Owned(r.into_owned());
                        if !out.contains(&r) {
                            out.push(r);
                        }
                    }
                }
            }
            out
        })
    }

    fn dns_readings(&self) -> &[Cow<'a, str>] {
        self.dns_readings.get_or_init(|| {
            let mut out = SmallVec::new();
            for name in self.identity.dns_names() {
                out.push(dns_reading(name));
                if let Some(p) = before_nul(name) {
                    out.push(dns_reading(p));
                }
            }
            out
        })
    }
}

/// One condition of a principal, as [`Principal::matches`] checks it and a near-miss
/// explanation names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    /// `spiffe_id:` / `trust_domain:` (all of a principal's SPIFFE patterns together).
    SpiffeId,
    /// `fingerprint:`.
    Fingerprint,
    /// `issuer_key:`.
    IssuerKey,
    /// `dns_name:`.
    DnsName,
    /// `subject:` (all of its attributes together).
    Subject,
    /// `issuer:` (all of its attributes together).
    Issuer,
}

impl Condition {
    /// The key as a policy writes it.
    pub fn key(self) -> &'static str {
        match self {
            Condition::SpiffeId => "spiffe_id",
            Condition::Fingerprint => "fingerprint",
            Condition::IssuerKey => "issuer_key",
            Condition::DnsName => "dns_name",
            Condition::Subject => "subject",
            Condition::Issuer => "issuer",
        }
    }
}

impl Conditions {
    /// The conditions present, in the order [`Principal::matches`] checks them (cheapest and
    /// most selective first).
    fn present(&self) -> impl Iterator<Item = Condition> + '_ {
        [
            (!self.spiffe.is_empty()).then_some(Condition::SpiffeId),
            self.fingerprint.is_some().then_some(Condition::Fingerprint),
            self.issuer_key.is_some().then_some(Condition::IssuerKey),
            self.dns_name.is_some().then_some(Condition::DnsName),
            (!self.subject.is_empty()).then_some(Condition::Subject),
            (!self.issuer.is_empty()).then_some(Condition::Issuer),
        ]
        .into_iter()
        .flatten()
    }

    /// Whether one condition (present in `self`) holds for `who`, read as `side` reads.
    fn holds<I: Identity + ?Sized>(
        &self,
        cond: Condition,
        who: &Subject<'_, I>,
        side: Side,
    ) -> bool {
        let c = self;
        match cond {
            Condition::SpiffeId => match side {
                // X509-SVID 5.2: an ID without a path names a trust domain, never a workload.
                // Read as "any ID of the domain" a deny still matches it; no allow does.
                Side::Allow => who.spiffe_id.is_some_and(|id| {
                    !has_no_path(id) && c.spiffe.iter().all(|p| p.matches_valid(id))
                }),
                // One reading of one URI must meet every SPIFFE condition of the principal.
                Side::Deny => who
                    .spiffe_readings()
                    .iter()
                    .any(|id| c.spiffe.iter().all(|p| p.matches_valid(id))),
            },
            Condition::Fingerprint => match (&c.fingerprint, who.identity.fingerprint_hex()) {
                (Some(pin), Some(fp)) => fingerprint_matches(pin, fp),
                _ => false,
            },
            Condition::IssuerKey => match (&c.issuer_key, who.identity.verified_ca_keys()) {
                (Some(key), Some(keys)) => keys.contains(key),
                // No verified chain: which CA issued the identity is unknown. An allow cannot
                // hold on an unknown; a deny must.
                (Some(_), None) => matches!(side, Side::Deny),
                (None, _) => false,
            },
            Condition::DnsName => match (&c.dns_name, side) {
                (Some(name), Side::Allow) => who
                    .identity
                    .dns_names()
                    .any(|n| n.eq_ignore_ascii_case(name)),
                (Some(name), Side::Deny) => who
                    .dns_readings()
                    .iter()
                    .any(|r| dns_reading_covers(r, name)),
                (None, _) => false,
            },
            Condition::Subject => match side {
                Side::Allow => {
                    name_matches_strictly(&c.subject, || who.identity.subject_attributes())
                }
                Side::Deny => name_matches_widely(
                    &c.subject,
                    || who.identity.subject_attributes(),
                    || who.folded_subject(),
                ),
            },
            Condition::Issuer => match side {
                Side::Allow => {
                    name_matches_strictly(&c.issuer, || who.identity.issuer_attributes())
                }
                Side::Deny => name_matches_widely(
                    &c.issuer,
                    || who.identity.issuer_attributes(),
                    || who.folded_issuer(),
                ),
            },
        }
    }
}

impl Principal {
    pub(crate) fn matches<I: Identity + ?Sized>(&self, who: &Subject<'_, I>, side: Side) -> bool {
        match self {
            Principal::Anyone => true,
            // Spelled out rather than `present().all(..)`: this is the decision's inner loop.
            Principal::Conditions(c) => {
                (c.spiffe.is_empty() || c.holds(Condition::SpiffeId, who, side))
                    && (c.fingerprint.is_none() || c.holds(Condition::Fingerprint, who, side))
                    && (c.issuer_key.is_none() || c.holds(Condition::IssuerKey, who, side))
                    && (c.dns_name.is_none() || c.holds(Condition::DnsName, who, side))
                    && (c.subject.is_empty() || c.holds(Condition::Subject, who, side))
                    && (c.issuer.is_empty() || c.holds(Condition::Issuer, who, side))
            }
        }
    }

    /// The conditions that do not hold for `who` read as an allow rule reads it (empty when
    /// the principal matches). For explanations only: never on the decision path.
    pub(crate) fn failed_conditions<I: Identity + ?Sized>(
        &self,
        who: &Subject<'_, I>,
    ) -> SmallVec<[Condition; 6]> {
        match self {
            Principal::Anyone => SmallVec::new(),
            Principal::Conditions(c) => c
                .present()
                .filter(|&cond| !c.holds(cond, who, Side::Allow))
                .collect(),
        }
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
