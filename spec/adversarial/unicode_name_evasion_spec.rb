# frozen_string_literal: true

# A name value can be spelled so that one reader sees "Contractors" and another sees a different
# string: a trailing no-break space, a soft hyphen inside, fullwidth letters, a zero-width space.
# And a value can borrow a letter that a Unicode case folder reads as ASCII (KELVIN SIGN U+212A
# for "K") while OpenSSL reads it as something else. The ambiguity must never help the holder:
# an allow compares strictly (what OpenSSL's X509_NAME_cmp would also call equal), a deny
# compares after the widest folding (RFC 4518 mapping, full case folding, NFKC).
RSpec.describe "Unicode look-alike spellings of name values" do
  before(:all) do
    @ca = CertFactory.ca
    @policy = HanamiGuard::Policy.define do
      allow :read, resources: %w[reports/*], principals: [{ issuer: { O: "Test" } }], id: "issued-by-test"
      allow :deploy, resources: %w[worker], principals: [{ subject: { CN: "kubelet" } }], id: "kubelet"
      deny :*, resources: %w[reports/*], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
    end
  end

  def certificate(subject)
    HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: @ca, subject:).to_der)
  end

  def plain_identity(subject)
    HanamiGuard::Policy::Identity.new(subject:, issuer: [%w[O Test]])
  end

  evasions = {
    "a trailing no-break space" => "Contractors\u00A0",
    "a soft hyphen inside" => "Contr\u00ADactors",
    "fullwidth letters" => "\uFF23\uFF4F\uFF4E\uFF54\uFF52\uFF41\uFF43\uFF54\uFF4F\uFF52\uFF53",
    "a zero-width space inside" => "Con\u200Btractors",
    "a byte order mark" => "\uFEFFContractors",
    "an ideographic space and upper case" => "\u3000CONTRACTORS",
    "a long s" => "Contractor\u017F",
    "a NUL inside" => "Contr\u0000actors",
    "a NUL and a tail (what a C string reader sees)" => "Contractors\u0000.partner"
  }

  evasions.each do |what, ou|
    it "denies an OU of Contractors spelled with #{what}, as a Certificate and as plain data" do
      cert = certificate([%w[O MyOrg], ["OU", ou], %w[CN alice]])
      expect(cert.subject["OU"]).to eq(ou)
      [cert, plain_identity([["OU", ou], %w[CN alice]])].each do |identity|
        decision = @policy.decide(identity, :read, "reports/q1")
        expect(decision.allowed?).to be(false)
        expect(decision.rule_id).to eq("no-contractors")
      end
    end
  end

  it "does not let KELVIN SIGN stand for K in an allow, as OpenSSL does not" do
    kelvin = "\u212Aubelet"
    expect(OpenSSL::X509::Name.new([["CN", kelvin]]).cmp(OpenSSL::X509::Name.new([%w[CN kubelet]]))).not_to eq(0)
    cert = certificate([["CN", kelvin]])
    expect(cert.subject.match?(CN: "kubelet")).to be(false)
    expect(cert.subject == HanamiGuard::DistinguishedName.parse("CN=kubelet")).to be(false)
    [cert, plain_identity([["CN", kelvin]])].each do |identity|
      decision = @policy.decide(identity, :deploy, "worker")
      expect(decision.allowed?).to be(false)
      expect(decision.rule_id).to be_nil
    end
  end

  it "still allows and denies the plain spellings (ASCII case and spaces are insignificant)" do
    expect(@policy.decide(certificate([%w[CN Kubelet]]), :deploy, "worker").rule_id).to eq("kubelet")
    expect(@policy.decide(certificate([["CN", "  kubelet "]]), :deploy, "worker").rule_id).to eq("kubelet")
    expect(@policy.decide(certificate([%w[OU Staff]]), :read, "reports/q1").rule_id).to eq("issued-by-test")
    expect(@policy.decide(certificate([%w[OU contractors]]), :read, "reports/q1").rule_id).to eq("no-contractors")
    expect(@policy.decide(certificate([%w[OU Contractor]]), :read, "reports/q1").rule_id).to eq("issued-by-test")
  end

  # The strict equality must never call equal what OpenSSL calls different.
  it "never calls two names equal that OpenSSL's X509_NAME_cmp calls different" do
    values = ["kubelet", "Kubelet", "KUBELET", " kubelet ", "kube  let", "kube let", "\u212Aubelet",
              "\u00C4bc", "\u00E4bc", "k\u00ADubelet", "kubelet\u00A0", "kubelet\t", "kubelet\u0000",
              "\uFF4Bubelet", "ku\u0308belet"]
    values.product(values).each do |a, b|
      ours = HanamiGuard::DistinguishedName.parse("CN=#{escape(a)}") ==
             HanamiGuard::DistinguishedName.parse("CN=#{escape(b)}")
      openssl = OpenSSL::X509::Name.new([["CN", a]]).cmp(OpenSSL::X509::Name.new([["CN", b]])).zero?
      expect(openssl).to be(true), "#{a.inspect} == #{b.inspect} here but not in OpenSSL" if ours
    end
  end

  def escape(value)
    value.gsub(/[\\,+"<>;]|\A[ #]| \z|[\u0000-\u001F]/) do |c|
      c.bytes.map { |b| format("\\%02X", b) }.join
    end
  end
end
