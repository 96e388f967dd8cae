//! Names are read by hand (`frame::name`, then `DistinguishedName::from_der`) and, independently,
//! by x509-parser (`X509Name`, then `DistinguishedName::from_x509`). For random names, well
//! formed and damaged: whatever the hand reading accepts, x509-parser accepts too and reads the
//! same RDNs, attribute by attribute (type, value, text or binary).

use hanami_guard_core::identity::DistinguishedName;
use proptest::prelude::*;
use x509_parser::prelude::FromDer;
use x509_parser::x509::X509Name;

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend([0x81, len as u8]);
    } else {
        out.extend([0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

/// Type OIDs: known ones, unknown ones, and malformed encodings.
fn oid() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(vec![0x55, 0x04, 0x03]),
        Just(vec![0x55, 0x04, 0x0a]),
        Just(vec![0x55, 0x04, 0x06]),
        Just(vec![
            0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19
        ]),
        Just(vec![0x2a, 0x03, 0x04]),
        Just(vec![0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x3c]),
        Just(vec![]),
        Just(vec![0x55, 0x84]),
        Just(vec![0x80, 0x01]),
        prop::collection::vec(any::<u8>(), 1..6),
    ]
}

/// Value elements: every directory string type with text, Latin-1, UTF-16 and UTF-32 (valid or
/// not), other universal types, constructed, context and application tags.
fn value() -> impl Strategy<Value = Vec<u8>> {
    let content = prop_oneof![
        Just(b"operator".to_vec()),
        Just("caf\u{e9} \u{1F600}".as_bytes().to_vec()),
        Just(vec![0x00, 0x41, 0xd8, 0x3d, 0xde, 0x00]),
        Just(vec![0xd8, 0x00, 0x00, 0x41]),
        Just(vec![0x00, 0x01, 0xf6, 0x00]),
        Just(vec![0x00, 0x11, 0x00, 0x00]),
        Just(vec![0xff, 0xfe, 0x00]),
        Just(vec![]),
        prop::collection::vec(any::<u8>(), 0..40),
        prop::collection::vec(any::<u8>(), 120..300),
    ];
    let tag = prop_oneof![
        prop::sample::select(vec![
            0x0c_u8,
            0x12,
            0x13,
            0x14,
            0x16,
            0x1a,
            0x1c,
            0x1e,
            0x02,
            0x04,
            0x05,
            0x01,
            0x03,
            0x00,
            0x80,
            0x40,
            0xc1,
            0x2c,
            0x13 | 0x20,
        ]),
        any::<u8>().prop_filter("single-byte tags", |t| t & 0x1f != 0x1f),
    ];
    (tag, content).prop_map(|(tag, content)| {
        if tag & 0x20 != 0 {
            // A constructed value holding one primitive element, as DER.
            tlv(tag, &tlv(0x0c, &content))
        } else {
            tlv(tag, &content)
        }
    })
}

fn name_der() -> impl Strategy<Value = Vec<u8>> {
    let attribute = (oid(), value()).prop_map(|(oid, value)| {
        let mut content = tlv(0x06, &oid);
        content.extend(value);
        tlv(0x30, &content)
    });
    let rdn = prop::collection::vec(attribute, 1..3)
        .prop_map(|attributes| tlv(0x31, &attributes.concat()));
    prop::collection::vec(rdn, 0..6).prop_map(|rdns| tlv(0x30, &rdns.concat()))
}

/// A name, sometimes damaged: a byte changed, or cut short.
fn maybe_damaged() -> impl Strategy<Value = Vec<u8>> {
    (
        name_der(),
        0u8..4,
        any::<prop::sample::Index>(),
        any::<u8>(),
    )
        .prop_map(|(mut der, how, at, byte)| {
            match how {
                0 if !der.is_empty() => {
                    let i = at.index(der.len());
                    der[i] = byte;
                }
                1 if !der.is_empty() => {
                    der.truncate(at.index(der.len()));
                }
                _ => {}
            }
            der
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn hand_reading_agrees_with_x509_parser(der in maybe_damaged()) {
        if let Ok(ours) = DistinguishedName::from_der(&der) {
            let (rest, theirs) = X509Name::from_der(&der)
                .unwrap_or_else(|e| panic!("accepted here, refused by x509-parser: {e:?}"));
            prop_assert!(rest.is_empty());
            let theirs = DistinguishedName::from_x509(&theirs)
                .unwrap_or_else(|e| panic!("accepted here, refused reading x509-parser's view: {e}"));
            prop_assert_eq!(ours.rdns(), theirs.rdns());
        }
    }

    #[test]
    fn well_formed_names_are_read(der in name_der()) {
        // Every generated name is DER; it is refused only for a malformed type OID, as
        // x509-parser's reading of it is.
        let ours = DistinguishedName::from_der(&der);
        let theirs = X509Name::from_der(&der).map_err(|_| ()).and_then(|(_, n)| {
            DistinguishedName::from_x509(&n).map_err(|_| ())
        });
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a.rdns(), b.rdns()),
            (Err(e), Err(())) => prop_assert!(e.to_string().contains("type OID"), "{e}"),
            _ => prop_assert!(false, "only one reading accepts it: {ours:?} / {theirs:?}"),
        }
    }
}
