# frozen_string_literal: true

require "hanami_guard"

# The demo's last part: `hanami_guard audit` on a small app written the naive way, next to the
# example app, which goes through hanami_guard for every shell, file and identity check.
module DemoAudit
  VULNERABLE = File.expand_path("../../spec/fixtures/audit/vulnerable_app", __dir__)
  EXAMPLE = File.expand_path("..", __dir__)

  module_function

  # Prints both scans; returns true when the naive app has findings and the example app none.
  def show(out = $stdout)
    naive = HanamiGuard::Audit.scan(VULNERABLE)
    example = HanamiGuard::Audit.scan(EXAMPLE)
    out.puts "hanami_guard audit, a naive app (#{naive.files} files): #{naive.findings.size} escapes"
    naive.findings.each do |f|
      call = f.fix[/HanamiGuard::\w+(?:[.#]\w+[!?]?)?|authorize!|JSON\.parse/]
      where = "#{f.path.delete_prefix("#{VULNERABLE}/")}:#{f.line}"
      out.puts format("  %-40<where>s %-24<rule>s -> %<call>s", where:, rule: f.rule, call:)
    end
    out.puts "hanami_guard audit, the example app (#{example.files} files, #{example.lines} lines): " \
             "#{example.findings.size} findings in #{(example.seconds * 1000).round(1)} ms"
    naive.findings.any? && example.findings.empty?
  end
end
