//! Distinguished names: read from the DER of a certificate, parsed from RFC 4514 text, printed
//! as RFC 4514 text, compared with the strict equality of [`super::fold`] (what OpenSSL's
//! `X509_NAME_cmp` would also call equal).
//!
//! The point of the type is that a name is never a string. `CN=operator\,O=MyOrg` is one
//! attribute whose value contains a comma, not two attributes; two CNs stay two CNs; a NUL in
//! a value is kept, so it never equals a configured value that lacks it.

use std::borrow::Cow;

use compact_str::CompactString;
use smallvec::SmallVec;

use x509_parser::asn1_rs::ToDer;
use x509_parser::x509::X509Name;

mod der;
mod parse;
mod print;

pub use der::tagged_value;
pub(crate) use der::{decode_string, oid_text};
use der::{hex_value, known_oid_der, oid_is_valid, static_oid, universal_string};
pub use parse::MAX_DN_STRING;
pub(crate) use print::escape_value;

use super::{attr, fold};
use crate::error::{excerpt, Error, Result};
use crate::identity::cert::check;

fn malformed_oid() -> Error {
    Error::certificate(
        check::DISTINGUISHED_NAME,
        "a name attribute has a malformed type OID: refused",
    )
}

fn malformed_name() -> Error {
    Error::certificate(
        check::DISTINGUISHED_NAME,
        "a name is malformed (expected a SEQUENCE of non-empty RDN SETs)",
    )
}

/// How a value is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueKind {
    /// A directory string type (UTF8String, PrintableString, ...), decoded to UTF-8.
    Text,
    /// Anything else (or a string that does not decode): `#` followed by the lowercase hex of
    /// its DER encoding, as RFC 4514 section 2.4 prints it.
    Binary,
}

/// One attribute type and value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Attribute {
    oid: Cow<'static, str>,
    // Inline up to 24 bytes: most name values (CN, O, OU, C) need no allocation of their own.
    value: CompactString,
    kind: ValueKind,
}

/// One RDN: nearly always a single attribute, held inline.
pub type Rdn = SmallVec<[Attribute; 1]>;

impl Attribute {
    /// Builds a text attribute.
    pub fn text(oid: impl Into<String>, value: impl Into<String>) -> Self {
        Attribute {
            oid: static_oid(oid.into()),
            value: CompactString::from(value.into()),
            kind: ValueKind::Text,
        }
    }

    /// An attribute of a name read from DER, its type `oid` already read.
    fn read(oid: Cow<'static, str>, attribute: &super::frame::NameAttribute<'_>) -> Self {
        Self::decoded_or_hex(
            oid,
            universal_string(attribute.tag, attribute.content),
            attribute.element,
        )
    }

    /// A value read from DER: the decoded string when it is one this crate decodes, else `#`
    /// and the hex of the whole DER `element`, as RFC 4514 prints such values.
    fn decoded_or_hex(
        oid: Cow<'static, str>,
        decoded: Option<CompactString>,
        element: &[u8],
    ) -> Self {
        match decoded {
            Some(value) => Attribute {
                oid,
                value,
                kind: ValueKind::Text,
            },
            None => Attribute {
                oid,
                value: hex_value(element).into(),
                kind: ValueKind::Binary,
            },
        }
    }

    /// The dotted OID of the type.
    pub fn oid(&self) -> &str {
        &self.oid
    }

    /// The short name (`CN`) when known, else the dotted OID.
    pub fn type_name(&self) -> String {
        attr::short_name_for_oid(&self.oid)
    }

    /// The short name (`CN`) when known, else the dotted OID, without allocating.
    pub fn type_str(&self) -> &str {
        attr::KNOWN
            .iter()
            .find(|t| t.oid == self.oid)
            .map_or(&*self.oid, |t| t.short)
    }

    /// The value: the decoded text, or `#hex` for a [`ValueKind::Binary`] value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// How the value is held.
    pub fn kind(&self) -> ValueKind {
        self.kind
    }

    fn equals(&self, other: &Attribute) -> bool {
        self.oid == other.oid
            && match (self.kind, other.kind) {
                (ValueKind::Text, ValueKind::Text) => fold::values_equal(&self.value, &other.value),
                (ValueKind::Binary, ValueKind::Binary) => {
                    self.value.eq_ignore_ascii_case(&other.value)
                }
                _ => false,
            }
    }
}

/// A distinguished name: a sequence of RDNs, each a non-empty set of attributes, in the order
/// of the certificate (the reverse of the RFC 4514 string).
#[derive(Debug, Clone, Default)]
pub struct DistinguishedName {
    // Inline up to four RDNs (C, O, OU, CN is the common subject): no allocation of its own.
    rdns: SmallVec<[Rdn; 4]>,
}

impl DistinguishedName {
    /// Builds a name from RDNs in certificate order.
    pub fn from_rdns(rdns: Vec<Vec<Attribute>>) -> Self {
        DistinguishedName {
            rdns: rdns
                .into_iter()
                .filter(|r| !r.is_empty())
                .map(Rdn::from_vec)
                .collect(),
        }
    }

    /// Reads a name from x509-parser's view of it. Certificates are read with
    /// [`Self::from_name_contents`]; this independent reading is what the `frame_parity` fuzz
    /// target and the tests compare it with.
    pub fn from_x509(name: &X509Name<'_>) -> Result<Self> {
        let mut rdns = SmallVec::with_capacity(name.iter_rdn().count());
        for rdn in name.iter_rdn() {
            let mut set = Rdn::new();
            for atv in rdn.iter() {
                // An empty or malformed type OID could not be printed or matched faithfully.
                let oid = oid_text(atv.attr_type().as_bytes()).ok_or_else(malformed_oid)?;
                let any = atv.attr_value();
                let tag = any.tag().0;
                let text = if any.header.is_constructed()
                    || any.header.class() != x509_parser::asn1_rs::Class::Universal
                {
                    None
                } else {
                    decode_string(tag, any.as_bytes())
                };
                let attribute = match text {
                    Some(value) => Attribute {
                        oid,
                        value,
                        kind: ValueKind::Text,
                    },
                    None => {
                        let der = any.to_der_vec().map_err(|_| {
                            Error::certificate(
                                check::DISTINGUISHED_NAME,
                                "a name attribute value could not be re-encoded",
                            )
                        })?;
                        Attribute {
                            oid,
                            value: hex_value(&der).into(),
                            kind: ValueKind::Binary,
                        }
                    }
                };
                set.push(attribute);
            }
            if set.is_empty() {
                return Err(Error::certificate(
                    check::DISTINGUISHED_NAME,
                    "a name has an empty RDN (RFC 5280 requires at least one attribute)",
                ));
            }
            rdns.push(set);
        }
        Ok(DistinguishedName { rdns })
    }

    /// Reads a name from its DER encoding (a whole `Name` SEQUENCE, as
    /// `OpenSSL::X509::Name#to_der` gives it), with the same strict walk and the same value
    /// decoding as a certificate's subject. Trailing bytes, or an RDN or attribute the parser
    /// would skip, are refused.
    pub fn from_der(der: &[u8]) -> Result<Self> {
        match super::frame::name(der) {
            Some((_, rdns, [])) => Self::from_name_contents(rdns),
            _ => Err(Error::certificate(
                check::DISTINGUISHED_NAME,
                "the DER of a distinguished name is malformed (expected exactly one Name \
                 SEQUENCE of RDN SETs, as OpenSSL::X509::Name#to_der gives)",
            )),
        }
    }

    /// Reads a name from the contents of its Name SEQUENCE (the RDNs), as
    /// [`super::frame::name`] returns them: a universal primitive string value is decoded
    /// (see [`decode_string`]); any other value is kept as `#` and the hex of its DER element.
    pub(crate) fn from_name_contents(rdns: &[u8]) -> Result<Self> {
        let mut out = SmallVec::new();
        for rdn in super::frame::rdns(rdns) {
            let mut set = Rdn::new();
            for attribute in rdn.map_err(|()| malformed_name())?.attributes() {
                let attribute = attribute.map_err(|()| malformed_name())?;
                let oid = oid_text(attribute.oid).ok_or_else(malformed_oid)?;
                set.push(Attribute::read(oid, &attribute));
            }
            out.push(set);
        }
        Ok(DistinguishedName { rdns: out })
    }

    /// The first value of the type with this OID in the contents of a Name SEQUENCE, as
    /// [`Self::first`] on the name [`Self::from_name_contents`] reads would give it, decoding
    /// that one value only. For contents [`Self::validate_name_contents`] accepted.
    pub(crate) fn first_in_contents(rdns: &[u8], oid: &str) -> Option<CompactString> {
        // A known type is found by its DER encoding, one comparison an attribute; any other by
        // the text of each attribute's type.
        let known = known_oid_der(oid);
        for rdn in super::frame::rdns(rdns) {
            for attribute in rdn.ok()?.attributes() {
                let attribute = attribute.ok()?;
                let found = match known {
                    Some(der) => attribute.oid == der,
                    None => *oid_text(attribute.oid)? == *oid,
                };
                if found {
                    let text = oid_text(attribute.oid)?;
                    return Some(Attribute::read(text, &attribute).value);
                }
            }
        }
        None
    }

    /// Checks the contents of a Name SEQUENCE the way [`Self::from_name_contents`] would read
    /// them, without building the name.
    pub(crate) fn validate_name_contents(rdns: &[u8]) -> Result<()> {
        for rdn in super::frame::rdns(rdns) {
            for attribute in rdn.map_err(|()| malformed_name())?.attributes() {
                let attribute = attribute.map_err(|()| malformed_name())?;
                if !oid_is_valid(attribute.oid) {
                    return Err(malformed_oid());
                }
            }
        }
        Ok(())
    }

    /// The RDNs in certificate order.
    pub fn rdns(&self) -> &[Rdn] {
        &self.rdns
    }

    /// Every attribute as `(oid, value)`, in certificate order (multi-valued RDNs flattened in
    /// their encoded order).
    pub fn attributes(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.rdns
            .iter()
            .flatten()
            .map(|a| (&*a.oid, a.value.as_str()))
    }

    /// Every attribute, in certificate order.
    pub fn iter(&self) -> impl Iterator<Item = &Attribute> + '_ {
        self.rdns.iter().flatten()
    }

    /// Whether the name has no attribute.
    pub fn is_empty(&self) -> bool {
        self.rdns.is_empty()
    }

    /// The first value of the type with this OID.
    pub fn first(&self, oid: &str) -> Option<&str> {
        self.iter()
            .find(|a| a.oid == *oid)
            .map(|a| a.value.as_str())
    }

    /// Every value of the type with this OID, in certificate order.
    pub fn values(&self, oid: &str) -> Vec<&str> {
        self.iter()
            .filter(|a| a.oid == *oid)
            .map(|a| a.value.as_str())
            .collect()
    }

    /// Whether the values of type `oid` are exactly `expected`, in any order, each compared
    /// with [`fold::values_equal`]. One expected value therefore matches only a name holding
    /// that type exactly once: `CN=alice` + `CN=admin` matches neither `alice` nor `admin`, so a
    /// second CN smuggled into a request can never satisfy a rule (fail closed). An empty
    /// `expected` matches a name without that type.
    pub fn matches_values(&self, oid: &str, expected: &[&str]) -> bool {
        let present: Vec<&Attribute> = self.iter().filter(|a| a.oid == *oid).collect();
        if present.len() != expected.len() {
            return false;
        }
        let mut used = vec![false; present.len()];
        'outer: for e in expected {
            for (i, a) in present.iter().enumerate() {
                if !used[i] && fold::values_equal(&a.value, e) {
                    used[i] = true;
                    continue 'outer;
                }
            }
            return false;
        }
        true
    }

    /// `match?` over several types: every `(type name, values)` pair must hold (see
    /// [`Self::matches_values`]). A type name that is neither known nor a dotted OID is an
    /// [`Error::Argument`].
    pub fn matches(&self, conditions: &[(&str, Vec<&str>)]) -> Result<bool> {
        let mut all = true;
        for (name, values) in conditions {
            let oid = attr::oid_for(name).ok_or_else(|| unknown_type(name))?;
            if !self.matches_values(&oid, values) {
                all = false;
            }
        }
        Ok(all)
    }

    /// A key equal for names that compare equal, for `Hash`.
    pub fn canonical_key(&self) -> String {
        let mut out = String::new();
        for rdn in &self.rdns {
            let mut parts: Vec<String> = rdn
                .iter()
                .map(|a| match a.kind {
                    ValueKind::Text => format!("{}=t{}", a.oid, fold::prepare(&a.value)),
                    ValueKind::Binary => format!("{}=b{}", a.oid, a.value.to_ascii_lowercase()),
                })
                .collect();
            parts.sort();
            for p in parts {
                out.push_str(&p);
                out.push('\u{1}');
            }
            out.push('\u{2}');
        }
        out
    }
}

impl PartialEq for DistinguishedName {
    /// RFC 5280 section 7.1: same number of RDNs, in the same order; each RDN the same set of
    /// attributes (order inside an RDN does not matter); values compared with
    /// [`fold::values_equal`] (ASCII case and insignificant spaces only, as OpenSSL does).
    fn eq(&self, other: &Self) -> bool {
        if self.rdns.len() != other.rdns.len() {
            return false;
        }
        self.rdns.iter().zip(&other.rdns).all(|(a, b)| {
            if a.len() != b.len() {
                return false;
            }
            let mut used = vec![false; b.len()];
            a.iter().all(|x| {
                for (i, y) in b.iter().enumerate() {
                    if !used[i] && x.equals(y) {
                        used[i] = true;
                        return true;
                    }
                }
                false
            })
        })
    }
}

impl Eq for DistinguishedName {}

fn unknown_type(name: &str) -> Error {
    Error::Argument(format!(
        "unknown attribute type {:?}: use a short name (CN, O, OU, ...), a long name \
         (commonName) or a dotted OID (2.5.4.3)",
        excerpt(name, 40)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> DistinguishedName {
        match DistinguishedName::parse(s) {
            Ok(d) => d,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn multi_valued_rdns_compare_as_sets() {
        assert_eq!(dn("CN=x+UID=y,O=o"), dn("uid=y+cn=X, o=O"));
        assert_ne!(dn("CN=x,O=o"), dn("O=o,CN=x"));
        assert_ne!(dn("CN=x+UID=y"), dn("CN=x,UID=y"));
    }

    use crate::identity::frame::tlv;

    /// RDN contents (what a certificate's subject holds inside its Name SEQUENCE): known and
    /// unknown types, malformed OIDs, text and binary values, several values to an RDN,
    /// repeated types; sometimes damaged.
    fn contents() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let oid = prop::sample::select(vec![
            vec![0x55, 0x04, 0x03],
            vec![0x55, 0x04, 0x0a],
            vec![0x2a, 0x03, 0x04],
            vec![0x55, 0x84],
            vec![],
        ]);
        let value = (
            prop::sample::select(vec![0x0c_u8, 0x13, 0x1e, 0x04, 0x30]),
            prop::sample::select(vec![
                b"operator".to_vec(),
                b"a much longer value than twenty-four bytes".to_vec(),
                vec![0x00, 0x41],
                vec![0xff],
                vec![],
            ]),
        )
            .prop_map(|(tag, v)| tlv(tag, &v));
        let attribute = (oid, value).prop_map(|(o, v)| tlv(0x30, &[tlv(0x06, &o), v].concat()));
        let rdn = prop::collection::vec(attribute, 1..3).prop_map(|a| tlv(0x31, &a.concat()));
        (
            prop::collection::vec(rdn, 0..5),
            any::<prop::sample::Index>(),
            any::<u8>(),
            any::<bool>(),
        )
            .prop_map(|(rdns, at, byte, damage)| {
                let mut out = rdns.concat();
                if damage && !out.is_empty() {
                    let i = at.index(out.len());
                    out[i] = byte;
                }
                out
            })
    }

    proptest::proptest! {
        /// A certificate checks its subject with `validate_name_contents` at parse time and
        /// decodes it later, or reads one value with `first_in_contents`: whatever the check
        /// accepts decodes, and the one value is the one the decoded name gives.
        #[test]
        fn a_validated_name_decodes_and_its_first_values_agree(rdns in contents()) {
            if DistinguishedName::validate_name_contents(&rdns).is_ok() {
                let name = DistinguishedName::from_name_contents(&rdns);
                proptest::prop_assert!(name.is_ok(), "{name:?}");
                let name = name.unwrap_or_default();
                for oid in ["2.5.4.3", "2.5.4.10", "1.2.3.4", "2.5.4.6"] {
                    let direct = DistinguishedName::first_in_contents(&rdns, oid);
                    proptest::prop_assert_eq!(direct.as_deref(), name.first(oid));
                }
            } else {
                proptest::prop_assert!(DistinguishedName::from_name_contents(&rdns).is_err());
            }
        }
    }

    #[test]
    fn match_is_fail_closed_on_duplicates() {
        let d = dn("CN=admin,CN=alice");
        assert!(!d.matches_values("2.5.4.3", &["admin"]));
        assert!(d.matches_values("2.5.4.3", &["Admin", "alice"]));
        let one = dn("CN=admin\\00");
        assert!(!one.matches_values("2.5.4.3", &["admin"]));
    }
}
