# frozen_string_literal: true

# `hanami_guard audit` against Ruby's own Ripper.sexp, on the same files: a generated app of
# about 100,000 lines (Hanami actions with shells, files, allowlists and helpers) and the
# example app. Ripper only parses, so it is the floor for any scanner written in Ruby; the
# audit parses (Prism, in Rust, one file per thread) and analyses. The four ways run in
# interleaved rounds; the ratios are the median of the rounds' own ratios.
#
#   bundle exec ruby -Ilib bench/audit.rb           (or: bundle exec rake bench:audit)
#   LINES=200000 ...                                size of the generated app
#   ROUNDS=15 ...                                   rounds (default 9)
#
# Not a test: nothing is asserted. Compare the ratios. The last row compares whole processes:
# the CLI against Ripper run as a scanner written in Ruby would run, start-up included.

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "hanami_guard"
require "ripper"
require "open3"
require "tmpdir"
require "etc"

ROOT = File.expand_path("..", __dir__)
LINES = Integer(ENV.fetch("LINES", "100000"))

ACTION = <<~RUBY
  module Bench
    module Actions
      class Action%<i>d < Hanami::Action
        IMAGES = { "worker" => "worker:latest", "api" => "api:stable" }.freeze
        BASE = "/var/app/public"

        def handle(request, response)
          authorize! request, :deploy, request.params[:image]
          image = IMAGES.fetch(request.params[:image])
          name = request.params[:name].to_s.strip
          system("docker", "run", "--rm", "--", image)
          response.body = read_report(name)%<sink>s
        end

        private

        def read_report(name)
          case name
          when "daily", "weekly" then File.read(File.join(BASE, "\#{name}.txt"))
          else ""
          end
        end

        def summary(items)
          items.map { |item| item.to_s.upcase }.join(", ")
        end
      end
    end
  end
RUBY

def generate(dir, lines)
  total = i = 0
  while total < lines
    sink = (i % 50).zero? ? "\n      system(\"docker logs \#{name}\")" : ""
    body = format(ACTION, i:, sink:)
    path = File.join(dir, "app", "actions", "group#{i / 100}", "action#{i}.rb")
    FileUtils.mkdir_p(File.dirname(path))
    File.write(path, body)
    total += body.count("\n")
    i += 1
  end
  [i, total]
end

ROUNDS = Integer(ENV.fetch("ROUNDS", "9"))

def seconds
  t = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  yield
  Process.clock_gettime(Process::CLOCK_MONOTONIC) - t
end

def median(values) = values.sort[values.size / 2]

# The CLI as a user runs it from a shell: without `bundle exec`'s environment, whose
# bundler/setup alone takes longer than the scan.
def cli(path)
  run = lambda do
    Open3.capture3(RbConfig.ruby, "-I", File.join(ROOT, "lib"), File.join(ROOT, "exe", "hanami_guard"),
                   "audit", "--format", "json", path)
  end
  out, err, status = defined?(Bundler) ? Bundler.with_unbundled_env(&run) : run.call
  raise "audit failed: #{err}" if status.exitstatus > 1

  out
end

# Ripper as a scanner written in Ruby would run it: its own process (Ruby's start-up included,
# as the CLI's is), reading and parsing every file, one thread.
def ripper_process(path)
  script = 'require "ripper"; Dir[File.join(ARGV[0], "**", "*.{rb,ru,rake}")].each { |f| Ripper.sexp(File.read(f)) }'
  run = -> { Open3.capture3(RbConfig.ruby, "-e", script, path) }
  _out, err, status = defined?(Bundler) ? Bundler.with_unbundled_env(&run) : run.call
  raise "ripper failed: #{err}" unless status.success?
end

# This machine's speed drifts by half within minutes, which moves whichever side runs in a slow
# spell. So the four ways run in rounds, one after the other, and each round gives its own
# ratios: the median ratio (and its range) is the figure to read, with each way's fastest time.
def measure(title, path)
  files = Dir[File.join(path, "**", "*.{rb,ru,rake}")]
  sources = files.map { |f| File.read(f) }
  lines = sources.sum { |s| s.count("\n") }
  cli(path) # warm the page cache and the extension's first load
  rounds = Array.new(ROUNDS) do
    { ripper: seconds { sources.each { |s| Ripper.sexp(s) } },
      in_process: seconds { HanamiGuard::Audit.scan(path) },
      cli: seconds { cli(path) },
      ripper_process: seconds { ripper_process(path) } }
  end
  result = HanamiGuard::Audit.scan(path)
  puts "\n== #{title}: #{files.size} files, #{lines} lines, #{result.findings.size} findings, #{ROUNDS} rounds"
  puts "  #{"fastest round; ratio: median of the rounds' ratios (min..max)".rjust(74)}"
  row(rounds, "Ripper.sexp (parse only, one thread)", :ripper)
  row(rounds, "HanamiGuard::Audit.scan (in process)", :in_process, :ripper, "Ripper")
  row(rounds, "hanami_guard audit (whole CLI process)", :cli, :ripper, "Ripper")
  row(rounds, "Ripper.sexp as a Ruby process (start-up too)", :ripper_process)
  row(rounds, "hanami_guard audit (whole CLI process)", :cli, :ripper_process, "the Ripper process")
end

def row(rounds, label, key, against = nil, against_label = nil)
  fastest = rounds.map { |r| r.fetch(key) }.min
  line = format("  %-44<label>s %8.3<s>f s", label:, s: fastest)
  if against
    ratios = rounds.map { |r| r.fetch(against) / r.fetch(key) }
    line += format("  %<median>6.1fx (%<min>.1f..%<max>.1f) %<of>s",
                   median: median(ratios), min: ratios.min, max: ratios.max, of: against_label)
  end
  puts line
end

puts "hanami_guard #{HanamiGuard::VERSION}, Ruby #{RUBY_VERSION}, #{Etc.nprocessors} CPUs"
Dir.mktmpdir("hanami_guard-bench-audit") do |dir|
  count, total = generate(dir, LINES)
  puts "generated #{count} actions, #{total} lines"
  measure("generated app", dir)
end
measure("example app", File.join(ROOT, "examples"))
