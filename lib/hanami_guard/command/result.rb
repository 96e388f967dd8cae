# frozen_string_literal: true

module HanamiGuard
  class Command
    # The outcome of one run. Frozen.
    #
    # @api public
    # @since 0.1.0
    class Result
      # @return [Array<String>] the argv that ran, executable first
      attr_reader :argv
      # @return [Integer, nil] the exit code, nil when killed by a signal
      attr_reader :exit_status
      # @return [Integer, nil] the signal number that killed the process
      attr_reader :signal
      # @return [String] stdout (binary), at most max_output bytes
      attr_reader :stdout
      # @return [String] stderr (binary), at most max_output bytes
      attr_reader :stderr
      # @return [Float] seconds from spawn to reap
      attr_reader :duration
      # @return [Integer] the child's pid (and process group id)
      attr_reader :pid
      # @return [Hash{Symbol => Object}] what sealing was applied: :no_new_privs; :landlock
      #   (:fully_enforced, :partially_enforced, :not_enforced on a kernel without Landlock,
      #   :disabled by HANAMI_GUARD_LANDLOCK=off) and :landlock_abi (the kernel's, 0 for none);
      #   what the domain denies: :ptrace_scoped (ptrace, and the app's /proc/$PPID/mem and fd/N),
      #   :proc_scoped (every file under /proc/PID/, the app's environ included: no fs: rules,
      #   or fs: rules that grant nothing in /proc),
      #   :signals_scoped and :abstract_unix_sockets_scoped (ABI 6), :tcp (:denied, :ports as
      #   net: allows, or :unrestricted), :filesystem_restricted (fs: rules); :spawn (:posix_spawn
      #   or :fork), :new_session, :process_group, :fds_closed, :rlimits
      attr_reader :sandbox

      # @api private
      def initialize(argv:, exit_status:, signal:, stdout:, stderr:, timed_out:, truncated:, duration:, pid:,
                     sandbox:)
        @argv = argv.map(&:freeze).freeze
        @exit_status = exit_status
        @signal = signal
        @stdout = stdout.freeze
        @stderr = stderr.freeze
        @timed_out = timed_out
        @truncated = truncated
        @duration = duration
        @pid = pid
        @sandbox = sandbox.freeze
        freeze
      end

      # @return [Boolean] exited 0 within the timeout
      def success?
        @exit_status.is_a?(Integer) && @exit_status.zero? && !@timed_out
      end

      # @return [Boolean] the timeout expired and the process group was killed
      def timed_out?
        @timed_out
      end

      # @return [Boolean] stdout or stderr went past max_output (the rest was discarded)
      def truncated?
        @truncated
      end

      # @return [Hash] plain data for logs
      def to_h
        { argv:, exit_status:, signal:, stdout:, stderr:,
          timed_out: timed_out?, truncated: truncated?, duration:, pid:, sandbox: }
      end

      # @return [String] the program, exit status and signal, for logs and consoles
      def inspect
        "#<#{self.class} #{argv.first} exit_status=#{exit_status.inspect} signal=#{signal.inspect} " \
          "timed_out=#{timed_out?} stdout=#{stdout.bytesize}B stderr=#{stderr.bytesize}B>"
      end
    end
  end
end
