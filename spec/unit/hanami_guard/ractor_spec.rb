# frozen_string_literal: true

# The extension does not declare itself Ractor-safe (it never calls rb_ext_ractor_safe), so
# Ruby refuses its methods outside the main Ractor with Ractor::UnsafeError rather than letting
# them run unchecked. If that ever changes, this spec must be replaced by one that drives every
# capability from a Ractor.
RSpec.describe "Ractors" do
  it "refuses the extension's methods outside the main Ractor, with Ractor::UnsafeError" do
    skip "GC_STRESS wraps the extension's methods in Ruby blocks, which Ractors refuse" if GcStress.installed?
    previous = Warning[:experimental]
    Warning[:experimental] = false
    outcome = Ractor.new do
      HanamiGuard::SpiffeId.parse("spiffe://example.org/a")
      :ran
    rescue Ractor::UnsafeError
      :refused
    end.take
    expect(outcome).to eq(:refused)
  ensure
    Warning[:experimental] = previous
  end
end
