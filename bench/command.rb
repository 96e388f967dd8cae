# frozen_string_literal: true

# HanamiGuard::Command#run of /bin/true against Open3.capture3("true"), side by side in one
# process, first with a small heap, then with a large one (about 0.7 GiB of Ruby objects).
# Open3 forks, and a fork copies the page tables of the whole process, so its cost grows with the
# app; the guard spawns with posix_spawn (vfork-like) and stays flat. Also: template expansion
# (Command#argv) and the rlimits path, which must fork.
#
#   bundle exec ruby -Ilib bench/command.rb           (or: bundle exec rake bench:command)
#   HEAP_MB=700 ...                                   size of the large heap
#
# Not a test: nothing is asserted. Compare the ratios.

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "hanami_guard"
require "benchmark/ips"
require "open3"

TRUE_CMD = HanamiGuard::Command.new("/bin/true")
RLIMITED = HanamiGuard::Command.new("/bin/true", rlimits: { nofile: 256 })
# The same command without the default Landlock domain: what the domain costs per spawn.
NO_LANDLOCK = begin
  ENV["HANAMI_GUARD_LANDLOCK"] = "off"
  HanamiGuard::Command.new("/bin/true")
ensure
  ENV.delete("HANAMI_GUARD_LANDLOCK")
end
IMAGES = { "worker" => "worker:latest" }.freeze
TEMPLATE = HanamiGuard::Command.new("printf run --rm --name {name} {image}", allow: { image: IMAGES })
PRINTF = TEMPLATE.executable

def ips(title)
  puts "\n== #{title}"
  report = Benchmark.ips do |x|
    x.config(time: 2, warmup: 1)
    yield x
    x.compare!
  end
  report.entries.to_h { |e| [e.label, e.stats.central_tendency] }
end

def spawn_round(title)
  r = ips(title) do |x|
    x.report("HanamiGuard::Command#run /bin/true") { TRUE_CMD.run }
    x.report("Open3.capture3(\"true\")") { Open3.capture3("true") }
    x.report("Command#run with rlimits (fork path)") { RLIMITED.run }
    x.report("Command#run, HANAMI_GUARD_LANDLOCK=off") { NO_LANDLOCK.run }
  end
  guard = r["HanamiGuard::Command#run /bin/true"]
  open3 = r["Open3.capture3(\"true\")"]
  forked = r["Command#run with rlimits (fork path)"]
  bare = r["Command#run, HANAMI_GUARD_LANDLOCK=off"]
  printf("%<title>s: the default Landlock domain costs %<cost>.3f ms per spawn " \
         "(%<with>.3f ms with it, %<without>.3f ms without)\n",
         title:, cost: (1000.0 / guard) - (1000.0 / bare), with: 1000.0 / guard, without: 1000.0 / bare)
  printf("%<title>s: guard %<guard>.3f ms, Open3 %<open3>.3f ms, fork path %<forked>.3f ms " \
         "=> guard is %<ratio>.1fx faster than Open3\n",
         title:, guard: 1000.0 / guard, open3: 1000.0 / open3, forked: 1000.0 / forked, ratio: guard / open3)
end

def rss_mb
  File.read("/proc/self/status")[/^VmRSS:\s+(\d+)/, 1].to_i / 1024
end

ips("template expansion") do |x|
  x.report("Command#argv (2 placeholders, Hash allowlist)") { TEMPLATE.argv(name: "job-1", image: "worker") }
  x.report("Ruby: argv Array built by hand + Hash lookup") do
    name = "job-1"
    [PRINTF, "run", "--rm", "--name", name, IMAGES.fetch("worker")]
  end
end

spawn_round("small heap (RSS #{rss_mb} MB)")

heap_mb = Integer(ENV.fetch("HEAP_MB", "700"))
puts "\nAllocating about #{heap_mb} MB of Ruby objects..."
BALLAST = Array.new(heap_mb * 1024 * 1024 / 112) { |i| ("x" * 64) + i.to_s }
GC.start
spawn_round("large heap (RSS #{rss_mb} MB)")
