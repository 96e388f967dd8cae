# frozen_string_literal: true

# Doctor.run on this machine (the "< 10 ms" of issue 19), side by side with the plain-Ruby way
# of reading the same two files a hand-written boot check would read:
#   bundle exec ruby -Ilib bench/doctor.rb      (or: bundle exec rake bench:doctor)
# A benchmark, not a test: nothing is asserted. Figures go to BENCHMARKS.md ("Doctor").
#
# BENCH_TIME / BENCH_WARMUP (seconds, default 2 / 1).

require "benchmark/ips"
require "hanami_guard"

TIME = Float(ENV.fetch("BENCH_TIME", "2"))
WARMUP = Float(ENV.fetch("BENCH_WARMUP", "1"))

# What an app might check by hand at boot: uid, CapEff, Seccomp, and docker.sock in mountinfo.
def ruby_way
  status = File.read("/proc/self/status")
  caps = status[/^CapEff:\s+(\h+)/, 1].to_i(16)
  mounts = File.foreach("/proc/self/mountinfo").map { |line| line.split(" - ").first.split[4] }
  [Process.euid.zero?, caps & ~0xa80425fb, status[/^Seccomp:\s+(\d)/, 1], mounts.grep(/docker\.sock/)]
end

# One cold-ish call, as a boot check makes it: the median of 51 single runs, in ms.
samples = Array.new(51) do
  t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  HanamiGuard::Doctor.run
  (Process.clock_gettime(Process::CLOCK_MONOTONIC) - t) * 1000
end
report = HanamiGuard::Doctor.run
puts "Doctor.run on this machine: median #{samples.sort[25].round(2)} ms, max #{samples.max.round(2)} ms " \
     "(#{report.findings.size} findings, #{File.foreach("/proc/self/mountinfo").count} mounts)"
puts

Benchmark.ips do |x|
  x.config(time: TIME, warmup: WARMUP)
  x.report("Doctor.run (every check)") { HanamiGuard::Doctor.run }
  x.report("Doctor.run + to_sarif") { HanamiGuard::Doctor.run.to_sarif }
  x.report("Ruby: status + mountinfo by hand") { ruby_way }
  x.compare!
end
