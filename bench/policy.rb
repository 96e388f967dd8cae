# frozen_string_literal: true

# Policy#allowed? side by side with plain-Ruby evaluators, in one process:
#   bundle exec ruby -Ilib bench/policy.rb      (or: bundle exec rake bench:policy)
# A benchmark, not a test: nothing is asserted. Figures go to BENCHMARKS.md ("Policy").
#
# BENCH_TIME / BENCH_WARMUP (seconds, default 2 / 1); BENCH_SCALING=0 skips the scaling table;
# BENCH_ONLY=events stops after the subscriber figures.

require "benchmark/ips"
require "hanami_guard"
require "yaml"
require "tmpdir"

TIME = Float(ENV.fetch("BENCH_TIME", "2"))
WARMUP = Float(ENV.fetch("BENCH_WARMUP", "1"))
ACTIONS = 50

# A duck-typed identity, as an app would write one (or a Certificate: same methods).
Name = Struct.new(:pairs) do
  def to_a = pairs
end
Identity = Struct.new(:subject, :issuer, :spiffe_id, :dns_names, :fingerprint)

def identity(common_name)
  Identity.new(Name.new([["CN", common_name], %w[O MyOrg]]), Name.new([["CN", "MyOrg Internal CA"]]), nil, [], nil)
end

# `count` rules over ACTIONS actions; every 10th is a deny. Each names two exact resources and a
# glob, and two principals (a subject and a SPIFFE pattern).
def rules(count)
  Array.new(count) do |i|
    {
      "id" => "r#{i}", "effect" => i % 10 == 9 ? "deny" : "allow", "actions" => ["a#{i % ACTIONS}"],
      "resources" => ["res#{i % 97}", "res#{(i + 1) % 97}", "dir#{i % 13}/*"],
      "principals" => [{ "subject" => { "CN" => "user#{i % 211}", "O" => "MyOrg" } },
                       { "spiffe_id" => "spiffe://prod.example.org/ns/n#{i % 31}/*" }]
    }
  end
end

def policy_for(rule_list)
  HanamiGuard::Policy.parse({ "version" => 1, "rules" => rule_list }.to_yaml)
end

# The plain-Ruby way: a loop over the rule hashes, as loaded from YAML, with globs compiled to
# Regexps once and names compared the RFC 5280 way (case-folded, spaces squeezed).
class RubyPolicy
  def initialize(rules, index: false)
    @rules = rules.map do |r|
      {
        id: r["id"], deny: r["effect"] == "deny", actions: r["actions"],
        exact: r["resources"].reject { |p| p.include?("*") },
        globs: r["resources"].select { |p| p.include?("*") }.map { |p| glob(p) },
        principals: r["principals"]
      }
    end
    @index = index ? @rules.group_by { |r| r[:actions].first } : nil
  end

  def allowed?(identity, action, resource)
    return false if identity.nil?

    action = action.to_s
    allowed = false
    candidates = @index ? @index.fetch(action, []) : @rules
    candidates.each do |rule|
      next unless rule[:actions].include?(action) || rule[:actions].include?("*")
      next unless rule[:exact].include?(resource) || rule[:globs].any? { |g| g.match?(resource) }
      next unless rule[:principals].any? { |p| principal?(p, identity) }
      return false if rule[:deny]

      allowed = true
    end
    allowed
  end

  private

  def glob(pattern)
    Regexp.new("\\A#{pattern.split("/").map do |s|
                       s == "**" ? ".*" : Regexp.escape(s).gsub("\\*", "[^/]*")
                     end.join("/")}\\z")
  end

  def norm(value)
    value.downcase.squeeze(" ").strip
  end

  def principal?(principal, identity)
    return true if principal == "*"

    if (subject = principal["subject"])
      attrs = identity.subject.to_a
      return false unless subject.all? { |type, value| attrs.any? { |t, v| t == type && norm(v) == norm(value) } }
    end
    if (spiffe = principal["spiffe_id"])
      id = identity.spiffe_id&.to_s
      base = spiffe.delete_suffix("/*")
      return false unless id&.start_with?("#{base}/") && !id[(base.size + 1)..].include?("/")
    end
    true
  end
end

def report(title, reports)
  by_name = reports.to_h { |r| [r.label, r.stats.central_tendency] }
  baseline_label, baseline = by_name.first
  puts "\n#{title}"
  by_name.each do |label, ips|
    puts format("  %<label>-58s %<us>10.3f us   %<ratio>7.2fx the time of %<base>s",
                label:, us: 1e6 / ips, ratio: baseline / ips, base: baseline_label)
  end
end

def run(title, &)
  ips = Benchmark.ips(time: TIME, warmup: WARMUP, quiet: true, &)
  report(title, ips.entries)
  ips.entries.to_h { |r| [r.label, 1e6 / r.stats.central_tendency] }
end

# The request: user5 (allowed for action a5 on res5 by rule r5) and a request nothing allows.
who = identity("user5")
converted = HanamiGuard::Policy.identity(who)
list = rules(1_000)
policy = policy_for(list)
loop_ruby = RubyPolicy.new(list)
indexed_ruby = RubyPolicy.new(list, index: true)
# The same identity as a real HanamiGuard::Certificate, decided on in place by the extension.
ca_key = OpenSSL::PKey::EC.generate("prime256v1")
leaf = OpenSSL::X509::Certificate.new
leaf.version = 2
leaf.serial = 1
leaf.subject = OpenSSL::X509::Name.parse("/O=MyOrg/CN=user5")
leaf.issuer = OpenSSL::X509::Name.parse("/CN=MyOrg Internal CA")
leaf.public_key = ca_key
leaf.not_before = Time.now - 60
leaf.not_after = Time.now + 3600
leaf.sign(ca_key, OpenSSL::Digest.new("SHA256"))
certificate = HanamiGuard::Certificate.parse(leaf.to_der)
raise "certificate path disagrees" unless policy.allowed?(certificate, :a5,
                                                          "res5") && !policy.allowed?(certificate, :a5, "dir6/zzz")
raise "evaluators disagree" unless [policy.allowed?(who, :a5, "res5"), loop_ruby.allowed?(who, :a5, "res5"),
                                    indexed_ruby.allowed?(who, :a5, "res5")].uniq == [true]

%w[res50 dir6/zzz].each do |resource|
  answers = [policy.allowed?(converted, :a5, resource), loop_ruby.allowed?(who, :a5, resource),
             indexed_ruby.allowed?(who, :a5, resource)]
  raise "evaluators disagree on #{resource}" unless answers.uniq == [false]
end

puts "Policy#allowed?: 1,000 rules over #{ACTIONS} actions (#{RUBY_DESCRIPTION})"
run("allowed (matches rule r5)") do |x|
  x.report("hanami_guard, Policy.identity converted once") { policy.allowed?(converted, :a5, "res5") }
  x.report("hanami_guard, duck-typed identity read per call") { policy.allowed?(who, :a5, "res5") }
  x.report("hanami_guard, a HanamiGuard::Certificate") { policy.allowed?(certificate, :a5, "res5") }
  x.report("hanami_guard, #decide (Decision object)") { policy.decide(converted, :a5, "res5") }
  x.report("plain Ruby, loop over the rule hashes") { loop_ruby.allowed?(who, :a5, "res5") }
  x.report("plain Ruby, rule hashes indexed by action") { indexed_ruby.allowed?(who, :a5, "res5") }
  x.report("for scale: Policy#size (a native call doing nothing)") { policy.size }
end
run("denied (no rule matches: default deny)") do |x|
  x.report("hanami_guard, Policy.identity converted once") { policy.allowed?(converted, :a5, "dir6/zzz") }
  x.report("hanami_guard, duck-typed identity read per call") { policy.allowed?(who, :a5, "dir6/zzz") }
  x.report("hanami_guard, a HanamiGuard::Certificate") { policy.allowed?(certificate, :a5, "dir6/zzz") }
  x.report("plain Ruby, loop over the rule hashes") { loop_ruby.allowed?(who, :a5, "dir6/zzz") }
  x.report("plain Ruby, rule hashes indexed by action") { indexed_ruby.allowed?(who, :a5, "dir6/zzz") }
end

# Subscribers: one that ignores policy.decision (subscribed to another event), one that takes
# every decision and drops it, and the decision log (a JSON line per decision, to a file).
big = policy_for(rules(10_000))
run("subscribers attached (1,000 and 10,000 rules, a request rule r5 allows)") do |x|
  subscription = HanamiGuard.subscribe("certificate.rejected") { |_event| nil }
  x.report("no subscriber, 1,000 rules") { policy.allowed?(converted, :a5, "res5") }
  x.report("a subscriber to another event, 1,000 rules") { policy.allowed?(converted, :a5, "res5") }
  x.report("a subscriber to another event, 10,000 rules") { big.allowed?(converted, :a5, "res5") }
  HanamiGuard.unsubscribe(subscription)
end
subscription = HanamiGuard.subscribe("policy.decision") { |_event| nil }
run("a policy.decision subscriber that ignores each event") do |x|
  x.report("1,000 rules") { policy.allowed?(converted, :a5, "res5") }
  x.report("10,000 rules") { big.allowed?(converted, :a5, "res5") }
end
HanamiGuard.unsubscribe(subscription)
log = File.join(Dir.tmpdir, "hanami_guard-bench-#{Process.pid}.jsonl")
subscription = HanamiGuard.log_decisions_to(log)
run("HanamiGuard.log_decisions_to(file): one JSON line per decision") do |x|
  x.report("1,000 rules, logged") { policy.allowed?(converted, :a5, "res5") }
end
HanamiGuard.unsubscribe(subscription)
File.delete(log)
exit if ENV["BENCH_ONLY"] == "events"

# Rules for other actions cost nothing: 20 rules for the action asked, plus N for others.
base = rules(1_000).select { |r| r["actions"] == ["a5"] }
run("rules for other actions (20 rules for a5, plus N rules for other actions)") do |x|
  [0, 1_000, 10_000].each do |extra|
    others = rules(extra).reject { |r| r["actions"] == ["a5"] }.each { |r| r["id"] = "o#{r["id"]}" }
    p = policy_for(base + others)
    x.report("hanami_guard, N = #{extra}") { p.allowed?(converted, :a5, "dir6/zzz") }
  end
end

exit if ENV["BENCH_SCALING"] == "0"

puts "\nScaling: rules over #{ACTIONS} actions, a request nothing allows (the worst case: every candidate checked)"
[10, 100, 1_000, 10_000].each do |count|
  rule_list = rules(count)
  p = policy_for(rule_list)
  ruby = RubyPolicy.new(rule_list)
  raise "evaluators disagree" unless [p.allowed?(converted, :a5, "dir6/zzz"),
                                      ruby.allowed?(who, :a5, "dir6/zzz")] == [false, false]

  run("#{count} rules") do |x|
    x.report("hanami_guard, converted identity") { p.allowed?(converted, :a5, "dir6/zzz") }
    x.report("hanami_guard, duck-typed identity") { p.allowed?(who, :a5, "dir6/zzz") }
    x.report("plain Ruby loop") { ruby.allowed?(who, :a5, "dir6/zzz") }
  end
end
