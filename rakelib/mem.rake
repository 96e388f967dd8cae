# frozen_string_literal: true

desc "Call each public API in a loop (N=1_000_000 by default; fewer for chain verification and " \
     "commands) and report RSS growth after warm-up (must stay under 5%)"
task :mem do
  ruby "-Ilib", File.expand_path("../bench/support/mem.rb", __dir__)
end
