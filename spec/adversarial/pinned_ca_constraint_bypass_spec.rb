# frozen_string_literal: true

require "spec_helper"

# A CA its operator restricted (one level deep, server certificates only, a lifetime, no
# certificate signing) is stretched past those limits: rustls-webpki reads a trust anchor as a
# bare name and key, so the constraints written in the pinned certificate itself were ignored.
# Each case is checked against OpenSSL (purpose sslclient) in the same process: both refuse it.
RSpec.describe "pinned CA constraint bypass" do
  def ext(name, value, critical: true)
    OpenSSL::X509::ExtensionFactory.new.create_extension(name, value, critical)
  end

  def ca(subject, issuer: nil, key_usage: "keyCertSign,cRLSign", eku: nil, pathlen: nil, **opts)
    extra = pathlen ? [ext("basicConstraints", "CA:TRUE,pathlen:#{pathlen}")] : []
    CertFactory.build(subject:, key: CertFactory.key, issuer:, is_ca: true, key_usage:, eku:,
                      basic_constraints: pathlen.nil?, extra_extensions: extra, **opts)
  end

  def openssl_verifies?(anchor, leaf, chain = [], at: Time.now)
    store = OpenSSL::X509::Store.new
    store.add_cert(anchor.cert)
    store.purpose = OpenSSL::X509::PURPOSE_SSL_CLIENT
    store.time = at
    store.verify(leaf.cert, chain.map(&:cert))
  end

  def reason(anchor, leaf, chain = [], at: Time.now)
    HanamiGuard::TrustStore.new(anchor.to_pem).verify(leaf.cert, intermediates: chain.map(&:cert), at:)
    nil
  rescue HanamiGuard::UntrustedCertificate => e
    e.reason
  end

  it "refuses a sub-CA under a pinned CA with pathlen:0, and allows its direct leaves" do
    root = ca("/CN=Root pathlen 0", pathlen: 0)
    sub = ca("/CN=Sub CA", issuer: root)
    stretched = CertFactory.leaf(issuer: sub)
    expect(openssl_verifies?(root, stretched, [sub])).to be(false)
    expect(reason(root, stretched, [sub])).to eq(:invalid)

    direct = CertFactory.leaf(issuer: root)
    expect(openssl_verifies?(root, direct)).to be(true)
    expect(reason(root, direct)).to be_nil
  end

  it "counts every level against pathlen:1" do
    root = ca("/CN=Root pathlen 1", pathlen: 1)
    sub = ca("/CN=Sub CA", issuer: root)
    subsub = ca("/CN=Sub-sub CA", issuer: sub)
    ok = CertFactory.leaf(issuer: sub)
    deep = CertFactory.leaf(issuer: subsub)
    expect([openssl_verifies?(root, ok, [sub]), reason(root, ok, [sub])]).to eq([true, nil])
    expect([openssl_verifies?(root, deep, [subsub, sub]), reason(root, deep, [subsub, sub])])
      .to eq([false, :invalid])
  end

  it "refuses a client certificate under a pinned CA restricted to serverAuth" do
    root = ca("/CN=Server-only Root", eku: "serverAuth")
    leaf = CertFactory.leaf(issuer: root)
    expect(openssl_verifies?(root, leaf)).to be(false)
    expect(reason(root, leaf)).to eq(:missing_client_auth)

    client_root = ca("/CN=Client Root", eku: "clientAuth,serverAuth")
    ok = CertFactory.leaf(issuer: client_root)
    expect([openssl_verifies?(client_root, ok), reason(client_root, ok)]).to eq([true, nil])
  end

  it "refuses the leaves of an expired or not yet valid pinned CA" do
    old = ca("/CN=Expired Root", not_before: Time.now - (86_400 * 30), not_after: Time.now - 86_400)
    leaf = CertFactory.leaf(issuer: old, not_before: Time.now - (86_400 * 20))
    expect(openssl_verifies?(old, leaf)).to be(false)
    expect(reason(old, leaf)).to eq(:expired)
    # The same chain, verified at a time the CA was valid.
    earlier = Time.now - (86_400 * 2)
    expect([openssl_verifies?(old, leaf, at: earlier), reason(old, leaf, at: earlier)]).to eq([true, nil])

    future = ca("/CN=Future Root", not_before: Time.now + 86_400, not_after: Time.now + (86_400 * 30))
    early = CertFactory.leaf(issuer: future)
    expect(openssl_verifies?(future, early)).to be(false)
    expect(reason(future, early)).to eq(:not_yet_valid)
  end

  it "refuses an intermediate with CA:TRUE and no keyCertSign (RFC 5280 6.1.4 (n))" do
    root = ca("/CN=Root")
    no_sign = ca("/CN=No certSign CA", issuer: root, key_usage: "digitalSignature,cRLSign")
    leaf = CertFactory.leaf(issuer: no_sign)
    expect(openssl_verifies?(root, leaf, [no_sign])).to be(false)
    expect(reason(root, leaf, [no_sign])).to eq(:invalid)
    expect { HanamiGuard::TrustStore.new(root.to_pem).verify(leaf.cert, intermediates: [no_sign.cert]) }
      .to raise_error(HanamiGuard::UntrustedCertificate, /keyCertSign/)
  end

  it "refuses the leaves of a pinned CA whose own keyUsage lacks keyCertSign" do
    root = ca("/CN=Root without certSign", key_usage: "digitalSignature,cRLSign")
    leaf = CertFactory.leaf(issuer: root)
    expect(openssl_verifies?(root, leaf)).to be(false)
    expect(reason(root, leaf)).to eq(:invalid)
  end

  it "still verifies through a good CA when a refused one has the same name" do
    expired = ca("/CN=Rotated Root", not_before: Time.now - (86_400 * 30), not_after: Time.now - 86_400)
    current = ca("/CN=Rotated Root")
    store = HanamiGuard::TrustStore.new(expired.to_pem + current.to_pem)
    expect(store.verified?(CertFactory.leaf(issuer: current).cert)).to be(true)
    expect(store.verified?(CertFactory.leaf(issuer: expired).cert)).to be(false)
  end
end
