# frozen_string_literal: true

require "spec_helper"
require "rack"
require "rack/lint"
require "rack/mock"
require "erb"
require_relative "../../examples/lib/demo_pki"

# The Rack contract, checked by Rack's own Rack::Lint on whichever Rack is installed: Rack 2.2 on
# Debian 12 and Rack 3.1 on Debian 13 (bin/test runs this file on both). Rack 3's rules are the
# stricter ones: response header names in lower case, a headers Hash, a body that is closed. Lint
# stands on both sides of the middleware, so it checks the env the middleware hands the app as
# well as every response it makes itself (the 401 refusals).
RSpec.describe "hanami_guard under Rack::Lint (Rack #{Rack.release})" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-lint")
    @pki = DemoPki.new(@dir)
    @trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    @policy = HanamiGuard::Policy.parse(PolicyFixtures::OPERATORS_DEPLOY)
  end

  after(:all) { FileUtils.rm_rf(@dir) }

  let(:app) { RawHttp::ECHO_CN }

  def linted(inner, **options)
    Rack::Lint.new(HanamiGuard::Middleware::ClientIdentity.new(Rack::Lint.new(inner), trust: @trust, **options))
  end

  # Calls through Lint as a server would: reads the whole body, then closes it.
  def serve(stack, remote_addr: "127.0.0.1", **env)
    env = Rack::MockRequest.env_for("https://app.test/", "REMOTE_ADDR" => remote_addr, **env)
    status, headers, body = stack.call(env)
    text = +""
    body.each { |chunk| text << chunk }
    body.close if body.respond_to?(:close)
    [status, headers.to_h, text]
  end

  def xfcc(name)
    cert = @pki.cert(name)
    "Hash=#{OpenSSL::Digest::SHA256.hexdigest(cert.to_der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\""
  end

  it "passes the verified identity from Puma's peer certificate" do
    status, _, body = serve(linted(app, source: :puma), "HTTPS" => "on", "puma.peercert" => @pki.cert(:operator))
    expect([status, body]).to eq([200, "operator"])
  end

  it "refuses with a 401 whose headers are all lower case" do
    status, headers, body = serve(linted(app, source: :puma), "HTTPS" => "on", "puma.peercert" => @pki.cert(:rogue))
    expect(status).to eq(401)
    expect(body).to eq("unauthorized: unknown_issuer\n")
    expect(headers.keys).to all(match(/\A[a-z0-9-]+\z/))
    expect(headers).to include("content-type" => "text/plain", "content-length" => body.bytesize.to_s)
  end

  it "refuses a request with no certificate when one is required" do
    expect(serve(linted(app, source: :puma)).first).to eq(401)
  end

  it "lets an anonymous request through when none is required" do
    expect(serve(linted(app, source: :puma, required: false))).to include(200, "anonymous")
  end

  it "reads the forwarded header from the trusted hop" do
    stack = linted(app, header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["127.0.0.1/32"])
    expect(serve(stack, "HTTP_X_FORWARDED_CLIENT_CERT" => xfcc(:operator))).to include(200, "operator")
    expect(serve(stack, remote_addr: "203.0.113.5", "HTTP_X_FORWARDED_CLIENT_CERT" => xfcc(:operator)).first)
      .to eq(401)
  end

  HanamiShaped::VERSIONS.each do |version|
    context "with a Hanami #{version}-shaped action" do
      # A Hanami action returns its Response, which a server destructures with #to_ary; Lint wants
      # the Array itself.
      def action_stack(action)
        linted(->(env) { action.call(env).to_a }, source: :puma, required: false)
      end

      let(:action) do
        guard = @policy
        Class.new(HanamiShaped.action(version)) do
          include HanamiGuard::Action
          guard_policy guard
          require_identity
          define_method(:handle) do |request, response|
            authorize! request, :deploy, "worker"
            response.body = client_identity(request).subject["CN"]
          end
        end.new
      end

      it "answers 200, 401 and 403 within the Rack contract" do
        operator = serve(action_stack(action), "HTTPS" => "on", "puma.peercert" => @pki.cert(:operator))
        expect(operator.values_at(0, 2)).to eq([200, "operator"])
        expect(serve(action_stack(action)).first).to eq(401)
        contractor = serve(action_stack(action), "HTTPS" => "on", "puma.peercert" => @pki.cert(:contractor))
        expect(contractor.first).to eq(403)
      end
    end
  end
end
