# frozen_string_literal: true

require "openssl"
require "fileutils"

# A throwaway PKI for the demo and the integration specs, generated with Ruby's OpenSSL (P-256
# keys: fast to make). Nothing here is fit for production: the keys are written unencrypted.
#
#   pki = DemoPki.new("tmp/demo-pki")   # writes every file, returns paths and OpenSSL objects
#   pki.path(:operator_cert)             # => "tmp/demo-pki/operator.crt"
class DemoPki
  # Client certificates: subject, and what differs from a good one.
  CLIENTS = {
    operator: { subject: [%w[O MyOrg], %w[CN operator]] },
    contractor: { subject: [%w[O MyOrg], %w[OU Contractors], %w[CN alice]] },
    # A CN holding ",O=MyOrg": a program that compares subject strings sees "CN=operator,O=MyOrg".
    spoofer: { subject: [%w[O Elsewhere], ["CN", "operator,O=MyOrg"]] },
    expired: { subject: [%w[O MyOrg], %w[CN operator]], not_after: -3600, not_before: -86_400 * 30 },
    rogue: { subject: [%w[O MyOrg], %w[CN operator]], issuer: :partner_ca },
    proxy: { subject: [%w[O MyOrg], %w[OU Edge], %w[CN edge-proxy]] },
    # Issued by an intermediate CA: verifying it needs the intermediate as well as the root.
    chained: { subject: [%w[O MyOrg], %w[OU Batch], %w[CN nightly]], issuer: :intermediate_ca }
  }.freeze

  attr_reader :dir

  def initialize(dir)
    @dir = File.expand_path(dir)
    FileUtils.mkdir_p(@dir)
    @serial = 0
    @keys = {}
    @certs = {}
    generate
    freeze
  end

  # @return [OpenSSL::X509::Certificate]
  def cert(name) = @certs.fetch(name)

  # @return [OpenSSL::PKey::EC]
  def key(name) = @keys.fetch(name)

  # @return [String] the file holding name's certificate (".crt"), key (".key") or a bundle
  def path(name, kind = :crt) = File.join(@dir, "#{name}.#{kind}")

  private

  def generate
    ca(:ca, "MyOrg Internal CA")
    ca(:partner_ca, "Partner CA") # a second CA Puma's bundle accepts but the app does not pin
    ca(:intermediate_ca, "MyOrg Issuing CA 1", issuer: :ca)
    leaf(:server, [%w[O MyOrg], %w[CN localhost]], issuer: :ca, eku: "serverAuth",
                                                   san: "DNS:localhost,IP:127.0.0.1")
    CLIENTS.each do |name, spec|
      leaf(name, spec[:subject], issuer: spec.fetch(:issuer, :ca), eku: "clientAuth",
                                 not_before: spec.fetch(:not_before, -60), not_after: spec.fetch(:not_after, 86_400))
    end
    File.write(path(:tls_bundle), cert(:ca).to_pem + cert(:partner_ca).to_pem)
  end

  def ca(name, common_name, issuer: nil)
    key = OpenSSL::PKey::EC.generate("prime256v1")
    cert = base_cert([%w[O MyOrg], ["CN", common_name]], key, -60, 86_400 * 2)
    cert.issuer = issuer ? cert(issuer).subject : cert.subject
    ext = OpenSSL::X509::ExtensionFactory.new(issuer ? cert(issuer) : cert, cert)
    cert.add_extension(ext.create_extension("basicConstraints", "CA:TRUE", true))
    cert.add_extension(ext.create_extension("keyUsage", "keyCertSign,cRLSign", true))
    cert.add_extension(ext.create_extension("subjectKeyIdentifier", "hash"))
    cert.add_extension(ext.create_extension("authorityKeyIdentifier", "keyid")) if issuer
    store(name, cert.tap { |c| c.sign(issuer ? key(issuer) : key, OpenSSL::Digest.new("SHA256")) }, key)
  end

  def leaf(name, subject, issuer:, eku:, san: nil, not_before: -60, not_after: 86_400)
    key = OpenSSL::PKey::EC.generate("prime256v1")
    cert = base_cert(subject, key, not_before, not_after)
    cert.issuer = cert(issuer).subject
    ext = OpenSSL::X509::ExtensionFactory.new(cert(issuer), cert)
    cert.add_extension(ext.create_extension("basicConstraints", "CA:FALSE", true))
    cert.add_extension(ext.create_extension("keyUsage", "digitalSignature", true))
    cert.add_extension(ext.create_extension("extendedKeyUsage", eku))
    cert.add_extension(ext.create_extension("subjectKeyIdentifier", "hash"))
    cert.add_extension(ext.create_extension("authorityKeyIdentifier", "keyid"))
    cert.add_extension(ext.create_extension("subjectAltName", san)) if san
    store(name, cert.tap { |c| c.sign(key(issuer), OpenSSL::Digest.new("SHA256")) }, key)
  end

  def base_cert(subject, key, not_before, not_after)
    OpenSSL::X509::Certificate.new.tap do |cert|
      cert.version = 2
      cert.serial = OpenSSL::BN.new(((@serial += 1) << 64) + rand(1 << 62))
      cert.subject = OpenSSL::X509::Name.new(subject)
      cert.public_key = key
      now = Time.now
      cert.not_before = now + not_before
      cert.not_after = now + not_after
    end
  end

  def store(name, cert, key)
    @certs[name] = cert
    @keys[name] = key
    File.write(path(name), cert.to_pem)
    File.write(path(name, :key), key.to_pem, perm: 0o600)
  end
end
