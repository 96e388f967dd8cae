# frozen_string_literal: true

require "spec_helper"
require "erb"
require "rack/lint"
require "rack/mock"
require_relative "../../examples/lib/demo_pki"

# `::10.1.2.3` is an IPv4-compatible IPv6 address (deprecated, RFC 4291 2.5.5.1): a different
# IPv6 address, not the IPv4 one. Only the IPv4-mapped `::ffff:10.1.2.3` (RFC 4291 2.5.5.2) is
# how a dual-stack socket shows an IPv4 peer. A peer holding `::10.1.2.3` (or any address that
# IPAddr#native would fold onto the range) must not pass for a proxy in `10.0.0.0/8`.
RSpec.describe "IPv4-compatible IPv6 address passing for a trusted proxy" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-v4compat")
    @pki = DemoPki.new(@dir)
    @trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
  end

  after(:all) { FileUtils.rm_rf(@dir) }

  let(:events) { [] }
  let(:app) do
    echo = ->(env) { [200, { "content-type" => "text/plain" }, [env["hanami_guard.identity"].subject["CN"].to_s]] }
    Rack::Lint.new(HanamiGuard::Middleware::ClientIdentity.new(
                     Rack::Lint.new(echo), header: "X-Forwarded-Client-Cert", format: :xfcc,
                                           trusted_proxies: ["10.0.0.0/8"], trust: @trust,
                                           on_report: ->(event) { events << event }
                   ))
  end

  def request(remote_addr)
    cert = @pki.cert(:operator)
    xfcc = "Hash=#{OpenSSL::Digest::SHA256.hexdigest(cert.to_der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\""
    Rack::MockRequest.new(app).get("/", "REMOTE_ADDR" => remote_addr, "HTTP_X_FORWARDED_CLIENT_CERT" => xfcc)
  end

  it "believes the proxy at 10.1.2.3 and at its IPv4-mapped form ::ffff:10.1.2.3 (the baseline)" do
    %w[10.1.2.3 ::ffff:10.1.2.3 ::FFFF:a01:203].each do |addr|
      response = request(addr)
      expect([response.status, response.body]).to eq([200, "operator"]), addr
    end
  end

  it "ignores the header from ::10.1.2.3 and the other spellings of the IPv4-compatible form" do
    %w[::10.1.2.3 ::a01:203 0:0:0:0:0:0:10.1.2.3 0000::0a01:0203].each do |addr|
      response = request(addr)
      expect([response.status, response.body]).to eq([401, "unauthorized: missing_certificate\n"]), addr
    end
    expect(events.map { |e| e.values_at(:event, :reason) }.uniq).to include(%i[untrusted_proxy untrusted_address])
  end
end
