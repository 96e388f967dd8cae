//! PEM framing (RFC 7468), written here rather than pulled in: it is twenty lines, it must be
//! linear-time on hostile input, and its errors must say which block was wrong.

use base64::Engine;

use crate::error::{Error, Result};

/// The largest DER certificate accepted. Real certificates are a few KiB; a bigger one is an
/// attempt to make the parser or the logs carry megabytes.
pub const MAX_CERTIFICATE_DER: usize = 64 * 1024;

/// One `-----BEGIN <label>-----` ... `-----END <label>-----` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block<'a> {
    /// The label (`CERTIFICATE`, `PRIVATE KEY`, ...).
    pub label: &'a str,
    /// The text between the two lines, still base64.
    pub body: &'a [u8],
}

const BEGIN: &[u8] = b"-----BEGIN ";
const END: &[u8] = b"-----END ";
const DASHES: &[u8] = b"-----";

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    // memchr-style scan on the first byte keeps this linear for any input.
    let first = needle[0];
    let mut i = 0;
    while i + needle.len() <= haystack.len() {
        match haystack[i..=haystack.len() - needle.len()]
            .iter()
            .position(|&b| b == first)
        {
            None => return None,
            Some(off) => {
                let at = i + off;
                if &haystack[at..at + needle.len()] == needle {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// Whether `input` holds a PEM `BEGIN` line anywhere.
pub fn looks_like_pem(input: &[u8]) -> bool {
    find(input, BEGIN).is_some()
}

/// Iterates the PEM blocks of `input` in order. Text outside blocks is ignored (RFC 7468
/// section 5.2 allows explanatory text). A `BEGIN` without its matching `END` is an error.
pub fn blocks(input: &[u8]) -> Blocks<'_> {
    Blocks { rest: input }
}

/// Iterator returned by [`blocks`].
pub struct Blocks<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Blocks<'a> {
    type Item = Result<Block<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = find(self.rest, BEGIN)?;
        let after_begin = &self.rest[start + BEGIN.len()..];
        let Some(label_end) = find(after_begin, DASHES) else {
            self.rest = &[];
            return Some(Err(Error::Certificate(
                "the PEM BEGIN line is not closed by \"-----\": check the PEM text was not cut"
                    .into(),
            )));
        };
        let label_bytes = &after_begin[..label_end];
        let label = match std::str::from_utf8(label_bytes) {
            Ok(l)
                if l.len() <= 64
                    && l.bytes()
                        .all(|b| b.is_ascii_uppercase() || b == b' ' || b.is_ascii_digit()) =>
            {
                l
            }
            _ => {
                self.rest = &[];
                return Some(Err(Error::Certificate(
                    "the PEM BEGIN line has an invalid label: expected \"-----BEGIN CERTIFICATE-----\"".into(),
                )));
            }
        };
        let body_and_rest = &after_begin[label_end + DASHES.len()..];
        // The END line must carry the same label (RFC 7468 section 2).
        let Some(end) = find(body_and_rest, END) else {
            self.rest = &[];
            return Some(Err(Error::Certificate(format!(
                "the PEM block \"{label}\" has no END line: the text was probably truncated"
            ))));
        };
        let body = &body_and_rest[..end];
        let after_end = &body_and_rest[end + END.len()..];
        let closing_ok = after_end.len() >= label.len() + DASHES.len()
            && &after_end[..label.len()] == label.as_bytes()
            && &after_end[label.len()..label.len() + DASHES.len()] == DASHES;
        if !closing_ok {
            self.rest = &[];
            return Some(Err(Error::Certificate(format!(
                "the PEM block \"{label}\" ends with a different END line: the bundle is malformed"
            ))));
        }
        self.rest = &after_end[label.len() + DASHES.len()..];
        Some(Ok(Block { label, body }))
    }
}

/// Decodes the base64 body of a block, ignoring line breaks and spaces, refusing anything that
/// would decode to more than `max` bytes.
pub fn decode_body(body: &[u8], max: usize) -> Result<Vec<u8>> {
    // A base64 character carries 6 bits; refuse before allocating for hostile sizes.
    let significant = body.iter().filter(|b| !b.is_ascii_whitespace()).count();
    if significant / 4 * 3 > max + 3 {
        return Err(Error::Certificate(format!(
            "the PEM block decodes to more than {} KiB: a certificate is never that large",
            max / 1024
        )));
    }
    let mut compact = Vec::with_capacity(significant);
    compact.extend(body.iter().copied().filter(|b| !b.is_ascii_whitespace()));
    let der = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| {
            Error::Certificate(
                "the PEM block is not valid base64: check it was not edited or cut, and that \
                 URL-encoded text (%2B, %3D) was decoded first"
                    .into(),
            )
        })?;
    if der.len() > max {
        return Err(Error::Certificate(format!(
            "the certificate is larger than {} KiB: refused",
            max / 1024
        )));
    }
    Ok(der)
}

/// Encodes DER as a PEM block with 64-character lines.
pub fn encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 64 + 2 * label.len() + 40);
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_blocks_and_skips_text() {
        let text = b"hello\n-----BEGIN A-----\nQUJD\n-----END A-----\nx-----BEGIN CERTIFICATE-----\nREVG\n-----END CERTIFICATE-----\n";
        let blocks: Vec<_> = blocks(text).collect::<Result<_>>().unwrap_or_default();
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "A");
        assert_eq!(blocks[1].label, "CERTIFICATE");
        assert_eq!(decode_body(blocks[1].body, 100).ok(), Some(b"DEF".to_vec()));
    }

    #[test]
    fn refuses_mismatched_and_unterminated_blocks() {
        assert!(blocks(b"-----BEGIN A-----\nQUJD\n-----END B-----")
            .next()
            .is_some_and(|r| r.is_err()));
        assert!(blocks(b"-----BEGIN A-----\nQUJD\n")
            .next()
            .is_some_and(|r| r.is_err()));
        assert!(blocks(b"-----BEGIN a-----\nQUJD\n-----END a-----")
            .next()
            .is_some_and(|r| r.is_err()));
    }

    #[test]
    fn encodes_round_trip() {
        let der: Vec<u8> = (0..=255u8).collect();
        let pem = encode("CERTIFICATE", &der);
        let block = blocks(pem.as_bytes()).next().and_then(|r| r.ok());
        assert_eq!(
            block.map(|b| decode_body(b.body, 1000).ok()),
            Some(Some(der))
        );
    }
}
