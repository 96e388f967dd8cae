# frozen_string_literal: true

require "openssl"

# Builds certificates for the specs with Ruby's OpenSSL: CA, intermediate and leaf chains,
# expired or not-yet-valid ones, wrong EKUs, wrong keys, odd names and SANs, CRLs.
#
#   root = CertFactory.ca
#   ica  = CertFactory.intermediate(issuer: root)
#   leaf = CertFactory.leaf(issuer: ica, subject: [["CN", "operator"], ["O", "MyOrg"]],
#                           uris: ["spiffe://example.org/ops"])
#   leaf.cert      # OpenSSL::X509::Certificate
#   leaf.to_pem    # PEM text
#   leaf.key       # its private key
#
# A subject is a String ("/O=MyOrg/CN=operator", certificate order), an OpenSSL::X509::Name, or
# an Array of entries in certificate order: ["CN", "value"], ["CN", "value", asn1_type] or
# [:multi, [["CN", "x"], ["UID", "y"]]] for a multi-valued RDN.
module CertFactory
  # A certificate with the key it certifies.
  Issued = Struct.new(:cert, :key) do
    def to_pem = cert.to_pem
    def to_der = cert.to_der
  end

  NOW = Time.now

  module_function

  # Building fixtures is not what GC_STRESS=1 tests (the extension's handling of Ruby objects
  # is), and under GC.stress OpenSSL fixture building takes minutes: pause it meanwhile.
  def without_gc_stress
    stress = GC.stress
    GC.stress = false
    yield
  ensure
    GC.stress = stress
  end

  # An EC P-256 key (fast to generate), or RSA when asked.
  def key(type = :ec, bits: 2048)
    without_gc_stress { type == :rsa ? OpenSSL::PKey::RSA.new(bits) : OpenSSL::PKey::EC.generate("prime256v1") }
  end

  def name(subject)
    case subject
    when OpenSSL::X509::Name then subject
    when String then OpenSSL::X509::Name.parse(subject)
    when Array
      n = OpenSSL::X509::Name.new
      subject.each do |entry|
        if entry[0] == :multi
          entry[1].each_with_index do |(k, v, t), i|
            n.add_entry(k, v, t || OpenSSL::ASN1::UTF8STRING, set: i.zero? ? 0 : -1)
          end
        else
          n.add_entry(entry[0], entry[1], entry[2] || OpenSSL::ASN1::UTF8STRING)
        end
      end
      n
    else raise ArgumentError, "subject: #{subject.inspect}"
    end
  end

  # A self-signed root CA (or one signed by `issuer:`).
  def ca(subject: "/O=Test/CN=Test Root CA", key: self.key, issuer: nil, **opts)
    build(subject:, key:, issuer:, is_ca: true, key_usage: "keyCertSign,cRLSign", eku: nil, **opts)
  end

  def intermediate(issuer:, subject: "/O=Test/CN=Test Intermediate CA", key: self.key, **opts)
    build(subject:, key:, issuer:, is_ca: true, key_usage: "keyCertSign,cRLSign", eku: nil, **opts)
  end

  def leaf(issuer:, subject: "/O=MyOrg/CN=operator", key: self.key, eku: "clientAuth",
           key_usage: "digitalSignature", **opts)
    build(subject:, key:, issuer:, is_ca: false, key_usage:, eku:, **opts)
  end

  # A root, an intermediate and a leaf: { root:, intermediate:, leaf: }.
  def chain(leaf_opts = {})
    root = ca
    ica = intermediate(issuer: root)
    { root:, intermediate: ica, leaf: leaf(issuer: ica, **leaf_opts) }
  end

  # The general builder. `issuer:` nil means self-signed. `sign_key:` signs with another key
  # than the issuer's (a forged signature). SAN entries are encoded by hand so that any bytes
  # (commas, NULs, "DNS:" text) reach the certificate verbatim.
  def build(subject:, key:, issuer:, is_ca:, key_usage:, eku:, not_before: NOW - 3600,
            not_after: NOW + (86_400 * 365), serial: nil, sign_key: nil, digest: "SHA256", **extensions)
    without_gc_stress do
      build_certificate(subject:, key:, issuer:, is_ca:, key_usage:, eku:, not_before:, not_after:,
                        serial:, sign_key:, digest:, **extensions)
    end
  end

  def build_certificate(subject:, key:, issuer:, is_ca:, key_usage:, eku:, not_before:, not_after:,
                        serial:, sign_key:, digest:, **extensions)
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = serial || (OpenSSL::BN.rand(64).abs + 1)
    cert.subject = name(subject)
    cert.issuer = issuer ? issuer.cert.subject : cert.subject
    cert.public_key = key.is_a?(OpenSSL::PKey::EC) ? key : key.public_key
    cert.not_before = not_before
    cert.not_after = not_after
    add_extensions(cert, issuer, is_ca:, key_usage:, eku:, **extensions)
    cert.sign(sign_key || (issuer ? issuer.key : key), OpenSSL::Digest.new(digest))
    Issued.new(cert, key)
  end

  def add_extensions(cert, issuer, is_ca:, key_usage:, eku:, dns: [], uris: [], emails: [], ips: [],
                     extra_extensions: [], basic_constraints: true)
    ef = OpenSSL::X509::ExtensionFactory.new
    ef.subject_certificate = cert
    ef.issuer_certificate = issuer ? issuer.cert : cert
    if basic_constraints
      cert.add_extension(ef.create_extension("basicConstraints", is_ca ? "CA:TRUE" : "CA:FALSE",
                                             true))
    end
    cert.add_extension(ef.create_extension("keyUsage", key_usage, true)) if key_usage
    cert.add_extension(ef.create_extension("extendedKeyUsage", eku, false)) if eku
    cert.add_extension(ef.create_extension("subjectKeyIdentifier", "hash", false))
    cert.add_extension(ef.create_extension("authorityKeyIdentifier", "keyid:always", false)) if issuer
    san = san_der(dns:, uris:, emails:, ips:)
    cert.add_extension(OpenSSL::X509::Extension.new("subjectAltName", san, false)) if san
    extra_extensions.each { |ext| cert.add_extension(ext) }
  end

  def san_der(dns:, uris:, emails:, ips:)
    names = emails.map { |v| OpenSSL::ASN1::ASN1Data.new(v.b, 1, :CONTEXT_SPECIFIC) } +
            dns.map { |v| OpenSSL::ASN1::ASN1Data.new(v.b, 2, :CONTEXT_SPECIFIC) } +
            uris.map { |v| OpenSSL::ASN1::ASN1Data.new(v.b, 6, :CONTEXT_SPECIFIC) } +
            ips.map { |v| OpenSSL::ASN1::ASN1Data.new(IPAddr.new(v).hton, 7, :CONTEXT_SPECIFIC) }
    return nil if names.empty?

    OpenSSL::ASN1::Sequence.new(names).to_der
  end

  # A CRL from `issuer` revoking `revoked` (Issued or OpenSSL certificates).
  def crl(issuer:, revoked: [], last_update: NOW - 60, next_update: NOW + 86_400)
    without_gc_stress { build_crl(issuer:, revoked:, last_update:, next_update:) }
  end

  def build_crl(issuer:, revoked:, last_update:, next_update:)
    crl = OpenSSL::X509::CRL.new
    crl.version = 1
    crl.issuer = issuer.cert.subject
    crl.last_update = last_update
    crl.next_update = next_update
    revoked.each do |r|
      rev = OpenSSL::X509::Revoked.new
      rev.serial = (r.respond_to?(:cert) ? r.cert : r).serial
      rev.time = NOW - 60
      crl.add_revoked(rev)
    end
    ef = OpenSSL::X509::ExtensionFactory.new
    ef.issuer_certificate = issuer.cert
    ef.crl = crl
    crl.add_extension(OpenSSL::X509::Extension.new("crlNumber", OpenSSL::ASN1::Integer(1)))
    crl.add_extension(ef.create_extension("authorityKeyIdentifier", "keyid:always", false))
    crl.sign(issuer.key, OpenSSL::Digest.new("SHA256"))
    crl
  end
end

require "ipaddr"
