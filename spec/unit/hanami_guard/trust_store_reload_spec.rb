# frozen_string_literal: true

require "spec_helper"
require "json"
require "base64"
require "stringio"

RSpec.describe HanamiGuard::TrustStore, ".load and #reload!" do
  around do |example|
    Dir.mktmpdir { |dir| @dir = dir; example.run } # rubocop:disable Style/Semicolon
  end

  let(:old_ca) { CertFactory.ca(subject: "/CN=Rotating CA") }
  let(:new_ca) { CertFactory.ca(subject: "/CN=Rotating CA") }

  # Replaced atomically, as a Kubernetes ConfigMap or SPIRE's helper does.
  def put(name, content)
    path = File.join(@dir, name)
    File.binwrite("#{path}.tmp", content)
    File.rename("#{path}.tmp", path)
    path
  end

  it "rotates the pinned CA: the new one's leaves verify, the old one's no longer" do
    store = described_class.load(ca_file: put("ca.pem", old_ca.to_pem))
    old_leaf = CertFactory.leaf(issuer: old_ca).cert
    new_leaf = CertFactory.leaf(issuer: new_ca).cert
    expect([store.verified?(old_leaf), store.verified?(new_leaf)]).to eq([true, false])
    expect(store).to be_frozen
    expect(store.reloadable?).to be(true)
    expect(store.reload!).to be(false)

    put("ca.pem", new_ca.to_pem)
    expect(store.reload!).to be(true)
    expect([store.verified?(old_leaf), store.verified?(new_leaf)]).to eq([false, true])
  end

  it "keeps the last good set when a file is broken or gone, and says why" do
    ca_path = put("ca.pem", old_ca.to_pem)
    crl_path = put("ca.crl", CertFactory.crl(issuer: old_ca).to_pem)
    store = described_class.load(ca_file: ca_path, crl_files: [crl_path])
    leaf = CertFactory.leaf(issuer: old_ca).cert

    put("ca.pem", "-----BEGIN CERTIFICATE-----\ntruncated")
    expect { store.reload! }.to raise_error(HanamiGuard::ConfigurationError)
    expect(store.verified?(leaf)).to be(true)

    put("ca.pem", old_ca.to_pem)
    put("ca.crl", "not a CRL")
    expect { store.reload! }.to raise_error(HanamiGuard::ConfigurationError, /CRL/)
    expect(store.verified?(leaf)).to be(true)

    File.delete(crl_path)
    expect { store.reload! }.to raise_error(Errno::ENOENT)
    expect(store.verified?(leaf)).to be(true)
  end

  it "reloads CRLs and SPIFFE bundles" do
    leaf = CertFactory.leaf(issuer: old_ca)
    crl_path = put("ca.crl", CertFactory.crl(issuer: old_ca).to_pem)
    store = described_class.load(ca_file: put("ca.pem", old_ca.to_pem), crl_files: [crl_path])
    expect(store.verified?(leaf.cert)).to be(true)
    put("ca.crl", CertFactory.crl(issuer: old_ca, revoked: [leaf]).to_pem)
    expect(store.reload!).to be(true)
    expect { store.verify(leaf.cert) }.to raise_error(HanamiGuard::UntrustedCertificate) { |e|
                                            expect(e.reason).to eq(:revoked)
                                          }

    jwks = ->(ca) { JSON.generate("keys" => [{ "use" => "x509-svid", "x5c" => [Base64.strict_encode64(ca.to_der)] }]) }
    bundle = put("prod.json", jwks.call(old_ca))
    svid_store = described_class.load(bundle_files: { "prod.example.org" => Pathname(bundle) })
    svid = ->(ca) { CertFactory.leaf(issuer: ca, uris: ["spiffe://prod.example.org/w"]).cert }
    expect([svid_store.verified?(svid.call(old_ca)), svid_store.verified?(svid.call(new_ca))]).to eq([true, false])
    put("prod.json", jwks.call(new_ca))
    expect(svid_store.reload!).to be(true)
    expect([svid_store.verified?(svid.call(old_ca)), svid_store.verified?(svid.call(new_ca))]).to eq([false, true])
    expect(svid_store.trust_domains).to eq(["prod.example.org"])
  end

  it "takes effect in the middleware that holds it, request by request" do
    store = described_class.load(ca_file: put("ca.pem", old_ca.to_pem))
    app = HanamiGuard::Middleware::ClientIdentity.new(->(_env) { [200, {}, ["ok"]] }, source: :puma, trust: store)
    status = lambda do |ca|
      env = { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/", "rack.input" => StringIO.new,
              "REMOTE_ADDR" => "127.0.0.1", "HTTPS" => "https", "rack.url_scheme" => "https",
              "puma.peercert" => CertFactory.leaf(issuer: ca).cert }
      app.call(env).first
    end
    expect([status.call(old_ca), status.call(new_ca)]).to eq([200, 401])
    put("ca.pem", new_ca.to_pem)
    store.reload!
    expect([status.call(old_ca), status.call(new_ca)]).to eq([401, 200])
  end

  it "refuses what it cannot load, and a reload of a store built from Strings" do
    expect { described_class.load(ca_file: File.join(@dir, "missing.pem")) }.to raise_error(Errno::ENOENT)
    expect { described_class.load(ca_file: put("bad.pem", "junk")) }.to raise_error(HanamiGuard::ConfigurationError)
    expect { described_class.load(ca_file: "#{@dir}/a\0b") }.to raise_error(ArgumentError, /NUL/)
    expect { described_class.load(ca_file: "#{@dir}/\xFF".b) }.to raise_error(Errno::ENOENT)
    expect { described_class.load(bundle_files: { "\xFF".b => put("b.pem", old_ca.to_pem) }) }
      .to raise_error(HanamiGuard::ConfigurationError, /UTF-8/)
    expect { described_class.load }.to raise_error(TypeError)
    expect { described_class.load(ca_file: 1) }.to raise_error(TypeError)
    expect { described_class.load(ca_file: put("ca.pem", old_ca.to_pem), crl_files: [nil]) }.to raise_error(TypeError)
    fixed = described_class.new(old_ca.to_pem)
    expect(fixed.reloadable?).to be(false)
    expect { fixed.reload! }.to raise_error(HanamiGuard::ConfigurationError, /TrustStore.load/)
  end

  it "verifies on one consistent set while another thread reloads", :slow do
    ca_path = put("ca.pem", old_ca.to_pem)
    store = described_class.load(ca_file: ca_path)
    leaves = [CertFactory.leaf(issuer: old_ca).cert, CertFactory.leaf(issuer: new_ca).cert]
    reloader = Thread.new do
      10.times do |i|
        put("ca.pem", (i.even? ? new_ca : old_ca).to_pem)
        store.reload!
      end
    end
    results = Array.new(200) { leaves.map { |l| store.verified?(l) } }
    reloader.join
    expect(results.flatten.uniq - [true, false]).to be_empty
    # The last file written pins the old CA.
    expect(leaves.map { |l| store.verified?(l) }).to eq([true, false])
  end
end
