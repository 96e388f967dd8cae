# frozen_string_literal: true

# Resource exhaustion against Policy: huge policies, huge inputs, hostile YAML. Every case ends
# in a PolicyError or a denial, within a bounded time (bounds are generous: they catch a hang or
# a quadratic blow-up, not a slow machine).
RSpec.describe "Policy resource exhaustion" do
  include PolicySpecIdentities

  def elapsed
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    result = yield
    [result, Process.clock_gettime(Process::CLOCK_MONOTONIC) - started]
  end

  def big_policy(rules:, actions:)
    lines = ["version: 1", "rules:"]
    rules.times do |i|
      lines << "  - { id: r#{i}, effect: #{i % 10 == 9 ? "deny" : "allow"}, actions: [a#{i % actions}], " \
               "resources: [res#{i}, \"glob#{i}/*/x\"], principals: [{ subject: { CN: u#{i}, O: MyOrg } }] }"
    end
    lines.join("\n")
  end

  let(:who) { identity(subject: { CN: "u5", O: "MyOrg" }) }

  it "loads, decides and lints a 10,000-rule policy in bounded time", :slow do
    rules = GcStress.size(10_000)
    policy, load_time = elapsed { HanamiGuard::Policy.parse(big_policy(rules:, actions: 50)) }
    expect(policy.size).to eq(rules)
    expect(load_time).to be < 30 * GcStress::SLOWDOWN
    decisions, decide_time = elapsed do
      1_000.times.map { |i| policy.allowed?(who, :"a#{i % 50}", i.even? ? "res5" : "glob5/y/x") }
    end
    expect(decisions.count(true)).to eq(rules > 5 ? 20 : 0) # rule r5 is action a5: i = 5, 55, 105, ...
    expect(decide_time).to be < 10 * GcStress::SLOWDOWN
    _, lint_time = elapsed { policy.lint }
    expect(lint_time).to be < 30 * GcStress::SLOWDOWN
  end

  it "decides in bounded time when 10,000 rules share one action and all have globs", :slow do
    lines = ["version: 1", "rules:"]
    GcStress.size(10_000).times do |i|
      lines << "  - { id: r#{i}, effect: allow, actions: [read], resources: [\"*a*a*a*a*a*b#{i}\"], " \
               "principals: [\"*\"] }"
    end
    policy = HanamiGuard::Policy.parse(lines.join("\n"))
    decision, time = elapsed { policy.decide(who, :read, "a" * 4000) }
    expect(decision.allowed?).to be(false)
    expect(time).to be < 20 * GcStress::SLOWDOWN
    warnings, lint_time = elapsed { policy.lint }
    expect(warnings).to include(a_string_including("allows any identity"))
    expect(lint_time).to be < 30 * GcStress::SLOWDOWN
  end

  it "denies a huge resource or action without evaluating rules" do
    policy = HanamiGuard::Policy.define { allow :*, resources: ["**"], principals: ["*"], id: "open" }
    decision, time = elapsed { policy.decide(who, :read, "a/" * 5_000_000) }
    expect(decision.allowed?).to be(false)
    expect(decision.reason).to include("longer than 4096 bytes")
    expect(time).to be < 5 * GcStress::SLOWDOWN
    expect(policy.allowed?(who, "x" * 10_000_000, "a")).to be(true) # the `*` rule names no action
    narrow = HanamiGuard::Policy.define { allow :read, resources: ["**"], principals: ["*"], id: "read" }
    expect(narrow.allowed?(who, "read" * 2_500_000, "a")).to be(false)
  end

  it "decides in bounded time on an identity with 100,000 attributes and DNS names", :slow do
    policy = HanamiGuard::Policy.define do
      allow :read, resources: ["x"], principals: [{ subject: { CN: "last" }, dns_name: "last.example.org" }], id: "r"
    end
    attrs = Array.new(GcStress.size(100_000)) { |i| ["OU", "unit#{i}"] } << %w[CN last]
    dns_names = Array.new(GcStress.size(100_000)) { |i| "n#{i}.example.org" } << "last.example.org"
    heavy = identity(subject: attrs, dns_names:)
    allowed, time = elapsed { policy.allowed?(heavy, :read, "x") }
    expect(allowed).to be(true)
    expect(time).to be < 10 * GcStress::SLOWDOWN
  end

  it "refuses a policy text over 16 MiB" do
    text = "version: 1\nrules: []\n# #{"x" * (17 << 20)}\n"
    expect { HanamiGuard::Policy.parse(text) }.to raise_error(HanamiGuard::PolicyError, /at most 16777216/)
    Dir.mktmpdir do |dir|
      path = File.join(dir, "big.yml")
      File.write(path, text)
      expect { HanamiGuard::Policy.load(path) }.to raise_error(HanamiGuard::PolicyError, /larger than/)
    end
  end

  it "refuses a billion-laughs alias bomb quickly" do
    bomb = +"a: &a [x,x,x,x,x,x,x,x,x]\n"
    %w[b c d e f g h i].each_cons(1).with_index do |(name), i|
      previous = i.zero? ? "a" : %w[b c d e f g h i][i - 1]
      bomb << "#{name}: &#{name} [#{(["*#{previous}"] * 9).join(",")}]\n"
    end
    _, time = elapsed do
      expect { HanamiGuard::Policy.parse(bomb) }.to raise_error(HanamiGuard::PolicyError, /invalid YAML/)
    end
    expect(time).to be < 10 * GcStress::SLOWDOWN
  end

  it "refuses deeply nested YAML and a self-referential DSL tree" do
    expect { HanamiGuard::Policy.parse("[" * 100_000) }.to raise_error(HanamiGuard::PolicyError, /recursion limit/)
    loop_hash = {}
    loop_hash["subject"] = loop_hash
    expect do
      HanamiGuard::Policy.define { allow :read, resources: ["x"], principals: [loop_hash], id: "loop" }
    end.to raise_error(HanamiGuard::PolicyError, /rule "loop"/)
  end

  it "refuses YAML tags that would build objects" do
    text = "version: 1\nrules:\n  - !ruby/object:OpenStruct { id: x }\n"
    expect { HanamiGuard::Policy.parse(text) }.to raise_error(HanamiGuard::PolicyError, /tagged/)
  end
end
