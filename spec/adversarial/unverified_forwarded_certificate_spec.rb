# frozen_string_literal: true

require "spec_helper"
require "erb"
require "rack/lint"
require "rack/mock"
require_relative "../../examples/lib/demo_pki"

# A proxy can forward a certificate it never verified: nginx with `ssl_verify_client
# optional_no_ca` passes any certificate in $ssl_client_escaped_cert, and a shared edge may trust a
# wider CA bundle than the app. A client then mints a self-signed certificate with the operator's
# subject. A forwarded header without `trust:` used to be accepted silently; now the app must
# give a TrustStore, or say explicitly that the proxy verifies (`trust: :proxy_verified`).
RSpec.describe "unverified forwarded certificate (header: without trust:)" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-unverified")
    @pki = DemoPki.new(@dir)
    @minted = CertFactory.leaf(issuer: nil, subject: [%w[O MyOrg], %w[CN operator]]).cert
  end

  after(:all) { FileUtils.rm_rf(@dir) }

  let(:echo) do
    ->(env) { [200, { "content-type" => "text/plain" }, [env["hanami_guard.identity"].subject["CN"].to_s]] }
  end
  let(:options) { { header: "X-Client-Cert", format: :pem_escaped, trusted_proxies: ["10.0.0.0/8"] } }

  def request(middleware)
    Rack::MockRequest.new(Rack::Lint.new(middleware)).get(
      "/", "REMOTE_ADDR" => "10.0.0.1", "HTTP_X_CLIENT_CERT" => ERB::Util.url_encode(@minted.to_pem)
    )
  end

  it "refuses to boot without trust:, naming the risk and the two ways out" do
    [options, options.merge(source: :puma), options.merge(trust: nil)].each do |config|
      expect { HanamiGuard::Middleware::ClientIdentity.new(echo, **config) }
        .to raise_error(ArgumentError, /optional_no_ca.*TrustStore|TrustStore.*optional_no_ca/m)
    end
  end

  it "refuses the minted certificate with a TrustStore" do
    trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    response = request(HanamiGuard::Middleware::ClientIdentity.new(echo, **options, trust:))
    expect([response.status, response.body]).to eq([401, "unauthorized: unknown_issuer\n"])
  end

  it "believes the proxy only when the app says so (trust: :proxy_verified)" do
    response = request(HanamiGuard::Middleware::ClientIdentity.new(echo, **options, trust: :proxy_verified))
    expect([response.status, response.body]).to eq([200, "operator"])
  end
end
