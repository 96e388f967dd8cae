# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/cli"
require "hanami_guard/testing"
require "json"
require "stringio"
require "tmpdir"

# `hanami_guard replay`, `check --explain` and the closest rule in `hanami_guard test`.
RSpec.describe HanamiGuard::CLI do
  let(:dir) { Dir.mktmpdir("hanami_guard-cli-replay") }
  let(:old_policy) { PolicyFixtures::OPERATORS_DEPLOY_FROM_INTERNAL_CA }
  let(:operator) do
    HanamiGuard::Policy::Identity.new(subject: { CN: "operator", O: "MyOrg" }, issuer: { CN: "MyOrg Internal CA" })
  end

  after do
    HanamiGuard.unsubscribe
    FileUtils.rm_rf(dir)
  end

  def run(*argv)
    out = StringIO.new
    err = StringIO.new
    code = described_class.new(argv, stdin: StringIO.new(""), stdout: out, stderr: err).run
    [out.string, err.string, code]
  end

  def file(name, content)
    File.join(dir, name).tap { |path| File.write(path, content) }
  end

  # A real decision log, written by the gem while the old policy decides.
  def record_decisions
    log = File.join(dir, "decisions.jsonl")
    subscription = HanamiGuard.log_decisions_to(log)
    policy = HanamiGuard::Policy.parse(old_policy, "old.yml")
    policy.allowed?(operator, :deploy, "worker")
    policy.allowed?(operator, :deploy, "api")
    policy.allowed?(nil, :deploy, "api")
    HanamiGuard.unsubscribe(subscription)
    log
  end

  it "replay exits 0 when the new policy changes nothing" do
    log = record_decisions
    out, _, code = run("replay", "--policy", file("same.yml", "# reformatted\n#{old_policy}"), log)
    expect([out, code]).to eq(["3 decisions replayed, 0 would change\n", 0])
  end

  it "replay lists what would change (a table, and --json), exit 1" do
    log = record_decisions
    narrower = file("new.yml", old_policy.sub("[worker, api]", "[worker]"))
    out, _, code = run("replay", "--policy", narrower, log)
    expect(code).to eq(1)
    expect(out).to include("3 decisions replayed, 1 would change")
    expect(out).to match(/^2\s+allow->deny\s+operators-deploy -> -\s+deploy\s+api\s+O=MyOrg,CN=operator/)

    out, _, code = run("replay", "--json", "--policy", narrower, log)
    report = JSON.parse(out)
    expect(code).to eq(1)
    expect(report).to include("decisions" => 3, "changed" => 1,
                              "policy_version" => HanamiGuard::Policy.load(narrower).version)
    expect(report["changes"].first).to include("line" => 2, "before" => "allow", "after" => "deny",
                                               "before_rule" => "operators-deploy", "after_rule" => nil)
  end

  it "replay rebuilds the identity from the log: a new issuer condition changes the decisions" do
    log = record_decisions
    other_ca = file("ca.yml", old_policy.sub("MyOrg Internal CA", "MyOrg Other CA"))
    expect(run("replay", "--policy", other_ca, log)[0]).to include("2 would change")
  end

  it "replay exits 2 for bad usage and 3 for a log or policy it cannot read" do
    log = record_decisions
    expect(run("replay", log)[2]).to eq(2)
    expect(run("replay", "--policy", file("p.yml", old_policy))[2]).to eq(2)
    _, err, code = run("replay", "--policy", file("p.yml", old_policy), file("bad.jsonl", "{\"event\":\n"))
    expect([code, err]).to eq([3, "hanami_guard: #{dir}/bad.jsonl:1: not a JSON line " \
                                  "(write the log with HanamiGuard.log_decisions_to)\n"])
    expect(run("replay", "--policy", file("p.yml", old_policy), File.join(dir, "missing.jsonl"))[2]).to eq(3)
    expect(run("replay", "--policy", file("broken.yml", "version: 2\n"), log)[2]).to eq(3)
    incomplete = file("incomplete.jsonl", %({"event":"policy.decision","action":"deploy"}\n))
    expect(run("replay", "--policy", file("p.yml", old_policy), incomplete)[2]).to eq(3)
  end

  it "check --explain names the closest rule and the condition that failed (and in --json)" do
    ca = HanamiGuard::Testing::CA.new(subject: "CN=Other CA,O=MyOrg")
    cert = file("op.pem", ca.issue(subject: "CN=operator,O=MyOrg").to_pem)
    policy = file("p.yml", old_policy)
    out, _, code = run("check", "--policy", policy, "--cert", cert, "--explain", "deploy", "worker")
    expect(code).to eq(1)
    expect(out).to match(/^explanation: operators-deploy: issuer is .*Other CA.*, the rule wants CN=MyOrg Internal CA$/)
    out, = run("check", "--json", "--policy", policy, "--cert", cert, "--explain", "deploy", "worker")
    expect(JSON.parse(out)["explanation"]).to start_with("operators-deploy: issuer is ")
    out, = run("check", "--json", "--policy", policy, "--cert", cert, "deploy", "worker")
    expect(JSON.parse(out)).not_to have_key("explanation")
  end

  it "test names the closest rule of a case that is denied but should be allowed" do
    cases = file("cases.yml", <<~YAML)
      cases:
        - name: operator from the root CA
          identity: { subject: "CN=operator,O=MyOrg", issuer: "CN=MyOrg Root CA" }
          action: deploy
          resource: worker
          expect: allow
    YAML
    out, _, code = run("test", file("p.yml", old_policy), cases)
    expect(code).to eq(1)
    expect(out).to include("closest: operators-deploy: issuer is CN=MyOrg Root CA, the rule wants CN=MyOrg Internal CA")
  end
end
