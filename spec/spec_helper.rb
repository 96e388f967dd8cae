# frozen_string_literal: true

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "hanami_guard"
require "tmpdir"

Dir[File.join(__dir__, "support", "**", "*.rb")].each { |file| require file }

RSpec.configure do |config|
  config.disable_monkey_patching!
  config.expect_with(:rspec) { |c| c.syntax = :expect }
  config.order = :random
  Kernel.srand config.seed

  # Examples that raise into a thread on purpose (`Thread#raise`, then `join` expects the
  # exception) keep Ruby from also printing it as an unhandled thread exception.
  config.around(:example, :raises_in_thread) do |example|
    previous = Thread.report_on_exception
    Thread.report_on_exception = false
    example.run
  ensure
    Thread.report_on_exception = previous
  end

  # GC_STRESS: see spec/support/gc_stress.rb. By default GC.stress is on inside every call into
  # the extension; GC_STRESS=global turns it on for whole examples.
  case (mode = GcStress.mode)
  when nil then nil
  when :global
    config.around do |example|
      GC.stress = true
      example.run
    ensure
      GC.stress = false
    end
  else
    wrapped = GcStress.install(mode)
    config.before(:suite) do
      warn "GC_STRESS: GC.stress = #{mode.inspect} inside #{wrapped} extension methods"
    end
  end
end
