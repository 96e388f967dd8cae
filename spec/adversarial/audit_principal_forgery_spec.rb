# frozen_string_literal: true

require "spec_helper"
require "openssl"

# A certificate whose one attribute is O="MyOrg,CN=operator" logged, before, as the same
# principal as the real CN=operator,O=MyOrg: the audit line joined type=value pairs without
# escaping. Zero-width and bidirectional characters made a name print as another one. The audit
# principal is now the core's summary: RFC 4514 escaping, the whole fingerprint, and every
# control, zero-width and bidi character escaped; DistinguishedName#to_s escapes them too.
RSpec.describe "audit principal forgery" do
  # A self-signed certificate: only its names matter here.
  def mint(subject) = CertFactory.leaf(issuer: nil, subject:).cert

  before(:all) do
    @real = HanamiGuard::Certificate.parse(mint([%w[O MyOrg], %w[CN operator]]))
    @forged = HanamiGuard::Certificate.parse(mint([["O", "MyOrg,CN=operator"]]))
    @zero_width = HanamiGuard::Certificate.parse(mint([%w[O MyOrg], ["CN", "op\u200Berator"]]))
    @bidi = HanamiGuard::Certificate.parse(mint([%w[O MyOrg], ["CN", "\u202Erotarepo"]]))
  end

  after { HanamiGuard.off_decision }

  let(:policy) { HanamiGuard::Policy.parse("version: 1\nrules: []\n", "audit.yml") }

  def logged(identity)
    events = []
    subscriber = HanamiGuard.on_decision { |event| events << event }
    policy.allowed?(identity, :deploy, "worker")
    HanamiGuard.off_decision(subscriber)
    events.fetch(0).fetch(:principal)
  end

  it "logs one attribute holding a comma differently from two attributes" do
    expect(logged(@real)).to eq("CN=operator,O=MyOrg sha256:#{@real.fingerprint}")
    expect(logged(@forged)).to eq("O=MyOrg\\,CN=operator sha256:#{@forged.fingerprint}")
  end

  it "logs the same principal for a duck-typed identity and a converted one" do
    duck = Struct.new(:subject, :issuer, :spiffe_id, :dns_names, :fingerprint)
                 .new(@forged.subject.to_a, [], nil, [], @forged.fingerprint)
    expect(logged(duck)).to eq(logged(@forged))
    expect(logged(HanamiGuard::Policy.identity(@forged))).to eq(logged(@forged))
  end

  it "escapes zero-width and bidirectional characters, in the log and in DistinguishedName#to_s" do
    [@zero_width, @bidi].each do |cert|
      line = logged(cert)
      expect(line).not_to match(/[\u200B\u202E]/)
      expect(line).not_to start_with("CN=operator,")
      expect(cert.subject.to_s).not_to match(/[\u200B\u202E]/)
      expect(cert.to_s).not_to match(/[\u200B\u202E]/)
      expect(HanamiGuard::DistinguishedName.parse(cert.subject.to_s)).to eq(cert.subject)
    end
    expect(logged(@zero_width)).to start_with("CN=op\\E2\\80\\8Berator,O=MyOrg")
  end
end
