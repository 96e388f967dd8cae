# frozen_string_literal: true

require "pathname"
require "yaml"

RSpec.describe HanamiGuard::Policy do
  include PolicySpecIdentities

  let(:yaml) do
    <<~YAML
      version: 1
      rules:
        - id: operators-deploy
          effect: allow
          actions: [deploy, restart]
          resources: [worker, api, "reports/*", "archive/**"]
          principals:
            - subject: { CN: operator, O: MyOrg }
              issuer:  { CN: MyOrg Internal CA }
            - spiffe_id: spiffe://prod.example.org/ns/ops/*
        - id: no-contractors
          effect: deny
          actions: ["*"]
          resources: [api]
          principals:
            - subject: { OU: Contractors }
    YAML
  end

  let(:policy) { described_class.parse(yaml, "config/hanami_guard.yml") }
  let(:ca) { { CN: "MyOrg Internal CA" } }
  let(:operator) { identity(subject: { CN: "operator", O: "MyOrg" }, issuer: ca) }
  let(:contractor) { identity(subject: [%w[CN operator], %w[O MyOrg], %w[OU Contractors]], issuer: ca) }

  def with_file(text)
    Dir.mktmpdir do |dir|
      path = File.join(dir, "hanami_guard.yml")
      File.write(path, text)
      yield path
    end
  end

  describe "default deny and deny overrides allow" do
    it "allows what a rule allows, and nothing else" do
      expect(policy.allowed?(operator, :deploy, "worker")).to be(true)
      expect(policy.allowed?(operator, "restart", "api")).to be(true)
      expect(policy.allowed?(operator, :delete, "worker")).to be(false)
      expect(policy.allowed?(operator, :deploy, "database")).to be(false)
      expect(policy.allowed?(identity(subject: { CN: "someone" }, issuer: ca), :deploy, "worker")).to be(false)
    end

    it "lets a matching deny rule win and names it" do
      expect(policy.allowed?(contractor, :deploy, "worker")).to be(true)
      decision = policy.decide(contractor, :deploy, "api")
      expect(decision.allowed?).to be(false)
      expect(decision.rule_id).to eq("no-contractors")
      expect(decision.reason).to include("no-contractors", "deny")
    end

    it "names the allowing rule, and no rule when nothing matched" do
      expect(policy.decide(operator, :deploy, "worker").rule_id).to eq("operators-deploy")
      decision = policy.decide(operator, :delete, "worker")
      expect([decision.allowed?, decision.rule_id]).to eq([false, nil])
      expect(decision.reason).to include("default deny", "delete", "worker")
    end

    it "denies a nil identity, even for a rule open to any identity" do
      open = described_class.define do
        allow :*, resources: ["**"], principals: ["*"], id: "open"
      end
      expect(open.allowed?(operator, :anything, "a/b")).to be(true)
      expect(open.allowed?(nil, :anything, "a/b")).to be(false)
      expect(open.decide(nil, :anything, "a/b").reason).to include("no identity")
    end

    it "denies everything with no rules" do
      expect(described_class.parse("version: 1\nrules: []\n").allowed?(operator, :deploy, "worker")).to be(false)
    end
  end

  describe "resource globs" do
    it "keeps * within one segment and lets ** cross segments" do
      expect(policy.allowed?(operator, :deploy, "reports/q1")).to be(true)
      expect(policy.allowed?(operator, :deploy, "reports/2024/q1")).to be(false)
      expect(policy.allowed?(operator, :deploy, "archive/2024/q1/summary")).to be(true)
      expect(policy.allowed?(operator, :deploy, "archivex/1")).to be(false)
    end

    it "never matches a glob with a resource holding .., ., an empty segment or a control character" do
      ["reports/../secrets", "archive/../../etc/passwd", "archive/./x", "archive//x", "reports/q1\n"].each do |r|
        expect(policy.allowed?(operator, :deploy, r)).to be(false), r.inspect
      end
    end
  end

  describe "SPIFFE patterns" do
    let(:spiffe_policy) do
      described_class.parse(<<~YAML)
        version: 1
        rules:
          - { id: one, effect: allow, actions: [deploy], resources: ["*"], principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/*" }] }
          - { id: deep, effect: allow, actions: [read], resources: ["*"], principals: [{ spiffe_id: "spiffe://prod.example.org/ns/ops/**" }] }
          - { id: td, effect: allow, actions: [ping], resources: ["*"], principals: [{ spiffe_id: { trust_domain: prod.example.org } }] }
      YAML
    end

    def may?(id, action)
      spiffe_policy.allowed?(identity(spiffe_id: id), action, "x")
    end

    it "/* matches exactly one more segment, /** any depth" do
      expect(may?("spiffe://prod.example.org/ns/ops/deployer", :deploy)).to be(true)
      expect(may?("spiffe://prod.example.org/ns/ops/sa/deployer", :deploy)).to be(false)
      expect(may?("spiffe://prod.example.org/ns/ops/sa/deployer", :read)).to be(true)
      expect(may?("spiffe://prod.example.org/ns/ops/a/b/c", :read)).to be(true)
    end

    it "never matches another trust domain or a look-alike path" do
      %w[
        spiffe://prod.example.org/ns/opsx/deployer spiffe://prod.example.org/ns/opsx
        spiffe://evil.example.org/ns/ops/deployer spiffe://prod.example.org.evil/ns/ops/deployer
        spiffe://prod.example.org/ns/ops/../admin spiffe://prod.example.org/ns/ops/x/
        SPIFFE://prod.example.org/ns/ops/x spiffe://prod.example.org/ns/ops/x%2Fy
      ].each do |id|
        expect(may?(id, :deploy)).to be(false), id
        expect(may?(id, :read)).to be(false), id
      end
      expect(may?("spiffe://prod.example.orgx/a", :ping)).to be(false)
      expect(may?("spiffe://prod.example.org/a", :ping)).to be(true)
    end

    it "reads a SPIFFE ID given as an object with #to_s" do
      id = Class.new { def to_s = "spiffe://prod.example.org/ns/ops/deployer" }.new
      expect(may?(id, :deploy)).to be(true)
    end
  end

  describe "names compared as structures" do
    it "does not let a CN of `operator,O=MyOrg` match subject { CN: operator, O: MyOrg }" do
      spoof = certificate(subject: [["CN", "operator,O=MyOrg"]])
      expect(spoof.subject.to_s).to include("operator")
      expect(policy.allowed?(spoof, :deploy, "worker")).to be(false)
      real = certificate(subject: [%w[CN operator], %w[O MyOrg]])
      expect(policy.allowed?(real, :deploy, "worker")).to be(true)
    end

    it "does not let a NUL byte or a control character slip a value past" do
      expect(policy.allowed?(identity(subject: { CN: "operator\0", O: "MyOrg" }, issuer: ca), :deploy, "worker"))
        .to be(false)
      expect(policy.allowed?(identity(subject: { CN: "operator\n", O: "MyOrg" }, issuer: ca), :deploy, "worker"))
        .to be(false)
    end

    it "compares values as RFC 5280 does (case, insignificant spaces) and type names in any spelling" do
      who = identity(subject: [["commonName", "  OPERATOR "], ["2.5.4.10", "myorg"]],
                     issuer: { CN: "myorg   internal ca" })
      expect(policy.allowed?(who, :deploy, "worker")).to be(true)
    end

    it "checks issuer conditions" do
      other_ca = identity(subject: { CN: "operator", O: "MyOrg" }, issuer: { CN: "Evil CA" })
      expect(policy.allowed?(other_ca, :deploy, "worker")).to be(false)
      expect(policy.allowed?(certificate(subject: [%w[CN operator], %w[O MyOrg]], issuer_cn: "Evil CA"),
                             :deploy, "worker")).to be(false)
    end
  end

  describe "fingerprint pins and DNS names" do
    let(:cert) { certificate(subject: [%w[CN pinned]], sans: ["DNS:api.example.org"]) }

    it "pins a certificate's SHA-256 (any case, colons allowed)" do
      colons = cert.fingerprint.upcase.scan(/../).join(":")
      pin = described_class.define do |p| # a block with an argument receives the builder
        p.allow :deploy, resources: ["worker"], principals: [{ fingerprint: colons }], id: "p"
      end
      expect(pin.allowed?(cert, :deploy, "worker")).to be(true)
      other = certificate(subject: [%w[CN pinned]], sans: ["DNS:api.example.org"])
      expect(pin.allowed?(other, :deploy, "worker")).to be(false)
      expect(pin.allowed?(identity(fingerprint: nil), :deploy, "worker")).to be(false)
    end

    it "matches a DNS name exactly, ignoring case" do
      by_dns = described_class.define do
        allow :read, resources: ["x"], principals: [{ dns_name: "API.example.org" }], id: "d"
      end
      expect(by_dns.allowed?(cert, :read, "x")).to be(true)
      expect(by_dns.allowed?(identity(dns_names: ["api.example.org.evil"]), :read, "x")).to be(false)
    end
  end

  describe "Policy.load, Policy.parse and Policy.define" do
    it "build the same policy" do
      built = described_class.define do
        allow :deploy, :restart, resources: ["worker", "api", "reports/*", "archive/**"], id: "operators-deploy",
                                 principals: [{ subject: { CN: "operator", O: "MyOrg" },
                                                issuer: { CN: "MyOrg Internal CA" } },
                                              { spiffe_id: "spiffe://prod.example.org/ns/ops/*" }]
        deny :*, resources: %w[api], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
      end
      with_file(yaml) do |path|
        loaded = described_class.load(path)
        expect(loaded.path).to eq(path)
        [[operator, :deploy, "worker"], [contractor, :deploy, "api"], [operator, :restart, "reports/x"],
         [operator, :delete, "worker"], [identity(spiffe_id: "spiffe://prod.example.org/ns/ops/x"), :deploy, "api"]]
          .each do |args|
          expect([built.decide(*args), loaded.decide(*args)]).to all(eq(policy.decide(*args)))
        end
        expect(built.rule_ids).to eq(policy.rule_ids)
      end
    end

    it "accepts a Pathname and returns frozen policies" do
      with_file(yaml) do |path|
        expect(described_class.load(Pathname(path))).to be_frozen
      end
      expect(policy).to be_frozen
      expect(policy.size).to eq(2)
      expect(policy.inspect).to include("config/hanami_guard.yml", "2 rules")
    end

    it "reads a BINARY string as UTF-8, and refuses invalid UTF-8 with a PolicyError" do
      expect(described_class.parse(yaml.b).size).to eq(2)
      expect { described_class.parse("version: 1\nrules: []\n# \xFF\n".b, "bin.yml") }
        .to raise_error(HanamiGuard::PolicyError, /bin\.yml: .*UTF-8/)
    end

    it "raises Errno::ENOENT for a missing file, as File would" do
      expect { described_class.load("/nonexistent/hanami_guard.yml") }.to raise_error(Errno::ENOENT)
    end

    it "checks argument types" do
      expect { described_class.parse(nil) }.to raise_error(TypeError, /YAML text/)
      expect { described_class.parse(yaml, 3) }.to raise_error(TypeError, /file name/)
      expect { described_class.load(3) }.to raise_error(TypeError, /path/)
      expect { described_class.define }.to raise_error(ArgumentError, /block/)
      expect { described_class.new }.to raise_error(NoMethodError)
    end
  end

  describe "PolicyError" do
    def refused(text)
      described_class.parse(text, "config/hanami_guard.yml")
      raise "expected a PolicyError"
    rescue HanamiGuard::PolicyError => e
      e.message
    end

    def rule(fields)
      base = { "id" => "r1", "effect" => "allow", "actions" => ["deploy"], "resources" => ["worker"],
               "principals" => ["*"] }
      { "version" => 1, "rules" => [base.merge(fields).compact] }.to_yaml
    end

    it "names the file, the rule and the key for every kind of mistake" do
      {
        rule("action" => ["x"]) => ['rule "r1"', "key action", "unknown key"],
        rule("actions" => "deploy") => ['rule "r1"', "key actions", "list"],
        rule("actions" => []) => ["key actions", "must not be empty"],
        rule("actions" => [42]) => ["key actions[0]", "must be a string"],
        rule("effect" => "permit") => ["key effect", "allow or deny"],
        rule("id" => nil) => ["rules[0] (no valid id)", "key id", "missing"],
        rule("resources" => ["a**"]) => ["key resources[0]", "malformed glob"],
        rule("principals" => [{ "spiffe_id" => "spiffe://td/*/x" }]) => ["principals[0].spiffe_id", "malformed"],
        rule("principals" => [{ "subject" => { "XX" => "y" } }]) => ["principals[0].subject.XX", "unknown attribute"],
        rule("principals" => [{ "fingerprint" => "abc" }]) => ["principals[0].fingerprint", "64 hex"],
        rule("principals" => [{ "cn" => "x" }]) => ["key principals[0].cn", "unknown key"],
        "version: 2\nrules: []\n" => ["key version", "must be 1"],
        "version: 1\nrules: [\n" => ["invalid YAML"]
      }.each do |text, parts|
        message = refused(text)
        expect(message).to start_with("config/hanami_guard.yml:")
        expect(message).to include(*parts)
      end
    end

    it "refuses duplicate ids, naming both" do
      text = { "version" => 1, "rules" => [
        { "id" => "a", "effect" => "allow", "actions" => ["x"], "resources" => ["r"], "principals" => ["*"] },
        { "id" => "a", "effect" => "deny", "actions" => ["x"], "resources" => ["r"], "principals" => ["*"] }
      ] }.to_yaml
      expect(refused(text)).to include('rule "a" (rules[1])', "duplicate", "rules[0]")
    end

    it "names Policy.define and its line, the rule and the key for DSL mistakes" do
      line = __LINE__ + 2
      expect do
        described_class.define { allow :deploy, resources: ["worker"], principals: [{ subject: { XX: "y" } }], id: "r" }
      end.to raise_error(HanamiGuard::PolicyError, /\APolicy\.define \(#{Regexp.escape(__FILE__)}:#{line}\): rule "r" /)
      expect do
        described_class.define { allow :deploy, resources: ["worker"], principals: [{ subject: { XX: "y" } }], id: "r" }
      end.to raise_error(HanamiGuard::PolicyError,
                         /rule "r" \(rules\[0\]\), key principals\[0\]\.subject\.XX: unknown attribute type/)
      expect { described_class.define { allow :deploy, resources: ["w"], principals: ["*"] } }
        .to raise_error(HanamiGuard::PolicyError) { |e|
          expect(e.details.slice(:rule_index, :key)).to eq(rule_index: 0, key: "id")
          expect(e.rule_id).to be_nil
        }
      expect { described_class.define { allow :deploy, resource: ["w"], principals: ["*"], id: "t" } }
        .to raise_error(HanamiGuard::PolicyError) { |e|
          expect([e.rule_id, e.details[:key]]).to eq(%w[t resource])
          expect(e.file).to start_with("Policy.define (#{__FILE__}:")
        }
      expect { described_class.define { allow resources: ["w"], principals: ["*"], id: "t" } }
        .to raise_error(HanamiGuard::PolicyError, /key actions: must not be empty/)
      expect { described_class.define { allow :x, resources: [/w/], principals: ["*"], id: "t" } }
        .to raise_error(HanamiGuard::PolicyError, /key resources\[0\]: must be a string, got a Ruby Regexp/)
      expect do
        described_class.define do
          allow :x, resources: ["w"], principals: [{ subject: { CN: "a", "CN" => "b" } }], id: "t"
        end
      end
        .to raise_error(HanamiGuard::PolicyError, /principals\[0\]\.subject\.CN.*given twice/)
      expect { described_class.define { allow :x, effect: "deny", resources: ["w"], principals: ["*"], id: "t" } }
        .to raise_error(HanamiGuard::PolicyError, /key effect/)
    end
  end

  describe "decisions never raise on request data" do
    it "denies, with a reason, whatever the resource, action or identity is" do
      raising = Struct.new(:spiffe_id) do
        def subject = raise(ArgumentError, "secret detail")
      end.new(nil)
      [
        [operator, :deploy, nil, /no resource/],
        [operator, :deploy, { "a" => 1 }, /resource is a Hash/],
        [operator, :deploy, ["worker"], /resource is a Array/],
        [operator, :deploy, 42, /resource is a Integer/],
        [operator, :deploy, "w\xFFx".b.force_encoding("UTF-8"), /not valid UTF-8/],
        [operator, nil, "worker", /no action/],
        [operator, :deploy, "x" * 100_000, /longer than 4096/],
        [raising, :deploy, "worker", /#subject raised ArgumentError/],
        [Object.new, :deploy, "worker", /#subject raised NoMethodError/],
        [identity(subject: [[:CN, 1]]), :deploy, "worker", /is a Integer, not a String/],
        [Struct.new(:subject, :issuer).new(Object.new, nil), :deploy, "worker", /#to_a raised NoMethodError/]
      ].each do |who, action, resource, reason|
        expect(policy.allowed?(who, action, resource)).to be(false)
        decision = policy.decide(who, action, resource)
        expect(decision.allowed?).to be(false)
        expect(decision.reason).to match(reason)
        expect(decision.reason).not_to include("secret detail")
      end
    end

    it "lets an interrupt raised by the identity propagate" do
      interrupting = Struct.new(:x) { def subject = raise(Interrupt) }.new(1)
      expect { policy.allowed?(interrupting, :deploy, "worker") }.to raise_error(Interrupt)
    end

    it "calls only the identity methods the policy needs" do
      spiffe_only = described_class.define do
        allow :read, resources: ["x"], principals: [{ spiffe_id: "spiffe://td/a" }], id: "s"
      end
      minimal = Struct.new(:spiffe_id).new("spiffe://td/a")
      expect(spiffe_only.allowed?(minimal, :read, "x")).to be(true)
    end
  end

  describe "#authorize!" do
    it "returns the decision when allowed and raises Forbidden carrying it when denied" do
      expect(policy.authorize!(operator, :deploy, "worker")).to be_allowed
      expect { policy.authorize!(contractor, :deploy, "api") }.to raise_error(HanamiGuard::Forbidden) { |e|
        expect(e.decision.rule_id).to eq("no-contractors")
        expect(e.message).to include("no-contractors")
      }
      expect { policy.authorize!(nil, :deploy, "worker") }.to raise_error(HanamiGuard::Forbidden, /no identity/)
    end
  end

  describe "#lint" do
    it "warns about shadowed rules, allow-anyone rules, dead globs and .. resources" do
      linted = described_class.define do
        allow :deploy, resources: ["worker"], principals: [{ subject: { CN: "op", O: "MyOrg" } }], id: "dead"
        allow :*, resources: ["**"], principals: ["*"], id: "open"
        allow :read, resources: ["a/../*", "../etc/passwd"], principals: [{ subject: { CN: "x" } }], id: "odd"
        deny :*, resources: ["**"], principals: [{ subject: { O: "MyOrg" } }], id: "no-myorg"
      end
      warnings = linted.lint
      expect(warnings).to be_frozen
      expect(warnings).to include(a_string_including('rule "dead"', "never allow", 'rule "no-myorg"'))
      expect(warnings).to include(a_string_including('rule "open"', "any identity"))
      expect(warnings).to include(a_string_including('rule "odd"', "can never match"))
      expect(warnings).to include(a_string_including('rule "odd"', "..", "../etc/passwd"))
    end

    it "is empty for a clean policy" do
      expect(policy.lint).to eq([])
    end
  end

  # Deploys a policy as the README says: a new file renamed over the old one.
  def replace(path, text)
    File.write("#{path}.tmp", text)
    File.rename("#{path}.tmp", path)
  end

  describe "#reload!" do
    it "reloads a changed file, and keeps the old policy when the new one is broken" do
      with_file(yaml) do |path|
        loaded = described_class.load(path)
        expect(loaded.reload!).to be(false)
        replace(path, yaml.sub("[deploy, restart]", "[restart]"))
        expect(loaded.reload!).to be(true)
        expect(loaded.allowed?(operator, :deploy, "worker")).to be(false)
        expect(loaded.allowed?(operator, :restart, "worker")).to be(true)

        replace(path, yaml.sub("effect: deny", "effect: dney"))
        expect do
          loaded.reload!
        end.to raise_error(HanamiGuard::PolicyError) { |e|
          expect([e.file, e.rule_id, e.details[:key]]).to eq([path, "no-contractors", "effect"])
        }
        # The old policy is still in force: the deny still denies.
        expect(loaded.allowed?(contractor, :restart, "api")).to be(false)
        expect(loaded.allowed?(operator, :restart, "worker")).to be(true)

        File.delete(path)
        expect { loaded.reload! }.to raise_error(Errno::ENOENT)
        expect(loaded.allowed?(contractor, :restart, "api")).to be(false)
      end
    end

    it "refuses to reload a policy that has no file" do
      expect { policy.reload! }.to raise_error(HanamiGuard::PolicyError, /not loaded from a file/)
    end
  end

  describe "threads" do
    it "decides concurrently from many threads, each getting the right answer", :slow do
      cases = [[operator, :deploy, "worker", true], [contractor, :deploy, "api", false],
               [contractor, :deploy, "worker", true], [operator, :delete, "worker", false],
               [nil, :deploy, "worker", false]]
      threads = Array.new(16) do |t|
        Thread.new do
          GcStress.size(200).times.map do |i|
            who, action, resource, expected = cases[(t + i) % cases.size]
            policy.allowed?(who, action,
                            resource) == expected && policy.decide(who, action, resource).allowed? == expected
          end.all?
        end
      end
      expect(threads.map(&:value)).to all(be(true))
    end

    it "keeps every decision consistent while another thread reloads", :slow do
      with_file(yaml) do |path|
        loaded = described_class.load(path)
        reloader = Thread.new do
          GcStress.size(20).times do |i|
            replace(path, i.even? ? yaml.sub("worker, api", "api") : yaml)
            loaded.reload!
            replace(path, "version: 1\nrules: [")
            begin
              loaded.reload!
            rescue HanamiGuard::PolicyError
              nil
            end
          end
        end
        deciders = Array.new(4) do
          Thread.new do
            GcStress.size(500).times.all? do
              !loaded.allowed?(contractor, :deploy, "api") && loaded.allowed?(operator, :deploy, "api")
            end
          end
        end
        reloader.join
        expect(deciders.map(&:value)).to all(be(true))
      end
    end
  end

  describe ".identity and Policy::Identity" do
    it "converts an identity once and decides the same way" do
      converted = described_class.identity(contractor)
      expect(converted).to be_a(HanamiGuard::Policy::Identity).and be_frozen
      expect(converted.subject).to eq([%w[CN operator], %w[O MyOrg], %w[OU Contractors]])
      [[:deploy, "worker"], [:deploy, "api"], [:delete, "x"]].each do |action, resource|
        expect(policy.decide(converted, action, resource)).to eq(policy.decide(contractor, action, resource))
      end
      expect(described_class.identity(nil)).to be_nil
      expect(described_class.identity(converted)).to be(converted)
    end

    it "converts a real certificate's identity" do
      cert = certificate(subject: [%w[CN operator], %w[O MyOrg]], sans: ["URI:spiffe://prod.example.org/ns/ops/x"])
      converted = described_class.identity(cert)
      expect(converted.spiffe_id).to eq("spiffe://prod.example.org/ns/ops/x")
      expect(converted.fingerprint).to eq(cert.fingerprint)
      expect(converted.to_s).to start_with("spiffe://prod.example.org/ns/ops/x sha256:")
      expect(policy.allowed?(converted, :deploy, "worker")).to be(true)
    end

    it "converts OpenSSL names from their DER, decoded by ASN.1 type, and decides on an OpenSSL certificate" do
      bmp = ["OU", "Contractors".encode("UTF-16BE").b, OpenSSL::ASN1::BMPSTRING]
      issued = CertFactory.leaf(issuer: CertFactory.ca, subject: [%w[CN operator], %w[O MyOrg], bmp])
      duck = Struct.new(:subject, :issuer, :spiffe_id, :dns_names, :fingerprint)
      converted = described_class.identity(duck.new(issued.cert.subject, issued.cert.issuer, nil, [], nil))
      expect(converted.subject).to eq([%w[CN operator], %w[O MyOrg], %w[OU Contractors]])
      expect(converted.issuer).to eq([%w[O Test], ["CN", "Test Root CA"]])
      expect(policy.decide(issued.cert, :deploy, "api").allowed?).to be(false)
    end

    it "builds an identity from plain data" do
      built = HanamiGuard::Policy::Identity.new(subject: { CN: "operator", O: "MyOrg" },
                                                issuer: [["CN",
                                                          "MyOrg Internal CA"]])
      expect(policy.allowed?(built, :deploy, "worker")).to be(true)
      expect(built.to_s).to eq("O=MyOrg,CN=operator") # RFC 4514 order, as DistinguishedName#to_s
      expect { HanamiGuard::Policy::Identity.new(subject: [[:CN, 1]]) }.to raise_error(TypeError, /pairs of Strings/)
      expect { HanamiGuard::Policy::Identity.new(dns_names: "x") }.to raise_error(TypeError, /dns_names/)
    end

    it "raises TypeError for an object that is not an identity" do
      expect { described_class.identity(Object.new) }.to raise_error(TypeError, /cannot convert the identity.*#subject/)
    end
  end

  describe "HanamiGuard.on_decision" do
    after { HanamiGuard.off_decision }

    it "sends nothing by default, then an event per decision" do
      events = []
      policy.allowed?(operator, :deploy, "worker")
      subscriber = HanamiGuard.on_decision { |event| events << event }
      policy.allowed?(operator, :deploy, "worker")
      policy.decide(contractor, :deploy, "api")
      expect { policy.authorize!(nil, :deploy, "worker") }.to raise_error(HanamiGuard::Forbidden)
      expect(events.size).to eq(3)
      # RFC 4514 order: the last attribute first (the identity lists CN, then O).
      expect(events[0]).to include(principal: "O=MyOrg,CN=operator", action: "deploy", resource: "worker",
                                   allowed: true, decision: :allow, rule_id: "operators-deploy")
      expect(events[0][:duration]).to be_a(Float)
      expect(events[1]).to include(decision: :deny, rule_id: "no-contractors")
      expect(events[2]).to include(principal: "(none)", decision: :deny, rule_id: nil)
      expect(events).to all(be_frozen)
      HanamiGuard.off_decision(subscriber)
      policy.allowed?(operator, :deploy, "worker")
      expect(events.size).to eq(3)
    end

    it "escapes control characters in the principal and resource, and survives a raising subscriber" do
      events = []
      HanamiGuard.on_decision { raise "boom" }
      HanamiGuard.on_decision { |event| events << event }
      evil = identity(subject: { CN: "x\nINFO forged" })
      expect do
        expect(policy.allowed?(evil, :deploy, "a\nb")).to be(false)
      end.to output(/subscriber raised RuntimeError/).to_stderr
      expect(events.last[:principal]).to eq("CN=x\\0AINFO forged")
      expect(events.last[:resource]).to eq("a\\nb")
    end
  end
end
