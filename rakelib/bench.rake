# frozen_string_literal: true

bench_files = Dir[File.expand_path("../bench/*.rb", __dir__)]

namespace :bench do
  bench_files.each do |file|
    name = File.basename(file, ".rb")
    desc "Run bench/#{name}.rb"
    task name do
      ruby "-Ilib", file
    end
  end
end

desc "Run every benchmark in bench/ (not a test: nothing is asserted)"
task bench: bench_files.map { |file| "bench:#{File.basename(file, ".rb")}" }
