# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"

# The extension's positional `_name` methods are the facade's, never the app's: each is private,
# so the only way in is the Ruby method that converts types, fills defaults and names keywords.
# (HanamiGuard::Policy's are the policy binding's, checked with it.)
RSpec.describe "the extension's native methods" do
  owners = {
    "TrustStore" => HanamiGuard::TrustStore, "Root" => HanamiGuard::Root,
    "Certificate" => HanamiGuard::Certificate, "DistinguishedName" => HanamiGuard::DistinguishedName,
    "SpiffeId" => HanamiGuard::SpiffeId, "Command" => HanamiGuard::Command,
    "Doctor::NativeReport" => HanamiGuard::Doctor.const_get(:NativeReport)
  }
  modules = { "Audit" => HanamiGuard::Audit, "Doctor" => HanamiGuard::Doctor, "Xfcc" => HanamiGuard::Xfcc }

  owners.each do |name, klass|
    it "keeps #{name}'s private" do
      expect(klass.public_instance_methods.grep(/\A_[a-z]/)).to eq([])
      expect(klass.public_methods.grep(/\A_[a-z]/)).to eq([])
      expect(klass.private_instance_methods.grep(/\A_[a-z]/) + klass.private_methods.grep(/\A_[a-z]/)).not_to be_empty
    end
  end

  modules.each do |name, mod|
    it "keeps #{name}'s private" do
      expect(mod.public_methods.grep(/\A_[a-z]/)).to eq([])
      expect(mod.private_methods.grep(/\A_[a-z]/)).not_to be_empty
    end
  end

  # What a native method wraps is checked by its Ruby type before its data is read: another
  # wrapped class, a plain object or nil is a TypeError, never data read as the wrong struct.
  describe "the wrapped values they are given" do
    let(:ca) { HanamiGuard::Testing::CA.new }
    let(:cert) { ca.issue(subject: "CN=operator,O=MyOrg", spiffe_id: "spiffe://example.org/a") }
    let(:store) { ca.trust_store }

    it "refuses another wrapped type in place of the one a method takes" do
      expect { cert.send(:_same?, cert.subject) }
        .to raise_error(TypeError, /conversion of HanamiGuard::DistinguishedName into HanamiGuard::Certificate/)
      expect { cert.subject.send(:_same?, cert) }
        .to raise_error(TypeError, /HanamiGuard::Certificate into HanamiGuard::DistinguishedName/)
      expect { cert.spiffe_id.send(:_same?, cert.subject) }
        .to raise_error(TypeError, /HanamiGuard::DistinguishedName into HanamiGuard::SpiffeId/)
      expect { store.send(:_verify, cert.spiffe_id, [], 0) }
        .to raise_error(TypeError, /HanamiGuard::SpiffeId into HanamiGuard::Certificate/)
      expect { store.send(:_reason, cert, [cert.subject], 0) }
        .to raise_error(TypeError, /HanamiGuard::DistinguishedName into HanamiGuard::Certificate/)
    end

    it "refuses plain values, nil included" do
      ["spiffe://example.org/a", nil, 1, Object.new].each do |value|
        expect { cert.send(:_same?, value) }.to raise_error(TypeError, /into HanamiGuard::Certificate/)
        expect { cert.spiffe_id.send(:_same?, value) }.to raise_error(TypeError, /into HanamiGuard::SpiffeId/)
      end
    end

    it "accepts the right type, and a receiver that is one" do
      twin = HanamiGuard::Certificate.parse(cert.to_der)
      expect(cert.send(:_same?, twin)).to be(true)
      expect(cert.subject.send(:_same?, twin.subject)).to be(true)
      expect(store.send(:_reason, cert, [ca.intermediate], Time.now.to_i)).to be_nil
    end
  end
end
