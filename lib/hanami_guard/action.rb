# frozen_string_literal: true

require_relative "middleware/client_identity"

module HanamiGuard
  # A module to include in a Hanami 2 action class (hanami-controller 2.1, 2.2 and 2.3; the hooks it
  # uses have not changed since 2.0). It maps hanami_guard's errors to HTTP statuses, gives actions
  # the client identity set by {Middleware::ClientIdentity}, and authorizes against a {Policy}.
  #
  # It uses only Hanami's public action API: `self.included(base)`, `base.before`,
  # `base.config.handle_exception` and `request.env`. Include it in the app's base action so that
  # every action inherits the mappings (Hanami copies a class' config into each subclass when the
  # subclass is defined, so include it before defining subclasses).
  #
  # Actions are frozen after `initialize` in Hanami 2, so nothing here keeps per-request state on
  # the action.
  #
  # @example app/action.rb [parse-only: a Hanami app file]
  #   class Action < Hanami::Action
  #     include HanamiGuard::Action
  #     guard_policy POLICY
  #   end
  #
  # @example app/actions/containers/deploy.rb [parse-only: a Hanami app file]
  #   class Deploy < MyApp::Action
  #     require_identity
  #
  #     def handle(request, response)
  #       authorize! request, :deploy, request.params[:container]
  #       response.body = DEPLOY.run!(image: request.params[:container]).stdout
  #     end
  #   end
  #
  # @api public
  # @since 0.1.0
  module Action
    # The statuses `include HanamiGuard::Action` registers with `config.handle_exception`. Hanami
    # sorts the mappings so that a subclass (PathEscapeError) is matched before its ancestor
    # (PathError). CommandFailed is left to Hanami's own 500.
    #
    # @api public
    # @since 0.1.0
    #
    # It is a plain Hash, so it also works app-wide: `config.actions.handle_exception(
    # HanamiGuard::Action::STATUSES)` in config/app.rb. The Errno entries are what {Root} raises,
    # as Ruby's File does, for a path from the request that names nothing, or a directory, or
    # goes through a file: the client asked for something that is not there (404), never a 500.
    STATUSES = {
      HanamiGuard::MissingIdentity => 401,
      HanamiGuard::UntrustedCertificate => 401,
      HanamiGuard::Forbidden => 403,
      HanamiGuard::PathEscapeError => 403,
      HanamiGuard::PathError => 400,
      HanamiGuard::CertificateError => 400,
      HanamiGuard::CommandNotAllowed => 400,
      HanamiGuard::CommandTimeout => 504,
      Errno::ENOENT => 404,
      Errno::ENOTDIR => 404,
      Errno::EISDIR => 404,
      Errno::ELOOP => 404,
      Errno::ENAMETOOLONG => 400
    }.freeze

    # The Rack env key that records, for one request, that the action called {#authorize!}.
    AUTHORIZED_KEY = "hanami_guard.authorized"

    # What an action that neither called {#authorize!} nor declared
    # {ClassMethods#skip_authorization} gets, by mode: `:raise` raises
    # {HanamiGuard::AuthorizationNotPerformed} (a 500 that names the action); `:forbid` answers
    # 403 and reports it on stderr; `:off` does nothing.
    VERIFY_MODES = %i[raise forbid off].freeze

    class << self
      # The mode for every action class that sets none: `:forbid` when HANAMI_ENV (or RACK_ENV)
      # is production, `:raise` otherwise.
      #
      # @return [Symbol]
      # @api public
      # @since 0.2.0
      def verify_authorized
        @verify_authorized || ((ENV["HANAMI_ENV"] || ENV.fetch("RACK_ENV", nil)) == "production" ? :forbid : :raise)
      end

      # @param mode [Symbol] one of {VERIFY_MODES}
      # @api public
      # @since 0.2.0
      def verify_authorized=(mode)
        @verify_authorized = Action.verify_mode(mode)
      end

      # @api private
      def verify_mode(mode)
        return mode if VERIFY_MODES.include?(mode)

        raise ConfigurationError.new("verify_authorized takes #{VERIFY_MODES.map(&:inspect).join(", ")}, " \
                                     "not #{mode.inspect}", details: { option: :verify_authorized })
      end

      # Once per process: the first request that reaches an action without passing through the
      # middleware says how to add it, instead of a silent 401 on every request.
      #
      # @api private
      def warn_missing_middleware(action_class)
        return if @warned_missing_middleware

        @warned_missing_middleware = true
        warn "hanami_guard: #{action_class} found no client identity because " \
             "HanamiGuard::Middleware::ClientIdentity did not run for this request. Add it in " \
             "config/app.rb: config.middleware.use HanamiGuard::Middleware::ClientIdentity, " \
             "trust: ..., source: :puma"
      end
    end

    # The Rack env key {Middleware::ClientIdentity} sets.
    #
    # @api public
    # @since 0.1.0
    IDENTITY_KEY = Middleware::ClientIdentity::ENV_KEY

    # @api private
    # @since 0.1.0
    def self.included(base)
      super
      unless base.respond_to?(:config) && base.config.respond_to?(:handle_exception) && base.respond_to?(:before)
        raise ConfigurationError, "include HanamiGuard::Action in a Hanami::Action subclass " \
                                  "(class Action < Hanami::Action; include HanamiGuard::Action; end)"
      end

      base.extend(ClassMethods)
      base.config.handle_exception(STATUSES)
      subclasses_first!(base.config)
      base.after { |request, response| hanami_guard_verify_authorized(request, response) }
    end

    # Puts every exception class in an action's mappings before each of its ancestors, and keeps
    # the order otherwise. Hanami sorts the mappings that way itself, but hanami-action 3.0 leaves
    # any pair with a String key ("ROM::TupleCountMismatchError" => 404) where it stands: with an
    # app's `StandardError => 500` and a String-keyed mapping declared before this module, a
    # Forbidden would be answered 500 instead of 403. Mappings added after the include are sorted
    # by Hanami with hanami_guard's already in order.
    #
    # @api private
    # @since 0.1.0
    def self.subclasses_first!(config)
      ordered = []
      config.handled_exceptions.each_key do |key|
        ancestor = key.is_a?(Module) && ordered.index { |other| other.is_a?(Module) && other != key && key <= other }
        ancestor ? ordered.insert(ancestor, key) : ordered.push(key)
      end
      mappings = config.handled_exceptions
      config.handled_exceptions = ordered.to_h { |key| [key, mappings[key]] }
    end

    # Class-level helpers, available in every action that includes {HanamiGuard::Action} and in
    # its subclasses.
    #
    # @api public
    # @since 0.1.0
    module ClassMethods
      # Sets the policy {Action#authorize!} uses in this action class and its subclasses, or
      # returns it (the nearest one set up the class hierarchy) when called without an argument.
      #
      # @param policy [HanamiGuard::Policy] anything responding to `authorize!(identity, action, resource)`
      # @return [HanamiGuard::Policy, nil]
      # @raise [TypeError] when policy does not respond to `authorize!`
      # @api public
      # @since 0.1.0
      def guard_policy(*policy)
        if policy.empty?
          return @hanami_guard_policy if instance_variable_defined?(:@hanami_guard_policy)

          return superclass.respond_to?(:guard_policy) ? superclass.guard_policy : nil
        end
        raise ArgumentError, "guard_policy takes one policy (guard_policy POLICY)" if policy.size > 1

        policy = policy.first
        unless policy.respond_to?(:authorize!)
          raise TypeError, "guard_policy expects a HanamiGuard::Policy (guard_policy HanamiGuard::Policy.load(" \
                           "\"config/hanami_guard.yml\")), got #{policy.class}"
        end

        @hanami_guard_policy = policy
      end

      # Adds a before callback that raises {HanamiGuard::MissingIdentity} (401) when the request
      # carries no client identity.
      #
      # @return [void]
      # @api public
      # @since 0.1.0
      def require_identity
        before { |request, *| hanami_guard_identity!(request) }
      end

      # Declares that this action (and its subclasses) authorizes no request, on purpose: an
      # action that includes {HanamiGuard::Action} must call {Action#authorize!} or say this,
      # as pundit's `verify_authorized` asks.
      #
      # @param reason [String] why, for the reader (for example "health check, no data")
      # @return [void]
      # @raise [ArgumentError] no reason given
      # @api public
      # @since 0.2.0
      def skip_authorization(reason)
        unless reason.is_a?(String) && !reason.strip.empty?
          raise ArgumentError, "skip_authorization needs a reason: skip_authorization \"health check, no data\""
        end

        @hanami_guard_skip_authorization = reason.dup.freeze
      end

      # The reason given to {#skip_authorization} here or up the class hierarchy, or nil.
      #
      # @return [String, nil]
      # @api public
      # @since 0.2.0
      def authorization_skipped
        return @hanami_guard_skip_authorization if instance_variable_defined?(:@hanami_guard_skip_authorization)

        superclass.respond_to?(:authorization_skipped) ? superclass.authorization_skipped : nil
      end

      # Sets (with a mode) or returns this class' verify mode; see {Action::VERIFY_MODES}.
      #
      # @param mode [Symbol, nil]
      # @return [Symbol]
      # @api public
      # @since 0.2.0
      def verify_authorized(*mode)
        unless mode.empty?
          @hanami_guard_verify = Action.verify_mode(mode.first)
          return @hanami_guard_verify
        end
        return @hanami_guard_verify if instance_variable_defined?(:@hanami_guard_verify)

        superclass.respond_to?(:verify_authorized) ? superclass.verify_authorized : Action.verify_authorized
      end
    end

    # The client's certificate, as {Middleware::ClientIdentity} left it in the Rack env.
    #
    # @param request [Hanami::Action::Request]
    # @return [HanamiGuard::Certificate, nil] nil when the request carries no identity
    # @api public
    # @since 0.1.0
    def client_identity(request)
      identity = request.env[IDENTITY_KEY]
      # Only the middleware's own value counts: anything else under the key is not an identity.
      identity if identity.is_a?(HanamiGuard::Certificate)
    end

    # Asks the class' {ClassMethods#guard_policy guard_policy} whether the client may do action on
    # resource.
    #
    # @param request [Hanami::Action::Request]
    # @param action [Symbol, String]
    # @param resource [String]
    # @return [HanamiGuard::Decision] the allowing decision
    # @raise [HanamiGuard::MissingIdentity] no client identity (401)
    # @raise [HanamiGuard::Forbidden] the policy denies (403)
    # @raise [HanamiGuard::ConfigurationError] no policy was set with guard_policy
    # @api public
    # @since 0.1.0
    def authorize!(request, action, resource)
      policy = self.class.guard_policy
      unless policy
        raise ConfigurationError.new("#{self.class} has no policy: add `guard_policy POLICY` to it or to its " \
                                     "base action", details: { option: :guard_policy })
      end

      decision = policy.authorize!(hanami_guard_identity!(request), action, resource)
      request.env[AUTHORIZED_KEY] = true
      decision
    end

    private

    def hanami_guard_identity!(request)
      identity = client_identity(request)
      return identity if identity

      Action.warn_missing_middleware(self.class) unless request.env.key?(Middleware::ClientIdentity::CHECKED_KEY)
      raise MissingIdentity, "this action needs a client certificate; none was presented"
    end

    def hanami_guard_verify_authorized(request, response)
      return if request.env[AUTHORIZED_KEY] || self.class.authorization_skipped

      case self.class.verify_authorized
      when :raise
        raise AuthorizationNotPerformed, "#{self.class} finished without calling authorize!: call " \
                                         "`authorize! request, :action, resource` in handle, or declare " \
                                         "`skip_authorization \"why\"` in the class"
      when :forbid
        warn "hanami_guard: #{self.class} finished without calling authorize!; answered 403"
        response.status = 403
        response.body = "Forbidden"
      end
    end
  end
end
