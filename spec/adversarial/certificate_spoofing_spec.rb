# frozen_string_literal: true

require "spec_helper"
require "securerandom"
require "timeout"

# Certificates crafted so that string handling of names would grant an identity they do not
# have: injected separators, duplicate attributes, NULs, several URI SANs, SAN text that looks
# like a list; and non-certificates that must be refused cleanly.
RSpec.describe "certificate spoofing" do
  let(:root) { CertFactory.ca }

  def parse(**opts)
    HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: root, **opts).cert)
  end

  it "keeps a CN with an injected ',O=MyOrg' as one attribute" do
    cert = parse(subject: [["CN", "operator,O=MyOrg"]])
    expect(cert.subject.to_a).to eq([["CN", "operator,O=MyOrg"]])
    expect(cert.subject["O"]).to be_nil
    expect(cert.subject.match?(CN: "operator", O: "MyOrg")).to be(false)
    expect(cert.subject.match?(CN: "operator")).to be(false)
    expect(cert.subject.to_s).to eq("CN=operator\\,O=MyOrg")
    expect(cert.subject).not_to eq(HanamiGuard::DistinguishedName.parse("CN=operator,O=MyOrg"))
    expect(HanamiGuard::DistinguishedName.parse(cert.subject.to_s)).to eq(cert.subject)
  end

  it "escapes every injection attempt in to_s so the string parses back to the same name" do
    ["x+OU=admins", "x;O=evil", "x\\,O=evil", "\"quoted\"", "<script>", "# hash", " padded ", "x\nCN=admin",
     "=leading"].each do |value|
      cert = parse(subject: [%w[O MyOrg], ["CN", value]])
      expect(HanamiGuard::DistinguishedName.parse(cert.subject.to_s)).to eq(cert.subject), value.inspect
      expect(cert.subject.values("CN")).to eq([value])
      expect(cert.subject.to_s).not_to include("\n")
    end
  end

  it "never reduces duplicate CNs to one" do
    cert = parse(subject: [%w[O MyOrg], %w[CN alice], %w[CN admin]])
    expect(cert.subject["CN"]).to eq("alice")
    expect(cert.subject.values("CN")).to eq(%w[alice admin])
    expect(cert.subject.match?(CN: "admin")).to be(false)
    expect(cert.subject.match?(CN: "alice")).to be(false)
    expect(cert.subject.match?(CN: %w[admin alice])).to be(true)
  end

  it "never matches a value carrying a NUL or a control character against one without" do
    ["admin\0", "admin\0.evil.example", "ad\u0000min", "admin\u0007", "admin\t", "admin\u200b"].each do |value|
      cert = parse(subject: [["CN", value]])
      expect(cert.subject["CN"]).to eq(value)
      expect(cert.subject.match?(CN: "admin")).to be(false), value.inspect
      expect(cert.subject).not_to eq(HanamiGuard::DistinguishedName.parse("CN=admin"))
    end
    expect(parse(subject: [["CN", "admin\0"]]).subject.to_s).to eq("CN=admin\\00")
  end

  it "does not merge a multi-valued RDN with separate RDNs" do
    multi = parse(subject: [[:multi, [%w[CN operator], %w[O MyOrg]]]])
    expect(multi.subject).not_to eq(HanamiGuard::DistinguishedName.parse("CN=operator,O=MyOrg"))
    expect(multi.subject).to eq(HanamiGuard::DistinguishedName.parse("O=MyOrg+CN=operator"))
  end

  it "gives no SPIFFE ID when there are two URI SANs, and keeps both" do
    cert = parse(uris: ["spiffe://prod.example.org/admin", "spiffe://prod.example.org/user"])
    expect(cert.spiffe_id).to be_nil
    expect(cert).not_to be_svid
    expect(cert.uris.size).to eq(2)
    one_bad = parse(uris: ["spiffe://prod.example.org/admin/../x"])
    expect(one_bad.spiffe_id).to be_nil
  end

  it "keeps SAN text that looks like a list as one entry" do
    cert = parse(dns: ["good.example, DNS:admin.example"], uris: ["spiffe://a.org/x, URI:spiffe://a.org/admin"])
    expect(cert.dns_names).to eq(["good.example, DNS:admin.example"])
    expect(cert.uris).to eq(["spiffe://a.org/x, URI:spiffe://a.org/admin"])
    expect(cert.spiffe_id).to be_nil
  end

  it "refuses a certificate with two subjectAltName extensions" do
    second = OpenSSL::X509::Extension.new("subjectAltName", CertFactory.san_der(dns: [], uris: ["spiffe://a.org/admin"],
                                                                                emails: [], ips: []))
    leaf = CertFactory.leaf(issuer: root, uris: ["spiffe://a.org/user"], extra_extensions: [second])
    expect { HanamiGuard::Certificate.parse(leaf.cert) }.to raise_error(certificate_error(:repeated_extension))
  end

  it "does not trust a certificate whose issuer name copies a pinned CA's" do
    store = HanamiGuard::TrustStore.new(root.to_pem)
    impostor = CertFactory.ca(subject: root.cert.subject)
    forged = CertFactory.leaf(issuer: impostor, subject: "/CN=admin")
    expect { store.verify(forged.cert) }
      .to raise_error(HanamiGuard::UntrustedCertificate) { |e| expect(e.reason).to eq(:bad_signature) }
  end

  describe "malformed input" do
    let(:der) { CertFactory.leaf(issuer: root).to_der }

    it "raises CertificateError for truncations at every length", :slow do
      (0...der.bytesize).step(7).each do |n|
        expect { HanamiGuard::Certificate.parse(der.byteslice(0, n)) }.to raise_error(HanamiGuard::CertificateError)
      end
    end

    it "raises CertificateError for trailing junk, in DER and in PEM" do
      expect do
        HanamiGuard::Certificate.parse("#{der}\x00\x00")
      end.to raise_error(certificate_error(:trailing_data))
      pem = "-----BEGIN CERTIFICATE-----\n#{["#{der}junk"].pack("m")}-----END CERTIFICATE-----\n"
      expect { HanamiGuard::Certificate.parse(pem) }.to raise_error(certificate_error(:trailing_data))
    end

    it "raises CertificateError for random bytes and flipped bytes", :slow do
      rng = Random.new(1234)
      200.times do
        input = rng.bytes(rng.rand(1..4096))
        expect { HanamiGuard::Certificate.parse(input) }.to raise_error(HanamiGuard::CertificateError)
      end
      200.times do
        mutated = der.dup
        3.times { mutated.setbyte(rng.rand(mutated.bytesize), rng.rand(256)) }
        begin
          HanamiGuard::Certificate.parse(mutated)
        rescue HanamiGuard::CertificateError
          next
        end
      end
    end

    it "raises CertificateError for a key instead of a certificate" do
      [CertFactory.key.to_pem, CertFactory.key.to_der, CertFactory.key(:rsa, bits: 1024).to_pem,
       CertFactory.key.public_to_pem].each do |key|
        expect { HanamiGuard::Certificate.parse(key) }.to raise_error(HanamiGuard::CertificateError)
      end
    end

    it "raises CertificateError for 2 MB of noise, raw and framed as PEM, in bounded time", :slow do
      noise = Random.new(99).bytes(2 << 20)
      b64 = [noise].pack("m0").scan(/.{1,64}/).join("\n")
      Timeout.timeout(10 * GcStress::SLOWDOWN) do
        expect { HanamiGuard::Certificate.parse(noise) }.to raise_error(HanamiGuard::CertificateError)
        expect { HanamiGuard::Certificate.parse("0#{noise}") }.to raise_error(HanamiGuard::CertificateError)
        expect { HanamiGuard::Certificate.parse("\x30\x84".b + noise) }.to raise_error(HanamiGuard::CertificateError)
        framed = "-----BEGIN CERTIFICATE-----\n#{b64}\n-----END CERTIFICATE-----\n"
        expect { HanamiGuard::Certificate.parse(framed) }.to raise_error(certificate_error(:too_large))
        expect { HanamiGuard::Certificate.parse_chain(framed) }.to raise_error(HanamiGuard::CertificateError)
        expect { HanamiGuard::Certificate.parse("-----BEGIN #{"A" * (2 << 20)}") }
          .to raise_error(HanamiGuard::CertificateError)
        expect { HanamiGuard::DistinguishedName.parse("CN=#{'\\,' * (1 << 20)}") }
          .to raise_error(certificate_error(:distinguished_name))
      end
    end
  end
end
