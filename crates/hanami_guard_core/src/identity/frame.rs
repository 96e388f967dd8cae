//! The certificate's frame (RFC 5280 section 4.1) walked by hand: the outer SEQUENCEs, the
//! version, the serial number, the issuer and subject names (down to each attribute's type and
//! value element, which `dn` decodes), the unique identifiers and the list of extensions. The
//! other fields inside the frame are parsed by x509-parser: both AlgorithmIdentifiers, the
//! validity, the subjectPublicKeyInfo, the signature (and, in `cert.rs`, the contents of the
//! extensions an app reads).
//!
//! Why by hand: x509-parser's whole-certificate parser spends about a third of its time on
//! these envelopes (a generic BER object per extension, a big integer for the serial, a Vec of
//! extensions), none of which this crate reads, and its names cost a list per name and per RDN
//! and a generic object per value. The walker is strict DER: single-byte tags, definite lengths
//! in their shortest form, every container consumed exactly, at every depth.
//!
//! Around each field x509-parser parses, the walker checks that the field's DER element has the
//! expected shape and that x509-parser read all of it: on its own, x509-parser ignores anything
//! after the members it knows inside a SEQUENCE, and reads a Name only up to its first malformed
//! RDN. Where x509-parser is deliberately lenient with real-world certificates (a BOOLEAN
//! `critical` that is not 0xff, an explicit default version, a serial with a leading zero), so
//! is this walker. The `frame_parity` fuzz target checks that whatever it accepts, x509-parser's
//! `X509CertificateParser` accepts too, with the same fields; the tests below pin each refusal.

use smallvec::SmallVec;
use x509_parser::asn1_rs::BitString;
use x509_parser::certificate::Validity;
use x509_parser::prelude::FromDer;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

const BOOLEAN: u8 = 0x01;
const INTEGER: u8 = 0x02;
pub const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
pub const OID: u8 = 0x06;
pub const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const VERSION: u8 = 0xa0; // [0] EXPLICIT Version
const ISSUER_UID: u8 = 0x81; // [1] IMPLICIT UniqueIdentifier (a BIT STRING)
const SUBJECT_UID: u8 = 0x82; // [2] IMPLICIT UniqueIdentifier
const EXTENSIONS: u8 = 0xa3; // [3] EXPLICIT Extensions

/// One DER element: its tag byte and its contents.
#[derive(Debug, Clone, Copy)]
pub struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
}

/// Reads one DER element from the front of `input`; `None` if it is truncated, uses a multi-byte
/// tag, an indefinite length, or a length not in its shortest form. Lengths of up to three bytes
/// are read (a certificate is refused above 64 KiB before it gets here).
pub fn read(input: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let (&tag, rest) = input.split_first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 3 {
            return None;
        }
        let (bytes, rest) = rest.split_at_checked(n)?;
        if bytes.first() == Some(&0) {
            return None;
        }
        let len = bytes.iter().fold(0usize, |a, &b| (a << 8) | usize::from(b));
        if len < 0x80 {
            return None;
        }
        (len, rest)
    };
    let (content, rest) = rest.split_at_checked(len)?;
    Some((Tlv { tag, content }, rest))
}

/// How deep [`is_der`] follows constructed elements. Certificates nest about ten deep.
const MAX_DEPTH: usize = 32;

/// Whether `input` is a sequence of DER elements, every constructed one (at any depth, up to
/// [`MAX_DEPTH`]) holding DER elements too. asn1-rs, under x509-parser, accepts lengths that are
/// not in their shortest form. The frame walk reads every element of the certificate with
/// [`read`] down to the algorithm parameters and the name values; this checks what those hold
/// when they are constructed, and the subjectAltName value (whose contents x509-parser reads).
pub fn is_der(input: &[u8]) -> bool {
    fn walk(mut input: &[u8], depth: usize) -> bool {
        while !input.is_empty() {
            let Some((element, rest)) = read(input) else {
                return false;
            };
            if element.tag & 0x20 != 0 && (depth == MAX_DEPTH || !walk(element.content, depth + 1))
            {
                return false;
            }
            input = rest;
        }
        true
    }
    walk(input, 0)
}

/// Whether an element's contents are DER elements too, when it is constructed.
fn is_der_content(element: Tlv<'_>) -> bool {
    element.tag & 0x20 == 0 || is_der(element.content)
}

/// Reads one element that must carry `tag`: its contents and what follows it.
pub fn expect(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    match read(input)? {
        (tlv, rest) if tlv.tag == tag => Some((tlv.content, rest)),
        _ => None,
    }
}

/// One extension's envelope: its OID (the DER contents) and its extnValue. (Whether it is
/// critical is checked for form but not kept: rustls-webpki refuses unknown critical extensions
/// when it verifies.)
#[derive(Debug, Clone, Copy)]
pub struct Extension<'a> {
    pub oid: &'a [u8],
    pub value: &'a [u8],
}

/// The fields of a certificate that this crate keeps or reads further.
pub struct Frame<'a> {
    /// The serial's INTEGER contents.
    pub serial: &'a [u8],
    /// The issuer's RDNs (the contents of its Name SEQUENCE), their shape checked by [`name`].
    pub issuer: &'a [u8],
    /// The issuer Name's whole DER element.
    pub issuer_der: &'a [u8],
    pub validity: Validity,
    /// The subject's RDNs, as for the issuer.
    pub subject: &'a [u8],
    pub extensions: SmallVec<[Extension<'a>; 8]>,
}

/// Why a frame was refused, as a short phrase for the error message.
pub type Refusal = &'static str;

/// Parses a whole certificate. Returns the frame and the bytes after the certificate.
pub fn parse(der: &[u8]) -> Result<(Frame<'_>, &[u8]), Refusal> {
    let (cert, after) = expect(der, SEQUENCE).ok_or("not a DER SEQUENCE, or truncated")?;
    let (tbs, rest) = expect(cert, SEQUENCE).ok_or("no tbsCertificate SEQUENCE")?;
    let rest = algorithm(rest).ok_or("the signatureAlgorithm is malformed")?;
    let (_, rest) = exactly(rest, BIT_STRING, |_| true, |i| BitString::from_der(i).ok())
        .ok_or("the signatureValue is not a BIT STRING")?;
    if !rest.is_empty() {
        return Err("bytes follow the signature inside the certificate");
    }
    Ok((parse_tbs(tbs)?, after))
}

fn parse_tbs(tbs: &[u8]) -> Result<Frame<'_>, Refusal> {
    let mut i = tbs;
    if i.first() == Some(&VERSION) {
        let (version, rest) = expect(i, VERSION).ok_or("the version is malformed")?;
        match expect(version, INTEGER) {
            Some((&[0..=2], &[])) => {}
            _ => return Err("the version is not v1, v2 or v3"),
        }
        i = rest;
    }
    let (serial, rest) = expect(i, INTEGER).ok_or("the serialNumber is not an INTEGER")?;
    if serial.is_empty() {
        return Err("the serialNumber is empty");
    }
    let rest = algorithm(rest).ok_or("the signature AlgorithmIdentifier is malformed")?;
    let (issuer_der, issuer, rest) = name(rest).ok_or("the issuer is malformed")?;
    // Validity ::= SEQUENCE { notBefore Time, notAfter Time }, Time a UTCTime or GeneralizedTime.
    let two_times = |content| {
        let is_time = |t: Tlv<'_>| t.tag == UTC_TIME || t.tag == GENERALIZED_TIME;
        matches!(read(content), Some((a, rest)) if is_time(a)
            && matches!(read(rest), Some((b, &[])) if is_time(b)))
    };
    let (validity, rest) = exactly(rest, SEQUENCE, two_times, |i| Validity::from_der(i).ok())
        .ok_or("the validity is malformed")?;
    let (_, subject, rest) = name(rest).ok_or("the subject is malformed")?;
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
    let key_shape = |content| match algorithm(content).map(read) {
        Some(Some((key, &[]))) => key.tag == BIT_STRING,
        _ => false,
    };
    let (_, mut i) = exactly(rest, SEQUENCE, key_shape, |i| {
        SubjectPublicKeyInfo::from_der(i).ok()
    })
    .ok_or("the subjectPublicKeyInfo is malformed")?;
    for (tag, what) in [
        (ISSUER_UID, "the issuerUniqueID is malformed"),
        (SUBJECT_UID, "the subjectUniqueID is malformed"),
    ] {
        if i.first() == Some(&tag) {
            let (bits, rest) = expect(i, tag).ok_or(what)?;
            // A BIT STRING's contents: the count of unused bits (0 when there are no bits),
            // then the bits.
            match bits {
                [0] => {}
                [unused, _, ..] if *unused < 8 => {}
                _ => return Err(what),
            }
            i = rest;
        }
    }
    let mut extensions = SmallVec::new();
    if !i.is_empty() {
        let (list, rest) = expect(i, EXTENSIONS).ok_or("unexpected data after the public key")?;
        if !rest.is_empty() {
            return Err("bytes follow the extensions inside the tbsCertificate");
        }
        let (mut list, rest) = expect(list, SEQUENCE).ok_or("the extensions are not a SEQUENCE")?;
        if !rest.is_empty() {
            return Err("bytes follow the extensions SEQUENCE");
        }
        while !list.is_empty() {
            let (ext, next) = expect(list, SEQUENCE).ok_or("an extension is malformed")?;
            extensions.push(parse_extension(ext).ok_or("an extension is malformed")?);
            list = next;
        }
    }
    Ok(Frame {
        serial,
        issuer,
        issuer_der,
        validity,
        subject,
        extensions,
    })
}

/// Runs an x509-parser `parse` on the element at the front of `input` and checks that it read
/// that whole element, which must carry `tag` and contents of the `shape` expected (x509-parser
/// ignores what follows the fields it knows inside a SEQUENCE). Returns the parsed value and
/// what follows the element.
fn exactly<'a, T>(
    input: &'a [u8],
    tag: u8,
    shape: impl Fn(&'a [u8]) -> bool,
    parse: impl Fn(&'a [u8]) -> Option<(&'a [u8], T)>,
) -> Option<(T, &'a [u8])> {
    let (content, after) = expect(input, tag)?;
    if !shape(content) {
        return None;
    }
    let (rest, value) = parse(input)?;
    (rest.len() == after.len()).then_some((value, after))
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }` at the front of
/// `input`, parsed by x509-parser; returns what follows it.
fn algorithm(input: &[u8]) -> Option<&[u8]> {
    let shape = |content| match expect(content, OID) {
        Some((_, &[])) => true,
        Some((_, parameters)) => matches!(read(parameters), Some((p, &[])) if is_der_content(p)),
        None => false,
    };
    exactly(input, SEQUENCE, shape, |i| {
        AlgorithmIdentifier::from_der(i).ok()
    })
    .map(|(_, rest)| rest)
}

/// A Name at the front of `input`: its whole DER element, its contents (the RDNs) and what
/// follows it. The shape is walked at every level: `SEQUENCE OF SET OF SEQUENCE { OID, one
/// value }`, every SET non-empty, every constructed value DER inside; [`rdns`] then reads the
/// attributes of a Name that passed.
///
/// (x509-parser, on its own, reads a Name's RDNs, and an RDN's attributes, up to the first one it
/// cannot parse and silently drops the rest: a subject `CN=operator` followed by a malformed RDN
/// would read as plain `CN=operator`. Here such a Name is refused whole.)
pub(super) fn name(input: &[u8]) -> Option<(&[u8], &[u8], &[u8])> {
    let (content, after) = expect(input, SEQUENCE)?;
    let whole = input.get(..input.len() - after.len())?;
    let mut i = content;
    while !i.is_empty() {
        let (mut set, next) = expect(i, SET)?;
        if set.is_empty() {
            return None;
        }
        while !set.is_empty() {
            let (attribute, next) = expect(set, SEQUENCE)?;
            let (_, value) = expect(attribute, OID)?;
            match read(value)? {
                (value, []) if is_der_content(value) => {}
                _ => return None,
            }
            set = next;
        }
        i = next;
    }
    Some((whole, content, after))
}

/// One attribute of a Name: its type OID (contents), its value's tag byte, the value's contents
/// and its whole DER element.
#[derive(Debug, Clone, Copy)]
pub struct NameAttribute<'a> {
    pub oid: &'a [u8],
    pub tag: u8,
    pub content: &'a [u8],
    pub element: &'a [u8],
}

/// The RDNs of a Name's contents that [`name`] accepted, each as an iterator over its attributes
/// in encoded order. On contents [`name`] did not accept, the walk stops where the shape breaks
/// and reports it as an `Err(())` item, never a shorter name.
pub fn rdns(content: &[u8]) -> impl Iterator<Item = Result<Rdn<'_>, ()>> + '_ {
    let mut i = content;
    std::iter::from_fn(move || {
        if i.is_empty() {
            return None;
        }
        match expect(i, SET) {
            Some((set, next)) if !set.is_empty() => {
                i = next;
                Some(Ok(Rdn { set }))
            }
            _ => {
                i = &[];
                Some(Err(()))
            }
        }
    })
}

/// One RDN's SET contents.
#[derive(Debug, Clone, Copy)]
pub struct Rdn<'a> {
    set: &'a [u8],
}

impl<'a> Rdn<'a> {
    /// The attributes, in encoded order; an `Err(())` item where the shape breaks.
    pub fn attributes(self) -> impl Iterator<Item = Result<NameAttribute<'a>, ()>> {
        let mut set = self.set;
        std::iter::from_fn(move || {
            if set.is_empty() {
                return None;
            }
            let attribute = expect(set, SEQUENCE).and_then(|(attribute, next)| {
                let (oid, value) = expect(attribute, OID)?;
                match read(value)? {
                    (tlv, []) => Some((
                        NameAttribute {
                            oid,
                            tag: tlv.tag,
                            content: tlv.content,
                            element: value,
                        },
                        next,
                    )),
                    _ => None,
                }
            });
            Some(match attribute {
                Some((attribute, next)) => {
                    set = next;
                    Ok(attribute)
                }
                None => {
                    set = &[];
                    Err(())
                }
            })
        })
    }
}

/// Whether `value` is exactly one DER element carrying `tag`: x509-parser's extension parsers
/// ignore whatever follows the element they read.
pub fn is_one(value: &[u8], tag: u8) -> bool {
    matches!(read(value), Some((element, &[])) if element.tag == tag)
}

/// Whether an extension value has the shape of `BasicConstraints ::= SEQUENCE { cA BOOLEAN
/// DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }` and nothing else (x509-parser ignores
/// what follows the members it knows).
pub fn is_basic_constraints(value: &[u8]) -> bool {
    let Some((mut content, &[])) = expect(value, SEQUENCE) else {
        return false;
    };
    for tag in [BOOLEAN, INTEGER] {
        if let Some((element, next)) = read(content) {
            if element.tag == tag {
                content = next;
            }
        }
    }
    content.is_empty()
}

/// `Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
fn parse_extension(ext: &[u8]) -> Option<Extension<'_>> {
    let (oid, rest) = expect(ext, OID)?;
    if oid.is_empty() {
        return None;
    }
    let rest = if rest.first() == Some(&BOOLEAN) {
        // One octet; any value, as in BER: some issuers do not encode TRUE as 0xff, and
        // x509-parser accepts them.
        match expect(rest, BOOLEAN)? {
            ([_], rest) => rest,
            _ => return None,
        }
    } else {
        rest
    };
    match expect(rest, OCTET_STRING)? {
        (value, &[]) => Some(Extension { oid, value }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_must_be_definite_and_shortest() {
        assert!(read(&[0x04, 0x01, 0xaa]).is_some());
        assert!(
            read(&[0x04, 0x81, 0x01, 0xaa]).is_none(),
            "long form for a short length"
        );
        assert!(
            read(&[0x04, 0x80, 0xaa, 0x00, 0x00]).is_none(),
            "indefinite length"
        );
        assert!(
            read(&[0x04, 0x82, 0x00, 0x80]).is_none(),
            "a leading zero length byte"
        );
        assert!(read(&[0x04, 0x84, 0x00, 0x00, 0x00, 0x01, 0xaa]).is_none());
        assert!(read(&[0x1f, 0x01, 0x00]).is_none(), "a multi-byte tag");
        assert!(read(&[0x04, 0x02, 0xaa]).is_none(), "truncated");
        assert!(read(&[0x04]).is_none(), "no length");
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([7u8; 0x80]);
        long.push(0xee);
        let (tlv, rest) = read(&long).expect("a long-form length");
        assert_eq!(
            (tlv.tag, tlv.content.len(), rest),
            (0x04, 0x80, &[0xee][..])
        );
    }

    /// A Name with `count` RDNs of one attribute each (C=US), then `tail` inside the SEQUENCE.
    fn name_der(count: usize, tail: &[u8]) -> Vec<u8> {
        let rdn = [
            0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02, b'U', b'S',
        ];
        let mut content: Vec<u8> = rdn.repeat(count);
        content.extend_from_slice(tail);
        let mut out = vec![0x30, u8::try_from(content.len()).expect("short")];
        out.extend(content);
        out
    }

    #[test]
    fn names_are_refused_unless_read_whole() {
        let count = |content: &[u8]| {
            rdns(content)
                .collect::<Result<Vec<_>, ()>>()
                .expect("RDNs")
                .len()
        };
        let good = name_der(2, &[]);
        let (whole, content, rest) = name(&good).expect("a well-formed name");
        assert_eq!(
            (whole.len(), count(content), rest.len()),
            (good.len(), 2, 0)
        );
        // x509-parser alone stops at the malformed RDN and keeps the first one.
        let bad = name_der(1, &[0x31, 0x03, 0x30, 0x01, 0x05]);
        let (_, lenient) =
            x509_parser::x509::X509Name::from_der(&bad).expect("x509-parser reads part of it");
        assert_eq!(lenient.iter_rdn().count(), 1);
        assert!(name(&bad).is_none());
        // Read on their own, the same contents end in an error, never a shorter name.
        let (bad_content, _) = expect(&bad, SEQUENCE).expect("a SEQUENCE");
        let read: Vec<Result<Vec<_>, ()>> = rdns(bad_content)
            .map(|r| r.and_then(|rdn| rdn.attributes().collect()))
            .collect();
        assert_eq!(read.len(), 2);
        assert!(read[0].is_ok() && read[1].is_err());
        // An attribute with a second value, an empty RDN, junk after the last RDN.
        let two_values = name_der(
            0,
            &[
                0x31, 0x09, 0x30, 0x07, 0x06, 0x01, 0x55, 0x05, 0x00, 0x05, 0x00,
            ],
        );
        assert!(name(&two_values).is_none());
        let (two_content, _) = expect(&two_values, SEQUENCE).expect("a SEQUENCE");
        let attributes: Vec<_> = rdns(two_content)
            .flat_map(|r| r.expect("an RDN").attributes())
            .collect();
        assert!(matches!(attributes[..], [Err(())]), "{attributes:?}");
        assert!(name(&name_der(1, &[0x31, 0x00])).is_none());
        assert!(name(&name_der(1, &[0x05, 0x00])).is_none());
        assert!(name(&name_der(0, &[])).is_some_and(|(_, c, _)| count(c) == 0));
        // A constructed value must hold DER too.
        let constructed = |value: &[u8]| {
            let mut atv = vec![0x06, 0x03, 0x55, 0x04, 0x03];
            atv.extend_from_slice(value);
            let mut set = vec![0x30, u8::try_from(atv.len()).expect("short")];
            set.extend(atv);
            let mut rdn = vec![0x31, u8::try_from(set.len()).expect("short")];
            rdn.extend(set);
            name_der(0, &rdn)
        };
        let nested = constructed(&[0x30, 0x03, 0x02, 0x01, 0x05]);
        let (_, content, _) = name(&nested).expect("a constructed value holding DER");
        let attribute = rdns(content)
            .flat_map(|r| r.expect("an RDN").attributes())
            .next()
            .expect("one attribute")
            .expect("well-formed");
        assert_eq!(
            (
                attribute.oid,
                attribute.tag,
                attribute.content,
                attribute.element
            ),
            (
                &[0x55, 0x04, 0x03][..],
                0x30,
                &[0x02, 0x01, 0x05][..],
                &[0x30, 0x03, 0x02, 0x01, 0x05][..]
            )
        );
        assert!(name(&constructed(&[0x30, 0x04, 0x02, 0x81, 0x01, 0x05])).is_none());
    }

    #[test]
    fn der_is_checked_at_every_depth() {
        assert!(is_der(&[0x30, 0x03, 0x02, 0x01, 0x05, 0x05, 0x00]));
        assert!(
            !is_der(&[0x30, 0x04, 0x02, 0x81, 0x01, 0x05]),
            "non-minimal inside"
        );
        assert!(
            !is_der(&[0x30, 0x03, 0x02, 0x02, 0x05]),
            "overruns its container"
        );
        // Primitive contents are not looked into.
        assert!(is_der(&[0x04, 0x03, 0x02, 0x81, 0x01]));
        let nest = |depth: usize| {
            let mut der = vec![0x05, 0x00];
            for _ in 0..depth {
                let mut outer = vec![0x30, u8::try_from(der.len()).expect("short")];
                outer.extend(der);
                der = outer;
            }
            der
        };
        assert!(is_der(&nest(MAX_DEPTH)));
        assert!(!is_der(&nest(MAX_DEPTH + 1)));
    }

    #[test]
    fn algorithm_parameters_must_be_der() {
        let with = |parameters: &[u8]| {
            let mut content = vec![0x06, 0x03, 0x2a, 0x86, 0x48];
            content.extend_from_slice(parameters);
            let mut der = vec![0x30, u8::try_from(content.len()).expect("short")];
            der.extend(content);
            der
        };
        assert_eq!(algorithm(&with(&[])), Some(&[][..]));
        assert_eq!(algorithm(&with(&[0x05, 0x00])), Some(&[][..]));
        assert_eq!(
            algorithm(&with(&[0x30, 0x03, 0x02, 0x01, 0x05])),
            Some(&[][..])
        );
        assert_eq!(
            algorithm(&with(&[0x30, 0x04, 0x02, 0x81, 0x01, 0x05])),
            None
        );
        assert_eq!(algorithm(&with(&[0x05, 0x00, 0x05, 0x00])), None);
    }

    #[test]
    fn extension_values_are_read_whole() {
        assert!(is_basic_constraints(&[0x30, 0x00]));
        assert!(is_basic_constraints(&[0x30, 0x03, 0x01, 0x01, 0xff]));
        assert!(is_basic_constraints(&[
            0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00
        ]));
        assert!(is_basic_constraints(&[0x30, 0x03, 0x02, 0x01, 0x00]));
        assert!(!is_basic_constraints(&[
            0x30, 0x05, 0x01, 0x01, 0xff, 0x05, 0x00
        ]));
        assert!(!is_basic_constraints(&[
            0x30, 0x06, 0x02, 0x01, 0x00, 0x01, 0x01, 0xff
        ]));
        assert!(!is_basic_constraints(&[0x30, 0x03, 0x01, 0x01, 0xff, 0x00]));
        assert!(is_one(&[0x03, 0x02, 0x05, 0xa0], BIT_STRING));
        assert!(!is_one(&[0x03, 0x02, 0x05, 0xa0, 0x00], BIT_STRING));
        assert!(!is_one(&[0x04, 0x02, 0x05, 0xa0], BIT_STRING));
    }

    #[test]
    fn extensions_keep_their_envelope() {
        // basicConstraints, critical, CA:TRUE.
        let ext = [
            0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff, 0x04, 0x05, 0x30, 0x03, 0x01, 0x01,
            0xff,
        ];
        let e = parse_extension(&ext).expect("a well-formed extension");
        assert_eq!(e.oid, &[0x55, 0x1d, 0x13]);
        assert_eq!(e.value, &[0x30, 0x03, 0x01, 0x01, 0xff]);
        // BER TRUE (0x01) is accepted, as x509-parser does; trailing bytes are not.
        let mut ber_true = ext;
        ber_true[7] = 0x01;
        assert!(parse_extension(&ber_true).is_some());
        let mut long_bool = ext.to_vec();
        long_bool.splice(6..8, [0x02, 0xff, 0xff]);
        assert!(parse_extension(&long_bool).is_none());
        let mut trailing = ext.to_vec();
        trailing.extend([0x05, 0x00]);
        assert!(parse_extension(&trailing).is_none());
        // No OID, or an empty one.
        assert!(parse_extension(&ext[5..]).is_none());
        assert!(parse_extension(&[0x06, 0x00, 0x04, 0x00]).is_none());
    }
}
