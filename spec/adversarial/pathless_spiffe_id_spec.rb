# frozen_string_literal: true

require "spec_helper"

# A certificate whose one URI SAN is spiffe://prod.example.org (no path) names the trust domain,
# not a workload; X509-SVID 5.2 forbids it on a leaf. It was taken for an SVID, and `/**` allow
# rules matched it.
RSpec.describe "pathless SPIFFE ID" do
  let(:ca) { CertFactory.ca }
  let(:pathless) do
    HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: ca, uris: ["spiffe://prod.example.org"]).cert)
  end
  let(:workload) do
    HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: ca, uris: ["spiffe://prod.example.org/ns/ops"]).cert)
  end

  it "is not an SVID" do
    expect(pathless.svid?).to be(false)
    expect(workload.svid?).to be(true)
  end

  it "is refused by a TrustStore, with or without bundles" do
    [HanamiGuard::TrustStore.new(ca.to_pem), HanamiGuard::TrustStore.new(bundles: { "prod.example.org" => ca.to_pem })]
      .each do |store|
        expect { store.verify(pathless) }
          .to raise_error(HanamiGuard::UntrustedCertificate, /no path/) { |e| expect(e.reason).to eq(:invalid) }
        expect(store.verified?(workload)).to be(true)
      end
  end

  it "matches no allow rule on SPIFFE IDs, and still every deny" do
    allow_all = HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker], principals: [{ spiffe_id: "spiffe://prod.example.org/**" }],
                     id: "descendants"
      allow :read, resources: %w[worker], principals: [{ trust_domain: "prod.example.org" }], id: "domain"
      allow :exact, resources: %w[worker], principals: [{ spiffe_id: "spiffe://prod.example.org" }], id: "exact"
    end
    %i[deploy read exact].each do |action|
      expect(allow_all.allowed?(pathless, action, "worker")).to be(false), action.to_s
    end
    expect(allow_all.allowed?(workload, :deploy, "worker")).to be(true)
    expect(allow_all.allowed?(workload, :read, "worker")).to be(true)

    with_deny = HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker], principals: ["*"], id: "anyone"
      deny :deploy, resources: %w[worker], principals: [{ spiffe_id: "spiffe://prod.example.org/**" }], id: "no-prod"
    end
    expect(with_deny.decide(pathless, :deploy, "worker").rule_id).to eq("no-prod")
  end
end
