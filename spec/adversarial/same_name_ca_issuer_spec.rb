# frozen_string_literal: true

require "spec_helper"

# With a partner's CA pinned next to ours (federation), the partner can name its CA exactly as
# ours is named: `issuer:` compares names, so its certificates meet our issuer rules. `issuer_key:`
# binds a rule to a CA by the SHA-256 of its public key, read only from a chain a TrustStore
# verified: never from anything the certificate claims.
RSpec.describe "same-name CA issuer" do
  let(:ours) { CertFactory.ca(subject: "/O=MyOrg/CN=MyOrg CA") }
  let(:twin) { CertFactory.ca(subject: "/O=MyOrg/CN=MyOrg CA") }
  let(:store) { HanamiGuard::TrustStore.new(ours.to_pem + twin.to_pem) }
  let(:our_key) { OpenSSL::Digest::SHA256.hexdigest(ours.cert.public_key.public_to_der) }
  let(:our_cert) { CertFactory.leaf(issuer: ours).cert }
  let(:twin_cert) { CertFactory.leaf(issuer: twin).cert }

  def policy(key)
    HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker], principals: [{ subject: { CN: "operator" }, issuer_key: key }], id: "ours"
    end
  end

  it "tells the twin CA from ours by key, where the issuer name cannot" do
    by_name = HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker], principals: [{ issuer: { CN: "MyOrg CA" } }], id: "by-name"
    end
    expect(by_name.allowed?(store.verify(twin_cert), :deploy, "worker")).to be(true)

    by_key = policy(our_key)
    expect(by_key.allowed?(store.verify(our_cert), :deploy, "worker")).to be(true)
    expect(by_key.allowed?(store.verify(twin_cert), :deploy, "worker")).to be(false)
    expect(store.verify(our_cert).verified_issuer_keys).to eq([our_key])
    expect(by_key.allowed?(store.verify(our_cert), :deploy, "worker")).to be(true)
  end

  it "never believes an unverified certificate's issuer: allows fail, denies hold" do
    cert = HanamiGuard::Certificate.parse(our_cert)
    expect(cert.verified_issuer_keys).to be_nil
    expect(policy(our_key).allowed?(cert, :deploy, "worker")).to be(false)
    expect(policy(our_key).allowed?(HanamiGuard::Policy.identity(store.verify(our_cert)), :deploy, "worker"))
      .to be(false)

    key = our_key
    denying = HanamiGuard::Policy.define do
      allow :deploy, resources: %w[worker], principals: ["*"], id: "anyone"
      deny :deploy, resources: %w[worker], principals: [{ issuer_key: key }], id: "not-ours"
    end
    expect(denying.allowed?(cert, :deploy, "worker")).to be(false)
    expect(denying.allowed?(store.verify(twin_cert), :deploy, "worker")).to be(true)
    expect(denying.allowed?(store.verify(our_cert), :deploy, "worker")).to be(false)
  end

  it "reaches the policy through the middleware" do
    seen = nil
    app = HanamiGuard::Middleware::ClientIdentity.new(->(env) { seen = env; [200, {}, ["ok"]] }, # rubocop:disable Style/Semicolon
                                                      source: :puma, trust: store)
    env = { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/", "rack.input" => StringIO.new, "REMOTE_ADDR" => "127.0.0.1",
            "HTTPS" => "https", "rack.url_scheme" => "https", "puma.peercert" => our_cert }
    expect(app.call(env).first).to eq(200)
    identity = seen.fetch(HanamiGuard::Middleware::ClientIdentity::ENV_KEY)
    expect(policy(our_key).allowed?(identity, :deploy, "worker")).to be(true)
  end

  it "refuses a malformed issuer_key when the policy loads" do
    ["", "abc", "zz" * 32, "ab" * 33].each do |bad|
      expect { policy(bad) }.to raise_error(HanamiGuard::PolicyError, /issuer_key/)
    end
    expect { policy(our_key.upcase.scan(/../).join(":")) }.not_to raise_error
  end
end
