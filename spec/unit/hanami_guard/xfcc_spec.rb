# frozen_string_literal: true

require "spec_helper"
require "erb"

RSpec.describe HanamiGuard::Xfcc do
  let(:chain) { CertFactory.chain(uris: ["spiffe://example.org/client"]) }
  let(:leaf) { chain[:leaf] }
  let(:encoded_cert) { ERB::Util.url_encode(leaf.to_pem) }
  let(:fingerprint) { OpenSSL::Digest::SHA256.hexdigest(leaf.to_der) }

  describe ".parse" do
    it "reads Envoy's documented examples" do
      header = "By=http://frontend.lyft.com;Hash=468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688;" \
               'Subject="/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com'
      expected = {
        "By" => "http://frontend.lyft.com",
        "Hash" => "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688",
        "Subject" => "/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client",
        "URI" => ["http://testclient.lyft.com"]
      }
      expect(described_class.parse(header)).to eq([expected])
      two = "By=http://frontend.lyft.com;Hash=aa;URI=http://testclient.lyft.com," \
            "By=http://backend.lyft.com;Hash=bb;URI=http://frontend.lyft.com"
      expect(described_class.parse(two).map { |e| e["By"] }).to eq(%w[http://frontend.lyft.com http://backend.lyft.com])
      dns = "By=http://frontend.lyft.com;Hash=aa;URI=http://testclient.lyft.com;DNS=lyft.com;DNS=www.lyft.com"
      expect(described_class.parse(dns).first["DNS"]).to eq(%w[lyft.com www.lyft.com])
    end

    it "accepts keys in any case and returns them in canonical case" do
      e = described_class.parse("by=a;HASH=b;subject=\"c\";uri=d;dns=e;Uri=f").first
      expect(e.keys).to eq(%w[By Hash Subject URI DNS])
      expect(e["URI"]).to eq(%w[d f])
      expect(e["DNS"]).to eq(%w[e])
    end

    it "unquotes values and keeps , ; = inside quotes" do
      e = described_class.parse('Subject="CN=a\,b;O=\"q\"";URI="x=y"').first
      expect(e["Subject"]).to eq('CN=a\,b;O="q"')
      expect(e["URI"]).to eq(["x=y"])
    end

    it "URL-decodes Cert and Chain" do
      bundle = ERB::Util.url_encode(leaf.to_pem + chain[:intermediate].to_pem)
      e = described_class.parse("Hash=#{fingerprint};Cert=\"#{encoded_cert}\";Chain=#{bundle}").first
      expect(e["Cert"]).to eq(leaf.to_pem)
      expect(e["Chain"]).to eq(leaf.to_pem + chain[:intermediate].to_pem)
    end

    it "returns frozen data" do
      result = described_class.parse("By=a;URI=b")
      expect(result).to be_frozen
      expect(result.first).to be_frozen
      expect(result.first["URI"]).to be_frozen
      expect(result.first["By"]).to be_frozen
    end

    it "raises CertificateError for malformed headers and TypeError for non-Strings" do
      ["", " ", "By", "=x", "By=a;=b", "By=a;;Hash=b", "By=a,", "By=a;", "Subject=\"unterminated",
       "By=a=b", "By=a\"b", "Hash=a;Hash=b", "Cert=a;cert=b", "Chain=a;Chain=b", "Subject=a;SUBJECT=b",
       "Foo=bar", "Cert=%zz", "Subject=\"a\"b"].each do |bad|
        expect { described_class.parse(bad) }.to raise_error(certificate_error(:xfcc))
      end
      expect { described_class.parse(nil) }.to raise_error(TypeError)
    end
  end

  describe ".certificate" do
    it "returns the Cert as a Certificate when Hash matches, in any case" do
      [fingerprint, fingerprint.upcase].each do |hash|
        element = described_class.parse("Hash=#{hash};Cert=\"#{encoded_cert}\"").first
        expect(described_class.certificate(element).fingerprint).to eq(fingerprint)
      end
      expect(described_class.certificate(described_class.parse("Cert=#{encoded_cert}").first).to_der).to eq(leaf.to_der)
    end

    it "raises CertificateError when Hash does not match" do
      other = OpenSSL::Digest.hexdigest("SHA256", "other")
      element = described_class.parse("Hash=#{other};Cert=\"#{encoded_cert}\"").first
      expect do
        described_class.certificate(element)
      end.to raise_error(certificate_error(:xfcc_hash))
      # An element built by hand: bytes that are not UTF-8 are a mismatch too, not an EncodingError.
      forged = element.merge("Hash" => "\xFF#{fingerprint[1..]}".b)
      expect { described_class.certificate(forged) }
        .to raise_error(certificate_error(:xfcc_hash))
      expect { described_class.certificate(element.merge("Hash" => 1)) }.to raise_error(TypeError)
    end

    it "returns nil without Cert, and raises for a Cert that is not a certificate" do
      expect(described_class.certificate(described_class.parse("By=a;Hash=b").first)).to be_nil
      expect { described_class.certificate(described_class.parse("Cert=garbage").first) }
        .to raise_error(HanamiGuard::CertificateError)
      expect { described_class.certificate("Cert=x") }.to raise_error(TypeError)
    end
  end

  describe ".chain" do
    it "returns the chain, leaf first, checking Hash against the leaf" do
      bundle = ERB::Util.url_encode(leaf.to_pem + chain[:intermediate].to_pem)
      certs = described_class.chain(described_class.parse("Hash=#{fingerprint};Chain=#{bundle}").first)
      expect(certs.map(&:to_der)).to eq([leaf.to_der, chain[:intermediate].to_der])
      wrong = described_class.parse("Hash=#{"0" * 64};Chain=#{bundle}").first
      expect { described_class.chain(wrong) }.to raise_error(HanamiGuard::CertificateError)
      expect(described_class.chain(described_class.parse("By=a").first)).to eq([])
    end
  end
end
