# frozen_string_literal: true

require "spec_helper"

# The verified-chain cache must never let one chain borrow another's verdict. A client whose
# leaf verified once through the trusted intermediate comes back with the same leaf and an
# intermediate of its own making: same subject name as the trusted one, another key, issued by
# a root nobody pinned. A cache keyed by the leaf alone would answer "verified" (with the
# trusted intermediate's key for `issuer_key:`); the chain must be verified in full, and fail.
RSpec.describe "verified-chain cache confusion" do
  let(:root) { CertFactory.ca }
  let(:ica) { CertFactory.intermediate(issuer: root) }
  let(:rogue_ica) { CertFactory.intermediate(issuer: CertFactory.ca) }
  let(:leaf) { CertFactory.leaf(issuer: ica).cert }
  let(:store) { HanamiGuard::TrustStore.new(root.to_pem) }

  it "does not answer a chain with an untrusted intermediate from the trusted chain's entry" do
    expect(rogue_ica.cert.subject.to_s).to eq(ica.cert.subject.to_s)
    expect(store.verified?(leaf, intermediates: [ica.cert])).to be(true)
    expect(store.verified?(leaf, intermediates: [ica.cert])).to be(true)
    expect(store.cache_stats[:hits]).to eq(1)

    expect { store.verify(leaf, intermediates: [rogue_ica.cert]) }.to raise_error(HanamiGuard::UntrustedCertificate)
    expect(store.verified?(leaf, intermediates: [rogue_ica.cert])).to be(false)
    expect(store.verified?(leaf)).to be(false)
    expect(store.cache_stats[:hits]).to eq(1)
  end

  it "does not answer a trusted chain reordered behind a rogue intermediate from the first one's entry" do
    expect(store.verify(leaf, intermediates: [ica.cert]).verified_issuer_keys.size).to eq(2)
    reordered = store.verify(leaf, intermediates: [rogue_ica.cert, ica.cert])
    expect(reordered.verified_issuer_keys.size).to eq(2)
    expect(store.cache_stats).to include(hits: 0, size: 2)
  end
end
