# frozen_string_literal: true

require "spec_helper"

RSpec.describe "HanamiGuard::Decision#explain" do
  let(:policy) { HanamiGuard::Policy.parse(PolicyFixtures::OPERATORS_DEPLOY_FROM_INTERNAL_CA, "explain.yml") }
  let(:near_miss) do
    HanamiGuard::Policy::Identity.new(subject: { CN: "operator", O: "MyOrg" },
                                      issuer: [%w[O MyOrg], ["CN", "MyOrg Root CA"]])
  end
  let(:events) { [] }

  after { HanamiGuard.unsubscribe }

  it "names the closest rule and the condition that failed for a near-miss denial" do
    decision = policy.decide(near_miss, :deploy, "worker")
    expect(decision).to be_denied
    expect(decision.reason).to include("default deny")
    expect(decision.explain).to eq(
      "operators-deploy: issuer is CN=MyOrg Root CA,O=MyOrg, the rule wants CN=MyOrg Internal CA"
    )
    expect(policy.explain(near_miss, :deploy, "worker")).to eq(decision.explain)
  end

  it "says so when no allow rule names the action and resource" do
    expect(policy.decide(near_miss, :restart, "worker").explain)
      .to eq('no allow rule in force names action "restart" and resource "worker" (default deny)')
  end

  it "is in policy.decision events only when a subscriber asks for it" do
    HanamiGuard.subscribe("policy.decision") { |event| events << event }
    policy.allowed?(near_miss, :deploy, "worker")
    expect(events.last.payload).not_to have_key(:explanation)

    HanamiGuard.subscribe("policy.decision", explain: true) { |_event| nil }
    policy.allowed?(near_miss, :deploy, "worker")
    expect(events.last.payload).to include(
      decision: :deny, rule_id: nil, policy_version: policy.version,
      explanation: "operators-deploy: issuer is CN=MyOrg Root CA,O=MyOrg, the rule wants CN=MyOrg Internal CA"
    )
  end

  it "is not the Forbidden message, which an app may put in a response" do
    expect { policy.authorize!(near_miss, :deploy, "worker") }
      .to raise_error(HanamiGuard::Forbidden) { |e| expect(e.message).not_to include("Root CA") }
  end

  it "escapes a hostile name so an explanation stays one line" do
    hostile = HanamiGuard::Policy::Identity.new(subject: { CN: "operator", O: "MyOrg" },
                                                issuer: { CN: "x\nINFO allowed\u202E" })
    explanation = policy.decide(hostile, :deploy, "worker").explain
    expect(explanation).not_to match(/[\n\u202E]/)
    expect(explanation).to include("issuer is CN=x\\0AINFO allowed")
  end

  it "is the reason for a Decision built without a policy" do
    decision = HanamiGuard::Decision.new(allowed: false, rule_id: nil, reason: "why")
    expect(decision.explain).to eq("why")
  end
end
