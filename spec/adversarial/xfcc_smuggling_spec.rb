# frozen_string_literal: true

require "spec_helper"
require "erb"
require "timeout"

# Headers crafted so that a lenient or naive XFCC reader would see a different client than the
# proxy vouched for: quote injection, duplicate keys and elements, a Hash that belongs to
# another certificate, and pathological sizes.
RSpec.describe "XFCC smuggling" do
  let(:chain) { CertFactory.chain }
  let(:good) { chain[:leaf] }
  let(:evil) { CertFactory.leaf(issuer: chain[:intermediate], subject: "/CN=admin") }

  def enc(pem) = ERB::Util.url_encode(pem)

  it "keeps an injected ';URI=' inside a quoted value" do
    header = 'By=spiffe://proxy;Subject="CN=x\";URI=spiffe://evil/admin";URI=spiffe://prod/user'
    element = HanamiGuard::Xfcc.parse(header).first
    expect(element["URI"]).to eq(["spiffe://prod/user"])
    expect(element["Subject"]).to eq('CN=x";URI=spiffe://evil/admin')
  end

  it "does not split elements on a comma inside quotes" do
    header = 'Subject="CN=a,By=spiffe://evil";URI=spiffe://prod/user'
    elements = HanamiGuard::Xfcc.parse(header)
    expect(elements.size).to eq(1)
    expect(elements.first.keys).to eq(%w[Subject URI])
  end

  it "refuses an unquoted injection and a dangling quote" do
    ["Subject=CN=x;URI=a", 'URI=spiffe://a"b', 'Subject="CN=x\\"', 'By=a;Subject="x";"URI=b"',
     "Subject=\"x\"\"y\""].each do |bad|
      expect { HanamiGuard::Xfcc.parse(bad) }.to raise_error(HanamiGuard::CertificateError), bad
    end
  end

  it "refuses a second Cert, Chain, Hash, Subject or By in one element, whatever the case" do
    %w[Cert Chain Hash Subject By].each do |key|
      header = "#{key}=a;#{key.downcase}=b"
      expect { HanamiGuard::Xfcc.parse(header) }.to raise_error(certificate_error(:xfcc))
    end
  end

  it "keeps duplicate elements apart, in order, without merging them" do
    header = "By=spiffe://p1;Hash=#{"a" * 64};URI=spiffe://prod/user," \
             "By=spiffe://p2;Hash=#{"b" * 64};URI=spiffe://prod/admin"
    elements = HanamiGuard::Xfcc.parse(header)
    expect(elements.map { |e| e["URI"] }).to eq([["spiffe://prod/user"], ["spiffe://prod/admin"]])
    expect(elements.map { |e| e["By"] }).to eq(%w[spiffe://p1 spiffe://p2])
  end

  it "refuses a Hash that belongs to another certificate" do
    header = "Hash=#{OpenSSL::Digest::SHA256.hexdigest(good.to_der)};Cert=\"#{enc(evil.to_pem)}\""
    element = HanamiGuard::Xfcc.parse(header).first
    expect { HanamiGuard::Xfcc.certificate(element) }.to raise_error(certificate_error(:xfcc_hash))
  end

  it "refuses a Cert that carries two, and checks Hash against the first of a Chain" do
    good_hash = OpenSSL::Digest::SHA256.hexdigest(good.to_der)
    [evil.to_pem + good.to_pem, good.to_pem + evil.to_pem].each do |both|
      element = HanamiGuard::Xfcc.parse("Hash=#{good_hash};Cert=\"#{enc(both)}\"").first
      expect { HanamiGuard::Xfcc.certificate(element) }.to raise_error(certificate_error(:multiple_certificates))
    end
    element = HanamiGuard::Xfcc.parse("Hash=#{good_hash};Chain=\"#{enc(evil.to_pem + good.to_pem)}\"").first
    expect { HanamiGuard::Xfcc.chain(element) }.to raise_error(certificate_error(:xfcc_hash))
  end

  it "finishes in bounded time on huge and pathological headers", :slow do
    Timeout.timeout(10 * GcStress::SLOWDOWN) do
      n = GcStress.size(100_000)
      many = (["URI=spiffe://a/b"] * n).join(";")
      expect(HanamiGuard::Xfcc.parse(many).first["URI"].size).to eq(n)
      backslashes = "Subject=\"#{'\\"' * (n * 5)}\""
      expect(HanamiGuard::Xfcc.parse(backslashes).first["Subject"].size).to eq(n * 5)
      open_quote = "Subject=\"#{"a;b,c=" * (n * 3)}"
      expect { HanamiGuard::Xfcc.parse(open_quote) }.to raise_error(certificate_error(:xfcc))
      elements = (["By=a"] * n).join(",")
      expect(HanamiGuard::Xfcc.parse(elements).size).to eq(n)
      percent = "Cert=#{"%" * (n * 10)}"
      expect { HanamiGuard::Xfcc.parse(percent) }.to raise_error(HanamiGuard::CertificateError)
    end
  end

  it "raises CertificateError, never anything else, on random headers", :slow do
    rng = Random.new(7)
    alphabet = ['"', "\\", ",", ";", "=", "By", "Hash", "Cert", "URI", "DNS", "%", "a", " ", "%41", "\0"]
    GcStress.size(2000).times do
      header = Array.new(rng.rand(0..30)) { alphabet[rng.rand(alphabet.size)] }.join
      begin
        result = HanamiGuard::Xfcc.parse(header)
        expect(result).to all(be_a(Hash))
      rescue HanamiGuard::CertificateError
        next
      end
    end
  end
end
