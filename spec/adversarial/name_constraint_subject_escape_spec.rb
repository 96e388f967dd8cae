# frozen_string_literal: true

require "spec_helper"

# A partner CA constrained to partner.example names issues a certificate whose subject carries
# one of our names (emailAddress=admin@myorg.example, CN=api.myorg.example) and no SAN: webpki
# checks constraints against subjectAltName only, and a policy reading the subject believed it.
# RFC 5280 4.2.1.10 and OpenSSL apply them to the subject; checked side by side with OpenSSL.
RSpec.describe "name constraint subject escape" do
  def constrained_ca(constraint, subject: "/O=Partner/CN=Partner CA", issuer: nil)
    ext = OpenSSL::X509::ExtensionFactory.new.create_extension("nameConstraints", constraint, true)
    CertFactory.build(subject:, key: CertFactory.key, issuer:, is_ca: true, key_usage: "keyCertSign,cRLSign",
                      eku: nil, extra_extensions: [ext])
  end

  def openssl_verifies?(anchor, leaf, chain = [])
    store = OpenSSL::X509::Store.new
    store.add_cert(anchor.cert)
    store.purpose = OpenSSL::X509::PURPOSE_SSL_CLIENT
    store.verify(leaf.cert, chain.map(&:cert))
  end

  def verdicts(anchor, leaf, chain = [])
    ours = begin
      HanamiGuard::TrustStore.new(anchor.to_pem).verify(leaf.cert, intermediates: chain.map(&:cert))
      nil
    rescue HanamiGuard::UntrustedCertificate => e
      e.reason
    end
    [openssl_verifies?(anchor, leaf, chain), ours]
  end

  it "applies email constraints to the subject's emailAddress" do
    ca = constrained_ca("permitted;email:partner.example")
    evil = CertFactory.leaf(issuer: ca,
                            subject: [%w[CN admin],
                                      ["emailAddress", "admin@myorg.example", OpenSSL::ASN1::IA5STRING]])
    good = CertFactory.leaf(issuer: ca,
                            subject: [%w[CN bob],
                                      ["emailAddress", "bob@partner.example", OpenSSL::ASN1::IA5STRING]])
    expect(verdicts(ca, evil)).to eq([false, :invalid])
    expect(verdicts(ca, good)).to eq([true, nil])

    excluded = constrained_ca("excluded;email:myorg.example")
    expect(verdicts(excluded, CertFactory.leaf(issuer: excluded, subject: evil.cert.subject))).to eq([false, :invalid])
  end

  it "applies DNS constraints to a host-like CN" do
    ca = constrained_ca("permitted;DNS:partner.example")
    evil = CertFactory.leaf(issuer: ca, subject: "/CN=api.myorg.example")
    expect(verdicts(ca, evil)).to eq([false, :invalid])
    expect(verdicts(ca, CertFactory.leaf(issuer: ca, subject: "/CN=api.partner.example"))).to eq([true, nil])
    # A CN that is not a host name is not a DNS name.
    expect(verdicts(ca, CertFactory.leaf(issuer: ca, subject: "/CN=operator"))).to eq([true, nil])

    excluded = constrained_ca("excluded;DNS:myorg.example")
    expect(verdicts(excluded,
                    CertFactory.leaf(issuer: excluded, subject: "/CN=API.MyOrg.example"))).to eq([false, :invalid])
  end

  it "applies an intermediate's constraints to the leaves below it" do
    root = CertFactory.ca
    ica = constrained_ca("permitted;DNS:partner.example", subject: "/CN=Partner ICA", issuer: root)
    evil = CertFactory.leaf(issuer: ica, subject: "/CN=api.myorg.example")
    expect(verdicts(root, evil, [ica])).to eq([false, :invalid])
    expect(verdicts(root, CertFactory.leaf(issuer: ica, subject: "/CN=x.partner.example"), [ica])).to eq([true, nil])
  end

  it "checks a host-like CN even when a DNS SAN is present (stricter than OpenSSL: policies read the CN)" do
    ca = constrained_ca("permitted;DNS:partner.example")
    mixed = CertFactory.leaf(issuer: ca, subject: "/CN=api.myorg.example", dns: ["x.partner.example"])
    expect(verdicts(ca, mixed)).to eq([true, :invalid])
  end
end
