//! The two equalities of attribute values: a strict one that grants, a wide one that refuses.
//!
//! A name value can be read more than one way: `Kubelet` with U+212A KELVIN SIGN for the `K`
//! is `kubelet` to a Unicode case folder and something else to OpenSSL; `Contractors` followed
//! by a no-break space, with a soft hyphen inside, or in fullwidth letters is `Contractors` to
//! RFC 4518 and a different string to a byte comparison. Ambiguity must never help the holder
//! of the certificate, so there are two equalities:
//!
//! - [`values_equal`] (allow rules, `DistinguishedName#==` and `#match?`): equal as they are, or
//!   after ASCII case folding and removing insignificant U+0020 spaces (trimmed, inner runs
//!   collapsed to one). This is OpenSSL's `X509_NAME_cmp` canonical form (`asn1_string_canon`:
//!   ASCII `tolower`, whitespace trimmed and collapsed) restricted further: only U+0020 counts as
//!   a space and every other character, control characters included, is significant. So two
//!   values equal here are equal to OpenSSL too, and `\u{212A}ubelet` is not `kubelet`.
//! - [`wide`] / [`wide_equal`] (deny rules): RFC 4518 section 2 in full, and then some. Mapping
//!   (2.2): soft hyphens, joiners, variation selectors, the other format and control characters
//!   and every Unicode default-ignorable code point map to nothing; tab, line breaks and every
//!   space separator map to U+0020. Case folding (2.3, full folding), NFKC (2.4), repeated until
//!   stable, so fullwidth `Ｃｏｎｔｒａｃｔｏｒｓ` and `ﬁ` ligatures fold; then insignificant
//!   space handling (2.6). Values equal under [`values_equal`] are always equal here.
//!
//! Wide folding allocates and walks the Unicode tables, so a policy folds its rule values once
//! when it loads, and an identity's values once per decision, only when a deny rule needs them.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// The strict prepared form of a value: ASCII letters lower-cased, U+0020 spaces trimmed and
/// inner runs collapsed to one. Everything else is kept as is.
pub fn prepare(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending_space = false;
    for c in value.chars() {
        if c == ' ' {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// The strict equality (allow side): `prepare(a) == prepare(b)`.
pub fn values_equal(a: &str, b: &str) -> bool {
    a == b || prepared_eq(a, &prepare(b))
}

/// Whether `prepare(value) == prepared`, without allocating.
pub fn prepared_eq(value: &str, prepared: &str) -> bool {
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
        if want.next() != Some(c.to_ascii_lowercase()) {
            return false;
        }
        started = true;
    }
    want.next().is_none()
}

/// What RFC 4518 section 2.2 (widened to every default-ignorable code point) does with `c`.
enum Mapped {
    Nothing,
    Space,
    Keep,
}

fn map_char(c: char) -> Mapped {
    match c {
        '\t' | '\n' | '\u{b}' | '\u{c}' | '\r' | '\u{85}' => Mapped::Space,
        c if c.is_control() => Mapped::Nothing,
        c if is_ignorable(c) => Mapped::Nothing,
        // Zs, Zl and Zp (char::is_whitespace is White_Space: these and the controls above).
        c if c.is_whitespace() => Mapped::Space,
        _ => Mapped::Keep,
    }
}

/// RFC 4518 section 2.2's map-to-nothing list (U+00AD, U+1806, U+034F, U+180B-180D, U+FE00-FE0F,
/// U+FFFC, U+200B, and the Cf code points it names) united with Unicode's
/// Default_Ignorable_Code_Point (DerivedCoreProperties.txt): characters a renderer shows as
/// nothing, so a reader of the name never sees them.
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{1806}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{FFF0}'..='\u{FFFC}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

/// One round of mapping and full case folding (upper then lower case, which folds `ß` to `ss`,
/// U+212A to `k` and U+017F to `s`, and is at least as wide as CaseFolding.txt's C+F).
fn map_and_fold(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match map_char(c) {
            Mapped::Nothing => {}
            Mapped::Space => out.push(' '),
            Mapped::Keep if c.is_ascii() => out.push(c.to_ascii_lowercase()),
            Mapped::Keep => out.extend(c.to_uppercase().flat_map(char::to_lowercase)),
        }
    }
    out
}

/// Trims U+0020 and collapses inner runs (RFC 4518 section 2.6.1).
fn squeeze_spaces(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for word in value.split(' ').filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether `value` is already its own wide form: lowercase ASCII letters, digits and printable
/// punctuation, single inner spaces. Most rule and certificate values are, or are one
/// lower-casing away.
fn is_wide_ascii(value: &str) -> bool {
    let b = value.as_bytes();
    b.first() != Some(&b' ')
        && b.last() != Some(&b' ')
        && !value.contains("  ")
        && b.iter()
            .all(|&c| (b' '..=b'~').contains(&c) && !c.is_ascii_uppercase())
}

/// The wide (deny-side) form of a value; see the module documentation.
pub fn wide(value: &str) -> Cow<'_, str> {
    if is_wide_ascii(value) {
        return Cow::Borrowed(value);
    }
    if value.is_ascii() {
        // NFKC is the identity on ASCII: mapping, folding and spaces are the whole job.
        return Cow::Owned(squeeze_spaces(&map_and_fold(value)));
    }
    // Folding can yield characters NFKC changes (U+0130 gives i + U+0307) and NFKC can yield
    // characters folding or mapping changes (U+3000 gives U+0020, U+3381 gives `nA`): repeat
    // until stable. Three rounds reach the fixed point for every assigned code point; the cap
    // keeps a hostile value from costing more.
    let mut current: String = value.nfkc().collect();
    for _ in 0..3 {
        let next: String = map_and_fold(&current).nfkc().collect();
        if next == current {
            break;
        }
        current = next;
    }
    Cow::Owned(squeeze_spaces(&current))
}

/// Whether `wide(value) == wide_form` for an ASCII `value`, without allocating: the deny-side
/// comparison of the common case, so a decision folds nothing for an ASCII name.
pub fn wide_eq_ascii(value: &str, wide_form: &str) -> bool {
    debug_assert!(value.is_ascii());
    let mut want = wide_form.bytes();
    let mut started = false;
    let mut pending_space = false;
    for b in value.bytes() {
        let b = match b {
            b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ' => {
                pending_space = started;
                continue;
            }
            0..=0x1f | 0x7f => continue,
            b => b.to_ascii_lowercase(),
        };
        if pending_space {
            if want.next() != Some(b' ') {
                return false;
            }
            pending_space = false;
        }
        if want.next() != Some(b) {
            return false;
        }
        started = true;
    }
    want.next().is_none()
}

/// The wide equality (deny side): `wide(a) == wide(b)`.
pub fn wide_equal(a: &str, b: &str) -> bool {
    a == b || wide(a) == wide(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_folds_ascii_case_and_spaces_only() {
        assert!(values_equal("  My   Org ", "my org"));
        assert!(!values_equal("my org", "myorg"));
        assert!(!values_equal("admin\0", "admin"));
        assert!(!values_equal("operator,O=MyOrg", "operator"));
        assert!(!values_equal("\u{212A}ubelet", "kubelet"));
        assert!(!values_equal("\u{C4}BC", "\u{E4}bc"));
        assert!(!values_equal("a\tb", "a b"));
        assert!(!values_equal("Contractors\u{A0}", "Contractors"));
    }

    #[test]
    fn prepared_eq_is_prepare_then_compare() {
        for (a, b) in [
            ("  My   Org ", "my org"),
            ("my org", "myorg"),
            ("admin\0", "admin"),
            ("\u{C4}BC", "\u{E4}bc"),
            ("\u{212A}", "k"),
            ("", " "),
            ("a", ""),
        ] {
            assert_eq!(
                prepared_eq(a, &prepare(b)),
                prepare(a) == prepare(b),
                "{a:?} {b:?}"
            );
        }
    }

    #[test]
    fn wide_maps_folds_and_normalises() {
        for v in [
            "Contractors\u{A0}",
            "Contr\u{AD}actors",
            "\u{FF23}\u{FF4F}\u{FF4E}\u{FF54}\u{FF52}\u{FF41}\u{FF43}\u{FF54}\u{FF4F}\u{FF52}\u{FF53}",
            "CONTRACTORS",
            "  contractors ",
            "Con\u{200B}tractors",
            "Contractors\u{FEFF}",
            "Con\u{0}tractors",
            "Contractor\u{17F}",
            "\u{3000}Contractors\u{2003}",
            "Contractors\u{FE0F}",
            "Contractors\u{E0041}",
        ] {
            assert_eq!(wide(v), "contractors", "{v:?}");
        }
        assert_eq!(wide("\u{212A}ubelet"), "kubelet");
        assert_eq!(wide("Stra\u{DF}e"), "strasse");
        assert_eq!(wide("\u{FB01}nance"), "finance");
        assert_eq!(wide("a\tb\n\nc"), "a b c");
        assert_eq!(wide("\u{3381}"), "na");
        assert!(!wide_equal("contractor", "contractors"));
        assert!(!wide_equal("contra ctors", "contractors"));
    }

    #[test]
    fn wide_is_idempotent_and_wider_than_strict() {
        for (a, b) in [
            ("  My   Org ", "my org"),
            ("ABC", "abc"),
            ("\u{C4}BC", "\u{E4}bc"),
            ("\u{130}", "i\u{307}"),
            ("x\u{2028}y", "x y"),
        ] {
            let w = wide(a);
            assert_eq!(wide(&w), w, "{a:?}");
            if values_equal(a, b) {
                assert!(wide_equal(a, b), "{a:?} {b:?}");
            }
        }
        assert!(wide_equal("\u{C4}BC", "\u{E4}bc"));
    }

    #[test]
    fn wide_eq_ascii_is_wide_then_compare() {
        let samples = [
            "Contractors",
            " contractors ",
            "con\ttractors",
            "con\0tractors",
            "CON  TRACTORS",
            "\n\rcontractors\x7f",
            "contractor",
            "",
            " ",
            "con tractors",
        ];
        for a in samples {
            for b in samples {
                assert_eq!(
                    wide_eq_ascii(a, &wide(b)),
                    wide(a) == wide(b),
                    "{a:?} {b:?}"
                );
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 4000, ..Default::default() })]

        // Any string: the wide form is a fixed point, the strict equality implies the wide one,
        // and the allocation-free comparisons agree with the allocating ones.
        #[test]
        fn the_two_equalities_hold_together(a in "\\PC{0,12}|.{0,12}", b in "[ aAkK\u{212a}\u{a0}\u{ad}\u{ff21}\u{0}\t]{0,6}") {
            let w = wide(&a);
            proptest::prop_assert_eq!(wide(&w), w.clone(), "{:?}", a);
            if values_equal(&a, &b) {
                proptest::prop_assert!(wide_equal(&a, &b));
            }
            proptest::prop_assert_eq!(prepared_eq(&a, &prepare(&b)), prepare(&a) == prepare(&b));
            if a.is_ascii() {
                proptest::prop_assert_eq!(wide_eq_ascii(&a, &wide(&b)), w == wide(&b));
            }
        }
    }
}
