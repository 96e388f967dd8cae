//! Envoy's `x-forwarded-client-cert` header, parsed by its documented grammar
//! (<https://www.envoyproxy.io/docs/envoy/latest/configuration/http/http_conn_man/headers#x-forwarded-client-cert>):
//! elements separated by `,`, key=value pairs by `;`, values optionally double-quoted with `\"`
//! escapes; `,`, `;` and `=` only inside quotes.
//!
//! One pass, no backtracking: linear in the header length whatever it holds. Anything ambiguous
//! is an error rather than a guess, because two readers guessing differently is how headers get
//! smuggled: a second `Cert` or `Subject` in one element, an unknown key, an unterminated quote.

use crate::error::{excerpt, Error, Result};
use crate::identity::cert::check;
use crate::identity::Certificate;

/// One element of the header: the certificate information one proxy hop added.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XfccElement {
    /// `By`: the SAN URI of the proxy's own certificate.
    pub by: Option<String>,
    /// `Hash`: hex SHA-256 of the client certificate's DER.
    pub hash: Option<String>,
    /// `Cert`: the client certificate, PEM, URL-decoded.
    pub cert: Option<String>,
    /// `Chain`: the client chain (leaf first), PEM, URL-decoded.
    pub chain: Option<String>,
    /// `Subject`: the client certificate's subject as the proxy printed it.
    pub subject: Option<String>,
    /// `URI`: the client certificate's URI SANs.
    pub uris: Vec<String>,
    /// `DNS`: the client certificate's DNS SANs.
    pub dns: Vec<String>,
    /// Which keys appeared, in order of first appearance (canonical case).
    pub keys: Vec<&'static str>,
}

fn err(header: &[u8], at: usize, what: &str) -> Error {
    let shown = String::from_utf8_lossy(&header[..header.len().min(60)]).into_owned();
    Error::certificate(
        check::XFCC,
        format!(
            "malformed x-forwarded-client-cert header {:?} at byte {at}: {what}",
            excerpt(&shown, 60)
        ),
    )
}

fn is_ows(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// The canonical spelling of a key, matched case-insensitively.
fn canonical_key(key: &[u8]) -> Option<&'static str> {
    ["By", "Hash", "Cert", "Chain", "Subject", "URI", "DNS"]
        .into_iter()
        .find(|k| k.as_bytes().eq_ignore_ascii_case(key))
}

/// Checks an element's `Hash` (hex SHA-256 of the client certificate's DER, any case) against
/// the certificate the same element carries. A mismatch means the header was altered or put
/// together from two sources: the certificate is refused, never believed on its own.
pub fn check_hash(expected: &[u8], cert: &Certificate) -> Result<()> {
    if expected.eq_ignore_ascii_case(cert.fingerprint_hex().as_bytes()) {
        return Ok(());
    }
    Err(Error::certificate(
        check::XFCC_HASH,
        "the XFCC Hash does not match the SHA-256 of the certificate in the same element: the \
         header was altered or assembled from two sources; reject the request",
    ))
}

/// Parses the header into its elements.
pub fn parse(header: &[u8]) -> Result<Vec<XfccElement>> {
    let mut p = 0usize;
    let n = header.len();
    let skip_ows = |p: &mut usize| {
        while *p < n && is_ows(header[*p]) {
            *p += 1;
        }
    };
    skip_ows(&mut p);
    if p == n {
        return Err(err(header, p, "the header is empty"));
    }
    let mut elements = Vec::new();
    let mut element = XfccElement::default();
    loop {
        // key
        skip_ows(&mut p);
        let key_start = p;
        while p < n && header[p].is_ascii_alphanumeric() {
            p += 1;
        }
        let key_bytes = &header[key_start..p];
        skip_ows(&mut p);
        if key_bytes.is_empty() {
            return Err(err(
                header,
                p,
                "empty key: expected By=, Hash=, Cert=, Chain=, Subject=, URI= or DNS=",
            ));
        }
        if p >= n || header[p] != b'=' {
            return Err(err(header, p, "expected \"=\" after the key"));
        }
        p += 1;
        let Some(key) = canonical_key(key_bytes) else {
            return Err(err(
                header,
                key_start,
                "unknown key: expected By, Hash, Cert, Chain, Subject, URI or DNS",
            ));
        };
        // value
        skip_ows(&mut p);
        let mut value: Vec<u8> = Vec::new();
        if p < n && header[p] == b'"' {
            p += 1;
            let mut closed = false;
            while p < n {
                match header[p] {
                    b'"' => {
                        p += 1;
                        closed = true;
                        break;
                    }
                    b'\\' if p + 1 < n && matches!(header[p + 1], b'"' | b'\\') => {
                        value.push(header[p + 1]);
                        p += 2;
                    }
                    b => {
                        value.push(b);
                        p += 1;
                    }
                }
            }
            if !closed {
                return Err(err(header, n, "unterminated quoted value"));
            }
            skip_ows(&mut p);
            if p < n && !matches!(header[p], b',' | b';') {
                return Err(err(header, p, "unexpected text after a quoted value"));
            }
        } else {
            let start = p;
            while p < n && !matches!(header[p], b',' | b';') {
                match header[p] {
                    b'=' | b'"' => {
                        return Err(err(
                            header,
                            p,
                            "\"=\" and '\"' are allowed only inside a quoted value",
                        ))
                    }
                    _ => p += 1,
                }
            }
            let mut end = p;
            while end > start && is_ows(header[end - 1]) {
                end -= 1;
            }
            value.extend_from_slice(&header[start..end]);
        }
        let value = match key {
            "Cert" | "Chain" => url_decode(&value).ok_or_else(|| {
                err(
                    header,
                    p,
                    "the Cert or Chain value is not valid URL-encoded text",
                )
            })?,
            _ => String::from_utf8(value)
                .map_err(|_| err(header, p, "a value is not valid UTF-8"))?,
        };
        let single = |slot: &mut Option<String>, v: String| -> Result<()> {
            if slot.is_some() {
                return Err(err(
                    header,
                    p,
                    &format!(
                        "a second {key} in one element: refused (it could smuggle an identity)"
                    ),
                ));
            }
            *slot = Some(v);
            Ok(())
        };
        match key {
            "By" => single(&mut element.by, value)?,
            "Hash" => single(&mut element.hash, value)?,
            "Cert" => single(&mut element.cert, value)?,
            "Chain" => single(&mut element.chain, value)?,
            "Subject" => single(&mut element.subject, value)?,
            "URI" => element.uris.push(value),
            _ => element.dns.push(value),
        }
        if !element.keys.contains(&key) {
            element.keys.push(key);
        }
        // separator
        if p >= n {
            elements.push(element);
            return Ok(elements);
        }
        if header[p] == b',' {
            elements.push(std::mem::take(&mut element));
        }
        p += 1;
    }
}

/// Percent-decoding (RFC 3986). `+` stays `+`: base64 uses it.
fn url_decode(v: &[u8]) -> Option<String> {
    let mut out = Vec::with_capacity(v.len());
    let mut i = 0;
    while i < v.len() {
        if v[i] == b'%' {
            let hi = (*v.get(i + 1)? as char).to_digit(16)?;
            let lo = (*v.get(i + 2)? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(v[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_the_hash_against_the_certificate() {
        let Ok(made) = rcgen::generate_simple_self_signed(vec!["client.example.org".to_owned()])
        else {
            panic!("rcgen makes a certificate");
        };
        let Ok(cert) = Certificate::parse(made.cert.der()) else {
            panic!("the certificate parses");
        };
        let hex = cert.fingerprint_hex().to_owned();
        assert!(check_hash(hex.as_bytes(), &cert).is_ok());
        assert!(check_hash(hex.to_ascii_uppercase().as_bytes(), &cert).is_ok());
        let mut not_utf8 = hex.clone().into_bytes();
        not_utf8[0] = 0xff;
        for wrong in [
            hex.as_bytes()[..63].to_vec(),
            Vec::new(),
            format!("{hex}0").into_bytes(),
            "0".repeat(64).into_bytes(),
            not_utf8,
        ] {
            assert!(
                matches!(check_hash(&wrong, &cert), Err(Error::Certificate(_))),
                "{wrong:?}"
            );
        }
    }

    #[test]
    fn parses_envoy_examples() {
        let h = br#"By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com"#;
        let els = parse(h).unwrap_or_default();
        assert_eq!(els.len(), 1);
        assert_eq!(
            els[0].subject.as_deref(),
            Some("/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client")
        );
        assert_eq!(els[0].uris, vec!["http://testclient.lyft.com".to_owned()]);
        let two = br#"By=http://frontend.lyft.com;Hash=aa;URI=http://testclient.lyft.com,By=http://backend.lyft.com;Hash=bb;URI=http://frontend.lyft.com"#;
        assert_eq!(parse(two).map(|e| e.len()).ok(), Some(2));
        let dns = br#"By=spiffe://a;Hash=aa;DNS=a.example;dns=b.example;Cert="-----BEGIN%20CERTIFICATE-----%0A""#;
        let e = parse(dns).unwrap_or_default();
        assert_eq!(e[0].dns.len(), 2);
        assert_eq!(e[0].cert.as_deref(), Some("-----BEGIN CERTIFICATE-----\n"));
    }

    #[test]
    fn refuses_smuggling() {
        for bad in [
            &br#"Hash=a;Hash=b"#[..],
            br#"Cert=a;cert=b"#,
            br#"Subject="a"#,
            br#"=x"#,
            br#"By"#,
            br#"By=a=b"#,
            br#"By=a,"#,
            br#"By=a;;Hash=b"#,
            b"",
            b"  ",
            br#"Foo=bar"#,
            br#"Subject="a"x"#,
            br#"Cert=%zz"#,
            br#"By=a"b"#,
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn quoted_values_keep_specials() {
        let e = parse(br#"Subject="CN=a\,b;x=\"y\"";URI=u"#).unwrap_or_default();
        assert_eq!(e[0].subject.as_deref(), Some(r#"CN=a\,b;x="y""#));
    }
}
