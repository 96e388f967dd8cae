# frozen_string_literal: true

require "spec_helper"
require "rack/test"
require "erb"
$LOAD_PATH.unshift(File.expand_path("../../examples/lib", __dir__))
require "demo_pki"
require_relative "../../examples/config/app"

# The whole example stack (middleware, Hanami-shaped actions, the real Policy, Root and Command)
# driven through Rack with rack-test, without TLS: the env carries what Puma would put there.
RSpec.describe "the example app through Rack" do
  include Rack::Test::Methods

  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-rack")
    @pki = DemoPki.new(@dir)
    @app = ExampleApp.rack_app(ca_pem: File.read(@pki.path(:ca)), trusted_proxies: ["10.0.0.0/8"])
  end

  after(:all) { FileUtils.rm_rf(@dir) }

  attr_reader :app

  def as(name, remote_addr: "192.0.2.10")
    { "HTTPS" => "https", "puma.peercert" => @pki.cert(name), "REMOTE_ADDR" => remote_addr }
  end

  def xfcc(name)
    cert = @pki.cert(name)
    "Hash=#{OpenSSL::Digest::SHA256.hexdigest(cert.to_der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\""
  end

  it "serves the identity Puma verified" do
    get "/whoami", {}, as(:operator)
    expect([last_response.status, last_response.body]).to eq([200, "CN=operator,O=MyOrg\n"])
  end

  it "runs the deploy command with the allowlisted image only" do
    post "/deploy", { container: "api" }, as(:operator)
    expect([last_response.status, last_response.body]).to eq([200, "deploying api:stable (rule operators-deploy)\n"])
    post "/deploy", { container: "--help" }, as(:operator)
    expect(last_response.status).to eq(403)
  end

  it "answers 405 to a GET on the deploy action" do
    get "/deploy", { container: "worker" }, as(:operator)
    expect(last_response.status).to eq(405)
  end

  it "maps a missing file to 404 and an escape to 403" do
    get "/files", { path: "docs/nope.txt" }, as(:operator)
    expect(last_response.status).to eq(404)
    get "/files", { path: "docs/../../log/app.log" }, as(:operator)
    expect(last_response.status).to eq(403)
    get "/files", { path: "docs/runbook.txt\0.png" }, as(:operator)
    expect(last_response.status).to eq(400)
  end

  it "refuses option injection into tail" do
    get "/logs", { lines: "-f" }, as(:operator)
    expect(last_response.status).to eq(400)
    get "/logs", { lines: "1" }, as(:operator)
    expect([last_response.status, last_response.body.lines.size]).to eq([200, 1])
  end

  it "believes XFCC from the proxy network only" do
    get "/whoami", {}, { "HTTP_X_FORWARDED_CLIENT_CERT" => xfcc(:contractor), "REMOTE_ADDR" => "10.0.0.5" }
    expect(last_response.body).to eq("CN=alice,OU=Contractors,O=MyOrg\n")
    get "/whoami", {}, as(:operator).merge("HTTP_X_FORWARDED_CLIENT_CERT" => xfcc(:contractor))
    expect(last_response.body).to eq("CN=operator,O=MyOrg\n")
  end

  it "answers 401 without a certificate, before any action runs" do
    post "/deploy", { container: "worker" }
    expect([last_response.status, last_response.body]).to eq([401, "unauthorized: missing_certificate\n"])
  end
end
