# frozen_string_literal: true

# OpenSSL::X509::Name#to_a hands out each value's raw bytes with its ASN.1 type: a BMPString OU
# "Contractors" arrives as the UTF-16 bytes "\0C\0o\0n...". Read as text, those bytes escape the
# deny rule that the same certificate meets as a HanamiGuard::Certificate. A duck-typed identity
# (an OpenSSL certificate straight from Puma, or any object whose subject is an
# OpenSSL::X509::Name) must have its names decoded by type, exactly as Certificate decodes them,
# or be refused.
RSpec.describe "ASN.1 string types in duck-typed identities" do
  before(:all) do
    @ca = CertFactory.ca
    @policy = HanamiGuard::Policy.define do
      allow :read, resources: %w[reports/*], principals: [{ subject: { O: "MyOrg" } }], id: "staff-read"
      deny :*, resources: %w[reports/*], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
    end
    bmp = ->(s) { s.encode("UTF-16BE").b }
    @subject = OpenSSL::X509::Name.new([["O", "MyOrg", OpenSSL::ASN1::UTF8STRING],
                                        ["OU", bmp.call("Contractors"), OpenSSL::ASN1::BMPSTRING],
                                        ["CN", "alice", OpenSSL::ASN1::UTF8STRING]])
    @openssl_cert = CertFactory.leaf(issuer: @ca, subject: @subject).cert
  end

  let(:duck) { Struct.new(:subject, :issuer, :spiffe_id, :dns_names, :fingerprint) }
  # A name that only answers to_a (no to_der), as an app's own identity class might.
  let(:listed) do
    Class.new do
      def initialize(entries) = @entries = entries
      def to_a = @entries
    end
  end

  it "is what OpenSSL hands out: the BMPString OU as UTF-16 bytes" do
    expect(@subject.to_a[1]).to eq(["OU", "\0C\0o\0n\0t\0r\0a\0c\0t\0o\0r\0s", OpenSSL::ASN1::BMPSTRING])
    expect(HanamiGuard::Certificate.parse(@openssl_cert.to_der).subject["OU"]).to eq("Contractors")
  end

  it "denies an OpenSSL certificate used as the identity, as the same certificate parsed" do
    parsed = HanamiGuard::Certificate.parse(@openssl_cert.to_der)
    expect(@policy.decide(parsed, :read, "reports/q1").rule_id).to eq("no-contractors")
    decision = @policy.decide(@openssl_cert, :read, "reports/q1")
    expect(decision.allowed?).to be(false)
    expect(decision.rule_id).to eq("no-contractors")
  end

  it "denies an identity whose subject is an OpenSSL::X509::Name, converted once or read per decision" do
    identity = duck.new(@subject, OpenSSL::X509::Name.new([%w[O Test]]), nil, [], nil)
    expect(@policy.decide(identity, :read, "reports/q1").rule_id).to eq("no-contractors")
    converted = HanamiGuard::Policy.identity(identity)
    expect(converted.subject).to include(%w[OU Contractors])
    expect(@policy.decide(converted, :read, "reports/q1").rule_id).to eq("no-contractors")
  end

  it "decodes [type, value, asn1_type] triples by their type when the name has no to_der" do
    triples = listed.new(@subject.to_a)
    identity = duck.new(triples, nil, nil, [], nil)
    expect(@policy.decide(identity, :read, "reports/q1").rule_id).to eq("no-contractors")
  end

  it "decodes the same names given to Policy::Identity.new as an OpenSSL::X509::Name or as triples" do
    [@subject, @subject.to_a].each do |subject|
      built = HanamiGuard::Policy::Identity.new(subject:, issuer: [%w[O Test]])
      expect(built.subject).to eq([%w[O MyOrg], %w[OU Contractors], %w[CN alice]])
      expect(@policy.decide(built, :read, "reports/q1").rule_id).to eq("no-contractors")
    end
    expect { HanamiGuard::Policy::Identity.new(subject: [%w[OU x BMP]]) }.to raise_error(TypeError, /pairs/)
    expect { HanamiGuard::Policy::Identity.new(subject: [["OU", "x", 99]]) }.to raise_error(TypeError, /ASN.1 type/)
  end

  it "refuses a triple whose type is not an ASN.1 type number, and a to_der that is not a Name" do
    bad_type = duck.new(listed.new([%w[OU Contractors BMPSTRING]]), nil, nil, [], nil)
    decision = @policy.decide(bad_type, :read, "reports/q1")
    expect(decision.allowed?).to be(false)
    expect(decision.reason).to include("ASN.1 type")
    bad_der = duck.new(Struct.new(:to_der).new("\x30\x03junk".b), nil, nil, [], nil)
    decision = @policy.decide(bad_der, :read, "reports/q1")
    expect(decision.allowed?).to be(false)
    expect(decision.reason).to include("to_der")
    expect { HanamiGuard::Policy.identity(bad_der) }.to raise_error(TypeError, /to_der/)
  end

  it "still allows the plain certificate read the same ways" do
    staff = ["OU", "Staff".encode("UTF-16BE").b, OpenSSL::ASN1::BMPSTRING]
    plain = CertFactory.leaf(issuer: @ca, subject: [%w[O MyOrg], staff]).cert
    expect(@policy.decide(plain, :read, "reports/q1").rule_id).to eq("staff-read")
    expect(@policy.decide(duck.new(plain.subject, nil, nil, [], nil), :read, "reports/q1").rule_id).to eq("staff-read")
    pairs = listed.new([%w[O MyOrg], %w[OU Staff]])
    expect(@policy.decide(duck.new(pairs, nil, nil, [], nil), :read, "reports/q1").rule_id).to eq("staff-read")
  end
end
