# frozen_string_literal: true

require "hanami_guard/testing"
require "minitest"
require "tmpdir"

RSpec.describe HanamiGuard::Testing do
  # One CA for the file: minting keys is the slow part.
  shared_ca = nil
  let(:ca) { shared_ca ||= HanamiGuard::Testing::CA.new(subject: "CN=Test CA,O=MyOrg") }
  let(:operator) do
    ca.issue(subject: "CN=operator,O=MyOrg", spiffe_id: "spiffe://prod.example.org/ns/ops/sa/deployer",
             dns: "ops.example.org")
  end
  let(:policy) do
    HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker api], id: "operators-deploy",
                     principals: [{ subject: { CN: "operator", O: "MyOrg" }, issuer: { CN: "Test CA Intermediate" } }]
      deny :*, resources: %w[api], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
      allow :deploy, resources: %w[api], principals: [{ subject: { O: "MyOrg" } }], id: "org-deploy"
    end
  end

  describe HanamiGuard::Testing::CA do
    it "issues a two-tier chain that hanami_guard and OpenSSL both verify" do
      expect(operator.issuer).to eq(ca.intermediate.subject)
      expect(operator.chain).to eq([ca.intermediate])
      expect(ca.trust_store.verify(operator, intermediates: operator.chain)).to eq(operator)

      store = OpenSSL::X509::Store.new
      store.add_cert(OpenSSL::X509::Certificate.new(ca.to_pem))
      store.purpose = OpenSSL::X509::PURPOSE_SSL_CLIENT
      leaf = OpenSSL::X509::Certificate.new(operator.to_der)
      expect(store.verify(leaf, [OpenSSL::X509::Certificate.new(ca.intermediate_pem)])).to be(true)
      # Without the intermediate, the usual two-tier trap: unknown issuer.
      expect { ca.trust_store.verify(operator) }.to raise_error(HanamiGuard::UntrustedCertificate) { |e|
        expect(e.reason).to eq(:unknown_issuer)
      }
    end

    it "puts the requested names in the certificate" do
      expect(operator.subject.to_s).to eq("CN=operator,O=MyOrg")
      expect(operator.spiffe_id.to_s).to eq("spiffe://prod.example.org/ns/ops/sa/deployer")
      expect(operator.dns_names).to eq(["ops.example.org"])
      expect(operator.client_auth?).to be(true)
      expect(ca.certificate.ca?).to be(true)
    end

    it "issues expired, not yet valid and wrong-purpose certificates that verification refuses" do
      { { expired: true } => :expired, { not_yet_valid: true } => :not_yet_valid,
        { eku: :server_auth } => :missing_client_auth }.each do |options, reason|
        cert = ca.issue(subject: "CN=x", **options)
        expect { ca.trust_store.verify(cert, intermediates: cert.chain) }
          .to raise_error(HanamiGuard::UntrustedCertificate) { |e| expect(e.reason).to eq(reason) }
      end
    end

    it "refuses unknown options with a message that lists the known ones" do
      expect { ca.issue(subject: "CN=x", eku: :client) }.to raise_error(ArgumentError, /:client_auth/)
      expect { ca.issue(subject: "CN=x", expired: true, not_yet_valid: true) }.to raise_error(ArgumentError)
      expect { ca.issue(subject: "not a name") }.to raise_error(HanamiGuard::Error)
    end

    it "hands out the private key of each certificate it made" do
      [operator, ca.certificate, ca.intermediate].each do |cert|
        key = ca.key_for(cert)
        expect(key.private?).to be(true)
        expect(OpenSSL::X509::Certificate.new(cert.to_der).check_private_key(key)).to be(true)
      end
      other = ca.issue(subject: "CN=other")
      expect(OpenSSL::X509::Certificate.new(other.to_der).check_private_key(ca.key_for(operator))).to be(false)
    end

    it "refuses a key for a certificate it did not make" do
      stranger = HanamiGuard::Testing::CA.new(subject: "CN=Stranger CA").issue(subject: "CN=operator,O=MyOrg")
      expect { ca.key_for(stranger) }.to raise_error(ArgumentError, /not made by this CA.*#issue/)
      expect { ca.key_for(operator.to_pem) }.to raise_error(TypeError, /HanamiGuard::Certificate/)
    end

    it "issues a server certificate with IP and DNS SANs, and leaves from the root on request" do
      server = ca.issue(subject: "CN=localhost", dns: "localhost", ips: ["127.0.0.1", "::1"], eku: :server_auth)
      ext = OpenSSL::X509::Certificate.new(server.to_der).extensions.to_h { |e| [e.oid, e.value] }
      expect(ext["subjectAltName"]).to eq("DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1")
      expect(ext["extendedKeyUsage"]).to eq("TLS Web Server Authentication")
      direct = ca.issue(subject: "CN=direct", issuer: :root)
      expect(direct.issuer).to eq(ca.certificate.subject)
      expect(direct.chain).to eq([])
      expect(ca.trust_store.verify(direct)).to eq(direct)
      expect { ca.issue(subject: "CN=x", issuer: :partner) }.to raise_error(ArgumentError, /:intermediate or :root/)
      expect { ca.issue(subject: "CN=x", ips: "10.0.0.0/8") }.to raise_error(ArgumentError, /IP addresses/)
      expect { ca.issue(subject: "CN=x", ips: "localhost") }.to raise_error(ArgumentError, /IP addresses/)
    end

    it "writes PEM files a TLS server and client load, and the bundle Puma's ca= takes" do
      Dir.mktmpdir do |dir|
        crt, key = ca.write(operator, File.join(dir, "pki"), "operator", chain: true)
        certs = File.read(crt).scan(/-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n/m)
        expect(certs).to eq([operator.to_pem, ca.intermediate_pem])
        expect(File.stat(key).mode & 0o777).to eq(0o600)
        expect(OpenSSL::X509::Certificate.new(certs.first).check_private_key(OpenSSL::PKey.read(File.read(key))))
          .to be(true)
        crt, = ca.write(operator, dir, "leaf")
        expect(File.read(crt)).to eq(operator.to_pem)
      end
      store = OpenSSL::X509::Store.new
      OpenSSL::X509::Certificate.load(ca.bundle_pem).each { |c| store.add_cert(c) }
      expect(store.verify(OpenSSL::X509::Certificate.new(operator.to_der))).to be(true)
    end

    it "is not loaded by require \"hanami_guard\"" do
      script = "require 'hanami_guard'; print defined?(HanamiGuard::Testing).inspect"
      out = IO.popen([RbConfig.ruby, "-I", File.expand_path("../../../lib", __dir__), "-e", script], &:read)
      expect(out).to eq("nil")
    end
  end

  describe ".rack_env" do
    it "leaves the identity where the middleware would" do
      env = described_class.rack_env("/deploy?container=worker", identity: operator)
      expect(env["hanami_guard.identity"]).to equal(operator)
      expect(env["PATH_INFO"]).to eq("/deploy")
      expect(env["QUERY_STRING"]).to eq("container=worker")
    end

    it "refuses an identity that is not a Certificate" do
      expect { described_class.rack_env("/", identity: "CN=operator") }.to raise_error(TypeError, /ca\.issue/)
    end

    it "builds a Puma-shaped env the middleware accepts" do
      app = ->(env) { [200, {}, [env["hanami_guard.identity"].subject.to_s]] }
      mw = HanamiGuard::Middleware::ClientIdentity.new(app, source: :puma, trust: ca.trust_store,
                                                            intermediates: [ca.intermediate])
      _, _, body = mw.call(described_class.puma_env("/", certificate: operator))
      expect(body.join).to eq("CN=operator,O=MyOrg")
    end
  end

  describe "the RSpec matcher" do
    let(:contractor) { ca.issue(subject: "CN=bob,OU=Contractors,O=MyOrg") }

    it "passes for the deciding allow rule and the deciding deny rule" do
      expect(policy).to permit(operator, :deploy, "worker").by_rule("operators-deploy")
      expect(policy).to permit(operator, :deploy, "worker")
      expect(policy).not_to permit(contractor, :deploy, "api").by_rule("no-contractors")
      expect(policy).not_to permit(contractor, :deploy, "worker")
    end

    it "fails with the decision and its rule" do
      expect { expect(policy).to permit(contractor, :deploy, "api") }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /denied by rule "no-contractors"/)
      expect { expect(policy).to permit(operator, :deploy, "api").by_rule("org-deploy") }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError,
                        /allowed by rule "org-deploy", but it was allowed by rule "operators-deploy"/)
      expect { expect(policy).not_to permit(operator, :deploy, "worker") }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /to be denied, but it was allowed/)
      expect { expect(policy).not_to permit(contractor, :deploy, "worker").by_rule("no-contractors") }
        .to raise_error(RSpec::Expectations::ExpectationNotMetError, /denied by no rule/)
    end
  end

  describe "the Minitest assertions" do
    let(:test) do
      Class.new(Minitest::Test) { include HanamiGuard::Testing::Assertions }.new("hanami_guard")
    end

    it "pass and fail as the decision says" do
      test.assert_permitted(policy, operator, :deploy, "worker", rule: "operators-deploy")
      test.refute_permitted(policy, nil, :deploy, "worker")
      expect { test.assert_permitted(policy, nil, :deploy, "worker") }
        .to raise_error(Minitest::Assertion, /to be allowed, but it was denied/)
      expect { test.refute_permitted(policy, operator, :deploy, "worker") }
        .to raise_error(Minitest::Assertion, /allowed by rule "operators-deploy"/)
    end
  end
end
