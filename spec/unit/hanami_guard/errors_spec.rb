# frozen_string_literal: true

RSpec.describe "HanamiGuard errors" do
  it "descends from HanamiGuard::Error < StandardError" do
    classes = %i[CertificateError UntrustedCertificate MissingIdentity PathError PathEscapeError CommandError
                 CommandNotAllowed CommandTimeout CommandFailed Forbidden PolicyError ConfigurationError]
    classes.each do |name|
      expect(HanamiGuard.const_get(name)).to be < HanamiGuard::Error
    end
    expect(HanamiGuard::Error).to be < StandardError
  end

  it "nests the path and command errors" do
    expect(HanamiGuard::PathEscapeError).to be < HanamiGuard::PathError
    expect(HanamiGuard::CommandNotAllowed).to be < HanamiGuard::CommandError
    expect(HanamiGuard::CommandTimeout).to be < HanamiGuard::CommandError
    expect(HanamiGuard::CommandFailed).to be < HanamiGuard::CommandError
  end

  it "gives UntrustedCertificate a reason, and an unknown reason becomes :invalid" do
    expect(HanamiGuard::UntrustedCertificate.new("x", reason: :expired).reason).to eq(:expired)
    expect(HanamiGuard::UntrustedCertificate.new("x", reason: :bogus).reason).to eq(:invalid)
  end
end
