//! Distinguished names: read from the DER of a certificate, parsed from RFC 4514 text, printed
//! as RFC 4514 text, compared as RFC 5280 section 7.1 says.
//!
//! The point of the type is that a name is never a string. `CN=operator\,O=MyOrg` is one
//! attribute whose value contains a comma, not two attributes; two CNs stay two CNs; a NUL in
//! a value is kept, so it never equals a configured value that lacks it.

use std::borrow::Cow;
use std::fmt::Write as _;

use compact_str::CompactString;
use smallvec::SmallVec;

use x509_parser::asn1_rs::ToDer;
use x509_parser::x509::X509Name;

use super::attr;
use crate::error::{excerpt, Error, Result};

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
                (ValueKind::Text, ValueKind::Text) => attr::values_equal(&self.value, &other.value),
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

/// The largest RFC 4514 string [`DistinguishedName::parse`] accepts.
pub const MAX_DN_STRING: usize = 64 * 1024;

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

    /// Reads a name from x509-parser's view of it.
    pub fn from_x509(name: &X509Name<'_>) -> Result<Self> {
        let mut rdns = SmallVec::with_capacity(name.iter_rdn().count());
        for rdn in name.iter_rdn() {
            let mut set = Rdn::new();
            for atv in rdn.iter() {
                // An empty or malformed type OID could not be printed or matched faithfully.
                let oid = oid_text(atv.attr_type().as_bytes()).ok_or_else(|| {
                    Error::Certificate("a name attribute has a malformed type OID: refused".into())
                })?;
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
                            Error::Certificate(
                                "a name attribute value could not be re-encoded".into(),
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
                return Err(Error::Certificate(
                    "a name has an empty RDN (RFC 5280 requires at least one attribute)".into(),
                ));
            }
            rdns.push(set);
        }
        Ok(DistinguishedName { rdns })
    }

    /// Checks a name the way [`Self::from_x509`] would read it, without building it.
    pub fn validate_x509(name: &X509Name<'_>) -> Result<()> {
        for rdn in name.iter_rdn() {
            let mut empty = true;
            for atv in rdn.iter() {
                empty = false;
                if oid_text(atv.attr_type().as_bytes()).is_none() {
                    return Err(Error::Certificate(
                        "a name attribute has a malformed type OID: refused".into(),
                    ));
                }
                let any = atv.attr_value();
                let text = !any.header.is_constructed()
                    && any.header.class() == x509_parser::asn1_rs::Class::Universal
                    && is_string(any.tag().0, any.as_bytes());
                if !text && any.to_der_vec().is_err() {
                    return Err(Error::Certificate(
                        "a name attribute value could not be re-encoded".into(),
                    ));
                }
            }
            if empty {
                return Err(Error::Certificate(
                    "a name has an empty RDN (RFC 5280 requires at least one attribute)".into(),
                ));
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
    /// with [`attr::values_equal`]. One expected value therefore matches only a name holding
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
                if !used[i] && attr::values_equal(&a.value, e) {
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

    /// The RFC 4514 string: RDNs from last to first, `+` inside multi-valued RDNs, every special
    /// character escaped (section 2.4), control characters as `\XX` so logs stay one line.
    pub fn to_rfc4514(&self) -> String {
        let mut out = String::new();
        for (i, rdn) in self.rdns.iter().rev().enumerate() {
            if i > 0 {
                out.push(',');
            }
            for (j, a) in rdn.iter().enumerate() {
                if j > 0 {
                    out.push('+');
                }
                out.push_str(a.type_str());
                out.push('=');
                match a.kind {
                    ValueKind::Binary => out.push_str(&a.value),
                    ValueKind::Text => escape_value(&a.value, &mut out),
                }
            }
        }
        out
    }

    /// A key equal for names that compare equal, for `Hash`.
    pub fn canonical_key(&self) -> String {
        let mut out = String::new();
        for rdn in &self.rdns {
            let mut parts: Vec<String> = rdn
                .iter()
                .map(|a| match a.kind {
                    ValueKind::Text => format!("{}=t{}", a.oid, attr::prepare(&a.value)),
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

    /// Parses an RFC 4514 string (`CN=a\,b,O=MyOrg`, `CN=x+UID=y`, `1.2.3.4=#0403616263`).
    /// Type names are short names, long names or dotted OIDs, case-insensitively. Spaces around
    /// `,`, `+` and `=` are tolerated; other malformations are refused with a message.
    pub fn parse(input: &str) -> Result<Self> {
        if input.len() > MAX_DN_STRING {
            return Err(Error::Certificate(format!(
                "the distinguished name string is longer than {} KiB",
                MAX_DN_STRING / 1024
            )));
        }
        let mut p = Parser {
            s: input.as_bytes(),
            i: 0,
            input,
        };
        let mut rdns = SmallVec::new();
        p.skip_spaces();
        if p.at_end() {
            return Ok(DistinguishedName::default());
        }
        let mut rdn = Rdn::new();
        loop {
            rdn.push(p.attribute()?);
            match p.peek() {
                None => {
                    rdns.push(std::mem::take(&mut rdn));
                    break;
                }
                Some(b'+') => p.i += 1,
                Some(b',') => {
                    p.i += 1;
                    rdns.push(std::mem::take(&mut rdn));
                }
                Some(_) => return Err(p.error("expected \",\" or \"+\" after a value")),
            }
        }
        // RFC 4514 prints the last RDN first; keep certificate order inside.
        rdns.reverse();
        Ok(DistinguishedName { rdns })
    }
}

impl PartialEq for DistinguishedName {
    /// RFC 5280 section 7.1: same number of RDNs, in the same order; each RDN the same set of
    /// attributes (order inside an RDN does not matter); values compared after RFC 4518
    /// preparation (case folding, insignificant spaces), controls kept.
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

impl std::fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc4514())
    }
}

fn unknown_type(name: &str) -> Error {
    Error::Argument(format!(
        "unknown attribute type {:?}: use a short name (CN, O, OU, ...), a long name \
         (commonName) or a dotted OID (2.5.4.3)",
        excerpt(name, 40)
    ))
}

/// The dotted text of a DER-encoded OID (contents only), without going through a big-integer
/// formatter: known attribute types are looked up, others decoded arc by arc. `None` when the
/// encoding is malformed (empty, truncated, non-minimal, or an arc over 64 bits).
pub(crate) fn oid_text(der: &[u8]) -> Option<Cow<'static, str>> {
    // Known attribute types (nearly every attribute in practice) need no allocation.
    if let Some(known) = KNOWN_DER.iter().find(|(d, _)| *d == der) {
        return Some(Cow::Borrowed(known.1));
    }
    let mut out = String::with_capacity(der.len() * 3);
    let mut value: u64 = 0;
    let mut first = true;
    let mut fresh = true;
    for &b in der {
        if fresh && b == 0x80 {
            return None; // non-minimal encoding
        }
        fresh = false;
        if value > (u64::MAX >> 7) {
            return None;
        }
        value = value << 7 | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if first {
                let (a, rest) = match value {
                    0..=39 => (0, value),
                    40..=79 => (1, value - 40),
                    _ => (2, value - 80),
                };
                let _ = write!(out, "{a}.{rest}");
                first = false;
            } else {
                let _ = write!(out, ".{value}");
            }
            value = 0;
            fresh = true;
        }
    }
    (!first && fresh).then_some(Cow::Owned(out))
}

/// DER contents of the OIDs in [`attr::KNOWN`], for allocation-free lookup.
const KNOWN_DER: &[(&[u8], &str)] = &[
    (&[0x55, 0x04, 0x03], "2.5.4.3"),
    (&[0x55, 0x04, 0x0a], "2.5.4.10"),
    (&[0x55, 0x04, 0x0b], "2.5.4.11"),
    (&[0x55, 0x04, 0x06], "2.5.4.6"),
    (&[0x55, 0x04, 0x08], "2.5.4.8"),
    (&[0x55, 0x04, 0x07], "2.5.4.7"),
    (&[0x55, 0x04, 0x05], "2.5.4.5"),
    (&[0x55, 0x04, 0x04], "2.5.4.4"),
    (&[0x55, 0x04, 0x09], "2.5.4.9"),
    (&[0x55, 0x04, 0x0c], "2.5.4.12"),
    (&[0x55, 0x04, 0x11], "2.5.4.17"),
    (&[0x55, 0x04, 0x2a], "2.5.4.42"),
    (&[0x55, 0x04, 0x2b], "2.5.4.43"),
    (&[0x55, 0x04, 0x2c], "2.5.4.44"),
    (&[0x55, 0x04, 0x2e], "2.5.4.46"),
    (&[0x55, 0x04, 0x41], "2.5.4.65"),
    (&[0x55, 0x04, 0x61], "2.5.4.97"),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x01],
        "0.9.2342.19200300.100.1.1",
    ),
    (
        &[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19],
        "0.9.2342.19200300.100.1.25",
    ),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01],
        "1.2.840.113549.1.9.1",
    ),
];

/// A dotted OID as a `Cow`, borrowed when it is a known type.
fn static_oid(oid: String) -> Cow<'static, str> {
    match attr::KNOWN.iter().find(|t| t.oid == oid) {
        Some(t) => Cow::Borrowed(t.oid),
        None => Cow::Owned(oid),
    }
}

fn hex_value(der: &[u8]) -> String {
    let mut s = String::with_capacity(1 + der.len() * 2);
    s.push('#');
    for b in der {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Whether [`decode_string`] would decode the value, without building it.
fn is_string(tag: u32, data: &[u8]) -> bool {
    match tag {
        12 => std::str::from_utf8(data).is_ok(),
        18 | 19 | 22 | 26 => data.is_ascii(),
        20 => true,
        30 => {
            data.len() % 2 == 0
                && char::decode_utf16(
                    data.chunks_exact(2)
                        .map(|c| u16::from_be_bytes([c[0], c[1]])),
                )
                .all(|c| c.is_ok())
        }
        28 => {
            data.len() % 4 == 0
                && data
                    .chunks_exact(4)
                    .all(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])).is_some())
        }
        _ => false,
    }
}

/// Decodes a universal string type to UTF-8, or `None` when the tag is not a string type or the
/// bytes do not decode (such values are kept as `#hex`, never altered).
pub(crate) fn decode_string(tag: u32, data: &[u8]) -> Option<CompactString> {
    match tag {
        // UTF8String, NumericString, PrintableString, IA5String, VisibleString
        12 | 18 | 19 | 22 | 26 => {
            let s = std::str::from_utf8(data).ok()?;
            if tag != 12 && !s.is_ascii() {
                return None;
            }
            Some(CompactString::from(s))
        }
        // TeletexString: in practice Latin-1.
        20 => Some(data.iter().map(|&b| char::from(b)).collect()),
        // BMPString: UTF-16BE.
        30 => {
            if data.len() % 2 != 0 {
                return None;
            }
            let units: Vec<u16> = data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok().map(CompactString::from)
        }
        // UniversalString: UTF-32BE.
        28 => {
            if data.len() % 4 != 0 {
                return None;
            }
            data.chunks_exact(4)
                .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
                .collect()
        }
        _ => None,
    }
}

/// Escapes one attribute value per RFC 4514 section 2.4. Control characters, and characters
/// that would print as nothing or reorder the text around them ([`crate::error::is_invisible`]),
/// are written as `\XX` UTF-8 bytes (allowed for any character by section 2.4), so a printed
/// name reads as what it holds and parses back to it.
pub(crate) fn escape_value(value: &str, out: &mut String) {
    let last = value.chars().count().saturating_sub(1);
    for (i, c) in value.chars().enumerate() {
        match c {
            '"' | '+' | ',' | ';' | '<' | '>' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '#' | ' ' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            ' ' if i == last => out.push_str("\\ "),
            c if c.is_control() || crate::error::is_invisible(c) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(out, "\\{b:02X}");
                }
            }
            c => out.push(c),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    input: &'a str,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.i >= self.s.len()
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn skip_spaces(&mut self) {
        while self.peek() == Some(b' ') {
            self.i += 1;
        }
    }

    fn error(&self, what: &str) -> Error {
        Error::Certificate(format!(
            "malformed distinguished name {:?} at byte {}: {what}",
            excerpt(self.input, 80),
            self.i
        ))
    }

    fn attribute(&mut self) -> Result<Attribute> {
        self.skip_spaces();
        let start = self.i;
        while let Some(b) = self.peek() {
            if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
                self.i += 1;
            } else {
                break;
            }
        }
        let name = &self.input[start..self.i];
        if name.is_empty() {
            return Err(self.error("expected an attribute type such as CN"));
        }
        let oid = attr::oid_for(name).ok_or_else(|| {
            Error::Certificate(format!(
                "malformed distinguished name: unknown attribute type {:?}; use a short name \
                 (CN, O, ...) or a dotted OID",
                excerpt(name, 40)
            ))
        })?;
        self.skip_spaces();
        if self.peek() != Some(b'=') {
            return Err(self.error("expected \"=\" after the attribute type"));
        }
        self.i += 1;
        self.skip_spaces();
        if self.peek() == Some(b'#') {
            return self.hex_value(oid);
        }
        let mut bytes = Vec::new();
        // Length of `bytes` up to the last escaped byte: escaped trailing spaces are kept.
        let mut keep = 0;
        while let Some(b) = self.peek() {
            match b {
                b',' | b'+' => break,
                b'\\' => {
                    self.i += 1;
                    match self.peek() {
                        Some(
                            c @ (b'\\' | b'"' | b'+' | b',' | b';' | b'<' | b'>' | b' ' | b'#'
                            | b'='),
                        ) => {
                            bytes.push(c);
                            self.i += 1;
                        }
                        Some(h) if h.is_ascii_hexdigit() => {
                            let lo = self.s.get(self.i + 1).copied().filter(u8::is_ascii_hexdigit);
                            let Some(lo) = lo else {
                                return Err(self.error("a \\ must be followed by two hex digits or a special character"));
                            };
                            bytes.push(hex_digit(h) << 4 | hex_digit(lo));
                            self.i += 2;
                        }
                        _ => {
                            return Err(self.error(
                                "a \\ must be followed by two hex digits or one of \\ \" + , ; < > space # =",
                            ))
                        }
                    }
                    keep = bytes.len();
                }
                b'"' | b';' | b'<' | b'>' | 0 => {
                    return Err(self
                        .error("unescaped \" ; < > or NUL in a value: escape it with a backslash"))
                }
                _ => {
                    bytes.push(b);
                    self.i += 1;
                }
            }
        }
        while bytes.len() > keep && bytes.last() == Some(&b' ') {
            bytes.pop();
        }
        let value = String::from_utf8(bytes)
            .map_err(|_| self.error("the escaped bytes of a value are not valid UTF-8"))?;
        Ok(Attribute {
            oid: static_oid(oid),
            value: value.into(),
            kind: ValueKind::Text,
        })
    }

    fn hex_value(&mut self, oid: String) -> Result<Attribute> {
        self.i += 1; // '#'
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_hexdigit()) {
            self.i += 1;
        }
        let hex = &self.s[start..self.i];
        self.skip_spaces();
        if !matches!(self.peek(), None | Some(b',') | Some(b'+')) {
            return Err(self.error("a #value holds only hex digits"));
        }
        if hex.is_empty() || hex.len() % 2 != 0 {
            return Err(self.error("a #value needs an even, non-zero number of hex digits"));
        }
        let der: Vec<u8> = hex
            .chunks_exact(2)
            .map(|c| hex_digit(c[0]) << 4 | hex_digit(c[1]))
            .collect();
        let (tag, content) =
            parse_tlv(&der).ok_or_else(|| self.error("a #value must be one DER-encoded value"))?;
        let oid = static_oid(oid);
        Ok(match tag.and_then(|t| decode_string(t, content)) {
            Some(value) => Attribute {
                oid,
                value,
                kind: ValueKind::Text,
            },
            None => Attribute {
                oid,
                value: hex_value(&der).into(),
                kind: ValueKind::Binary,
            },
        })
    }
}

fn hex_digit(b: u8) -> u8 {
    match b {
        b'0'..=b'9' => b - b'0',
        b'a'..=b'f' => b - b'a' + 10,
        b'A'..=b'F' => b - b'A' + 10,
        _ => 0,
    }
}

/// Splits one DER TLV spanning all of `der`. Returns the universal primitive tag number (or
/// `None` for other classes and constructed values) and the content.
fn parse_tlv(der: &[u8]) -> Option<(Option<u32>, &[u8])> {
    let (&t, rest) = der.split_first()?;
    if t & 0x1f == 0x1f {
        return None; // multi-byte tags never carry a directory string
    }
    let universal_primitive = t & 0xe0 == 0;
    let (&l, mut rest) = rest.split_first()?;
    let len = if l < 0x80 {
        l as usize
    } else {
        let n = (l & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let mut len = 0usize;
        for &b in &rest[..n] {
            len = len << 8 | b as usize;
        }
        rest = &rest[n..];
        len
    };
    if rest.len() != len {
        return None;
    }
    Some((universal_primitive.then_some(u32::from(t & 0x1f)), rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_string_agrees_with_decode_string() {
        // validate_x509 checks issuers with is_string, from_x509 decodes with decode_string:
        // the two must accept exactly the same values.
        let samples: [&[u8]; 9] = [
            b"",
            b"plain",
            "caf\u{e9}".as_bytes(),
            &[0xff, 0xfe],
            &[0x00, 0x41],
            &[0xd8, 0x00, 0x00, 0x41],
            &[0x00, 0x00, 0x00, 0x41],
            &[0x00, 0x11, 0x00, 0x00],
            &[0x00, 0x41, 0x00],
        ];
        for tag in [4, 12, 18, 19, 20, 22, 26, 28, 30] {
            for data in samples {
                assert_eq!(
                    is_string(tag, data),
                    decode_string(tag, data).is_some(),
                    "tag {tag}, {data:?}"
                );
            }
        }
    }

    fn dn(s: &str) -> DistinguishedName {
        match DistinguishedName::parse(s) {
            Ok(d) => d,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn parses_and_prints_rfc4514() {
        let d = dn("CN=a\\,O=x,O=MyOrg");
        assert_eq!(d.rdns().len(), 2);
        assert_eq!(d.first("2.5.4.3"), Some("a,O=x"));
        assert_eq!(d.to_rfc4514(), "CN=a\\,O=x,O=MyOrg");
        let attrs: Vec<_> = d.attributes().collect();
        assert_eq!(attrs, vec![("2.5.4.10", "MyOrg"), ("2.5.4.3", "a,O=x")]);
    }

    #[test]
    fn escapes_leading_trailing_and_controls() {
        let d = DistinguishedName::from_rdns(vec![vec![Attribute::text(
            "2.5.4.3",
            "#a b \0<>\"+;\\ ",
        )]]);
        let s = d.to_rfc4514();
        assert_eq!(s, "CN=\\#a b \\00\\<\\>\\\"\\+\\;\\\\\\ ");
        assert_eq!(dn(&s), d);
        assert_eq!(dn(&s).first("2.5.4.3"), Some("#a b \0<>\"+;\\ "));
    }

    #[test]
    fn escapes_zero_width_and_bidi_characters() {
        let value = "op\u{200b}er\u{202e}ator\u{2028}";
        let d = DistinguishedName::from_rdns(vec![vec![Attribute::text("2.5.4.3", value)]]);
        let s = d.to_rfc4514();
        assert_eq!(s, "CN=op\\E2\\80\\8Ber\\E2\\80\\AEator\\E2\\80\\A8");
        assert_eq!(dn(&s).first("2.5.4.3"), Some(value));
    }

    #[test]
    fn multi_valued_rdns_compare_as_sets() {
        assert_eq!(dn("CN=x+UID=y,O=o"), dn("uid=y+cn=X, o=O"));
        assert_ne!(dn("CN=x,O=o"), dn("O=o,CN=x"));
        assert_ne!(dn("CN=x+UID=y"), dn("CN=x,UID=y"));
    }

    #[test]
    fn hex_values_decode_strings() {
        assert_eq!(dn("CN=#0c03616263").first("2.5.4.3"), Some("abc"));
        assert_eq!(
            dn("1.2.3.4=#0403616263").first("1.2.3.4"),
            Some("#0403616263")
        );
        assert!(DistinguishedName::parse("CN=#0c0361").is_err());
    }

    #[test]
    fn decodes_oids() {
        assert_eq!(oid_text(&[0x55, 0x04, 0x03]).as_deref(), Some("2.5.4.3"));
        assert_eq!(oid_text(&[0x55, 0x04, 0x48]).as_deref(), Some("2.5.4.72"));
        assert_eq!(
            oid_text(&[0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19]).as_deref(),
            Some("0.9.2342.19200300.100.1.25")
        );
        assert_eq!(
            oid_text(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x01]).as_deref(),
            Some("1.2.840.113549.1.9.1")
        );
        assert_eq!(oid_text(&[0x88, 0x37, 0x03]).as_deref(), Some("2.999.3"));
        assert_eq!(oid_text(&[]), None);
        assert_eq!(oid_text(&[0x55, 0x84]), None);
        assert_eq!(oid_text(&[0x55, 0x80, 0x01]), None);
    }

    #[test]
    fn refuses_malformed() {
        for bad in [
            "CN",
            "=x",
            "CN=a;O=b",
            "CN=a\"b",
            "CN=\\zz",
            "Foo=bar",
            "CN=a,",
            "CN=\\c3\\28",
            "CN=#abc",
        ] {
            assert!(DistinguishedName::parse(bad).is_err(), "{bad}");
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
