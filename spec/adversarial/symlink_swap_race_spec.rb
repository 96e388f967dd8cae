# frozen_string_literal: true

require "spec_helper"
require "rbconfig"

# The runc escape class (CVE-2021-30465, CVE-2024-21626): a directory inside the base is swapped
# for a symlink pointing outside, in a rename loop, while reads go through it. A check-then-open
# loses that race; a Root resolves from its descriptor with no window, so the canary outside is
# never read and nothing is written outside.
#
# The swapper runs in a child process, not a Ruby thread: Ruby threads share the GVL, so a
# swapper thread would mostly swap *between* reads. A process swaps while a read is inside the
# kernel, on the other core.
RSpec.describe "Symlink swap race against HanamiGuard::Root" do
  def swapper_script
    <<~RUBY
      base, outside = ARGV
      dir, link, swapped = File.join(base, "d_dir"), File.join(base, "d_link"), File.join(base, "d")
      File.symlink(outside, link)
      $stdout.puts("ready")
      $stdout.flush
      loop do
        File.rename(dir, swapped)
        File.rename(swapped, dir)
        File.rename(link, swapped)
        File.rename(swapped, link)
      rescue SystemCallError
        nil
      end
    RUBY
  end

  around do |example|
    Dir.mktmpdir("hanami_guard-race") do |tmp|
      tmp = File.realpath(tmp)
      @base = File.join(tmp, "base")
      @outside = File.join(tmp, "outside")
      Dir.mkdir(@base)
      Dir.mkdir(@outside)
      Dir.mkdir(File.join(@base, "d_dir"))
      File.write(File.join(@base, "d_dir/f.txt"), "INSIDE")
      File.write(File.join(@outside, "f.txt"), "CANARY")
      example.run
    end
  end

  # Runs the swapper (symlink target `target`) for `seconds` while the block is called in a
  # loop, and on until `enough` holds (the swapper may not get the other core at once on a busy
  # machine; the bound is only a safety net); returns how often each outcome happened.
  def race(target, seconds, batch: 100, enough: ->(_) { true })
    io = IO.popen([RbConfig.ruby, "-e", swapper_script, @base, target], "r")
    expect(io.gets).to eq("ready\n")
    outcomes = Hash.new(0)
    deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + seconds
    last_resort = deadline + (30 * GcStress::SLOWDOWN)
    loop do
      now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      break if now >= last_resort || (now >= deadline && enough.call(outcomes))

      batch.times do
        outcomes[yield] += 1
      rescue HanamiGuard::PathEscapeError
        outcomes[:escape_refused] += 1
      rescue HanamiGuard::Error, SystemCallError => e
        outcomes[e.class] += 1
      end
    end
    outcomes
  ensure
    if io
      Process.kill(:KILL, io.pid)
      io.close
    end
  end

  it "shows the race is real: an unconfined read does reach the canary", :slow do
    seen_both = ->(o) { o["CANARY"].positive? && o["INSIDE"].positive? }
    outcomes = race(@outside, 0.5, enough: seen_both) { File.read(File.join(@base, "d/f.txt")) }
    expect(outcomes["CANARY"]).to be > 0
    expect(outcomes["INSIDE"]).to be > 0
  end

  [%i[auto absolute], %i[walk absolute], %i[auto relative], %i[walk relative]].each do |resolver, kind|
    it "never reads the canary while d swaps with an #{kind} symlink outside (resolver: #{resolver})", :slow do
      root = HanamiGuard::Root.new(@base, resolver:)
      target = kind == :absolute ? @outside : "../outside"
      enough = lambda do |o|
        o["INSIDE"].positive? && o[:escape_refused].positive? && o.values.sum > 1000 / GcStress::SLOWDOWN
      end
      outcomes = race(target, 0.6 * GcStress::SLOWDOWN / 4, enough:) { root.read("d/f.txt") }
      expect(outcomes).not_to have_key("CANARY")
      # The race was run: reads went through the directory, and the symlink was met and refused.
      expect(outcomes["INSIDE"]).to be > 0
      expect(outcomes[:escape_refused]).to be > 0
      expect(outcomes.values.sum).to be > 1000 / GcStress::SLOWDOWN
    end
  end

  %i[auto walk].each do |resolver|
    it "never writes outside while d swaps (resolver: #{resolver})", :slow do
      root = HanamiGuard::Root.new(@base, resolver:)
      enough = ->(o) { o[:written].positive? && o[:escape_refused].positive? }
      outcomes = race(@outside, 0.4, batch: 10, enough:) { root.write("d/new.txt", "PWNED") && :written }
      # The race was run: writes went through the directory, and the symlink was met and refused.
      expect(outcomes[:written]).to be > 0
      expect(outcomes[:escape_refused]).to be > 0
      expect(Dir.children(@outside)).to eq(["f.txt"])
      expect(File.read(File.join(@outside, "f.txt"))).to eq("CANARY")
    end
  end
end
