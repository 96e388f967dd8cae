//! The patterns a rule is written with: resource globs, SPIFFE ID patterns, DNS names and
//! certificate fingerprints. Each is validated once, when the policy loads, and matched without
//! allocating.
//!
//! Resource globs: `*` matches any run of characters within one `/`-separated segment, `**` (a
//! whole segment) matches zero or more whole segments. A resource that is not in normal form
//! (a `.` or `..` segment, an empty segment such as `/a`, `a//b` or `a/`, a control character)
//! never matches a glob: the layer that later uses the resource (a file system, a router) may
//! normalise it into something the glob was written to exclude, so `secrets/../public/x` must
//! not slip past `deny secrets/**` nor be let in by `allow public/**`, and `/secrets/key` (which
//! `File.join(base, r)` reads as `secrets/key`) must not slip past `deny secrets/**` into an
//! `allow **`. Only a rule that names such a resource exactly can match it.
//!
//! Resources are compared byte for byte, so case-sensitively: `Secrets/key` is not matched by
//! `deny secrets/**`. On a case-insensitive file system (macOS's default APFS, NTFS, a CIFS
//! share) both spellings open one file, so a deny glob there must be paired with a resource
//! name the app normalises itself, or the allow side written as a list of what is granted.

use std::fmt;

use crate::identity::SpiffeId;

/// Longest pattern (resource, action, SPIFFE ID, ...) a policy may contain, in bytes.
pub const MAX_PATTERN_BYTES: usize = 1024;

/// Longest resource a decision evaluates, in bytes. A longer resource is denied without
/// looking at any rule (no rule could name it exactly), which bounds the cost of glob matching.
pub const MAX_RESOURCE_BYTES: usize = 4096;

/// Longest SPIFFE ID an identity may present and still match: the SPIFFE spec's limit, as
/// [`SpiffeId`] applies it.
pub const MAX_SPIFFE_ID_BYTES: usize = crate::identity::spiffe::MAX_SPIFFE_ID;

/// Why a pattern was refused. The loader adds the file, rule and key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError(pub String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn refuse(msg: impl Into<String>) -> PatternError {
    PatternError(msg.into())
}

fn check_common(s: &str, what: &str) -> Result<(), PatternError> {
    if s.is_empty() {
        return Err(refuse(format!("an empty {what} is not allowed")));
    }
    if s.len() > MAX_PATTERN_BYTES {
        return Err(refuse(format!(
            "a {what} is limited to {MAX_PATTERN_BYTES} bytes"
        )));
    }
    if s.chars().any(char::is_control) {
        return Err(refuse(format!(
            "a {what} must not contain control characters"
        )));
    }
    Ok(())
}

/// An action name in a rule: exact, or `*` for every action.
pub fn validate_action(s: &str) -> Result<(), PatternError> {
    check_common(s, "action")?;
    if s != "*" && s.contains('*') {
        return Err(refuse(
            "`*` is only allowed alone (meaning every action); actions are matched exactly",
        ));
    }
    Ok(())
}

/// One segment of a resource glob.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    /// `**`: zero or more whole segments.
    AnyDepth,
    /// A segment with no `*`.
    Literal(Box<str>),
    /// A segment with one or more `*`: the literal parts between them (the first and last may
    /// be empty).
    Wild(Vec<Box<str>>),
}

impl Segment {
    fn matches(&self, s: &str) -> bool {
        match self {
            Segment::AnyDepth => true,
            Segment::Literal(l) => **l == *s,
            Segment::Wild(parts) => wild_matches(parts, s),
        }
    }
}

/// `p0*p1*...*pk` against `s`: `s` starts with p0, ends with pk, and holds p1..p(k-1) in order
/// between them. Taking the leftmost occurrence of each middle part is optimal, so this is
/// linear in practice and never backtracks.
fn wild_matches(parts: &[Box<str>], s: &str) -> bool {
    let (first, rest) = match parts.split_first() {
        Some(x) => x,
        None => return false,
    };
    let (last, middle) = match rest.split_last() {
        Some(x) => x,
        None => return **first == *s,
    };
    if s.len() < first.len() + last.len() || !s.starts_with(&**first) || !s.ends_with(&**last) {
        return false;
    }
    let mut window = &s[first.len()..s.len() - last.len()];
    for part in middle {
        match window.find(&**part) {
            Some(at) => window = &window[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// A compiled resource glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    source: Box<str>,
    segments: Vec<Segment>,
    never_matches: bool,
}

/// A resource entry of a rule: an exact string, or a glob (it contains `*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourcePattern {
    /// Compared byte for byte.
    Exact(Box<str>),
    /// Matched segment by segment.
    Glob(Glob),
}

impl ResourcePattern {
    /// Validates and compiles one entry of `resources`.
    pub fn parse(s: &str) -> Result<Self, PatternError> {
        check_common(s, "resource")?;
        if !s.contains('*') {
            return Ok(ResourcePattern::Exact(s.into()));
        }
        let mut segments = Vec::new();
        let mut never_matches = false;
        for seg in s.split('/') {
            if seg == "**" {
                // Two `**` in a row mean the same as one; keep one so matching stays linear.
                if segments.last() != Some(&Segment::AnyDepth) {
                    segments.push(Segment::AnyDepth);
                }
                continue;
            }
            if seg.contains("**") {
                return Err(refuse(format!(
                    "malformed glob {:?}: `**` must be a whole segment (`a/**/b`), and `*` \
                     matches within one segment",
                    crate::error::excerpt(s, 80)
                )));
            }
            if seg == "." || seg == ".." || seg.is_empty() {
                // Resources with these segments never match a glob, so neither can this one.
                never_matches = true;
            }
            if seg.contains('*') {
                segments.push(Segment::Wild(seg.split('*').map(Box::from).collect()));
            } else {
                segments.push(Segment::Literal(seg.into()));
            }
        }
        Ok(ResourcePattern::Glob(Glob {
            source: s.into(),
            segments,
            never_matches,
        }))
    }

    /// The text as written in the policy.
    pub fn as_str(&self) -> &str {
        match self {
            ResourcePattern::Exact(s) => s,
            ResourcePattern::Glob(g) => &g.source,
        }
    }

    /// Whether this pattern matches a resource (for code outside the compiled index).
    pub fn matches(&self, resource: &str) -> bool {
        match self {
            ResourcePattern::Exact(s) => **s == *resource,
            ResourcePattern::Glob(g) => {
                glob_segments(resource).is_some_and(|segs| g.matches_segments(&segs))
            }
        }
    }

    /// Whether this pattern has a `..` segment.
    pub fn has_dot_dot(&self) -> bool {
        self.as_str().split('/').any(|s| s == "..")
    }

    /// Whether every resource `other` matches is also matched by `self`. Conservative: `false`
    /// when unsure. Used by `lint` to find shadowed rules.
    pub fn covers(&self, other: &ResourcePattern) -> bool {
        match (self, other) {
            (a, b) if a.as_str() == b.as_str() => true,
            (ResourcePattern::Exact(_), _) => false,
            (ResourcePattern::Glob(g), ResourcePattern::Exact(e)) => {
                glob_segments(e).is_some_and(|segs| g.matches_segments(&segs))
            }
            (ResourcePattern::Glob(a), ResourcePattern::Glob(b)) => {
                b.never_matches || glob_covers(&a.segments, &b.segments)
            }
        }
    }
}

impl Glob {
    /// The first segment when it is a literal (`reports` in `reports/*`): only resources whose
    /// first segment equals it can match, which lets the index skip this glob for others.
    pub fn literal_head(&self) -> Option<&str> {
        match self.segments.first() {
            Some(Segment::Literal(l)) => Some(l),
            _ => None,
        }
    }

    /// Whether this glob matches every resource in normal form (`**`).
    pub fn matches_everything(&self) -> bool {
        self.segments == [Segment::AnyDepth]
    }

    /// Whether this glob can match some resource at all.
    pub fn can_match(&self) -> bool {
        !self.never_matches
    }

    /// Matches the segments of a resource in normal form (see [`glob_segments`]). `**` is a
    /// "match any sequence" unit and every other segment matches exactly one, so the classic
    /// greedy algorithm with one backtrack point (the last `**`) is exact and runs in
    /// O(pattern segments x resource segments).
    pub fn matches_segments(&self, res: &[&str]) -> bool {
        if self.never_matches {
            return false;
        }
        let pat = &self.segments;
        let (mut p, mut r) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while r < res.len() {
            if let Some(seg) = pat.get(p) {
                if *seg == Segment::AnyDepth {
                    star = Some((p, r));
                    p += 1;
                    continue;
                }
                if seg.matches(res[r]) {
                    p += 1;
                    r += 1;
                    continue;
                }
            }
            match star {
                Some((sp, sr)) => {
                    p = sp + 1;
                    r = sr + 1;
                    star = Some((sp, sr + 1));
                }
                None => return false,
            }
        }
        pat[p..].iter().all(|s| *s == Segment::AnyDepth)
    }
}

/// Conservative glob inclusion: does every sequence `b` matches also match `a`?
fn glob_covers(a: &[Segment], b: &[Segment]) -> bool {
    // Exhaustive over positions with memoisation would be exact for these shapes, but a simple
    // recursive walk is enough for lint; it is bounded by the pattern length limit.
    fn seg_covers(a: &Segment, b: &Segment) -> bool {
        match (a, b) {
            (_, Segment::AnyDepth) => false,
            (Segment::AnyDepth, _) => true,
            (Segment::Wild(parts), Segment::Wild(_)) => {
                // `*` alone covers any one segment; otherwise only an identical segment.
                (parts.len() == 2 && parts.iter().all(|p| p.is_empty())) || a == b
            }
            (sa, Segment::Literal(l)) => sa.matches(l),
            (Segment::Literal(_), Segment::Wild(_)) => false,
        }
    }
    fn go(a: &[Segment], b: &[Segment], budget: &mut u32) -> bool {
        if *budget == 0 {
            return false;
        }
        *budget -= 1;
        match (a.split_first(), b.split_first()) {
            (None, None) => true,
            (None, Some(_)) => false,
            (Some((Segment::AnyDepth, ar)), _) => {
                // `**` in `a` absorbs zero or more of `b`'s units (including `b`'s `**`).
                (0..=b.len()).any(|k| go(ar, &b[k..], budget))
            }
            (Some(_), None) => false,
            (Some((sa, ar)), Some((sb, br))) => seg_covers(sa, sb) && go(ar, br, budget),
        }
    }
    let mut budget = 10_000;
    go(a, b, &mut budget)
}

/// The segments of a resource in normal form, or `None` when globs must not match it: a `.` or
/// `..` segment, an empty segment (a leading `/` as in `/reports/x`, `a//b`, `a/`), a control
/// character, or an empty resource.
pub fn glob_segments(resource: &str) -> Option<Vec<&str>> {
    if resource.is_empty() || resource.len() > MAX_RESOURCE_BYTES {
        return None;
    }
    if resource.chars().any(char::is_control) {
        return None;
    }
    let mut out = Vec::with_capacity(8);
    for seg in resource.split('/') {
        if seg == "." || seg == ".." || seg.is_empty() {
            return None;
        }
        out.push(seg);
    }
    Some(out)
}

/// A `spiffe_id` condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpiffePattern {
    /// Exactly this ID.
    Exact(Box<str>),
    /// `spiffe://td/a/b/*`: exactly one more segment below `spiffe://td/a/b/` (stored with the
    /// trailing slash).
    Children(Box<str>),
    /// `spiffe://td/a/b/**`: `spiffe://td/a/b` itself and any depth below it.
    Descendants(Box<str>),
    /// `trust_domain: td`: any ID in that trust domain (stored as `spiffe://td`).
    TrustDomain(Box<str>),
}

/// Whether `td` is a valid trust domain: `spiffe://td` is a valid SPIFFE ID.
fn valid_trust_domain(td: &str) -> bool {
    !td.contains('/') && is_valid_spiffe_id(&format!("spiffe://{td}"))
}

/// Whether `s` is a syntactically valid SPIFFE ID: [`SpiffeId::is_valid`], the rule a
/// certificate's SPIFFE ID is held to. An identity presenting anything else matches no
/// `spiffe_id` condition, so look-alikes (`spiffe://td/ns/ops/../admin`, `SPIFFE://TD/...`,
/// percent-encoding) are inert.
pub fn is_valid_spiffe_id(s: &str) -> bool {
    SpiffeId::is_valid(s)
}

impl SpiffePattern {
    /// Validates a `spiffe_id:` string: an exact ID, or one ending in `/*` or `/**`.
    pub fn parse(s: &str) -> Result<Self, PatternError> {
        check_common(s, "spiffe_id")?;
        let hint = "write spiffe://trust.domain/path, optionally ending in /* (one more segment) \
                    or /** (any depth)";
        let (base, kind) = if let Some(b) = s.strip_suffix("/**") {
            (b, 2)
        } else if let Some(b) = s.strip_suffix("/*") {
            (b, 1)
        } else {
            (s, 0)
        };
        if base.contains('*') {
            return Err(refuse(format!(
                "malformed spiffe_id {:?}: `*` and `**` are only allowed as the last segment; {hint}",
                crate::error::excerpt(s, 80)
            )));
        }
        if !is_valid_spiffe_id(base) {
            return Err(refuse(format!(
                "malformed spiffe_id {:?}: not a valid SPIFFE ID (lowercase trust domain; path \
                 segments of letters, digits, '-', '.', '_', none empty, '.' or '..'); {hint}",
                crate::error::excerpt(s, 80)
            )));
        }
        Ok(match kind {
            0 => SpiffePattern::Exact(base.into()),
            1 => SpiffePattern::Children(format!("{base}/").into()),
            _ => SpiffePattern::Descendants(base.into()),
        })
    }

    /// Validates a `trust_domain:` name.
    pub fn trust_domain(td: &str) -> Result<Self, PatternError> {
        check_common(td, "trust_domain")?;
        if !valid_trust_domain(td) {
            return Err(refuse(format!(
                "malformed trust_domain {:?}: write the bare trust domain name (lowercase \
                 letters, digits, '-', '.', '_'), e.g. prod.example.org, without spiffe://",
                crate::error::excerpt(td, 80)
            )));
        }
        Ok(SpiffePattern::TrustDomain(format!("spiffe://{td}").into()))
    }

    /// Matches an ID already checked with [`is_valid_spiffe_id`].
    pub fn matches_valid(&self, id: &str) -> bool {
        match self {
            SpiffePattern::Exact(e) => **e == *id,
            SpiffePattern::Children(prefix) => id
                .strip_prefix(&**prefix)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/')),
            SpiffePattern::Descendants(base) | SpiffePattern::TrustDomain(base) => id
                .strip_prefix(&**base)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
        }
    }

    /// Whether every ID `other` matches is matched by `self` (for lint). Conservative.
    pub fn covers(&self, other: &SpiffePattern) -> bool {
        let other_base: &str = match other {
            SpiffePattern::Exact(e) => e,
            SpiffePattern::Children(p) => p.strip_suffix('/').unwrap_or(p),
            SpiffePattern::Descendants(b) | SpiffePattern::TrustDomain(b) => b,
        };
        match (self, other) {
            (a, b) if a == b => true,
            (_, SpiffePattern::Exact(e)) => self.matches_valid(e),
            (SpiffePattern::Descendants(b) | SpiffePattern::TrustDomain(b), _) => other_base
                .strip_prefix(&**b)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            _ => false,
        }
    }
}

/// Validates a `dns_name:` and returns it lowercased. Matched exactly and case-insensitively
/// against each of the identity's DNS names; wildcards are refused, because a policy wildcard
/// would be ambiguous against a certificate's own wildcard SANs.
pub fn parse_dns_name(s: &str) -> Result<Box<str>, PatternError> {
    check_common(s, "dns_name")?;
    if s.contains('*') {
        return Err(refuse(format!(
            "malformed dns_name {:?}: wildcards are not supported; dns_name matches one DNS \
             name exactly (list one principal per name)",
            crate::error::excerpt(s, 80)
        )));
    }
    let ok = s.len() <= 253
        && s.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    if !ok {
        return Err(refuse(format!(
            "malformed dns_name {:?}: write a DNS name such as api.example.org",
            crate::error::excerpt(s, 80)
        )));
    }
    Ok(s.to_ascii_lowercase().into())
}

/// Validates a `fingerprint:` (a SHA-256: 64 hex digits, colons allowed, any case, optional
/// `sha256:` prefix) and returns it as lowercase hex without separators.
pub fn parse_fingerprint(s: &str) -> Result<Box<str>, PatternError> {
    check_common(s, "fingerprint")?;
    let body = s
        .strip_prefix("sha256:")
        .or_else(|| s.strip_prefix("SHA256:"))
        .unwrap_or(s);
    let hex: String = body
        .chars()
        .filter(|c| *c != ':')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refuse(format!(
            "malformed fingerprint {:?}: pin the certificate's SHA-256 as 64 hex digits \
             (Certificate#fingerprint; colons are allowed)",
            crate::error::excerpt(s, 80)
        )));
    }
    Ok(hex.into())
}

/// Whether an identity's fingerprint text equals a pinned (lowercase, separator-free) one,
/// ignoring ASCII case and colons in the identity's text.
pub fn fingerprint_matches(pinned: &str, presented: &str) -> bool {
    let mut it = presented
        .bytes()
        .filter(|b| *b != b':')
        .map(|b| b.to_ascii_lowercase());
    for p in pinned.bytes() {
        if it.next() != Some(p) {
            return false;
        }
    }
    it.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(s: &str) -> ResourcePattern {
        ResourcePattern::parse(s).expect("valid glob")
    }

    #[test]
    fn single_star_stays_within_a_segment() {
        let g = glob("reports/*");
        assert!(g.matches("reports/q1"));
        assert!(!g.matches("reports/2024/q1"));
        assert!(!g.matches("reports"));
        assert!(glob("reports/*.pdf").matches("reports/q1.pdf"));
        assert!(!glob("reports/*.pdf").matches("reports/q1.pdf.exe"));
        assert!(glob("a*b*c").matches("abc"));
        assert!(glob("a*b*c").matches("axxbyyc"));
        assert!(!glob("a*b*c").matches("axxcyyb"));
        assert!(!glob("ab*ba").matches("aba"));
    }

    #[test]
    fn double_star_crosses_segments() {
        let g = glob("reports/**");
        assert!(g.matches("reports/q1"));
        assert!(g.matches("reports/2024/q1"));
        assert!(g.matches("reports"));
        assert!(!g.matches("reportsx/q1"));
        let g = glob("a/**/b");
        assert!(g.matches("a/b"));
        assert!(g.matches("a/x/y/b"));
        assert!(!g.matches("a/x/y/c"));
        assert!(glob("**").matches("anything/at/all"));
        assert!(!glob("/srv/*").matches("/srv/x"));
    }

    #[test]
    fn resources_not_in_normal_form_never_match_a_glob() {
        let g = glob("public/**");
        assert!(!g.matches("public/../secrets/key"));
        assert!(!g.matches("public/./x"));
        assert!(!g.matches("public//x"));
        assert!(!g.matches("public/x/"));
        assert!(!g.matches("public/x\n"));
        assert!(!glob("**").matches("/public/x"));
        assert!(!glob("*/x").matches("/x"));
        assert!(!glob("**").matches(""));
        // An exact pattern still matches exactly.
        assert!(ResourcePattern::parse("a/../b")
            .expect("exact")
            .matches("a/../b"));
    }

    #[test]
    fn malformed_globs_are_refused() {
        assert!(ResourcePattern::parse("a**").is_err());
        assert!(ResourcePattern::parse("***").is_err());
        assert!(ResourcePattern::parse("").is_err());
        assert!(ResourcePattern::parse("a\0b").is_err());
        let never = glob("a/../*");
        assert!(matches!(never, ResourcePattern::Glob(ref g) if !g.can_match()));
    }

    #[test]
    fn spiffe_patterns() {
        let one = SpiffePattern::parse("spiffe://td/ns/ops/*").expect("valid");
        let any = SpiffePattern::parse("spiffe://td/ns/ops/**").expect("valid");
        let exact = SpiffePattern::parse("spiffe://td/ns/ops/sa/deployer").expect("valid");
        let m = |p: &SpiffePattern, s: &str| is_valid_spiffe_id(s) && p.matches_valid(s);
        assert!(m(&one, "spiffe://td/ns/ops/sa"));
        assert!(!m(&one, "spiffe://td/ns/ops/sa/deployer"));
        assert!(!m(&one, "spiffe://td/ns/ops"));
        assert!(m(&any, "spiffe://td/ns/ops/sa/deployer"));
        assert!(m(&any, "spiffe://td/ns/ops"));
        assert!(!m(&any, "spiffe://td/ns/opsx/sa"));
        assert!(!m(&one, "spiffe://td/ns/opsx"));
        assert!(!m(&any, "spiffe://other/ns/ops/sa"));
        assert!(!m(&any, "spiffe://td/ns/ops/../admin"));
        assert!(!m(&exact, "spiffe://td/ns/ops/sa/deployer/"));
        assert!(m(&exact, "spiffe://td/ns/ops/sa/deployer"));
        let td = SpiffePattern::trust_domain("td").expect("valid");
        assert!(m(&td, "spiffe://td/x"));
        assert!(!m(&td, "spiffe://tdx/x"));
        assert!(SpiffePattern::parse("spiffe://td/*/x").is_err());
        assert!(SpiffePattern::parse("spiffe://TD/x").is_err());
        assert!(SpiffePattern::parse("https://td/x").is_err());
        assert!(SpiffePattern::trust_domain("spiffe://td").is_err());
    }

    #[test]
    fn fingerprints_ignore_case_and_colons() {
        let hex = "ab".repeat(32);
        let pinned = parse_fingerprint(&"AB:".repeat(31).add_str("AB")).expect("valid");
        assert_eq!(&*pinned, hex);
        assert!(fingerprint_matches(&pinned, &hex.to_uppercase()));
        assert!(!fingerprint_matches(&pinned, &"ab".repeat(31)));
        assert!(parse_fingerprint("abc").is_err());
    }

    trait AddStr {
        fn add_str(self, s: &str) -> String;
    }
    impl AddStr for String {
        fn add_str(mut self, s: &str) -> String {
            self.push_str(s);
            self
        }
    }
}
