# frozen_string_literal: true

module HanamiGuard
  # The outcome of {Policy#decide}: whether the request is allowed, which rule decided, and why.
  #
  # Frozen on creation. `rule_id` is the deny rule's id when a deny rule matched (deny overrides
  # allow), the first matching allow rule's id when allowed, and nil when no rule matched
  # (default deny) or the request could not be evaluated (no identity, unusable resource).
  #
  # @example
  #   POLICY = HanamiGuard::Policy.define do
  #     allow :deploy, resources: %w[worker], principals: ["*"], id: "anyone-deploys"
  #     deny :*, resources: %w[worker], principals: [{ subject: { OU: "Contractors" } }], id: "no-contractors"
  #   end
  #   identity = HanamiGuard::Policy::Identity.new(subject: { CN: "bob", OU: "Contractors" })
  #
  #   decision = POLICY.decide(identity, :deploy, "worker")
  #   decision.allowed?  # => false
  #   decision.rule_id   # => "no-contractors"
  #   decision.reason    # => "denied by rule \"no-contractors\" (a deny rule overrides any allow)"
  #
  # @api public
  # @since 0.1.0
  class Decision
    # @return [String, nil] the id of the rule that decided
    attr_reader :rule_id

    # @return [String] a sentence saying why, safe to log (request values are excerpted and escaped)
    attr_reader :reason

    # @param allowed [Boolean]
    # @param rule_id [String, nil]
    # @param reason [String]
    # @param explainer [Array(Policy, Object, Object, Object), nil] the policy and the request
    #   (identity, action, resource) that {#explain} explains when asked
    # @api public
    # @since 0.1.0
    def initialize(allowed:, rule_id:, reason:, explainer: nil)
      @allowed = allowed ? true : false
      @rule_id = rule_id&.to_s&.dup&.freeze
      @reason = reason.to_s.dup.freeze
      @explainer = explainer
      freeze
    end

    # Why, in more detail than {#reason}: for a default deny, the closest rule and the condition
    # that failed, e.g. `operators-deploy: issuer is CN=MyOrg Root CA,O=MyOrg, the rule wants
    # CN=MyOrg Internal CA`. Computed when called (never while deciding), by the policy in force
    # then. Meant for logs and operators; never put it in an HTTP response unless the app means
    # to tell clients why they were refused.
    #
    # @return [String] log-safe (identity and request values escaped)
    # @api public
    # @since 0.2.0
    def explain
      return @reason unless @explainer

      policy, *request = @explainer
      policy.explain(*request).freeze
    end

    # @return [Boolean] whether the request is allowed
    # @api public
    # @since 0.1.0
    def allowed?
      @allowed
    end

    # @return [Boolean] whether the request is denied
    # @api public
    # @since 0.1.0
    def denied?
      !@allowed
    end

    # @return [Hash{Symbol => Object}] plain data for logs and JSON
    # @api public
    # @since 0.1.0
    def to_h
      { allowed: @allowed, rule_id: @rule_id, reason: @reason }
    end

    # @return [String] the reason
    # @api public
    # @since 0.1.0
    def to_s
      @reason
    end

    # @return [String] whether allowed, the rule id and the reason, for logs and consoles
    # @api public
    # @since 0.1.0
    def inspect
      "#<#{self.class.name} #{@allowed ? "allowed" : "denied"} rule_id=#{@rule_id.inspect} reason=#{@reason.inspect}>"
    end

    # @param other [Object]
    # @return [Boolean] whether `other` is a Decision with the same outcome, rule and reason
    # @api public
    # @since 0.1.0
    def ==(other)
      other.is_a?(Decision) && other.to_h == to_h
    end
    alias eql? ==

    # @return [Integer] a hash code consistent with {#==}
    # @api public
    # @since 0.1.0
    def hash
      to_h.hash
    end
  end
end
