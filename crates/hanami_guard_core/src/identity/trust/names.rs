//! Name constraints applied to the subject, which webpki reads only in subjectAltName.
//!
//! RFC 5280 4.2.1.10: email constraints apply to the subject's emailAddress attributes, and
//! OpenSSL applies DNS constraints to a host-like CN. A CA constrained to `partner.example`
//! could otherwise issue `emailAddress=admin@myorg.example` or `CN=api.myorg.example`, and a
//! policy that reads the subject would believe it. Both are applied whether or not the
//! certificate has a subjectAltName (OpenSSL skips the CN when there is a DNS SAN): this gem's
//! policies read the subject, so a name there is never left unchecked.

use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::super::cert::Certificate;

const OID_EMAIL_ADDRESS: &str = "1.2.840.113549.1.9.1";
const OID_COMMON_NAME: &str = "2.5.4.3";
/// DER contents of id-ce-nameConstraints (2.5.29.30), to skip parsing certificates without it.
const OID_NAME_CONSTRAINTS: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x1e];

/// The DNS and email name constraints of one CA.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct SubjectConstraints {
    permitted_dns: Vec<String>,
    excluded_dns: Vec<String>,
    permitted_email: Vec<String>,
    excluded_email: Vec<String>,
}

impl SubjectConstraints {
    /// The constraints of the CA certificate `der`: `Ok(None)` when it has none of these forms,
    /// `Err(())` when the extension cannot be read.
    pub fn of(der: &[u8]) -> Result<Option<Self>, ()> {
        if memchr::memmem::find(der, OID_NAME_CONSTRAINTS).is_none() {
            return Ok(None);
        }
        let (_, x) = X509Certificate::from_der(der).map_err(|_| ())?;
        let Some(nc) = x.name_constraints().map_err(|_| ())? else {
            return Ok(None);
        };
        let mut out = SubjectConstraints::default();
        let sort = |subtrees: &Option<Vec<_>>, dns: &mut Vec<String>, email: &mut Vec<String>| {
            for s in subtrees.iter().flatten() {
                let s: &x509_parser::extensions::GeneralSubtree<'_> = s;
                match s.base {
                    GeneralName::DNSName(d) => dns.push(d.to_ascii_lowercase()),
                    GeneralName::RFC822Name(e) => email.push(e.to_owned()),
                    _ => {}
                }
            }
        };
        sort(
            &nc.value.permitted_subtrees,
            &mut out.permitted_dns,
            &mut out.permitted_email,
        );
        sort(
            &nc.value.excluded_subtrees,
            &mut out.excluded_dns,
            &mut out.excluded_email,
        );
        Ok((out != SubjectConstraints::default()).then_some(out))
    }

    /// The first subject name of `cert` these constraints forbid, with its kind.
    pub fn violation<'c>(&self, cert: &'c Certificate) -> Option<(&'static str, &'c str)> {
        for (oid, value) in cert.subject().attributes() {
            if oid == OID_EMAIL_ADDRESS && !self.email_allowed(value) {
                return Some(("emailAddress", value));
            }
            if oid == OID_COMMON_NAME {
                if let Some(host) = host_like(value) {
                    if !self.dns_allowed(&host) {
                        return Some(("CN", value));
                    }
                }
            }
        }
        None
    }

    fn dns_allowed(&self, host: &str) -> bool {
        (self.permitted_dns.is_empty() || self.permitted_dns.iter().any(|c| dns_within(host, c)))
            && !self.excluded_dns.iter().any(|c| dns_within(host, c))
    }

    fn email_allowed(&self, address: &str) -> bool {
        if self.permitted_email.is_empty() && self.excluded_email.is_empty() {
            return true;
        }
        // An emailAddress that is not a mailbox cannot be placed inside or outside a subtree:
        // refused rather than guessed at.
        let Some((local, domain)) = address.rsplit_once('@') else {
            return false;
        };
        (self.permitted_email.is_empty()
            || self
                .permitted_email
                .iter()
                .any(|c| email_within(local, domain, c, true)))
            && !self
                .excluded_email
                .iter()
                .any(|c| email_within(local, domain, c, false))
    }
}

/// A CN that reads as a host name (OpenSSL's test: letters, digits, '-' and '.', at least two
/// labels, none empty), lower-cased, without one trailing dot.
fn host_like(cn: &str) -> Option<String> {
    let host = cn.strip_suffix('.').unwrap_or(cn);
    let labels_ok = host.split('.').all(|l| {
        !l.is_empty()
            && !l.starts_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    });
    (labels_ok && host.contains('.')).then(|| host.to_ascii_lowercase())
}

/// RFC 5280 4.2.1.10: `example.com` holds that host and every host below it; a leading dot
/// (`.example.com`, a common extension) holds only the hosts below it.
fn dns_within(host: &str, constraint: &str) -> bool {
    let c = constraint.strip_suffix('.').unwrap_or(constraint);
    if c.is_empty() {
        return true;
    }
    if c.starts_with('.') {
        return host.len() > c.len() && host.ends_with(c);
    }
    host == c || host.strip_suffix(c).is_some_and(|rest| rest.ends_with('.'))
}

/// RFC 5280 4.2.1.10: `user@host` is one mailbox, `host` every mailbox at that host, `.host`
/// every mailbox at a host below it. Host parts compare without case. The local part compares
/// exactly in a permitted subtree and without case in an excluded one, so case never moves a
/// mailbox out of an exclusion nor into a permission.
fn email_within(local: &str, domain: &str, constraint: &str, permitted: bool) -> bool {
    let domain = domain.to_ascii_lowercase();
    if let Some((c_local, c_domain)) = constraint.rsplit_once('@') {
        let local_eq = if permitted {
            local == c_local
        } else {
            local.eq_ignore_ascii_case(c_local)
        };
        return local_eq && domain == c_domain.to_ascii_lowercase();
    }
    let c = constraint.to_ascii_lowercase();
    if c.starts_with('.') {
        return domain.len() > c.len() && domain.ends_with(&c);
    }
    domain == c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_subtrees() {
        assert!(dns_within("partner.example", "partner.example"));
        assert!(dns_within("a.partner.example", "partner.example"));
        assert!(!dns_within("evilpartner.example", "partner.example"));
        assert!(!dns_within("partner.example", ".partner.example"));
        assert!(dns_within("a.partner.example", ".partner.example"));
    }

    #[test]
    fn email_subtrees() {
        assert!(email_within(
            "bob",
            "partner.example",
            "partner.example",
            true
        ));
        assert!(email_within(
            "bob",
            "PARTNER.example",
            "partner.example",
            true
        ));
        assert!(!email_within(
            "bob",
            "a.partner.example",
            "partner.example",
            true
        ));
        assert!(email_within(
            "bob",
            "a.partner.example",
            ".partner.example",
            true
        ));
        assert!(!email_within(
            "Bob",
            "partner.example",
            "bob@partner.example",
            true
        ));
        assert!(email_within(
            "Bob",
            "partner.example",
            "bob@partner.example",
            false
        ));
    }

    #[test]
    fn host_like_cns() {
        assert_eq!(
            host_like("API.MyOrg.example."),
            Some("api.myorg.example".into())
        );
        assert_eq!(host_like("operator"), None);
        assert_eq!(host_like("John Smith"), None);
        assert_eq!(host_like("a..b"), None);
    }
}
