# frozen_string_literal: true

# Identity benchmarks, side by side with Ruby's OpenSSL in one process.
#
#   bundle exec ruby -Ilib bench/identity.rb        (or: bundle exec rake bench:identity)
#
# Build the extension in release mode first (`bundle exec rake compile`) for meaningful figures.
# The comparisons, as issues 3 and 21 ask:
#   1. from PEM: parse, then read CN, SANs, SPIFFE ID and SHA-256 fingerprint;
#   2. from an existing OpenSSL::X509::Certificate (the Puma case): the same reads;
#   3. verifying a 3-certificate chain (root, intermediate, leaf) for client authentication, as
#      a new client's first request does: each call a leaf never verified before, under the same
#      intermediate (the store's verified-chain cache misses; the CA's signature over the
#      intermediate is remembered, the leaf's signature is checked every time);
#   3a. the same with nothing remembered (`cache_size: 0`): both signatures on every call;
#   3b. the same chain again, answered from the verified-chain cache.

$LOAD_PATH.unshift(File.expand_path("../lib", __dir__))
require "hanami_guard"
require "benchmark/ips"
require "digest"
require_relative "../spec/support/certificates"

TIME = Float(ENV.fetch("BENCH_TIME", "2"))
WARMUP = Float(ENV.fetch("BENCH_WARMUP", "1"))
KEY_TYPE = ENV.fetch("BENCH_KEY", "ec").to_sym

def key = CertFactory.key(KEY_TYPE)

root = CertFactory.ca(key:)
ica = CertFactory.intermediate(issuer: root, key:)
leaf = CertFactory.leaf(issuer: ica, key:, subject: [%w[C US], %w[O MyOrg], %w[OU Ops], %w[CN operator]],
                        dns: ["api.example.org", "worker.example.org"],
                        uris: ["spiffe://prod.example.org/ns/ops/sa/deployer"])
PEM = leaf.to_pem
# The Puma case: Puma builds env["puma.peercert"] with OpenSSL::X509::Certificate.new(der) from
# the handshake's DER (puma/minissl.rb, MiniSSL::Socket#peercert), so the object holds the parsed
# encoding and its #to_der copies it out. A certificate built and signed in this process (as
# leaf.cert is) re-encodes itself on every #to_der (about 5 us more on each side): measured
# separately below as case 2b, not the Puma case.
OSSL = OpenSSL::X509::Certificate.new(leaf.to_der)
SIGNED = leaf.cert

# The plain-Ruby way of reading the same fields.
def openssl_fields(cert)
  cn = cert.subject.to_a.find { |type, _, _| type == "CN" }&.[](1)
  san = cert.extensions.find { |e| e.oid == "subjectAltName" }&.value.to_s
  entries = san.split(", ")
  dns = entries.filter_map { |e| e.delete_prefix("DNS:") if e.start_with?("DNS:") }
  uris = entries.filter_map { |e| e.delete_prefix("URI:") if e.start_with?("URI:") }
  spiffe = uris.size == 1 && uris.first.start_with?("spiffe://") ? uris.first : nil
  [cn, dns, uris, spiffe, Digest::SHA256.hexdigest(cert.to_der)]
end

def guard_fields(cert)
  [cert.subject["CN"], cert.dns_names, cert.uris, cert.spiffe_id&.to_s, cert.fingerprint]
end

abort "the two ways disagree" unless openssl_fields(OSSL) == guard_fields(HanamiGuard::Certificate.parse(PEM))
unless openssl_fields(SIGNED) == guard_fields(HanamiGuard::Certificate.parse(SIGNED))
  abort "the two ways disagree on a signed-here certificate"
end

# benchmark-ips hooks: start every warmup and every measurement from a collected heap, so that
# neither side pays for sweeping the other's garbage (Ruby sweeps lazily; an OpenSSL certificate
# costs far more to free than one of ours). GC stays enabled while measuring: each side pays for
# collecting its own garbage.
class CollectedHeapSuite
  def warming(*) = GC.start
  def running(*) = GC.start
  def warmup_stats(*); end
  def add_report(*); end
end
SUITE = CollectedHeapSuite.new

def ratio(report, fast, slow)
  ips = report.entries.to_h { |e| [e.label, e.ips] }
  ips.fetch(fast) / ips.fetch(slow)
end

ossl_store = OpenSSL::X509::Store.new
ossl_store.add_cert(root.cert)
ossl_store.purpose = OpenSSL::X509::PURPOSE_SSL_CLIENT
# Case 3: new clients. More leaves than the store's chain cache holds, verified in turn, so no
# call finds its chain in the cache (checked below); both sides verify the same leaves.
CLIENTS = Integer(ENV.fetch("BENCH_CLIENTS", (HanamiGuard::TrustStore::DEFAULT_CACHE_SIZE * 2).to_s))
client_leaves = Array.new(CLIENTS) do |i|
  CertFactory.leaf(issuer: ica, key:, subject: [%w[O MyOrg], ["CN", "client-#{i}"]]).cert
end
OSSL_CLIENTS = client_leaves.map { |c| OpenSSL::X509::Certificate.new(c.to_der) }
GUARD_CLIENTS = client_leaves.map { |c| HanamiGuard::Certificate.parse(c) }
new_clients = HanamiGuard::TrustStore.new(root.to_pem)
# Case 3a: nothing remembered; case 3b: the same chain answered from the verified-chain cache,
# as every request after a client's first is.
trust = HanamiGuard::TrustStore.new(root.to_pem, cache_size: 0)
cached_trust = HanamiGuard::TrustStore.new(root.to_pem)
guard_leaf = HanamiGuard::Certificate.parse(OSSL)
guard_ica = HanamiGuard::Certificate.parse(ica.cert)
abort "OpenSSL does not verify the chain" unless ossl_store.verify(OSSL, [ica.cert])
abort "hanami_guard does not verify the chain" unless trust.verified?(guard_leaf, intermediates: [guard_ica])
unless OSSL_CLIENTS.zip(GUARD_CLIENTS).all? do |o, g|
  ossl_store.verify(o, [ica.cert]) && new_clients.verified?(g, intermediates: [guard_ica])
end
  abort "a client certificate does not verify"
end
ossl_client = 0
guard_client = 0

# Each case: a title, the name of its ratio, then the plain-Ruby way and the hanami_guard way.
# (Procs, not lambdas: Integer#times passes the index.)
Case = Struct.new(:title, :name, :plain_label, :plain, :guard_label, :guard)
CASES = [
  Case.new("1. parse PEM + CN + SANs + spiffe_id + fingerprint", "parse PEM + fields (issue 21: >= 60x)",
           "OpenSSL", proc { openssl_fields(OpenSSL::X509::Certificate.new(PEM)) },
           "hanami_guard", proc { guard_fields(HanamiGuard::Certificate.parse(PEM)) }),
  Case.new("2. from Puma's env[\"puma.peercert\"] (an OpenSSL::X509::Certificate) + the same fields",
           "from OpenSSL cert + fields (issue 21: >= 5x)",
           "OpenSSL accessors", proc { openssl_fields(OSSL) },
           "hanami_guard", proc { guard_fields(HanamiGuard::Certificate.parse(OSSL)) }),
  Case.new("2b. from an OpenSSL::X509::Certificate signed in this process (re-encodes on #to_der)",
           "2b. from a signed-here OpenSSL cert (no goal)",
           "OpenSSL accessors", proc { openssl_fields(SIGNED) },
           "hanami_guard", proc { guard_fields(HanamiGuard::Certificate.parse(SIGNED)) }),
  Case.new("3. verify a new client's 3-certificate chain for client auth (#{KEY_TYPE} keys; " \
           "each call another of #{CLIENTS} leaves)",
           "TrustStore#verify, a new leaf (issue 21: >= 8x)",
           "OpenSSL::X509::Store#verify", proc {
             ossl_store.verify(OSSL_CLIENTS[(ossl_client += 1) % CLIENTS], [ica.cert])
           },
           "TrustStore#verify", proc {
             new_clients.verify(GUARD_CLIENTS[(guard_client += 1) % CLIENTS], intermediates: [guard_ica])
           }),
  Case.new("3a. the same chain every call, nothing remembered (cache_size: 0): both signatures checked",
           "3a. TrustStore#verify, cache_size: 0 (no goal)",
           "OpenSSL::X509::Store#verify", proc { ossl_store.verify(OSSL, [ica.cert]) },
           "TrustStore#verify", proc { trust.verify(guard_leaf, intermediates: [guard_ica]) }),
  Case.new("3b. the same, answered from the verified-chain cache", "3b. TrustStore#verify, cache warm (no goal)",
           "OpenSSL::X509::Store#verify", proc { ossl_store.verify(OSSL, [ica.cert]) },
           "TrustStore#verify", proc { cached_trust.verify(guard_leaf, intermediates: [guard_ica]) })
].freeze

# Calls a second of each side, as benchmark-ips measured them: the CPU-time windows below are
# sized from these, so that every window lasts long enough for Ruby to collect what it allocates.
rates = {}
results = CASES.to_h do |c|
  puts "\n== #{c.title}"
  report = Benchmark.ips do |x|
    x.config(time: TIME, warmup: WARMUP, suite: SUITE)
    x.report(c.plain_label, &c.plain)
    x.report(c.guard_label, &c.guard)
    x.compare!
  end
  ips = report.entries.to_h { |e| [e.label, e.ips] }
  rates[c.name] = [ips.fetch(c.plain_label), ips.fetch(c.guard_label)]
  [c.name, ratio(report, c.guard_label, c.plain_label)]
end

puts "\n== ratios (hanami_guard / plain Ruby, wall clock, higher is better)"
results.each { |name, value| puts format("%<name>-48s %<ratio>8.1fx", name:, ratio: value) }

# Wall-clock ratios swing when other processes compete for the CPU; thread CPU time does not.
# Each timed window starts from a collected heap (so that neither side pays for sweeping the
# other's garbage) and ends with its own garbage collected, inside the window: a minor GC with an
# immediate sweep, which frees what the calls made (for hanami_guard, the Rust values behind each
# object: its DER, fields and boxes). Without it a side that allocates little could finish a short
# window before Ruby collected even once and leave that cost outside every measurement; the
# windows are also sized from the rates above to span many of Ruby's own collections.
def cpu_us(iterations, &)
  GC.start
  start = Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID)
  iterations.times(&)
  GC.start(full_mark: false, immediate_sweep: true)
  (Process.clock_gettime(Process::CLOCK_THREAD_CPUTIME_ID) - start) * 1e6 / iterations
end

# Calls for a window of about `seconds` of this side (at least 20).
def calls_for(rate, seconds) = [(rate * seconds).ceil, 20].max

window = Float(ENV.fetch("BENCH_WINDOW", "0.5"))
round = Float(ENV.fetch("BENCH_ROUND", "0.1"))
rounds = Integer(ENV.fetch("BENCH_ROUNDS", "15"))
pairs = CASES.to_h { |c| [c.name, [c.plain, c.guard]] }
puts "\n== thread CPU time per operation (windows of about #{window} s a side, garbage collected inside)"
pairs.each do |name, (plain, guard)|
  plain_rate, guard_rate = rates.fetch(name)
  plain_us = cpu_us(calls_for(plain_rate, window), &plain)
  guard_us = cpu_us(calls_for(guard_rate, window), &guard)
  puts format("%<name>-48s OpenSSL %<plain>8.2f us  hanami_guard %<guard>7.2f us  %<ratio>6.1fx",
              name:, plain: plain_us, guard: guard_us, ratio: plain_us / guard_us)
end

# The two sides measured one after the other drift apart when the machine's speed changes
# between them (a VM's neighbours, frequency). Interleaving short rounds (plain, then guard,
# then plain again...) and taking the median of the per-round ratios cancels that drift.
def median(values) = values.sort[values.size / 2]

puts "\n== interleaved: #{rounds} rounds of about #{round} s a side, thread CPU time, median ratio (min..max)"
pairs.each do |name, (plain, guard)|
  plain_rate, guard_rate = rates.fetch(name)
  plain_n = calls_for(plain_rate, round)
  guard_n = calls_for(guard_rate, round)
  ratios = Array.new(rounds) { cpu_us(plain_n, &plain) / cpu_us(guard_n, &guard) }
  puts format("%<name>-48s %<median>6.1fx  (%<min>.1f..%<max>.1f)",
              name:, median: median(ratios), min: ratios.min, max: ratios.max)
end

# Case 3 must have measured new clients only, in every measure: not one answer from the
# verified-chain cache.
hits = new_clients.cache_stats.fetch(:hits)
abort "case 3 was answered from the chain cache #{hits} times: raise BENCH_CLIENTS" unless hits.zero?
