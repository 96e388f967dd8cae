# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/cli"
require "hanami_guard/testing"
require "stringio"
require "json"

# HanamiGuard::CLI in-process; spec/integration/cli_spec.rb runs exe/hanami_guard as a process.
RSpec.describe HanamiGuard::CLI do
  shared_ca = nil
  let(:ca) { shared_ca ||= HanamiGuard::Testing::CA.new(subject: "CN=CLI CA") }
  let(:dir) { Dir.mktmpdir("hanami_guard-cli-unit") }

  after { FileUtils.rm_rf(dir) }

  def run(*argv, stdin: "")
    out = StringIO.new
    err = StringIO.new
    code = described_class.new(argv, stdin: StringIO.new(stdin), stdout: out, stderr: err).run
    [out.string, err.string, code]
  end

  def file(name, content)
    File.join(dir, name).tap { |path| File.write(path, content) }
  end

  it "exits 2 with the usage for bad usage, and 3 with one line for bad input" do
    expect(run("frobnicate")).to match(["", /unknown command.*usage:/m, 2])
    expect(run("lint", "--nope")[2]).to eq(2)
    _, err, code = run("inspect", "-", stdin: "not a certificate")
    expect([err.lines.size, code]).to eq([1, 3])
  end

  describe "options" do
    it "takes --name VALUE and --name=VALUE, operands anywhere, and -- before operands that look like options" do
      cert = file("c.pem", ca.issue(subject: "CN=operator").to_pem)
      expect(run("inspect", "--json", cert)[2]).to eq(0)
      expect(run("inspect", cert, "--json")[2]).to eq(0)
      dash = file("-c.pem", File.read(cert))
      Dir.chdir(dir) { expect(run("inspect", "--", "-c.pem")[2]).to eq(0) }
      expect(File.exist?(dash)).to be(true)
      out, _, code = run("audit", "--format=json", "--fail-on", "critical", dir)
      expect([JSON.parse(out)["files"], code]).to eq([0, 0])
    end

    [
      [%w[audit --form json], /unknown option "--form"/], # no abbreviations
      [%w[audit --format], /--format needs a value/],
      [%w[audit --format xml], /--format takes text, json, sarif, not "xml"/],
      [%w[audit --json=yes], /--json takes no value/],
      [%w[audit -x], /unknown option "-x"/],
      [%w[inspect --nope], /unknown option "--nope"/]
    ].each do |argv, message|
      it "refuses #{argv.join(" ")} with the usage (exit 2)" do
        _, err, code = run(*argv)
        expect([err, code]).to match([/\Ahanami_guard: #{message.source}.*usage:/m, 2])
      end
    end

    it "prints the usage for -h or --help after a command (exit 0)" do
      expect(run("audit", "-h")).to match([/usage: hanami_guard COMMAND/, "", 0])
      expect(run("verify", "--help")).to match([/usage: hanami_guard COMMAND/, "", 0])
    end
  end

  it "takes --json on every command" do
    cert = ca.issue(subject: "CN=operator")
    policy = file("p.yml", <<~YAML)
      version: 1
      rules:
        - { id: r, effect: allow, actions: [read], resources: [x], principals: [{ subject: { CN: operator } }] }
    YAML
    { %w[version] => "version", ["inspect", "-"] => "fingerprint", %W[lint #{policy}] => "warnings",
      %W[resolve #{dir} p.yml] => "resolved" }.each do |argv, key|
      out, _, code = run(argv.first, "--json", *argv.drop(1), stdin: cert.to_pem)
      expect(code).to eq(0), "#{argv.inspect}: #{out}"
      expect(JSON.parse(out)).to have_key(key)
    end
    out, _, code = run("check", "--json", "--policy", policy, "--cert", file("c.pem", cert.to_pem), "deploy", "x")
    expect([JSON.parse(out)["decision"], code]).to eq(["deny", 1])
    out, = run("lint", file("none.yml", "version: 1\nrules: []\n"))
    expect(out).to eq("#{dir}/none.yml: warning: the policy has no allow rule, so it denies every request\n")
  end

  it "verifies a leaf against the root with the intermediate, and refuses without it" do
    cert = ca.issue(subject: "CN=operator")
    root = file("root.pem", ca.to_pem)
    leaf = file("leaf.pem", cert.to_pem)
    expect(run("verify", "--ca", root, "--intermediate", file("ica.pem", ca.intermediate_pem), leaf)[2]).to eq(0)
    expect(run("verify", "--ca", root, leaf)).to match([/\Auntrusted: unknown_issuer/, "", 1])
  end

  it "escapes control and bidi characters of a certificate's names in inspect's text" do
    cert = ca.issue(subject: "CN=operator", dns: "evil.example\u202Egro.com", emails: "a@b.example")
    out, _, code = run("inspect", "-", stdin: cert.to_pem)
    expect(code).to eq(0)
    expect(out).to include("evil.example\\u{202e}gro.com")
    expect(out).not_to include("\u202E")
  end
end
