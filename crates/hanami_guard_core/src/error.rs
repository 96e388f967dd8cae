//! The one error type of the core. Each variant maps onto exactly one Ruby class (see
//! `lib/hanami_guard/errors.rb`); the binding crate does that mapping and nothing else.
//!
//! Messages say what was wrong and what to do. They never echo secrets or whole inputs: at
//! most a short, escaped excerpt (see [`excerpt`]).

use std::fmt;

/// `Result` with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a certificate chain was not trusted. Mirrors `UntrustedCertificate#reason` in Ruby.
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
    /// The Ruby Symbol name of the reason (`:expired`, ...).
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

/// Every error the core reports. The Ruby class each becomes is named on the variant.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `HanamiGuard::CertificateError`: the input is not a certificate.
    #[error("{0}")]
    Certificate(String),
    /// `HanamiGuard::UntrustedCertificate`: chain verification failed.
    #[error("{message}")]
    Untrusted {
        /// Why, as a stable code.
        reason: UntrustedReason,
        /// What failed and what to check.
        message: String,
    },
    /// `HanamiGuard::PathError`: malformed path input (NUL, empty, too long, absolute, ...).
    #[error("{0}")]
    Path(String),
    /// `HanamiGuard::PathEscapeError`: the path would leave its root.
    #[error("{0}")]
    PathEscape(String),
    /// An operating-system error, raised in Ruby as the matching `Errno::*` class, as Ruby's own
    /// `File` would raise it (`Errno::ENOENT` for a missing file, ...).
    #[error("{context}: {source}")]
    Io {
        /// The `errno` value.
        source: std::io::Error,
        /// What was being done, with the (relative, never secret) path involved.
        context: String,
    },
    /// `HanamiGuard::CommandNotAllowed`: a value outside the allowlist, option injection, NUL.
    #[error("{0}")]
    CommandNotAllowed(String),
    /// `HanamiGuard::CommandError`: the command could not be run at all (spawn failed, ...).
    #[error("{0}")]
    Command(String),
    /// `HanamiGuard::PolicyError`: a policy definition is invalid.
    #[error("{0}")]
    Policy(String),
    /// `HanamiGuard::ConfigurationError`: a guard was set up wrongly.
    #[error("{0}")]
    Configuration(String),
    /// `ArgumentError` in Ruby: the caller passed something of the right type but unusable
    /// (an unknown placeholder, a missing value).
    #[error("{0}")]
    Argument(String),
}

impl Error {
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
    fn io_error_keeps_its_errno() {
        let e = Error::io(std::io::Error::from_raw_os_error(2), "opening x");
        assert_eq!(e.errno(), Some(2));
        assert!(e.to_string().starts_with("opening x: "));
    }
}
