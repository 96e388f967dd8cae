# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"
require "stringio"

# Traps a Hanami user met: an action that forgets authorize! is open to every trusted client; a
# missing or non-scalar parameter, a directory or a file used as a directory become 500s; a
# forgotten middleware gives a silent 401 on every request.
shared_ca = nil
HanamiShaped::VERSIONS.each do |hanami|
  RSpec.describe HanamiGuard::Action, "in a Hanami #{hanami} action" do
    let(:ca) { shared_ca ||= HanamiGuard::Testing::CA.new(subject: "CN=Test CA,O=MyOrg") }
    let(:operator) { ca.issue(subject: "CN=operator,O=MyOrg") }
    let(:policy) do
      HanamiGuard::Policy.define do
        allow :read, resources: %w[**], principals: [{ subject: { CN: "operator" } }], id: "operators-read"
      end
    end
    let(:base) do
      guard = policy
      Class.new(HanamiShaped.action(hanami)) do
        include HanamiGuard::Action
        guard_policy guard
      end
    end

    def call(klass, identity: nil, params: {})
      klass.new.call(HanamiGuard::Testing.rack_env("/", identity:, params:))
    end

    describe "verify_authorized" do
      let(:forgetful) { Class.new(base) { define_method(:handle) { |_req, res| res.body = "secret" } } }
      let(:careful) do
        Class.new(base) do
          define_method(:handle) do |req, res|
            authorize! req, :read, "report"
            res.body = "report"
          end
        end
      end

      it "raises AuthorizationNotPerformed, unmapped, for an action that never authorized (development, test)" do
        expect { call(forgetful, identity: operator) }
          .to raise_error(HanamiGuard::AuthorizationNotPerformed, /authorize! request.*skip_authorization/m)
      end

      it "answers 403 and reports in production, never the body the action built" do
        forgetful.verify_authorized :forbid
        response = nil
        expect { response = call(forgetful, identity: operator) }
          .to output(/finished without calling authorize!; answered 403/).to_stderr
        expect([response.status, response.body_text]).to eq([403, "Forbidden"])
      end

      it "defaults to :forbid when HANAMI_ENV is production and to :raise otherwise" do
        previous = ENV.fetch("HANAMI_ENV", nil)
        ENV["HANAMI_ENV"] = "production"
        expect(forgetful.verify_authorized).to eq(:forbid)
        ENV["HANAMI_ENV"] = "test"
        expect(forgetful.verify_authorized).to eq(:raise)
      ensure
        ENV["HANAMI_ENV"] = previous
      end

      it "accepts an action that authorized, and one that declares skip_authorization with a reason" do
        expect(call(careful, identity: operator).status).to eq(200)
        forgetful.skip_authorization "a public health check"
        expect(call(forgetful, identity: operator).body_text).to eq("secret")
        expect(Class.new(forgetful).authorization_skipped).to eq("a public health check")
      end

      it "refuses skip_authorization without a reason and an unknown mode" do
        expect { forgetful.skip_authorization("") }.to raise_error(ArgumentError, /needs a reason/)
        expect do
          forgetful.verify_authorized(:warn)
        end.to raise_error(HanamiGuard::ConfigurationError, /:raise, :forbid, :off/)
        expect { described_class.verify_authorized = :yes }.to raise_error(HanamiGuard::ConfigurationError)
      end

      it "does not carry an authorization from one request to the next on the same frozen action" do
        half = Class.new(base) do
          define_method(:handle) do |req, res|
            authorize! req, :read, "report" if req.params[:auth]
            res.body = "ok"
          end
        end
        action = half.new
        expect(action.call(HanamiGuard::Testing.rack_env("/?auth=1", identity: operator)).status).to eq(200)
        expect { action.call(HanamiGuard::Testing.rack_env("/", identity: operator)) }
          .to raise_error(HanamiGuard::AuthorizationNotPerformed)
      end
    end

    describe "bad path input from params" do
      let(:dir) { Dir.mktmpdir("hanami_guard-action-paths") }
      let(:show) do
        root = HanamiGuard::Root.new(dir)
        Class.new(base) do
          define_method(:handle) do |req, res|
            authorize! req, :read, "files"
            res.body = root.read(req.params[:name])
          end
        end
      end

      before do
        File.write(File.join(dir, "a.txt"), "hello")
        Dir.mkdir(File.join(dir, "sub"))
      end

      after { FileUtils.rm_rf(dir) }

      it "maps each to 400 or 404, never 500" do
        { {} => 400, { "name" => ["a.txt"] } => 400, { "name" => { "x" => "a.txt" } } => 400,
          { "name" => "sub" } => 404, { "name" => "a.txt/x" } => 404, { "name" => "missing.txt" } => 404,
          { "name" => "../a.txt" } => 403, { "name" => "a\0.txt" } => 400,
          { "name" => "a.txt" } => 200 }.each do |params, status|
          expect(call(show, identity: operator, params:).status).to eq(status), "for #{params.inspect}"
        end
      end
    end

    describe "without the middleware" do
      it "says once, on stderr, how to add it, instead of a silent 401" do
        described_class.instance_variable_set(:@warned_missing_middleware, nil)
        klass = Class.new(base) { require_identity }
        env = -> { { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/", "rack.input" => StringIO.new } }
        expect { expect(klass.new.call(env.call).status).to eq(401) }
          .to output(/config.middleware.use HanamiGuard::Middleware::ClientIdentity/).to_stderr
        expect { klass.new.call(env.call) }.not_to output.to_stderr
        # With the middleware in place and no certificate, a 401 and no hint.
        expect { expect(call(klass).status).to eq(401) }.not_to output.to_stderr
      end
    end
  end
end
