# frozen_string_literal: true

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
        @report = raw.fetch("report")
        @findings = raw.fetch("findings").map { |row| Finding.new(**Finding.members.zip(row).to_h) }.freeze
        @skipped = raw.fetch("skipped").map { |path, reason| Skipped.new(path:, reason:) }.freeze
        @files, @lines, @ignored, @baselined, @seconds = raw.values_at("files", "lines", "ignored", "baselined",
                                                                       "seconds")
        freeze
      end

      # Whether any finding is at least as severe as `severity`.
      #
      # @param severity [String, Symbol] low, medium, high or critical
      # @raise [HanamiGuard::ConfigurationError] for another name (`details[:option]` is
      #   `:fail_on`, the CLI's `--fail-on`)
      def fails?(severity = "low")
        @report.__send__(:_fails, Audit.severity_name(severity))
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

      # @return [String] the JSON report, {#to_h} as JSON (written by the core, which also reads
      #   it back as a baseline)
      def to_json(*)
        @report.__send__(:_json)
      end

      # @return [String] SARIF 2.1.0, one run, every rule in the driver, fingerprints in
      #   `partialFingerprints`
      def to_sarif
        @report.__send__(:_sarif, HanamiGuard::VERSION)
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
      # @raise [HanamiGuard::ConfigurationError] if the baseline is not a report, for a negative
      #   thread count or a limit that is not positive (`details[:option]` names which)
      # @raise [TypeError, ArgumentError] for a count that is not a number (as `Integer()` raises)
      # @api public
      # @since 0.1.0
      def scan(*paths, baseline: nil, max_file_bytes: DEFAULT_MAX_FILE_BYTES, threads: 0)
        paths = DEFAULT_PATHS.select { |p| File.directory?(p) } if paths.empty?
        paths = paths.map { |p| File.path(p) }
        Result.new(_scan(paths, baseline_fingerprints(baseline), Integer(max_file_bytes), Integer(threads)))
      end

      # @return [Array<Hash>] every rule: id, severity, summary, fix
      # @api public
      # @since 0.1.0
      def rules
        RULES
      end

      # The severity a scan fails at, checked by the core.
      #
      # @return [String]
      # @raise [HanamiGuard::ConfigurationError] unless it names one of {SEVERITIES}
      # @api private
      def severity_name(value)
        _severity(FailOn.severity(value, SEVERITIES)).to_s
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
        _baseline(file, File.binread(file))
      end
    end
  end
end
