# frozen_string_literal: true

require "spec_helper"

# The closed lists the facade keeps are held to the core's own (HanamiGuard::Native's constants,
# built from the core crate): a reason or an error kind added to one side fails here until the
# other side has it.
RSpec.describe "the lists shared with the core" do
  it "gives UntrustedCertificate the core's reasons" do
    expect(HanamiGuard::UntrustedCertificate::REASONS).to eq(HanamiGuard::Native::UNTRUSTED_REASONS)
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
