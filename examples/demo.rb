# frozen_string_literal: true

# The end-to-end demo (bin/demo runs it): a throwaway PKI, the example app in Puma with real
# mutual TLS on 127.0.0.1, real HTTPS requests with each certificate, a table of what happened,
# then the doctor's summary of the container the demo runs in.
$LOAD_PATH.unshift(File.join(__dir__, "lib"))
require "hanami_guard"
require "demo_pki"
require "demo_server"
require "demo_scenarios"
require_relative "config/app"

started = Time.now
pki_dir = File.expand_path("../tmp/demo-pki", __dir__)
pki = DemoPki.new(pki_dir)
events = Queue.new
app = ExampleApp.rack_app(ca_pem: File.read(pki.path(:ca)), on_report: ->(event) { events << event })
# Puma accepts a bundle of two CAs (MyOrg's and a partner's); the app pins MyOrg's only.
server = DemoServer.start(app, key: pki.path(:server, :key), cert: pki.path(:server),
                               ca: pki.path(:tls_bundle), ca_file: pki.path(:ca))

puts "hanami_guard #{HanamiGuard::VERSION}: example app in Puma #{Puma::Const::VERSION} with mutual TLS " \
     "on 127.0.0.1:#{server.port}"
puts "certificates in #{pki_dir.delete_prefix("#{Dir.pwd}/")}; the edge proxy connects from #{DemoScenarios::PROXY}"
puts

# Who the client is, as the subject the middleware reads (RFC 4514: a comma inside a value is escaped).
def identity_label(scenario, pki)
  name = ->(n) { HanamiGuard::Certificate.parse(pki.cert(n)).subject.to_s }
  note = { rogue: " [Partner CA]", expired: " [expired]" }
  forwarded = scenario.xfcc&.map { |n| name.call(n) + note.fetch(n, "") }&.join(" + ")
  return "proxy, XFCC: #{forwarded || "(none)"}" if scenario.from

  label = scenario.client ? name.call(scenario.client) + note.fetch(scenario.client, "") : "(no certificate)"
  forwarded ? "#{label}, XFCC: #{forwarded}" : label
end

def clip(text, width) = text.length > width ? "#{text[0, width - 1]}…" : text

rows = []
failures = 0
begin
  DemoScenarios::ALL.each do |scenario|
    status, body = DemoScenarios.run(scenario, server, pki)
    ok = status == scenario.status && (scenario.body.nil? || scenario.body.match?(body))
    failures += 1 unless ok
    rows << [scenario.name, clip("#{scenario.verb.upcase} #{scenario.path}", 38),
             clip(identity_label(scenario, pki), 48), clip(body.lines.first.to_s.strip, 44),
             status ? status.to_s : "-", ok ? "" : "UNEXPECTED"]
  end
ensure
  server.stop
end

headers = %w[scenario request identity decision status]
widths = headers.each_index.map { |i| ([headers[i]] + rows.map { |r| r[i] }).map(&:length).max }
line = ->(cells) { cells.each_with_index.map { |c, i| c.to_s.ljust(widths[i] || 0) }.join("  ").rstrip }
puts line.call(headers)
puts line.call(widths.map { |w| "-" * w })
rows.each { |r| puts line.call(r) }
puts
reported = []
reported << events.pop until events.empty?
puts "middleware reports: #{reported.count { |e| e[:event] == :untrusted_proxy }} forwarded header(s) ignored " \
     "from untrusted addresses, #{reported.count { |e| e[:event] == :rejected }} request(s) refused"
puts "Puma stopped. #{DemoScenarios::ALL.size} requests in #{(Time.now - started).round(2)} s; " \
     "#{failures.zero? ? "every result as expected" : "#{failures} UNEXPECTED result(s)"}."
puts
require "demo_audit"
failures += 1 unless DemoAudit.show
# The container around the demo: what `hanami_guard doctor` says about the machine it runs on.
puts HanamiGuard::Doctor.run.summary(details: false)
puts "(`bundle exec exe/hanami_guard doctor` shows the evidence and the fix for each)"
exit(failures.zero? ? 0 : 1)
