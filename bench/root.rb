# frozen_string_literal: true

# Root#read side by side with the Ruby ways, in one process:
#   bundle exec ruby -Ilib bench/root.rb      (or: bundle exec rake bench:root)
# A benchmark, not a test: nothing is asserted. Figures go to BENCHMARKS.md ("Confined files").

require "benchmark/ips"
require "fileutils"
require "pathname"
require "tmpdir"
require "hanami_guard"

TIME = Float(ENV.fetch("BENCH_TIME", "2"))
WARMUP = Float(ENV.fetch("BENCH_WARMUP", "1"))

def realpath_read(base, rel)
  full = File.realpath(File.join(base, rel))
  raise "escape" unless full.start_with?("#{base}/")

  File.read(full)
end

def pathname_read(base_path, rel)
  full = (base_path + rel).cleanpath
  raise "escape" unless full.to_s.start_with?("#{base_path}/")

  full.read
end

def report(title, reports)
  by_name = reports.to_h { |r| [r.label, r.stats.central_tendency] }
  baseline = by_name.values.first
  puts "\n#{title}"
  by_name.each do |label, ips|
    puts format("  %<label>-48s %<us>9.2f us   %<ratio>5.2fx the time of the first line",
                label:, us: 1e6 / ips, ratio: baseline / ips)
  end
end

# Interleaved rounds, best round kept: robust when other work shares the CPU (ips's mean is
# not). Every variant runs `calls` times per round, in turn, for `rounds` rounds.
def best_of_rounds(title, variants, rounds: Integer(ENV.fetch("BENCH_ROUNDS", "25")), calls: 1000)
  best = variants.keys.to_h { |label| [label, Float::INFINITY] }
  rounds.times do
    variants.each do |label, block|
      t0 = Process.clock_gettime(Process::CLOCK_MONOTONIC)
      calls.times { block.call }
      best[label] = [best[label], (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t0) / calls].min
    end
  end
  baseline = best.values.first
  puts "\n#{title} (best of #{rounds} interleaved rounds of #{calls} calls)"
  best.each do |label, seconds|
    puts format("  %<label>-48s %<us>9.2f us   %<ratio>5.2fx the time of the first line",
                label:, us: seconds * 1e6, ratio: seconds / baseline)
  end
end

def run(title, &)
  ips = Benchmark.ips(time: TIME, warmup: WARMUP, quiet: true, &)
  report(title, ips.entries)
end

Dir.mktmpdir("hanami_guard-bench") do |tmp|
  base = File.join(File.realpath(tmp), "public")
  FileUtils.mkdir_p(File.join(base, "css"))
  File.write(File.join(base, "css/app.css"), "body { color: #333; }\n" * 20) # ~460 bytes
  File.binwrite(File.join(base, "big.bin"), Random.new(1).bytes(4 << 20))
  File.binwrite(File.join(base, "medium.bin"), Random.new(2).bytes(64 << 10))
  File.binwrite(File.join(base, "below.bin"), Random.new(3).bytes((64 << 10) - 1))
  deep = (1..32).map { |i| "d#{i}" }
  FileUtils.mkdir_p(File.join(base, *deep))
  [1, 8, 32].each { |n| File.write(File.join(base, *deep.first(n - 1), "f.txt"), "depth #{n}\n") }

  root = HanamiGuard::Root.new(base)
  walk = HanamiGuard::Root.new(base, resolver: :walk)
  base_path = Pathname.new(base)
  rel = "css/app.css"

  puts "hanami_guard #{HanamiGuard::VERSION}, #{RUBY_DESCRIPTION}"
  puts "kernel #{`uname -r`.strip}, openat2 used: #{root.read(rel) && HanamiGuard::Root.openat2_available?.inspect}"

  small = "small file (#{File.size(File.join(base, rel))} B)"
  best_of_rounds(small, {
                   "File.read(File.join(base, rel)) [unchecked]" => -> { File.read(File.join(base, rel)) },
                   "Root#read (openat2)" => -> { root.read(rel) },
                   "Root#read (resolver: :walk)" => -> { walk.read(rel) },
                   "File.realpath + start_with? + File.read" => -> { realpath_read(base, rel) },
                   "Pathname#cleanpath + start_with? + read" => -> { pathname_read(base_path, rel) }
                 })
  best_of_rounds("Root#read by path depth", [1, 8, 32].each_with_object({}) do |n, h|
    path = [*deep.first(n - 1), "f.txt"].join("/")
    h["File.read depth #{n}"] = -> { File.read(File.join(base, path)) }
    h["Root#read depth #{n}"] = -> { root.read(path) }
    h["Root#read depth #{n} (walk)"] = -> { walk.read(path) }
  end, calls: 300)
  best_of_rounds("GVL threshold", {
                   "File.binread 64 KiB" => -> { File.binread(File.join(base, "medium.bin")) },
                   "Root#read 64 KiB - 1 byte (GVL held)" => -> { root.read("below.bin") },
                   "Root#read 64 KiB (GVL released)" => -> { root.read("medium.bin") }
                 }, calls: 300)

  run("#{small}, ratio to plain File.read(File.join(base, rel))") do |x|
    x.report("File.read(File.join(base, rel)) [unchecked]") { File.read(File.join(base, rel)) }
    x.report("Root#read (openat2)") { root.read(rel) }
    x.report("Root#read (resolver: :walk)") { walk.read(rel) }
    x.report("File.realpath + start_with? + File.read") { realpath_read(base, rel) }
    x.report("Pathname#cleanpath + start_with? + read") { pathname_read(base_path, rel) }
  end

  run("Root#read by path depth (openat2)") do |x|
    [1, 8, 32].each do |n|
      path = [*deep.first(n - 1), "f.txt"].join("/")
      x.report("File.read depth #{n}") { File.read(File.join(base, path)) }
      x.report("Root#read depth #{n}") { root.read(path) }
      x.report("Root#read depth #{n} (walk)") { walk.read(path) }
    end
  end

  # The threshold: 64 KiB - 1 is read with the GVL held, 64 KiB without it. The difference
  # between the two Root#read lines is the cost of releasing and retaking the GVL.
  run("64 KiB file (read without the GVL from this size up)") do |x|
    x.report("File.binread 64 KiB") { File.binread(File.join(base, "medium.bin")) }
    x.report("Root#read 64 KiB - 1 byte (GVL held)") { root.read("below.bin") }
    x.report("Root#read 64 KiB (GVL released)") { root.read("medium.bin") }
  end

  run("4 MiB file") do |x|
    x.report("File.binread 4 MiB") { File.binread(File.join(base, "big.bin")) }
    x.report("Root#read 4 MiB") { root.read("big.bin") }
  end

  run("open + read a small file through a block") do |x|
    x.report("File.open(File.join(base, rel), &:read)") { File.open(File.join(base, rel), &:read) } # rubocop:disable Style/FileRead
    x.report("Root#open(rel, &:read)") { root.open(rel, &:read) }
  end

  payload = "x" * 1024
  run("write 1 KiB (Root#write is atomic: temp file + fsync + rename)") do |x|
    x.report("File.write (not atomic, no fsync)") { File.write(File.join(base, "w.txt"), payload) }
    x.report("Root#write") { root.write("w.txt", payload) }
  end
end
