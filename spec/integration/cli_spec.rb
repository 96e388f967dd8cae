# frozen_string_literal: true

require "spec_helper"
require "open3"
require "json"
require_relative "../../examples/lib/demo_pki"

# exe/hanami_guard, run as a real process, as a user would.
RSpec.describe "exe/hanami_guard" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-cli")
    @pki = DemoPki.new(File.join(@dir, "pki"))
    @policy = File.join(@dir, "policy.yml")
    File.write(@policy, <<~YAML)
      version: 1
      rules:
        - id: operators-deploy
          effect: allow
          actions: [deploy]
          resources: [worker]
          principals:
            - subject: { CN: operator, O: MyOrg }
    YAML
    @base = File.join(@dir, "public")
    FileUtils.mkdir_p(File.join(@base, "docs"))
    File.write(File.join(@base, "docs", "a.txt"), "a")
  end

  after(:all) { FileUtils.rm_rf(@dir) }

  def cli(*args, stdin: "")
    root = File.expand_path("../..", __dir__)
    out, err, status = Open3.capture3(RbConfig.ruby, "-I", File.join(root, "lib"),
                                      File.join(root, "exe", "hanami_guard"), *args, stdin_data: stdin)
    [out, err, status.exitstatus]
  end

  def pem(name) = @pki.path(name)

  describe "bad usage" do
    [[], %w[frobnicate], %w[inspect a b], %w[verify], %w[check --policy x], %w[lint], %w[resolve /tmp],
     %w[inspect --nope]].each do |args|
      it "exits 2 with the usage for #{args.inspect}" do
        out, err, code = cli(*args)
        expect(code).to eq(2)
        expect(out).to be_empty
        expect(err).to include("usage: hanami_guard COMMAND")
      end
    end

    it "exits 2 naming a file it cannot read" do
      _, err, code = cli("inspect", File.join(@dir, "missing.pem"))
      expect(code).to eq(2)
      expect(err).to include("cannot read").and include("No such file")
    end
  end

  it "prints its version" do
    expect(cli("version")).to eq(["#{HanamiGuard::VERSION}\n", "", 0])
  end

  describe "inspect" do
    it "prints the identity as text from a PEM file" do
      out, _, code = cli("inspect", pem(:operator))
      expect(code).to eq(0)
      expect(out).to include("CN=operator,O=MyOrg")
      expect(out).to include(OpenSSL::Digest::SHA256.hexdigest(@pki.cert(:operator).to_der))
    end

    it "prints JSON, reading DER from stdin" do
      out, _, code = cli("inspect", "--json", "-", stdin: @pki.cert(:contractor).to_der)
      expect(code).to eq(0)
      data = JSON.parse(out)
      expect(data.to_s).to include("CN=alice")
      expect(data.values).to include(OpenSSL::Digest::SHA256.hexdigest(@pki.cert(:contractor).to_der))
    end

    it "exits 1 on what is not a certificate, without echoing it" do
      _, err, code = cli("inspect", "-", stdin: "-----BEGIN CERTIFICATE-----\nsecretsecret\n")
      expect(code).to eq(1)
      expect(err).to start_with("hanami_guard: ")
      expect(err).not_to include("secretsecret")
    end
  end

  describe "verify" do
    it "exits 0 for a certificate issued by the pinned CA" do
      out, _, code = cli("verify", "--ca", pem(:ca), pem(:operator))
      expect([out, code]).to eq(["trusted: CN=operator,O=MyOrg\n", 0])
    end

    it "exits 1 with the reason otherwise" do
      expect(cli("verify", "--ca", pem(:ca), pem(:rogue)).values_at(0, 2)).to match([/\Auntrusted: unknown_issuer/, 1])
      expect(cli("verify", "--ca", pem(:ca), pem(:expired)).values_at(0, 2)).to match([/\Auntrusted: expired/, 1])
      expect(cli("verify", "--ca", pem(:ca), pem(:chained)).values_at(0, 2))
        .to match([/\Auntrusted: unknown_issuer/, 1])
    end

    it "uses --intermediate and --at" do
      expect(cli("verify", "--ca", pem(:ca), "--intermediate", pem(:intermediate_ca), pem(:chained))[2]).to eq(0)
      later = (Time.now + (86_400 * 3)).utc.iso8601
      expect(cli("verify", "--ca", pem(:ca), "--at", later, pem(:operator)).values_at(0, 2))
        .to match([/\Auntrusted: expired/, 1])
      expect(cli("verify", "--ca", pem(:ca), "--at", "yesterday", pem(:operator))[2]).to eq(2)
    end
  end

  describe "check" do
    it "prints allow and the rule id, exit 0" do
      out, _, code = cli("check", "--policy", @policy, "--cert", pem(:operator), "deploy", "worker")
      expect([out, code]).to match([/\Aallow \(rule operators-deploy\)/, 0])
    end

    it "prints deny, exit 1" do
      out, _, code = cli("check", "--policy", @policy, "--cert", pem(:spoofer), "deploy", "worker")
      expect([out, code]).to match([/\Adeny /, 1])
      expect(cli("check", "--policy", @policy, "--cert", pem(:operator), "deploy", "api")[2]).to eq(1)
    end

    it "exits 1 naming the problem in an invalid policy" do
      bad = File.join(@dir, "bad.yml")
      File.write(bad, "version: 1\nrules:\n  - id: x\n    effect: maybe\n")
      _, err, code = cli("check", "--policy", bad, "--cert", pem(:operator), "deploy", "worker")
      expect(code).to eq(1)
      expect(err).to include("bad.yml")
    end
  end

  describe "lint" do
    it "exits 0 on a clean policy" do
      expect(cli("lint", @policy).values_at(0, 2)).to eq(["#{@policy}: no warnings\n", 0])
    end

    it "prints the warnings, exit 1" do
      risky = File.join(@dir, "risky.yml")
      File.write(risky, <<~YAML)
        version: 1
        rules:
          - id: anyone-deploys
            effect: allow
            actions: [deploy]
            resources: ["*"]
            principals: ["*"]
      YAML
      out, _, code = cli("lint", risky)
      expect(code).to eq(1)
      expect(out).to include("anyone-deploys")
    end
  end

  describe "resolve" do
    it "prints where a path lands" do
      out, _, code = cli("resolve", @base, "docs/../docs/a.txt")
      expect([out, code]).to eq(["#{File.realpath(File.join(@base, "docs", "a.txt"))}\n", 0])
    end

    it "says why a path is refused, exit 1" do
      out, _, code = cli("resolve", @base, "../pki/operator.key")
      expect(code).to eq(1)
      expect(out).to start_with("refused: ")
      expect(cli("resolve", @base, "/etc/passwd")[2]).to eq(1)
    end

    it "exits 2 when BASE is not a directory" do
      expect(cli("resolve", File.join(@dir, "nope"), "a")[2]).to eq(2)
    end
  end
end
