# frozen_string_literal: true

require "json"
require_relative "errors"
require_relative "version"

module HanamiGuard
  # The container around the app, checked from inside it: capabilities, seccomp, the LSM,
  # runtime sockets and host directories mounted in, writable kernel files, host namespaces,
  # block devices, tokens and secrets in the environment, and whether the gem's own defences
  # (`openat2` for {Root}, Landlock for {Command}) work here. It only reads: it never writes,
  # connects to a socket, signals or opens the network. The checks live in the Rust core.
  #
  # @example at boot, in a Hanami provider [parse-only: a Hanami provider file]
  #   Hanami.app.register_provider(:hanami_guard_doctor) do
  #     start { HanamiGuard::Doctor.check!(fail_on: :critical) }
  #   end
  #
  # @api public
  # @since 0.1.0
  module Doctor
    # The severities, the most severe first.
    SEVERITIES = _severities

    # Every finding id (stable: SARIF rule ids).
    # @!parse
    #   # The extension's report (a Rust value) that {Doctor.run} turns into a {Report}.
    #   class NativeReport; end
    IDS = _ids

    private_class_method :_run, :_severities, :_ids, :_severity
    private_constant :NativeReport

    # One weakness: `id` (one of {IDS}), `severity` (one of {SEVERITIES}), `title`, `evidence`
    # (Array of Strings: what was seen; environment variables by name only), `fix` (the Docker,
    # Kubernetes or compose setting that removes it), `source` (the file it was read from).
    #
    # @api public
    # @since 0.1.0
    Finding = Struct.new(:id, :severity, :title, :evidence, :fix, :source, keyword_init: true) do
      def initialize(**)
        super
        freeze
      end
    end

    # The outcome of {Doctor.run}. Frozen.
    #
    # @api public
    # @since 0.1.0
    class Report
      # @return [String] the tree that was read
      attr_reader :root
      # @return [Array<Finding>] the most severe first
      attr_reader :findings
      # @return [Hash{String => String}] check id => why it could not be made
      attr_reader :not_checked
      # @return [Hash{String => String}] what the probes of the gem's own defences answered
      attr_reader :probes

      # @api private
      def initialize(native, root)
        @native = native
        @root = root.dup.freeze
        data = native.send(:_findings)
        @findings = data.map { |h| Finding.new(**h.slice(*Finding.members)) }.freeze
        @scores = data.map { |h| h[:security_severity] }.freeze
        @not_checked = native.send(:_not_checked).to_h.freeze
        @probes = native.send(:_probes).to_h.freeze
        freeze
      end

      # @param severity [Symbol, String] one of {SEVERITIES}
      # @return [Array<Finding>] the findings at or above it
      # @raise [HanamiGuard::ConfigurationError] for an unknown severity
      def at_or_above(severity)
        @native.send(:_at_or_above, Doctor.severity_name(severity)).map { |i| @findings[i] }
      end

      # @param fail_on [Symbol, String] one of {SEVERITIES}
      # @return [Boolean] no finding at or above `fail_on`
      # @raise [HanamiGuard::ConfigurationError] for an unknown severity
      def ok?(fail_on: :high)
        at_or_above(fail_on).empty?
      end

      # @return [Hash] plain data: root, findings, not_checked, probes
      def to_h
        { root:, findings: findings.map(&:to_h), not_checked:, probes: }
      end

      # @return [String]
      def to_json(*args)
        to_h.to_json(*args)
      end

      # SARIF 2.1.0, with `security-severity` on each rule so code-scanning tools rank it.
      #
      # @return [String] JSON
      def to_sarif
        JSON.pretty_generate(Sarif.new(self, @scores).to_h)
      end

      # A text report: one block per finding, then what was not checked and the probes.
      #
      # @param details [Boolean] false for one line per finding (no evidence, no fix)
      # @return [String]
      def summary(details: true)
        lines = [headline]
        findings.each do |f|
          lines << format("  %-8<sev>s %-22<id>s %<title>s", sev: f.severity.upcase, id: f.id, title: f.title)
          next unless details

          f.evidence.each { |e| lines << "           seen: #{e}" }
          lines << "           fix:  #{f.fix}"
        end
        not_checked.each { |id, why| lines << "  not checked: #{id} (#{why})" }
        lines << "  probes: #{probes.map { |k, v| "#{k} #{v}" }.join("; ")}" unless probes.empty?
        lines.join("\n")
      end

      # @return [String] one line: how many findings of each severity
      def headline
        counts = SEVERITIES.filter_map do |s|
          n = findings.count { |f| f.severity == s }
          "#{n} #{s}" if n.positive?
        end
        "hanami_guard doctor (#{root}): " +
          (findings.empty? ? "no findings" : "#{findings.size} finding(s): #{counts.join(", ")}")
      end

      # @return [String]
      def inspect
        "#<#{self.class.name} root=#{root} findings=#{findings.map(&:id).join(",")}>"
      end
    end

    # Builds the SARIF 2.1.0 document for a {Report}.
    #
    # @api private
    class Sarif
      LEVELS = { critical: "error", high: "error", medium: "warning", low: "note", info: "note" }.freeze

      def initialize(report, scores)
        @report = report
        @scores = scores
      end

      def to_h
        {
          "$schema" => "https://json.schemastore.org/sarif-2.1.0.json",
          "version" => "2.1.0",
          "runs" => [{
            "tool" => { "driver" => driver },
            "originalUriBaseIds" => { "ROOT" => { "uri" => "file://#{File.join(@report.root, "")}" } },
            "results" => @report.findings.map { |f| result(f) }
          }]
        }
      end

      private

      def driver
        rules = @report.findings.each_with_index.uniq { |f, _| f.id }.map do |f, i|
          { "id" => f.id, "name" => f.id,
            "shortDescription" => { "text" => f.title },
            "help" => { "text" => f.fix },
            "properties" => { "security-severity" => @scores[i], "tags" => %w[security container] } }
        end
        { "name" => "hanami_guard doctor", "version" => HanamiGuard::VERSION,
          "informationUri" => "https://github.com/hanami-guard/hanami_guard#doctor", "rules" => rules }
      end

      def result(finding)
        { "ruleId" => finding.id, "level" => LEVELS.fetch(finding.severity),
          "message" => { "text" => "#{finding.title}. Seen: #{finding.evidence.join("; ")}. Fix: #{finding.fix}" },
          "locations" => [location(finding.source)],
          # One alert per finding id and machine: code scanning cannot fingerprint /proc lines.
          "partialFingerprints" => { "hanamiGuardDoctor/v1" => finding.id } }
      end

      # Code scanning wants a relative artifact URI on every result: the file beneath ROOT, or
      # for a probe the system call (`openat2(2)`), which is also given as a logical location.
      def location(source)
        artifact = { "uri" => source.delete_prefix("/"), "uriBaseId" => "ROOT" }
        location = { "physicalLocation" => { "artifactLocation" => artifact } }
        return location if source.start_with?("/")

        location.merge("logicalLocations" => [{ "name" => source, "kind" => "function" }])
      end
    end

    class << self
      # Runs every check.
      #
      # @param root [String, Pathname] a tree laid out like `/` (ROOT/proc/self/status, ...);
      #   `/` is this process. The `openat2` and Landlock probes are live system calls only under
      #   `/`; elsewhere they are read from `ROOT/doctor-probes` or listed in `not_checked`.
      # @param env [Hash, ENV] the environment whose variable *names* are checked for secrets
      # @param roots [Array<Root, String, Pathname>] the app's {Root}s (or their base paths), checked
      #   for lying on a directory mounted from the host
      # @return [Report]
      # @raise [HanamiGuard::ConfigurationError] if `root` is not a readable directory, or an
      #   argument has the wrong type
      def run(root: "/", env: ENV, roots: [])
        root = path_string(root, :root)
        names = env_names(env)
        bases = Array(roots).map { |r| r.is_a?(Root) ? r.path : File.expand_path(path_string(r, :roots)) }
        Report.new(_run(root, names, bases), root)
      end

      # The boot mode: runs the checks, warns about the findings below `fail_on`, and refuses
      # to start (raises) when any is at or above it. `fail_on: nil` only warns.
      #
      # @param fail_on [Symbol, String, nil] one of {SEVERITIES}, or nil to warn and never raise
      # @param warn_to [IO, #warn, nil] where the findings below `fail_on` are written (a Logger
      #   gets `#warn`); nil for silence
      # @param options [Hash] passed to {.run} (`root:`, `env:`, `roots:`)
      # @return [Report] when nothing is at or above `fail_on`
      # @raise [HanamiGuard::DoctorError] naming the findings at or above `fail_on`
      # @raise [HanamiGuard::ConfigurationError] for an unknown severity
      def check!(fail_on: :critical, warn_to: $stderr, **options)
        fail_on = severity_name(fail_on) unless fail_on.nil?
        report = run(**options)
        blocking = fail_on.nil? ? [] : report.at_or_above(fail_on)
        (report.findings - blocking).each { |f| warn_finding(warn_to, f) }
        return report if blocking.empty?

        raise DoctorError.new(
          "hanami_guard doctor refuses to start: #{blocking.size} finding(s) at or above #{fail_on}: " \
          "#{blocking.map { |f| "#{f.id} (#{f.severity}: #{f.title}; fix: #{f.fix})" }.join("; ")}. " \
          "Fix them, or raise the bar with check!(fail_on: ...) if the risk is accepted",
          report:
        )
      end

      # @api private
      def severity_name(value)
        _severity(FailOn.severity(value, SEVERITIES)).to_s
      end

      private

      def warn_finding(out, finding)
        return if out.nil?

        line = "hanami_guard doctor: #{finding.severity} #{finding.id}: #{finding.title} (fix: #{finding.fix})"
        out.respond_to?(:puts) ? out.puts(line) : out.warn(line)
      end

      def path_string(value, name)
        value = value.to_path if value.respond_to?(:to_path)
        return value if value.is_a?(String)

        raise ConfigurationError.new("#{name}: wants a path String or Pathname, not #{value.class}",
                                     details: { option: name })
      end

      def env_names(env)
        return env.keys.map(&:to_s) if env.respond_to?(:keys)

        raise ConfigurationError.new("env: wants a Hash of variables or ENV, not #{env.class}",
                                     details: { option: :env })
      end
    end
  end
end
