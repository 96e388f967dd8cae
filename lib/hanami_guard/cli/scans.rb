# frozen_string_literal: true

module HanamiGuard
  # The CLI's `audit` (the app's own code) and `doctor` (the container around it) commands.
  class CLI
    private

    def run_audit
      options = { format: "text", fail_on: "low" }
      parse_options { |o| audit_options(o, options) }
      options[:format] = "json" if @json
      fail_on = begin
        HanamiGuard::Audit.severity_name(options[:fail_on])
      rescue HanamiGuard::ConfigurationError => e
        raise UsageError, e.message
      end
      result = audit_scan(options)
      if options[:write_baseline]
        CLI.write_atomically(options[:write_baseline], result.to_json)
        return say("wrote #{result.findings.size} findings to #{options[:write_baseline]}")
      end
      @stdout.puts(options[:format] == "text" ? result.to_text : result.public_send(:"to_#{options[:format]}"))
      result.fails?(fail_on) ? NO : OK
    end

    def audit_options(parser, options)
      parser.on("--format FORMAT", %w[text json sarif], "text (default), json or sarif") { |v| options[:format] = v }
      parser.on("--baseline FILE", "do not report findings listed in FILE (a saved --format json report)") do |v|
        options[:baseline] = v
      end
      parser.on("--write-baseline FILE", "save every current finding to FILE as the baseline") do |v|
        options[:write_baseline] = v
      end
      parser.on("--fail-on SEVERITY", "exit 1 only for findings at least this severe (default low)") do |v|
        options[:fail_on] = v
      end
    end

    def audit_scan(options)
      if @argv.empty? && HanamiGuard::Audit::DEFAULT_PATHS.none? { |p| File.directory?(p) }
        raise UsageError, "no app/, slices/, lib/ or config/ here: run in the app's directory or give PATH"
      end

      HanamiGuard::Audit.scan(*@argv, baseline: options[:baseline])
    rescue SystemCallError => e
      raise UsageError, "cannot scan: #{e.message.sub(/ @ .*/, "")}"
    rescue HanamiGuard::ConfigurationError => e
      raise UsageError, e.message
    end

    def run_doctor
      sarif = false
      fail_on = "high"
      root = "/"
      parse_options do |o|
        o.on("--sarif", "print SARIF 2.1.0") { sarif = true }
        o.on("--fail-on SEVERITY", "exit 1 at or above it (default high)") { |v| fail_on = v }
        o.on("--root DIR", "read DIR/proc, DIR/sys ... instead of this process's") { |v| root = v }
      end
      raise UsageError, "doctor takes --json or --sarif, not both" if sarif && @json
      raise UsageError, "doctor takes no operands" unless @argv.empty?

      report = begin
        HanamiGuard::Doctor.severity_name(fail_on)
        HanamiGuard::Doctor.run(root:)
      rescue HanamiGuard::ConfigurationError => e
        raise UsageError, e.message
      end
      status = report.ok?(fail_on:) ? OK : NO
      if sarif
        @stdout.puts(report.to_sarif)
        return status
      end
      emit(report.to_h, report.summary, status)
    end
  end
end
