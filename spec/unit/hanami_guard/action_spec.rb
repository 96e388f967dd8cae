# frozen_string_literal: true

require "spec_helper"
require "rack/test"
require "stringio"
require_relative "../../../examples/lib/demo_pki"

HanamiShaped::VERSIONS.each do |hanami|
  RSpec.describe HanamiGuard::Action, "in a Hanami #{hanami} action" do
    before(:all) do
      @pki_dir = Dir.mktmpdir("hanami_guard-action")
      @pki = DemoPki.new(@pki_dir)
      @policy = HanamiGuard::Policy.parse(PolicyFixtures::OPERATORS_DEPLOY)
      @operator = HanamiGuard::Certificate.parse(@pki.cert(:operator))
      @contractor = HanamiGuard::Certificate.parse(@pki.cert(:contractor))
    end

    after(:all) { FileUtils.rm_rf(@pki_dir) }

    let(:policy) { @policy }
    let(:operator) { @operator }
    let(:contractor) { @contractor }

    let(:base) do
      guard = policy
      Class.new(HanamiShaped.action(hanami)) do
        include HanamiGuard::Action
        guard_policy guard
        verify_authorized :off # verify_authorized has its own spec (action_verify_authorized_spec.rb)
      end
    end

    def action_class(parent = base, &handle)
      Class.new(parent) { define_method(:handle, &handle) if handle }
    end

    # A minimal Rack env, built by hand: it keeps the examples light under GC.stress.
    def env_for(query = "")
      { "REQUEST_METHOD" => "GET", "SCRIPT_NAME" => "", "PATH_INFO" => "/", "QUERY_STRING" => query,
        "SERVER_NAME" => "app.test", "SERVER_PORT" => "443", "rack.url_scheme" => "https",
        "rack.input" => StringIO.new }
    end

    def call(klass, identity: nil, query: "")
      env = env_for(query)
      env[HanamiGuard::Middleware::ClientIdentity::ENV_KEY] = identity if identity
      klass.new.call(env)
    end

    describe "including it" do
      it "registers hanami_guard's error => status mappings, subclasses before their ancestors" do
        mappings = base.config.handled_exceptions
        expect(mappings).to include(described_class::STATUSES)
        keys = mappings.keys
        expect(keys.index(HanamiGuard::PathEscapeError)).to be < keys.index(HanamiGuard::PathError)
      end

      it "needs a Hanami action class" do
        expect { Class.new { include HanamiGuard::Action } }
          .to raise_error(HanamiGuard::ConfigurationError, /Hanami::Action subclass/)
      end

      {
        HanamiGuard::MissingIdentity => 401, HanamiGuard::UntrustedCertificate => 401,
        HanamiGuard::Forbidden => 403, HanamiGuard::PathEscapeError => 403, HanamiGuard::PathError => 400,
        HanamiGuard::CertificateError => 400, HanamiGuard::CommandNotAllowed => 400, HanamiGuard::CommandTimeout => 504
      }.each do |error, status|
        it "answers #{status} for #{error.name.split("::").last}, in a subclass of the base action" do
          response = call(action_class { |*| raise error, "secret detail" })
          expect(response.status).to eq(status)
          expect(response.body_text).to eq(Rack::Utils::HTTP_STATUS_CODES.fetch(status))
          expect(response.body_text).not_to include("secret")
        end
      end

      it "leaves other errors (CommandFailed, bugs) to Hanami: they propagate as a 500" do
        klass = action_class { |*| raise HanamiGuard::CommandFailed, "exit 1" }
        expect { call(klass) }.to raise_error(HanamiGuard::CommandFailed)
      end

      it "lets an action map an error itself, overriding the module's status" do
        klass = action_class { |*| raise HanamiGuard::Forbidden }
        klass.config.handle_exception(HanamiGuard::Forbidden => 404)
        expect(call(klass).status).to eq(404)
        expect(call(action_class { |*| raise HanamiGuard::Forbidden }).status).to eq(403)
      end
    end

    describe ".require_identity" do
      let(:klass) do
        action_class { |request, response| response.body = client_identity(request).subject.to_s }
          .tap(&:require_identity)
      end

      it "answers 401 before handle when there is no identity" do
        ran = []
        no_identity = action_class { |*| ran << :handle }.tap(&:require_identity)
        expect(call(no_identity).status).to eq(401)
        expect(ran).to be_empty
      end

      it "runs handle when the middleware set an identity" do
        response = call(klass, identity: operator)
        expect(response.status).to eq(200)
        expect(response.body_text).to eq("CN=operator,O=MyOrg")
      end

      it "is inherited by subclasses" do
        expect(call(action_class(klass)).status).to eq(401)
      end

      it "keeps no state on the action, which Hanami freezes: one instance serves many requests" do
        action = klass.new
        expect(action).to be_frozen
        env = env_for
        env[HanamiGuard::Middleware::ClientIdentity::ENV_KEY] = operator
        expect(action.call(env).status).to eq(200)
        expect(action.call(env_for).status).to eq(401)
      end
    end

    describe "#client_identity" do
      it "returns only a HanamiGuard::Certificate, never another value under the key" do
        klass = action_class { |request, response| response.body = client_identity(request).inspect }
        expect(call(klass, identity: "CN=operator,O=MyOrg").body_text).to eq("nil")
        expect(call(klass).body_text).to eq("nil")
      end
    end

    describe "#authorize!" do
      let(:deploy) do
        action_class do |request, response|
          decision = authorize!(request, :deploy, request.params[:container])
          response.body = "deployed by #{decision.rule_id}"
        end
      end

      it "allows what the policy allows and returns the decision" do
        response = call(deploy, identity: operator, query: "container=worker")
        expect([response.status, response.body_text]).to eq([200, "deployed by operators-deploy"])
      end

      it "answers 403 when the policy denies" do
        expect(call(deploy, identity: contractor, query: "container=worker").status).to eq(403)
        expect(call(deploy, identity: operator, query: "container=worker%3Bid").status).to eq(403)
      end

      it "answers 401 without an identity" do
        expect(call(deploy, query: "container=worker").status).to eq(401)
      end

      it "raises ConfigurationError, unmapped, when no policy was set" do
        klass = Class.new(HanamiShaped.action(hanami)) do
          include HanamiGuard::Action
          def handle(request, _response) = authorize!(request, :deploy, "worker")
        end
        expect { call(klass, identity: operator) }.to raise_error(HanamiGuard::ConfigurationError, /guard_policy/)
      end
    end

    describe ".guard_policy" do
      it "is inherited, and a subclass may set its own" do
        other = HanamiGuard::Policy.parse("version: 1\nrules: []\n")
        child = action_class
        expect(child.guard_policy).to equal(policy)
        child.guard_policy(other)
        expect(child.guard_policy).to equal(other)
        expect(base.guard_policy).to equal(policy)
      end

      it "refuses what is not a policy" do
        expect { base.guard_policy("config/hanami_guard.yml") }.to raise_error(TypeError, /Policy/)
        expect { base.guard_policy(policy, policy) }.to raise_error(ArgumentError)
      end
    end

    describe "behind HanamiGuard::Middleware::ClientIdentity" do
      include Rack::Test::Methods

      let(:app) do
        trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
        action = action_class { |request, response| response.body = client_identity(request).subject["CN"] }
                 .tap(&:require_identity).new
        Rack::Builder.new do
          use HanamiGuard::Middleware::ClientIdentity, source: :puma, trust: trust, required: false
          run action
        end
      end

      it "sees the identity the middleware verified" do
        get "/", {}, "HTTPS" => "on", "puma.peercert" => @pki.cert(:contractor)
        expect([last_response.status, last_response.body]).to eq([200, "alice"])
        get "/"
        expect(last_response.status).to eq(401)
      end
    end

    next unless hanami >= "3.0"

    describe "exception names given as Strings (hanami-action 3.0)" do
      # 3.0's sort leaves every pair with a String key where it stands, so once an app names an
      # error as a String the subclass-first order of the mappings is no longer Hanami's doing.
      it "still answers 403, not PathError's 400, for a PathEscapeError" do
        app_base = Class.new(base) do
          handle_exception "ROM::TupleCountMismatchError" => 404, "Dry::Struct::Error" => 422
          handle_exception "Sequel::NoMatchingRow" => 404
        end
        expect(call(action_class(app_base) { |*| raise HanamiGuard::PathEscapeError, "x" }).status).to eq(403)
        expect(call(action_class(app_base) { |*| raise HanamiGuard::PathError, "x" }).status).to eq(400)
      end

      # 3.0's sort cannot move hanami_guard's errors past String keys to get them before an app's
      # StandardError; without the module's own ordering, a Forbidden was answered 500 here.
      it "keeps every status when the app's base maps StandardError and names errors before including it" do
        app_base = Class.new(HanamiShaped.action(hanami)) do
          handle_exception "E::V" => 404, "A::X" => 404, "C::Z" => 404, IOError => 503, ArgumentError => 422,
                           "B::Y" => 404, StandardError => 500, KeyError => 404, "D::W" => 404
          include HanamiGuard::Action
        end
        described_class::STATUSES.each do |error, status|
          expect(call(action_class(app_base) { |*| raise error, "x" }).status).to eq(status), error.name
        end
        expect(call(action_class(app_base) { |*| raise ArgumentError }).status).to eq(422)
        expect(call(action_class(app_base) { |*| raise "bug" }).status).to eq(500)
      end

      it "is not overridden by an app's \"StandardError\" => 500, which matches that class exactly" do
        app_base = Class.new(base) { handle_exception "StandardError" => 500 }
        expect(call(action_class(app_base) { |*| raise HanamiGuard::Forbidden }).status).to eq(403)
      end

      it "raises FrozenError for require_identity on a class already instantiated (config is finalized)" do
        klass = action_class
        klass.new
        expect { klass.require_identity }.to raise_error(FrozenError)
      end
    end
  end
end
