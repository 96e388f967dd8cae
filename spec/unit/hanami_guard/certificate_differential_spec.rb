# frozen_string_literal: true

require "digest"

# Differential check against Ruby's OpenSSL: random certificates (names with special and UTF-8
# characters, multi-valued RDNs, unusual attribute types, every SAN kind, odd serials, dates
# either side of 2050, random key usages) are read by both, and every field must agree.
# `DIFF_SEED` reruns one seed; `DIFF_COUNT` sets how many certificates (default 60).
RSpec.describe "Certificate fields against OpenSSL's reading of the same DER" do
  seed = Integer(ENV.fetch("DIFF_SEED", "20261129"))
  count = GcStress.size(Integer(ENV.fetch("DIFF_COUNT", "60")))

  # [type, ASN.1 string types it may use]
  types = [
    ["CN", [OpenSSL::ASN1::UTF8STRING, OpenSSL::ASN1::PRINTABLESTRING]],
    ["O", [OpenSSL::ASN1::UTF8STRING, OpenSSL::ASN1::PRINTABLESTRING]],
    ["OU", [OpenSSL::ASN1::UTF8STRING]],
    ["L", [OpenSSL::ASN1::UTF8STRING]],
    ["ST", [OpenSSL::ASN1::UTF8STRING]],
    ["C", [OpenSSL::ASN1::PRINTABLESTRING]],
    ["DC", [OpenSSL::ASN1::IA5STRING]],
    ["UID", [OpenSSL::ASN1::UTF8STRING]],
    ["emailAddress", [OpenSSL::ASN1::IA5STRING]],
    ["serialNumber", [OpenSSL::ASN1::PRINTABLESTRING]],
    ["title", [OpenSSL::ASN1::UTF8STRING]],
    ["SN", [OpenSSL::ASN1::UTF8STRING]],
    ["GN", [OpenSSL::ASN1::UTF8STRING]],
    ["street", [OpenSSL::ASN1::UTF8STRING]],
    ["1.3.6.1.4.1.55555.7", [OpenSSL::ASN1::UTF8STRING]]
  ]
  printable = [*"A".."Z", *"a".."z", *"0".."9", " ", "'", "(", ")", "+", ",", "-", ".", "/", ":", "=", "?"]
  ascii = printable + ["#", ";", "<", ">", "\"", "\\", "_", "@", "!", "*", "\t", "\x01"]
  utf8 = ascii + ["é", "ü", "ß", "中", "文", "😀", "İ", "Ω"]

  random_value = lambda do |rng, asn1_type|
    pool = case asn1_type
           when OpenSSL::ASN1::PRINTABLESTRING then printable
           when OpenSSL::ASN1::IA5STRING then ascii
           else utf8
           end
    value = Array.new(rng.rand(1..12)) { pool.sample(random: rng) }.join
    # Leading and trailing spaces, and a leading "#", need escaping in RFC 4514.
    value = " #{value}" if rng.rand(8).zero?
    value = "#{value} " if rng.rand(8).zero?
    value = "##{value}" if rng.rand(10).zero? && asn1_type != OpenSSL::ASN1::PRINTABLESTRING
    value
  end

  random_entry = lambda do |rng|
    type, asn1_types = types.sample(random: rng)
    asn1_type = asn1_types.sample(random: rng)
    value = type == "C" ? Array.new(2) { [*"A".."Z"].sample(random: rng) }.join : random_value.call(rng, asn1_type)
    [type, value, asn1_type]
  end

  random_subject = lambda do |rng|
    Array.new(rng.rand(1..6)) do
      rng.rand(6).zero? ? [:multi, Array.new(rng.rand(2..3)) { random_entry.call(rng) }] : random_entry.call(rng)
    end
  end

  spiffe_like = [
    "spiffe://example.org/ns/a/sa/b", "spiffe://prod.example.org/x", "spiffe://td", "spiffe://td/a.b-c_d",
    "spiffe://Example.org/x", "spiffe://td/", "spiffe://td/a/../b", "spiffe://td:8443/x", "spiffe://td/x?q=1",
    "spiffe://td/x#f", "spiffe://u@td/x", "spiffe://td/a%20b", "SPIFFE://td/x", "https://td/x", "spiffe:///x"
  ]
  spiffe_ok = ->(uri) { uri.match?(%r{\Aspiffe://[a-z0-9._-]+(/[a-zA-Z0-9._-]+)*\z}) && !uri.match?(%r{/\.\.?(/|\z)}) }

  ku_names = { "digitalSignature" => :digital_signature, "nonRepudiation" => :non_repudiation,
               "keyEncipherment" => :key_encipherment, "dataEncipherment" => :data_encipherment,
               "keyAgreement" => :key_agreement, "keyCertSign" => :key_cert_sign, "cRLSign" => :crl_sign }
  ekus = %w[serverAuth clientAuth codeSigning emailProtection timeStamping]

  openssl_names = lambda do |name|
    name.to_a.map { |type, value, _| [type, value.dup.force_encoding(Encoding::UTF_8)] }
  end

  key = CertFactory.key
  issuer = CertFactory.ca
  rng = Random.new(seed)

  count.times do |i|
    subject = random_subject.call(rng)
    dns = Array.new(rng.rand(0..3)) { "#{random_value.call(rng, OpenSSL::ASN1::IA5STRING).delete(" ")}.example" }
    uris = Array.new(rng.rand(0..2)) { spiffe_like.sample(random: rng) }
    emails = Array.new(rng.rand(0..2)) { "u#{rng.rand(100)}@example.org" }
    ips = Array.new(rng.rand(0..2)) do
      rng.rand(2).zero? ? Array.new(4) { rng.rand(256) }.join(".") : IPAddr.new(rng.rand(2**128), Socket::AF_INET6).to_s
    end
    ips << "::ffff:10.1.2.3" if rng.rand(10).zero?
    ips << "::" if rng.rand(10).zero?
    usages = ku_names.keys.select { rng.rand(2).zero? }
    eku = ekus.select { rng.rand(2).zero? }
    is_ca = rng.rand(5).zero?
    serial = OpenSSL::BN.new(rng.bytes(rng.rand(1..20)).unpack1("H*"), 16)
    serial = OpenSSL::BN.new(1) if serial.zero?
    not_before = Time.at(rng.rand(-631_152_000..4_102_444_800)).utc # 1950 .. 2100
    not_after = Time.at(not_before.to_i + rng.rand(1..(10 * 365 * 86_400))).utc

    issued = CertFactory.build(subject:, key:, issuer:, is_ca:, key_usage: usages.empty? ? nil : usages.join(","),
                               eku: eku.empty? ? nil : eku.join(","), serial:, not_before:, not_after:,
                               dns:, uris:, emails:, ips:)
    der = issued.cert.to_der

    it "certificate #{i} (seed #{seed}) reads the same as OpenSSL" do
      ossl = OpenSSL::X509::Certificate.new(der)
      cert = HanamiGuard::Certificate.parse(der)

      expect(cert.subject.to_a).to eq(openssl_names.call(ossl.subject))
      expect(cert.issuer.to_a).to eq(openssl_names.call(ossl.issuer))
      expect(cert.serial).to eq(ossl.serial.to_s(16).downcase)
      # Against the times given, not OpenSSL's reading: Ruby's binding reads a UTCTime year
      # below 69 as 20YY, where RFC 5280 says 19YY for 50..99.
      expect([cert.not_before, cert.not_after]).to eq([not_before, not_after])
      expect(ossl.not_after).to eq(not_after) if not_after.year.between?(1969, 2049)
      expect(cert.not_before).to be_utc
      expect(cert.fingerprint).to eq(Digest::SHA256.hexdigest(der))
      expect(cert.dns_names).to eq(dns)
      expect(cert.uris).to eq(uris)
      expect(cert.emails).to eq(emails)
      expect(cert.ip_addresses).to eq(ips.map { |ip| IPAddr.new(ip).to_s })
      expect(cert.ca?).to eq(is_ca)
      expect(cert.client_auth?).to eq(eku.include?("clientAuth"))
      expect(cert.key_usage).to match_array(usages.map { |u| ku_names.fetch(u) })
      spiffe = uris.size == 1 && spiffe_ok.call(uris[0]) ? uris[0] : nil
      expect(cert.spiffe_id&.to_s).to eq(spiffe)
      expect(cert.svid?).to eq(!spiffe.nil? && !is_ca && usages.include?("digitalSignature") &&
                               !usages.include?("keyCertSign") && !usages.include?("cRLSign"))
      expect(cert.to_der).to eq(der)
      expect(HanamiGuard::Certificate.parse(ossl).fingerprint).to eq(cert.fingerprint)
    end

    # Equality against OpenSSL's X509_NAME_cmp (its canonical form folds ASCII case and runs
    # of white space): a variant with ASCII letters' case flipped and spaces added around
    # spaces is equal for both; one letter changed makes it unequal for both.
    variant = lambda do |entries, change_letter: false|
      changed = false
      entries.map do |entry|
        next [:multi, variant.call(entry[1], change_letter:)] if entry[0] == :multi

        type, value, asn1_type = entry
        value = value.gsub(/[A-Za-z]/) { |c| rng.rand(2).zero? ? c.swapcase : c }
        value = value.gsub(" ") { rng.rand(2).zero? ? "  " : " " }
        if change_letter && !changed && (at = value.index(/[A-Za-y]/))
          value = value.dup.tap { |v| v[at] = v[at].next }
          changed = true
        end
        [type, value, asn1_type]
      end
    end
    same_entries = variant.call(subject)
    other_entries = variant.call(subject, change_letter: true)
    same_der = CertFactory.build(subject: same_entries, key:, issuer:, is_ca: false, key_usage: nil, eku: nil)
                          .cert.to_der
    other_der = CertFactory.build(subject: other_entries, key:, issuer:, is_ca: false, key_usage: nil, eku: nil)
                           .cert.to_der

    it "name #{i} (seed #{seed}) compares equal and unequal as OpenSSL's X509_NAME_cmp does" do
      ours = ->(d) { HanamiGuard::Certificate.parse(d).subject }
      theirs = ->(d) { OpenSSL::X509::Certificate.new(d).subject }
      expect(ours.call(der) == ours.call(same_der)).to eq(theirs.call(der).cmp(theirs.call(same_der)).zero?)
      expect(ours.call(der) == ours.call(other_der)).to eq(theirs.call(der).cmp(theirs.call(other_der)).zero?)
      expect(ours.call(der)).to eq(ours.call(same_der)), "#{ours.call(der)} vs #{ours.call(same_der)}"
    end

    it "name #{i} (seed #{seed}) survives RFC 4514 printing and parsing" do
      dn = HanamiGuard::Certificate.parse(der).subject
      again = HanamiGuard::DistinguishedName.parse(dn.to_s)
      expect(again).to eq(dn)
      expect(again.to_s).to eq(dn.to_s)
      expect(again.to_a).to eq(dn.to_a)
      # match? wants a String only for a type's single value, and all of them as an Array.
      dn.to_a.group_by(&:first).each do |type, pairs|
        values = pairs.map(&:last)
        expect(dn.values(type)).to eq(values)
        expect(dn[type]).to eq(values.first)
        expect(dn.match?(type => values.reverse)).to be(true)
        expect(dn.match?(type => values.first)).to be(values.size == 1)
        expect(dn.match?(type => values.map { |v| "#{v}x" })).to be(false)
      end
    end
  end

  # Real-world encodings: the CA certificates this machine trusts (ca-certificates), issued over
  # decades by many CAs' software. Every one must parse and agree with OpenSSL.
  system_cas = Dir["/etc/ssl/certs/*.pem"].uniq { |f| File.realpath(f) }.sort

  it "reads every CA certificate of the system's trust store as OpenSSL does" do
    skip "no CA certificates in /etc/ssl/certs on this machine" if system_cas.empty?
    system_cas.each do |file|
      pem = File.read(file)
      ours = HanamiGuard::Certificate.parse(pem)
      theirs = OpenSSL::X509::Certificate.new(pem)
      rfc2253 = theirs.subject.to_s(OpenSSL::X509::Name::RFC2253)
      expect(ours.subject).to eq(HanamiGuard::DistinguishedName.parse(rfc2253)), file
      expect(ours.issuer).to eq(HanamiGuard::DistinguishedName.parse(theirs.issuer.to_s(OpenSSL::X509::Name::RFC2253)))
      expect(ours.serial.sub(/\A0+/, "")).to eq(theirs.serial.to_s(16).downcase.sub(/\A0+/, "")), file
      expect([ours.not_before, ours.not_after]).to eq([theirs.not_before, theirs.not_after]), file
      expect(ours.fingerprint).to eq(Digest::SHA256.hexdigest(theirs.to_der))
      ca = theirs.extensions.any? { |e| e.oid == "basicConstraints" && e.value.include?("CA:TRUE") }
      expect(ours.ca?).to be(ca), file
    end
  end
end
