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

  # GC_STRESS=1: run every example under GC.stress (a full GC at every allocation), to catch a
  # Ruby object the extension holds without marking. GC_STRESS=minor runs a minor GC at every
  # allocation instead (GC.stress = 1: much faster, still collects every young object).
  # Slow examples (tagged :slow) are skipped in bin/test's GC.stress pass.
  if ENV["GC_STRESS"]
    stress = ENV["GC_STRESS"] == "minor" ? 1 : true
    config.around do |example|
      GC.stress = stress
      example.run
    ensure
      GC.stress = false
    end
  end
end
