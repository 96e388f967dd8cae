# frozen_string_literal: true

require "spec_helper"
require "json"
require "securerandom"
require "erb"

RSpec.describe HanamiGuard::Certificate do
  let(:root) { CertFactory.ca }
  let(:leaf) do
    CertFactory.leaf(issuer: root, subject: [%w[C US], %w[O MyOrg], %w[CN operator]],
                     dns: ["api.example.org", "*.example.org"], uris: ["spiffe://prod.example.org/ns/ops/sa/deployer"],
                     emails: ["ops@example.org"], ips: ["10.1.2.3", "2001:db8::1"],
                     key_usage: "digitalSignature,keyEncipherment", serial: 0x0abc_def0_1234)
  end
  let(:openssl) { leaf.cert }
  let(:cert) { described_class.parse(leaf.to_pem) }
  let(:fixtures) { File.expand_path("../../fixtures/external/spiffe", __dir__) }

  describe ".parse" do
    it "reads PEM, DER and OpenSSL certificates to the same certificate" do
      from_der = described_class.parse(openssl.to_der)
      from_openssl = described_class.parse(openssl)
      expect(from_der).to eq(cert)
      expect(from_openssl).to eq(cert)
      expect(cert.to_der).to eq(openssl.to_der)
    end

    it "uses the first CERTIFICATE block and skips other block types" do
      other = CertFactory.leaf(issuer: root, subject: "/CN=second")
      text = "explanatory text\n#{CertFactory.key.to_pem}#{leaf.to_pem}#{other.to_pem}"
      expect(described_class.parse(text).subject["CN"]).to eq("operator")
    end

    it "refuses non-String input with TypeError" do
      [nil, 42, :pem, [leaf.to_pem], Object.new].each do |input|
        expect { described_class.parse(input) }.to raise_error(TypeError, /PEM or DER String/)
      end
    end

    it "refuses empty input, keys, CSRs and text without a certificate" do
      csr = OpenSSL::X509::Request.new
      csr.subject = OpenSSL::X509::Name.parse("/CN=x")
      csr.public_key = CertFactory.key
      csr.sign(csr.public_key, OpenSSL::Digest.new("SHA256"))
      {
        "" => /empty/, "   \n" => /empty/, CertFactory.key.to_pem => /PRIVATE KEY.*not a certificate/,
        csr.to_pem => /CSR/, "hello world" => /neither PEM/, CertFactory.key.to_der => /not a valid X.509/,
        csr.to_der => /not a valid X.509/
      }.each do |input, message|
        expect { described_class.parse(input) }.to raise_error(HanamiGuard::CertificateError, message)
      end
    end

    it "refuses bad base64, truncated DER and trailing bytes" do
      der = openssl.to_der
      body = leaf.to_pem.lines[1..-2].join
      bad_b64 = "-----BEGIN CERTIFICATE-----\n#{body.sub(/[A-Za-z]/, "*")}-----END CERTIFICATE-----\n"
      [bad_b64, der[0, der.bytesize / 2], der[0..-2], "#{der}\x00", "#{der}junk",
       "-----BEGIN CERTIFICATE-----\n#{[der[0..-10]].pack("m")}-----END CERTIFICATE-----\n",
       leaf.to_pem.sub("-----END CERTIFICATE-----\n", ""), leaf.to_pem.sub("END CERTIFICATE", "END X509 CRL")]
        .each do |input|
          expect { described_class.parse(input) }.to raise_error(HanamiGuard::CertificateError)
        end
    end

    # x509-parser on its own reads a Name up to the first RDN it cannot parse and drops the rest,
    # so these used to parse as a subject of plain CN=operator (and an issuer that read as empty).
    it "refuses a name that holds more than can be read, never reading part of it" do
      asn1 = OpenSSL::ASN1.decode(openssl.to_der)
      tbs = asn1.value[0].value
      offset = tbs[0].tag_class == :CONTEXT_SPECIFIC ? 1 : 0
      junk_rdns = [
        OpenSSL::ASN1::Set([OpenSSL::ASN1::Sequence([OpenSSL::ASN1::Null(nil)])]), # no attribute type
        OpenSSL::ASN1::Set([OpenSSL::ASN1::Sequence([OpenSSL::ASN1::ObjectId("2.5.4.10"),
                                                     OpenSSL::ASN1::UTF8String("a"),
                                                     OpenSSL::ASN1::UTF8String("b")])]), # two values
        OpenSSL::ASN1::Set([]) # an empty RDN
      ]
      { "subject" => offset + 4, "issuer" => offset + 2 }.each do |field, index|
        junk_rdns.each do |junk|
          tampered = OpenSSL::ASN1.decode(openssl.to_der)
          name = tampered.value[0].value[index]
          name.value = [*name.value, junk]
          expect { described_class.parse(tampered.to_der) }
            .to raise_error(certificate_error(:malformed, part: field.to_sym))
        end
      end
      expect(OpenSSL::X509::Name.new(tbs[offset + 4].to_der)).to eq(openssl.subject)
      expect(OpenSSL::X509::Name.new(tbs[offset + 2].to_der)).to eq(openssl.issuer)
    end

    it "refuses keyUsage and basicConstraints values with anything after what they hold" do
      bit_string = OpenSSL::ASN1::BitString.new("\xa0".b).tap { |b| b.unused_bits = 5 }.to_der
      ca_true = OpenSSL::ASN1::Boolean.new(true).to_der
      {
        "keyUsage" => ["#{bit_string}\x00", "#{bit_string}#{OpenSSL::ASN1::Null.new(nil).to_der}"],
        "basicConstraints" => ["#{OpenSSL::ASN1::Sequence([OpenSSL::ASN1::Boolean.new(true)]).to_der}\x05\x00",
                               "0\x05#{ca_true}\x05\x00".b]
      }.each do |type, values|
        values.each do |value|
          ext = OpenSSL::X509::Extension.new(type, value.b, true)
          opts = type == "keyUsage" ? { key_usage: nil } : { basic_constraints: false }
          cert = CertFactory.leaf(issuer: root, extra_extensions: [ext], **opts)
          expect { described_class.parse(cert.to_der) }
            .to raise_error(certificate_error(:malformed_extension, extension: type.to_sym))
        end
      end
      ok = CertFactory.leaf(issuer: root, key_usage: nil, extra_extensions: [
                              OpenSSL::X509::Extension.new("keyUsage", bit_string, true)
                            ])
      expect(described_class.parse(ok.to_der).key_usage).to eq(%i[digital_signature key_encipherment])
    end

    it "refuses BER where DER is required, anywhere in the certificate" do
      dns = "api.example.org"
      client_auth = OpenSSL::ASN1::ObjectId.new("clientAuth").to_der
      {
        "subjectAltName" => ["0\x81\x11\x82\x0f#{dns}".b, "0\x12\x82\x81\x0f#{dns}".b],
        "extendedKeyUsage" => ["0\x81\x0a".b + client_auth]
      }.each do |type, values|
        values.each do |value|
          ext = OpenSSL::X509::Extension.new(type, value.b, false)
          cert = CertFactory.leaf(issuer: root, eku: nil, extra_extensions: [ext])
          expect { described_class.parse(cert.to_der) }
            .to raise_error(certificate_error(:malformed_extension, extension: type.to_sym))
        end
      end
      # An RDN with an indefinite length (BER) inside the subject.
      tampered = OpenSSL::ASN1.decode(openssl.to_der)
      tbs = tampered.value[0].value
      subject = tbs[tbs[0].tag_class == :CONTEXT_SPECIFIC ? 5 : 4]
      subject.value[0].indefinite_length = true
      expect { described_class.parse(tampered.to_der) }
        .to raise_error(certificate_error(:malformed, part: :subject))
    end

    # RFC 5280 4.1.2.5: UTCTime YYMMDDHHMMSSZ, GeneralizedTime YYYYMMDDHHMMSSZ, nothing else.
    it "reads times in RFC 5280's two forms only, and bit strings and SAN names in DER's" do
      validity_index = OpenSSL::ASN1.decode(openssl.to_der).value[0].value[0].tag_class == :CONTEXT_SPECIFIC ? 4 : 3
      with_times = lambda do |not_before, not_after|
        tampered = OpenSSL::ASN1.decode(openssl.to_der)
        tampered.value[0].value[validity_index].value = [not_before, not_after]
        tampered.to_der
      end
      utc = ->(text) { OpenSSL::ASN1::ASN1Data.new(text, 23, :UNIVERSAL) }
      generalized = ->(text) { OpenSSL::ASN1::ASN1Data.new(text, 24, :UNIVERSAL) }
      parsed = described_class.parse(with_times.call(utc.call("491231235959Z"), generalized.call("20500101000000Z")))
      expect([parsed.not_before, parsed.not_after]).to eq([Time.utc(2049, 12, 31, 23, 59, 59), Time.utc(2050)])
      expect(described_class.parse(with_times.call(utc.call("500101000000Z"), utc.call("240229000000Z"))).not_before)
        .to eq(Time.utc(1950))
      ["2401010000Z", "240101000000+0100", "240101000060Z", "230229000000Z", "241301000000Z", "240101000000z"]
        .each do |bad|
          expect { described_class.parse(with_times.call(utc.call(bad), utc.call("300101000000Z"))) }
            .to raise_error(certificate_error(:malformed, part: :validity))
        end
      ["20240101000000.5Z", "19000229000000Z", "202401010000Z"].each do |bad|
        expect { described_class.parse(with_times.call(utc.call("240101000000Z"), generalized.call(bad))) }
          .to raise_error(certificate_error(:malformed, part: :validity))
      end
      # A signature whose unused bit is set (OpenSSL's encoder clears it: set it in the DER, whose
      # last byte is the signature's).
      tampered = OpenSSL::ASN1.decode(openssl.to_der)
      tampered.value[2].unused_bits = 1
      der = tampered.to_der
      der.setbyte(-1, der.getbyte(-1) | 1)
      expect { described_class.parse(der) }
        .to raise_error(certificate_error(:malformed, part: :signature))
      # A dNSName in constructed form.
      ext = OpenSSL::X509::Extension.new("subjectAltName", "0\x05\xa2\x03\x04\x01a".b, false)
      cert = CertFactory.leaf(issuer: root, extra_extensions: [ext])
      expect { described_class.parse(cert.to_der) }
        .to raise_error(certificate_error(:malformed_extension, extension: :subjectAltName))
    end

    it "refuses a certificate larger than 64 KiB", :slow do
      big = CertFactory.leaf(issuer: root, dns: Array.new(1200) { |i| "host-#{i}-#{"x" * 50}.example.org" })
      expect(big.to_der.bytesize).to be > 65_536
      expect { described_class.parse(big.to_der) }.to raise_error(certificate_error(:too_large))
      expect { described_class.parse(big.to_pem) }.to raise_error(certificate_error(:too_large))
    end

    it "reads the go-spiffe certificates and refuses their corrupt ones" do
      good = described_class.parse(File.read(File.join(fixtures, "good-leaf-only.pem")))
      expect(good.spiffe_id.to_s).to eq("spiffe://example.org/workload-1")
      %w[corrupt-cert.pem not-pem].each do |name|
        expect { described_class.parse(File.binread(File.join(fixtures, name))) }
          .to raise_error(HanamiGuard::CertificateError)
      end
    end

    it "cannot be instantiated with new" do
      expect { described_class.new }.to raise_error(NoMethodError, /Certificate.parse/)
    end
  end

  describe ".parse_chain" do
    it "returns every certificate of a bundle in order" do
      chain = CertFactory.chain
      bundle = [chain[:leaf], chain[:intermediate], chain[:root]].map(&:to_pem).join("\n")
      certs = described_class.parse_chain(bundle)
      expect(certs.map(&:to_der)).to eq([chain[:leaf], chain[:intermediate], chain[:root]].map(&:to_der))
      expect(certs).to be_frozen
    end

    it "reads the go-spiffe leaf-and-intermediate bundle" do
      certs = described_class.parse_chain(File.read(File.join(fixtures, "good-leaf-and-intermediate.pem")))
      expect(certs.size).to eq(2)
      expect(certs.first.spiffe_id.to_s).to eq("spiffe://example.org/workload-1")
    end

    it "refuses a bundle with no certificate or a broken block" do
      expect { described_class.parse_chain(CertFactory.key.to_pem) }.to raise_error(HanamiGuard::CertificateError)
      broken = leaf.to_pem + leaf.to_pem.sub(/^M.{10}/, "!!!!")
      expect { described_class.parse_chain(broken) }.to raise_error(certificate_error(index: 2))
      expect { described_class.parse_chain(nil) }.to raise_error(TypeError)
    end
  end

  describe "fields" do
    it "matches what OpenSSL reads" do
      expect(cert.serial).to eq(openssl.serial.to_s(16).downcase)
      expect(cert.not_before).to eq(openssl.not_before)
      expect(cert.not_after).to eq(openssl.not_after)
      expect(cert.not_before).to be_utc
      expect(cert.fingerprint).to eq(OpenSSL::Digest::SHA256.hexdigest(openssl.to_der))
      expect(cert.subject.to_a).to eq(openssl.subject.to_a.map { |type, value, _| [type, value] })
      expect(cert.issuer.to_s).to eq(openssl.issuer.to_s(OpenSSL::X509::Name::RFC2253))
      expect(cert.to_pem).to eq(openssl.to_pem)
    end

    it "reads the subjectAltName entries" do
      expect(cert.dns_names).to eq(["api.example.org", "*.example.org"])
      expect(cert.uris).to eq(["spiffe://prod.example.org/ns/ops/sa/deployer"])
      expect(cert.emails).to eq(["ops@example.org"])
      expect(cert.ip_addresses).to eq(["10.1.2.3", "2001:db8::1"])
    end

    it "reads the SPIFFE ID, key usage, EKU and CA flag" do
      expect(cert.spiffe_id).to eq(HanamiGuard::SpiffeId.parse("spiffe://prod.example.org/ns/ops/sa/deployer"))
      expect(cert.key_usage).to eq(%i[digital_signature key_encipherment])
      expect(cert).to be_client_auth
      expect(cert).not_to be_ca
      expect(cert).to be_svid
      expect(described_class.parse(root.cert)).to be_ca
      expect(described_class.parse(root.cert).key_usage).to eq(%i[key_cert_sign crl_sign])
      server = CertFactory.leaf(issuer: root, eku: "serverAuth")
      expect(described_class.parse(server.cert)).not_to be_client_auth
      expect(described_class.parse(CertFactory.leaf(issuer: root, eku: nil).cert)).not_to be_client_auth
    end

    it "answers valid_at? at both ends of the validity period" do
      expect(cert.valid_at?).to be(true)
      expect(cert.valid_at?(openssl.not_before)).to be(true)
      expect(cert.valid_at?(openssl.not_after)).to be(true)
      expect(cert.valid_at?(openssl.not_before - 1)).to be(false)
      expect(cert.valid_at?(openssl.not_after + 1)).to be(false)
      expect(cert.valid_at?(openssl.not_after.to_i)).to be(true)
      expect { cert.valid_at?("tomorrow") }.to raise_error(TypeError)
    end

    it "returns frozen values and is itself frozen" do
      expect(cert).to be_frozen
      [cert.serial, cert.fingerprint, cert.dns_names, cert.uris, cert.emails, cert.ip_addresses, cert.key_usage,
       cert.to_der, cert.to_pem, cert.subject, cert.subject.to_s, cert.subject.to_a, cert.spiffe_id]
        .each { |v| expect(v).to be_frozen }
      expect(cert.dns_names.first).to be_frozen
      expect(cert.to_der.encoding).to eq(Encoding::BINARY)
    end

    it "returns the interned String for an identity value, so a client's next request allocates none" do
      again = described_class.parse(leaf.to_der)
      reads = lambda do |c|
        [c.serial, c.fingerprint, *c.dns_names, *c.uris, *c.emails, *c.ip_addresses, c.subject.to_s,
         c.subject["CN"], *c.subject.values("O"), *c.subject.to_a.flatten, c.spiffe_id.to_s,
         c.spiffe_id.trust_domain, c.spiffe_id.path]
      end
      reads.call(cert).zip(reads.call(again)) do |first, second|
        expect(second).to equal(first)
        expect(second).to equal(-first.dup)
        expect(second.encoding).to eq(Encoding::UTF_8)
      end
    end

    it "returns the right interned String when more values are read than its cache of them holds" do
      # The binding keeps 1,024 interned Strings in a cache indexed by a hash of the bytes: with
      # 5,000 values slots are shared and replaced, and every read must still give its own value.
      values = Array.new(5000) { |i| "client-#{i}.example" } + ["x" * 128, "y" * 129, "\u00e9t\u00e9"]
      names = values.map { |v| HanamiGuard::DistinguishedName.parse("CN=#{v.gsub(",", "\\,")}") }
      2.times do
        names.zip(values).reverse_each do |name, value|
          read = name["CN"]
          expect(read).to eq(value)
          expect(read).to equal(-value.dup)
          expect(read).to be_frozen
          expect(read.encoding).to eq(Encoding::UTF_8)
        end
        GC.compact if GC.respond_to?(:compact)
      end
    end

    it "gives plain data for JSON in to_h" do
      h = JSON.parse(JSON.generate(cert.to_h))
      expect(h).to include("subject" => "CN=operator,O=MyOrg,C=US", "fingerprint" => cert.fingerprint,
                           "spiffe_id" => "spiffe://prod.example.org/ns/ops/sa/deployer", "ca" => false,
                           "client_auth" => true, "key_usage" => %w[digital_signature key_encipherment],
                           "ip_addresses" => ["10.1.2.3", "2001:db8::1"])
      expect(Time.iso8601(h["not_after"])).to eq(openssl.not_after)
    end

    it "shows only the subject and fingerprint in inspect" do
      expect(cert.inspect).to eq(
        "#<HanamiGuard::Certificate subject=\"CN=operator,O=MyOrg,C=US\" fingerprint=#{cert.fingerprint}>"
      )
      expect(cert.inspect).not_to include("BEGIN")
    end

    it "compares by DER and hashes consistently" do
      again = described_class.parse(openssl.to_der)
      expect(cert).to eq(again)
      expect(cert.hash).to eq(again.hash)
      expect({ cert => 1 }[again]).to eq(1)
      expect(cert).not_to eq(described_class.parse(root.cert))
      expect(cert).not_to eq(openssl)
    end

    it "reads UTF-8, BMPString and Teletex names" do
      c = described_class.parse(CertFactory.leaf(issuer: root, subject: [["CN", "Zoë Ünïcödé 日本"],
                                                                         ["O", "Bmp Ä".encode("UTF-16BE").b,
                                                                          OpenSSL::ASN1::BMPSTRING],
                                                                         ["L", "Caf\xE9".b,
                                                                          OpenSSL::ASN1::T61STRING]]).cert)
      expect(c.subject["CN"]).to eq("Zoë Ünïcödé 日本")
      expect(c.subject["O"]).to eq("Bmp Ä")
      expect(c.subject["L"]).to eq("Café")
    end

    it "is safe to read from many threads at once", :slow do
      threads = Array.new(8) do
        Thread.new do
          Array.new(GcStress.size(200)) do
            [cert.subject["CN"], cert.fingerprint, cert.dns_names.size]
          end.uniq
        end
      end
      expect(threads.map(&:value).flatten(1).uniq).to eq([["operator", cert.fingerprint, 2]])
    end
  end

  describe "X509-SVID rules on the go-spiffe certificates" do
    def fixture(name) = described_class.parse_chain(File.read(File.join(fixtures, name))).first

    it "accepts the good leaf as an SVID" do
      expect(fixture("good-leaf-only.pem")).to be_svid
      expect(fixture("good-leaf-and-intermediate.pem")).to be_svid
    end

    it "refuses the wrong leaves" do
      expect(fixture("wrong-leaf-empty-id.pem").spiffe_id).to be_nil
      %w[wrong-leaf-empty-id.pem wrong-leaf-ca-true.pem wrong-leaf-no-digital-signature.pem
         wrong-leaf-cert-sign.pem wrong-leaf-crl-sign.pem].each do |name|
        expect(fixture(name)).not_to be_svid, name
      end
    end

    it "refuses a leaf with two URI SANs even if both are SPIFFE IDs" do
      two = described_class.parse(CertFactory.leaf(issuer: root, uris: %w[spiffe://a.org/x spiffe://a.org/y]).cert)
      expect(two.uris).to eq(%w[spiffe://a.org/x spiffe://a.org/y])
      expect(two.spiffe_id).to be_nil
      expect(two).not_to be_svid
    end
  end

  # GC.stress collects at every allocation: a Ruby object the extension failed to keep alive
  # would be freed under its feet. Every identity entry point runs once here under a full
  # GC.stress, in every run (GC_STRESS=full does the same for every call of the suite).
  it "keeps every identity entry point working under GC.stress", :slow, :gc_stress do
    chain = CertFactory.chain(uris: ["spiffe://example.org/a"], dns: ["a.example"], ips: ["10.0.0.1"])
    crl = CertFactory.crl(issuer: chain[:intermediate])
    bundle = chain[:leaf].to_pem + chain[:intermediate].to_pem
    fingerprint = OpenSSL::Digest::SHA256.hexdigest(chain[:leaf].to_der)
    header = "By=spiffe://p;Hash=#{fingerprint};Cert=\"#{ERB::Util.url_encode(chain[:leaf].to_pem)}\";URI=a;DNS=b"
    results = []
    begin
      GC.stress = true
      c = described_class.parse(chain[:leaf].to_pem)
      list = described_class.parse_chain(bundle)
      results << c.subject["CN"] << c.subject.to_a << c.issuer.to_s << c.dns_names << c.spiffe_id.to_s
      results << c.to_h[:fingerprint] << (c == described_class.parse(chain[:leaf].cert)) << c.key_usage
      dn = HanamiGuard::DistinguishedName.parse("CN=a\\,b+UID=x,O=MyOrg")
      results << (dn == HanamiGuard::DistinguishedName.parse(dn.to_s)) << dn.match?(O: "myorg")
      element = HanamiGuard::Xfcc.parse(header).first
      results << HanamiGuard::Xfcc.certificate(element).fingerprint << element["URI"]
      store = HanamiGuard::TrustStore.new(chain[:root].to_pem, crls: [crl.to_pem])
      results << store.verify(c, intermediates: [list[1]]).fingerprint << store.verified?(c)
    ensure
      GC.stress = false
    end
    expect(results).to eq(["operator", [%w[O MyOrg], %w[CN operator]], "CN=Test Intermediate CA,O=Test",
                           ["a.example"], "spiffe://example.org/a", fingerprint, true, [:digital_signature],
                           true, true, fingerprint, ["a"], fingerprint, false])
  end
end
