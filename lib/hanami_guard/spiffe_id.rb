# frozen_string_literal: true

module HanamiGuard
  # A SPIFFE ID, validated strictly by the SPIFFE ID specification: `spiffe://` (lower-case),
  # a trust domain of `[a-z0-9._-]`, path segments of `[a-zA-Z0-9._-]`, no empty, `.` or `..`
  # segment, no trailing slash, no percent-encoding, userinfo, port, query or fragment, at most
  # 2048 bytes.
  #
  # @example
  #   id = HanamiGuard::SpiffeId.parse("spiffe://prod.example.org/ns/ops/sa/deployer")
  #   id.trust_domain                    # => "prod.example.org"
  #   id.path                            # => "/ns/ops/sa/deployer"
  #   id.member_of?("prod.example.org")  # => true
  #
  # @api public
  # @since 0.1.0
  class SpiffeId
    class << self
      # @param string [String]
      # @return [SpiffeId]
      # @raise [TypeError] if `string` is not a String
      # @raise [HanamiGuard::CertificateError] if it is not a valid SPIFFE ID (the message says why)
      # @api public
      # @since 0.1.0
      def parse(string)
        raise TypeError, "SpiffeId.parse takes a String, not #{string.class}" unless string.is_a?(String)

        _parse(string)
      end

      # @return [Boolean] whether `string` is a valid SPIFFE ID
      # @api public
      # @since 0.1.0
      def valid?(string)
        parse(string)
        true
      rescue CertificateError, TypeError
        false
      end

      # @api private
      def new(*)
        raise NoMethodError, "use HanamiGuard::SpiffeId.parse(string)"
      end
    end

    # Whether the ID belongs to a trust domain.
    #
    # @param trust_domain [String, SpiffeId] `"example.org"` or `"spiffe://example.org"`
    # @return [Boolean]
    # @api public
    # @since 0.1.0
    def member_of?(trust_domain)
      case trust_domain
      when SpiffeId then trust_domain.trust_domain == self.trust_domain
      when String then _member_of?(trust_domain)
      else raise TypeError, "member_of? takes a trust domain String or a SpiffeId, not #{trust_domain.class}"
      end
    end

    # @param other [Object]
    # @return [Boolean] whether `other` is a SpiffeId naming the same ID
    # @api public
    # @since 0.1.0
    def ==(other)
      other.is_a?(SpiffeId) && _same?(other)
    end
    alias eql? ==

    # @return [Integer] a hash code consistent with {#==}
    # @api public
    # @since 0.1.0
    def hash
      to_s.hash
    end

    # @return [String] the ID, for logs and consoles
    # @api public
    # @since 0.1.0
    def inspect
      "#<#{self.class.name} #{to_s.inspect}>"
    end
  end
end
