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
    File.write(@policy, PolicyFixtures::OPERATORS_DEPLOY)
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

    it "exits 3 with one line naming a file it cannot read, not the usage" do
      _, err, code = cli("inspect", File.join(@dir, "missing.pem"))
      expect(code).to eq(3)
      expect(err).to include("cannot read").and include("No such file")
      expect(err.lines.size).to eq(1)
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

    it "shows every certificate of a bundle" do
      bundle = File.join(@dir, "bundle.pem")
      File.write(bundle, @pki.cert(:operator).to_pem + @pki.cert(:ca).to_pem)
      out, _, code = cli("inspect", "--json", bundle)
      expect(code).to eq(0)
      expect(JSON.parse(out).map do |c|
               c["subject"]
             end).to eq(["CN=operator,O=MyOrg", @pki.cert(:ca).subject.to_s(OpenSSL::X509::Name::RFC2253)])
      expect(cli("inspect", bundle)[0].scan(/^subject:/).size).to eq(2)
    end

    it "exits 3 on what is not a certificate, without echoing it" do
      _, err, code = cli("inspect", "-", stdin: "-----BEGIN CERTIFICATE-----\nsecretsecret\n")
      expect(code).to eq(3)
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
      # The demo PKI's leaves are valid for a year (Testing::CA#issue).
      later = (Time.now + (86_400 * 400)).utc.iso8601
      expect(cli("verify", "--ca", pem(:ca), "--at", later, pem(:operator)).values_at(0, 2))
        .to match([/\Auntrusted: expired/, 1])
      expect(cli("verify", "--ca", pem(:ca), "--at", "yesterday", pem(:operator))[2]).to eq(2)
      next_year = (Time.now + (86_400 * 400)).utc.strftime("%Y-%m-%d")
      expect(cli("verify", "--ca", pem(:ca), "--at", next_year, pem(:operator)).values_at(0, 2))
        .to match([/\Auntrusted: expired/, 1])
    end

    it "takes --client-auth when_present for a leaf without extendedKeyUsage, and refuses other modes" do
      ca = CertFactory.ca(subject: "/O=Old PKI/CN=Old Root")
      old = CertFactory.leaf(issuer: ca, eku: nil, subject: "/O=Old PKI/CN=legacy")
      ca_file = File.join(@dir, "old-ca.pem")
      leaf_file = File.join(@dir, "old-leaf.pem")
      File.write(ca_file, ca.to_pem)
      File.write(leaf_file, old.to_pem)
      out, _, code = cli("verify", "--ca", ca_file, leaf_file)
      expect([out, code]).to match([/\Auntrusted: missing_client_auth .*when_present/, 1])
      expect(cli("verify", "--ca", ca_file, "--client-auth", "when_present", leaf_file).values_at(0, 2))
        .to eq(["trusted: CN=legacy,O=Old PKI\n", 0])
      expect(cli("verify", "--ca", ca_file, "--client-auth", "when-present", leaf_file)[2]).to eq(0)
      _, err, code = cli("verify", "--ca", ca_file, "--client-auth", "sometimes", leaf_file)
      expect([err, code]).to match([/client_auth: `sometimes` is not known: use one of required, when_present/, 2])
    end

    it "reports a certificate revoked in a --crl file as untrusted" do
      crl = OpenSSL::X509::CRL.new
      crl.version = 1
      crl.issuer = @pki.cert(:ca).subject
      crl.last_update = Time.now - 60
      crl.next_update = Time.now + 3600
      revoked = OpenSSL::X509::Revoked.new
      revoked.serial = @pki.cert(:operator).serial
      revoked.time = Time.now - 60
      crl.add_revoked(revoked)
      factory = OpenSSL::X509::ExtensionFactory.new
      factory.issuer_certificate = @pki.cert(:ca)
      factory.crl = crl
      crl.add_extension(OpenSSL::X509::Extension.new("crlNumber", OpenSSL::ASN1::Integer(1)))
      crl.add_extension(factory.create_extension("authorityKeyIdentifier", "keyid:always", false))
      crl.sign(@pki.key(:ca), OpenSSL::Digest.new("SHA256"))
      crl_file = File.join(@dir, "ca.crl")
      File.write(crl_file, crl.to_pem)
      expect(cli("verify", "--ca", pem(:ca), pem(:operator))[2]).to eq(0)
      out, _, code = cli("verify", "--json", "--ca", pem(:ca), "--crl", crl_file, pem(:operator))
      expect(code).to eq(1)
      expect(JSON.parse(out)).to include("trusted" => false, "reason" => "revoked")
    end

    it "exits 3 when --ca is not a CA bundle" do
      _, err, code = cli("verify", "--ca", pem(:operator), pem(:operator))
      expect(code).to eq(3)
      expect(err.lines.size).to eq(1)
    end

    it "prints JSON for a trusted certificate" do
      out, _, code = cli("verify", "--json", "--ca", pem(:ca), pem(:operator))
      expect(code).to eq(0)
      expect(JSON.parse(out)).to include("trusted" => true, "subject" => "CN=operator,O=MyOrg")
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

    it "exits 3 naming the problem in an invalid policy, unlike a denial" do
      bad = File.join(@dir, "bad.yml")
      File.write(bad, "version: 1\nrules:\n  - id: x\n    effect: maybe\n")
      _, err, code = cli("check", "--policy", bad, "--cert", pem(:operator), "deploy", "worker")
      expect(code).to eq(3)
      expect(err).to include("bad.yml")
    end

    it "prints the decision as JSON" do
      out, _, code = cli("check", "--json", "--policy", @policy, "--cert", pem(:operator), "deploy", "worker")
      expect(code).to eq(0)
      expect(JSON.parse(out)).to include("decision" => "allow", "rule_id" => "operators-deploy")
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
      expect(out.lines).to all(start_with("#{risky}:3: warning: "))
      expect(JSON.parse(cli("lint", "--json", risky)[0])["warnings"].join).to include("anyone-deploys")
    end

    it "names an empty or invalid file once, exit 3" do
      empty = File.join(@dir, "empty.yml")
      File.write(empty, "")
      _, err, code = cli("lint", empty)
      expect(code).to eq(3)
      expect(err.scan("empty.yml").size).to eq(1)
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

    it "exits 3 when BASE is not a directory" do
      expect(cli("resolve", File.join(@dir, "nope"), "a")[2]).to eq(3)
    end

    it "prints JSON" do
      expect(JSON.parse(cli("resolve", "--json", @base, "../x")[0])).to include("refused")
    end
  end

  describe "test" do
    def cases(text)
      path = File.join(@dir, "cases-#{text.hash.abs}.yml")
      File.write(path, text)
      path
    end

    it "exits 0 when every case holds, listing the rules no case reaches" do
      out, _, code = cli("test", @policy, cases(<<~YAML))
        cases:
          - name: operator deploys worker
            identity: { subject: "CN=operator,O=MyOrg" }
            action: deploy
            resource: worker
            expect: allow
            rule: operators-deploy
      YAML
      expect(code).to eq(0)
      expect(out).to include("1 passed, 0 failed")
      expect(out).not_to include("rules no case reaches")
    end

    it "exits 1 naming the failing case with its decision, and lists unreached rules" do
      failing = cases(<<~YAML)
        cases:
          - name: contractor deploys worker
            identity: { subject: "CN=alice,OU=Contractors,O=MyOrg" }
            action: deploy
            resource: worker
            expect: allow
      YAML
      out, _, code = cli("test", @policy, failing)
      expect(code).to eq(1)
      expect(out).to include("FAIL contractor deploys worker: expected allow, got deny by no rule")
      expect(out).to include("rules no case reaches: operators-deploy")
      json, = cli("test", "--json", @policy, failing)
      expect(JSON.parse(json)).to include("cases" => 1)
    end

    it "exits 3 on a malformed case file" do
      _, err, code = cli("test", @policy, cases("cases:\n  - name: x\n    expect: maybe\n"))
      expect(code).to eq(3)
      expect(err).to include("cases[0]").or include("case \"x\"")
    end
  end

  describe "install" do
    let(:app) do
      dir = File.join(@dir, "app-#{rand(1 << 30)}")
      FileUtils.mkdir_p(File.join(dir, "config"))
      File.write(File.join(dir, "config", "app.rb"), "# a Hanami app\n")
      dir
    end

    it "writes the policy and the provider, then leaves them alone, and prints the lines to add" do
      out, _, code = cli("install", app)
      expect(code).to eq(0)
      expect(out).to include("wrote     config/hanami_guard.yml", "wrote     config/providers/hanami_guard.rb",
                             "config.middleware.use HanamiGuard::Middleware::ClientIdentity",
                             "include HanamiGuard::Action")
      expect(HanamiGuard::Policy.load(File.join(app, "config", "hanami_guard.yml")).rule_ids)
        .to eq(%w[operators-deploy no-contractors])
      expect(cli("install", app)[0]).to include("unchanged config/hanami_guard.yml")
    end

    it "never overwrites a file that differs, unless --force" do
      cli("install", app)
      mine = File.join(app, "config", "hanami_guard.yml")
      File.write(mine, "version: 1\nrules: []\n")
      out, _, code = cli("install", app)
      expect(code).to eq(1)
      expect(out).to include("kept      config/hanami_guard.yml")
      expect(File.read(mine)).to eq("version: 1\nrules: []\n")
      expect(cli("install", "--force", app)[2]).to eq(0)
      expect(File.read(mine)).to include("operators-deploy")
    end

    it "refuses a directory that is not a Hanami app, exit 3" do
      _, err, code = cli("install", @dir)
      expect(code).to eq(3)
      expect(err).to include("config/app.rb")
    end
  end
end
