# frozen_string_literal: true

# `rake mem`: each public API in a loop, RSS measured after a warm-up and at the end. A leak in
# the extension (a Rust value never freed, a Ruby object pinned forever) shows as steady growth.
# Not a test and not a benchmark: it prints a table and exits non-zero if any row grew 5% or more.
$LOAD_PATH.unshift(File.expand_path("../../lib", __dir__))
require "hanami_guard"
require "tmpdir"
require "fileutils"
require_relative "../../spec/support/certificates"

N = Integer(ENV.fetch("N", "1000000"))

def rss_kib = File.read("/proc/self/status")[/^VmRSS:\s+(\d+)/, 1].to_i

pki = CertFactory.chain(uris: ["spiffe://prod.example.org/ns/ops"], dns: ["api.internal"])
pem = pki[:leaf].to_pem
trust = HanamiGuard::TrustStore.new(pki[:root].to_pem)
intermediate = HanamiGuard::Certificate.parse(pki[:intermediate].to_pem)
cert = HanamiGuard::Certificate.parse(pem)
dir = Dir.mktmpdir
File.write(File.join(dir, "a.txt"), "x" * 512)
root = HanamiGuard::Root.new(dir)
command = HanamiGuard::Command.new("true {x}", allow: { x: %w[a] })
policy = HanamiGuard::Policy.define do
  allow :deploy, resources: %w[workers/*], principals: [{ subject: { CN: "operator" } }], id: "ops"
end
xfcc = "By=spiffe://proxy;URI=spiffe://prod.example.org/ns/ops;DNS=a;DNS=b"

cases = {
  "Certificate.parse + fields" => [N, lambda do
    c = HanamiGuard::Certificate.parse(pem)
    [c.subject["CN"], c.dns_names, c.spiffe_id, c.fingerprint]
  end],
  "DistinguishedName.parse + ==" => [N, lambda {
                                          HanamiGuard::DistinguishedName.parse("CN=a\\,b,O=MyOrg") == cert.subject
                                        }],
  "SpiffeId.parse" => [N, -> { HanamiGuard::SpiffeId.parse("spiffe://prod.example.org/ns/ops/sa/x") }],
  "Xfcc.parse" => [N, -> { HanamiGuard::Xfcc.parse(xfcc) }],
  "TrustStore#verify" => [N / 50, -> { trust.verify(cert, intermediates: [intermediate]) }],
  "Root#read" => [N, -> { root.read("a.txt") }],
  "Root#read refused" => [N / 4, lambda do
    root.read("../x")
  rescue HanamiGuard::PathEscapeError
    nil
  end],
  "Command#argv" => [N, -> { command.argv(x: "a") }],
  "Command#run" => [N / 500, -> { command.run(x: "a") }],
  "Policy#decide" => [N, -> { policy.decide(cert, :deploy, "workers/a") }]
}

failed = false
puts format("%-30<name>s %10<n>s %12<before>s %12<after>s %8<growth>s", name: "API", n: "calls", before: "RSS before",
                                                                        after: "RSS after", growth: "growth")
cases.each do |name, (n, call)|
  (n / 10).times { call.call }
  GC.start
  before = rss_kib
  n.times { call.call }
  GC.start
  after = rss_kib
  growth = 100.0 * (after - before) / before
  failed ||= growth >= 5
  puts format("%-30<name>s %10<n>d %9<before>d KiB %9<after>d KiB %7.2<growth>f%%", name:, n:, before:, after:, growth:)
end
root.close
FileUtils.remove_entry(dir)
abort "RSS grew 5% or more for at least one API" if failed
