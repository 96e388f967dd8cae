# frozen_string_literal: true

require "spec_helper"

# `client_auth:` against OpenSSL's own rule: OpenSSL::X509::Store with the SSL_CLIENT purpose
# (what `openssl verify -purpose sslclient` does) decides each generated leaf, and
# `client_auth: :when_present` must agree with it on every one.
RSpec.describe HanamiGuard::TrustStore, "client_auth:" do
  let(:root) { CertFactory.ca(subject: "/O=Test/CN=Client Auth Root") }
  let(:leaves) do
    {
      "clientAuth" => CertFactory.leaf(issuer: root, eku: "clientAuth"),
      "clientAuth,serverAuth" => CertFactory.leaf(issuer: root, eku: "serverAuth,clientAuth"),
      "serverAuth" => CertFactory.leaf(issuer: root, eku: "serverAuth"),
      "codeSigning" => CertFactory.leaf(issuer: root, eku: "codeSigning"),
      "no extendedKeyUsage" => CertFactory.leaf(issuer: root, eku: nil)
    }
  end

  def openssl_accepts?(leaf)
    store = OpenSSL::X509::Store.new
    store.add_cert(root.cert)
    store.purpose = OpenSSL::X509::PURPOSE_SSL_CLIENT
    store.verify(leaf.cert)
  end

  def reason(store, leaf)
    store.verify(leaf.cert)
    nil
  rescue HanamiGuard::UntrustedCertificate => e
    e.reason
  end

  it "follows OpenSSL's sslclient purpose with :when_present, leaf by leaf" do
    lenient = described_class.new(root.to_pem, client_auth: :when_present)
    expect(lenient.client_auth).to eq(:when_present)
    verdicts = leaves.transform_values { |leaf| [lenient.verified?(leaf.cert), openssl_accepts?(leaf)] }
    expect(verdicts.values.map(&:first)).to eq(verdicts.values.map(&:last)), verdicts.inspect
    # The comparison means something only if both kinds of leaf are among them.
    expect(verdicts["no extendedKeyUsage"]).to eq([true, true])
    expect(verdicts["serverAuth"]).to eq([false, false])
  end

  it "requires clientAuth in the leaf's extendedKeyUsage by default" do
    strict = described_class.new(root.to_pem)
    expect(strict.client_auth).to eq(:required)
    expect(described_class.new(root.to_pem, client_auth: :required).client_auth).to eq(:required)
    accepted = leaves.select { |_, leaf| strict.verified?(leaf.cert) }.keys
    expect(accepted).to eq(["clientAuth", "clientAuth,serverAuth"])
    expect(reason(strict, leaves["no extendedKeyUsage"])).to eq(:missing_client_auth)
  end

  it "says which setting accepts a leaf without extendedKeyUsage" do
    strict = described_class.new(root.to_pem)
    expect { strict.verify(leaves["no extendedKeyUsage"].cert) }
      .to raise_error(HanamiGuard::UntrustedCertificate, /no extended key usage.*client_auth: when_present/)
    lenient = described_class.new(root.to_pem, client_auth: :when_present)
    expect { lenient.verify(leaves["serverAuth"].cert) }.to raise_error(HanamiGuard::UntrustedCertificate) do |e|
      expect(e.reason).to eq(:missing_client_auth)
      expect(e.message).to include("extendedKeyUsage = clientAuth")
      expect(e.message).not_to include("when_present")
    end
  end

  it "refuses an unknown mode, listing the known ones" do
    [:optional, "when_present", nil, 1].each do |bad|
      expect { described_class.new(root.to_pem, client_auth: bad) }
        .to raise_error(ArgumentError, /client_auth: .* is not known: use one of required, when_present/)
    end
  end

  it "keeps the mode across a reload" do
    Dir.mktmpdir do |dir|
      ca_file = File.join(dir, "ca.pem")
      File.write(ca_file, root.to_pem)
      store = described_class.load(ca_file:, client_auth: :when_present)
      other = CertFactory.ca(subject: "/O=Test/CN=Second Root")
      File.write(ca_file, root.to_pem + other.to_pem)
      expect(store.reload!).to be(true)
      expect(store.client_auth).to eq(:when_present)
      expect(store.verified?(leaves["no extendedKeyUsage"].cert)).to be(true)
      expect { described_class.load(ca_file:, client_auth: :sometimes) }.to raise_error(ArgumentError, /client_auth:/)
    end
  end
end
