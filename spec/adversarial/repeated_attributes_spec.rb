# frozen_string_literal: true

# A certificate whose subject repeats an attribute type (two CNs, two OUs) is ambiguous. The
# ambiguity must never help its holder: an allow condition needs every value of the type to
# match (as DistinguishedName#match? does), while a deny condition fires on any value.
RSpec.describe "repeated attributes in a certificate subject" do
  before(:all) do
    @ca = CertFactory.ca
    build = lambda do |subject|
      HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: @ca, subject:).to_der)
    end
    @two_cns = build.call([%w[O MyOrg], %w[CN operator], %w[CN intruder]])
    @two_ous = build.call([%w[O MyOrg], %w[OU Staff], %w[OU Contractors], %w[CN alice]])
    @plain = build.call([%w[O MyOrg], %w[OU Staff], %w[CN alice]])
    @policy = HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker], principals: [{ subject: { CN: "operator", O: "MyOrg" } }], id: "operators"
      allow :read, resources: %w[reports/*], principals: [{ subject: { O: "MyOrg" } }], id: "staff-read"
      deny :*, resources: %w[reports/*], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
    end
  end

  it "does not let a second CN satisfy an allow rule for the first" do
    expect(@two_cns.subject.values("CN")).to eq(%w[operator intruder])
    expect(@two_cns.subject.match?(CN: "operator")).to be(false)
    decision = @policy.decide(@two_cns, :deploy, "worker")
    expect(decision.allowed?).to be(false)
    expect(decision.rule_id).to be_nil
  end

  it "lets any one OU trigger a deny rule, so a second OU cannot slip out from under it" do
    decision = @policy.decide(@two_ous, :read, "reports/q1")
    expect(decision.allowed?).to be(false)
    expect(decision.rule_id).to eq("no-contractors")
  end

  it "still allows an unambiguous certificate" do
    expect(@policy.decide(@plain, :read, "reports/q1").rule_id).to eq("staff-read")
    expect(@policy.allowed?(@plain, :read, "reports/q1")).to be(true)
  end

  it "decides a Certificate the same as the same identity given as plain data" do
    duck = HanamiGuard::Policy.identity(@two_ous)
    [[:read, "reports/q1"], [:deploy, "worker"]].each do |action, resource|
      expect(@policy.decide(duck, action, resource).rule_id).to eq(@policy.decide(@two_ous, action, resource).rule_id)
    end
  end
end
