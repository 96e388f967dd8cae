//! Printing a name as RFC 4514 text.

use std::fmt::Write as _;

use super::{DistinguishedName, ValueKind};

impl DistinguishedName {
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
}

impl std::fmt::Display for DistinguishedName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_rfc4514())
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

#[cfg(test)]
mod tests {
    use super::super::Attribute;
    use super::*;

    fn dn(s: &str) -> DistinguishedName {
        match DistinguishedName::parse(s) {
            Ok(d) => d,
            Err(e) => panic!("{s}: {e}"),
        }
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
}
