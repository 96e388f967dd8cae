//! The one error type of the core. Each variant has a stable [`Error::kind`], a name a caller
//! matches on instead of the message; [`Error::Untrusted`] also carries an [`UntrustedReason`],
//! and the refusals a caller acts on carry [`Error::details`] (which check refused, which
//! placeholder, path, file, line, rule or option), set where the refusal is made so a binding
//! copies them instead of reading them back out of the message.
//!
//! Messages say what was wrong and what to do. They never echo secrets or whole inputs: at
//! most a short, escaped excerpt (see [`excerpt`]).

use std::fmt;
use std::ops::Deref;

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

/// The value of one of an error's [`Error::details`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A name from a closed set (a binding shows it as a symbol): which check refused, ...
    Name(&'static str),
    /// Text from the input, already made printable and short with [`excerpt`].
    Text(String),
    /// A number: a line, a length, ...
    Int(u64),
}

/// A refusal's message (for people) and its fields (for code): the payload of the variants a
/// caller acts on. Dereferences to the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Refusal {
    message: String,
    fields: Vec<(&'static str, Field)>,
}

impl Refusal {
    /// A refusal with its message and no fields yet.
    pub fn new(message: impl Into<String>) -> Self {
        Refusal {
            message: message.into(),
            fields: Vec::new(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The fields, in the order they were set, each key once.
    pub fn fields(&self) -> &[(&'static str, Field)] {
        &self.fields
    }

    /// The field named `key`.
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.fields.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    fn set(&mut self, key: &'static str, value: Field) {
        match self.fields.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.fields.push((key, value)),
        }
    }
}

impl Deref for Refusal {
    type Target = str;
    fn deref(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<String> for Refusal {
    fn from(message: String) -> Self {
        Refusal::new(message)
    }
}

impl From<&str> for Refusal {
    fn from(message: &str) -> Self {
        Refusal::new(message)
    }
}

/// Every error the core reports, each with its [`Error::kind`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input is not a certificate, a name, a SPIFFE ID or a client certificate header the
    /// core reads (kind `certificate`).
    #[error("{0}")]
    Certificate(Refusal),
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
    Path(Refusal),
    /// The path would leave its root (kind `path_escape`).
    #[error("{0}")]
    PathEscape(Refusal),
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
    CommandNotAllowed(Refusal),
    /// The command could not be run at all: spawn failed, ... (kind `command`).
    #[error("{0}")]
    Command(Refusal),
    /// A policy definition is invalid (kind `policy`).
    #[error("{0}")]
    Policy(Refusal),
    /// A guard was set up wrongly (kind `configuration`).
    #[error("{0}")]
    Configuration(Refusal),
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

    /// An [`Error::Certificate`] with `message`, refused by the rule `check`.
    pub fn certificate(check: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(
            crate::identity::cert::check::ALL.contains(&check),
            "{check} is not in check::ALL"
        );
        Error::Certificate(Refusal::new(message)).check(check)
    }

    /// An [`Error::Command`] with `message`, for the reason `check` (one of
    /// [`crate::command::check::ALL`]).
    pub fn command(check: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(
            crate::command::check::ALL.contains(&check),
            "{check} is not in check::ALL"
        );
        Error::Command(Refusal::new(message)).check(check)
    }

    /// An [`Error::Path`] with `message`; add fields with [`Error::check`] and [`Error::with`].
    pub fn path(message: impl Into<String>) -> Self {
        Error::Path(Refusal::new(message))
    }

    /// An [`Error::PathEscape`] with `message`.
    pub fn path_escape(message: impl Into<String>) -> Self {
        Error::PathEscape(Refusal::new(message))
    }

    /// An [`Error::CommandNotAllowed`] with `message`.
    pub fn command_not_allowed(message: impl Into<String>) -> Self {
        Error::CommandNotAllowed(Refusal::new(message))
    }

    /// An [`Error::Policy`] with `message`.
    pub fn policy(message: impl Into<String>) -> Self {
        Error::Policy(Refusal::new(message))
    }

    /// An [`Error::Configuration`] with `message`.
    pub fn configuration(message: impl Into<String>) -> Self {
        Error::Configuration(Refusal::new(message))
    }

    /// The refusal's fields, empty for the variants without a [`Refusal`].
    pub fn details(&self) -> &[(&'static str, Field)] {
        match self.refusal() {
            Some(r) => r.fields(),
            None => &[],
        }
    }

    /// The field `key` of [`Error::details`].
    pub fn detail(&self, key: &str) -> Option<&Field> {
        self.refusal().and_then(|r| r.get(key))
    }

    /// Sets the `check` field: which of the rules refused, a name from a closed set.
    #[must_use]
    pub fn check(self, check: &'static str) -> Self {
        self.with(key::CHECK, Field::Name(check))
    }

    /// Puts `prefix` before the message (where in a bundle, which part), keeping the fields; a
    /// variant without a [`Refusal`] is unchanged.
    #[must_use]
    pub fn prefixed(mut self, prefix: &str) -> Self {
        if let Some(r) = self.refusal_mut() {
            r.message.insert_str(0, prefix);
        }
        self
    }

    /// Sets the field `key` (one of [`key`]); a variant without a [`Refusal`] is unchanged.
    #[must_use]
    pub fn with(mut self, key: &'static str, value: Field) -> Self {
        if let Some(r) = self.refusal_mut() {
            r.set(key, value);
        }
        self
    }

    fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Certificate(r)
            | Error::Path(r)
            | Error::PathEscape(r)
            | Error::CommandNotAllowed(r)
            | Error::Command(r)
            | Error::Policy(r)
            | Error::Configuration(r) => Some(r),
            _ => None,
        }
    }

    fn refusal_mut(&mut self) -> Option<&mut Refusal> {
        match self {
            Error::Certificate(r)
            | Error::Path(r)
            | Error::PathEscape(r)
            | Error::CommandNotAllowed(r)
            | Error::Command(r)
            | Error::Policy(r)
            | Error::Configuration(r) => Some(r),
            _ => None,
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

/// The keys of [`Error::details`], so a binding and a test name them the same way.
pub mod key {
    /// Which rule refused: a [`super::Field::Name`].
    pub const CHECK: &str = "check";
    /// The command placeholder whose value was refused (without braces).
    pub const PLACEHOLDER: &str = "placeholder";
    /// An escaped excerpt of the refused path.
    pub const PATH: &str = "path";
    /// The policy file (as given).
    pub const FILE: &str = "file";
    /// The 1-based line in the policy file.
    pub const LINE: &str = "line";
    /// The id of the policy rule.
    pub const RULE_ID: &str = "rule_id";
    /// The 0-based index of the policy rule in `rules:`.
    pub const RULE_INDEX: &str = "rule_index";
    /// The policy key at fault.
    pub const KEY: &str = "key";
    /// The option (keyword) that was set wrongly.
    pub const OPTION: &str = "option";
    /// The part of a certificate found malformed (`subject`, `validity`, ...).
    pub const PART: &str = "part";
    /// The certificate extension found malformed (`subjectAltName`, ...).
    pub const EXTENSION: &str = "extension";
    /// The label of the PEM block found where a certificate was wanted (`PRIVATE KEY`, ...).
    pub const LABEL: &str = "label";
    /// The 1-based position of the certificate refused in a bundle or header.
    pub const INDEX: &str = "index";
    /// The `errno` an operating-system call failed with.
    pub const ERRNO: &str = "errno";
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
            Error::certificate("empty", String::new()),
            Error::Untrusted {
                reason: UntrustedReason::Invalid,
                message: String::new(),
            },
            Error::path(String::new()),
            Error::path_escape(String::new()),
            Error::io(std::io::Error::from_raw_os_error(2), ""),
            Error::command_not_allowed(String::new()),
            Error::command("internal", String::new()),
            Error::policy(String::new()),
            Error::configuration(String::new()),
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
    fn details_are_set_where_the_refusal_is_made() {
        let e = Error::command_not_allowed("no")
            .check("leading_dash")
            .with(key::PLACEHOLDER, Field::Text("v".into()))
            .check("nul");
        assert_eq!(e.kind(), "command_not_allowed");
        assert_eq!(e.to_string(), "no");
        assert_eq!(
            e.details(),
            &[
                (key::CHECK, Field::Name("nul")),
                (key::PLACEHOLDER, Field::Text("v".into()))
            ]
        );
        assert_eq!(e.detail(key::PLACEHOLDER), Some(&Field::Text("v".into())));
        let io = Error::io(std::io::Error::from_raw_os_error(2), "x").check("nul");
        assert!(io.details().is_empty());
        let certificate = Error::certificate("pem", "x")
            .with(key::INDEX, Field::Int(2))
            .prefixed("certificate 2 of the bundle: ");
        assert_eq!(certificate.to_string(), "certificate 2 of the bundle: x");
        assert_eq!(
            certificate.details(),
            &[("check", Field::Name("pem")), ("index", Field::Int(2))]
        );
    }

    #[test]
    fn io_error_keeps_its_errno() {
        let e = Error::io(std::io::Error::from_raw_os_error(2), "opening x");
        assert_eq!(e.errno(), Some(2));
        assert!(e.to_string().starts_with("opening x: "));
    }
}
