//! X.509 certificates: parsed once into an owned value that keeps the DER and the fields an app
//! reads, so every accessor afterwards is a copy, never a re-parse. Everything is read by hand:
//! the certificate by `frame.rs` (the names' values decoded by `dn`), the subjectAltName and
//! extendedKeyUsage values here. x509-parser is the reference the tests and the `frame_parity`
//! fuzz target hold that reading to, and reads an RSA key's size.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, OnceLock};

use compact_str::CompactString;
use smallvec::SmallVec;

use x509_parser::certificate::X509CertificateParser;

// DER contents of the extension OIDs read here (RFC 5280 section 4.2.1).
const OID_SAN: &[u8] = &[0x55, 0x1d, 0x11]; // 2.5.29.17
const OID_BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13]; // 2.5.29.19
const OID_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f]; // 2.5.29.15
const OID_EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25]; // 2.5.29.37
const KEY_SAN: u64 = oid_key(OID_SAN);
const KEY_BASIC_CONSTRAINTS: u64 = oid_key(OID_BASIC_CONSTRAINTS);
const KEY_KEY_USAGE: u64 = oid_key(OID_KEY_USAGE);
const KEY_EXT_KEY_USAGE: u64 = oid_key(OID_EXT_KEY_USAGE);

/// The key of every OID longer than seven bytes: such OIDs are compared byte by byte.
const LONG_OID: u64 = u64::MAX;

/// An extension's OID as one integer: its length in the top byte and its bytes below, so two
/// short OIDs (every extension read here, and nearly every other, is three bytes) are equal
/// exactly when their keys are; [`LONG_OID`] for a longer one.
const fn oid_key(oid: &[u8]) -> u64 {
    if oid.len() > 7 {
        return LONG_OID;
    }
    let mut key = (oid.len() as u64) << 56;
    let mut i = 0;
    while i < oid.len() {
        key |= (oid[i] as u64) << (8 * i);
        i += 1;
    }
    key
}

use super::dn::DistinguishedName;
use super::frame;
use super::pem::{self, MAX_CERTIFICATE_DER};
use super::spiffe::SpiffeId;
use crate::error::{key, Error, Field, Result};

/// The largest number of certificates [`Certificate::parse_chain`] reads from one bundle.
pub const MAX_CHAIN: usize = 1024;

/// The key usages of RFC 5280 section 4.2.1.3, by bit.
pub const KEY_USAGES: [&str; 9] = [
    "digital_signature",
    "non_repudiation",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
    "encipher_only",
    "decipher_only",
];

const KU_DIGITAL_SIGNATURE: u16 = 1 << 0;
const KU_KEY_AGREEMENT: u16 = 1 << 4;
const KU_KEY_CERT_SIGN: u16 = 1 << 5;
const KU_CRL_SIGN: u16 = 1 << 6;

/// SAN values of one kind: the first two need no list of their own.
type FewNames = SmallVec<[CompactString; 2]>;
/// URIs are shared: a certificate's SPIFFE ID is its one URI, and points at the same text.
type Uris = SmallVec<[Arc<str>; 2]>;

/// SHA-256 of a certificate's DER, raw and as lowercase hex.
#[derive(Debug)]
struct Fingerprint {
    raw: [u8; 32],
    hex: [u8; 64],
}

/// A parsed certificate. Owned, immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Certificate {
    der: Vec<u8>,
    // The subject's RDNs (the contents of its Name SEQUENCE), validated at parse time and
    // decoded on first use: `subject["CN"]` reads one value straight from the DER.
    subject_range: (usize, usize),
    subject: OnceLock<Box<DistinguishedName>>,
    // Decoded on first use: most requests never look at the issuer. The range is validated at
    // parse time, so decoding it later cannot fail.
    issuer_range: (usize, usize),
    // Boxed: a name is a few hundred bytes inline, and a certificate is moved a few times on
    // its way to the heap.
    issuer: OnceLock<Box<DistinguishedName>>,
    // The serial's DER content bytes; printed on first use.
    serial_range: (usize, usize),
    serial_hex: OnceLock<String>,
    not_before: i64,
    not_after: i64,
    // Inline up to 24 bytes each: most names need no allocation of their own; and the first two
    // DNS names and URIs need no list of their own either.
    dns_names: FewNames,
    uris: Uris,
    emails: Vec<CompactString>,
    ip_addresses: Vec<CompactString>,
    spiffe_id: Option<SpiffeId>,
    is_ca: bool,
    key_usage: Option<u16>,
    client_auth: bool,
    has_eku: bool,
    // SHA-256 of the DER, and as 64 lowercase hex digits, inline.
    fingerprint: OnceLock<Fingerprint>,
}

/// A refusal of PEM input whose blocks hold no certificate, the first block's `label` said how.
fn not_certificate(label: &str) -> Error {
    let message = if label.contains("PRIVATE KEY") {
        format!("the input is a {label}, not a certificate: pass the certificate (never send a private key)")
    } else if label.contains("REQUEST") {
        format!("the input is a {label} (a CSR), not a certificate: pass the signed certificate")
    } else {
        format!("the PEM input has a {label} block but no CERTIFICATE block")
    };
    // A label is at most 64 upper-case letters, digits and spaces (pem::blocks checks it).
    Error::certificate(check::NOT_CERTIFICATE, message).with(key::LABEL, Field::Text(label.into()))
}

fn no_certificate(message: &str) -> Error {
    Error::certificate(check::NO_CERTIFICATE, message)
}

fn malformed_extension(name: &'static str) -> Error {
    Error::certificate(
        check::MALFORMED_EXTENSION,
        format!("the certificate's {name} extension is malformed: refused"),
    )
    .with(key::EXTENSION, Field::Name(name))
}

/// A certificate's subject or issuer (`part`) whose RDNs are malformed.
fn malformed_name(e: Error, part: &'static str) -> Error {
    e.prefixed(&format!("the {part} is malformed: "))
        .check(check::MALFORMED)
        .with(key::PART, Field::Name(part))
}

/// The rules a certificate (and the names, SPIFFE IDs and headers read with it) is refused by:
/// the `check` of an [`Error::Certificate`].
pub mod check {
    /// Empty input.
    pub const EMPTY: &str = "empty";
    /// Larger than a certificate ever is (64 KiB of DER), or a bundle of too many.
    pub const TOO_LARGE: &str = "too_large";
    /// PEM whose blocks hold no certificate (a key, a CSR): `label` names the block.
    pub const NOT_CERTIFICATE: &str = "not_certificate";
    /// PEM without a complete block.
    pub const NO_CERTIFICATE: &str = "no_certificate";
    /// PEM framing: an unclosed or mislabelled BEGIN or END line, text around the blocks where
    /// only blocks belong.
    pub const PEM: &str = "pem";
    /// A PEM body that is not base64.
    pub const BASE64: &str = "base64";
    /// DER that is not an X.509 certificate: `part` names where.
    pub const MALFORMED: &str = "malformed";
    /// Bytes after the certificate.
    pub const TRAILING_DATA: &str = "trailing_data";
    /// An extension present twice.
    pub const REPEATED_EXTENSION: &str = "repeated_extension";
    /// An extension read here that is malformed: `extension` names it.
    pub const MALFORMED_EXTENSION: &str = "malformed_extension";
    /// More than one certificate where one belongs (a forwarded client certificate).
    pub const MULTIPLE_CERTIFICATES: &str = "multiple_certificates";
    /// Not a SPIFFE ID.
    pub const SPIFFE_ID: &str = "spiffe_id";
    /// A distinguished name string (RFC 4514) or DER that is malformed.
    pub const DISTINGUISHED_NAME: &str = "distinguished_name";
    /// A malformed `x-forwarded-client-cert` header.
    pub const XFCC: &str = "xfcc";
    /// An XFCC element whose `Hash` is not its certificate's.
    pub const XFCC_HASH: &str = "xfcc_hash";

    /// Every check, in the order above.
    pub const ALL: [&str; 15] = [
        EMPTY,
        TOO_LARGE,
        NOT_CERTIFICATE,
        NO_CERTIFICATE,
        PEM,
        BASE64,
        MALFORMED,
        TRAILING_DATA,
        REPEATED_EXTENSION,
        MALFORMED_EXTENSION,
        MULTIPLE_CERTIFICATES,
        SPIFFE_ID,
        DISTINGUISHED_NAME,
        XFCC,
        XFCC_HASH,
    ];
}

impl Certificate {
    /// Parses a PEM (first `CERTIFICATE` block; other block types skipped) or DER certificate.
    pub fn parse(input: &[u8]) -> Result<Self> {
        match classify(input)? {
            Kind::Der => Self::from_der(input.to_vec()),
            Kind::Pem => {
                let mut other = None;
                for block in pem::blocks(input) {
                    let block = block?;
                    if block.label == "CERTIFICATE" {
                        return Self::from_der(pem::decode_body(block.body, MAX_CERTIFICATE_DER)?);
                    }
                    other.get_or_insert(block.label);
                }
                Err(match other {
                    Some(label) => not_certificate(label),
                    None => no_certificate("the PEM input has no complete CERTIFICATE block"),
                })
            }
        }
    }

    /// Parses every `CERTIFICATE` block of a PEM bundle, in order (a DER input gives one).
    pub fn parse_chain(input: &[u8]) -> Result<Vec<Self>> {
        match classify(input)? {
            Kind::Der => Ok(vec![Self::from_der(input.to_vec())?]),
            Kind::Pem => {
                let mut out = Vec::new();
                let mut other = None;
                for block in pem::blocks(input) {
                    let block = block?;
                    if block.label != "CERTIFICATE" {
                        other.get_or_insert(block.label);
                        continue;
                    }
                    if out.len() == MAX_CHAIN {
                        return Err(Error::certificate(
                            check::TOO_LARGE,
                            format!("the bundle holds more than {MAX_CHAIN} certificates: refused"),
                        ));
                    }
                    out.push(Self::from_block(block.body, out.len() + 1, "the bundle")?);
                }
                if out.is_empty() {
                    return Err(match other {
                        Some(label) => not_certificate(label),
                        None => no_certificate("the PEM input has no complete CERTIFICATE block"),
                    });
                }
                Ok(out)
            }
        }
    }

    /// Parses PEM text that holds only `CERTIFICATE` blocks and whitespace (a certificate
    /// header a proxy forwards): no other block, no text around or between the blocks, at least
    /// one block, at most [`MAX_CHAIN`].
    pub fn parse_pem_only(input: &[u8]) -> Result<Vec<Self>> {
        let blocks = pem::only_blocks(input)?;
        if blocks.is_empty() {
            return Err(no_certificate("the PEM text holds no CERTIFICATE block"));
        }
        if blocks.len() > MAX_CHAIN {
            return Err(Error::certificate(
                check::TOO_LARGE,
                format!("the PEM text holds more than {MAX_CHAIN} certificates: refused"),
            ));
        }
        blocks
            .iter()
            .enumerate()
            .map(|(i, block)| {
                if block.label != "CERTIFICATE" {
                    return Err(Error::certificate(
                        check::NOT_CERTIFICATE,
                        format!(
                            "block {} of the PEM text is a {}, not a CERTIFICATE: refused",
                            i + 1,
                            block.label
                        ),
                    )
                    .with(key::LABEL, Field::Text(block.label.into()))
                    .with(key::INDEX, Field::Int(i as u64 + 1)));
                }
                Self::from_block(block.body, i + 1, "the PEM text")
            })
            .collect()
    }

    /// Parses PEM text that holds exactly one `CERTIFICATE` block and whitespace: the client
    /// certificate a proxy forwards, where a second block would be a second claimant.
    ///
    /// Two BEGIN lines are refused as two certificates before anything else is read (a proxy's
    /// header joined with one the client sent is two certificates, not bad PEM).
    pub fn parse_pem_one(input: &[u8]) -> Result<Self> {
        let n = pem::count_begin_lines(input);
        if n > 1 {
            return Err(Error::certificate(
                check::MULTIPLE_CERTIFICATES,
                format!(
                    "the PEM text holds {n} BEGIN lines where one certificate belongs: refused \
                     (a second block would be a second claimant)"
                ),
            ));
        }
        let mut certificates = Self::parse_pem_only(input)?;
        // One BEGIN line is at most one block, and parse_pem_only refuses none.
        match certificates.pop() {
            Some(cert) if certificates.is_empty() => Ok(cert),
            _ => Err(no_certificate("the PEM text holds no CERTIFICATE block")),
        }
    }

    /// The certificate in the body of a CERTIFICATE block, the `n`th of `source`: its errors
    /// say which.
    fn from_block(body: &[u8], n: usize, source: &str) -> Result<Self> {
        pem::decode_body(body, MAX_CERTIFICATE_DER)
            .and_then(Self::from_der)
            .map_err(|e| {
                e.prefixed(&format!("certificate {n} of {source}: "))
                    .with(key::INDEX, Field::Int(n as u64))
            })
    }

    /// Parses one DER certificate, refusing trailing bytes and anything over 64 KiB.
    pub fn from_der(der: Vec<u8>) -> Result<Self> {
        if der.is_empty() {
            return Err(Error::certificate(check::EMPTY, "the certificate is empty"));
        }
        if der.len() > MAX_CERTIFICATE_DER {
            return Err(Error::certificate(
                check::TOO_LARGE,
                format!(
                    "the certificate is larger than {} KiB: refused",
                    MAX_CERTIFICATE_DER / 1024
                ),
            ));
        }
        let (frame, rest) = frame::parse(&der).map_err(|refused| {
            Error::certificate(
                check::MALFORMED,
                format!(
                    "the DER is not a valid X.509 certificate ({}): check the input is a \
                     certificate, not a key or a CSR, and that it was not truncated",
                    refused.why
                ),
            )
            .with(key::PART, Field::Name(refused.part))
        })?;
        if !rest.is_empty() {
            return Err(Error::certificate(
                check::TRAILING_DATA,
                format!(
                    "{} bytes follow the certificate's DER: refused (trailing data can hide a \
                     second certificate)",
                    rest.len()
                ),
            ));
        }
        DistinguishedName::validate_name_contents(frame.subject)
            .map_err(|e| malformed_name(e, "subject"))?;
        let subject_range = range_in(&der, frame.subject)?;
        DistinguishedName::validate_name_contents(frame.issuer)
            .map_err(|e| malformed_name(e, "issuer"))?;
        let issuer_range = range_in(&der, frame.issuer_der)?;
        let serial_range = range_in(&der, frame.serial)?;
        let (not_before, not_after) = (frame.not_before, frame.not_after);

        let mut dns_names = FewNames::new();
        let mut uris = Uris::new();
        let mut emails = Vec::new();
        let mut ip_addresses = Vec::new();
        let mut is_ca = false;
        let mut key_usage = None;
        let mut client_auth = false;
        let mut has_eku = false;
        // Only the four extensions read here are decoded (deep parsing of every extension
        // costs more than the rest of the parse); webpki checks the others when verifying.
        // The frame read each extension's envelope once, into a list on the stack.
        let extensions = &frame.extensions;
        let keys: SmallVec<[u64; 12]> = extensions.iter().map(|e| oid_key(e.oid)).collect();
        // RFC 5280 4.2: an extension appears at most once. Two SAN extensions would let one
        // reader see different names from another. (Compare pairwise for the usual handful;
        // sort a copy only for a long list.)
        let repeated = if extensions.len() <= 16 {
            (0..extensions.len()).any(|i| {
                (0..i).any(|j| {
                    keys[i] == keys[j]
                        && (keys[i] != LONG_OID || extensions[i].oid == extensions[j].oid)
                })
            })
        } else {
            let mut oids: Vec<&[u8]> = extensions.iter().map(|e| e.oid).collect();
            oids.sort_unstable();
            oids.windows(2).any(|w| w[0] == w[1])
        };
        if repeated {
            return Err(Error::certificate(
                check::REPEATED_EXTENSION,
                "the certificate repeats an extension (RFC 5280 forbids it): refused",
            ));
        }
        for (ext, &key) in extensions.iter().zip(&keys) {
            match key {
                KEY_SAN => {
                    read_san(
                        ext.value,
                        &mut dns_names,
                        &mut uris,
                        &mut emails,
                        &mut ip_addresses,
                    )?;
                }
                KEY_BASIC_CONSTRAINTS => {
                    is_ca = frame::basic_constraints(ext.value)
                        .ok_or_else(|| malformed_extension("basicConstraints"))?;
                }
                KEY_KEY_USAGE => {
                    key_usage = Some(
                        frame::key_usage(ext.value)
                            .ok_or_else(|| malformed_extension("keyUsage"))?,
                    );
                }
                KEY_EXT_KEY_USAGE => {
                    client_auth = eku_has_client_auth(ext.value)
                        .ok_or_else(|| malformed_extension("extendedKeyUsage"))?;
                    has_eku = true;
                }
                _ => {}
            }
        }
        // The frame borrows the DER, which moves into the certificate below.
        drop(frame);
        // X509-SVID section 2: exactly one URI SAN. Two URIs are never reduced to one.
        let spiffe_id = match uris.as_slice() {
            [one] => SpiffeId::from_shared(Arc::clone(one)).ok(),
            _ => None,
        };
        Ok(Certificate {
            der,
            subject_range,
            subject: OnceLock::new(),
            issuer_range,
            issuer: OnceLock::new(),
            serial_range,
            serial_hex: OnceLock::new(),
            not_before,
            not_after,
            dns_names,
            uris,
            emails,
            ip_addresses,
            spiffe_id,
            is_ca,
            key_usage,
            client_auth,
            has_eku,
            fingerprint: OnceLock::new(),
        })
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The PEM encoding.
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.der)
    }

    /// The subject name.
    pub fn subject(&self) -> &DistinguishedName {
        self.subject.get_or_init(|| {
            let name = DistinguishedName::from_name_contents(self.subject_contents());
            // Validated when the certificate was parsed; the default is unreachable.
            Box::new(name.unwrap_or_default())
        })
    }

    /// The first subject value of the type with this OID (what `subject().first(oid)` gives),
    /// read from the DER without decoding the rest of the name when it was not decoded yet.
    pub fn subject_first(&self, oid: &str) -> Option<CompactString> {
        match self.subject.get() {
            Some(name) => name.first(oid).map(CompactString::from),
            None => DistinguishedName::first_in_contents(self.subject_contents(), oid),
        }
    }

    fn subject_contents(&self) -> &[u8] {
        let (start, end) = self.subject_range;
        self.der.get(start..end).unwrap_or_default()
    }

    /// The issuer name.
    pub fn issuer(&self) -> &DistinguishedName {
        self.issuer.get_or_init(|| {
            let (start, end) = self.issuer_range;
            let name = self
                .der
                .get(start..end)
                .and_then(|raw| frame::expect(raw, frame::SEQUENCE))
                .and_then(|(rdns, _)| DistinguishedName::from_name_contents(rdns).ok());
            // Validated when the certificate was parsed; the default is unreachable.
            Box::new(name.unwrap_or_default())
        })
    }

    /// The serial number as lowercase hex, whole bytes without leading zero bytes, as OpenSSL
    /// prints it (`0abc...`; `-` first if negative, which RFC 5280 forbids but some CAs did).
    pub fn serial_hex(&self) -> &str {
        self.serial_hex.get_or_init(|| {
            let (start, end) = self.serial_range;
            // Validated when the certificate was parsed; the default is unreachable.
            serial_hex(self.der.get(start..end).unwrap_or_default())
        })
    }

    /// notBefore, seconds since the Unix epoch.
    pub fn not_before(&self) -> i64 {
        self.not_before
    }

    /// notAfter, seconds since the Unix epoch.
    pub fn not_after(&self) -> i64 {
        self.not_after
    }

    /// Whether `unix_seconds` lies within the validity period (both ends included, RFC 5280
    /// section 4.1.2.5).
    pub fn valid_at(&self, unix_seconds: i64) -> bool {
        self.not_before <= unix_seconds && unix_seconds <= self.not_after
    }

    fn digest(&self) -> &Fingerprint {
        self.fingerprint.get_or_init(|| {
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            let mut raw = [0u8; 32];
            raw.copy_from_slice(ring::digest::digest(&ring::digest::SHA256, &self.der).as_ref());
            let mut hex = [0u8; 64];
            for (pair, &b) in hex.chunks_exact_mut(2).zip(&raw) {
                pair[0] = DIGITS[usize::from(b >> 4)];
                pair[1] = DIGITS[usize::from(b & 0xf)];
            }
            Fingerprint { raw, hex }
        })
    }

    /// SHA-256 of the DER, lowercase hex. Computed on first use.
    pub fn fingerprint_hex(&self) -> &str {
        // Hex digits are ASCII: this never falls back.
        std::str::from_utf8(&self.digest().hex).unwrap_or_default()
    }

    /// SHA-256 of the DER. Computed on first use.
    pub fn sha256(&self) -> &[u8; 32] {
        &self.digest().raw
    }

    /// DNS names of the subjectAltName extension, in order.
    pub fn dns_names(&self) -> &[CompactString] {
        &self.dns_names
    }

    /// URIs of the subjectAltName extension, in order.
    pub fn uris(&self) -> &[Arc<str>] {
        &self.uris
    }

    /// rfc822Name (e-mail) entries of the subjectAltName extension, in order.
    pub fn emails(&self) -> &[CompactString] {
        &self.emails
    }

    /// IP addresses of the subjectAltName extension as text (IPv4 dotted, IPv6 RFC 5952).
    pub fn ip_addresses(&self) -> &[CompactString] {
        &self.ip_addresses
    }

    /// The SPIFFE ID: only when there is exactly one URI SAN and it is a valid SPIFFE ID.
    pub fn spiffe_id(&self) -> Option<&str> {
        self.spiffe_id.as_ref().map(SpiffeId::as_str)
    }

    /// The SPIFFE ID, parsed.
    pub fn spiffe(&self) -> Option<&SpiffeId> {
        self.spiffe_id.as_ref()
    }

    /// Whether basicConstraints says CA.
    pub fn is_ca(&self) -> bool {
        self.is_ca
    }

    /// Whether the extended key usage lists clientAuth (absent EKU: false).
    pub fn client_auth(&self) -> bool {
        self.client_auth
    }

    /// Whether the certificate has an extended key usage extension.
    pub fn has_extended_key_usage(&self) -> bool {
        self.has_eku
    }

    /// The key usage names (see [`KEY_USAGES`]) set in the keyUsage extension; empty without it.
    pub fn key_usage(&self) -> Vec<&'static str> {
        let flags = self.key_usage.unwrap_or(0);
        KEY_USAGES
            .iter()
            .enumerate()
            .filter(|(i, _)| flags & (1 << i) != 0)
            .map(|(_, n)| *n)
            .collect()
    }

    /// The keyUsage bits (bit 0 digitalSignature ... bit 8 decipherOnly, as [`KEY_USAGES`]),
    /// or `None` without the extension.
    pub fn key_usage_bits(&self) -> Option<u16> {
        self.key_usage
    }

    /// Whether the key may authenticate a TLS client, as far as keyUsage says: the extension
    /// is absent, or it allows digitalSignature or keyAgreement (OpenSSL's rule for the
    /// sslclient purpose).
    pub fn key_usage_allows_tls_client(&self) -> bool {
        self.key_usage.map_or(true, |ku| {
            ku & (KU_DIGITAL_SIGNATURE | KU_KEY_AGREEMENT) != 0
        })
    }

    /// The size in bits of an RSA public key (`None` for other key types). rustls-webpki
    /// verifies only RSA keys of 2048 bits or more.
    pub fn rsa_key_bits(&self) -> Option<usize> {
        use x509_parser::nom::Parser as _;
        use x509_parser::public_key::PublicKey;
        let (_, x509) = X509CertificateParser::new()
            .with_deep_parse_extensions(false)
            .parse(&self.der)
            .ok()?;
        match x509.public_key().parsed() {
            Ok(PublicKey::RSA(rsa)) => Some(rsa.key_size()),
            _ => None,
        }
    }

    /// Whether this is a valid X509-SVID leaf (X509-SVID spec section 4): exactly one URI SAN
    /// that is a SPIFFE ID with a path (section 5.2: an ID without one names the trust domain,
    /// never a workload), not a CA, keyUsage with digitalSignature and without keyCertSign and
    /// cRLSign.
    pub fn is_svid(&self) -> bool {
        let Some(ku) = self.key_usage else {
            return false;
        };
        self.spiffe_id
            .as_ref()
            .is_some_and(|id| !id.path().is_empty())
            && !self.is_ca
            && ku & KU_DIGITAL_SIGNATURE != 0
            && ku & (KU_KEY_CERT_SIGN | KU_CRL_SIGN) == 0
    }
}

impl PartialEq for Certificate {
    fn eq(&self, other: &Self) -> bool {
        self.der == other.der
    }
}

impl Eq for Certificate {}

enum Kind {
    Pem,
    Der,
}

fn classify(input: &[u8]) -> Result<Kind> {
    if input.is_empty() || input.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::certificate(
            check::EMPTY,
            "the certificate input is empty",
        ));
    }
    // DER: a SEQUENCE with a long-form length. Checked first so a DER certificate whose names
    // contain "-----BEGIN " is never mistaken for PEM.
    if input[0] == 0x30 && input.len() > 1 && input[1] >= 0x80 {
        return Ok(Kind::Der);
    }
    if pem::looks_like_pem(input) {
        return Ok(Kind::Pem);
    }
    if input[0] == 0x30 {
        return Ok(Kind::Der);
    }
    Err(Error::certificate(
        check::MALFORMED,
        "the input is neither PEM (no \"-----BEGIN CERTIFICATE-----\" line) nor DER",
    )
    .with(key::PART, Field::Name("certificate")))
}

/// Lowercase hex, without going through `fmt` for every byte.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

fn serial_hex(raw: &[u8]) -> String {
    let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
    let mut bytes = raw.to_vec();
    if negative {
        // Two's complement magnitude of a (non-conforming) negative serial.
        for b in &mut bytes {
            *b = !*b;
        }
        for b in bytes.iter_mut().rev() {
            let (v, carry) = b.overflowing_add(1);
            *b = v;
            if !carry {
                break;
            }
        }
    }
    let mut s = String::with_capacity(bytes.len() * 2 + 1);
    if negative {
        s.push('-');
    }
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => s.push_str(&hex(&bytes[first..])),
        None => s.push('0'),
    }
    s
}

/// Reads a subjectAltName value (`GeneralNames ::= SEQUENCE OF GeneralName`, DER throughout),
/// adding its DNS names, URIs, e-mail addresses and IP addresses to the lists, in order.
fn read_san(
    value: &[u8],
    dns_names: &mut FewNames,
    uris: &mut Uris,
    emails: &mut Vec<CompactString>,
    ip_addresses: &mut Vec<CompactString>,
) -> Result<()> {
    let malformed = || malformed_extension("subjectAltName");
    if !frame::is_der(value) {
        return Err(malformed());
    }
    let Some((names, [])) = frame::expect(value, frame::SEQUENCE) else {
        return Err(malformed());
    };
    for name in frame::elements(names) {
        match general_name(name.ok_or_else(malformed)?)? {
            GeneralName::Dns(s) => dns_names.push(CompactString::from(s)),
            GeneralName::Uri(s) => uris.push(Arc::from(s)),
            GeneralName::Email(s) => emails.push(CompactString::from(s)),
            GeneralName::Ip(ip) => ip_addresses.push(ip),
            GeneralName::Other => {}
        }
    }
    Ok(())
}

/// One GeneralName of a subjectAltName (RFC 5280 4.2.1.6), as far as this crate reads it.
enum GeneralName<'a> {
    Dns(&'a str),
    Uri(&'a str),
    Email(&'a str),
    Ip(CompactString),
    /// otherName, x400Address, directoryName, ediPartyName or registeredID: checked for form,
    /// not kept.
    Other,
}

/// Reads one GeneralName element. A name x509-parser reads as `Invalid` (a string that is not
/// UTF-8, an otherName without its type OID, a directoryName that is not one Name, a tag over
/// 8) is refused, as is one it would read from a form RFC 5280 never uses (a constructed string
/// or address, a non-context tag).
fn general_name(name: frame::Tlv<'_>) -> Result<GeneralName<'_>> {
    const CONTEXT: u8 = 0x80;
    const CONSTRUCTED: u8 = 0x20;
    let invalid = || {
        malformed_extension("subjectAltName")
            .prefixed("a subjectAltName entry is malformed (invalid string): ")
    };
    let string = |content| std::str::from_utf8(content).map_err(|_| invalid());
    match name.tag {
        // [1] rfc822Name, [2] dNSName, [6] uniformResourceIdentifier: IA5Strings (read as UTF-8,
        // as x509-parser does), [7] iPAddress: an OCTET STRING.
        t if t == CONTEXT | 1 => Ok(GeneralName::Email(string(name.content)?)),
        t if t == CONTEXT | 2 => Ok(GeneralName::Dns(string(name.content)?)),
        t if t == CONTEXT | 6 => Ok(GeneralName::Uri(string(name.content)?)),
        t if t == CONTEXT | 7 => ip_text(name.content).map(GeneralName::Ip).ok_or_else(|| {
            malformed_extension("subjectAltName")
                .prefixed("a subjectAltName IP address is neither 4 nor 16 bytes: ")
        }),
        // [0] otherName: SEQUENCE { type-id OID, [0] EXPLICIT value } under an implicit tag.
        t if t == CONTEXT | CONSTRUCTED => match frame::expect(name.content, frame::OID) {
            Some((oid, _)) if !oid.is_empty() => Ok(GeneralName::Other),
            _ => Err(invalid()),
        },
        // [4] directoryName: a Name, explicitly tagged.
        t if t == CONTEXT | CONSTRUCTED | 4 => match frame::name(name.content) {
            Some((_, rdns, [])) => {
                DistinguishedName::validate_name_contents(rdns).map_err(|e| {
                    malformed_extension("subjectAltName")
                        .prefixed(&format!("a subjectAltName directoryName: {e}: "))
                })?;
                Ok(GeneralName::Other)
            }
            _ => Err(invalid()),
        },
        // [3] x400Address, [5] ediPartyName (SEQUENCEs under implicit tags), [8] registeredID.
        t if t == CONTEXT | CONSTRUCTED | 3
            || t == CONTEXT | CONSTRUCTED | 5
            || t == CONTEXT | 8 =>
        {
            Ok(GeneralName::Other)
        }
        _ => Err(invalid()),
    }
}

fn ip_text(b: &[u8]) -> Option<CompactString> {
    use compact_str::ToCompactString;
    match b.len() {
        4 => Some(Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_compact_string()),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Some(Ipv6Addr::from(a).to_compact_string())
        }
        _ => None,
    }
}

/// Reads an extendedKeyUsage value (a SEQUENCE OF OBJECT IDENTIFIER, RFC 5280 4.2.1.12) with
/// the frame's strict-DER reader, without collecting the OIDs into a Vec and a HashSet as
/// x509-parser does: only clientAuth matters here. `None` when the value is not a well-formed
/// sequence of OIDs with nothing after it.
fn eku_has_client_auth(value: &[u8]) -> Option<bool> {
    const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02]; // 1.3.6.1.5.5.7.3.2
    let (mut content, &[]) = frame::expect(value, frame::SEQUENCE)? else {
        return None;
    };
    let mut found = false;
    while !content.is_empty() {
        let (oid, next) = frame::expect(content, frame::OID)?;
        found |= oid == CLIENT_AUTH;
        content = next;
    }
    Some(found)
}

/// Where `part`, a subslice of `whole` handed back by the parser, lies in `whole`.
fn range_in(whole: &[u8], part: &[u8]) -> Result<(usize, usize)> {
    let start = (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
    match start.checked_add(part.len()) {
        Some(end) if end <= whole.len() => Ok((start, end)),
        _ => Err(Error::certificate(
            check::MALFORMED,
            "internal error: a parsed field lies outside the DER (a bug)",
        )
        .with(key::PART, Field::Name("certificate"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    use crate::identity::frame::tlv;

    /// GeneralName elements: every tag x509-parser knows and some it does not, primitive and
    /// constructed, with text, non-UTF-8 bytes, OIDs, Names and addresses of every length.
    fn general_name_der() -> impl Strategy<Value = Vec<u8>> {
        let content = prop_oneof![
            Just(b"api.example.org".to_vec()),
            Just(b"spiffe://td/ns/a".to_vec()),
            Just("caf\u{e9}.example".as_bytes().to_vec()),
            Just(vec![0xff, 0xfe]),
            Just(vec![10, 0, 0, 1]),
            Just(vec![0; 16]),
            Just(vec![1, 2, 3]),
            Just(vec![]),
            Just(tlv(0x06, &[0x2b, 0x06, 0x01])),
            Just([tlv(0x06, &[0x2b, 0x06, 0x01]), tlv(0xa0, &tlv(0x0c, b"x"))].concat()),
            Just(tlv(0x06, &[])),
            Just(tlv(
                0x30,
                &tlv(
                    0x31,
                    &tlv(
                        0x30,
                        &[tlv(0x06, &[0x55, 0x04, 0x03]), tlv(0x0c, b"op")].concat()
                    )
                )
            )),
            Just(tlv(0x30, &tlv(0x31, &[]))),
            Just(tlv(0x30, &[])),
            Just(tlv(0x04, b"x")),
            prop::collection::vec(any::<u8>(), 0..24),
        ];
        let tag = prop_oneof![
            (0u8..10).prop_map(|n| 0x80 | n),
            (0u8..10).prop_map(|n| 0xa0 | n),
            prop::sample::select(vec![0x04_u8, 0x16, 0x30, 0x40, 0xc1]),
        ];
        (tag, content).prop_map(|(tag, content)| tlv(tag, &content))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Whatever subjectAltName this reader accepts, x509-parser reads with the same DNS
        /// names, URIs, e-mail addresses and IP addresses, in order, and no entry `Invalid`.
        #[test]
        fn san_reading_agrees_with_x509_parser(
            names in prop::collection::vec(general_name_der(), 0..4),
            damage in prop::option::of((any::<prop::sample::Index>(), any::<u8>())),
        ) {
            use x509_parser::extensions::{GeneralName as Theirs, SubjectAlternativeName};
            use x509_parser::prelude::FromDer;
            let mut value = tlv(0x30, &names.concat());
            if let Some((at, byte)) = damage {
                let i = at.index(value.len());
                value[i] = byte;
            }
            let (mut dns, mut uris) = (FewNames::new(), Uris::new());
            let (mut emails, mut ips) = (Vec::new(), Vec::new());
            if read_san(&value, &mut dns, &mut uris, &mut emails, &mut ips).is_ok() {
                let (rest, theirs) = SubjectAlternativeName::from_der(&value)
                    .unwrap_or_else(|e| panic!("accepted here, refused by x509-parser: {e:?}"));
                prop_assert!(rest.is_empty());
                let (mut t_dns, mut t_uris, mut t_emails, mut t_ips) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for name in &theirs.general_names {
                    match name {
                        Theirs::DNSName(s) => t_dns.push((*s).to_owned()),
                        Theirs::URI(s) => t_uris.push((*s).to_owned()),
                        Theirs::RFC822Name(s) => t_emails.push((*s).to_owned()),
                        Theirs::IPAddress(b) => t_ips.push(ip_text(b).expect("4 or 16 bytes").to_string()),
                        Theirs::Invalid(..) => prop_assert!(false, "x509-parser reads an entry as Invalid"),
                        _ => {}
                    }
                }
                let text = |v: &[CompactString]| v.iter().map(ToString::to_string).collect::<Vec<_>>();
                let uris: Vec<String> = uris.iter().map(|u| u.to_string()).collect();
                prop_assert_eq!(text(&dns), t_dns);
                prop_assert_eq!(uris, t_uris);
                prop_assert_eq!(text(&emails), t_emails);
                prop_assert_eq!(text(&ips), t_ips);
            }
        }
    }

    #[test]
    fn oid_keys_are_equal_exactly_when_the_oids_are() {
        let oids: [&[u8]; 8] = [
            &[],
            &[0x55],
            &[0x55, 0x1d, 0x11],
            &[0x55, 0x1d, 0x11, 0x00],
            &[0x55, 0x1d, 0x13],
            &[1, 2, 3, 4, 5, 6, 7],
            &[1, 2, 3, 4, 5, 6, 7, 8],
            &[1, 2, 3, 4, 5, 6, 7, 9],
        ];
        for a in oids {
            for b in oids {
                let long = oid_key(a) == LONG_OID && oid_key(b) == LONG_OID;
                let same = oid_key(a) == oid_key(b) && (!long || a == b);
                assert_eq!(same, a == b, "{a:02x?} / {b:02x?}");
            }
        }
        assert_eq!(oid_key(&[1, 2, 3, 4, 5, 6, 7, 8]), LONG_OID);
        assert_ne!(oid_key(&[1, 2, 3, 4, 5, 6, 7]), LONG_OID);
    }

    #[test]
    fn serial_hex_strips_leading_zeros() {
        assert_eq!(serial_hex(&[0x00, 0x8a, 0x01]), "8a01");
        assert_eq!(serial_hex(&[0x0a]), "0a");
        assert_eq!(serial_hex(&[0x00]), "0");
        assert_eq!(serial_hex(&[0xff]), "-01");
        assert_eq!(serial_hex(&[0xf6]), "-0a");
    }

    #[test]
    fn reads_client_auth_from_extended_key_usage() {
        let server = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
        let client = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
        let seq = |items: &[&[u8]]| {
            let body: Vec<u8> = items.concat();
            [vec![0x30, body.len() as u8], body].concat()
        };
        assert_eq!(eku_has_client_auth(&seq(&[&server, &client])), Some(true));
        assert_eq!(eku_has_client_auth(&seq(&[&server])), Some(false));
        assert_eq!(eku_has_client_auth(&seq(&[])), Some(false));
        // Not an OID inside, trailing bytes, truncated, not a sequence: malformed.
        assert_eq!(eku_has_client_auth(&seq(&[&[0x02, 0x01, 0x01]])), None);
        assert_eq!(
            eku_has_client_auth(&[seq(&[&client]), vec![0]].concat()),
            None
        );
        assert_eq!(eku_has_client_auth(&seq(&[&client])[..6]), None);
        assert_eq!(eku_has_client_auth(&client), None);
        // A length not in its shortest form (BER) is malformed too.
        let long_form = [&[0x30, 0x81, client.len() as u8][..], &client].concat();
        assert_eq!(eku_has_client_auth(&long_form), None);
    }

    #[test]
    fn parse_pem_only_takes_certificate_blocks_and_whitespace_only() {
        let make = |name: &str| match rcgen::generate_simple_self_signed(vec![name.to_owned()]) {
            Ok(made) => made.cert.pem(),
            Err(e) => panic!("rcgen: {e}"),
        };
        let (a, b) = (make("a.example.org"), make("b.example.org"));
        let count = |text: &str| Certificate::parse_pem_only(text.as_bytes()).map(|c| c.len());
        assert_eq!(count(&a).ok(), Some(1));
        assert_eq!(count(&format!("{a}{b}")).ok(), Some(2));
        assert_eq!(
            count(&format!(" \n{}\t ", a.replace('\n', " "))).ok(),
            Some(1)
        );
        for refused in [
            String::new(),
            "   ".to_owned(),
            format!("x{a}"),
            format!("{a}trailing"),
            format!("{a} , {b}"),
            a.replace("CERTIFICATE", "PRIVATE KEY"),
            format!("{a}{}", b.replace("CERTIFICATE", "X509 CRL")),
            "-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----".to_owned(),
            a.replace("-----END CERTIFICATE-----", ""),
        ] {
            assert!(
                matches!(
                    Certificate::parse_pem_only(refused.as_bytes()),
                    Err(Error::Certificate(_))
                ),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn parse_pem_one_refuses_two_begin_lines_before_anything_else() {
        let make = |name: &str| match rcgen::generate_simple_self_signed(vec![name.to_owned()]) {
            Ok(made) => made.cert.pem(),
            Err(e) => panic!("rcgen: {e}"),
        };
        let (a, b) = (make("a.example.org"), make("b.example.org"));
        let check_of = |text: &str| {
            Certificate::parse_pem_one(text.as_bytes())
                .err()
                .and_then(|e| e.detail(key::CHECK).cloned())
        };
        let one = Certificate::parse_pem_one(a.as_bytes()).expect("one block");
        assert_eq!(
            one.der(),
            Certificate::parse(a.as_bytes()).expect("a").der()
        );
        let multiple = Some(Field::Name(check::MULTIPLE_CERTIFICATES));
        // Two blocks, joined as Puma joins header lines, one of them broken, or not certificates.
        for two in [
            format!("{a}{b}"),
            format!("{a}, {b}"),
            format!("{}, {b}", a.replace('\n', " ")),
            format!("{a}-----BEGIN CERTIFICATE-----"),
            format!("{a}{}", b.replace("CERTIFICATE", "PRIVATE KEY")),
        ] {
            assert_eq!(check_of(&two), multiple, "{two:?}");
        }
        assert_eq!(check_of(""), Some(Field::Name(check::NO_CERTIFICATE)));
        assert_eq!(check_of("   "), Some(Field::Name(check::NO_CERTIFICATE)));
        assert_eq!(check_of(&format!("x{a}")), Some(Field::Name(check::PEM)));
    }

    #[test]
    fn refuses_non_certificates() {
        for bad in [
            &b""[..],
            b"   ",
            b"hello",
            b"\x30\x03\x02\x01\x01",
            b"\x30\x82\x00",
        ] {
            assert!(Certificate::parse(bad).is_err());
        }
        let key = b"-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n";
        let err = Certificate::parse(key).expect_err("a key is not a certificate");
        assert_eq!(
            err.details(),
            &[
                (key::CHECK, Field::Name(check::NOT_CERTIFICATE)),
                (key::LABEL, Field::Text("PRIVATE KEY".into()))
            ]
        );
    }
}
