# frozen_string_literal: true

RSpec.describe HanamiGuard::Decision do
  subject(:decision) { described_class.new(allowed: false, rule_id: "no-contractors", reason: "denied by rule") }

  it "says whether the request is allowed, which rule decided, and why" do
    expect(decision.allowed?).to be(false)
    expect(decision.denied?).to be(true)
    expect(decision.rule_id).to eq("no-contractors")
    expect(decision.reason).to eq("denied by rule")
    expect(decision.to_s).to eq("denied by rule")
  end

  it "is frozen, with frozen strings that do not alias the caller's" do
    id = +"r"
    made = described_class.new(allowed: true, rule_id: id, reason: +"why")
    id << "x"
    expect(made).to be_frozen
    expect(made.rule_id).to eq("r").and be_frozen
    expect(made.reason).to be_frozen
  end

  it "coerces allowed to a boolean and allows a nil rule id" do
    made = described_class.new(allowed: nil, rule_id: nil, reason: "no rule")
    expect(made.allowed?).to be(false)
    expect(made.rule_id).to be_nil
  end

  it "compares by value and gives plain data" do
    same = described_class.new(allowed: false, rule_id: "no-contractors", reason: "denied by rule")
    expect(decision).to eq(same)
    expect(decision.hash).to eq(same.hash)
    expect(decision).not_to eq(described_class.new(allowed: true, rule_id: "no-contractors", reason: "denied by rule"))
    expect(decision.to_h).to eq(allowed: false, rule_id: "no-contractors", reason: "denied by rule")
    expect(decision.inspect).to include("denied", "no-contractors")
  end

  it "is what Policy#decide returns" do
    policy = HanamiGuard::Policy.define { allow :read, resources: ["x"], principals: ["*"], id: "all" }
    who = PolicySpecIdentities.identity(subject: { CN: "a" })
    expect(policy.decide(who, :read, "x")).to eq(described_class.new(allowed: true, rule_id: "all",
                                                                     reason: 'allowed by rule "all"'))
  end
end
