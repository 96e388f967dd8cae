# frozen_string_literal: true

require "spec_helper"
require "socket"
require "erb"
require "puma"
require "puma/minissl"
require_relative "../../examples/lib/demo_pki"
require_relative "../../examples/lib/demo_server"

# A client that reaches the app directly (from inside the proxies' address range: in a cluster,
# every pod is) sends `X_Forwarded_Client_Cert` with someone else's public certificate. Puma reads
# that spelling as the dashed header when no dashed line is present, so Rack cannot tell them
# apart; the address check alone believes it. With proxy_identity: the header is read only on a
# connection whose TLS peer is the proxy's own certificate. A real Puma with real mutual TLS on
# loopback, and raw header lines written on the TLS socket.
RSpec.describe "underscore header spoofing (X_Forwarded_Client_Cert)" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-underscore")
    @pki = DemoPki.new(@dir)
    @proxy_fingerprint = OpenSSL::Digest::SHA256.hexdigest(@pki.cert(:proxy).to_der)
    @partner_proxy_key, @partner_proxy = partner_issued_proxy
    trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    @events = Queue.new
    report = ->(event) { @events << event }
    echo = RawHttp::ECHO_CN
    # Every configuration trusts the loopback range the attacker connects from.
    base = { source: :puma, header: "X-Forwarded-Client-Cert", format: :xfcc, trust:, on_report: report }
    configs = {
      by_address: base.merge(trusted_proxies: ["127.0.0.0/8"]),
      by_fingerprint: base.merge(trusted_proxies: ["127.0.0.0/8"], proxy_identity: { fingerprint: @proxy_fingerprint }),
      by_subject: base.merge(proxy_identity: { subject: "CN=edge-proxy,OU=Edge,O=MyOrg" }),
      # What Puma hands the app as the header, whatever the spelling.
      raw: nil
    }
    @servers = configs.to_h do |name, options|
      app = options ? HanamiGuard::Middleware::ClientIdentity.new(echo, **options) : raw_echo
      [name, start_puma(app)]
    end
  end

  after(:all) do
    @servers&.each_value { |server, _port| server.stop(true) }
    FileUtils.rm_rf(@dir)
  end

  before { @events.clear }

  def raw_echo
    ->(env) { [200, { "content-type" => "text/plain" }, [env["HTTP_X_FORWARDED_CLIENT_CERT"].to_s[0, 40]]] }
  end

  # Puma's CA bundle holds the partner CA as well (as a shared edge often does): Puma lets its
  # certificates through the handshake, the app's own TrustStore does not.
  def start_puma(app)
    query = URI.encode_www_form(key: @pki.path(:server, :key), cert: @pki.path(:server),
                                ca: @pki.path(:tls_bundle), verify_mode: "peer")
    server, port = DemoServer.puma(app, "ssl://127.0.0.1:0?#{query}", min_threads: 0, max_threads: 2)
    server.run
    [server, port]
  end

  # A certificate with the proxy's subject, issued by the partner CA.
  def partner_issued_proxy
    key = OpenSSL::PKey::EC.generate("prime256v1")
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = 4242
    cert.subject = OpenSSL::X509::Name.new([%w[O MyOrg], %w[OU Edge], %w[CN edge-proxy]])
    cert.issuer = @pki.cert(:partner_ca).subject
    cert.public_key = key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + 3600
    ext = OpenSSL::X509::ExtensionFactory.new(@pki.cert(:partner_ca), cert)
    cert.add_extension(ext.create_extension("basicConstraints", "CA:FALSE", true))
    cert.add_extension(ext.create_extension("extendedKeyUsage", "clientAuth"))
    cert.sign(@pki.key(:partner_ca), OpenSSL::Digest.new("SHA256"))
    [key, cert]
  end

  def xfcc(name)
    cert = @pki.cert(name)
    "Hash=#{OpenSSL::Digest::SHA256.hexdigest(cert.to_der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\""
  end

  # One request over TLS with the given client certificate (nil: none) and raw header lines.
  # Returns [status, body].
  def raw(server, header_lines, as: nil)
    context = OpenSSL::SSL::SSLContext.new
    context.verify_mode = OpenSSL::SSL::VERIFY_PEER
    context.ca_file = @pki.path(:ca)
    context.cert, context.key =
      as == :partner_proxy ? [@partner_proxy, @partner_proxy_key] : [as && @pki.cert(as), as && @pki.key(as)]
    tcp = TCPSocket.new("127.0.0.1", @servers.fetch(server)[1])
    tls = OpenSSL::SSL::SSLSocket.new(tcp, context)
    tls.sync_close = true
    tls.connect
    RawHttp.exchange(tls, header_lines)
  end

  # Puma::Request#req_env_post_parse (5.0.3 on; 6.x alike): an underscore name is kept under the
  # dashed name's Rack key unless the dashed header is present too.
  it "Puma reads a lone underscore spelling as the header itself (why Rack cannot refuse it)" do
    expect(raw(:raw, ["X_Forwarded_Client_Cert: spoofed"])).to eq([200, "spoofed"])
    # ... and drops it when the dashed header is also present, whichever comes first.
    expect(raw(:raw, ["X_Forwarded_Client_Cert: spoofed", "X-Forwarded-Client-Cert: real"])).to eq([200, "real"])
    expect(raw(:raw, ["X-Forwarded-Client-Cert: real", "X_Forwarded_Client_Cert: spoofed"])).to eq([200, "real"])
  end

  it "with trusted_proxies alone, any host in the range passes for the proxy (why proxy_identity: exists)" do
    expect(raw(:by_address, ["X_Forwarded_Client_Cert: #{xfcc(:operator)}"], as: :contractor)).to eq([200, "operator"])
  end

  it "ignores it from a client in the trusted range with its own certificate, with proxy_identity:" do
    %i[by_fingerprint by_subject].each do |server|
      expect(raw(server, ["X_Forwarded_Client_Cert: #{xfcc(:operator)}"], as: :contractor)).to eq([200, "alice"])
      expect(raw(server, ["X-Forwarded-Client-Cert: #{xfcc(:operator)}"], as: :contractor)).to eq([200, "alice"])
    end
    reported = Array.new(@events.size) { @events.pop }
    expect(reported.map { |e| e.values_at(:event, :reason) }.uniq).to eq([%i[untrusted_proxy unverified_proxy]])
  end

  it "refuses it from a client without a certificate, with proxy_identity:" do
    %i[by_fingerprint by_subject].each do |server|
      expect(raw(server, ["X_Forwarded_Client_Cert: #{xfcc(:operator)}"]))
        .to eq([401, "unauthorized: missing_certificate\n"])
    end
  end

  it "does not take a certificate with the proxy's subject from another CA Puma accepts for the proxy" do
    expect(raw(:by_subject, ["X-Forwarded-Client-Cert: #{xfcc(:operator)}"], as: :partner_proxy))
      .to eq([401, "unauthorized: unknown_issuer\n"])
  end

  it "believes the header from the proxy itself (the baseline)" do
    %i[by_fingerprint by_subject].each do |server|
      expect(raw(server, ["X-Forwarded-Client-Cert: #{xfcc(:contractor)}"], as: :proxy)).to eq([200, "alice"])
    end
  end
end
