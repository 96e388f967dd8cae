# frozen_string_literal: true

require "spec_helper"

# The closed lists the facade keeps are held to the core's own (HanamiGuard::Native's constants,
# built from the core crate): a reason or an error kind added to one side fails here until the
# other side has it.
RSpec.describe "the lists shared with the core" do
  it "gives UntrustedCertificate the core's reasons" do
    expect(HanamiGuard::UntrustedCertificate::REASONS).to eq(HanamiGuard::Native::UNTRUSTED_REASONS)
  end

  it "gives CertificateError the core's checks, and the core sets one on every refusal" do
    expect(HanamiGuard::CertificateError::CHECKS).to eq(HanamiGuard::Native::CERTIFICATE_CHECKS)
    key = "-----BEGIN EC PRIVATE KEY-----\nQUJD\n-----END EC PRIVATE KEY-----\n"
    { "" => [:empty], "nope" => [:malformed, { part: :certificate }],
      key => [:not_certificate, { label: "EC PRIVATE KEY" }],
      "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n" => [:base64],
      "-----BEGIN CERTIFICATE-----\nQUJD\n" => [:pem] }.each do |input, (check, details)|
      expect { HanamiGuard::Certificate.parse(input) }.to raise_error(certificate_error(check, **details.to_h))
    end
    expect { HanamiGuard::SpiffeId.parse("spiffe://a/../b") }.to raise_error(certificate_error(:spiffe_id))
    expect { HanamiGuard::DistinguishedName.parse("CN") }.to raise_error(certificate_error(:distinguished_name))
  end

  it "documents the core's certificate and command checks, every one" do
    table = File.read(File.expand_path("../../../docs/errors.md", __dir__))
    { "CertificateError" => HanamiGuard::Native::CERTIFICATE_CHECKS,
      "CommandError" => HanamiGuard::Native::COMMAND_CHECKS }.each do |name, checks|
      row = table.lines.find { |line| line.start_with?("| `#{name}` |") }
      expect(row.split("|")[3].scan(/`:(\w+)`/).flatten.map(&:to_sym)).to eq(checks), name
    end
  end

  it "raises each kind of core error as the class whose KIND is that kind" do
    classes = HanamiGuard::Native::ERROR_CLASSES
    expect(HanamiGuard::Native::ERROR_KINDS - classes.keys).to eq(%i[io argument])
    classes.each do |kind, name|
      expect(HanamiGuard.const_get(name)::KIND).to eq(kind), "#{name}::KIND"
    end
  end

  it "gives every error class its own kind" do
    error_classes = HanamiGuard.constants.map { |c| HanamiGuard.const_get(c) }
                               .select { |c| c.is_a?(Class) && c <= HanamiGuard::Error }
    kinds = error_classes.map { |c| c::KIND }
    expect(kinds.uniq.size).to eq(error_classes.size)
  end

  it "lets callers match on kinds and reasons, not messages" do
    root = HanamiGuard::Root.new(Dir.tmpdir)
    expect { root.read("../etc/passwd") }
      .to raise_error(HanamiGuard::PathEscapeError) { |e| expect(e.kind).to eq(:path_escape) }
    expect { root.read("a\0b") }.to raise_error(HanamiGuard::PathError) { |e| expect(e.kind).to eq(:path) }
    expect { HanamiGuard::Certificate.parse("nope") }
      .to raise_error(HanamiGuard::CertificateError) { |e| expect(e.kind).to eq(:certificate) }
    expect(HanamiGuard::Forbidden.new.kind).to eq(:forbidden)
  end
end
