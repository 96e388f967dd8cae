# frozen_string_literal: true

require "spec_helper"
require "json"
require "stringio"
require "tmpdir"

RSpec.describe "HanamiGuard.log_decisions_to" do
  let(:policy) do
    HanamiGuard::Policy.parse(<<~YAML, "log.yml")
      version: 1
      rules:
        - id: operators-deploy
          effect: allow
          actions: [deploy]
          resources: [worker]
          principals: [{ subject: { CN: operator, O: MyOrg }, spiffe_id: "spiffe://prod.example.org/ns/ops/*" }]
    YAML
  end
  let(:operator) do
    HanamiGuard::Policy::Identity.new(subject: { CN: "operator", O: "MyOrg" }, issuer: { CN: "MyOrg CA" },
                                      spiffe_id: "spiffe://prod.example.org/ns/ops/deployer",
                                      dns_names: ["op.example.org"], fingerprint: "ab" * 32)
  end

  after { HanamiGuard.unsubscribe }

  it "writes one policy.decision event per line with the policy version and the identity's record" do
    io = StringIO.new
    HanamiGuard.log_decisions_to(io)
    policy.allowed?(operator, :deploy, "worker")
    policy.decide(operator, :deploy, "api")
    lines = io.string.lines.map { |line| JSON.parse(line) }
    expect(lines.size).to eq(2)
    expect(lines.first).to include(
      "event" => "policy.decision", "pid" => Process.pid, "action" => "deploy", "resource" => "worker",
      "decision" => "allow", "rule_id" => "operators-deploy", "policy_version" => policy.version,
      "identity" => { "subject" => "O=MyOrg,CN=operator", "issuer" => "CN=MyOrg CA",
                      "spiffe_id" => "spiffe://prod.example.org/ns/ops/deployer",
                      "dns_names" => ["op.example.org"], "fingerprint" => "ab" * 32 }
    )
    expect(lines.last).to include("decision" => "deny", "rule_id" => nil)
    expect(lines.last).not_to have_key("explanation")
    expect(policy.version).to match(/\A\h{64}\z/)
  end

  it "never records a certificate" do
    require "hanami_guard/testing"
    cert = HanamiGuard::Testing::CA.new(subject: "CN=Log CA").issue(subject: "CN=operator,O=MyOrg")
    io = StringIO.new
    HanamiGuard.log_decisions_to(io)
    policy.allowed?(cert, :deploy, "worker")
    expect(io.string).not_to include("BEGIN", cert.to_pem.lines[1].strip)
    expect(JSON.parse(io.string)["identity"]["fingerprint"]).to eq(cert.fingerprint)
  end

  it "keeps every line whole across threads and forked processes appending to one file" do
    Dir.mktmpdir do |dir|
      path = File.join(dir, "decisions.jsonl")
      HanamiGuard.log_decisions_to(path)
      workers = Array.new(3) do
        fork do
          Array.new(4) { Thread.new { 50.times { policy.allowed?(operator, :deploy, "worker") } } }.each(&:join)
          exit!(0)
        end
      end
      workers.each { |pid| Process.wait(pid) }
      lines = File.readlines(path)
      expect(lines.size).to eq(3 * 4 * 50)
      parsed = lines.map { |line| JSON.parse(line) }
      expect(parsed.map { |e| e["pid"] }.uniq.sort).to eq(workers.sort)
      expect(parsed.map { |e| e["policy_version"] }.uniq).to eq([policy.version])
    end
  end

  it "refuses what is neither a path nor an IO" do
    expect { HanamiGuard.log_decisions_to(42) }.to raise_error(ArgumentError, /path or an IO/)
  end
end
