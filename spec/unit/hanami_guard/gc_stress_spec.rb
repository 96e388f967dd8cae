# frozen_string_literal: true

# Every binding entry point of Root, Command, Policy and Native once under a full GC.stress (a full
# GC at every allocation): a Ruby object the extension failed to keep alive would be freed
# under its feet. bin/test also runs the whole suite with GC.stress on inside every call into the
# extension (GC_STRESS=1: a minor GC at every allocation; GC_STRESS=full for full collections,
# see spec/support/gc_stress.rb); these examples keep a full-stress check of each entry point in
# every run. Fixtures are built first, outside the stress.
RSpec.describe "bindings under a full GC.stress", :slow, :gc_stress do
  def under_full_gc_stress
    previous = GC.stress
    GC.stress = true
    yield
  ensure
    GC.stress = previous
  end

  it "keeps Command's entry points working" do
    results = nil
    under_full_gc_stress do
      printf_cmd = HanamiGuard::Command.new("printf %s {value}", allow: { value: /[a-z ]+/ }, timeout: 5)
      result = printf_cmd.run(value: "hello world")
      plain = HanamiGuard::Command.run("printf", "%s", "x y", timeout: 5)
      results = [printf_cmd.argv(value: "a b"), result.stdout, result.success?, plain.stdout,
                 printf_cmd.executable]
    end
    expect(results).to eq([[results[4], "%s", "a b"], "hello world", true, "x y", results[4]])
    expect(results[4]).to start_with("/").and end_with("/printf")
  end

  it "keeps Policy's entry points working" do
    identity = PolicySpecIdentities::FakeIdentity.build(subject: { CN: "operator", O: "MyOrg" },
                                                        spiffe_id: "spiffe://prod.example.org/ns/ops")
    yaml = <<~YAML
      version: 1
      rules:
        - id: ops
          effect: allow
          actions: [deploy]
          resources: ["workers/*"]
          principals: [{ subject: { CN: operator, O: MyOrg } }]
        - id: no-api
          effect: deny
          actions: ["*"]
          resources: [api]
          principals: ["*"]
    YAML
    results = nil
    Dir.mktmpdir do |dir|
      path = File.join(dir, "policy.yml")
      File.write(path, yaml)
      under_full_gc_stress do
        loaded = HanamiGuard::Policy.load(path)
        parsed = HanamiGuard::Policy.parse(yaml)
        defined = HanamiGuard::Policy.define do
          allow :deploy, resources: %w[workers/*], principals: [{ subject: { CN: "operator" } }], id: "dsl"
        end
        converted = HanamiGuard::Policy.identity(identity)
        decision = parsed.decide(converted, :deploy, "workers/a")
        results = [loaded.allowed?(identity, :deploy, "workers/a"), decision.allowed?, decision.rule_id,
                   parsed.decide(identity, :read, "api").rule_id, defined.allowed?(identity, "deploy", "workers/b"),
                   loaded.lint.class, loaded.reload!, converted.subject.to_a.size, parsed.rule_ids]
      end
    end
    expect(results).to eq([true, true, "ops", "no-api", true, Array, false, 2, %w[ops no-api]])
  end

  it "keeps Root's entry points working, with both resolvers" do
    Dir.mktmpdir do |dir|
      base = File.join(dir, "base")
      Dir.mkdir(base)
      File.write(File.join(dir, "secret"), "outside")
      File.write(File.join(base, "a.txt"), "inside")
      File.symlink("../secret", File.join(base, "escape"))
      %i[auto walk].each do |resolver|
        results = nil
        under_full_gc_stress do
          root = HanamiGuard::Root.new(base, resolver:)
          root.mkdir_p("up")
          root.write("up/b.txt", "written")
          escaped = begin
            root.read("escape")
          rescue HanamiGuard::PathEscapeError => e
            e.class
          end
          results = [root.read("a.txt"), root.open("up/b.txt", &:read), root.exist?("a.txt"), root.file?("a.txt"),
                     root.directory?("up"), root.stat("a.txt").size, root.entries.sort, root.resolve("up/../a.txt"),
                     root.subroot("up").read("b.txt"), escaped,
                     HanamiGuard::Root.safe_name("../x.png").end_with?(".png")]
          root.close
          results << root.closed?
        end
        expect(results).to eq(["inside", "written", true, true, true, 6, %w[a.txt escape up],
                               File.join(File.realpath(base), "a.txt"), "written", HanamiGuard::PathEscapeError, true,
                               true])
      end
    end
  end

  it "keeps the panic guard and the GVL release working" do
    errors = []
    under_full_gc_stress do
      begin
        HanamiGuard::Native.__test_panic
      rescue HanamiGuard::Error => e
        errors << e.message
      end
      errors << HanamiGuard::Native.__test_wait_cancellable(0.01)
    end
    expect(errors.first).to match(/bug/)
    expect(errors.last).to eq(0)
  end
end
