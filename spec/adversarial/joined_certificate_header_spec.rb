# frozen_string_literal: true

require "spec_helper"
require "socket"
require "erb"
require_relative "../../examples/lib/demo_pki"
require_relative "../../examples/lib/demo_server"

# A client sends its own certificate header line; the proxy (which appends, or which sets the
# header only for clients with a certificate) adds its own. Puma joins repeated header lines with
# ", " into one value, whose first certificate is the client's. More than one certificate where
# one is expected is refused, in every format. A real Puma on loopback (the trusted hop), raw
# header lines on the socket, so the joining is Puma's own.
RSpec.describe "joined certificate header values" do
  encodings = {
    pem_escaped: ->(cert) { ERB::Util.url_encode(cert.to_pem) },
    pem: ->(cert) { cert.to_pem.tr("\n", " ").strip },
    der_base64: ->(cert) { [cert.to_der].pack("m0") },
    der_base64_wrapped: ->(cert) { ":#{[cert.to_der].pack("m0")}:" }
  }.freeze

  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-joined")
    @pki = DemoPki.new(@dir)
    trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    echo = RawHttp::ECHO_CN
    @servers = encodings.keys.to_h do |name|
      format = name == :der_base64_wrapped ? :der_base64 : name
      app = HanamiGuard::Middleware::ClientIdentity.new(
        echo, header: "X-Client-Cert", format:, trusted_proxies: ["127.0.0.1/32"], trust:
      )
      server, port = DemoServer.puma(app, "tcp://127.0.0.1:0", min_threads: 0, max_threads: 2)
      server.run
      [name, [server, port]]
    end
  end

  after(:all) do
    @servers&.each_value { |server, _port| server.stop(true) }
    FileUtils.rm_rf(@dir)
  end

  def raw(format, header_lines)
    RawHttp.exchange(TCPSocket.new("127.0.0.1", @servers.fetch(format)[1]), header_lines)
  end

  encodings.each do |format, encode|
    context "with #{format}" do
      it "accepts the one certificate the proxy forwards (the baseline)" do
        expect(raw(format, ["X-Client-Cert: #{encode.call(@pki.cert(:contractor))}"])).to eq([200, "alice"])
      end

      it "refuses the client's line joined with the proxy's, in either order" do
        client = "X-Client-Cert: #{encode.call(@pki.cert(:operator))}"
        proxy = "x-client-cert: #{encode.call(@pki.cert(:contractor))}"
        [[client, proxy], [proxy, client]].each do |lines|
          expect(raw(format, lines)).to eq([401, "unauthorized: multiple_certificates\n"])
        end
      end
    end
  end

  it "refuses two certificates in the one XFCC Cert field" do
    trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    app = HanamiGuard::Middleware::ClientIdentity.new(
      ->(_env) { [200, {}, ["reached"]] }, header: "X-Forwarded-Client-Cert", format: :xfcc,
                                           trusted_proxies: ["10.0.0.0/8"], trust:
    )
    both = ERB::Util.url_encode(@pki.cert(:operator).to_pem + @pki.cert(:contractor).to_pem)
    env = { "REMOTE_ADDR" => "10.0.0.1", "HTTP_X_FORWARDED_CLIENT_CERT" => "Cert=\"#{both}\"" }
    status, _headers, body = app.call(env)
    expect([status, body]).to eq([401, ["unauthorized: multiple_certificates\n"]])
  end

  it "refuses two PEM blocks in one escaped value" do
    both = ERB::Util.url_encode(@pki.cert(:operator).to_pem + @pki.cert(:contractor).to_pem)
    expect(raw(:pem_escaped, ["X-Client-Cert: #{both}"])).to eq([401, "unauthorized: multiple_certificates\n"])
  end
end
