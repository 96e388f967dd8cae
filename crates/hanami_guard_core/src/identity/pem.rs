//! PEM framing (RFC 7468), written here rather than pulled in: it is twenty lines, it must be
//! linear-time on hostile input, and its errors must say which block was wrong.

use base64::Engine;

use crate::error::{Error, Result};
use crate::identity::cert::check;

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
    // memchr on the first byte, then a compare: at most `needle.len()` (11) bytes compared per
    // candidate, so linear for any input; base64 bodies hold no `-`, so one memchr skips them.
    let (&first, _) = needle.split_first()?;
    let mut from = 0;
    while let Some(off) = memchr::memchr(first, haystack.get(from..)?) {
        let at = from + off;
        if haystack.get(at..at + needle.len())? == needle {
            return Some(at);
        }
        from = at + 1;
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

/// The blocks of `input`, which must hold nothing but blocks and whitespace: for text that
/// arrived where only certificates belong (a proxy's header), where anything else was not put
/// there by the sender it claims to come from.
pub fn only_blocks(input: &[u8]) -> Result<Vec<Block<'_>>> {
    let mut it = blocks(input);
    let mut out = Vec::new();
    loop {
        let gap = &it.rest[..find(it.rest, BEGIN).unwrap_or(it.rest.len())];
        if !gap.iter().all(u8::is_ascii_whitespace) {
            return Err(Error::certificate(
                check::PEM,
                "the PEM text holds something besides its blocks: only PEM blocks and whitespace \
                 are accepted here",
            ));
        }
        match it.next() {
            None => return Ok(out),
            Some(block) => out.push(block?),
        }
    }
}

/// How many BEGIN lines `input` holds, however malformed the rest: a header that should hold one
/// certificate and holds two is two claimants before it is bad PEM.
pub fn count_begin_lines(input: &[u8]) -> usize {
    memchr::memmem::find_iter(input, b"-----BEGIN").count()
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
            return Some(Err(Error::certificate(
                check::PEM,
                "the PEM BEGIN line is not closed by \"-----\": check the PEM text was not cut",
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
                return Some(Err(Error::certificate(check::PEM,
                    "the PEM BEGIN line has an invalid label: expected \"-----BEGIN CERTIFICATE-----\"")));
            }
        };
        let body_and_rest = &after_begin[label_end + DASHES.len()..];
        // The END line must carry the same label (RFC 7468 section 2).
        let Some(end) = find(body_and_rest, END) else {
            self.rest = &[];
            return Some(Err(Error::certificate(
                check::PEM,
                format!(
                    "the PEM block \"{label}\" has no END line: the text was probably truncated"
                ),
            )));
        };
        let body = &body_and_rest[..end];
        let after_end = &body_and_rest[end + END.len()..];
        let closing_ok = after_end.len() >= label.len() + DASHES.len()
            && &after_end[..label.len()] == label.as_bytes()
            && &after_end[label.len()..label.len() + DASHES.len()] == DASHES;
        if !closing_ok {
            self.rest = &[];
            return Some(Err(Error::certificate(
                check::PEM,
                format!(
                "the PEM block \"{label}\" ends with a different END line: the bundle is malformed"
            ),
            )));
        }
        self.rest = &after_end[label.len() + DASHES.len()..];
        Some(Ok(Block { label, body }))
    }
}

const INVALID: u8 = 0xff;
const SKIP: u8 = 0xfe;
const PAD: u8 = 0xfd;

const fn decode_table() -> [u8; 256] {
    let mut t = [INVALID; 256];
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < 64 {
        t[alphabet[i] as usize] = i as u8;
        i += 1;
    }
    t[b' ' as usize] = SKIP;
    t[b'\t' as usize] = SKIP;
    t[b'\r' as usize] = SKIP;
    t[b'\n' as usize] = SKIP;
    t[b'=' as usize] = PAD;
    t
}

static DECODE: [u8; 256] = decode_table();

fn bad_base64() -> Error {
    Error::certificate(
        check::BASE64,
        "the PEM block is not valid base64: check it was not edited or cut, and that URL-encoded \
         text (%2B, %3D) was decoded first",
    )
}

/// Decodes the base64 body of a block in one pass, skipping line breaks and spaces, refusing
/// anything that would decode to more than `max` bytes. Strict: padding only at the end, no
/// stray bits in the last group (so one DER has exactly one PEM body).
pub fn decode_body(body: &[u8], max: usize) -> Result<Vec<u8>> {
    // A base64 character carries 6 bits; refuse before allocating for hostile sizes.
    if body.len() / 4 * 3 > max + max / 8 + 3 {
        let significant = body.iter().filter(|b| !b.is_ascii_whitespace()).count();
        if significant / 4 * 3 > max + 3 {
            return Err(Error::certificate(
                check::TOO_LARGE,
                format!(
                    "the PEM block decodes to more than {} KiB: a certificate is never that large",
                    max / 1024
                ),
            ));
        }
    }
    let out = match decode_lines(body) {
        Some(out) => out,
        None => decode_careful(body)?,
    };
    if out.len() > max {
        return Err(Error::certificate(
            check::TOO_LARGE,
            format!("the certificate is larger than {} KiB: refused", max / 1024),
        ));
    }
    Ok(out)
}

/// A sextet table pre-shifted for position `shift` of a group; anything outside the alphabet
/// (including `=` and whitespace) sets [`BAD`].
const fn shifted_table(shift: u32) -> [u32; 256] {
    let mut t = [BAD; 256];
    let mut i = 0;
    while i < 256 {
        let v = DECODE[i];
        if v < 64 {
            t[i] = (v as u32) << shift;
        }
        i += 1;
    }
    t
}

const BAD: u32 = 1 << 31;
static D0: [u32; 256] = shifted_table(18);
static D1: [u32; 256] = shifted_table(12);
static D2: [u32; 256] = shifted_table(6);

/// The fast path for well-formed PEM: every line a whole number of base64 groups, padding only
/// in the last group of the last line, canonical (no stray bits). The lines are gathered into
/// this thread's scratch buffer and decoded from there by SIMD (base64-simd, which picks AVX2,
/// SSE4.1 or NEON at run time and refuses anything outside the alphabet) into a buffer of
/// exactly the decoded size: the one allocation a certificate's DER needs, written once. The
/// padded last group is decoded here, where its stray bits are checked. `None` sends the body
/// to [`decode_careful`], which accepts the same language and gives the errors, so the two
/// paths cannot disagree on what is valid (a differential test checks it).
fn decode_lines(body: &[u8]) -> Option<Vec<u8>> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    // A buffer already borrowed (never, as nothing here re-enters) gets a fresh one instead.
    SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
        Ok(mut text) => {
            let out = decode_lines_with(body, &mut text);
            // Keep what the common certificate needs; give back what a huge one took.
            if text.capacity() > SCRATCH_KEPT {
                *text = Vec::new();
            }
            out
        }
        Err(_) => decode_lines_with(body, &mut Vec::new()),
    })
}

/// The most scratch space a thread keeps between certificates (the base64 of a 6 KiB DER).
const SCRATCH_KEPT: usize = 8192;

fn decode_lines_with(body: &[u8], text: &mut Vec<u8>) -> Option<Vec<u8>> {
    text.clear();
    text.reserve(body.len());
    let mut last: Option<&[u8]> = None;
    let mut start = 0;
    while start < body.len() {
        // Most PEM has 64 characters a line: look there first. (Were there a line break
        // before it, the "line" would hold it, fail the alphabet and go to decode_careful.)
        let end = if body.get(start + 64) == Some(&b'\n') {
            start + 64
        } else {
            memchr::memchr(b'\n', &body[start..]).map_or(body.len(), |i| start + i)
        };
        let line = &body[start..end];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        start = end + 1;
        if line.is_empty() {
            continue;
        }
        if last.is_some() || line.len() % 4 != 0 {
            return None;
        }
        if line.last() == Some(&b'=') {
            let (groups, padded) = line.split_at(line.len() - 4);
            text.extend_from_slice(groups);
            last = Some(padded);
        } else if let Ok(full) = <&[u8; 64]>::try_from(line) {
            // A copy of a known size is a few vector moves, not a call to memcpy.
            text.extend_from_slice(full);
        } else {
            text.extend_from_slice(line);
        }
    }
    // Whole groups without padding. base64-simd takes `=` at the end of its input as padding
    // (and refuses it anywhere else), so padding before the last line's end must not get there.
    if text.last() == Some(&b'=') {
        return None;
    }
    let tail = match last {
        None => 0,
        Some(&[_, _, b'=', b'=']) => 1,
        Some(&[_, _, _, b'=']) => 2,
        Some(_) => return None,
    };
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + tail);
    base64_simd::STANDARD
        .decode_append(&text[..], &mut out)
        .ok()?;
    match last {
        None => {}
        Some(&[a, b, b'=', b'=']) => {
            let v = D0[usize::from(a)] | D1[usize::from(b)];
            if v & BAD != 0 || v & 0xffff != 0 {
                return None;
            }
            out.push((v >> 16) as u8);
        }
        Some(&[a, b, c, b'=']) => {
            let v = D0[usize::from(a)] | D1[usize::from(b)] | D2[usize::from(c)];
            if v & BAD != 0 || v & 0xff != 0 {
                return None;
            }
            out.extend_from_slice(&[(v >> 16) as u8, (v >> 8) as u8]);
        }
        Some(_) => return None,
    }
    Some(out)
}

/// Decodes base64 one character at a time, skipping spaces and line breaks anywhere.
fn decode_careful(body: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 3);
    let mut acc: u32 = 0;
    let mut n = 0u32; // sextets in `acc`
    let mut pads = 0u32;
    // Well-formed PEM took decode_lines; this loop is for everything else, so it favours
    // clarity over speed.
    for &c in body {
        let v = DECODE[c as usize];
        if v < 64 {
            if pads > 0 {
                return Err(bad_base64());
            }
            acc = acc << 6 | u32::from(v);
            n += 1;
            if n == 4 {
                out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
                acc = 0;
                n = 0;
            }
        } else if v == SKIP {
            continue;
        } else if v == PAD {
            pads += 1;
            if pads > 2 {
                return Err(bad_base64());
            }
        } else {
            return Err(bad_base64());
        }
    }
    match (n, pads) {
        (0, 0) => {}
        (2, 2) if acc & 0xf == 0 => out.push((acc >> 4) as u8),
        (3, 1) if acc & 0x3 == 0 => {
            out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]);
        }
        _ => return Err(bad_base64()),
    }
    Ok(out)
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
    fn decodes_like_the_base64_crate() {
        for len in 0..70usize {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
            let wrapped: String = b64
                .as_bytes()
                .chunks(5)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("\r\n");
            assert_eq!(decode_body(wrapped.as_bytes(), 1000).ok(), Some(data));
        }
        for bad in [
            &b"QUJ"[..],
            b"QQ=",
            b"QR==",
            b"Q===",
            b"QQ==QQ==",
            b"QU*D",
            b"QUJD=",
        ] {
            assert!(
                decode_body(bad, 1000).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn the_line_path_agrees_with_the_careful_path() {
        // Differential check over random bodies built from base64, padding and whitespace: the
        // fast path may decline (None), but whenever it answers, the careful path gives the
        // same bytes.
        const ALPHABET: &[u8] = b"QUJDRS0+/=\n\r ";
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut answered = 0;
        for _ in 0..200_000 {
            let len = (next() % 24) as usize;
            let body: Vec<u8> = (0..len)
                .map(|_| ALPHABET[(next() % ALPHABET.len() as u64) as usize])
                .collect();
            if let Some(fast) = decode_lines(&body) {
                answered += 1;
                assert_eq!(
                    decode_careful(&body).ok(),
                    Some(fast),
                    "{:?}",
                    String::from_utf8_lossy(&body)
                );
            }
        }
        assert!(
            answered > 1000,
            "the fast path answered only {answered} times"
        );
        // Long lines (real PEM widths and beyond): real encodings, wrapped at a random width,
        // with one character replaced at random (from the alphabet, `=`, whitespace or a byte
        // outside it), so both valid and near-valid bodies reach the fast path.
        const MUTATIONS: &[u8] = b"AQgw+/=\n\r \0*-_\xff";
        let (mut long_answered, mut long_refused) = (0, 0);
        for _ in 0..20_000 {
            let data: Vec<u8> = (0..next() % 300).map(|_| next() as u8).collect();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&data);
            let width = [4, 8, 60, 64, 76, 128][(next() % 6) as usize];
            let mut body = b64
                .as_bytes()
                .chunks(width)
                .collect::<Vec<_>>()
                .join(&b"\n"[..]);
            if !body.is_empty() && next() % 2 == 0 {
                let at = (next() % body.len() as u64) as usize;
                body[at] = MUTATIONS[(next() % MUTATIONS.len() as u64) as usize];
            }
            match decode_lines(&body) {
                Some(fast) => {
                    long_answered += 1;
                    assert_eq!(
                        decode_careful(&body).ok(),
                        Some(fast),
                        "{:?}",
                        String::from_utf8_lossy(&body)
                    );
                }
                None => long_refused += 1,
            }
        }
        assert!(
            long_answered > 5000 && long_refused > 1000,
            "{long_answered} / {long_refused}"
        );
        // Real PEM bodies take the fast path.
        let pem = encode("CERTIFICATE", &[7u8; 1000]);
        let block = blocks(pem.as_bytes()).next().and_then(|r| r.ok());
        assert!(block.is_some_and(|b| decode_lines(b.body).is_some()));
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
