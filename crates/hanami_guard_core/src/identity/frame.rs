//! The certificate (RFC 5280 section 4.1) read by hand: the outer SEQUENCEs, the version, the
//! serial number, both AlgorithmIdentifiers, the issuer and subject names (down to each
//! attribute's type and value element, which `dn` decodes), the validity, the
//! subjectPublicKeyInfo, the unique identifiers, the list of extensions and the signature; and
//! the basicConstraints, keyUsage and subjectAltName values `cert.rs` reads. x509-parser
//! parses nothing here; webpki parses the certificate again when it verifies.
//!
//! Why by hand: x509-parser's whole-certificate parser spends most of its time on what this
//! crate never reads (a generic BER object per extension and per parameter, a big integer for
//! the serial, a list per name and per RDN, a date type per time). The walker is strict DER:
//! single-byte tags, definite lengths in their shortest form, every container consumed exactly,
//! at every depth, BIT STRINGs with their unused bits zero, times in RFC 5280's one form
//! (`YYMMDDHHMMSSZ`, `YYYYMMDDHHMMSSZ`), BOOLEANs 0x00 or 0xff inside values. Where x509-parser
//! is deliberately lenient with real-world certificates (a BOOLEAN `critical` that is not 0xff,
//! an explicit default version, a serial with a leading zero), so is this walker.
//!
//! x509-parser stays as the reference it is held to: whatever this walker accepts,
//! x509-parser's `X509CertificateParser` must accept too, with the same names, times, serial,
//! subjectAltName, basicConstraints and keyUsage (the `frame_parity` fuzz target and the
//! tests below); it may refuse more, never less.

use smallvec::SmallVec;

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

/// The elements of a constructed element's contents, in order; a `None` item where one does not
/// parse (and nothing after it).
pub fn elements(mut input: &[u8]) -> impl Iterator<Item = Option<Tlv<'_>>> + '_ {
    std::iter::from_fn(move || {
        if input.is_empty() {
            return None;
        }
        Some(match read(input) {
            Some((element, rest)) => {
                input = rest;
                Some(element)
            }
            None => {
                input = &[];
                None
            }
        })
    })
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
    /// notBefore and notAfter, seconds since the Unix epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// The subject's RDNs, as for the issuer.
    pub subject: &'a [u8],
    /// The extensions, in order, each envelope checked (a leaf has a handful: they stay on the
    /// stack).
    pub extensions: Extensions<'a>,
}

/// A certificate's extensions, as [`parse`] read them.
pub type Extensions<'a> = SmallVec<[Extension<'a>; 12]>;

/// Why a frame was refused: the part of the certificate at fault (a name from a closed set, for
/// code) and a short phrase for the error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// `certificate` (the outer SEQUENCE), `signature_algorithm`, `signature`, `version`,
    /// `serial`, `issuer`, `validity`, `subject`, `public_key`, `unique_id` or `extensions`.
    pub part: &'static str,
    /// What is wrong there.
    pub why: &'static str,
}

const fn refused(part: &'static str, why: &'static str) -> Refusal {
    Refusal { part, why }
}

/// Parses a whole certificate. Returns the frame and the bytes after the certificate.
pub fn parse(der: &[u8]) -> Result<(Frame<'_>, &[u8]), Refusal> {
    let (cert, after) =
        expect(der, SEQUENCE).ok_or(refused("certificate", "not a DER SEQUENCE, or truncated"))?;
    let (tbs, rest) =
        expect(cert, SEQUENCE).ok_or(refused("certificate", "no tbsCertificate SEQUENCE"))?;
    let rest = algorithm(rest).ok_or(refused(
        "signature_algorithm",
        "the signatureAlgorithm is malformed",
    ))?;
    let (signature, rest) = expect(rest, BIT_STRING).ok_or(refused(
        "signature",
        "the signatureValue is not a BIT STRING",
    ))?;
    if !is_bit_string(signature) {
        return Err(refused(
            "signature",
            "the signatureValue is not a DER BIT STRING",
        ));
    }
    if !rest.is_empty() {
        return Err(refused(
            "certificate",
            "bytes follow the signature inside the certificate",
        ));
    }
    Ok((parse_tbs(tbs)?, after))
}

fn parse_tbs(tbs: &[u8]) -> Result<Frame<'_>, Refusal> {
    let mut i = tbs;
    if i.first() == Some(&VERSION) {
        let (version, rest) =
            expect(i, VERSION).ok_or(refused("version", "the version is malformed"))?;
        match expect(version, INTEGER) {
            Some((&[0..=2], &[])) => {}
            _ => return Err(refused("version", "the version is not v1, v2 or v3")),
        }
        i = rest;
    }
    let (serial, rest) =
        expect(i, INTEGER).ok_or(refused("serial", "the serialNumber is not an INTEGER"))?;
    if serial.is_empty() {
        return Err(refused("serial", "the serialNumber is empty"));
    }
    let rest = algorithm(rest).ok_or(refused(
        "signature_algorithm",
        "the signature AlgorithmIdentifier is malformed",
    ))?;
    let (issuer_der, issuer, rest) =
        name(rest).ok_or(refused("issuer", "the issuer is malformed"))?;
    // Validity ::= SEQUENCE { notBefore Time, notAfter Time }, Time a UTCTime or GeneralizedTime.
    let (validity, rest) =
        expect(rest, SEQUENCE).ok_or(refused("validity", "the validity is malformed"))?;
    let (not_before, not_after) = match read(validity) {
        Some((a, after)) => match read(after) {
            Some((b, [])) => (time(a), time(b)),
            _ => (None, None),
        },
        None => (None, None),
    };
    let (Some(not_before), Some(not_after)) = (not_before, not_after) else {
        return Err(refused(
            "validity",
            "the validity is malformed (RFC 5280: YYMMDDHHMMSSZ or YYYYMMDDHHMMSSZ)",
        ));
    };
    let (_, subject, rest) = name(rest).ok_or(refused("subject", "the subject is malformed"))?;
    // SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
    let (spki, mut i) = expect(rest, SEQUENCE).ok_or(refused(
        "public_key",
        "the subjectPublicKeyInfo is malformed",
    ))?;
    match algorithm(spki).map(read) {
        Some(Some((key, []))) if key.tag == BIT_STRING && is_bit_string(key.content) => {}
        _ => {
            return Err(refused(
                "public_key",
                "the subjectPublicKeyInfo is malformed",
            ))
        }
    }
    for (tag, what) in [
        (
            ISSUER_UID,
            refused("unique_id", "the issuerUniqueID is malformed"),
        ),
        (
            SUBJECT_UID,
            refused("unique_id", "the subjectUniqueID is malformed"),
        ),
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
    let mut extensions = Extensions::new();
    if !i.is_empty() {
        let (list, rest) = expect(i, EXTENSIONS).ok_or(refused(
            "extensions",
            "unexpected data after the public key",
        ))?;
        if !rest.is_empty() {
            return Err(refused(
                "extensions",
                "bytes follow the extensions inside the tbsCertificate",
            ));
        }
        let (list, rest) = expect(list, SEQUENCE)
            .ok_or(refused("extensions", "the extensions are not a SEQUENCE"))?;
        if !rest.is_empty() {
            return Err(refused(
                "extensions",
                "bytes follow the extensions SEQUENCE",
            ));
        }
        let mut each = list;
        while !each.is_empty() {
            let (ext, next) =
                expect(each, SEQUENCE).ok_or(refused("extensions", "an extension is malformed"))?;
            extensions.push(
                parse_extension(ext).ok_or(refused("extensions", "an extension is malformed"))?,
            );
            each = next;
        }
    }
    Ok(Frame {
        serial,
        issuer,
        issuer_der,
        not_before,
        not_after,
        subject,
        extensions,
    })
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL }` at the front of
/// `input`: a non-empty OID and at most one DER element; returns what follows it.
fn algorithm(input: &[u8]) -> Option<&[u8]> {
    let (content, rest) = expect(input, SEQUENCE)?;
    match expect(content, OID)? {
        ([], _) => None,
        (_, []) => Some(rest),
        (_, parameters) => match read(parameters)? {
            (p, []) if is_der_content(p) => Some(rest),
            _ => None,
        },
    }
}

/// Whether a BIT STRING's contents are DER (X.690 10.2, 11.2): the count of unused bits (0 to
/// 7, and 0 when there are no bits), then the bits, the unused ones zero.
pub fn is_bit_string(content: &[u8]) -> bool {
    match content {
        [0] => true,
        [unused, .., last] => *unused < 8 && last.trailing_zeros() >= u32::from(*unused),
        _ => false,
    }
}

/// A Time (RFC 5280 4.1.2.5) as seconds since the Unix epoch: a UTCTime `YYMMDDHHMMSSZ` (years
/// 50-99 in the 1900s, 00-49 in the 2000s) or a GeneralizedTime `YYYYMMDDHHMMSSZ`, each a real
/// date and time (no leap second, no fraction, no other zone). `None` for anything else.
fn time(t: Tlv<'_>) -> Option<i64> {
    let digits = |d: &[u8]| -> Option<i64> {
        d.iter().try_fold(0i64, |acc, &b| {
            b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
        })
    };
    let (year, rest) = match (t.tag, t.content) {
        (UTC_TIME, [y @ .., _, _, _, _, _, _, _, _, _, _, b'Z']) if y.len() == 2 => {
            let yy = digits(y)?;
            (
                if yy >= 50 { 1900 + yy } else { 2000 + yy },
                &t.content[2..12],
            )
        }
        (GENERALIZED_TIME, [y @ .., _, _, _, _, _, _, _, _, _, _, b'Z']) if y.len() == 4 => {
            (digits(y)?, &t.content[4..14])
        }
        _ => return None,
    };
    let field = |i: usize| digits(&rest[i..i + 2]);
    let (month, day, hour, minute, second) =
        (field(0)?, field(2)?, field(4)?, field(6)?, field(8)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if day < 1 || day > days_in_month || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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

/// Reads a basicConstraints value, `SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint
/// INTEGER (0..MAX) OPTIONAL }`, and nothing else: whether it names a CA. `None` when malformed
/// (a BOOLEAN other than 0x00 or 0xff, a pathLenConstraint that is negative, over 32 bits or
/// not in its shortest form, anything after them).
pub fn basic_constraints(value: &[u8]) -> Option<bool> {
    let (mut content, []) = expect(value, SEQUENCE)? else {
        return None;
    };
    let mut ca = false;
    if let Some((element, next)) = read(content) {
        if element.tag == BOOLEAN {
            ca = match element.content {
                [0x00] => false,
                [0xff] => true,
                _ => return None,
            };
            content = next;
        }
    }
    if let Some((element, next)) = read(content) {
        let minimal_non_negative = match element.content {
            [b] => *b < 0x80,
            [0, b, ..] => *b >= 0x80,
            [b, ..] => *b < 0x80,
            [] => false,
        };
        let digits = element.content.iter().skip_while(|&&b| b == 0).count();
        if element.tag != INTEGER || !minimal_non_negative || digits > 4 {
            return None;
        }
        content = next;
    }
    content.is_empty().then_some(ca)
}

/// Reads a keyUsage value, one DER BIT STRING: the bits as x509-parser's `KeyUsage::flags`
/// gives them (bit 0, digitalSignature, in the lowest place). `None` when malformed.
pub fn key_usage(value: &[u8]) -> Option<u16> {
    match read(value)? {
        (bits, []) if bits.tag == BIT_STRING && is_bit_string(bits.content) => Some(
            bits.content[1..]
                .iter()
                .rev()
                .fold(0u16, |acc, b| (acc << 8) | u16::from(b.reverse_bits())),
        ),
        _ => None,
    }
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

/// A DER element (tag, definite length, content) for tests that build certificates and names by
/// hand.
#[cfg(test)]
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n <= 0xff => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

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
    fn basic_constraints_and_key_usage_agree_with_x509_parser() {
        use x509_parser::extensions::{BasicConstraints, KeyUsage};
        // (value, what this reader gives)
        let basic: [(&[u8], Option<bool>); 13] = [
            (&[0x30, 0x00], Some(false)),
            (&[0x30, 0x03, 0x01, 0x01, 0xff], Some(true)),
            (&[0x30, 0x03, 0x01, 0x01, 0x00], Some(false)),
            (
                &[0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x00],
                Some(true),
            ),
            (&[0x30, 0x03, 0x02, 0x01, 0x00], Some(false)),
            (
                &[0x30, 0x07, 0x01, 0x01, 0xff, 0x02, 0x02, 0x00, 0x80],
                Some(true),
            ),
            // Refused: a BER TRUE, trailing NULL, members swapped, junk after, a negative or
            // non-minimal or over-32-bit pathLenConstraint.
            (&[0x30, 0x03, 0x01, 0x01, 0x01], None),
            (&[0x30, 0x05, 0x01, 0x01, 0xff, 0x05, 0x00], None),
            (&[0x30, 0x06, 0x02, 0x01, 0x00, 0x01, 0x01, 0xff], None),
            (&[0x30, 0x03, 0x01, 0x01, 0xff, 0x00], None),
            (&[0x30, 0x03, 0x02, 0x01, 0xff], None),
            (&[0x30, 0x04, 0x02, 0x02, 0x00, 0x05], None),
            (
                &[0x30, 0x07, 0x02, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00],
                None,
            ),
        ];
        for (value, expected) in basic {
            assert_eq!(basic_constraints(value), expected, "{value:02x?}");
            if let Some(ca) = expected {
                let (rest, theirs) =
                    BasicConstraints::from_der(value).expect("x509-parser reads it");
                assert!(rest.is_empty());
                assert_eq!(theirs.ca, ca, "{value:02x?}");
            }
        }
        let usages: [(&[u8], Option<u16>); 8] = [
            (&[0x03, 0x02, 0x07, 0x80], Some(1)),
            (&[0x03, 0x02, 0x05, 0xa0], Some(0b101)),
            (&[0x03, 0x02, 0x01, 0x06], Some(0b0110_0000)),
            (&[0x03, 0x03, 0x07, 0x06, 0x80], Some(0x0160)),
            (&[0x03, 0x01, 0x00], Some(0)),
            // Refused: an unused bit set, more than 7 unused bits, trailing bytes, no count.
            (&[0x03, 0x02, 0x07, 0xc0], None),
            (&[0x03, 0x02, 0x08, 0x00], None),
            (&[0x03, 0x02, 0x07, 0x80, 0x00], None),
        ];
        for (value, expected) in usages {
            assert_eq!(key_usage(value), expected, "{value:02x?}");
            if let Some(flags) = expected {
                let (_, theirs) = KeyUsage::from_der(value).expect("x509-parser reads it");
                assert_eq!(theirs.flags, flags, "{value:02x?}");
            }
        }
        assert_eq!(key_usage(&[0x03, 0x00]), None);
    }

    #[test]
    fn elements_stop_at_the_first_malformed_one() {
        let items: Vec<_> = elements(&[0x05, 0x00, 0x04, 0x01, 0xaa]).collect();
        assert!(matches!(items[..], [Some(a), Some(b)] if a.tag == 0x05 && b.content == [0xaa]));
        let items: Vec<_> = elements(&[0x05, 0x00, 0x04, 0x81, 0x01, 0xaa, 0x05, 0x00]).collect();
        assert!(matches!(items[..], [Some(_), None]), "{items:?}");
        assert_eq!(elements(&[]).count(), 0);
    }

    #[test]
    fn bit_strings_are_der() {
        assert!(is_bit_string(&[0]));
        assert!(is_bit_string(&[0, 0xff]));
        assert!(is_bit_string(&[4, 0xf0]));
        assert!(!is_bit_string(&[]));
        assert!(!is_bit_string(&[1]));
        assert!(!is_bit_string(&[4, 0xf8]));
        assert!(!is_bit_string(&[8, 0x00]));
    }

    #[test]
    fn times_agree_with_x509_parser() {
        use x509_parser::time::ASN1Time;
        let utc = |s: &str| super::tlv(UTC_TIME, s.as_bytes());
        let gen = |s: &str| super::tlv(GENERALIZED_TIME, s.as_bytes());
        let accepted = [
            utc("700101000000Z"),
            utc("491231235959Z"),
            utc("500101000000Z"),
            utc("240229120000Z"),
            utc("000229000000Z"),
            gen("20500101000000Z"),
            gen("99991231235959Z"),
            gen("00000101000000Z"),
            gen("16000229000000Z"),
            gen("19691231235959Z"),
        ];
        for der in &accepted {
            let (t, _) = read(der).expect("an element");
            let ours = time(t)
                .unwrap_or_else(|| panic!("refused {:?}", String::from_utf8_lossy(t.content)));
            let (_, theirs) = ASN1Time::from_der(der).expect("x509-parser reads it");
            assert_eq!(
                ours,
                theirs.timestamp(),
                "{:?}",
                String::from_utf8_lossy(t.content)
            );
        }
        let refused = [
            utc("7001010000Z"),       // no seconds
            utc("700101000000+0000"), // an offset
            utc("700101000060Z"),     // a leap second
            utc("700229000000Z"),     // 1970 is no leap year
            utc("700431000000Z"),
            utc("701301000000Z"),
            utc("700001000000Z"),
            utc("700100000000Z"),
            utc("700101240000Z"),
            utc("7001010000 0Z"),
            utc("70010100000aZ"),
            utc("700101000000z"),
            gen("19000229000000Z"),   // 1900 is no leap year
            gen("20500101000000.5Z"), // a fraction
            gen("205001010000Z"),
            gen("+0500101000000Z"),
            super::tlv(0x13, b"700101000000Z"),
        ];
        for der in &refused {
            let (t, _) = read(der).expect("an element");
            assert_eq!(time(t), None, "{:?}", String::from_utf8_lossy(t.content));
        }
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
