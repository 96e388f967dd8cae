# frozen_string_literal: true

require "spec_helper"

RSpec.describe HanamiGuard::SpiffeId do
  # The accepted and rejected strings come from go-spiffe's spiffeid tests and the SPIFFE ID
  # spec, as listed in spec/fixtures/external/spiffe (../shared/testdata/README.md).
  it "accepts the IDs the spec accepts" do
    %w[spiffe://trustdomain spiffe://x/.path spiffe://x/..path spiffe://x/...
       spiffe://prod.example.org/ns/ops/sa/deployer spiffe://a-b_c.9/Path_With-UPPER.0].each do |ok|
      expect(described_class.parse(ok).to_s).to eq(ok)
    end
  end

  it "refuses what the spec refuses, with a message saying why" do
    {
      "" => /empty/, "spiffe://" => /trust domain is empty/, "spiffe:///" => /trust domain is empty/,
      "Spiffe://x" => %r{spiffe://}, "SPIFFE://x/y" => %r{spiffe://}, "spiffe://x/" => /trailing slash/,
      "spiffe://x//p" => /empty path segment/, "spiffe://x/./p" => /"\."/, "spiffe://x/p/.." => /"\."/,
      "spiffe://%62%61%64/p" => /percent/, "spiffe://x/p%2F" => /percent/, "spiffe://user@x/p" => /userinfo/,
      "spiffe://x:443/p" => /port/, "spiffe://x/p?q=1" => /query/, "spiffe://x/p#frag" => /fragment/,
      "spiffe://Example.org/p" => /lower-case/, "spiffe://x/p q" => /path segment/, "http://x/p" => /spiffe/,
      "spiffe://x/#{"a" * 2048}" => /2048/
    }.each do |bad, why|
      expect { described_class.parse(bad) }.to raise_error(HanamiGuard::CertificateError, why)
    end
    expect { described_class.parse(nil) }.to raise_error(TypeError)
    expect(described_class.valid?("spiffe://x/")).to be(false)
    expect(described_class.valid?("spiffe://x/y")).to be(true)
  end

  it "gives the trust domain and path" do
    id = described_class.parse("spiffe://prod.example.org/ns/ops/sa/deployer")
    expect(id.trust_domain).to eq("prod.example.org")
    expect(id.path).to eq("/ns/ops/sa/deployer")
    expect(described_class.parse("spiffe://td").path).to eq("")
    expect([id.trust_domain, id.path, id.to_s]).to all(be_frozen)
  end

  it "compares and checks membership exactly" do
    id = described_class.parse("spiffe://prod.example.org/ns/ops")
    expect(id).to eq(described_class.parse("spiffe://prod.example.org/ns/ops"))
    expect(id).not_to eq(described_class.parse("spiffe://prod.example.org/ns/OPS"))
    expect(id).not_to eq("spiffe://prod.example.org/ns/ops")
    expect(id.hash).to eq(described_class.parse(id.to_s).hash)
    expect(id.member_of?("prod.example.org")).to be(true)
    expect(id.member_of?("spiffe://prod.example.org")).to be(true)
    expect(id.member_of?(described_class.parse("spiffe://prod.example.org/other"))).to be(true)
    expect(id.member_of?("example.org")).to be(false)
    expect(id.member_of?("prod.example.org.evil")).to be(false)
    expect(id.member_of?("")).to be(false)
    expect { id.member_of?(nil) }.to raise_error(TypeError)
  end

  it "is frozen" do
    expect(described_class.parse("spiffe://x/y")).to be_frozen
  end
end
