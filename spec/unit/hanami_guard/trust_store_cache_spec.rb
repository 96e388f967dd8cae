# frozen_string_literal: true

require "spec_helper"

RSpec.describe HanamiGuard::TrustStore, "verified-chain cache" do
  let(:root) { CertFactory.ca }
  let(:ica) { CertFactory.intermediate(issuer: root) }
  let(:guard_ica) { HanamiGuard::Certificate.parse(ica.cert) }
  let(:now) { Time.now }

  it "answers a chain seen before with the same verified certificate" do
    store = described_class.new(root.to_pem)
    leaf = CertFactory.leaf(issuer: ica).cert
    first = store.verify(leaf, intermediates: [guard_ica])
    # A new parse of the same bytes, as Puma hands over on every request.
    second = store.verify(HanamiGuard::Certificate.parse(leaf.to_der), intermediates: [guard_ica])
    expect(second).to eq(first)
    expect(second.verified_issuer_keys).to eq(first.verified_issuer_keys)
    expect(first.verified_issuer_keys.size).to eq(2)
    expect(store.cache_stats).to eq(capacity: 1024, size: 1, hits: 1, misses: 1)
    expect(store.cache_stats).to be_frozen
  end

  it "never answers from the cache after a certificate's not_after" do
    store = described_class.new(root.to_pem)
    leaf = CertFactory.leaf(issuer: ica, not_after: now + 3600).cert
    expect(store.verified?(leaf, intermediates: [guard_ica], at: now)).to be(true)
    expect(store.verified?(leaf, intermediates: [guard_ica], at: leaf.not_after)).to be(true)
    expect(store.cache_stats[:hits]).to eq(1)
    expect { store.verify(leaf, intermediates: [guard_ica], at: leaf.not_after + 1) }
      .to raise_error(HanamiGuard::UntrustedCertificate) { |e| expect(e.reason).to eq(:expired) }
    expect(store.cache_stats[:hits]).to eq(1)
  end

  it "is emptied by reload!, and a revocation added by a CRL reload is refused" do
    Dir.mktmpdir do |dir|
      leaf = CertFactory.leaf(issuer: ica).cert
      put = lambda do |name, content|
        File.binwrite(File.join(dir, "#{name}.tmp"), content)
        File.rename(File.join(dir, "#{name}.tmp"), File.join(dir, name))
        File.join(dir, name)
      end
      store = described_class.load(ca_file: put.call("ca.pem", root.to_pem),
                                   crl_files: [put.call("ica.crl", CertFactory.crl(issuer: ica).to_pem)],
                                   cache_size: 8)
      expect(store.verified?(leaf, intermediates: [guard_ica])).to be(true)
      expect(store.cache_stats).to include(capacity: 8, size: 1)
      expect(store.reload!).to be(false)
      expect(store.cache_stats[:size]).to eq(0)
      expect(store.verified?(leaf, intermediates: [guard_ica])).to be(true)

      put.call("ica.crl", CertFactory.crl(issuer: ica, revoked: [leaf]).to_pem)
      expect(store.reload!).to be(true)
      expect { store.verify(leaf, intermediates: [guard_ica]) }
        .to raise_error(HanamiGuard::UntrustedCertificate) { |e| expect(e.reason).to eq(:revoked) }
      expect(store.cache_stats).to include(capacity: 8, size: 0)
    end
  end

  it "stays bounded and gives every thread the full verification's answer" do
    store = described_class.new(root.to_pem, cache_size: 2)
    uncached = described_class.new(root.to_pem, cache_size: 0)
    leaves = Array.new(4) { HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: ica).cert) }
    stranger = HanamiGuard::Certificate.parse(CertFactory.leaf(issuer: CertFactory.ca).cert)
    cases = (leaves + [stranger]).map { |c| [c, uncached.verified?(c, intermediates: [guard_ica])] }
    expect(cases.map(&:last)).to eq([true, true, true, true, false])

    threads = Array.new(6) do |t|
      Thread.new do
        Array.new(40) do |i|
          cert, expected = t.even? ? cases.first : cases[(i + t) % cases.size]
          store.verified?(cert, intermediates: [guard_ica]) == expected
        end
      end
    end
    expect(threads.flat_map(&:value)).to all(be(true))
    stats = store.cache_stats
    expect(stats[:size]).to be <= 2
    expect(stats[:hits] + stats[:misses]).to eq(240)
    expect(stats[:hits]).to be_positive
    expect(uncached.cache_stats).to include(capacity: 0, size: 0, hits: 0)
  end

  it "refuses a cache size that is not a count" do
    expect { described_class.new(root.to_pem, cache_size: "8") }.to raise_error(TypeError, /cache_size/)
    expect { described_class.new(root.to_pem, cache_size: -1) }
      .to raise_error(HanamiGuard::ConfigurationError, /cache_size/)
    expect { described_class.new(root.to_pem, cache_size: (1 << 20) + 1) }
      .to raise_error(HanamiGuard::ConfigurationError, /at most/)
  end
end
