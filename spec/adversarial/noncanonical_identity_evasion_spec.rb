# frozen_string_literal: true

# A certificate whose URI SANs are not one canonical SPIFFE ID (two URI SANs, an upper-case or
# percent-encoded trust domain, a trailing slash, a `..` segment) has no `spiffe_id`, so no
# allow rule on SPIFFE IDs matches it. But a deny rule on SPIFFE IDs must still match it: some
# other reader (a URL parser, a normalising SPIFFE library) sees the denied ID, and an allow on
# something else (the issuer) would otherwise let it through. Likewise a DNS SAN with a trailing
# dot, in upper case, or a wildcard is the denied host to a TLS client. A deny needs only one
# reading; an allow keeps requiring the canonical form.
RSpec.describe "non-canonical identities against deny rules" do
  before(:all) do
    @ca = CertFactory.ca
    @policy = HanamiGuard::Policy.define do
      allow :read, resources: %w[reports/*], principals: [{ issuer: { O: "Test" } }], id: "issued-by-test"
      allow :deploy, resources: %w[worker], principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/**" }],
                     id: "ops-deploy"
      allow :deploy, resources: %w[worker], principals: [{ dns_name: "api.example.org" }], id: "api-deploy"
      deny :*, resources: %w[reports/* worker],
               principals: [{ spiffe_id: "spiffe://prod.example.org/ns/contractors/**" }], id: "no-contractors"
      deny :*, resources: %w[reports/* worker], principals: [{ dns_name: "evil.example.org" }], id: "no-evil"
    end
  end

  def certificate(uris: [], dns: [])
    HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: @ca, subject: "/O=MyOrg/CN=w", uris:, dns:).to_der)
  end

  contractor = "spiffe://prod.example.org/ns/contractors/sa/x"
  {
    "two URI SANs, the second the denied one" => ["spiffe://prod.example.org/ns/ops/sa/x", contractor],
    "an upper-case scheme and trust domain" => ["SPIFFE://Prod.Example.ORG/ns/contractors/sa/x"],
    "a percent-encoded trust domain" => ["spiffe://prod%2Eexample%2Eorg/ns/contractors/sa/x"],
    "a percent-encoded path" => ["spiffe://prod.example.org/ns/%63ontractors/sa/x"],
    "an encoded slash" => ["spiffe://prod.example.org/ns%2Fcontractors/sa/x"],
    "a trailing slash" => ["#{contractor}/"],
    "an empty segment" => ["spiffe://prod.example.org/ns//contractors/sa/x"],
    "a dot-dot segment" => ["spiffe://prod.example.org/ns/ops/../contractors/sa/x"],
    "a port and userinfo" => ["spiffe://ops@prod.example.org:8443/ns/contractors/sa/x"],
    "a NUL and a tail" => ["spiffe://prod.example.org/ns/contractors\u0000/../ops/x"]
  }.each do |what, uris|
    it "denies a certificate with #{what}, though it has no spiffe_id" do
      cert = certificate(uris:)
      expect(cert.spiffe_id).to be_nil
      expect(cert.uris).to eq(uris)
      decision = @policy.decide(cert, :read, "reports/q1")
      expect(decision.allowed?).to be(false)
      expect(decision.rule_id).to eq("no-contractors")
    end
  end

  # A trailing dot keeps the ID syntactically valid, but names the same DNS host.
  it "denies a trust domain with a trailing dot, which a DNS reader calls the same domain" do
    cert = certificate(uris: ["spiffe://prod.example.org./ns/contractors/sa/x"])
    expect(@policy.decide(cert, :read, "reports/q1").rule_id).to eq("no-contractors")
  end

  it "denies a whole trust domain spelled in upper case or percent-encoded" do
    policy = HanamiGuard::Policy.define do
      allow :read, resources: %w[reports], principals: ["*"], id: "anyone"
      deny :read, resources: %w[reports], principals: [{ trust_domain: "partner.example.org" }], id: "no-partner"
    end
    ["SPIFFE://PARTNER.EXAMPLE.ORG/ns/x", "spiffe://partner%2Eexample.org/ns/x", "spiffe://Partner.example.org"]
      .each do |uri|
      expect(policy.decide(certificate(uris: [uri]), :read, "reports").rule_id).to eq("no-partner"), uri
    end
    expect(policy.decide(certificate(uris: ["spiffe://partner.example.org.evil/x"]), :read, "reports").rule_id)
      .to eq("anyone")
  end

  it "denies the same spelling given as a plain identity's spiffe_id" do
    id = HanamiGuard::Policy::Identity.new(issuer: [%w[O Test]],
                                           spiffe_id: "SPIFFE://PROD.example.org/ns/contractors/x/")
    expect(@policy.decide(id, :read, "reports/q1").rule_id).to eq("no-contractors")
  end

  it "keeps requiring the canonical SPIFFE ID for an allow" do
    expect(@policy.decide(certificate(uris: ["spiffe://prod.example.org/ns/ops/sa/x"]), :deploy, "worker").rule_id)
      .to eq("ops-deploy")
    ["SPIFFE://prod.example.org/ns/ops/sa/x", "spiffe://prod.example.org/ns/ops/sa/x/",
     "spiffe://prod.example.org/ns/%6Fps/sa/x"].each do |uri|
      expect(@policy.decide(certificate(uris: [uri]), :deploy, "worker").allowed?).to be(false), uri
    end
    two = certificate(uris: ["spiffe://prod.example.org/ns/ops/a", "spiffe://prod.example.org/ns/ops/b"])
    expect(@policy.decide(two, :deploy, "worker").allowed?).to be(false)
  end

  it "does not deny unrelated URIs or other paths" do
    ["spiffe://prod.example.org/ns/contractorsx/sa", "https://prod.example.org/ns/contractors/sa",
     "spiffe://other.example.org/ns/contractors/sa"].each do |uri|
      expect(@policy.decide(certificate(uris: [uri]), :read, "reports/q1").rule_id).to eq("issued-by-test"), uri
    end
  end

  ["evil.example.org.", "EVIL.Example.ORG", "evil.example.org..", "*.example.org", "ev*.example.org",
   "\uFF45vil.example.org", "evil.example.org\u0000.partner.net"].each do |dns|
    it "denies a DNS SAN #{dns.inspect} under deny dns_name: evil.example.org" do
      decision = @policy.decide(certificate(dns: ["api.example.org", dns]), :deploy, "worker")
      expect(decision.allowed?).to be(false)
      expect(decision.rule_id).to eq("no-evil")
    end
  end

  it "keeps DNS allows strict and leaves other hosts alone" do
    expect(@policy.decide(certificate(dns: ["api.example.org"]), :deploy, "worker").rule_id).to eq("api-deploy")
    expect(@policy.decide(certificate(dns: ["api.example.org."]), :deploy, "worker").allowed?).to be(false)
    expect(@policy.decide(certificate(dns: ["api.example.org", "evil.example.org.uk"]), :deploy, "worker").rule_id)
      .to eq("api-deploy")
    expect(@policy.decide(certificate(dns: ["api.example.org", "*.evil.example.org"]), :deploy, "worker").rule_id)
      .to eq("api-deploy")
  end
end
