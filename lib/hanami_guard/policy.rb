# frozen_string_literal: true

require_relative "decision"

# hanami_guard's policy capability (the gem's entry point is lib/hanami_guard.rb).
module HanamiGuard
  # Who may do what: compiled allow/deny rules over client identities.
  #
  # A policy is data: a YAML file ({.load}), a YAML string ({.parse}) or the Ruby DSL ({.define}),
  # all validated by the same loader in the Rust core and compiled into a structure indexed by
  # action and resource. Default deny; a matching deny rule overrides any allow; a nil identity is
  # always denied; every {Decision} names the rule that decided.
  #
  # An identity is a {Certificate}, a {Policy::Identity}, or any object responding to `subject`,
  # `issuer`, `spiffe_id` (String, SpiffeId or nil), `dns_names` (Array of String) and
  # `fingerprint` (SHA-256 hex or nil); an `OpenSSL::X509::Certificate` is one. A name
  # (`subject`, `issuer`) is a {DistinguishedName}, an object with `to_der` (an
  # `OpenSSL::X509::Name`, read from its DER exactly as a {Certificate} reads its names, each
  # value decoded by its ASN.1 type), or an object whose `to_a` gives `[[type, value], ...]`
  # (types as short names, long names or OIDs) or `[[type, value, asn1_type], ...]` (the value's
  # bytes decoded by that type; any other third element is refused). Only the methods the
  # policy's conditions need are called. For the fastest decisions convert such an object once
  # with {.identity} and reuse the result.
  #
  # Names are compared two ways, so that an ambiguous name never helps its holder: an allow
  # rule compares strictly (ASCII case and spaces only, as OpenSSL does; only a valid SPIFFE ID;
  # DNS names as written), a deny rule after the widest folding (RFC 4518 mapping, Unicode case
  # folding and NFKC; every URI SAN read leniently; DNS names without a trailing dot, and
  # wildcard SANs that cover the denied name).
  #
  # Policies are frozen and shared between threads without locks: each decision evaluates one
  # immutable compiled snapshot. {#reload!} swaps in a new snapshot atomically, only when the
  # file changed and the new text is valid.
  #
  # @example
  #   File.write("hanami_guard.yml", <<~YAML)   # given: a policy file (`hanami_guard install` writes one)
  #     version: 1
  #     rules:
  #       - { id: operators-deploy, effect: allow, actions: [deploy], resources: [worker],
  #           principals: [{ subject: { CN: operator } }] }
  #   YAML
  #   identity = HanamiGuard::Policy::Identity.new(subject: { CN: "operator" })   # or a Certificate
  #
  #   POLICY = HanamiGuard::Policy.load("hanami_guard.yml")
  #   POLICY.allowed?(identity, :deploy, "worker")   # => true or false, never raises on request data
  #   POLICY.authorize!(identity, :deploy, "worker") # raises HanamiGuard::Forbidden (#decision)
  #   POLICY.decide(identity, :deploy, "worker")     # => HanamiGuard::Decision
  #
  # @api public
  # @since 0.1.0
  class Policy
    private_class_method :new

    class << self
      # Loads and compiles a policy file (YAML, `version: 1`).
      #
      # @example Roll out a candidate policy: it decides nothing, and reports what it would decide
      #   Dir.mkdir("config") unless Dir.exist?("config")
      #   File.write("config/hanami_guard.yml", <<~YAML)
      #     version: 1
      #     rules:
      #       - id: operators
      #         effect: allow
      #         actions: [deploy]
      #         resources: ["*"]
      #         principals: [{ subject: { CN: operator } }]
      #   YAML
      #   candidate_yaml = File.read("config/hanami_guard.yml").sub("deploy", "deploy, restart")
      #   File.write("config/hanami_guard.next.yml", candidate_yaml)
      #   candidate = HanamiGuard::Policy.load("config/hanami_guard.next.yml", mode: :shadow)
      #   POLICY = HanamiGuard::Policy.load("config/hanami_guard.yml", shadow: candidate)
      #
      # @param path [String, Pathname]
      # @param mode [Symbol] `:enforce` (the default), or `:shadow`: every rule is in shadow mode,
      #   so the policy denies every request itself and is meant to run beside the policy in
      #   force (`shadow:`), reporting through `policy.shadow` what it would have decided
      # @param shadow [Policy, nil] a candidate policy to run beside this one (see {#with_shadow})
      # @return [Policy] frozen; {#reload!} re-reads this file
      # @raise [PolicyError] the policy is invalid (the message names the file, rule and key)
      # @raise [ConfigurationError] an unknown mode
      # @raise [Errno::ENOENT, SystemCallError] the file cannot be read
      # @api public
      # @since 0.1.0
      def load(path, mode: :enforce, shadow: nil)
        path = path.to_path if path.respond_to?(:to_path)
        raise TypeError, "Policy.load expects a path String or Pathname, got #{path.class}" unless path.is_a?(String)

        attach(_load(path, mode_name(mode)), shadow)
      end

      # Parses and compiles a policy from YAML text.
      #
      # @param yaml [String]
      # @param filename [String, nil] named in error messages
      # @param mode [Symbol] `:enforce` or `:shadow` (see {.load})
      # @param shadow [Policy, nil] a candidate policy to run beside this one (see {#with_shadow})
      # @return [Policy] frozen
      # @raise [PolicyError]
      # @api public
      # @since 0.1.0
      def parse(yaml, filename = nil, mode: :enforce, shadow: nil)
        raise TypeError, "Policy.parse expects the YAML text as a String, got #{yaml.class}" unless yaml.is_a?(String)
        unless filename.nil? || filename.is_a?(String)
          raise TypeError, "Policy.parse expects the file name as a String or nil, got #{filename.class}"
        end

        # File.binread and sockets give BINARY strings: read them as the UTF-8 YAML requires (the
        # loader refuses invalid UTF-8 with a PolicyError).
        yaml = yaml.dup.force_encoding(Encoding::UTF_8) if yaml.encoding == Encoding::BINARY
        attach(_parse(yaml, filename || "(string)", mode_name(mode)), shadow)
      end

      # Builds a policy with the Ruby DSL. The block is evaluated in a {Builder} (or receives it,
      # if it takes an argument). It builds the same structure as the YAML, checked by the same
      # loader.
      #
      # @example
      #   HanamiGuard::Policy.define do
      #     allow :deploy, resources: %w[worker api], id: "operators-deploy",
      #                    principals: [{ subject: { CN: "operator", O: "MyOrg" } }]
      #     deny :*, resources: %w[api], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
      #   end
      #
      # @param mode [Symbol] `:enforce` or `:shadow` (see {.load})
      # @param shadow [Policy, nil] a candidate policy to run beside this one (see {#with_shadow})
      # @return [Policy] frozen
      # @raise [PolicyError] named "Policy.define (file:line)", with the rule and key
      # @api public
      # @since 0.1.0
      def define(mode: :enforce, shadow: nil, &block)
        raise ArgumentError, "Policy.define needs a block: Policy.define { allow :action, ... }" unless block

        builder = Builder.new
        block.arity == 1 ? yield(builder) : builder.instance_eval(&block)
        location = caller_locations(1, 1).first
        attach(_from_tree(builder.to_tree, "Policy.define (#{location.path}:#{location.lineno})", mode_name(mode)),
               shadow)
      end

      # Converts an identity once, so that decisions on it read no Ruby object. Use it where the
      # same identity is decided on more than once (per request, or cached per client).
      #
      # @param identity [#subject, #issuer, #spiffe_id, #dns_names, #fingerprint, Policy::Identity, nil]
      # @return [Policy::Identity, nil] nil for nil
      # @raise [TypeError] the object does not behave as an identity
      # @api public
      # @since 0.1.0
      def identity(identity)
        Identity.from(identity)
      end

      # Called by the extension for each decision while a subscriber is registered (positionally:
      # it is one call from Rust, so no Hash is built when nobody listens).
      # @api private
      def __emit_decision(identity, action, resource, allowed, rule_id, reason, duration, version, explanation) # rubocop:disable Metrics/ParameterLists
        return nil unless Events.listening?("policy.decision")

        principal, record = Audit.identity(identity)
        payload = { principal:, identity: record, action: Audit.plain(action), resource: Audit.plain(resource),
                    allowed:, decision: allowed ? :allow : :deny, rule_id:, reason:, duration:,
                    policy_version: version }
        payload[:explanation] = explanation if explanation
        Events.emit("policy.decision", payload)
      end

      # Called by the extension, per policy in shadow, while a `policy.shadow` subscriber is
      # registered: what the enforcing policy decided, and what the one in shadow would have.
      # @api private
      def __emit_shadow(identity, action, resource, enforced, shadowed)
        return nil unless Events.listening?("policy.shadow")

        allowed, rule_id, version = enforced
        shadow_allowed, shadow_rule_id, shadow_reason, shadow_version = shadowed
        principal, record = Audit.identity(identity)
        Events.emit("policy.shadow", {
                      principal:, identity: record, action: Audit.plain(action), resource: Audit.plain(resource),
                      decision: allowed ? :allow : :deny, rule_id:, policy_version: version,
                      shadow_decision: shadow_allowed ? :allow : :deny, shadow_rule_id:, shadow_reason:,
                      shadow_version:, changed: allowed != shadow_allowed
                    })
      end

      private

      def mode_name(mode)
        return mode.to_s if mode.is_a?(Symbol) || mode.is_a?(String)

        raise TypeError, "mode: takes :enforce or :shadow, got #{mode.class}"
      end

      def attach(policy, shadow)
        return policy.freeze if shadow.nil?
        raise TypeError, "shadow: takes a HanamiGuard::Policy, got #{shadow.class}" unless shadow.is_a?(Policy)

        policy.with_shadow(shadow)
      end
    end

    # @return [Policy, nil] the candidate policy run in shadow beside this one
    # @api public
    # @since 0.2.0
    attr_reader :shadow

    # This policy with `candidate` run in shadow beside it: decisions are this policy's, and
    # each one is also decided by `candidate` (its shadow rules in force, if it has any) and
    # reported as a `policy.shadow` event (only while someone subscribes to it). Both policies
    # keep their files: a {#reload!} of either is seen.
    #
    # @param candidate [Policy] usually loaded with `mode: :shadow`
    # @return [Policy] a new frozen policy
    # @api public
    # @since 0.2.0
    def with_shadow(candidate)
      raise TypeError, "with_shadow takes a HanamiGuard::Policy, got #{candidate.class}" unless candidate.is_a?(Policy)

      attached = _with_shadow(candidate)
      attached.instance_variable_set(:@shadow, candidate)
      attached.freeze
    end

    # Decides and explains.
    #
    # @param identity [Certificate, Policy::Identity, #subject, nil]
    # @param action [Symbol, String]
    # @param resource [String, Symbol]
    # @return [Decision] never raises on request data: anything unusable is a denial with a reason
    # @api public
    # @since 0.1.0
    def decide(identity, action, resource)
      allowed, rule_id, reason = _decide(identity, action, resource)
      # The request, not a closure: a lambda would move this method's locals to the heap on
      # every decision, for an explanation that is rarely asked for.
      Decision.new(allowed:, rule_id:, reason:, explainer: [self, identity, action, resource].freeze)
    end

    # Explains the decision on these arguments: for a default deny, the closest rule and the
    # condition that failed (`operators-deploy: issuer is CN=MyOrg Root CA,O=MyOrg, the rule
    # wants CN=MyOrg Internal CA`); otherwise the deciding rule. Slower than a decision: call it
    # to diagnose, not per request. {Decision#explain} calls it.
    #
    # @return [String] log-safe (values escaped)
    # @api public
    # @since 0.2.0
    def explain(identity, action, resource)
      _explain(identity, action, resource)
    end

    # @!method allowed?(identity, action, resource)
    #   Whether `identity` may do `action` on `resource`. The fast path (defined in the extension).
    #   Never raises on request data: a nil identity, a resource that is not a String or Symbol,
    #   an identity whose methods raise a StandardError, are all denials.
    #   @param identity [Certificate, Policy::Identity, #subject, nil]
    #   @param action [Symbol, String]
    #   @param resource [String, Symbol]
    #   @return [Boolean]
    #   @api public
    #   @since 0.1.0

    # @!method reload!
    #   Re-reads the policy file. When its content changed and is valid, the new policy is in force
    #   for every later decision, in every thread. When the new content is invalid (or the file is
    #   unreadable), the old policy stays in force and the error is raised: a broken edit never
    #   fails open. A half-written file is never taken: new content is read only from a new file
    #   renamed over the path (or a swapped symlink, as a Kubernetes ConfigMap does), or from a
    #   file edited in place that has not changed for 2 seconds.
    #   @return [Boolean] true when a new policy was loaded, false when the file is unchanged
    #   @raise [PolicyError] the new content is invalid, the file was changed in place moments ago
    #     or during the read (the old policy is kept), or the policy was not loaded from a file
    #   @raise [SystemCallError] the file cannot be read (the old policy is kept)
    #   @api public
    #   @since 0.1.0

    # Like {#decide}, but raises unless allowed.
    #
    # @return [Decision] the allowing decision
    # @raise [Forbidden] denied; {Forbidden#decision} explains
    # @api public
    # @since 0.1.0
    def authorize!(identity, action, resource)
      decision = decide(identity, action, resource)
      raise Forbidden.new("forbidden: #{decision.reason}", decision:) unless decision.allowed?

      decision
    end

    # Warnings about rules that load but are probably mistakes: allow rules a deny rule shadows
    # completely, allow rules whose principals match everyone, globs that can never match,
    # resources with a `..` segment, a policy without any allow rule.
    #
    # @return [Array<String>] frozen; empty when nothing looks wrong. Each names the rule.
    # @api public
    # @since 0.1.0
    def lint
      _lint.map(&:freeze).freeze
    end

    # @return [String] the policy's source and its number of rules, for logs and consoles
    # @api public
    # @since 0.1.0
    def inspect
      "#<#{self.class.name} #{source} (#{size} rules)>"
    end

    # The DSL of {Policy.define}.
    #
    # @api public
    # @since 0.1.0
    class Builder
      def initialize
        @rules = []
      end

      # Adds an allow rule.
      #
      # @param actions [Array<Symbol, String>] `:*` for every action
      # @param options [Hash] `id:`, `resources:`, `principals:` (as in YAML)
      # @return [self]
      # @api public
      # @since 0.1.0
      def allow(*actions, **options)
        add("allow", actions, options)
      end

      # Adds a deny rule. Takes the same arguments as {#allow}.
      #
      # @return [self]
      # @api public
      # @since 0.1.0
      def deny(*actions, **options)
        add("deny", actions, options)
      end

      # @return [Hash] the policy tree, as YAML would give it
      # @api private
      def to_tree
        { "version" => 1, "rules" => @rules }
      end

      private

      def add(effect, actions, options)
        rule = { "effect" => effect }
        rule["actions"] = actions.flatten unless options.key?(:actions) && actions.empty?
        options.each do |key, value|
          key = key.to_s
          if key == "effect" || (key == "actions" && rule.key?("actions"))
            raise PolicyError, "Policy.define: rules[#{@rules.size}], key #{key}: give the actions as arguments " \
                               "and the effect by calling allow or deny, e.g. `deny :deploy, resources: [...], ...`"
          end
          rule[key] = value
        end
        @rules << rule
        self
      end
    end

    # An identity converted once into Rust data (see {Policy.identity}). Frozen.
    #
    # @api public
    # @since 0.1.0
    class Identity
      class << self
        # Builds an identity from plain data, for apps whose clients are not certificates.
        #
        # @param subject [Array<Array(String, String)>, Hash, OpenSSL::X509::Name, DistinguishedName]
        #   `[[type, value], ...]`, `{ CN: "x" }`, or a name object, read as {Policy} reads an
        #   identity's names (an `OpenSSL::X509::Name` from its DER, values decoded by ASN.1 type)
        # @param issuer [Array<Array(String, String)>, Hash, OpenSSL::X509::Name, DistinguishedName]
        # @param spiffe_id [String, #to_s, nil]
        # @param dns_names [Array<String>]
        # @param fingerprint [String, nil] SHA-256 hex
        # @return [Identity]
        # @api public
        # @since 0.1.0
        def new(subject: [], issuer: [], spiffe_id: nil, dns_names: [], fingerprint: nil)
          _new(pairs(subject, "subject"), pairs(issuer, "issuer"), spiffe_id&.to_s,
               strings(dns_names, "dns_names"), fingerprint&.to_str).freeze
        end

        # Converts any identity object (see {Policy}) once.
        #
        # @return [Identity, nil]
        # @raise [TypeError] the object does not behave as an identity
        # @api public
        # @since 0.1.0
        def from(identity)
          return identity if identity.nil? || identity.is_a?(Identity)

          _from(identity).freeze
        end

        private

        # Checks the shape of a Hash or Array of pairs (or `[type, value, asn1_type]` triples, as
        # `OpenSSL::X509::Name#to_a` gives); a name object is handed to the extension as it is.
        def pairs(list, name)
          return list if list.respond_to?(:to_der) || list.is_a?(DistinguishedName)

          unless list.respond_to?(:to_a)
            raise TypeError, "#{name} must be an Array of [type, value] pairs or a Hash, got #{list.class}"
          end

          list.to_a.map do |pair|
            type, value, asn1_type = pair
            unless (type.is_a?(String) || type.is_a?(Symbol)) && value.is_a?(String) &&
                   pair.size.between?(2, 3) && (pair.size == 2 || asn1_type.is_a?(Integer))
              raise TypeError, "#{name} must hold [type, value] pairs of Strings, got #{pair.inspect[0, 60]}"
            end

            pair.size == 2 ? [type.to_s, value] : [type.to_s, value, asn1_type]
          end
        end

        def strings(list, name)
          raise TypeError, "#{name} must be an Array of Strings" unless list.is_a?(Array) && list.all?(String)

          list
        end
      end

      # @return [String] the identity's names, for logs and consoles
      # @api public
      # @since 0.1.0
      def inspect
        "#<#{self.class.name} #{self}>"
      end
    end

    # Builds audit events (see {HanamiGuard.on_decision}).
    # @api private
    module Audit
      module_function

      # The core's summary (Identity#to_s): the SPIFFE ID or the RFC 4514-escaped subject, and
      # the fingerprint, so that one attribute `O=MyOrg,CN=operator` never logs as two.
      def principal(identity)
        identity(identity).first
      end

      # `[principal, record]`: the summary, and what `hanami_guard replay` needs to rebuild the
      # identity (names as whole RFC 4514 strings, SPIFFE ID, DNS names, fingerprint; never the
      # certificate). nil record for no identity or an unreadable one.
      def identity(identity)
        return ["(none)", nil] if identity.nil?

        converted = Identity.from(identity)
        subject, issuer, spiffe_id, dns_names, fingerprint = converted.send(:_record)
        [converted.to_s, { subject:, issuer:, spiffe_id:, dns_names:, fingerprint: }]
      rescue StandardError
        ["(unreadable identity)", nil]
      end

      # A Symbol's name, anything else as it is. (Not `name`: that would hide Module#name.)
      def plain(value)
        value.is_a?(Symbol) ? value.name : value
      end

      def text(value)
        case value
        when String, Symbol then escape(value.to_s)
        else "(#{value.class})"
        end
      end

      # Longest text kept in an event: room for a whole name (replay rebuilds identities from
      # them) while a hostile value still cannot flood a log line.
      MAX_TEXT = 1024

      # The core's escaper (HanamiGuard::Native.escape): controls, zero-width and bidi
      # characters and invalid UTF-8 escaped, at most MAX_TEXT characters.
      def escape(text)
        Native.escape(text.to_s, MAX_TEXT)
      end
    end
  end

  @decision_subscriptions = {}.freeze
  @decision_lock = Mutex.new

  class << self
    # Subscribes to policy decisions, for audit logs: a thin subscriber to the
    # `policy.decision` event ({HanamiGuard.subscribe}). Off by default, and free when off: with
    # no subscriber, a decision does no more than one atomic load. Each event is a frozen Hash:
    # `principal` (a one-line, escaped summary), `action`, `resource`, `allowed`, `decision`
    # (`:allow`/`:deny`), `rule_id`, `reason`, `duration` (seconds). A subscriber that raises is
    # reported with `warn` and does not change the decision.
    #
    # @example
    #   HanamiGuard.on_decision { |event| warn event.inspect }
    # @return [Proc] the subscriber, to pass to {.off_decision}
    # @api public
    # @since 0.1.0
    def on_decision(&block)
      raise ArgumentError, "HanamiGuard.on_decision needs a block: on_decision { |event| ... }" unless block

      @decision_lock.synchronize do
        subscription = Events.add("policy.decision", ->(event) { block.call(event.payload) })
        @decision_subscriptions = @decision_subscriptions.merge(block => subscription).freeze
      end
      block
    end

    # Removes a subscriber (or every one {.on_decision} added, without an argument).
    #
    # @param subscriber [Proc, nil]
    # @return [void]
    # @api public
    # @since 0.1.0
    def off_decision(subscriber = nil)
      @decision_lock.synchronize do
        gone = subscriber ? @decision_subscriptions.slice(subscriber) : @decision_subscriptions
        gone.each_value { |subscription| Events.remove(subscription) }
        @decision_subscriptions = @decision_subscriptions.except(*gone.keys).freeze
      end
      nil
    end
  end
end
