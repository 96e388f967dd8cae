//! The one error type of the core. Each variant has a stable [`Error::kind`], a name a caller
//! matches on instead of the message; [`Error::Untrusted`] also carries an [`UntrustedReason`].
//!
//! Messages say what was wrong and what to do. They never echo secrets or whole inputs: at
//! most a short, escaped excerpt (see [`excerpt`]).

use std::fmt;

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a certificate chain was not trusted: a stable code, named by [`UntrustedReason::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UntrustedReason {
    /// The certificate (or one in its chain) expired before the verification time.
    Expired,
    /// The certificate (or one in its chain) is not valid yet at the verification time.
    NotYetValid,
    /// No path leads from the certificate to a pinned CA.
    UnknownIssuer,
    /// A signature in the chain does not verify.
    BadSignature,
    /// The leaf's extended key usage does not allow client authentication.
    MissingClientAuth,
    /// A CRL given to the trust store revokes the certificate.
    Revoked,
    /// Anything else that makes the chain invalid.
    Invalid,
}

impl UntrustedReason {
    /// Every reason, in a fixed order.
    pub const ALL: [UntrustedReason; 7] = [
        UntrustedReason::Expired,
        UntrustedReason::NotYetValid,
        UntrustedReason::UnknownIssuer,
        UntrustedReason::BadSignature,
        UntrustedReason::MissingClientAuth,
        UntrustedReason::Revoked,
        UntrustedReason::Invalid,
    ];

    /// The reason's stable name (`expired`, `not_yet_valid`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            UntrustedReason::Expired => "expired",
            UntrustedReason::NotYetValid => "not_yet_valid",
            UntrustedReason::UnknownIssuer => "unknown_issuer",
            UntrustedReason::BadSignature => "bad_signature",
            UntrustedReason::MissingClientAuth => "missing_client_auth",
            UntrustedReason::Revoked => "revoked",
            UntrustedReason::Invalid => "invalid",
        }
    }
}

impl fmt::Display for UntrustedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error the core reports, each with its [`Error::kind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a certificate (kind `certificate`).
    #[error("{0}")]
    Certificate(String),
    /// Chain verification failed (kind `untrusted`).
    #[error("{message}")]
    Untrusted {
        /// Why, as a stable code.
        reason: UntrustedReason,
        /// What failed and what to check.
        message: String,
    },
    /// Malformed path input: NUL, empty, too long, absolute, ... (kind `path`).
    #[error("{0}")]
    Path(String),
    /// The path would leave its root (kind `path_escape`).
    #[error("{0}")]
    PathEscape(String),
    /// An operating-system error, with its `errno` (kind `io`): a binding reports it as its
    /// language's own file API would (a missing file as `ENOENT`, ...).
    #[error("{context}: {source}")]
    Io {
        /// The `errno` value.
        source: std::io::Error,
        /// What was being done, with the (relative, never secret) path involved.
        context: String,
    },
    /// A value outside the allowlist, option injection, NUL (kind `command_not_allowed`).
    #[error("{0}")]
    CommandNotAllowed(String),
    /// The command could not be run at all: spawn failed, ... (kind `command`).
    #[error("{0}")]
    Command(String),
    /// A policy definition is invalid (kind `policy`).
    #[error("{0}")]
    Policy(String),
    /// A guard was set up wrongly (kind `configuration`).
    #[error("{0}")]
    Configuration(String),
    /// The caller passed something of the right type but unusable: an unknown placeholder, a
    /// missing value, an unknown mode (kind `argument`).
    #[error("{0}")]
    Argument(String),
}

impl Error {
    /// Every kind [`Error::kind`] returns.
    pub const KINDS: &'static [&'static str] = &[
        "certificate",
        "untrusted",
        "path",
        "path_escape",
        "io",
        "command_not_allowed",
        "command",
        "policy",
        "configuration",
        "argument",
    ];

    /// What went wrong, as a stable name to match on (one of [`Error::KINDS`]); the message
    /// is for people and may change.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Certificate(_) => "certificate",
            Error::Untrusted { .. } => "untrusted",
            Error::Path(_) => "path",
            Error::PathEscape(_) => "path_escape",
            Error::Io { .. } => "io",
            Error::CommandNotAllowed(_) => "command_not_allowed",
            Error::Command(_) => "command",
            Error::Policy(_) => "policy",
            Error::Configuration(_) => "configuration",
            Error::Argument(_) => "argument",
        }
    }

    /// An [`Error::Io`] from an `errno`-style error, with what was being done.
    pub fn io(source: impl Into<std::io::Error>, context: impl Into<String>) -> Self {
        Error::Io {
            source: source.into(),
            context: context.into(),
        }
    }

    /// The raw `errno` of an [`Error::Io`], if it has one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// A short, printable excerpt of untrusted input for an error message: at most `max` chars,
/// control and invisible characters escaped (see [`is_invisible`]), so a message can never
/// carry a whole certificate, a terminal escape sequence, a forged log line or text that reads
/// differently from what it holds.
pub fn excerpt(input: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in input.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else if is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// [`excerpt`] of bytes that may not be UTF-8: each byte of an invalid sequence is written
/// `\xNN`, so nothing undecodable reaches a log line or a terminal as itself.
pub fn excerpt_bytes(input: &[u8], max: usize) -> String {
    let mut out = String::new();
    let mut left = max;
    for chunk in input.utf8_chunks() {
        let valid = chunk.valid();
        let count = valid.chars().count();
        if count >= left && !(count == left && chunk.invalid().is_empty()) {
            out.push_str(&excerpt(valid, left));
            if !out.ends_with('…') {
                out.push('…');
            }
            return out;
        }
        out.push_str(&excerpt(valid, count));
        left -= count;
        for byte in chunk.invalid() {
            if left == 0 {
                out.push('…');
                return out;
            }
            out.push_str(&format!("\\x{byte:02x}"));
            left -= 1;
        }
    }
    out
}

/// Characters that change how a printed name reads without showing themselves: zero-width and
/// other format characters (Unicode category Cf: ZWSP, ZWJ, soft hyphen, BOM, tags), the
/// bidirectional controls that reorder text on screen (LRM/RLM/ALM, embeddings, overrides and
/// isolates: the "Trojan Source" trick, CVE-2021-42574), line and paragraph separators (a second
/// log line to some viewers), and the other default-ignorable code points (variation selectors,
/// fillers, the combining grapheme joiner). `CN=op\u{200b}erator` must not print as
/// `CN=operator` in an audit log.
pub fn is_invisible(c: char) -> bool {
    matches!(c as u32,
        0x00AD | 0x034F | 0x061C | 0x115F..=0x1160 | 0x17B4..=0x17B5 | 0x180B..=0x180F
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x3164 | 0xFE00..=0xFE0F
        | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFFB | 0x0600..=0x0605 | 0x06DD | 0x070F | 0x0890..=0x0891
        | 0x08E2 | 0x110BD | 0x110CD | 0x13430..=0x1343F | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_escapes_controls_and_truncates() {
        assert_eq!(excerpt("a\nb\0c", 10), "a\\nb\\u{0}c");
        assert_eq!(excerpt("abcdef", 3), "abc…");
    }

    #[test]
    fn excerpt_escapes_zero_width_and_bidi_characters() {
        assert_eq!(excerpt("op\u{200b}erator", 20), "op\\u{200b}erator");
        assert_eq!(
            excerpt("a\u{202e}b\u{2066}c\u{2028}", 20),
            "a\\u{202e}b\\u{2066}c\\u{2028}"
        );
        assert_eq!(excerpt("\u{feff}x\u{ad}", 20), "\\u{feff}x\\u{ad}");
        assert_eq!(excerpt("Zoë 名前 ﬁ", 20), "Zoë 名前 ﬁ");
    }

    #[test]
    fn every_kind_is_listed_once_and_every_reason_once() {
        let errors = [
            Error::Certificate(String::new()),
            Error::Untrusted {
                reason: UntrustedReason::Invalid,
                message: String::new(),
            },
            Error::Path(String::new()),
            Error::PathEscape(String::new()),
            Error::io(std::io::Error::from_raw_os_error(2), ""),
            Error::CommandNotAllowed(String::new()),
            Error::Command(String::new()),
            Error::Policy(String::new()),
            Error::Configuration(String::new()),
            Error::Argument(String::new()),
        ];
        let kinds: Vec<&str> = errors.iter().map(Error::kind).collect();
        assert_eq!(kinds, Error::KINDS);
        let names: std::collections::HashSet<&str> =
            UntrustedReason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), UntrustedReason::ALL.len());
    }

    #[test]
    fn excerpt_bytes_escapes_invalid_utf8_and_truncates() {
        assert_eq!(excerpt_bytes(b"ab\xffc\n", 10), "ab\\xffc\\n");
        assert_eq!(excerpt_bytes(b"abcdef", 3), "abc…");
        assert_eq!(excerpt_bytes(b"abc", 3), "abc");
        assert_eq!(excerpt_bytes(b"ab\xff\xfe", 3), "ab\\xff…");
        assert_eq!(excerpt_bytes("op\u{200b}".as_bytes(), 10), "op\\u{200b}");
    }

    #[test]
    fn io_error_keeps_its_errno() {
        let e = Error::io(std::io::Error::from_raw_os_error(2), "opening x");
        assert_eq!(e.errno(), Some(2));
        assert!(e.to_string().starts_with("opening x: "));
    }
}
