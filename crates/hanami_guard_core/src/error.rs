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
/// control characters escaped, so a message can never carry a whole certificate, a terminal
/// escape sequence or a forged log line.
pub fn excerpt(input: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in input.chars().enumerate() {
        if i == max {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
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
    fn io_error_keeps_its_errno() {
        let e = Error::io(std::io::Error::from_raw_os_error(2), "opening x");
        assert_eq!(e.errno(), Some(2));
        assert!(e.to_string().starts_with("opening x: "));
    }
}
