//! What a policy needs to know about a client: its subject and issuer names, SPIFFE ID, DNS
//! names and certificate fingerprint.
//!
//! [`Identity`] is the trait a decision reads through, so a parsed certificate can be decided on
//! without copying it; [`OwnedIdentity`] is a plain owned value for everything else (an identity
//! an app builds itself, or one converted once from a Ruby object).

use std::borrow::Cow;

use smallvec::SmallVec;

use super::pattern::is_valid_spiffe_id;
use crate::identity::{attr, fold};

/// The facts about a client that policy conditions can test.
///
/// Attribute types are dotted OIDs (`2.5.4.3` for CN), in certificate order; values are the
/// attribute text as in the certificate. A multi-valued attribute appears once per value.
pub trait Identity {
    /// The subject's attributes as `(oid, value)`.
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)>;
    /// The issuer's attributes as `(oid, value)`.
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)>;
    /// The SPIFFE ID text, when the identity has one.
    fn spiffe_id(&self) -> Option<&str>;
    /// Every URI the identity presents (subjectAltName URIs), valid SPIFFE IDs or not. Deny
    /// rules read each of them leniently (see [`spiffe_readings`]); allow rules read only
    /// [`Identity::spiffe_id`]. By default the SPIFFE ID text alone.
    fn uris(&self) -> impl Iterator<Item = &str> {
        self.spiffe_id().into_iter()
    }
    /// The DNS names (subjectAltName dNSName entries).
    fn dns_names(&self) -> impl Iterator<Item = &str>;
    /// The SHA-256 fingerprint of the certificate, as hex (any case; colons are ignored).
    fn fingerprint_hex(&self) -> Option<&str>;
    /// The SPKI SHA-256 of every CA on the path a `TrustStore` verified, or `None` when the
    /// identity was not verified here. Only [`Verified`] has them: a claim the identity makes
    /// about its own issuer is never a verified key.
    fn verified_ca_keys(&self) -> Option<&[[u8; 32]]> {
        None
    }
}

/// An identity and the chain a `TrustStore` verified for it.
#[derive(Debug, Clone, Copy)]
pub struct Verified<'a, I: Identity + ?Sized> {
    /// The identity (usually the certificate).
    pub identity: &'a I,
    /// What `TrustStore::verify_chain` returned for it.
    pub chain: &'a crate::identity::VerifiedChain,
}

impl<I: Identity + ?Sized> Identity for Verified<'_, I> {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.identity.subject_attributes()
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.identity.issuer_attributes()
    }
    fn spiffe_id(&self) -> Option<&str> {
        self.identity.spiffe_id()
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.identity.dns_names()
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        self.identity.fingerprint_hex()
    }
    fn verified_ca_keys(&self) -> Option<&[[u8; 32]]> {
        Some(self.chain.ca_keys())
    }
}

/// An identity as plain owned data. `Send + Sync`; cheap to evaluate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnedIdentity {
    /// Subject attributes as `(oid, value)`, in certificate order. Use [`OwnedIdentity::attribute`]
    /// to build an entry from a type name.
    pub subject: Vec<(String, String)>,
    /// Issuer attributes as `(oid, value)`.
    pub issuer: Vec<(String, String)>,
    /// The SPIFFE ID text, however it is spelled: an allow rule reads it only if it is a valid
    /// SPIFFE ID, a deny rule also reads it leniently, as it reads a certificate's URI SANs.
    pub spiffe_id: Option<String>,
    /// DNS names.
    pub dns_names: Vec<String>,
    /// SHA-256 of the certificate's DER, hex.
    pub fingerprint: Option<String>,
}

impl OwnedIdentity {
    /// An `(oid, value)` entry from an attribute type given as a short name (`CN`), a long name
    /// (`commonName`) or a dotted OID. A type that is neither known nor an OID is kept as given:
    /// it can never equal a policy condition, which are always resolved to OIDs.
    pub fn attribute(type_name: &str, value: impl Into<String>) -> (String, String) {
        let oid = attr::oid_for(type_name).unwrap_or_else(|| format!("?{type_name}"));
        (oid, value.into())
    }

    /// A one-line, log-safe summary: the SPIFFE ID if any, else the subject in RFC 4514 order
    /// of appearance, and the first 16 hex digits of the fingerprint. Control characters are
    /// escaped and each part is cut short, so a hostile name cannot forge a log line.
    pub fn summary(&self) -> String {
        summary(self)
    }
}

impl Identity for OwnedIdentity {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.subject.iter().map(|(t, v)| (t.as_str(), v.as_str()))
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.issuer.iter().map(|(t, v)| (t.as_str(), v.as_str()))
    }
    fn spiffe_id(&self) -> Option<&str> {
        self.spiffe_id.as_deref()
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        self.dns_names.iter().map(String::as_str)
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        self.fingerprint.as_deref()
    }
}

impl<T: Identity> Identity for &T {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        (**self).subject_attributes()
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        (**self).issuer_attributes()
    }
    fn spiffe_id(&self) -> Option<&str> {
        (**self).spiffe_id()
    }
    fn uris(&self) -> impl Iterator<Item = &str> {
        (**self).uris()
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        (**self).dns_names()
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        (**self).fingerprint_hex()
    }
    fn verified_ca_keys(&self) -> Option<&[[u8; 32]]> {
        (**self).verified_ca_keys()
    }
}

/// A parsed certificate is decided on in place: no copy of its names per decision.
impl Identity for crate::identity::Certificate {
    fn subject_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.subject().attributes()
    }
    fn issuer_attributes(&self) -> impl Iterator<Item = (&str, &str)> {
        self.issuer().attributes()
    }
    fn spiffe_id(&self) -> Option<&str> {
        crate::identity::Certificate::spiffe_id(self)
    }
    fn uris(&self) -> impl Iterator<Item = &str> {
        crate::identity::Certificate::uris(self)
            .iter()
            .map(|u| &**u)
    }
    fn dns_names(&self) -> impl Iterator<Item = &str> {
        crate::identity::Certificate::dns_names(self)
            .iter()
            .map(compact_str::CompactString::as_str)
    }
    fn fingerprint_hex(&self) -> Option<&str> {
        Some(crate::identity::Certificate::fingerprint_hex(self))
    }
}

/// A one-line, log-safe summary of any identity (see [`OwnedIdentity::summary`]): the SPIFFE ID,
/// or else the subject as RFC 4514 prints it (last attribute first, every value escaped, so a
/// single `O` of `MyOrg,CN=operator` prints as `O=MyOrg\,CN=operator` and never as the two
/// attributes `CN=operator,O=MyOrg`), then the whole certificate fingerprint, which tells two
/// certificates with the same names apart. Control and invisible characters are escaped.
pub fn summary<I: Identity + ?Sized>(identity: &I) -> String {
    use crate::error::excerpt;
    let mut out = String::new();
    if let Some(id) = identity.spiffe_id() {
        out.push_str(&excerpt(id, 128));
    } else {
        out = name_text(identity.subject_attributes(), "(no subject)");
    }
    if let Some(fp) = identity.fingerprint_hex() {
        out.push_str(" sha256:");
        out.push_str(&excerpt(fp, 64));
    }
    out
}

/// A name's `(oid, value)` attributes as RFC 4514 prints them (last first, every value escaped,
/// so one attribute never reads as two, control and invisible characters as `\XX`), at most 16
/// attributes of at most 64 characters each; `empty` when there are none.
pub(crate) fn name_text<'a>(
    attributes: impl Iterator<Item = (&'a str, &'a str)>,
    empty: &str,
) -> String {
    let mut out = String::new();
    let attributes: Vec<(&str, &str)> = attributes.take(16).collect();
    for (i, (oid, value)) in attributes.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let name = oid
            .strip_prefix('?')
            .map(str::to_owned)
            .unwrap_or_else(|| attr::short_name_for_oid(oid));
        crate::identity::dn::escape_value(&truncated(&name, 32), &mut out);
        out.push('=');
        crate::identity::dn::escape_value(&truncated(value, 64), &mut out);
    }
    if out.is_empty() {
        out.push_str(empty);
    }
    out
}

/// A name's `(oid, value)` attributes as one RFC 4514 string, whole (every attribute, every
/// value escaped as [`crate::identity::DistinguishedName`] prints it), so a record of it (a
/// decision log) parses back to the same attributes; one attribute per RDN.
pub fn rfc4514_text<'a>(attributes: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    let attributes: Vec<(&str, &str)> = attributes.collect();
    let mut out = String::new();
    for (i, (oid, value)) in attributes.iter().rev().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match oid.strip_prefix('?') {
            Some(unknown) => crate::identity::dn::escape_value(unknown, &mut out),
            None => out.push_str(&attr::short_name_for_oid(oid)),
        }
        out.push('=');
        crate::identity::dn::escape_value(value, &mut out);
    }
    out
}

/// At most `max` characters of `s`, with `…` when cut.
fn truncated(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &s[..at]).into(),
        None => s.into(),
    }
}

/// The part of `s` before its first NUL, when it has one: all that a C string reader (a log
/// pipeline, a proxy, the TLS stacks of the NUL-prefix certificates of 2009) sees of it. A deny
/// rule reads it too: `Contractors\0x` is `Contractors` to such a reader.
pub(crate) fn before_nul(s: &str) -> Option<&str> {
    s.find('\0').map(|i| &s[..i])
}

/// The readings of one URI that a deny rule must consider, appended to `out` (deduplicated).
///
/// A URI SAN that is not a valid SPIFFE ID (`SPIFFE://Prod.Example.ORG/ns/contractors/x`,
/// percent-encoded, with a trailing slash, a port or userinfo, a `..` segment) has no
/// `spiffe_id`, so no allow rule matches it; but some other component (a URL parser, a
/// SPIFFE library that normalises, a log reader) may well read it as the canonical ID, so a
/// deny on that ID must match it. Each reading is `spiffe://` + the host part (userinfo and port
/// dropped, wide-folded: lower case, NFKC, ignorables removed, trailing dots trimmed) + the
/// path with empty and `.` segments dropped; the path is read both as written and
/// percent-decoded, and both with `..` kept as a segment and resolved. A URI whose scheme is
/// not `spiffe` (in any case) gives no reading.
pub(crate) fn spiffe_readings<'a>(uri: &'a str, out: &mut SmallVec<[Cow<'a, str>; 2]>) {
    // A valid SPIFFE ID is its own only reading, unless its trust domain ends in a dot.
    if is_valid_spiffe_id(uri)
        && !uri["spiffe://".len()..]
            .split('/')
            .next()
            .is_some_and(|td| td.ends_with('.'))
    {
        if !out.iter().any(|r| r == uri) {
            out.push(Cow::Borrowed(uri));
        }
        return;
    }
    // A WHATWG URL parser drops tabs and line breaks anywhere and trims C0 controls and spaces.
    let cleaned: Cow<'_, str> = if uri.contains(['\t', '\n', '\r']) {
        Cow::Owned(uri.replace(['\t', '\n', '\r'], ""))
    } else {
        Cow::Borrowed(uri)
    };
    let s = cleaned.trim_matches(|c: char| c <= ' ');
    let Some((scheme, rest)) = s.split_once(':') else {
        return;
    };
    if !scheme.eq_ignore_ascii_case("spiffe") {
        return;
    }
    let Some(rest) = rest.strip_prefix("//") else {
        return;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host.split_once(':').map_or(host, |(h, _)| h);
    let path = &tail[..tail.find(['?', '#']).unwrap_or(tail.len())];
    for decode in [false, true] {
        if decode && !authority.contains('%') && !path.contains('%') {
            break;
        }
        let host = if decode {
            percent_decode(host)
        } else {
            Cow::Borrowed(host)
        };
        let td = fold::wide(&host);
        let td = td.trim_end_matches('.');
        if td.is_empty() {
            continue;
        }
        let path = if decode {
            percent_decode(path)
        } else {
            Cow::Borrowed(path)
        };
        for resolve in [false, true] {
            let mut segments: Vec<&str> = Vec::new();
            for seg in path.split('/') {
                match seg {
                    "" | "." => {}
                    ".." if resolve => {
                        segments.pop();
                    }
                    s => segments.push(s),
                }
            }
            let mut reading = String::with_capacity(9 + td.len() + path.len());
            reading.push_str("spiffe://");
            reading.push_str(td);
            for seg in segments {
                reading.push('/');
                reading.push_str(seg);
            }
            if !out.iter().any(|r| *r == reading) {
                out.push(Cow::Owned(reading));
            }
        }
    }
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).and_then(|&c| hex(c)),
            b.get(i + 2).and_then(|&c| hex(c)),
        ) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// The reading of a DNS name that a deny rule compares with: wide-folded (lower case, NFKC, so
/// fullwidth letters and dots fold; ignorables removed), ideographic full stops read as dots
/// (as IDNA does), and trailing dots trimmed: `evil.example.org.` is the same host as
/// `evil.example.org` (RFC 1034 section 3.1, the absolute form).
pub(crate) fn dns_reading(name: &str) -> Cow<'_, str> {
    let folded = fold::wide(name);
    if !folded.ends_with('.') && !folded.contains('\u{3002}') {
        return folded;
    }
    let mut out = folded.replace('\u{3002}', ".");
    while out.ends_with('.') {
        out.pop();
    }
    Cow::Owned(out)
}

/// Whether a DNS name reading (see [`dns_reading`]) covers `host` (lowercase): equal, or a
/// wildcard in its first label (`*.example.org`, `ev*.example.org`) that a TLS client would
/// accept for `host` (RFC 6125 section 6.4.3). A certificate that is valid for a denied host is
/// denied.
pub(crate) fn dns_reading_covers(reading: &str, host: &str) -> bool {
    if reading == host {
        return true;
    }
    let (Some((label, rest)), Some((host_label, host_rest))) =
        (reading.split_once('.'), host.split_once('.'))
    else {
        return false;
    };
    let Some((before, after)) = label.split_once('*') else {
        return false;
    };
    rest == host_rest
        && !after.contains('*')
        && host_label.len() >= before.len() + after.len()
        && host_label.starts_with(before)
        && host_label.ends_with(after)
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_resolves_type_names() {
        assert_eq!(OwnedIdentity::attribute("commonName", "x").0, "2.5.4.3");
        assert_eq!(OwnedIdentity::attribute("CN", "x").0, "2.5.4.3");
        assert_eq!(OwnedIdentity::attribute("1.2.3.4", "x").0, "1.2.3.4");
        assert_eq!(OwnedIdentity::attribute("bogus", "x").0, "?bogus");
    }

    #[test]
    fn summary_is_log_safe() {
        let id = OwnedIdentity {
            subject: vec![OwnedIdentity::attribute("CN", "evil\nINFO forged")],
            fingerprint: Some("ab".repeat(32)),
            ..Default::default()
        };
        let s = id.summary();
        assert!(!s.contains('\n'));
        assert_eq!(
            s,
            format!("CN=evil\\0AINFO forged sha256:{}", "ab".repeat(32))
        );
    }

    #[test]
    fn summary_escapes_as_rfc_4514_so_one_attribute_never_reads_as_two() {
        let real = OwnedIdentity {
            subject: vec![
                OwnedIdentity::attribute("O", "MyOrg"),
                OwnedIdentity::attribute("CN", "operator"),
            ],
            ..Default::default()
        };
        let forged = OwnedIdentity {
            subject: vec![OwnedIdentity::attribute("O", "MyOrg,CN=operator")],
            ..Default::default()
        };
        assert_eq!(real.summary(), "CN=operator,O=MyOrg");
        assert_eq!(forged.summary(), "O=MyOrg\\,CN=operator");
        let hidden = OwnedIdentity {
            subject: vec![OwnedIdentity::attribute("CN", "op\u{200b}erator\u{202e}")],
            ..Default::default()
        };
        assert_eq!(hidden.summary(), "CN=op\\E2\\80\\8Berator\\E2\\80\\AE");
    }

    #[test]
    fn spiffe_readings_normalise_what_a_url_parser_would() {
        let read = |uri: &str| {
            let mut out = SmallVec::new();
            spiffe_readings(uri, &mut out);
            out.into_iter()
                .map(Cow::into_owned)
                .collect::<Vec<String>>()
        };
        let want = "spiffe://prod.example.org/ns/contractors/sa/x";
        for uri in [
            want,
            "SPIFFE://Prod.Example.ORG/ns/contractors/sa/x",
            "spiffe://prod.example.org/ns/contractors/sa/x/",
            "spiffe://prod%2Eexample.org/ns/contractors/sa/x",
            "spiffe://prod.example.org/ns/%63ontractors/sa/x",
            "spiffe://prod.example.org/ns%2Fcontractors/sa/x",
            "spiffe://prod.example.org./ns//contractors/./sa/x",
            "spiffe://user@prod.example.org:443/ns/contractors/sa/x?q#f",
            "spiffe://prod.example.org/ns/ops/../contractors/sa/x",
            " spiffe://prod.exam\tple.org/ns/contractors/sa/x\n",
        ] {
            assert!(
                read(uri).iter().any(|r| r == want),
                "{uri:?}: {:?}",
                read(uri)
            );
        }
        assert!(read("spiffe://prod.example.org/ns/contractors/../ops")
            .iter()
            .any(|r| r.starts_with("spiffe://prod.example.org/ns/contractors/")));
        assert!(read("https://prod.example.org/ns/contractors").is_empty());
        assert!(read("spiffe:prod.example.org/ns").is_empty());
        assert!(read("spiffe:///ns").is_empty());
    }

    #[test]
    fn dns_readings_fold_and_cover_wildcards() {
        assert_eq!(dns_reading("Evil.Example.ORG."), "evil.example.org");
        assert_eq!(dns_reading("evil.example.org.."), "evil.example.org");
        assert_eq!(
            dns_reading("\u{FF45}vil\u{FF0E}example\u{3002}org"),
            "evil.example.org"
        );
        assert!(dns_reading_covers("*.example.org", "evil.example.org"));
        assert!(dns_reading_covers("ev*.example.org", "evil.example.org"));
        assert!(!dns_reading_covers("*.example.org", "example.org"));
        assert!(!dns_reading_covers("*.example.org", "a.evil.example.org"));
        assert!(!dns_reading_covers("x*.example.org", "evil.example.org"));
        assert!(!dns_reading_covers(
            "evil.example.org",
            "evil.example.org.uk"
        ));
    }
}
