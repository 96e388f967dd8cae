# frozen_string_literal: true

require "spec_helper"

RSpec.describe HanamiGuard::TrustStore do
  let(:chain) { CertFactory.chain }
  let(:root) { chain[:root] }
  let(:ica) { chain[:intermediate] }
  let(:leaf) { chain[:leaf] }
  let(:store) { described_class.new(root.to_pem) }
  let(:fixtures) { File.expand_path("../../fixtures/external/spiffe", __dir__) }

  def reason_for(cert, **opts)
    store.verify(cert, **opts)
    nil
  rescue HanamiGuard::UntrustedCertificate => e
    expect(e.message).not_to be_empty
    e.reason
  end

  describe ".new" do
    it "pins the CAs of a bundle, and is frozen" do
      other = CertFactory.ca(subject: "/CN=Other CA")
      s = described_class.new(root.to_pem + other.to_pem)
      expect(s.size).to eq(2)
      expect(s).to be_frozen
    end

    it "raises ConfigurationError for an empty bundle, garbage, or a bundle without a CA" do
      ["", "garbage", leaf.to_pem, CertFactory.key.to_pem].each do |bad|
        expect { described_class.new(bad) }.to raise_error(HanamiGuard::ConfigurationError)
      end
      expect { described_class.new(leaf.to_pem) }.to raise_error(HanamiGuard::ConfigurationError, /no CA/)
      expect { described_class.new(root.to_pem, crls: ["not a crl"]) }.to raise_error(HanamiGuard::ConfigurationError)
    end

    it "raises TypeError for wrong types" do
      expect { described_class.new(nil) }.to raise_error(TypeError)
      expect { described_class.new(root.to_pem, crls: [1]) }.to raise_error(TypeError)
    end
  end

  describe "#verify" do
    it "returns the certificate for a good chain, from Certificates, OpenSSL objects or PEM" do
      cert = HanamiGuard::Certificate.parse(leaf.cert)
      expect(store.verify(cert, intermediates: [HanamiGuard::Certificate.parse(ica.cert)])).to eq(cert)
      expect(cert.verified_issuer_keys).to be_nil
      expect(store.verify(leaf.cert, intermediates: [ica.cert])).to eq(cert)
      expect(store.verify(leaf.to_pem, intermediates: [ica.to_pem])).to eq(cert)
      expect(store.verified?(leaf.cert, intermediates: [ica.cert])).to be(true)
    end

    it "verifies a leaf issued directly by a pinned CA" do
      direct = CertFactory.leaf(issuer: root)
      expect(store.verified?(direct.cert)).to be(true)
    end

    it "gives :unknown_issuer without the intermediate or with another CA" do
      expect(reason_for(leaf.cert)).to eq(:unknown_issuer)
      other_root = CertFactory.ca(subject: "/O=Elsewhere/CN=Other Root")
      other_ica = CertFactory.intermediate(issuer: other_root, subject: "/O=Elsewhere/CN=Other Intermediate")
      stranger = CertFactory.leaf(issuer: other_ica)
      expect(reason_for(stranger.cert, intermediates: [other_ica.cert])).to eq(:unknown_issuer)
      expect(reason_for(stranger.cert, intermediates: [ica.cert])).to eq(:unknown_issuer)
      expect(store.verified?(leaf.cert)).to be(false)
    end

    it "gives :expired and :not_yet_valid, and honours at:" do
      expired = CertFactory.leaf(issuer: ica, not_before: Time.now - (86_400 * 10), not_after: Time.now - 86_400)
      future = CertFactory.leaf(issuer: ica, not_before: Time.now + 86_400, not_after: Time.now + (86_400 * 10))
      expect(reason_for(expired.cert, intermediates: [ica.cert])).to eq(:expired)
      expect(reason_for(future.cert, intermediates: [ica.cert])).to eq(:not_yet_valid)
      expect(store.verified?(future.cert, intermediates: [ica.cert], at: Time.now + (86_400 * 2))).to be(true)
      expect(reason_for(leaf.cert, intermediates: [ica.cert], at: Time.now + (86_400 * 400))).to eq(:expired)
    end

    it "gives :bad_signature for a certificate signed by the wrong key" do
      forged = CertFactory.leaf(issuer: ica, sign_key: CertFactory.key)
      expect(reason_for(forged.cert, intermediates: [ica.cert])).to eq(:bad_signature)
      impostor_ca = CertFactory.ca(subject: root.cert.subject)
      expect(described_class.new(impostor_ca.to_pem).verified?(leaf.cert, intermediates: [ica.cert])).to be(false)
    end

    it "gives :missing_client_auth for a serverAuth-only leaf and a leaf without EKU" do
      expect(reason_for(CertFactory.leaf(issuer: ica, eku: "serverAuth").cert, intermediates: [ica.cert]))
        .to eq(:missing_client_auth)
      expect(reason_for(CertFactory.leaf(issuer: ica, eku: nil).cert, intermediates: [ica.cert]))
        .to eq(:missing_client_auth)
      expect(store.verified?(CertFactory.leaf(issuer: ica, eku: "serverAuth,clientAuth").cert,
                             intermediates: [ica.cert]))
        .to be(true)
    end

    it "gives :revoked for a certificate a CRL revokes, PEM or DER" do
      crl = CertFactory.crl(issuer: ica, revoked: [leaf])
      other = CertFactory.leaf(issuer: ica)
      [crl.to_pem, crl.to_der].each do |encoded|
        s = described_class.new(root.to_pem, crls: [encoded])
        expect { s.verify(leaf.cert, intermediates: [ica.cert]) }
          .to raise_error(HanamiGuard::UntrustedCertificate) { |e| expect(e.reason).to eq(:revoked) }
        expect(s.verified?(other.cert, intermediates: [ica.cert])).to be(true)
      end
    end

    it "gives :invalid for a CA as the leaf and a non-CA intermediate" do
      expect(reason_for(ica.cert)).to eq(:invalid)
      not_ca = CertFactory.leaf(issuer: root, subject: "/CN=fake intermediate",
                                key_usage: "keyCertSign,digitalSignature")
      under = CertFactory.leaf(issuer: not_ca)
      expect(reason_for(under.cert, intermediates: [not_ca.cert])).to eq(:invalid).or eq(:unknown_issuer)
    end

    it "gives :invalid for a leaf whose keyUsage cannot sign, as OpenSSL's sslclient purpose does" do
      cannot_sign = CertFactory.leaf(issuer: ica, key_usage: "keyEncipherment,keyCertSign")
      expect { store.verify(cannot_sign.cert, intermediates: [ica.cert]) }
        .to raise_error(HanamiGuard::UntrustedCertificate, /digitalSignature/) { |e| expect(e.reason).to eq(:invalid) }
      %w[digitalSignature keyAgreement].each do |usage|
        expect(store.verified?(CertFactory.leaf(issuer: ica, key_usage: usage).cert, intermediates: [ica.cert]))
          .to be(true)
      end
      expect(store.verified?(CertFactory.leaf(issuer: ica, key_usage: nil).cert, intermediates: [ica.cert])).to be(true)
    end

    it "says why a SHA-1 signature or a short RSA key cannot verify" do
      sha1 = CertFactory.leaf(issuer: ica, digest: "SHA1")
      expect { store.verify(sha1.cert, intermediates: [ica.cert]) }
        .to raise_error(HanamiGuard::UntrustedCertificate, /SHA-1/) { |e| expect(e.reason).to eq(:invalid) }

      weak_root = CertFactory.ca(key: CertFactory.key(:rsa, bits: 1024))
      expect { described_class.new(weak_root.to_pem) }
        .to raise_error(HanamiGuard::ConfigurationError, /1024-bit RSA key.*2048/)

      weak_ica = CertFactory.intermediate(issuer: root, key: CertFactory.key(:rsa, bits: 1024))
      under_weak = CertFactory.leaf(issuer: weak_ica)
      expect { store.verify(under_weak.cert, intermediates: [weak_ica.cert]) }
        .to raise_error(HanamiGuard::UntrustedCertificate, /1024-bit RSA key/) do |e|
          expect(e.reason).to eq(:bad_signature)
        end
    end

    it "refuses more than 8 intermediates" do
      nine = Array.new(9) { ica.cert }
      expect { store.verify(leaf.cert, intermediates: nine) }
        .to raise_error(HanamiGuard::UntrustedCertificate, /at most 8/) { |e| expect(e.reason).to eq(:invalid) }
      expect(store.verified?(leaf.cert, intermediates: nine)).to be(false)
      expect(store.verified?(leaf.cert, intermediates: Array.new(8) { ica.cert })).to be(true)
      expect(described_class::MAX_INTERMEDIATES).to eq(8)
    end

    it "refuses more than 8 parsed intermediates too, even after 8 of them verified" do
      parsed = Array.new(9) { HanamiGuard::Certificate.parse(ica.cert) }
      expect(store.verified?(leaf.cert, intermediates: parsed.take(8))).to be(true)
      expect { store.verify(leaf.cert, intermediates: parsed) }
        .to raise_error(HanamiGuard::UntrustedCertificate, /9 intermediates given; at most 8/) { |e|
          expect(e.reason).to eq(:invalid)
        }
      expect(store.verified?(leaf.cert, intermediates: parsed)).to be(false)
    end

    it "applies the core's limit before parsing any intermediate" do
      expect { store.verify(leaf.cert, intermediates: Array.new(9) { "not a certificate" }) }
        .to raise_error(HanamiGuard::UntrustedCertificate, /9 intermediates given; at most 8/)
      expect { store.verify(leaf.cert, intermediates: ["not a certificate"]) }
        .to raise_error(HanamiGuard::CertificateError)
    end

    it "follows go-spiffe's chain cases" do
      good = HanamiGuard::Certificate.parse_chain(File.read(File.join(fixtures, "good-leaf-and-intermediate.pem")))
      bad = HanamiGuard::Certificate.parse_chain(File.read(File.join(fixtures, "wrong-intermediate-no-ca.pem")))
      # The go-spiffe leaf lived one hour on 2020-03-24; pin its intermediate.
      ica_store = described_class.new(good[1].to_pem)
      expect(ica_store.verified?(good[0], at: Time.utc(2020, 3, 24, 14, 30))).to be(true)
      expect { ica_store.verify(good[0], at: Time.utc(2021, 1, 1)) }
        .to raise_error(HanamiGuard::UntrustedCertificate) { |e| expect(e.reason).to eq(:expired) }
      # The signing certificate of wrong-intermediate-no-ca is not a CA: never an anchor, never a link.
      expect { described_class.new(bad[1].to_pem) }.to raise_error(HanamiGuard::ConfigurationError, /no CA/)
      expect(ica_store.verified?(bad[0], intermediates: [bad[1]], at: Time.utc(2021, 1, 1))).to be(false)
    end

    it "checks argument types" do
      expect { store.verify(nil) }.to raise_error(TypeError)
      expect { store.verify(leaf.cert, at: "now") }.to raise_error(TypeError)
      expect { store.verify("garbage") }.to raise_error(HanamiGuard::CertificateError)
      expect(store.verified?("garbage")).to be(false)
    end

    it "is shared safely by many threads", :slow do
      results = Array.new(8) do
        Thread.new { Array.new(50) { store.verified?(leaf.cert, intermediates: [ica.cert]) }.uniq }
      end.map(&:value)
      expect(results.flatten.uniq).to eq([true])
    end
  end
end
