# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"

# ConfigurationError#option names the keyword set wrongly, wherever the refusal is made: in the
# Ruby facade, in the binding (a closed set it does not know) or in the core. One example per
# place that raises.
RSpec.describe HanamiGuard::ConfigurationError, "#option" do
  let(:dir) { Dir.mktmpdir("hanami_guard-option") }

  after { FileUtils.rm_rf(dir) }

  def option_of
    yield
    raise "expected a ConfigurationError"
  rescue described_class => e
    expect(e.kind).to eq(:configuration)
    e.option
  end

  def action_class(policy: nil)
    Class.new(HanamiShaped.action(HanamiShaped::VERSIONS.first)) do
      include HanamiGuard::Action
      guard_policy policy if policy
      define_method(:handle) { |req, _res| authorize!(req, :read, "x") }
    end
  end

  let(:base_config) { { options: [], env: [], max_output: 1024, dangerous_shell: false, kill_grace: 1.0 } }

  describe "raised in Ruby" do
    it "is :verify_authorized for an unknown mode" do
      expect(option_of { HanamiGuard::Action.verify_authorized = :yes }).to eq(:verify_authorized)
      expect(option_of { action_class.verify_authorized(:warn) }).to eq(:verify_authorized)
    end

    it "is :guard_policy for an action without a policy" do
      action = action_class.new
      expect(option_of { action.call(HanamiGuard::Testing.rack_env("/", identity: nil)) }).to eq(:guard_policy)
    end

    it "is :template for a placeholder named like run's stdin:" do
      expect(option_of { HanamiGuard::Command.new("printf %s {stdin}") }).to eq(:template)
    end

    it "is :fail_on, :root, :roots and :env for the doctor's arguments of the wrong type" do
      expect(option_of { HanamiGuard::Doctor.check!(fail_on: 3) }).to eq(:fail_on)
      expect(option_of { HanamiGuard::Doctor.run(root: 3) }).to eq(:root)
      expect(option_of { HanamiGuard::Doctor.run(roots: [3]) }).to eq(:roots)
      expect(option_of { HanamiGuard::Doctor.run(env: 3) }).to eq(:env)
    end

    it "is :baseline for a baseline that is not an audit report" do
      baseline = File.join(dir, "baseline.json")
      File.write(baseline, %({"not": "a report"}))
      expect(option_of { HanamiGuard::Audit.scan(dir, baseline:) }).to eq(:baseline)
    end
  end

  describe "raised by the binding" do
    it "is :allow and :net for a kind the binding does not know" do
      allow_config = base_config.merge(allow: { "x" => ["one-of", ["a"]] })
      expect(option_of { HanamiGuard::Command.send(:_define, "printf %s {x}", allow_config) }).to eq(:allow)
      net_config = base_config.merge(net: ["port", [], []])
      expect(option_of { HanamiGuard::Command.send(:_define, "true", net_config) }).to eq(:net)
    end

    it "is :mode for an unknown policy mode" do
      path = File.join(dir, "p.yml")
      File.write(path, "version: 1\nrules: []\n")
      expect(option_of { HanamiGuard::Policy.load(path, mode: :loud) }).to eq(:mode)
      expect(option_of { HanamiGuard::Policy.parse("version: 1\nrules: []\n", mode: :loud) }).to eq(:mode)
    end

    it "is :cache_size for a negative cache size" do
      ca = HanamiGuard::Testing::CA.new(subject: "CN=Option CA")
      expect(option_of { HanamiGuard::TrustStore.new(ca.to_pem, cache_size: -1) }).to eq(:cache_size)
    end

    it "is :fail_on for an unknown severity" do
      expect(option_of { HanamiGuard::Doctor.check!(fail_on: :severe) }).to eq(:fail_on)
    end
  end

  describe "raised by the core" do
    it "is :env for a bad variable name, a NUL in a value, and a name given twice" do
      expect(option_of { HanamiGuard::Command.new("true", env: { "A=B" => "1" }) }).to eq(:env)
      expect(option_of { HanamiGuard::Command.new("true", env: { "A" => "1\0" }) }).to eq(:env)
      expect(option_of { HanamiGuard::Command.new("true", env: { "A" => "1", A: "2" }) }).to eq(:env)
    end

    it "is :chdir for a relative or missing directory" do
      expect(option_of { HanamiGuard::Command.new("true", chdir: "relative") }).to eq(:chdir)
      expect(option_of { HanamiGuard::Command.new("true", chdir: File.join(dir, "missing")) }).to eq(:chdir)
    end

    it "is :path for an empty or relative search path" do
      expect(option_of { HanamiGuard::Command.new("true", path: []) }).to eq(:path)
      expect(option_of { HanamiGuard::Command.new("true", path: ["bin"]) }).to eq(:path)
    end

    it "is :allow and :options for a name that is not a placeholder, :allow for a NUL in a mapped value" do
      expect(option_of { HanamiGuard::Command.new("printf %s {x}", allow: { y: %w[a] }) }).to eq(:allow)
      expect(option_of { HanamiGuard::Command.new("printf %s {x}", options: [:y]) }).to eq(:options)
      expect(option_of { HanamiGuard::Command.new("printf %s {x}", allow: { x: { "k" => "v\0" } }) }).to eq(:allow)
    end

    it "is :fs for a relative or missing sandbox path" do
      expect(option_of { HanamiGuard::Command.new("true", fs: { read: ["relative"] }) }).to eq(:fs)
      expect(option_of { HanamiGuard::Command.new("true", fs: { read: [File.join(dir, "missing")] }) }).to eq(:fs)
    end

    it "is :template for the template's words and its executable" do
      ["echo 'x", "echo a > b", "echo {x", "#{dir}/no-such-program", "sh -c {script}"].each do |template|
        expect(option_of { HanamiGuard::Command.new(template) }).to eq(:template), template
      end
    end

    it "is :ca, :crls, :bundles and :cache_size for a TrustStore's unusable inputs" do
      ca = HanamiGuard::Testing::CA.new(subject: "CN=Option CA")
      leaf = ca.issue(subject: "CN=leaf")
      expect(option_of { HanamiGuard::TrustStore.new("not PEM") }).to eq(:ca)
      expect(option_of { HanamiGuard::TrustStore.new(leaf.to_pem) }).to eq(:ca)
      expect(option_of { HanamiGuard::TrustStore.new(ca.to_pem, crls: ["not a CRL"]) }).to eq(:crls)
      expect(option_of { HanamiGuard::TrustStore.new(ca.to_pem, bundles: { "not a domain!" => ca.to_pem }) })
        .to eq(:bundles)
      expect(option_of { HanamiGuard::TrustStore.new(ca.to_pem, cache_size: 1 << 40) }).to eq(:cache_size)
    end

    it "is :ca_file, :crl_files and :bundle_files for TrustStore.load's unusable files" do
      ca = HanamiGuard::Testing::CA.new(subject: "CN=Option CA")
      files = { ca: ca.to_pem, leaf: ca.issue(subject: "CN=leaf").to_pem, text: "not PEM\n" }
      files.each { |name, body| File.write(File.join(dir, "#{name}.pem"), body) }
      path = ->(name) { File.join(dir, "#{name}.pem") }
      expect(option_of { HanamiGuard::TrustStore.load(ca_file: path[:text]) }).to eq(:ca_file)
      expect(option_of { HanamiGuard::TrustStore.load(ca_file: path[:leaf]) }).to eq(:ca_file)
      expect(option_of { HanamiGuard::TrustStore.load(ca_file: path[:ca], crl_files: [path[:text]]) })
        .to eq(:crl_files)
      expect(option_of { HanamiGuard::TrustStore.load(bundle_files: { "prod.example.org" => path[:text] }) })
        .to eq(:bundle_files)
      # Larger than the 64 MiB a trust file may hold (sparse: nothing is written).
      big = File.join(dir, "big.pem")
      File.open(big, "w") { |f| f.truncate((64 << 20) + 1) }
      expect(option_of { HanamiGuard::TrustStore.load(ca_file: path[:ca], crl_files: [big]) })
        .to eq(:crl_files)
    end

    it "is :path for a Root whose base directory is unusable" do
      File.write(File.join(dir, "file"), "x")
      ["", "#{dir}/missing", "#{dir}/file", "#{dir}/nul\0byte"].each do |base|
        expect(option_of { HanamiGuard::Root.new(base) }).to eq(:path), base.inspect
      end
    end

    it "is :root for a doctor root that is not a directory" do
      expect(option_of { HanamiGuard::Doctor.run(root: File.join(dir, "missing")) }).to eq(:root)
    end
  end
end
