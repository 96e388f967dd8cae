//! SPIFFE IDs, parsed as strictly as the SPIFFE ID specification says
//! (<https://github.com/spiffe/spiffe/blob/main/standards/SPIFFE-ID.md>): lower-case `spiffe`
//! scheme, a trust domain of `[a-z0-9._-]`, path segments of `[a-zA-Z0-9._-]`, no empty, `.` or
//! `..` segment, no trailing slash, and nothing a URL parser might read differently (userinfo,
//! port, query, fragment, percent-encoding).

use crate::error::{excerpt, Error, Result};
use crate::identity::cert::check;

/// The longest SPIFFE ID accepted (SPIFFE ID spec, section 2.3).
pub const MAX_SPIFFE_ID: usize = 2048;
/// The longest trust domain accepted (SPIFFE ID spec, section 2.1).
pub const MAX_TRUST_DOMAIN: usize = 255;

const SCHEME: &str = "spiffe://";

/// A valid SPIFFE ID.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SpiffeId {
    // Shared: a certificate's ID handed to Ruby is a pointer copy, not a string copy.
    text: std::sync::Arc<str>,
    td_end: usize,
}

fn invalid(input: &str, why: &str) -> Error {
    Error::certificate(
        check::SPIFFE_ID,
        format!("invalid SPIFFE ID {:?}: {why}", excerpt(input, 80)),
    )
}

/// The characters of a trust domain (`TD`) and of a path segment (`SEGMENT`), one table
/// lookup a byte.
const TD: u8 = 1;
const SEGMENT: u8 = 2;
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-') {
            t[b] |= TD;
        }
        if c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-') {
            t[b] |= SEGMENT;
        }
        b += 1;
    }
    t
};

fn is_td_char(b: u8) -> bool {
    CLASS[usize::from(b)] & TD != 0
}

fn is_path_char(b: u8) -> bool {
    CLASS[usize::from(b)] & SEGMENT != 0
}

fn char_error(input: &str, b: u8, in_td: bool) -> Error {
    let why = match b {
        b'%' => "percent-encoding is not allowed".to_owned(),
        b'@' => "userinfo is not allowed".to_owned(),
        b':' if in_td => "a port is not allowed".to_owned(),
        b'?' => "a query is not allowed".to_owned(),
        b'#' => "a fragment is not allowed".to_owned(),
        b'A'..=b'Z' if in_td => "the trust domain must be lower-case".to_owned(),
        _ if in_td => "the trust domain may only hold a-z 0-9 . _ -".to_owned(),
        _ => "a path segment may only hold a-z A-Z 0-9 . _ -".to_owned(),
    };
    invalid(input, &why)
}

impl SpiffeId {
    /// Parses and validates a SPIFFE ID.
    pub fn parse(input: &str) -> Result<Self> {
        let td_len = Self::validate(input)?;
        Ok(SpiffeId {
            text: std::sync::Arc::from(input),
            td_end: SCHEME.len() + td_len,
        })
    }

    /// Parses a SPIFFE ID held in shared text, sharing it rather than copying it (a
    /// certificate's ID and its URI are one string).
    pub(crate) fn from_shared(text: std::sync::Arc<str>) -> Result<Self> {
        let td_len = Self::validate(&text)?;
        Ok(SpiffeId {
            text,
            td_end: SCHEME.len() + td_len,
        })
    }

    /// Whether `input` is a valid SPIFFE ID, by the rules of [`SpiffeId::parse`], without
    /// building one: the check a policy applies to every identity it matches.
    pub fn is_valid(input: &str) -> bool {
        Self::validate(input).is_ok()
    }

    /// Validates a SPIFFE ID; the length of its trust domain.
    fn validate(input: &str) -> Result<usize> {
        if input.is_empty() {
            return Err(invalid(input, "it is empty"));
        }
        if input.len() > MAX_SPIFFE_ID {
            return Err(invalid(input, "it is longer than 2048 bytes"));
        }
        let Some(rest) = input.strip_prefix(SCHEME) else {
            return Err(invalid(
                input,
                "it must start with \"spiffe://\" (lower-case scheme)",
            ));
        };
        let bytes = rest.as_bytes();
        let td_len = bytes.iter().position(|&b| b == b'/').unwrap_or(bytes.len());
        if td_len == 0 {
            return Err(invalid(input, "the trust domain is empty"));
        }
        if td_len > MAX_TRUST_DOMAIN {
            return Err(invalid(input, "the trust domain is longer than 255 bytes"));
        }
        if let Some(&b) = bytes[..td_len].iter().find(|&&b| !is_td_char(b)) {
            return Err(char_error(input, b, true));
        }
        let path = &bytes[td_len..];
        if !path.is_empty() {
            // path = 1*("/" segment); every segment non-empty and not "." or "..".
            for segment in path[1..].split(|&b| b == b'/') {
                match segment {
                    [] => {
                        return Err(invalid(
                            input,
                            "empty path segment (a trailing slash or \"//\")",
                        ))
                    }
                    b"." | b".." => {
                        return Err(invalid(input, "\".\" and \"..\" segments are not allowed"))
                    }
                    _ => {
                        if let Some(&b) = segment.iter().find(|&&b| !is_path_char(b)) {
                            return Err(char_error(input, b, false));
                        }
                    }
                }
            }
        }
        Ok(td_len)
    }

    /// The trust domain (`prod.example.org`).
    pub fn trust_domain(&self) -> &str {
        &self.text[SCHEME.len()..self.td_end]
    }

    /// The path, starting with `/`, or `""` for an ID naming the trust domain itself.
    pub fn path(&self) -> &str {
        &self.text[self.td_end..]
    }

    /// The whole ID.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether the ID belongs to `trust_domain`, given bare (`example.org`) or as an ID
    /// (`spiffe://example.org`). Exact comparison: trust domains are lower-case by definition.
    pub fn member_of(&self, trust_domain: &str) -> bool {
        let td = trust_domain.strip_prefix(SCHEME).unwrap_or(trust_domain);
        !td.is_empty() && td == self.trust_domain()
    }
}

impl std::fmt::Display for SpiffeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_ids() {
        for ok in [
            "spiffe://trustdomain",
            "spiffe://x/.path",
            "spiffe://x/..path",
            "spiffe://x/...",
            "spiffe://prod.example.org/ns/ops/sa/deployer",
            "spiffe://a_b-c.9/A-Z_0.9",
        ] {
            assert!(SpiffeId::parse(ok).is_ok(), "{ok}");
        }
        let id = SpiffeId::parse("spiffe://example.org/ns/x").ok();
        assert_eq!(id.as_ref().map(|i| i.trust_domain()), Some("example.org"));
        assert_eq!(id.as_ref().map(|i| i.path()), Some("/ns/x"));
        assert!(id.is_some_and(|i| i.member_of("example.org")
            && i.member_of("spiffe://example.org")
            && !i.member_of("example.com")));
    }

    #[test]
    fn refuses_invalid_ids() {
        let long = format!("spiffe://x/{}", "a".repeat(2048));
        for bad in [
            "",
            "spiffe://",
            "spiffe:///",
            "Spiffe://x",
            "spiffe://x/",
            "spiffe://x//p",
            "spiffe://x/./p",
            "spiffe://x/p/..",
            "spiffe://%62%61%64/p",
            "spiffe://u@x/p",
            "spiffe://x:8080/p",
            "spiffe://x/p?q",
            "spiffe://x/p#f",
            "spiffe://X/p",
            "spiffe://x/p%20",
            "https://x/p",
            "spiffe:x/p",
            "spiffe://x/p q",
            long.as_str(),
        ] {
            assert!(SpiffeId::parse(bad).is_err(), "{bad}");
        }
    }
}
