# frozen_string_literal: true

require "spec_helper"
require "socket"
require "erb"
require_relative "../../examples/lib/demo_pki"
require_relative "../../examples/lib/demo_server"

# Attacks on the forwarded certificate header, through a real Puma (plain TCP on loopback, which
# plays the trusted proxy's hop) and raw HTTP written on a socket, so Puma's own header handling
# (joining repeated lines with ", ", mapping names with underscores to the same Rack key) is part
# of what is tested.
# Every case must end in a refusal or in the identity the trusted hop vouched for, never another.
RSpec.describe "forwarded client certificate header spoofing" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-spoof")
    @pki = DemoPki.new(@dir)
    trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    echo = RawHttp::ECHO_CN
    @servers = {}
    @ports = {}
    { only: :only, last: :last }.each do |name, element|
      app = HanamiGuard::Middleware::ClientIdentity.new(
        echo, header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["127.0.0.1/32"], trust:,
              xfcc_element: element
      )
      server, @ports[name] = DemoServer.puma(app, "tcp://127.0.0.1:0", min_threads: 0, max_threads: 2)
      server.run
      @servers[name] = server
    end
  end

  after(:all) do
    @servers&.each_value { |server| server.stop(true) }
    FileUtils.rm_rf(@dir)
  end

  def xfcc(name, extra = "")
    cert = @pki.cert(name)
    "Hash=#{OpenSSL::Digest::SHA256.hexdigest(cert.to_der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\"#{extra}"
  end

  # Sends raw header lines; returns [status, body].
  def raw(header_lines, server: :only)
    RawHttp.exchange(TCPSocket.new("127.0.0.1", @ports.fetch(server)), header_lines)
  end

  it "accepts one element from the trusted hop (the baseline)" do
    expect(raw(["X-Forwarded-Client-Cert: #{xfcc(:contractor)}"])).to eq([200, "alice"])
  end

  it "refuses a client's header line that Puma joins with the proxy's" do
    lines = ["X-Forwarded-Client-Cert: #{xfcc(:operator)}", "X-Forwarded-Client-Cert: #{xfcc(:contractor)}"]
    expect(raw(lines)).to eq([401, "unauthorized: multiple_xfcc_elements\n"])
  end

  it "with xfcc_element: :last takes the element the trusted hop appended, never the client's" do
    lines = ["X-Forwarded-Client-Cert: #{xfcc(:operator)}", "x-forwarded-client-cert: #{xfcc(:contractor)}"]
    expect(raw(lines, server: :last)).to eq([200, "alice"])
  end

  # Puma drops the underscore spelling only when the dashed header is present too; a lone
  # underscore header becomes the header itself (underscore_header_spoofing_spec.rb).
  it "drops an underscore spelling sent next to the dashed header, before or after it" do
    underscore = "X_Forwarded_Client_Cert: #{xfcc(:operator)}"
    dashed = "X-Forwarded-Client-Cert: #{xfcc(:contractor)}"
    [[underscore, dashed], [dashed, underscore]].each do |lines|
      expect(raw(lines, server: :last)).to eq([200, "alice"])
      expect(raw(lines)).to eq([200, "alice"])
    end
  end

  it "does not let a quoted value smuggle a second element or a second Cert" do
    smuggled = "CN=x\\\",Cert=\\\"#{ERB::Util.url_encode(@pki.cert(:operator).to_pem)}"
    header = xfcc(:contractor, ";Subject=\"#{smuggled}\"")
    status, body = raw(["X-Forwarded-Client-Cert: #{header}"])
    expect(status == 401 || [status, body] == [200, "alice"]).to be(true), "got #{status} #{body}"
  end

  it "does not let a comma inside quotes split the element" do
    header = xfcc(:contractor, ";By=\"spiffe://a,#{xfcc(:operator).tr('"', "'")}\"")
    status, body = raw(["X-Forwarded-Client-Cert: #{header}"])
    expect(body).not_to eq("operator")
    expect([200, 401]).to include(status)
  end

  it "refuses a 64 KiB header in bounded time, before parsing it" do
    header = xfcc(:contractor, ";By=\"#{"a" * (64 * 1024)}\"")
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(raw(["X-Forwarded-Client-Cert: #{header}"])).to eq([401, "unauthorized: header_too_large\n"])
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5 * GcStress::SLOWDOWN
  end

  it "refuses thousands of elements in one header, in bounded time" do
    header = (["By=a"] * GcStress.size(3000)).join(",") # 15,000 bytes: under the size limit
    started = Process.clock_gettime(Process::CLOCK_MONOTONIC)
    expect(raw(["X-Forwarded-Client-Cert: #{header}"])).to eq([401, "unauthorized: multiple_xfcc_elements\n"])
    expect(Process.clock_gettime(Process::CLOCK_MONOTONIC) - started).to be < 5 * GcStress::SLOWDOWN
  end
end
