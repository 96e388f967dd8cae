# frozen_string_literal: true

require "json"

module HanamiGuard
  # A static scan of an app's own Ruby code for the places where request or certificate data
  # still reaches a shell, a file, dynamic code or a string comparison of identities: the
  # escapes that do not go through hanami_guard. Parsing is Prism's (Ruby's own parser), in
  # Rust; nothing is evaluated, and files are spread over threads.
  #
  # @example
  #   Dir.mkdir("app")   # given: the app's code
  #   File.write("app/show.rb", "def handle(request, response) = system(\"cat \#{request.params[:file]}\")\n")
  #
  #   result = HanamiGuard::Audit.scan("app")   # no argument: those of app/ slices/ lib/ config/ that exist
  #   result.findings.each { |f| puts "#{f.path}:#{f.line} #{f.rule}: #{f.fix}" }
  #
  # @api public
  # @since 0.1.0
  module Audit
    # The directories a Hanami app keeps its code in, scanned when no path is given.
    DEFAULT_PATHS = %w[app slices lib config].freeze

    # Severity names, least severe first (from the core).
    SEVERITIES = _severities

    # Every rule: id, severity, summary, fix (from the core).
    RULES = _rules.map { |id, severity, summary, fix| { id:, severity:, summary:, fix: }.freeze }.freeze

    # One place in the code. `fingerprint` is stable when the line moves; baselines and SARIF
    # use it.
    #
    # @api public
    # @since 0.1.0
    Finding = Struct.new(:rule, :severity, :path, :line, :column, :message, :fix, :snippet, :fingerprint,
                         keyword_init: true) do
      def initialize(**)
        super
        freeze
      end

      # @return [Hash{String => Object}] the JSON shape
      def to_h
        super.transform_keys(&:to_s)
      end
    end

    # A file that was not analysed (or only in part), and why.
    #
    # @api public
    # @since 0.1.0
    Skipped = Struct.new(:path, :reason, keyword_init: true) do
      def initialize(**)
        super
        freeze
      end
    end

    # What a scan found.
    #
    # @api public
    # @since 0.1.0
    class Result
      # @return [Array<Finding>] findings not silenced, by path and line
      attr_reader :findings
      # @return [Array<Skipped>] files not analysed or with syntax errors
      attr_reader :skipped
      # @return [Integer] files and lines analysed, findings silenced inline and by the baseline
      attr_reader :files, :lines, :ignored, :baselined
      # @return [Float] wall time of the scan
      attr_reader :seconds

      # @api private
      def initialize(raw)
        @findings = raw.fetch("findings").map { |row| Finding.new(**Finding.members.zip(row).to_h) }.freeze
        @skipped = raw.fetch("skipped").map { |path, reason| Skipped.new(path:, reason:) }.freeze
        @files, @lines, @ignored, @baselined, @seconds = raw.values_at("files", "lines", "ignored", "baselined",
                                                                       "seconds")
        freeze
      end

      # Whether any finding is at least as severe as `severity`.
      #
      # @param severity [String, Symbol] low, medium, high or critical
      # @raise [ArgumentError] for another name
      def fails?(severity = "low")
        floor = Audit.severity_rank(severity)
        findings.any? { |f| Audit.severity_rank(f.severity) >= floor }
      end

      # @return [Hash] the JSON report (also a baseline file)
      def to_h
        {
          "findings" => findings.map(&:to_h),
          "files" => files, "lines" => lines, "seconds" => seconds.round(4),
          "skipped" => skipped.map { |s| { "path" => s.path, "reason" => s.reason } },
          "ignored" => ignored, "baselined" => baselined
        }
      end

      # @return [String]
      def to_json(*)
        JSON.pretty_generate(to_h)
      end

      # @return [String] SARIF 2.1.0, one run, fingerprints in `partialFingerprints`
      def to_sarif
        JSON.pretty_generate(Sarif.document(self))
      end

      # @return [String] for people: file:line:column, rule and severity, the line, what is
      #   wrong and the hanami_guard call that fixes it
      def to_text
        out = findings.map do |f|
          "#{f.path}:#{f.line}:#{f.column} #{f.rule} (#{f.severity})\n    #{f.snippet}\n    #{f.message}\n    " \
            "fix: #{f.fix}\n"
        end
        skipped.each { |s| out << "skipped #{s.path}: #{s.reason}\n" }
        out << summary
        out.join("\n")
      end

      private

      def summary
        extra = []
        extra << "#{ignored} ignored inline" if ignored.positive?
        extra << "#{baselined} in the baseline" if baselined.positive?
        extra << "#{skipped.size} skipped" unless skipped.empty?
        line = "#{findings.size} finding#{"s" unless findings.size == 1} in #{files} files " \
               "(#{lines} lines, #{format("%.3f", seconds)} s)"
        extra.empty? ? "#{line}\n" : "#{line}; #{extra.join(", ")}\n"
      end
    end

    # SARIF 2.1.0 for code-scanning tools.
    #
    # @api private
    module Sarif
      LEVELS = { "critical" => "error", "high" => "error", "medium" => "warning", "low" => "note" }.freeze
      SECURITY_SEVERITY = { "critical" => "9.5", "high" => "8.0", "medium" => "5.5", "low" => "3.0" }.freeze
      SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"

      module_function

      def document(result)
        rules = Audit.rules
        index = rules.each_with_index.to_h { |rule, i| [rule[:id], i] }
        {
          "$schema" => SCHEMA, "version" => "2.1.0",
          "runs" => [{
            "tool" => { "driver" => driver(rules) },
            "results" => result.findings.map { |f| finding(f, index.fetch(f.rule)) }
          }]
        }
      end

      def driver(rules)
        {
          "name" => "hanami_guard", "version" => HanamiGuard::VERSION,
          "rules" => rules.map do |r|
            {
              "id" => r[:id], "name" => r[:id], "shortDescription" => { "text" => r[:summary] },
              "help" => { "text" => r[:fix] }, "defaultConfiguration" => { "level" => LEVELS.fetch(r[:severity]) },
              "properties" => { "security-severity" => SECURITY_SEVERITY.fetch(r[:severity]), "tags" => ["security"] }
            }
          end
        }
      end

      def finding(finding, rule_index)
        {
          "ruleId" => finding.rule, "ruleIndex" => rule_index, "level" => LEVELS.fetch(finding.severity),
          "message" => { "text" => "#{finding.message}. Fix: #{finding.fix}" },
          "locations" => [{ "physicalLocation" => {
            "artifactLocation" => { "uri" => finding.path.delete_prefix("./") },
            "region" => { "startLine" => finding.line, "startColumn" => finding.column,
                          "snippet" => { "text" => finding.snippet } }
          } }],
          "partialFingerprints" => { "hanamiGuard/v1" => finding.fingerprint }
        }
      end
    end

    class << self
      # Scans files and directories (Ruby files below them; no symlink out of the tree is
      # followed).
      #
      # @param paths [Array<String, Pathname>] default: those of {DEFAULT_PATHS} that exist
      # @param baseline [String, Array<String>, nil] a saved JSON report (path), or fingerprints:
      #   findings listed there are not reported
      # @param max_file_bytes [Integer] larger files are skipped and listed in {Result#skipped}
      # @param threads [Integer] 0: one per CPU
      # @return [Result]
      # @raise [Errno::ENOENT] if a path does not exist
      # @raise [HanamiGuard::ConfigurationError] if the baseline is not a report
      # @raise [ArgumentError] for a negative thread count or a limit that is not positive
      # @api public
      # @since 0.1.0
      def scan(*paths, baseline: nil, max_file_bytes: DEFAULT_MAX_FILE_BYTES, threads: 0)
        paths = DEFAULT_PATHS.select { |p| File.directory?(p) } if paths.empty?
        paths = paths.map { |p| File.path(p) }
        max_file_bytes = Integer(max_file_bytes)
        threads = Integer(threads)
        raise ArgumentError, "max_file_bytes: must be positive" unless max_file_bytes.positive?
        raise ArgumentError, "threads: must be 0 (one per CPU) or more" if threads.negative?

        Result.new(_scan(paths, baseline_fingerprints(baseline), max_file_bytes, threads))
      end

      # @return [Array<Hash>] every rule: id, severity, summary, fix
      # @api public
      # @since 0.1.0
      def rules
        RULES
      end

      # @api private
      def severity_rank(name)
        SEVERITIES.index(name.to_s) or
          raise ArgumentError, "unknown severity #{name.to_s[0, 20].inspect}: use one of #{SEVERITIES.join(", ")}"
      end

      private

      def baseline_fingerprints(baseline)
        case baseline
        when nil then []
        when Array then baseline.map { |f| String(f) }
        else fingerprints_from_report(File.path(baseline))
        end
      end

      def fingerprints_from_report(file)
        report = JSON.parse(File.read(file, encoding: "UTF-8"))
        findings = report.is_a?(Hash) && report["findings"]
        raise JSON::ParserError, "no findings list" unless findings.is_a?(Array)

        findings.map { |f| f.is_a?(Hash) ? String(f.fetch("fingerprint")) : raise(JSON::ParserError, "bad finding") }
      rescue JSON::ParserError, KeyError, TypeError
        raise ConfigurationError.new("baseline #{file} is not a hanami_guard audit JSON report: write one with " \
                                     "`hanami_guard audit --write-baseline #{file}`", details: { option: :baseline })
      end
    end
  end
end
