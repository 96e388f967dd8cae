# frozen_string_literal: true

require "openssl"

# Identities for policy specs, written the way an app that wraps a non-certificate identity
# would write one: Policy documents that it accepts any object responding to subject, issuer,
# spiffe_id, dns_names and fingerprint, so these exercise the real API, not a mock.
module PolicySpecIdentities
  # A name whose #to_a gives [[type, value], ...], like DistinguishedName#to_a.
  Name = Struct.new(:pairs) do
    def to_a
      pairs.map { |type, value| [type.to_s, value] }
    end
  end

  # A plain duck-typed identity.
  FakeIdentity = Struct.new(:subject, :issuer, :spiffe_id, :dns_names, :fingerprint, keyword_init: true) do
    def self.build(subject: {}, issuer: {}, spiffe_id: nil, dns_names: [], fingerprint: nil)
      new(subject: Name.new(subject.to_a), issuer: Name.new(issuer.to_a), spiffe_id:,
          dns_names:, fingerprint:)
    end
  end

  # An identity read from a real X.509 certificate with Ruby's OpenSSL: subject and issuer are
  # OpenSSL::X509::Name (whose #to_a gives [type, value, asn1_type] triples), the SPIFFE ID and
  # DNS names come from the subjectAltName extension.
  class OpenSSLIdentity
    def initialize(cert)
      @cert = cert
    end

    def subject = @cert.subject
    def issuer = @cert.issuer
    def fingerprint = OpenSSL::Digest::SHA256.hexdigest(@cert.to_der)
    def dns_names = san("DNS")

    def spiffe_id
      uris = san("URI")
      uris.size == 1 && uris.first.start_with?("spiffe://") ? uris.first : nil
    end

    private

    def san(kind)
      ext = @cert.extensions.find { |e| e.oid == "subjectAltName" }
      return [] unless ext

      ext.value.split(", ").filter_map { |entry| entry.delete_prefix("#{kind}:") if entry.start_with?("#{kind}:") }
    end
  end

  module_function

  def identity(**kwargs)
    FakeIdentity.build(**kwargs)
  end

  # A certificate signed by a throwaway CA. `subject` is an Array of [type, value] pairs, so a
  # value may contain anything (commas, "O=", NUL), as a hostile CSR could.
  def certificate(subject:, issuer_cn: "MyOrg Internal CA", sans: [])
    key = OpenSSL::PKey::EC.generate("prime256v1")
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = rand(1 << 60)
    cert.subject = OpenSSL::X509::Name.new(subject)
    cert.issuer = OpenSSL::X509::Name.new([["CN", issuer_cn], %w[O MyOrg]])
    cert.public_key = key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + 3600
    unless sans.empty?
      factory = OpenSSL::X509::ExtensionFactory.new
      factory.subject_certificate = cert
      cert.add_extension(factory.create_extension("subjectAltName", sans.join(",")))
    end
    cert.sign(key, OpenSSL::Digest.new("SHA256"))
    OpenSSLIdentity.new(cert)
  end
end
