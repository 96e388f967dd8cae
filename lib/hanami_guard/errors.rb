# frozen_string_literal: true

module HanamiGuard
  # Base class of every error hanami_guard raises. Rescue this to catch them all.
  #
  # Each subclass documents the HTTP status it maps to in {HanamiGuard::Action}.
  #
  # @api public
  # @since 0.1.0
  class Error < StandardError
    # The {Error#kind} of this class.
    KIND = :error

    # What went wrong, as a stable Symbol to match on (the message is for people and may
    # change): the class's `KIND`, one per class (`:certificate`, `:untrusted`, `:path`,
    # `:path_escape`, `:configuration`, ...). {UntrustedCertificate#reason} says more.
    #
    # @return [Symbol]
    # @api public
    # @since 0.2.0
    def kind
      self.class::KIND
    end

    # The refusal's structured fields, set by the core where it refused (never parsed from the
    # message): `:check` (which rule, a Symbol), and per class `:placeholder`, `:path`, ...
    # Empty when the error has none.
    #
    # @return [Hash{Symbol => Symbol, String, Integer}] frozen
    # @api public
    # @since 0.2.0
    attr_reader :details

    # @param message [String, nil]
    # @param details [Hash{Symbol => Symbol, String, Integer}]
    def initialize(message = nil, details: {})
      super(message)
      @details = details.frozen? ? details : details.dup.freeze
    end

    # Which rule refused (`details[:check]`), as a Symbol, or nil.
    #
    # @return [Symbol, nil]
    # @api public
    # @since 0.2.0
    def check
      details[:check]
    end
  end

  # The input is not a certificate: bad PEM or DER, truncated, trailing bytes, too large,
  # a key or a CSR instead of a certificate. HTTP 400.
  #
  # @api public
  # @since 0.1.0
  class CertificateError < Error
    # The {Error#kind} of this class.
    KIND = :certificate

    # Every {Error#check} a CertificateError carries (the core's list): `:empty`, `:too_large`,
    # `:not_certificate` (PEM holding a key or a CSR: `details[:label]` names it),
    # `:no_certificate`, `:pem` (framing), `:base64`, `:malformed` (`details[:part]`: which part
    # of the certificate), `:trailing_data`, `:repeated_extension`, `:malformed_extension`
    # (`details[:extension]`), `:multiple_certificates`, `:spiffe_id`, `:distinguished_name`,
    # `:xfcc`, `:xfcc_hash`. A certificate refused inside a bundle or header has
    # `details[:index]`, its 1-based position.
    CHECKS = %i[empty too_large not_certificate no_certificate pem base64 malformed trailing_data
                repeated_extension malformed_extension multiple_certificates spiffe_id distinguished_name
                xfcc xfcc_hash].freeze
  end

  # Chain verification failed. {#reason} says why, as a Symbol.
  # HTTP 401.
  #
  # @api public
  # @since 0.1.0
  class UntrustedCertificate < Error
    # The {Error#kind} of this class.
    KIND = :untrusted

    # The reasons {TrustStore#verify} can give.
    REASONS = %i[expired not_yet_valid unknown_issuer bad_signature missing_client_auth revoked invalid].freeze

    # @return [Symbol] one of {REASONS}
    attr_reader :reason

    # @param message [String]
    # @param reason [Symbol] one of {REASONS}
    def initialize(message = "the certificate is not trusted", reason: :invalid)
      super(message)
      @reason = REASONS.include?(reason) ? reason : :invalid
    end
  end

  # A request needs a client certificate and has none. HTTP 401.
  #
  # @api public
  # @since 0.1.0
  class MissingIdentity < Error
    # The {Error#kind} of this class.
    KIND = :missing_identity
  end

  # Bad path input: empty, NUL byte, too long, absolute, backslash or drive letter, invalid
  # UTF-8. HTTP 400.
  #
  # @api public
  # @since 0.1.0
  class PathError < Error
    # The {Error#kind} of this class.
    KIND = :path

    # The refused path as given, escaped and cut short (`details[:path]`), or nil.
    #
    # @return [String, nil]
    # @since 0.2.0
    def path
      details[:path]
    end
  end

  # The path would leave its {Root}: a `..` above the base, a symlink pointing outside, a magic
  # link. HTTP 403.
  #
  # @api public
  # @since 0.1.0
  class PathEscapeError < PathError
    # The {Error#kind} of this class.
    KIND = :path_escape
  end

  # Base class of the errors {Command} raises.
  #
  # @api public
  # @since 0.1.0
  class CommandError < Error
    # The {Error#kind} of this class.
    KIND = :command
  end

  # A value is outside its allowlist, would inject an option (starts with `-`), or holds a NUL.
  # HTTP 400.
  #
  # @api public
  # @since 0.1.0
  class CommandNotAllowed < CommandError
    # The {Error#kind} of this class.
    KIND = :command_not_allowed

    # The placeholder whose value was refused, without braces (`details[:placeholder]`), or
    # nil. For `Command.run(exe, *args)` it is `arg1`, `arg2`, ...
    #
    # @return [String, nil]
    # @since 0.2.0
    def placeholder
      details[:placeholder]
    end
  end

  # The command ran past its timeout and its process group was killed. HTTP 504.
  #
  # @api public
  # @since 0.1.0
  class CommandTimeout < CommandError
    # The {Error#kind} of this class.
    KIND = :command_timeout

    # @return [HanamiGuard::Command::Result, nil]
    attr_reader :result

    def initialize(message = "the command timed out", result: nil)
      super(message)
      @result = result
    end
  end

  # `Command#run!` and the command exited non-zero or was killed by a signal. HTTP 500.
  #
  # @api public
  # @since 0.1.0
  class CommandFailed < CommandError
    # The {Error#kind} of this class.
    KIND = :command_failed

    # @return [HanamiGuard::Command::Result, nil]
    attr_reader :result

    def initialize(message = "the command failed", result: nil)
      super(message)
      @result = result
    end
  end

  # `Policy#authorize!` denied. {#decision} explains why. HTTP 403.
  #
  # @api public
  # @since 0.1.0
  class Forbidden < Error
    # The {Error#kind} of this class.
    KIND = :forbidden

    # @return [HanamiGuard::Decision, nil]
    attr_reader :decision

    def initialize(message = "forbidden", decision: nil)
      super(message)
      @decision = decision
    end
  end

  # A policy definition is invalid. The message names the file, the rule id (or index) and the
  # key. Raised at boot.
  #
  # @api public
  # @since 0.1.0
  class PolicyError < Error
    # The {Error#kind} of this class.
    KIND = :policy

    # The policy file (`details[:file]`), or nil when not known.
    # @return [String, nil]
    # @since 0.2.0
    def file
      details[:file]
    end

    # The 1-based line in the policy file (`details[:line]`), or nil when not known.
    # @return [Integer, nil]
    # @since 0.2.0
    def line
      details[:line]
    end

    # The id of the rule at fault (`details[:rule_id]`), or nil when not known.
    # @return [String, nil]
    # @since 0.2.0
    def rule_id
      details[:rule_id]
    end
  end

  # An action that includes {HanamiGuard::Action} finished without calling `authorize!` and
  # without `skip_authorization` (raised in development and test; 403 in production).
  #
  # @api public
  # @since 0.2.0
  class AuthorizationNotPerformed < Error
    # The {Error#kind} of this class.
    KIND = :authorization_not_performed
  end

  # {Doctor.check!} found something at or above its `fail_on` severity. Raised at boot.
  #
  # @api public
  # @since 0.2.0
  class DoctorError < Error
    # The {Error#kind} of this class.
    KIND = :doctor

    # @return [HanamiGuard::Doctor::Report, nil]
    attr_reader :report

    def initialize(message = "the container is not safe to start in", report: nil)
      super(message)
      @report = report
    end
  end

  # A guard is set up wrongly: the base is not a directory, the executable is not found, a
  # shell template without `dangerous_shell: true`. Raised at boot.
  #
  # @api public
  # @since 0.1.0
  class ConfigurationError < Error
    # The {Error#kind} of this class.
    KIND = :configuration

    # The option set wrongly (`details[:option]`), as a Symbol, or nil when not known.
    # @return [Symbol, nil]
    # @since 0.2.0
    def option
      details[:option]
    end
  end

  # The `fail_on:` severity that {Audit} and {Doctor} take: a Symbol or a String, handed to the
  # core by name (the core knows the names).
  #
  # @api private
  module FailOn
    module_function

    # @param severities [Array<String>] the names, for the message
    # @return [String]
    # @raise [ConfigurationError] unless `value` is a Symbol or a String
    def severity(value, severities)
      return value.to_s if value.is_a?(Symbol) || value.is_a?(String)

      raise ConfigurationError.new("fail_on: wants a severity (#{severities.join(", ")}), not #{value.class}",
                                   details: { option: :fail_on })
    end
  end
end
