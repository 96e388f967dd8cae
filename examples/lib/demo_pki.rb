# frozen_string_literal: true

require "fileutils"
require "openssl"
require "hanami_guard/testing"

# A throwaway PKI for the demo and the integration specs, minted with the test kit's
# HanamiGuard::Testing::CA (P-256 keys: fast to make), which keeps the private keys a real TLS
# client and server need. Nothing here is fit for production: the keys are written unencrypted.
#
#   pki = DemoPki.new("tmp/demo-pki")   # writes every file, returns paths and OpenSSL objects
#   pki.path(:operator)                  # => "tmp/demo-pki/operator.crt"
#
# MyOrg's CA has two tiers (root "MyOrg Internal CA", intermediate "MyOrg Issuing CA 1"). The
# app pins the root alone and Puma hands it only the client's leaf (`puma.peercert`), so the
# clients are issued from the root (`issuer: :root`); `chained` comes from the intermediate, the
# case where verifying needs the intermediate as well. The server certificate comes from the
# intermediate too: its file carries the intermediate after it, as a TLS server sends its chain.
class DemoPki
  MYORG = "CN=MyOrg Internal CA,O=MyOrg"
  MYORG_INTERMEDIATE = "CN=MyOrg Issuing CA 1,O=MyOrg"
  # A second CA Puma's bundle accepts but the app does not pin.
  PARTNER = "CN=Partner CA,O=MyOrg"

  # Client certificates: Testing::CA#issue's options, and which CA issues them.
  CLIENTS = {
    operator: { subject: "CN=operator,O=MyOrg" },
    contractor: { subject: "CN=alice,OU=Contractors,O=MyOrg" },
    # A CN holding ",O=MyOrg": a program that compares subject strings sees "CN=operator,O=MyOrg".
    spoofer: { subject: "CN=operator\\,O=MyOrg,O=Elsewhere" },
    expired: { subject: "CN=operator,O=MyOrg", expired: true },
    rogue: { subject: "CN=operator,O=MyOrg", ca: :partner },
    proxy: { subject: "CN=edge-proxy,OU=Edge,O=MyOrg" },
    # Issued by the intermediate CA: verifying it needs the intermediate as well as the root.
    chained: { subject: "CN=nightly,OU=Batch,O=MyOrg", issuer: :intermediate }
  }.freeze

  attr_reader :dir

  def initialize(dir)
    @dir = File.expand_path(dir)
    FileUtils.mkdir_p(@dir)
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
    myorg = HanamiGuard::Testing::CA.new(subject: MYORG, intermediate: MYORG_INTERMEDIATE)
    partner = HanamiGuard::Testing::CA.new(subject: PARTNER)
    store(myorg, :ca, myorg.certificate)
    store(myorg, :intermediate_ca, myorg.intermediate)
    store(partner, :partner_ca, partner.certificate)
    store(myorg, :server, myorg.issue(subject: "CN=localhost,O=MyOrg", dns: "localhost", ips: "127.0.0.1",
                                      eku: :server_auth),
          chain: true)
    CLIENTS.each do |name, spec|
      ca = spec[:ca] == :partner ? partner : myorg
      store(ca, name, ca.issue(issuer: :root, **spec.except(:ca)))
    end
    # Puma's ca=: MyOrg's root and intermediate (the two-tier recipe) and the partner's root.
    File.write(path(:tls_bundle), myorg.bundle_pem + partner.to_pem)
  end

  def store(issuer_ca, name, certificate, chain: false)
    issuer_ca.write(certificate, @dir, name.to_s, chain:)
    @certs[name] = OpenSSL::X509::Certificate.new(certificate.to_der)
    @keys[name] = issuer_ca.key_for(certificate)
  end
end
