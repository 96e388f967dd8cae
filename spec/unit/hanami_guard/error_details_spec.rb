# frozen_string_literal: true

require "tmpdir"

RSpec.describe "HanamiGuard::Error#details" do
  it "is an empty frozen Hash for an error raised without details" do
    error = HanamiGuard::ConfigurationError.new("x")
    expect(error.details).to eq({})
    expect(error.details).to be_frozen
    expect([error.check, error.option]).to eq([nil, nil])
  end

  it "is frozen even when the caller's Hash is not, and does not alias it" do
    given = { check: :nul }
    error = HanamiGuard::PathError.new("x", details: given)
    given[:check] = :absolute
    expect(error.details).to eq(check: :nul)
    expect(error.details).to be_frozen
  end

  it "carries the fields the core set, as Symbols and Strings" do
    Dir.mktmpdir do |base|
      root = HanamiGuard::Root.new(base)
      expect { root.read("../x\e[31m") }.to raise_error(HanamiGuard::PathEscapeError) { |e|
        expect(e.details).to eq(check: :dotdot, path: "../x\\u{1b}[31m")
        expect(e.details).to be_frozen
        expect(e.details.keys).to all(be_a(Symbol))
      }
    end
  end

  it "names the policy file, rule and key of a YAML policy mistake" do
    Dir.mktmpdir do |dir|
      path = File.join(dir, "policy.yml")
      File.write(path, <<~YAML)
        version: 1
        rules:
          - id: ops
            effect: alow
            actions: [deploy]
            resources: ["*"]
            principals: ["*"]
      YAML
      expect { HanamiGuard::Policy.load(path) }.to raise_error(HanamiGuard::PolicyError) { |e|
        expect(e.details.slice(:file, :rule_id, :rule_index, :key))
          .to eq(file: path, rule_id: "ops", rule_index: 0, key: "effect")
      }
    end
  end
end
