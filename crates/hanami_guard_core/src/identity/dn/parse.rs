//! Parsing RFC 4514 text into a name.

use smallvec::SmallVec;

use super::{attr, decode_string, static_oid, Attribute, DistinguishedName, Rdn, ValueKind};
use crate::error::{excerpt, Error, Result};
use crate::identity::cert::check;

/// The largest RFC 4514 string [`DistinguishedName::parse`] accepts.
pub const MAX_DN_STRING: usize = 64 * 1024;

impl DistinguishedName {
    /// Parses an RFC 4514 string (`CN=a\,b,O=MyOrg`, `CN=x+UID=y`, `1.2.3.4=#0403616263`).
    /// Type names are short names, long names or dotted OIDs, case-insensitively. Spaces around
    /// `,`, `+` and `=` are tolerated; other malformations are refused with a message.
    pub fn parse(input: &str) -> Result<Self> {
        if input.len() > MAX_DN_STRING {
            return Err(Error::certificate(
                check::DISTINGUISHED_NAME,
                format!(
                    "the distinguished name string is longer than {} KiB",
                    MAX_DN_STRING / 1024
                ),
            ));
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
        Error::certificate(
            check::DISTINGUISHED_NAME,
            format!(
                "malformed distinguished name {:?} at byte {}: {what}",
                excerpt(self.input, 80),
                self.i
            ),
        )
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
            Error::certificate(
                check::DISTINGUISHED_NAME,
                format!(
                    "malformed distinguished name: unknown attribute type {:?}; use a short name \
                 (CN, O, ...) or a dotted OID",
                    excerpt(name, 40)
                ),
            )
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
        Ok(Attribute::decoded_or_hex(
            oid,
            tag.and_then(|t| decode_string(t, content)),
            &der,
        ))
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
    fn hex_values_decode_strings() {
        assert_eq!(dn("CN=#0c03616263").first("2.5.4.3"), Some("abc"));
        assert_eq!(
            dn("1.2.3.4=#0403616263").first("1.2.3.4"),
            Some("#0403616263")
        );
        assert!(DistinguishedName::parse("CN=#0c0361").is_err());
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
}
