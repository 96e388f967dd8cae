# frozen_string_literal: true

require_relative "command/result"
require_relative "command/options"

module HanamiGuard
  # Runs a program from an argv template, never through a shell, in a sealed child process.
  #
  #   DEPLOY = HanamiGuard::Command.new("docker run --rm {image}",
  #     allow: { image: { "worker" => "worker:latest" } }, timeout: 30)
  #   DEPLOY.run(image: "worker")  # => HanamiGuard::Command::Result
  #
  # The template is split once, here, with POSIX word rules. Each `{name}` fills exactly one argv
  # slot (or part of one) and is never split or joined; `{{` and `}}` are literal braces. A `#`
  # is literal inside a word or quoted; a word-initial `#` (a shell comment) is refused. The
  # executable is a literal, resolved now from a fixed safe PATH. The child gets only `env:`
  # (plus PATH and LANG=C.UTF-8), stdin from /dev/null, no descriptor above 2, its own process
  # group, no_new_privs, and optionally rlimits and a Landlock ruleset.
  #
  # Instances are frozen and safe to share between threads.
  #
  # @api public
  # @since 0.1.0
  class Command
    # Keys of `rlimits:`: CPU seconds, address space bytes, open files, processes, file size bytes.
    RLIMITS = %i[cpu as nofile nproc fsize].freeze
    # Keys of `fs:`.
    FS_KEYS = %i[read write exec].freeze
    # Keys of `net:`.
    NET_KEYS = %i[connect bind].freeze
    # Keywords of {.run} besides stdin:.
    RUN_OPTIONS = %i[env timeout max_output chdir rlimits fs net dangerous_shell path kill_grace].freeze
    # `run` keyword that is not a placeholder.
    RESERVED = %w[stdin].freeze

    # `fs:` is the documented keyword name, shorter than rubocop likes.
    # rubocop:disable Naming/MethodParameterName
    class << self
      # Defines a command. Raises ConfigurationError at once for a bad template or executable.
      #
      # @param template [String] e.g. "git -C {repo} log --format=%H -- {path}"
      # @param allow [Hash{Symbol => Hash, Array, Regexp, Proc}] per placeholder: a Hash maps the
      #   given value to the real one, an Array lists values, a Regexp must match the whole value,
      #   a Proc must return truthy. A placeholder not named accepts any value.
      # @param options [Array<Symbol>] placeholders whose values may begin a word with "-"
      # @param env [Hash{String => String}] the child's whole environment (plus PATH, LANG)
      # @param timeout [Numeric, nil] seconds before the process group is terminated
      # @param max_output [Integer] bytes kept of each of stdout and stderr
      # @param chdir [HanamiGuard::Root, String, nil] a Root (the child changes into the directory
      #   the Root opened, by its descriptor, even if its path now names something else) or an
      #   absolute directory
      # @param rlimits [Hash{Symbol => Integer}] keys of {RLIMITS}; uses the slower fork path
      # @param fs [Hash{Symbol => Array<String>}, nil] Landlock: { read: [...], write: [...], exec: [...] }
      # @param net [Hash{Symbol => Array<Integer>}, :unrestricted, nil] Landlock TCP rules: nil (the
      #   default) denies every TCP bind and connect; { connect: [443], bind: [] } allows those
      #   ports; :unrestricted leaves TCP alone
      # @param dangerous_shell [Boolean] allow a shell or interpreter given an inline script
      # @param path [Array<String>, String, nil] absolute directories to find the executable in
      # @param kill_grace [Numeric] seconds between SIGTERM and SIGKILL on timeout or interrupt
      # @return [Command]
      # @raise [ConfigurationError, TypeError, ArgumentError]
      # @api public
      # @since 0.1.0
      def new(template, allow: {}, options: [], env: {}, timeout: nil, max_output: 1 << 20, chdir: nil,
              rlimits: {}, fs: nil, net: nil, dangerous_shell: false, path: nil, kill_grace: 2)
        raise TypeError, "template must be a String like \"git log {ref}\", not #{template.class}" unless
          template.is_a?(String)

        specs, checks = Options.normalize_allow(allow)
        config = Options.normalize_config(options:, env:, timeout:, max_output:,
                                          chdir:, rlimits:, fs:, net:, dangerous_shell:,
                                          path:, kill_grace:)
        config[:allow] = specs
        _define(Options.utf8(template, "the template"), config).send(:setup, template, checks, timeout)
      end

      # Runs a plain argv (no template) with the same sealing and the same value checks.
      #
      #   HanamiGuard::Command.run("git", "log", "--", path, timeout: 5)
      #
      # The words before the first "--" (and that "--") are yours: literal subcommands and
      # options. Every word after it, or every word after the executable when there is no "--",
      # is a value and is checked as a placeholder value is: no NUL, and no leading "-" or "@"
      # (option and response-file injection). So `Command.run("git", "ls-remote", url)` refuses
      # url = "--upload-pack=...", and a literal option goes before a "--":
      # `Command.run("ls", "-l", "--", dir)`. Braces are literal.
      #
      # @param exe [String] a name looked up in the safe PATH, or an absolute path
      # @param args [Array<String, Symbol, Integer>]
      # @param stdin [String, nil] bytes for the child's stdin (default /dev/null)
      # @return [Result]
      # @raise [CommandNotAllowed] a value with a NUL, a leading "-" or "@", or an inline script
      # @api public
      # @since 0.1.0
      def run(exe, *args, stdin: nil, **opts)
        unknown = opts.keys - RUN_OPTIONS
        raise ArgumentError, "unknown keyword(s) for Command.run: #{unknown.join(", ")}" unless unknown.empty?

        raise TypeError, "the executable must be a String, not #{exe.class}" unless exe.is_a?(String)

        words = [exe, *args].each_with_index.map { |a, i| Options.value_string(a, "argument #{i}") }
        config = Options.normalize_config(**{ options: [], env: {}, timeout: nil, max_output: 1 << 20, chdir: nil,
                                              rlimits: {}, fs: nil, net: nil, dangerous_shell: false, path: nil,
                                              kill_grace: 2 }.merge(opts))
        cmd, values = _define_argv(words, config)
        cmd.send(:setup, words.join(" "), {}, opts[:timeout])
        cmd.run(stdin:, **cmd.placeholders.zip(values).to_h)
      end
    end
    # rubocop:enable Naming/MethodParameterName

    # @return [Array<Symbol>] the placeholder names, in template order
    # @api public
    # @since 0.1.0
    attr_reader :placeholders

    # @return [Numeric, nil] the timeout in seconds
    # @api public
    # @since 0.1.0
    attr_reader :timeout

    # Fills the template and runs it without the GVL. A Thread#raise, Thread#kill or
    # Timeout.timeout on this thread kills and reaps the process group before the exception
    # propagates.
    #
    # @param stdin [String, nil] bytes for the child's stdin (default /dev/null)
    # @param values [Hash{Symbol => String, Symbol, Integer}] one per placeholder
    # @return [Result]
    # @raise [ArgumentError] a missing or unknown placeholder
    # @raise [CommandNotAllowed] a value outside its allowlist, with a NUL, or a leading "-"
    # @api public
    # @since 0.1.0
    def run(stdin: nil, **values)
      raise TypeError, "stdin: must be a String, not #{stdin.class}" unless stdin.nil? || stdin.is_a?(String)

      raw = _run(refusing { ordered_values(values) }, stdin)
      result = Result.new(argv: raw[0], exit_status: raw[1], signal: raw[2], stdout: raw[3], stderr: raw[4],
                          timed_out: raw[5], truncated: raw[6], duration: raw[7], pid: raw[8], sandbox: raw[9])
      if Events.listening?("command.finished")
        Events.emit("command.finished", { command: @source, argv: result.argv, exit_status: result.exit_status,
                                          signal: result.signal, timed_out: result.timed_out?,
                                          duration: result.duration, pid: result.pid })
      end
      result
    end

    # Like {#run}, but raises unless the command succeeded.
    #
    # @return [Result]
    # @raise [CommandTimeout] the timeout expired (#result holds the Result)
    # @raise [CommandFailed] non-zero exit or killed by a signal (#result holds the Result)
    # @api public
    # @since 0.1.0
    def run!(stdin: nil, **values)
      result = run(stdin:, **values)
      if result.timed_out?
        raise CommandTimeout.new("#{executable} timed out after #{@timeout}s; its process group was killed",
                                 result:)
      end
      raise CommandFailed.new(failure_message(result), result:) unless result.success?

      result
    end

    # The argv a run with these values would execute, after every check. For dry runs and logs.
    #
    # @return [Array<String>]
    # @api public
    # @since 0.1.0
    def argv(**values)
      _argv(refusing { ordered_values(values) }).each(&:freeze).freeze
    end

    # @return [String] the command's template, for logs and consoles
    def inspect
      "#<#{self.class} #{@source}>"
    end

    private

    # Reports a refused value (`command.refused`: the command's template and the reason, never
    # the value, which may be a secret) and raises it on.
    def refusing
      yield
    rescue CommandNotAllowed => e
      Events.emit("command.refused", { command: @source, message: e.message }) if Events.listening?("command.refused")
      raise
    end

    def setup(template, checks, timeout)
      names = _placeholders
      reserved = names & RESERVED
      unless reserved.empty?
        raise ConfigurationError.new("{#{reserved.first}} is reserved (run takes stdin: for the child's input): " \
                                     "rename the placeholder", details: { option: :template })
      end
      @names = names.freeze
      @placeholders = names.map(&:to_sym).freeze
      @keys = (@names + @placeholders).to_h { |key| [key, true] }.freeze
      @checks = checks
      @timeout = timeout
      @source = template.dup.freeze
      freeze
    end

    def ordered_values(values)
      check_keys(values) unless values.size == @names.size && values.all? { |key, _| @keys.key?(key) }
      @placeholders.map do |sym|
        value = values.fetch(sym) { values.fetch(sym.name) { raise ArgumentError, "missing value for {#{sym}}" } }
        value = Options.value_string(value, "the value for {#{sym}}") unless value.is_a?(String)
        @checks.empty? ? value : check(sym.name, value)
      end
    end

    def check_keys(values)
      unknown = values.keys.map(&:to_s) - @names
      return if unknown.empty?

      raise ArgumentError, "unknown placeholder(s) #{unknown.join(", ")}; this command takes " \
                           "#{@names.empty? ? "no values" : @names.join(", ")}"
    end

    def check(name, value)
      rule = @checks[name]
      return value if rule.nil?

      allowed =
        begin
          rule.is_a?(Regexp) ? rule.match?(value) : rule.call(value)
        rescue ArgumentError, EncodingError
          false # a value not valid in its encoding matches nothing
        end
      unless allowed
        raise CommandNotAllowed.new("the value for {#{name}} is not allowed by its allow: rule",
                                    details: { check: :not_in_allowlist, placeholder: name.to_s })
      end

      value
    end

    def failure_message(result)
      how = result.signal ? "was killed by signal #{result.signal}" : "exited with status #{result.exit_status}"
      lines = result.stderr.b.lines.first(3).map { |l| l.chomp.inspect[1...-1][0, 200] }
      message = "#{executable} #{how}"
      lines.empty? ? message : "#{message}; stderr: #{lines.join(" | ")}"
    end
  end
end
