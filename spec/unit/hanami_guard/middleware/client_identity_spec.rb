# frozen_string_literal: true

require "spec_helper"
require "stringio"
require "erb"
require_relative "../../../../examples/lib/demo_pki"

RSpec.describe HanamiGuard::Middleware::ClientIdentity do
  before(:all) do
    @pki_dir = Dir.mktmpdir("hanami_guard-mw")
    @pki = DemoPki.new(@pki_dir)
    @trust = HanamiGuard::TrustStore.new(@pki.cert(:ca).to_pem)
    @xfcc = DemoPki::CLIENTS.keys.to_h do |name|
      cert = @pki.cert(name)
      [name, "Hash=#{OpenSSL::Digest::SHA256.hexdigest(cert.to_der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\""]
    end
  end

  after(:all) { FileUtils.rm_rf(@pki_dir) }

  let(:pki) { @pki }
  let(:trust) { @trust }
  let(:seen) { [] }
  let(:app) do
    lambda do |env|
      seen << env
      [200, { "content-type" => "text/plain" }, ["ok"]]
    end
  end
  let(:events) { [] }

  def build(**options)
    described_class.new(app, on_report: ->(event) { events << event }, **options)
  end

  def env_for(remote_addr: "127.0.0.1", https: true, peercert: nil, headers: {})
    # A minimal Rack env, built by hand: it keeps the examples light under GC.stress.
    env = { "REQUEST_METHOD" => "GET", "SCRIPT_NAME" => "", "PATH_INFO" => "/whoami", "QUERY_STRING" => "",
            "SERVER_NAME" => "app.test", "SERVER_PORT" => "443", "rack.url_scheme" => https ? "https" : "http",
            "rack.input" => StringIO.new, "REMOTE_ADDR" => remote_addr, "HTTPS" => https ? "https" : "off" }
    env["puma.peercert"] = peercert if peercert
    headers.each { |name, value| env["HTTP_#{name.upcase.tr("-", "_")}"] = value }
    env
  end

  def xfcc(name) = @xfcc.fetch(name)

  def identity_of(env)
    env.fetch(described_class::ENV_KEY).subject.to_a.to_h { |type, value| [type, value] }
  end

  def expect_refused(response, reason)
    status, headers, body = response
    expect(status).to eq(401)
    expect(body.join).to eq("unauthorized: #{reason}\n")
    expect(headers["content-length"]).to eq(body.join.bytesize.to_s)
    expect(seen).to be_empty
    expect(events.last).to include(event: :rejected, reason:)
  end

  describe "source: :puma" do
    let(:middleware) { build(source: :puma, trust:) }

    it "sets the identity from Puma's peer certificate" do
      env = env_for(peercert: pki.cert(:operator))
      expect(middleware.call(env).first).to eq(200)
      expect(identity_of(seen.first)).to eq("O" => "MyOrg", "CN" => "operator")
      expect(seen.first[described_class::ENV_KEY]).to be_a(HanamiGuard::Certificate)
    end

    it "ignores puma.peercert when the request did not come over TLS" do
      expect_refused(middleware.call(env_for(https: false, peercert: pki.cert(:operator))), :missing_certificate)
      env = env_for(https: false, peercert: pki.cert(:operator))
      env.delete("HTTPS")
      expect(middleware.call(env).first).to eq(401)
    end

    it "answers 401 missing_certificate when there is no certificate" do
      expect_refused(middleware.call(env_for), :missing_certificate)
    end

    it "lets a request without a certificate through with required: false, without an identity" do
      env = env_for
      expect(build(source: :puma, trust:, required: false).call(env).first).to eq(200)
      expect(seen.first).not_to have_key(described_class::ENV_KEY)
    end

    it "still refuses an untrusted certificate with required: false" do
      response = build(source: :puma, trust:, required: false).call(env_for(peercert: pki.cert(:rogue)))
      expect_refused(response, :unknown_issuer)
    end

    it "refuses a certificate from a CA the trust store does not pin" do
      expect_refused(middleware.call(env_for(peercert: pki.cert(:rogue))), :unknown_issuer)
    end

    it "refuses an expired certificate" do
      expect_refused(middleware.call(env_for(peercert: pki.cert(:expired))), :expired)
    end

    it "needs the intermediates for a certificate from an issuing CA, since Puma passes the leaf only" do
      expect_refused(middleware.call(env_for(peercert: pki.cert(:chained))), :unknown_issuer)
      events.clear
      with_intermediate = build(source: :puma, trust:,
                                intermediates: [HanamiGuard::Certificate.parse(pki.cert(:intermediate_ca))])
      expect(with_intermediate.call(env_for(peercert: pki.cert(:chained))).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("nightly")
    end

    it "trusts the TLS terminator's verification when no trust store is given" do
      expect(build(source: :puma).call(env_for(peercert: pki.cert(:rogue))).first).to eq(200)
    end

    it "ignores a forwarded certificate header entirely" do
      env = env_for(headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
      expect_refused(middleware.call(env), :missing_certificate)
    end
  end

  describe "header: with format: :xfcc" do
    let(:middleware) do
      build(header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["10.0.0.0/8"], trust:)
    end

    it "sets the identity from a trusted proxy's header" do
      env = env_for(remote_addr: "10.1.2.3", headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
      expect(middleware.call(env).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("operator")
      expect(events).to be_empty
    end

    it "ignores the header from an untrusted address, and reports it" do
      env = env_for(remote_addr: "192.0.2.7", headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
      expect_refused(middleware.call(env), :missing_certificate)
      expect(events.first).to eq(event: :untrusted_proxy, reason: :untrusted_address, remote_addr: "192.0.2.7",
                                 header: "X-Forwarded-Client-Cert")
    end

    it "ignores the header when REMOTE_ADDR is missing, not an address, or a network" do
      [nil, "", "not-an-ip", "10.0.0.1, 10.0.0.2", "10.0.0.0/8", "10.0.0.1/32"].each do |addr|
        env = env_for(remote_addr: addr, headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
        env.delete("REMOTE_ADDR") if addr.nil?
        expect(middleware.call(env).first).to eq(401)
      end
      expect(seen).to be_empty
    end

    it "treats an IPv4-mapped IPv6 address as the IPv4 address" do
      env = env_for(remote_addr: "::ffff:10.0.0.9", headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
      expect(middleware.call(env).first).to eq(200)
    end

    it "does not read an IPv4-compatible IPv6 address (::10.0.0.9, RFC 4291 2.5.5.1) as the IPv4 address" do
      %w[::10.0.0.9 ::a00:9 0:0:0:0:0:0:10.0.0.9].each do |addr|
        env = env_for(remote_addr: addr, headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
        expect(middleware.call(env).first).to eq(401)
      end
      expect(events.map { |e| e[:reason] }).to include(:untrusted_address)
      expect(seen).to be_empty
    end

    it "accepts IPv6 CIDRs and plain addresses" do
      mw = build(header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["fd00::/8", "192.0.2.1"],
                 trust: :proxy_verified)
      expect(mw.call(env_for(remote_addr: "fd12::1", headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) }))
        .first).to eq(200)
      expect(mw.call(env_for(remote_addr: "192.0.2.1", headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) }))
        .first).to eq(200)
      expect(mw.call(env_for(remote_addr: "192.0.2.2", headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) }))
        .first).to eq(401)
    end

    it "refuses two XFCC elements (a client's header joined with the proxy's)" do
      env = env_for(remote_addr: "10.0.0.1",
                    headers: { "X-Forwarded-Client-Cert" => "#{xfcc(:operator)}, #{xfcc(:contractor)}" })
      expect_refused(middleware.call(env), :multiple_xfcc_elements)
    end

    it "takes the last element, the trusted hop's, with xfcc_element: :last" do
      mw = build(header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["10.0.0.0/8"], trust:,
                 xfcc_element: :last)
      env = env_for(remote_addr: "10.0.0.1",
                    headers: { "X-Forwarded-Client-Cert" => "#{xfcc(:operator)},#{xfcc(:contractor)}" })
      expect(mw.call(env).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("alice")
    end

    it "refuses a header over 16 KiB before parsing it" do
      header = "#{xfcc(:operator)};By=spiffe://x/#{"a" * 16_384}"
      env = env_for(remote_addr: "10.0.0.1", headers: { "X-Forwarded-Client-Cert" => header })
      expect_refused(middleware.call(env), :header_too_large)
      garbage = "\"" * ((16 * 1024) + 1) # would be a parse error, but is refused for its size first
      events.clear
      env = env_for(remote_addr: "10.0.0.1", headers: { "X-Forwarded-Client-Cert" => garbage })
      expect_refused(middleware.call(env), :header_too_large)
    end

    it "refuses a malformed header" do
      env = env_for(remote_addr: "10.0.0.1", headers: { "X-Forwarded-Client-Cert" => "Cert=\"not a certificate\"" })
      expect_refused(middleware.call(env), :malformed_certificate)
    end

    it "refuses an element whose Hash does not match its Cert" do
      forged = xfcc(:operator).sub(/Hash=\h+/, "Hash=#{"0" * 64}")
      env = env_for(remote_addr: "10.0.0.1", headers: { "X-Forwarded-Client-Cert" => forged })
      expect_refused(middleware.call(env), :malformed_certificate)
    end

    it "verifies the forwarded certificate against the trust store" do
      env = env_for(remote_addr: "10.0.0.1", headers: { "X-Forwarded-Client-Cert" => xfcc(:rogue) })
      expect_refused(middleware.call(env), :unknown_issuer)
    end

    it "uses the XFCC Chain as intermediates" do
      chained = pki.cert(:chained)
      chain = ERB::Util.url_encode(chained.to_pem + pki.cert(:intermediate_ca).to_pem)
      header = "#{xfcc(:chained)};Chain=\"#{chain}\""
      expect(middleware.call(env_for(remote_addr: "10.0.0.1", headers: { "X-Forwarded-Client-Cert" => header }))
        .first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("nightly")
    end

    it "never takes a trusted proxy's own TLS certificate for the client's when both sources are on" do
      mw = build(source: :puma, header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["10.0.0.0/8"],
                 trust:)
      expect_refused(mw.call(env_for(remote_addr: "10.0.0.1", peercert: pki.cert(:proxy))), :missing_certificate)
      env = env_for(remote_addr: "203.0.113.5", peercert: pki.cert(:contractor),
                    headers: { "X-Forwarded-Client-Cert" => xfcc(:operator) })
      expect(mw.call(env).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("alice")
      expect(events.last).to include(event: :untrusted_proxy, remote_addr: "203.0.113.5")
    end
  end

  describe "header: with the PEM and DER formats" do
    def forwarded(format, value, chain: nil)
      mw = build(header: "X-Client-Cert", format:, trusted_proxies: ["10.0.0.0/8"], trust:,
                 chain_header: chain && "X-Client-Cert-Chain")
      headers = { "X-Client-Cert" => value }
      headers["X-Client-Cert-Chain"] = chain if chain
      mw.call(env_for(remote_addr: "10.0.0.1", headers:))
    end

    it "reads nginx's $ssl_client_escaped_cert (:pem_escaped)" do
      expect(forwarded(:pem_escaped, ERB::Util.url_encode(pki.cert(:operator).to_pem)).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("operator")
    end

    it "reads a PEM whose line breaks became spaces (:pem)" do
      expect(forwarded(:pem, pki.cert(:contractor).to_pem.tr("\n", " ")).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("alice")
    end

    it "reads base64 DER, bare or colon-wrapped as in RFC 9440 (:der_base64)" do
      b64 = [pki.cert(:operator).to_der].pack("m0")
      expect(forwarded(:der_base64, b64).first).to eq(200)
      expect(forwarded(:der_base64, ":#{b64}:").first).to eq(200)
      expect(seen.map { |env| identity_of(env)["CN"] }).to eq(%w[operator operator])
    end

    it "takes the intermediates from chain_header:" do
      leaf = [pki.cert(:chained).to_der].pack("m0")
      inter = [pki.cert(:intermediate_ca).to_der].pack("m0")
      expect(forwarded(:der_base64, leaf).first).to eq(401)
      expect(forwarded(:der_base64, leaf, chain: ":#{inter}:").first).to eq(200)
      escaped = ERB::Util.url_encode(pki.cert(:chained).to_pem)
      expect(forwarded(:pem_escaped, escaped, chain: ERB::Util.url_encode(pki.cert(:intermediate_ca).to_pem)).first)
        .to eq(200)
    end

    it "refuses a PEM chain header that holds anything besides CERTIFICATE blocks, in both PEM formats" do
      leaf = pki.cert(:chained).to_pem
      inter = pki.cert(:intermediate_ca).to_pem
      { pem_escaped: ->(text) { ERB::Util.url_encode(text) }, pem: ->(text) { text.tr("\n", " ") } }
        .each do |format, encode|
          expect(forwarded(format, encode.call(leaf), chain: encode.call(inter)).first).to eq(200)
          ["note #{inter}", "#{inter} trailing", inter.gsub("CERTIFICATE", "X509 CRL")].each do |chain|
            events.clear
            seen.clear
            expect_refused(forwarded(format, encode.call(leaf), chain: encode.call(chain)), :malformed_certificate)
          end
        end
    end

    it "refuses two certificates joined by Puma where one is expected, in every format" do
      operator = pki.cert(:operator)
      contractor = pki.cert(:contractor)
      joined = {
        pem_escaped: "#{ERB::Util.url_encode(operator.to_pem)}, #{ERB::Util.url_encode(contractor.to_pem)}",
        pem: "#{operator.to_pem.tr("\n", " ")}, #{contractor.to_pem.tr("\n", " ")}",
        der_base64: "#{[operator.to_der].pack("m0")}, #{[contractor.to_der].pack("m0")}"
      }
      joined.each do |format, value|
        events.clear
        expect_refused(forwarded(format, value), :multiple_certificates)
      end
      events.clear
      two_blocks = ERB::Util.url_encode(operator.to_pem + contractor.to_pem)
      expect_refused(forwarded(:pem_escaped, two_blocks), :multiple_certificates)
      events.clear
      expect_refused(forwarded(:pem_escaped, ERB::Util.url_encode("#{operator.to_pem}trailing")),
                     :malformed_certificate)
    end

    it "refuses what is not a certificate in each format" do
      expect(forwarded(:pem_escaped, "%2D%2D%2Dnot").first).to eq(401)
      expect(forwarded(:pem, "-----BEGIN CERTIFICATE----- AAAA -----END CERTIFICATE-----").first).to eq(401)
      expect(forwarded(:pem, "#{pki.cert(:operator).to_pem.tr("\n", " ")} trailing").first).to eq(401)
      expect(forwarded(:der_base64, "***").first).to eq(401)
      expect(forwarded(:der_base64, ["not der"].pack("m0")).first).to eq(401)
      expect(events.map { |e| e[:reason] }.uniq).to eq([:malformed_certificate])
      expect(seen).to be_empty
    end
  end

  describe "header: with proxy_identity:" do
    let(:fingerprint) { OpenSSL::Digest::SHA256.hexdigest(pki.cert(:proxy).to_der) }
    let(:header) { { "X-Forwarded-Client-Cert" => xfcc(:contractor) } }

    def via(middleware, peercert:, remote_addr: "10.0.0.1", https: true)
      middleware.call(env_for(remote_addr:, https:, peercert:, headers: header))
    end

    it "believes the header only on a TLS connection whose peer is the proxy, by fingerprint" do
      mw = build(header: "X-Forwarded-Client-Cert", format: :xfcc, proxy_identity: { fingerprint: }, trust:)
      expect(via(mw, peercert: pki.cert(:proxy)).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("alice")
      [pki.cert(:operator), nil].each do |peer|
        expect(via(mw, peercert: peer).first).to eq(401)
      end
      expect(via(mw, peercert: pki.cert(:proxy), https: false).first).to eq(401)
      expect(events.map { |e| e.values_at(:event, :reason) }.uniq)
        .to include(%i[untrusted_proxy unverified_proxy])
      upper = fingerprint.upcase.scan(/../).join(":")
      mw = build(header: "X-Forwarded-Client-Cert", format: :xfcc, proxy_identity: [{ fingerprint: upper }], trust:)
      expect(via(mw, peercert: pki.cert(:proxy)).first).to eq(200)
    end

    it "matches the proxy by subject or SPIFFE ID only when its certificate verifies" do
      mw = build(header: "X-Forwarded-Client-Cert", format: :xfcc, trust:,
                 proxy_identity: { subject: "CN=edge-proxy,OU=Edge,O=MyOrg" })
      expect(via(mw, peercert: pki.cert(:proxy)).first).to eq(200)
      expect(via(mw, peercert: pki.cert(:operator)).first).to eq(401)
      other_ca = HanamiGuard::TrustStore.new(pki.cert(:partner_ca).to_pem)
      mw = build(header: "X-Forwarded-Client-Cert", format: :xfcc, trust:, proxy_trust: other_ca,
                 proxy_identity: { subject: "CN=edge-proxy,OU=Edge,O=MyOrg" })
      expect(via(mw, peercert: pki.cert(:proxy)).first).to eq(401)
    end

    it "needs both the address and the certificate when both are given, and never takes the proxy's for the client's" do
      mw = build(source: :puma, header: "X-Forwarded-Client-Cert", format: :xfcc, trust:,
                 trusted_proxies: ["10.0.0.0/8"], proxy_identity: { fingerprint: })
      expect(via(mw, peercert: pki.cert(:proxy)).first).to eq(200)
      seen.clear
      expect_refused(via(mw, peercert: pki.cert(:proxy), remote_addr: "192.0.2.1"), :missing_certificate)
      seen.clear
      expect(via(mw, peercert: pki.cert(:operator)).first).to eq(200)
      expect(identity_of(seen.first)["CN"]).to eq("operator")
    end

    it "is checked at boot" do
      base = { header: "X-Forwarded-Client-Cert", format: :xfcc }
      expect { described_class.new(app, **base, trust: :proxy_verified, proxy_identity: { subject: "CN=p" }) }
        .to raise_error(ArgumentError, /fingerprint:/)
      expect { described_class.new(app, **base, trust:, proxy_identity: { fingerprint: "abc" }) }
        .to raise_error(ArgumentError, /SHA-256/)
      expect { described_class.new(app, **base, trust:, proxy_identity: { cn: "p" }) }
        .to raise_error(ArgumentError, /fingerprint:, subject:, spiffe_id:/)
      expect { described_class.new(app, **base, trust:, proxy_identity: "p") }.to raise_error(TypeError, /Hash/)
      expect { described_class.new(app, **base, trust:, proxy_identity: { spiffe_id: "http://x" }) }
        .to raise_error(ArgumentError, /spiffe_id: is not valid/)
      expect { described_class.new(app, source: :puma, proxy_identity: { fingerprint: }) }
        .to raise_error(ArgumentError, /goes with header:/)
      expect(described_class.new(app, **base, trust:, proxy_identity: { fingerprint: })).to be_frozen
    end
  end

  describe "the Rack env" do
    it "is left untouched apart from hanami_guard.identity and hanami_guard.checked" do
      middleware = build(source: :puma, trust:)
      env = env_for(peercert: pki.cert(:operator), headers: { "X-Forwarded-Client-Cert" => xfcc(:contractor) })
      before = env.dup
      middleware.call(env)
      expect(seen.first).to equal(env)
      expect(env.keys - before.keys).to contain_exactly(described_class::ENV_KEY, described_class::CHECKED_KEY)
      before.each { |key, value| expect(env[key]).to equal(value), "env[#{key.inspect}] changed" }
    end

    it "removes an identity planted by an earlier middleware" do
      planted = HanamiGuard::Certificate.parse(pki.cert(:operator))
      env = env_for.merge(described_class::ENV_KEY => planted)
      build(source: :puma, trust:, required: false).call(env)
      expect(seen.first).not_to have_key(described_class::ENV_KEY)
    end

    it "is not passed on at all when the request is refused" do
      env = env_for
      before = env.dup
      build(source: :puma).call(env)
      expect(env).to eq(before)
    end
  end

  describe "on_failure:" do
    it "builds the response for a refusal" do
      mw = build(source: :puma, on_failure: ->(env, reason) { [418, {}, ["#{reason} #{env["PATH_INFO"]}"]] })
      expect(mw.call(env_for)).to eq([418, {}, ["missing_certificate /whoami"]])
    end
  end

  describe "configuration" do
    it "is checked at boot, with messages that say what to write" do
      expect { described_class.new(app) }.to raise_error(ArgumentError, /source: :puma/)
      expect { described_class.new(app, source: :nginx) }.to raise_error(ArgumentError, /source: must be :puma/)
      expect { described_class.new(app, header: "X-Client-Cert", format: :xfcc) }
        .to raise_error(ArgumentError, /trusted_proxies/)
      expect { described_class.new(app, header: "X-Client-Cert", trusted_proxies: ["10.0.0.0/8"]) }
        .to raise_error(ArgumentError, /format:/)
      expect { described_class.new(app, header: "X Client", format: :pem, trusted_proxies: ["10.0.0.0/8"]) }
        .to raise_error(ArgumentError, /header name/)
      expect { described_class.new(app, header: "X-C", format: :pem, trusted_proxies: ["10.0.0.300/8"]) }
        .to raise_error(ArgumentError, /not an address or CIDR/)
      expect { described_class.new(app, header: "X-C", format: :xfcc, chain_header: "X-D", trusted_proxies: ["::1"]) }
        .to raise_error(ArgumentError, /Chain field/)
      expect { described_class.new(app, source: :puma, required: "yes") }.to raise_error(TypeError, /true or false/)
      expect { described_class.new(app, source: :puma, trust: "ca.pem") }.to raise_error(TypeError, /TrustStore/)
      expect do
        described_class.new(app, source: :puma, intermediates: ["pem"])
      end.to raise_error(TypeError, /parse_chain/)
      expect { described_class.new(app, source: :puma, on_report: 1) }.to raise_error(TypeError, /on_report/)
      expect { described_class.new(app, source: :puma, xfcc_element: :first) }.to raise_error(ArgumentError, /:last/)
      expect { described_class.new(app, source: :puma, max_header_bytes: 0) }.to raise_error(ArgumentError, /positive/)
      expect { described_class.new(app, source: :puma, trust: :proxy_verified) }
        .to raise_error(ArgumentError, /goes with header:/)
    end

    it "refuses header: without trust: unless the app says the proxy verifies (trust: :proxy_verified)" do
      options = { header: "X-Client-Cert", format: :pem_escaped, trusted_proxies: ["10.0.0.0/8"] }
      expect { described_class.new(app, **options) }
        .to raise_error(ArgumentError, /optional_no_ca.*trust: :proxy_verified/m)
      expect { described_class.new(app, source: :puma, **options) }.to raise_error(ArgumentError, /optional_no_ca/)
      expect(described_class.new(app, **options, trust: :proxy_verified)).to be_frozen
    end

    it "is frozen, so Puma threads share it" do
      expect(build(source: :puma)).to be_frozen
    end
  end
end
