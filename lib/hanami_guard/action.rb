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
  # @example app/action.rb
  #   class Action < Hanami::Action
  #     include HanamiGuard::Action
  #     guard_policy POLICY
  #   end
  #
  # @example app/actions/containers/deploy.rb
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
    STATUSES = {
      HanamiGuard::MissingIdentity => 401,
      HanamiGuard::UntrustedCertificate => 401,
      HanamiGuard::Forbidden => 403,
      HanamiGuard::PathEscapeError => 403,
      HanamiGuard::PathError => 400,
      HanamiGuard::CertificateError => 400,
      HanamiGuard::CommandNotAllowed => 400,
      HanamiGuard::CommandTimeout => 504
    }.freeze

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
        raise ConfigurationError, "#{self.class} has no policy: add `guard_policy POLICY` to it or to its base action"
      end

      policy.authorize!(hanami_guard_identity!(request), action, resource)
    end

    private

    def hanami_guard_identity!(request)
      client_identity(request) || raise(MissingIdentity, "this action needs a client certificate; none was presented")
    end
  end
end
