# frozen_string_literal: true

require "fileutils"

# #16: a fresh Debian 13 machine with only gcc, git, python3 and Rust must pass bin/demo and
# bin/test after bin/setup. bin/debian-root's `trixie-fresh` root stands for that machine; this task
# gives it a clean clone of HEAD (committed files only: no target/, no tmp/, no built extension)
# and runs, as root like CI, bin/setup, then bin/demo, then bin/test, each in the same machine's
# life (an overlay over the root, wiped first). Not part of bin/test: it builds everything from
# cold a second time.
module FreshMachine
  ROOT = File.expand_path("..", __dir__)
  STEPS = [%w[bin/setup], %w[bin/demo], %w[bin/test]].freeze

  # The packages dpkg records as installed in a status file.
  def self.installed(status_file)
    return [] unless File.exist?(status_file)

    File.read(status_file).split(/\n\n+/).filter_map do |stanza|
      next unless stanza.match?(/^Status: install ok installed$/)

      stanza[/^Package: (\S+)$/, 1]
    end.sort
  end

  def self.clock = Process.clock_gettime(Process::CLOCK_MONOTONIC)
end

namespace :fresh do
  desc "A clean clone on a fresh Debian 13 root (gcc, git, python3, Rust): bin/setup, bin/demo, bin/test"
  task :trixie do
    root = FreshMachine::ROOT
    dirty = `git -C #{root} status --porcelain --untracked-files=no`
    warn "fresh:trixie: uncommitted changes are not in the clone (it is made from HEAD):\n#{dirty}" unless dirty.empty?

    clone = File.join(root, "tmp/fresh/hanami_guard")
    rm_rf clone
    mkdir_p File.dirname(clone)
    sh "git", "clone", "--quiet", root, clone
    # The root is cached in this checkout, not in the clone, and reused while up to date.
    fresh_root = ENV.fetch("HANAMI_GUARD_FRESH_ROOT", File.join(root, "tmp/roots/trixie-fresh"))
    env = { "HANAMI_GUARD_FRESH_ROOT" => fresh_root }
    timings = []
    started = FreshMachine.clock
    Dir.chdir(clone) { sh env, "bin/debian-root", "path", "trixie-fresh" }
    timings << ["the root (debootstrap, or reused)", FreshMachine.clock - started]
    before = FreshMachine.installed(File.join(fresh_root, "var/lib/dpkg/status"))

    FreshMachine::STEPS.each_with_index do |step, index|
      # The first step starts from the root as debootstrap made it.
      step_env = index.zero? ? env.merge("HANAMI_GUARD_FRESH_RESET" => "1") : env
      started = FreshMachine.clock
      Dir.chdir(clone) { sh step_env, "bin/debian-root", "run", "trixie-fresh", "--", *step }
      timings << [step.join(" "), FreshMachine.clock - started]
    end

    after = FreshMachine.installed("#{fresh_root}.upper/upper/var/lib/dpkg/status")
    added = after - before
    puts "\nfresh:trixie: every step passed on a fresh Debian 13 root (#{before.size} packages as made)"
    timings.each { |label, seconds| puts format("  %-36<label>s %6<s>.0f s", label:, s: seconds) }
    puts "  bin/setup and bin/test installed #{added.size} packages: #{added.join(" ")}"
  end
end
