# frozen_string_literal: true

FUZZ_DIR = File.expand_path("../crates/hanami_guard_core/fuzz", __dir__)

desc "Run every cargo-fuzz target for SECONDS each (default 60; needs nightly and cargo-fuzz)"
task :fuzz, [:seconds] do |_task, args|
  seconds = Integer(args[:seconds] || ENV.fetch("SECONDS", "60"))
  targets = Dir[File.join(FUZZ_DIR, "fuzz_targets", "*.rs")].map { |file| File.basename(file, ".rs") }.sort
  Dir.chdir(File.dirname(FUZZ_DIR)) do
    targets.each do |target|
      corpus = File.join(FUZZ_DIR, "corpus", target)
      sh "cargo", "+nightly", "fuzz", "run", target, corpus, "--", "-max_total_time=#{seconds}"
    end
  end
end
