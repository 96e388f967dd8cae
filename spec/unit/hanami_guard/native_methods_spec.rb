# frozen_string_literal: true

require "spec_helper"

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
end
