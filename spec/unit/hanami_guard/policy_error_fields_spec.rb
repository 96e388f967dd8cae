# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/cli"
require "stringio"

# A refused policy file says where to fix it: PolicyError#file, #line and #rule_id for code,
# "line N" in the message for people, FILE:LINE in the command-line tool's output.
RSpec.describe HanamiGuard::PolicyError do
  let(:dir) { Dir.mktmpdir("hanami_guard-policy-lines") }

  after { FileUtils.rm_rf(dir) }

  # Lines 1-7: the top and one good rule; the first line of `tail` is line 8.
  def policy_with(tail)
    <<~YAML + tail
      version: 1
      rules:
        - id: r1
          effect: allow
          actions: [deploy]
          resources: [worker]
          principals: ["*"]
    YAML
  end

  # A second rule `r2` at line 8, with the given lines after its id.
  def second_rule(lines)
    policy_with("  - id: r2\n#{lines}")
  end

  rule_r1_again = "  - {id: r1, effect: deny, actions: [a], resources: [b], principals: [\"*\"]}\n"
  bad_subject = "    principals:\n      - subject:\n          CN: op\n          XX: y\n"
  good_rest = "    effect: allow\n    actions: [deploy]\n    resources: [worker]\n    principals: [\"*\"]\n"

  def refusal(text, name = "policy.yml")
    path = File.join(dir, name)
    File.write(path, text)
    HanamiGuard::Policy.load(path)
    raise "expected #{text.inspect} to be refused"
  rescue described_class => e
    e
  end

  # what => [text, line, rule_id, key]
  {
    "a YAML syntax error" => [:policy_with, "  - id: [oops\n", 9, nil, nil],
    "a duplicate key" => [:second_rule, "#{good_rest}    effect: deny\n", 13, nil, nil],
    "an alias to no anchor" => [:policy_with, "  - *nowhere\n", 8, nil, nil],
    "an unknown top-level key" => [:policy_with, "ruels: []\n", 8, nil, "ruels"],
    "a merge key" => [:second_rule, "#{good_rest}    <<: {mode: shadow}\n", 13, "r2", "<<"],
    "a tag" => [:second_rule, "    effect: !allow allow\n", 9, "r2", "effect"],
    "a number where a string goes" => [:second_rule, "    effect: allow\n    actions:\n      - deploy\n      - 42\n",
                                       12, "r2", "actions[1]"],
    "a missing key (the rule's line)" => [:second_rule, "    effect: allow\n", 8, "r2", "actions"],
    "a bad attribute in a principal" => [:second_rule, good_rest.lines.first(3).join + bad_subject,
                                         15, "r2", "principals[0].subject.XX"],
    "a duplicate id" => [:policy_with, rule_r1_again, 8, "r1", "id"],
    "a rule with an unusable id" => [:policy_with, "  - id: \"\"\n", 8, nil, "id"]
  }.each do |what, (shape, tail, line, rule_id, key)|
    it "names the line and rule of #{what}" do
      e = refusal(send(shape, tail))
      expect([e.kind, e.file, e.line, e.rule_id, e.details[:key]])
        .to eq([:policy, File.join(dir, "policy.yml"), line, rule_id, key])
      expect(e.message).to start_with("#{e.file}: line #{line}, ")
    end
  end

  it "names the line of a bad version, and of a missing one (the top)" do
    e = refusal("# comment\nrules: []\nversion: 2\n")
    expect([e.line, e.rule_id, e.details[:key]]).to eq([3, nil, "version"])
    expect(refusal("\nrules: []\n").line).to eq(2)
  end

  it "has no line where none is knowable: a Policy.define tree, a file that is not UTF-8" do
    expect { HanamiGuard::Policy.define { allow :deploy, resources: ["w"], principals: ["*"], id: "" } }
      .to raise_error(described_class) { |e| expect([e.line, e.details[:key]]).to eq([nil, "id"]) }
    e = refusal("version: 1\nrules: []\n# \xff\n".b)
    expect([e.line, e.file]).to eq([nil, File.join(dir, "policy.yml")])
  end

  it "makes lint print the line each warned rule starts at" do
    path = File.join(dir, "open.yml")
    File.write(path, policy_with("\n  - id: dead\n    effect: allow\n    actions: [deploy]\n    " \
                                 "resources: [\"a/./b\"]\n    principals: [\"*\"]\n"))
    out = StringIO.new
    expect(HanamiGuard::CLI.new(["lint", path], stdout: out, stderr: StringIO.new).run).to eq(1)
    lines = out.string.lines
    expect(lines).to include(start_with("#{path}:3: warning: rule \"r1\""),
                             start_with("#{path}:9: warning: rule \"dead\""))
    expect(lines).to all(match(/\A#{Regexp.escape(path)}:\d+: warning: /))
  end

  it "makes the command-line tool print FILE:LINE for check and lint" do
    path = File.join(dir, "bad.yml")
    File.write(path, second_rule("    effect: permit\n"))
    %w[lint check].each do |command|
      argv = command == "lint" ? [command, path] : [command, "--policy", path, "--cert", path, "deploy", "worker"]
      err = StringIO.new
      code = HanamiGuard::CLI.new(argv, stdout: StringIO.new, stderr: err).run
      expect(code).to eq(3)
      expect(err.string).to start_with("hanami_guard: #{path}:9: rule \"r2\" (rules[1]), key effect: ")
      expect(err.string.lines.size).to eq(1)
    end
  end
end
