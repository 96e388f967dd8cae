# frozen_string_literal: true

require "spec_helper"

RSpec.describe HanamiGuard::DistinguishedName do
  let(:root) { CertFactory.ca }

  def subject_of(entries)
    HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: root, subject: entries).cert).subject
  end

  let(:dn) { subject_of([%w[C US], %w[O MyOrg], %w[OU Ops], %w[OU Deploy], %w[CN operator]]) }

  describe "#to_a" do
    it "gives [type, value] pairs in certificate order with short names or dotted OIDs" do
      d = subject_of([%w[DC org], %w[DC example], %w[UID u1], %w[serialNumber 42],
                      ["emailAddress", "a@b.org"], ["1.2.3.4.5", "custom"], %w[CN x]])
      expect(d.to_a).to eq([%w[DC org], %w[DC example], %w[UID u1], %w[serialNumber 42],
                            ["emailAddress", "a@b.org"], ["1.2.3.4.5", "custom"], %w[CN x]])
      expect(d.to_a).to be_frozen
      expect(d.to_a.first).to be_frozen
    end
  end

  describe "#[] and #values" do
    it "takes short names, long names and OIDs, case-insensitively, and Symbols" do
      %w[CN cn commonName COMMONNAME 2.5.4.3].each { |name| expect(dn[name]).to eq("operator") }
      expect(dn[:CN]).to eq("operator")
      expect(dn["organizationalUnitName"]).to eq("Ops")
      expect(dn.values("OU")).to eq(%w[Ops Deploy])
      expect(dn.values(:ou)).to eq(%w[Ops Deploy])
      expect(dn["L"]).to be_nil
      expect(dn.values("L")).to eq([])
    end

    it "raises ArgumentError for an unknown type name and TypeError for a non-name" do
      expect { dn["nonsense"] }.to raise_error(ArgumentError, /unknown attribute type/)
      expect { dn[3] }.to raise_error(TypeError)
    end
  end

  describe "#match?" do
    it "is true when every given attribute is present and equal" do
      expect(dn.match?(CN: "operator", O: "MyOrg")).to be(true)
      expect(dn.match?("cn" => "OPERATOR", "organizationName" => "  myorg ")).to be(true)
      expect(dn.match?(CN: "operator", O: "OtherOrg")).to be(false)
      expect(dn.match?(CN: "operator", L: "Paris")).to be(false)
    end

    it "needs the full set of values for a repeated type" do
      expect(dn.match?(OU: "Ops")).to be(false)
      expect(dn.match?(OU: %w[Deploy Ops])).to be(true)
      expect(dn.match?(OU: %w[Ops])).to be(false)
    end

    it "checks its arguments" do
      expect { dn.match?({}) }.to raise_error(ArgumentError)
      expect { dn.match?(CN: 1) }.to raise_error(TypeError)
      expect { dn.match?(Bogus: "x") }.to raise_error(ArgumentError, /unknown attribute type/)
    end
  end

  describe "#to_s" do
    it "prints RFC 4514, last RDN first, like OpenSSL's RFC2253 format for plain names" do
      expect(dn.to_s).to eq("CN=operator,OU=Deploy,OU=Ops,O=MyOrg,C=US")
      expect(dn.to_s).to eq(CertFactory.name([%w[C US], %w[O MyOrg], %w[OU Ops], %w[OU Deploy],
                                              %w[CN operator]]).to_s(OpenSSL::X509::Name::RFC2253))
    end

    it "escapes every special character" do
      {
        "a,O=x" => "CN=a\\,O=x", "#lead" => "CN=\\#lead", " lead" => "CN=\\ lead", "trail " => "CN=trail\\ ",
        "a+b;c<d>e\"f\\g" => "CN=a\\+b\\;c\\<d\\>e\\\"f\\\\g", "nul\0x" => "CN=nul\\00x", "line\nx" => "CN=line\\0Ax",
        "mid#dle = ok" => "CN=mid#dle = ok", "Zoë" => "CN=Zoë"
      }.each do |value, printed|
        expect(subject_of([["CN", value]]).to_s).to eq(printed)
      end
    end

    it "prints multi-valued RDNs with +" do
      d = subject_of([%w[O MyOrg], [:multi, [%w[CN x], %w[UID y]]]])
      expect(d.to_s).to match(/\A(CN=x\+UID=y|UID=y\+CN=x),O=MyOrg\z/)
      expect(d).to eq(described_class.parse("UID=y+CN=x,O=MyOrg"))
      expect(d).not_to eq(described_class.parse("UID=y,CN=x,O=MyOrg"))
    end
  end

  describe ".parse" do
    it "round-trips what to_s prints" do
      ["a,O=x", "#x", " x ", "a+b;c<d>e\"f\\g", "nul\0x", "Zoë 日本", "ctl\u0001"].each do |value|
        d = subject_of([%w[O MyOrg], ["CN", value]])
        parsed = described_class.parse(d.to_s)
        expect(parsed).to eq(d)
        expect(parsed["CN"]).to eq(value)
      end
    end

    it "reads #hex values, OIDs, long names and hex-escaped UTF-8" do
      expect(described_class.parse("CN=#0C03616263")["CN"]).to eq("abc")
      expect(described_class.parse("2.5.4.3=x,organizationName=y").to_a).to eq([%w[O y], %w[CN x]])
      expect(described_class.parse("CN=Zo\\C3\\AB")["CN"]).to eq("Zoë")
      expect(described_class.parse("1.2.3.4=#04026869")["1.2.3.4"]).to eq("#04026869")
      expect(described_class.parse("")).to be_empty
    end

    it "refuses malformed strings" do
      ["CN", "CN=a;O=b", "=x", "CN=a,", ",CN=a", "CN=a\"b", "CN=\\q", "CN=\\4", "Nope=x", "CN=#abc", "CN=#zz",
       "CN=a+", "CN=\\C3\\28", "CN=a\0b"].each do |bad|
        expect { described_class.parse(bad) }.to raise_error(certificate_error(:distinguished_name))
      end
      expect { described_class.parse(nil) }.to raise_error(TypeError)
    end
  end

  describe "#==" do
    it "follows RFC 5280: case folding and insignificant spaces, RDN order significant" do
      expect(dn).to eq(described_class.parse("cn=OPERATOR, ou=deploy, OU=ops, o=myorg, c=us"))
      expect(dn).not_to eq(described_class.parse("CN=operator,OU=Ops,OU=Deploy,O=MyOrg,C=US"))
      expect(dn).not_to eq(described_class.parse("CN=operator,OU=Deploy,OU=Ops,O=MyOrg"))
      expect(dn).not_to eq(dn.to_s)
      a = described_class.parse("CN=  My   Name ,O=x")
      b = described_class.parse("CN=my name,O=X")
      expect(a).to eq(b)
      expect(a.hash).to eq(b.hash)
      expect(a).not_to eq(described_class.parse("CN=myname,O=x"))
    end

    it "folds ASCII case only, as OpenSSL's X509::Name#cmp does" do
      pairs = [["CN=Kubelet", "CN=kubelet"], ["CN=\u212Aubelet", "CN=kubelet"], ["CN=\u00C4bc", "CN=\u00E4bc"]]
      pairs.each do |x, y|
        openssl = OpenSSL::X509::Name.parse_rfc2253(x).cmp(OpenSSL::X509::Name.parse_rfc2253(y)).zero?
        expect(described_class.parse(x) == described_class.parse(y)).to eq(openssl), "#{x} == #{y}"
      end
      expect(described_class.parse("CN=\u212Aubelet").match?(CN: "kubelet")).to be(false)
    end
  end

  it "is frozen and cannot be built with new" do
    expect(dn).to be_frozen
    expect { described_class.new }.to raise_error(NoMethodError, /parse/)
  end
end
