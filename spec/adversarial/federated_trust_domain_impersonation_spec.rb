# frozen_string_literal: true

require "spec_helper"
require "base64"
require "json"

# SPIFFE federation pins a partner's CA next to our own. In one flat pool of CAs the partner's CA
# could issue spiffe://prod.example.org/... and be believed. A SPIFFE ID verifies only against its
# own trust domain's bundle, as go-spiffe's x509svid.Verify does.
RSpec.describe "federated trust domain impersonation" do
  let(:prod_ca) { CertFactory.ca(subject: "/O=Prod/CN=Prod SPIRE CA", uris: ["spiffe://prod.example.org"]) }
  let(:partner_ca) { CertFactory.ca(subject: "/O=Partner/CN=Partner CA") }
  let(:corp_ca) { CertFactory.ca(subject: "/O=MyOrg/CN=Corp CA") }

  # The SPIFFE bundle format: a JWK Set whose x509-svid keys carry the CA in x5c.
  def jwks(*cas, extra: [])
    keys = cas.map do |ca|
      { "use" => "x509-svid", "kty" => "EC", "crv" => "P-256", "x5c" => [Base64.strict_encode64(ca.to_der)] }
    end
    JSON.generate("keys" => keys + extra, "spiffe_sequence" => 1)
  end

  def svid(issuer, id, **opts)
    CertFactory.leaf(issuer:, subject: "/O=SPIRE", uris: [id], **opts).cert
  end

  def reason(store, cert)
    store.verify(cert)
    nil
  rescue HanamiGuard::UntrustedCertificate => e
    e.reason
  end

  let(:store) do
    bundles = { "prod.example.org" => jwks(prod_ca), "partner.example.org" => partner_ca.to_pem }
    HanamiGuard::TrustStore.new(corp_ca.to_pem, bundles:)
  end

  it "refuses a partner-issued ID in our trust domain, and takes each domain's own" do
    expect(reason(store, svid(partner_ca, "spiffe://prod.example.org/ns/ops/sa/deployer"))).to eq(:unknown_issuer)
    expect(reason(store, svid(prod_ca, "spiffe://prod.example.org/ns/ops/sa/deployer"))).to be_nil
    expect(reason(store, svid(partner_ca, "spiffe://partner.example.org/billing"))).to be_nil
    expect(reason(store, svid(prod_ca, "spiffe://partner.example.org/billing"))).to eq(:unknown_issuer)
    expect(store.trust_domains).to eq(%w[partner.example.org prod.example.org])
    expect(store.inspect).to include("trust_domains=partner.example.org,prod.example.org")
  end

  it "never lets the pinned CAs vouch for a SPIFFE ID, nor a bundle for a certificate without one" do
    expect(reason(store, svid(corp_ca, "spiffe://prod.example.org/ns/ops/sa/deployer"))).to eq(:unknown_issuer)
    expect(reason(store, svid(corp_ca, "spiffe://elsewhere.example.org/x"))).to eq(:unknown_issuer)
    expect(reason(store, CertFactory.leaf(issuer: corp_ca).cert)).to be_nil
    expect(reason(store, CertFactory.leaf(issuer: prod_ca).cert)).to eq(:unknown_issuer)
  end

  it "refuses a certificate that reads as SPIFFE without being an X509-SVID, whoever issued it" do
    ["SPIFFE://prod.example.org/ns/ops", "spiffe://PROD.example.org/ns/ops", "spiffe://prod.example.org/ns/ops/"]
      .each do |id|
        expect(reason(store, svid(corp_ca, id))).to eq(:invalid), id
        expect(reason(store, svid(prod_ca, id))).to eq(:invalid), id
      end
    two = CertFactory.leaf(issuer: prod_ca, uris: ["spiffe://prod.example.org/a", "spiffe://prod.example.org/b"])
    expect(reason(store, two.cert)).to eq(:invalid)
  end

  it "keeps a SPIRE CA pinned in one flat bundle to its own trust domain" do
    flat = HanamiGuard::TrustStore.new(prod_ca.to_pem + partner_ca.to_pem)
    partner_spire = CertFactory.ca(subject: "/O=Partner/CN=Partner SPIRE CA", uris: ["spiffe://partner.example.org"])
    both = HanamiGuard::TrustStore.new(prod_ca.to_pem + partner_spire.to_pem)
    expect(reason(both, svid(partner_spire, "spiffe://prod.example.org/ns/ops"))).to eq(:unknown_issuer)
    expect(reason(both, svid(partner_spire, "spiffe://partner.example.org/ns/ops"))).to be_nil
    expect(reason(flat, svid(prod_ca, "spiffe://prod.example.org/ns/ops"))).to be_nil
    # An intermediate naming another trust domain limits what it issues the same way.
    ica = CertFactory.intermediate(issuer: prod_ca, uris: ["spiffe://partner.example.org"])
    expect(flat.verified?(svid(ica, "spiffe://prod.example.org/ns/ops"), intermediates: [ica.cert])).to be(false)
  end

  it "verifies go-spiffe's X509-SVID against its own domain's bundle, and no other" do
    fixtures = File.expand_path("../fixtures/external/spiffe", __dir__)
    leaf, ica = HanamiGuard::Certificate.parse_chain(File.read(File.join(fixtures, "good-leaf-and-intermediate.pem")))
    at = Time.utc(2020, 3, 24, 14, 30) # the leaf lived one hour
    own = HanamiGuard::TrustStore.new(bundles: { "example.org" => jwks(ica) })
    expect(own.verified?(leaf, at:)).to be(true)
    expect { HanamiGuard::TrustStore.new(bundles: { "example.com" => jwks(ica) }) }
      .to raise_error(HanamiGuard::ConfigurationError, /trust domain example.org/)
    other = HanamiGuard::TrustStore.new(bundles: { "example.com" => jwks(partner_ca) })
    expect { other.verify(leaf, at:) }
      .to raise_error(HanamiGuard::UntrustedCertificate, /example.org/) { |e| expect(e.reason).to eq(:unknown_issuer) }
  end

  it "reads the SPIFFE bundle format: x509-svid keys only, one certificate each" do
    jwt_key = { "use" => "jwt-svid", "kty" => "EC", "kid" => "k1", "crv" => "P-256", "x" => "AA", "y" => "AA" }
    s = HanamiGuard::TrustStore.new(bundles: { "spiffe://prod.example.org" => jwks(prod_ca, extra: [jwt_key]) })
    expect(s.size).to eq(1)
    expect(s.trust_domains).to eq(["prod.example.org"])
    expect(s.verified?(svid(prod_ca, "spiffe://prod.example.org/x"))).to be(true)
    expect(reason(s, CertFactory.leaf(issuer: prod_ca).cert)).to eq(:unknown_issuer)
  end

  it "refuses malformed bundles and trust domains at boot, saying which" do
    der = Base64.strict_encode64(prod_ca.to_der)
    leaf = CertFactory.leaf(issuer: prod_ca)
    {
      "not json or pem" => /neither a SPIFFE bundle/,
      "{\"keys\": 1}" => /not a JWK Set/,
      JSON.generate("keys" => [{ "use" => "x509-svid" }]) => /exactly one certificate/,
      JSON.generate("keys" => [{ "use" => "x509-svid", "x5c" => [der, der] }]) => /exactly one certificate/,
      JSON.generate("keys" => [{ "use" => "x509-svid", "x5c" => ["!!"] }]) => /not base64/,
      JSON.generate("keys" => [{ "use" => "jwt-svid", "x5c" => [der] }]) => /no x509-svid key/,
      JSON.generate("keys" => [{ "use" => "x509-svid", "x5c" => [Base64.strict_encode64(leaf.to_der)] }]) => /not a CA/
    }.each do |bundle, message|
      expect { HanamiGuard::TrustStore.new(bundles: { "prod.example.org" => bundle }) }
        .to raise_error(HanamiGuard::ConfigurationError, message)
    end
    ["PROD.example.org", "spiffe://prod.example.org/path", "", "prod example"].each do |td|
      expect { HanamiGuard::TrustStore.new(bundles: { td => prod_ca.to_pem }) }
        .to raise_error(HanamiGuard::ConfigurationError, /not a trust domain/)
    end
    twice = { "prod.example.org" => prod_ca.to_pem, "spiffe://prod.example.org" => prod_ca.to_pem }
    expect { HanamiGuard::TrustStore.new(bundles: twice) }
      .to raise_error(HanamiGuard::ConfigurationError, /two bundles/)
    expect { HanamiGuard::TrustStore.new(bundles: { "partner.example.org" => prod_ca.to_pem }) }
      .to raise_error(HanamiGuard::ConfigurationError, /trust domain prod.example.org/)
    expect { HanamiGuard::TrustStore.new(bundles: { "prod.example.org" => 1 }) }.to raise_error(TypeError)
    expect { HanamiGuard::TrustStore.new(bundles: []) }.to raise_error(TypeError)
    expect { HanamiGuard::TrustStore.new }.to raise_error(TypeError)
  end
end
