# frozen_string_literal: true

# The caller loads the gem (exe/hanami_guard loads all of it, or only the audit's part for
# `audit`, whose scans of small apps would otherwise be mostly boot time).

module HanamiGuard
  # The command-line tool behind `exe/hanami_guard`: one method per command, for people and for
  # scripts. Every command takes `--json`. Exit status: 0 allowed, trusted or clean; 1 denied,
  # untrusted or findings; 2 bad usage; 3 an input that cannot be read or is invalid.
  #
  # @api private
  # @since 0.2.0
  class CLI
    OK = 0
    NO = 1
    USAGE_ERROR = 2
    BAD_INPUT = 3

    USAGE = <<~TEXT
      usage: hanami_guard COMMAND [--json] [options]

        inspect [CERT|-]                                        a certificate's identity (every certificate of a bundle)
        verify --ca CA.pem [--intermediate F] [--crl F] [--at T] [--client-auth MODE] [CERT|-]
                                                                verify against pinned CAs: 0 trusted, 1 not (with the reason)
        check --policy FILE --cert CERT [--explain] ACTION RESOURCE
                                                                ask a policy: 0 allow, 1 deny, with the rule id (and, with
                                                                --explain, the closest rule and the condition that failed)
        replay --policy NEW DECISIONS.jsonl                     replay a decision log against a new policy: 0 nothing
                                                                changes, 1 some decisions change (listed)
        lint FILE                                               a policy's warnings: 0 none, 1 some
        test POLICY CASES.yml                                   policy test cases: 0 all hold, 1 one fails; lists rules no case reaches
        resolve BASE PATH                                       where PATH lands under BASE: 0, or why it is refused: 1
        install [--force] [DIR]                                 in a Hanami app: a starting policy and a provider; never overwrites without --force
        audit [PATH ...] [--format text|json|sarif] [--baseline FILE] [--write-baseline FILE] [--fail-on SEVERITY]
                                                                the app's code (default app/ slices/ lib/ config/): input reaching
                                                                shells, files or code; 0 clean, 1 findings
        doctor [--sarif] [--fail-on SEVERITY] [--root DIR]      the container this runs in: 0 nothing at or above SEVERITY
                                                                (critical, high, medium, low, info; default high), 1 some
        version                                                 the version

      Exit status: 0 yes, 1 no, 2 bad usage, 3 an input that cannot be read or is invalid.
    TEXT

    COMMANDS = %w[inspect verify check lint test replay resolve install audit doctor version].freeze

    # Bad usage: the message and the usage, exit 2.
    class UsageError < StandardError; end

    # An input that cannot be read or is invalid: one line, exit 3.
    class InputError < StandardError; end

    # -h or --help after a command: the usage, exit 0.
    class Help < StandardError; end

    # Writes beside the target, then renames over it: a reader never sees a half-written file.
    def self.write_atomically(path, content)
      require "fileutils"
      FileUtils.mkdir_p(File.dirname(path))
      tmp = "#{path}.hanami_guard-#{Process.pid}.tmp"
      File.write(tmp, content)
      File.rename(tmp, path)
    ensure
      FileUtils.rm_f(tmp) if tmp && File.exist?(tmp)
    end

    # @param argv [Array<String>]
    def initialize(argv, stdin: $stdin, stdout: $stdout, stderr: $stderr)
      @argv = argv.dup
      @stdin = stdin
      @stdout = stdout
      @stderr = stderr
      @json = false
    end

    # @return [Integer] the exit status
    def run
      command = @argv.shift
      case command
      when *COMMANDS then send(:"run_#{command}")
      when "--version" then run_version
      when "help", "-h", "--help" then say(USAGE)
      when nil then raise UsageError, "no command given"
      else raise UsageError, "unknown command #{command[0, 40].inspect}"
      end
    rescue Help
      say(USAGE)
    rescue UsageError => e
      @stderr.puts("hanami_guard: #{e.message}", "", USAGE)
      USAGE_ERROR
    rescue InputError, HanamiGuard::Error, SystemCallError => e
      @stderr.puts("hanami_guard: #{located(e)}")
      BAD_INPUT
    end

    private

    def say(text)
      @stdout.puts(text)
      OK
    end

    def emit(data, text, status)
      require "json" if @json # here, not at the top: `audit` prints JSON from the core without it
      @stdout.puts(@json ? JSON.pretty_generate(data) : text)
      status
    end

    def one_line(message)
      message.to_s.gsub(/[\r\n]+/, " ")
    end

    # A policy refusal with a line reads `FILE:LINE: what`, the form editors and CI annotations
    # jump to; the place is taken from the error's fields, and the message's own
    # "FILE: line N, " is dropped so it is not said twice.
    def located(error)
      message = one_line(error.message)
      return message unless error.is_a?(HanamiGuard::PolicyError) && error.file && error.line

      "#{error.file}:#{error.line}: #{message.delete_prefix("#{error.file}: line #{error.line}, ")}"
    end

    # -- commands ---------------------------------------------------------------------------

    def run_version
      parse_options
      emit({ version: HanamiGuard::VERSION }, HanamiGuard::VERSION, OK)
    end

    def run_inspect
      parse_options
      certs = read_certificates(at_most_one_operand("CERT"))
      data = certs.map(&:to_h)
      text = data.map { |cert| format_certificate(cert) }.join("\n")
      emit(data.size == 1 ? data.first : data, text, OK)
    end

    # SAN values are the certificate holder's text: control, zero-width and bidi characters are
    # escaped so a value cannot rewrite the terminal or forge a line.
    def format_certificate(data)
      data.map do |key, value|
        value = value.map { |v| Policy::Audit.text(v) }.join(", ") if value.is_a?(Array)
        value = Policy::Audit.text(value) if value.is_a?(String)
        value = "-" if value.nil? || value == ""
        format("%-14<key>s %<value>s", key: "#{key}:", value:)
      end.join("\n")
    end

    def run_verify
      ca = nil
      intermediates = []
      crls = []
      at = Time.now
      client_auth = :required
      parse_options do |o|
        o.on("--ca FILE", "PEM file of the CA(s) to pin") { |v| ca = v }
        o.on("--intermediate FILE", "PEM file of intermediates (repeatable)") { |v| intermediates << v }
        o.on("--crl FILE", "CRL, PEM or DER (repeatable)") { |v| crls << v }
        o.on("--at TIME", "verify at this time or date (ISO 8601) instead of now") { |v| at = parse_time(v) }
        o.on("--client-auth MODE", "required (default) or when_present (OpenSSL's rule: a leaf without " \
                                   "extendedKeyUsage passes)") { |v| client_auth = v.tr("-", "_").to_sym }
      end
      raise UsageError, "verify needs --ca CA.pem" unless ca

      verify_one(read_certificate(at_most_one_operand("CERT")),
                 trust_store(read_file(ca), crls.map { |f| read_file(f, binary: true) }, client_auth),
                 intermediates.flat_map { |file| HanamiGuard::Certificate.parse_chain(read_file(file)) }, at)
    end

    # The TrustStore refuses an unknown --client-auth itself (ArgumentError, naming the modes).
    def trust_store(ca_pem, crls, client_auth)
      HanamiGuard::TrustStore.new(ca_pem, crls:, client_auth:)
    rescue ArgumentError => e
      raise UsageError, "--client-auth: #{e.message}"
    end

    def verify_one(cert, trust, chain, at)
      begin
        trust.verify(cert, intermediates: chain, at:)
      rescue HanamiGuard::UntrustedCertificate => e
        return emit({ trusted: false, reason: e.reason, message: e.message, subject: cert.subject.to_s },
                    "untrusted: #{e.reason} (#{one_line(e.message)})", NO)
      end
      emit({ trusted: true, subject: cert.subject.to_s, fingerprint: cert.fingerprint },
           "trusted: #{cert.subject}", OK)
    end

    def run_check
      policy_file = cert_file = nil
      explain = false
      parse_options do |o|
        o.on("--policy FILE", "policy YAML") { |v| policy_file = v }
        o.on("--cert FILE", "the client's certificate") { |v| cert_file = v }
        o.on("--explain", "the closest rule of a denial and the condition that failed") { explain = true }
      end
      raise UsageError, "check needs --policy FILE and --cert CERT" unless policy_file && cert_file
      raise UsageError, "check needs ACTION and RESOURCE" unless @argv.size == 2

      action, resource = @argv
      policy = load_policy(policy_file)
      decision = policy.decide(read_certificate(cert_file), action, resource)
      rule = decision.rule_id ? "rule #{decision.rule_id}" : "default deny"
      text = "#{decision.allowed? ? "allow" : "deny"} (#{rule})#{reason_suffix(decision)}"
      data = { decision: decision.allowed? ? "allow" : "deny", **decision.to_h }
      if explain
        data[:explanation] = decision.explain
        text += "\nexplanation: #{decision.explain}"
      end
      emit(data, text, decision.allowed? ? OK : NO)
    end

    def run_replay
      policy_file = nil
      parse_options { |o| o.on("--policy FILE", "the new policy YAML") { |v| policy_file = v } }
      raise UsageError, "replay needs --policy NEW" unless policy_file

      log = exactly_one_operand("DECISIONS.jsonl")
      report = Replay.new(load_policy(policy_file), read_file(log), log).run
      emit(report, Replay.text(report), report[:changed].zero? ? OK : NO)
    end

    # A warning about one rule reads `FILE:LINE: warning: ...`, LINE being where the rule starts.
    def run_lint
      parse_options
      file = exactly_one_operand("FILE")
      yaml = read_file(file)
      located = HanamiGuard::Policy.parse(yaml, file).send(:_lint_lines, yaml)
      warnings = located.map(&:first)
      text = located.map { |message, line| "#{file}#{":#{line}" if line}: warning: #{message}" }.join("\n")
      emit({ file:, warnings: }, warnings.empty? ? "#{file}: no warnings" : text, warnings.empty? ? OK : NO)
    end

    def run_resolve
      parse_options
      raise UsageError, "resolve needs BASE and PATH" unless @argv.size == 2

      base, path = @argv
      root = begin
        HanamiGuard::Root.new(base)
      rescue HanamiGuard::ConfigurationError, SystemCallError => e
        raise InputError, "BASE: #{one_line(e.message)}"
      end
      begin
        resolved = root.resolve(path)
      rescue HanamiGuard::PathError, SystemCallError => e
        return emit({ path:, refused: one_line(e.message) }, "refused: #{one_line(e.message)}", NO)
      end
      emit({ path:, resolved: }, resolved, OK)
    end

    def run_test
      parse_options
      raise UsageError, "test needs POLICY and CASES.yml" unless @argv.size == 2

      policy_file, cases_file = @argv
      report = PolicyCases.new(load_policy(policy_file), read_file(cases_file), cases_file).run
      emit(report, PolicyCases.text(report), report[:failed].zero? ? OK : NO)
    end

    def run_install
      force = false
      parse_options { |o| o.on("--force", "overwrite files that differ") { force = true } }
      dir = at_most_one_operand("DIR") || "."
      raise InputError, "#{dir}: not a directory" unless File.directory?(dir)

      report = Install.new(dir, force:).run
      emit(report, Install.text(report), report[:conflicts].empty? ? OK : NO)
    end

    # -- helpers ------------------------------------------------------------------------------

    def reason_suffix(decision)
      reason = decision.reason
      reason.nil? || reason.to_s.empty? ? "" : ": #{reason}"
    end

    def parse_options(&block)
      parser = Options.new
      parser.on("--json", "print JSON") { @json = true }
      block&.call(parser)
      parser.parse!(@argv)
    end

    def at_most_one_operand(name)
      raise UsageError, "give one #{name} (or - for stdin)" if @argv.size > 1

      @argv.first
    end

    def exactly_one_operand(name)
      raise UsageError, "give exactly one #{name}" unless @argv.size == 1

      @argv.first
    end

    def load_policy(file)
      HanamiGuard::Policy.parse(read_file(file), file)
    end

    def read_input(file)
      file.nil? || file == "-" ? @stdin.binmode.read : read_file(file, binary: true)
    end

    def read_certificate(file)
      HanamiGuard::Certificate.parse(read_input(file))
    end

    # Every certificate of a PEM bundle, or the one certificate of a DER file.
    def read_certificates(file)
      data = read_input(file)
      return [HanamiGuard::Certificate.parse(data)] unless data.b.include?("-----BEGIN")

      HanamiGuard::Certificate.parse_chain(data.b.force_encoding(Encoding::UTF_8).scrub)
    end

    def read_file(file, binary: false)
      binary ? File.binread(file) : File.read(file, encoding: "UTF-8")
    rescue SystemCallError, IOError => e
      raise InputError, "cannot read #{file}: #{e.message.sub(/ @ .*/, "")}"
    end

    def parse_time(text)
      require "time"
      return Time.iso8601(text) if text.include?("T")
      return Time.utc(*text.split("-").map { |part| Integer(part, 10) }) if text.match?(/\A\d{4}-\d{2}-\d{2}\z/)

      raise ArgumentError
    rescue ArgumentError
      raise UsageError, "--at wants an ISO 8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z"
    end
  end
end

# Each command's helper class loads when its command runs: `audit` of a small app is mostly
# start-up time.
HanamiGuard::CLI.autoload(:PolicyCases, File.expand_path("cli/policy_cases", __dir__))
HanamiGuard::CLI.autoload(:Replay, File.expand_path("cli/replay", __dir__))
HanamiGuard::CLI.autoload(:Install, File.expand_path("cli/install", __dir__))
require_relative "cli/options"
require_relative "cli/scans"
