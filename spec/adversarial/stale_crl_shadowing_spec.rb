# frozen_string_literal: true

require "spec_helper"

# An issuer's older CRL, loaded before its newer one, hid the revocations only the newer one
# lists: the first CRL of an issuer was the only one consulted. A revocation in any loaded,
# validly signed CRL counts, whatever the order.
RSpec.describe "stale CRL shadowing" do
  let(:chain) { CertFactory.chain }
  let(:root) { chain[:root] }
  let(:ica) { chain[:intermediate] }
  let(:early) { CertFactory.leaf(issuer: ica) }
  let(:late) { CertFactory.leaf(issuer: ica) }
  let(:kept) { CertFactory.leaf(issuer: ica) }
  let(:older) { CertFactory.crl(issuer: ica, revoked: [early], last_update: Time.now - 7200) }
  let(:newer) { CertFactory.crl(issuer: ica, revoked: [early, late]) }

  def reason(store, leaf)
    store.verify(leaf.cert, intermediates: [ica.cert])
    nil
  rescue HanamiGuard::UntrustedCertificate => e
    e.reason
  end

  it "counts a revocation in the newer CRL when the older one is loaded first" do
    [[older, newer], [newer, older], [older.to_der, newer.to_pem]].each do |crls|
      store = HanamiGuard::TrustStore.new(root.to_pem, crls: crls.map { |c| c.is_a?(String) ? c : c.to_pem })
      expect(reason(store, late)).to eq(:revoked)
      expect(reason(store, early)).to eq(:revoked)
      expect(reason(store, kept)).to be_nil
    end
  end

  it "reads every CRL of one PEM file, and the CRLs of other issuers alongside" do
    root_crl = CertFactory.crl(issuer: root, revoked: [])
    store = HanamiGuard::TrustStore.new(root.to_pem, crls: [older.to_pem + newer.to_pem, root_crl.to_pem])
    expect(reason(store, late)).to eq(:revoked)
    expect(reason(store, kept)).to be_nil
  end

  it "refuses the chain when an intermediate is revoked in a later CRL of the root" do
    stale = CertFactory.crl(issuer: root, revoked: [], last_update: Time.now - 7200)
    fresh = CertFactory.crl(issuer: root, revoked: [ica])
    store = HanamiGuard::TrustStore.new(root.to_pem, crls: [stale.to_pem, fresh.to_pem])
    expect(reason(store, kept)).to eq(:revoked)
  end
end
