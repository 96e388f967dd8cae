# frozen_string_literal: true

# A whole guarded request, side by side with the hand-written checks, in one process:
#   bundle exec ruby -Ilib bench/request.rb      (or: bundle exec rake bench:request)
# A benchmark, not a test: nothing is asserted. Build the extension in release mode first.
#
# The request: GET /files?path=docs/runbook.txt over TLS, with Puma's peer certificate (an
# OpenSSL::X509::Certificate parsed from DER, as Puma builds it) for a P-256 leaf under an
# intermediate under a root.
#
# - hanami_guard: Middleware::ClientIdentity (source: :puma, the chain verified by a TrustStore
#   with the intermediate given as `intermediates:`), then in the app Policy#allowed? on the
#   verified certificate and Root#read. The TrustStore's verified-chain cache answers every
#   request after the first; the "first request" row turns it off (cache_size: 0), so every
#   request there pays for the full verification.
# - hand-written (the seed scenario's checks): the issuer's to_s in an allowlist,
#   subject.to_s.include?("CN=operator"), Pathname#cleanpath and start_with?, File.read. It
#   verifies no chain (it trusts Puma's handshake) and reads names as strings; the gem does more.

require "benchmark/ips"
require "pathname"
require "tmpdir"
require "rack"
require "hanami_guard"
require_relative "../spec/support/certificates"

ROUNDS = Integer(ENV.fetch("BENCH_ROUNDS", "15"))
CALLS = Integer(ENV.fetch("BENCH_CALLS", "2000"))

root_ca = CertFactory.ca(subject: "/O=MyOrg/CN=MyOrg Root CA")
ica = CertFactory.intermediate(issuer: root_ca, subject: "/O=MyOrg/CN=MyOrg Internal CA")
leaf = CertFactory.leaf(issuer: ica, subject: [%w[O MyOrg], %w[CN operator]])
PEER = OpenSSL::X509::Certificate.new(leaf.to_der)

DIR = Dir.mktmpdir("hanami_guard_bench")
at_exit { FileUtils.remove_entry(DIR) }
FileUtils.mkdir_p(File.join(DIR, "docs"))
File.write(File.join(DIR, "docs/runbook.txt"), "x" * 440)

POLICY = HanamiGuard::Policy.parse(<<~YAML)
  version: 1
  rules:
    - id: staff-read
      effect: allow
      actions: [read]
      resources: ["docs/*"]
      principals:
        - subject: { CN: operator, O: MyOrg }
          issuer: { CN: MyOrg Internal CA }
YAML
ROOT = HanamiGuard::Root.new(DIR)
INTERMEDIATES = [HanamiGuard::Certificate.parse(ica.cert)].freeze

def path_param(env) = Rack::Utils.parse_query(env["QUERY_STRING"])["path"]

guarded_app = lambda do |env|
  rel = path_param(env)
  next [403, {}, ["forbidden"]] unless POLICY.allowed?(env["hanami_guard.identity"], :read, rel)

  [200, { "content-type" => "text/plain" }, [ROOT.read(rel)]]
end

def guard(trust, app)
  HanamiGuard::Middleware::ClientIdentity.new(app, source: :puma, trust:, intermediates: INTERMEDIATES)
end

CACHED = guard(HanamiGuard::TrustStore.new(root_ca.to_pem), guarded_app)
UNCACHED = guard(HanamiGuard::TrustStore.new(root_ca.to_pem, cache_size: 0), guarded_app)

ALLOWED_ISSUERS = [ica.cert.subject.to_s].freeze
BASE = Pathname.new(DIR).realpath
HAND_WRITTEN = lambda do |env|
  peer = env["puma.peercert"]
  next [401, {}, ["unauthorized"]] unless peer && ALLOWED_ISSUERS.include?(peer.issuer.to_s)
  next [403, {}, ["forbidden"]] unless peer.subject.to_s.include?("CN=operator")

  full = BASE.join(path_param(env)).cleanpath
  next [403, {}, ["forbidden"]] unless full.to_s.start_with?("#{BASE}/")

  [200, { "content-type" => "text/plain" }, [File.read(full)]]
end

def request_env
  { "REQUEST_METHOD" => "GET", "PATH_INFO" => "/files", "QUERY_STRING" => "path=docs/runbook.txt",
    "HTTPS" => "on", "REMOTE_ADDR" => "10.0.0.5", "puma.peercert" => PEER }
end

VARIANTS = {
  "hand-written checks (no chain verification)" => HAND_WRITTEN,
  "hanami_guard, verified-chain cache warm" => CACHED,
  "hanami_guard, first request (no cache)" => UNCACHED
}.freeze

bodies = VARIANTS.transform_values { |app| app.call(request_env).then { |s, _, b| [s, b.join.bytesize] } }
abort "the variants disagree: #{bodies}" unless bodies.values.uniq == [[200, 440]]

# Each round starts from a collected heap and ends with its own garbage collected, inside the
# timing (a minor GC with an immediate sweep): a variant that allocates little must not leave the
# cost of freeing what it made outside every measurement.
def cpu_us(app, calls)
  GC.start
  start = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
  calls.times { app.call(request_env) }
  GC.start(full_mark: false, immediate_sweep: true)
  (Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / calls
end

def median(values) = values.sort[values.size / 2]

# Interleaved rounds of thread CPU time (each variant in turn, every round), so that a change
# in the machine's speed between variants cancels out; medians of the per-round times.
times = VARIANTS.keys.to_h { |label| [label, []] }
ROUNDS.times do
  VARIANTS.each do |label, app|
    calls = label.include?("no cache") ? [CALLS / 10, 20].max : CALLS
    times[label] << cpu_us(app, calls)
  end
end
hand = median(times.fetch(VARIANTS.keys.first))
puts "A guarded request (#{RUBY_DESCRIPTION}, #{OpenSSL::OPENSSL_LIBRARY_VERSION})"
puts "#{ROUNDS} interleaved rounds, thread CPU time per request, median (min..max):"
times.each do |label, list|
  puts format("  %<label>-46s %<us>8.2f us (%<min>.2f..%<max>.2f)  %<ratio>6.2fx faster than the hand-written checks",
              label:, us: median(list), min: list.min, max: list.max, ratio: hand / median(list))
end

# The same, as benchmark-ips sees it (wall clock).
Benchmark.ips do |x|
  x.config(time: Float(ENV.fetch("BENCH_TIME", "2")), warmup: 1)
  VARIANTS.each { |label, app| x.report(label) { app.call(request_env) } }
  x.compare!
end
