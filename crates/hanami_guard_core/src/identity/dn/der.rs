//! Reading name values from DER: attribute type OIDs as dotted text, directory strings as
//! UTF-8, anything else as `#hex`.

use std::borrow::Cow;
use std::fmt::Write as _;

use compact_str::CompactString;

use super::attr;

/// The dotted text of a DER-encoded OID (contents only), without going through a big-integer
/// formatter: known attribute types are looked up, others decoded arc by arc. `None` when the
/// encoding is malformed (empty, truncated, non-minimal, or an arc over 64 bits).
pub(crate) fn oid_text(der: &[u8]) -> Option<Cow<'static, str>> {
    // Known attribute types (nearly every attribute in practice) need no allocation.
    if let Some(known) = KNOWN_DER.iter().find(|(d, _)| *d == der) {
        return Some(Cow::Borrowed(known.1));
    }
    decode_oid(der).map(Cow::Owned)
}

/// Whether [`oid_text`] reads the OID (without building its text).
pub(super) fn oid_is_valid(der: &[u8]) -> bool {
    // The table first: a few comparisons of three bytes answer nearly every attribute.
    KNOWN_DER.iter().any(|(d, _)| *d == der) || walk_oid(der, |_, _| {})
}

/// The DER contents of a known attribute type's OID, given as dotted text.
pub(super) fn known_oid_der(text: &str) -> Option<&'static [u8]> {
    KNOWN_DER.iter().find(|(_, t)| *t == text).map(|(d, _)| *d)
}

/// The dotted text of a DER-encoded OID, arc by arc.
fn decode_oid(der: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(der.len() * 3);
    let whole = walk_oid(der, |arc, value| {
        let _ = match arc {
            0 => {
                let (a, rest) = match value {
                    0..=39 => (0, value),
                    40..=79 => (1, value - 40),
                    _ => (2, value - 80),
                };
                write!(out, "{a}.{rest}")
            }
            _ => write!(out, ".{value}"),
        };
    });
    whole.then_some(out)
}

/// Reads the arcs of a DER-encoded OID, handing each encoded value (the first holds the first
/// two arcs) to `arc` with its index; whether the encoding is well formed (non-empty, not
/// truncated, minimal, no value over 64 bits). One walk for reading and for checking, so the
/// two never disagree.
fn walk_oid(der: &[u8], mut arc: impl FnMut(usize, u64)) -> bool {
    let mut value: u64 = 0;
    let mut index = 0;
    let mut fresh = true;
    for &b in der {
        if fresh && b == 0x80 {
            return false; // non-minimal encoding
        }
        fresh = false;
        if value > (u64::MAX >> 7) {
            return false;
        }
        value = value << 7 | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            arc(index, value);
            index += 1;
            value = 0;
            fresh = true;
        }
    }
    index > 0 && fresh
}

/// DER contents of the OIDs in [`attr::KNOWN`], for allocation-free lookup. The test below
/// holds the two tables to each other.
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
pub(super) fn static_oid(oid: String) -> Cow<'static, str> {
    match attr::KNOWN.iter().find(|t| t.oid == oid) {
        Some(t) => Cow::Borrowed(t.oid),
        None => Cow::Owned(oid),
    }
}

pub(super) fn hex_value(der: &[u8]) -> String {
    let mut s = String::with_capacity(1 + der.len() * 2);
    s.push('#');
    for b in der {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A value given as its universal tag number and content bytes (as
/// `OpenSSL::X509::Name#to_a` hands them out), read exactly as a certificate's value is read:
/// the decoded text of a directory string (a BMPString as UTF-16, ...), else `#` and the hex of
/// its DER encoding. `None` for a tag that cannot be a primitive universal value (over 30), which
/// a caller must refuse rather than guess.
pub fn tagged_value(tag: u32, content: &[u8]) -> Option<String> {
    if tag > 30 {
        return None;
    }
    if let Some(text) = decode_string(tag, content) {
        return Some(text.into());
    }
    let mut der = Vec::with_capacity(content.len() + 6);
    der.push(tag as u8);
    let len = content.len();
    if len < 0x80 {
        der.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        der.push(0x80 | (bytes.len() - skip) as u8);
        der.extend_from_slice(&bytes[skip..]);
    }
    der.extend_from_slice(content);
    Some(hex_value(&der))
}

/// A name value's text, given its DER tag byte: only a universal primitive string type is
/// decoded (a constructed, application, context or private value never is, whatever its number).
pub(super) fn universal_string(tag: u8, data: &[u8]) -> Option<CompactString> {
    if tag & 0xe0 == 0 {
        decode_string(u32::from(tag), data)
    } else {
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_der_is_exactly_attr_known_encoded() {
        for (der, text) in KNOWN_DER {
            assert_eq!(decode_oid(der).as_deref(), Some(*text), "{der:02x?}");
        }
        let mut ours: Vec<&str> = KNOWN_DER.iter().map(|(_, t)| *t).collect();
        let mut theirs: Vec<&str> = attr::KNOWN.iter().map(|t| t.oid).collect();
        ours.sort_unstable();
        theirs.sort_unstable();
        theirs.dedup();
        assert_eq!(ours, theirs);
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
    fn tagged_values_read_as_certificates_read_them() {
        let bmp: Vec<u8> = "Contractors"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(tagged_value(30, &bmp).as_deref(), Some("Contractors"));
        assert_eq!(tagged_value(12, b"ops").as_deref(), Some("ops"));
        assert_eq!(tagged_value(4, b"abc").as_deref(), Some("#0403616263"));
        assert_eq!(tagged_value(30, &[0x00]).as_deref(), Some("#1e0100"));
        let long = vec![0x41u8; 200];
        assert!(tagged_value(4, &long).is_some_and(|h| h.starts_with("#0481c84141")));
        assert_eq!(tagged_value(31, b"x"), None);
    }
}
