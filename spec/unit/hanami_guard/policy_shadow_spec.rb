# frozen_string_literal: true

require "spec_helper"
require "tmpdir"

RSpec.describe "HanamiGuard::Policy shadow mode" do
  let(:yaml) do
    <<~YAML
      version: 1
      rules:
        - id: everyone-reads
          effect: allow
          actions: [read]
          resources: ["**"]
          principals: ["*"]
        - id: no-contractors
          effect: deny
          mode: shadow
          actions: [read]
          resources: [secrets]
          principals: [{ subject: { OU: Contractors } }]
    YAML
  end
  let(:contractor) { HanamiGuard::Policy::Identity.new(subject: { CN: "c", OU: "Contractors" }) }
  let(:shadow_events) { [] }

  before { HanamiGuard.subscribe("policy.shadow") { |event| shadow_events << event } }
  after { HanamiGuard.unsubscribe }

  it "a rule in shadow mode changes no decision and reports what it would have decided" do
    policy = HanamiGuard::Policy.parse(yaml, "shadow.yml")
    expect(policy.allowed?(contractor, :read, "secrets")).to be(true)
    expect(policy.decide(contractor, :read, "secrets").rule_id).to eq("everyone-reads")
    expect(shadow_events.size).to eq(2)
    expect(shadow_events.first.payload).to include(
      action: "read", resource: "secrets", decision: :allow, rule_id: "everyone-reads",
      shadow_decision: :deny, shadow_rule_id: "no-contractors", changed: true,
      policy_version: policy.version, shadow_version: policy.version
    )
    expect(shadow_events.first.payload[:identity]).to include(subject: "OU=Contractors,CN=c")
  end

  it "reports nothing, and reads nothing more, when nobody listens" do
    HanamiGuard.unsubscribe
    policy = HanamiGuard::Policy.parse(yaml, "shadow.yml")
    expect(policy.allowed?(contractor, :read, "secrets")).to be(true)
    expect(shadow_events).to be_empty
  end

  it "runs a whole candidate policy beside the enforcing one without it deciding anything" do
    Dir.mktmpdir do |dir|
      candidate_file = File.join(dir, "next.yml")
      File.write(candidate_file, yaml.sub("    mode: shadow\n", ""))
      candidate = HanamiGuard::Policy.load(candidate_file, mode: :shadow)
      expect(candidate.allowed?(contractor, :read, "docs")).to be(false) # nothing in force
      shadow_events.clear

      enforcing = HanamiGuard::Policy.parse(yaml.sub(/  - id: no-contractors.*/m, ""), "now.yml", shadow: candidate)
      expect(enforcing.shadow).to equal(candidate)
      expect(enforcing).to be_frozen
      expect(enforcing.allowed?(contractor, :read, "secrets")).to be(true)
      expect(enforcing.allowed?(contractor, :read, "docs")).to be(true)
      changed = shadow_events.map { |e| [e[:resource], e[:changed], e[:shadow_rule_id]] }
      expect(changed).to eq([["secrets", true, "no-contractors"], ["docs", false, "everyone-reads"]])
      expect(shadow_events.first[:shadow_version]).to eq(candidate.version)
      expect(candidate.version).not_to eq(enforcing.version)
    end
  end

  it "takes mode: in the DSL as in YAML" do
    policy = HanamiGuard::Policy.define do
      allow :read, resources: ["**"], principals: ["*"], id: "everyone-reads"
      deny :read, resources: ["secrets"], principals: [{ subject: { OU: "Contractors" } }], id: "nc", mode: :shadow
    end
    expect(policy.allowed?(contractor, :read, "secrets")).to be(true)
    expect(shadow_events.last[:shadow_rule_id]).to eq("nc")
    expect(policy.lint).to include(a_string_including('rule "nc" (rules[1]): is in shadow mode'))
  end

  it "refuses an unknown mode, in a rule or when loading" do
    expect { HanamiGuard::Policy.parse(yaml.sub("mode: shadow", "mode: audit"), "bad.yml") }
      .to raise_error(HanamiGuard::PolicyError, /rule "no-contractors".*key mode: must be enforce or shadow/)
    expect { HanamiGuard::Policy.parse(yaml, mode: :observe) }
      .to raise_error(HanamiGuard::ConfigurationError, /policy mode `observe` is not known: use one of enforce, shadow/)
    expect { HanamiGuard::Policy.parse(yaml, mode: nil) }.to raise_error(TypeError)
    expect { HanamiGuard::Policy.parse(yaml, shadow: "next.yml") }.to raise_error(TypeError, /shadow: takes/)
  end
end
