# frozen_string_literal: true

module HanamiGuard
  # A distinguished name (a certificate's subject or issuer), read from the DER. Compare names
  # with {#==} or {#match?}, never as strings: `CN=operator\,O=MyOrg` is one attribute whose
  # value holds a comma, and only the structure tells it apart from `CN=operator,O=MyOrg`.
  #
  # Immutable and frozen; safe to share between threads.
  #
  # @example
  #   dn = HanamiGuard::DistinguishedName.parse("CN=operator,OU=Deploy,OU=Ops,O=MyOrg")   # or cert.subject
  #   dn["CN"]                              # => "operator" (first value)
  #   dn.values("OU")                       # => ["Ops", "Deploy"]
  #   dn.match?(CN: "operator", O: "MyOrg") # => true
  #   dn.to_s                               # => "CN=operator,OU=Deploy,OU=Ops,O=MyOrg" (RFC 4514, escaped)
  #
  # @api public
  # @since 0.1.0
  class DistinguishedName
    class << self
      # Parses an RFC 4514 string. The string lists RDNs last-first, as RFC 4514 (and OpenSSL's
      # RFC2253 format) print them: `"CN=operator,O=MyOrg"` is a name whose certificate order is
      # O, then CN. Multi-valued RDNs use `+`; `#hex` values are BER-encoded values.
      #
      # @param string [String]
      # @return [DistinguishedName]
      # @raise [TypeError] if `string` is not a String
      # @raise [HanamiGuard::CertificateError] if the string is malformed
      # @api public
      # @since 0.1.0
      def parse(string)
        raise TypeError, "DistinguishedName.parse takes a String, not #{string.class}" unless string.is_a?(String)

        _parse(string)
      end

      # @api private
      def new(*)
        raise NoMethodError, "use HanamiGuard::DistinguishedName.parse(string) or Certificate#subject"
      end
    end

    # @!method [](type)
    #   The first value of an attribute type.
    #   @param type [String, Symbol] a short name (`"CN"`), long name (`"commonName"`) or dotted
    #     OID (`"2.5.4.3"`), case-insensitively
    #   @return [String, nil] frozen
    #   @raise [ArgumentError] for an unknown type name
    #   @raise [TypeError] for a type that is neither a String nor a Symbol
    #   @api public
    #   @since 0.1.0
    #
    # @!method values(type)
    #   Every value of an attribute type, in certificate order.
    #   @param type [String, Symbol] as for {#[]}
    #   @return [Array<String>] frozen
    #   @api public
    #   @since 0.1.0

    # Whether every given attribute is present and equal, compared strictly: ASCII case and
    # insignificant spaces (U+0020) only, so that what is equal here is equal to OpenSSL's
    # `X509_NAME_cmp` too (`"\u212Aubelet"` with KELVIN SIGN is not `"kubelet"`); every other
    # character, control characters included, is significant.
    #
    # A String value must be the type's only value: a name with `CN=alice` and `CN=admin`
    # matches neither `CN: "alice"` nor `CN: "admin"` (fail closed against smuggled duplicates).
    # An Array value must equal the type's values as a set (`OU: %w[Ops Deploy]`).
    #
    # @param conditions [Hash{String, Symbol => String, Array<String>}]
    # @return [Boolean]
    # @raise [ArgumentError] for an empty Hash or an unknown type name
    # @api public
    # @since 0.1.0
    def match?(conditions = nil, **kwargs)
      conditions = (conditions || {}).to_h.merge(kwargs)
      raise ArgumentError, "match? needs at least one attribute, e.g. match?(CN: \"operator\")" if conditions.empty?

      _match(conditions.map { |type, value| [type_name(type), match_values(type, value)] })
    end

    # RFC 5280 equality: same RDNs in the same order, attribute sets equal, values compared
    # strictly as in {#match?} (a subset of what OpenSSL's `X509::Name#cmp` calls equal).
    #
    # @param other [Object]
    # @return [Boolean]
    # @api public
    # @since 0.1.0
    def ==(other)
      other.is_a?(DistinguishedName) && _same?(other)
    end
    alias eql? ==

    # @return [Integer] a hash code consistent with {#==}
    # @api public
    # @since 0.1.0
    def hash
      _canonical.hash
    end

    # @return [Boolean] whether the name has no attribute
    # @api public
    # @since 0.1.0
    def empty?
      size.zero?
    end

    # @return [String] the name in RFC 4514 form, for logs and consoles
    # @api public
    # @since 0.1.0
    def inspect
      "#<#{self.class.name} #{to_s.inspect}>"
    end

    private

    def type_name(type)
      case type
      when String then type
      when Symbol then type.name
      else raise TypeError, "an attribute type is a String or Symbol (\"CN\", :O), not #{type.class}"
      end
    end

    def match_values(type, value)
      case value
      when String then [value]
      when Array
        value.map do |v|
          raise TypeError, "match? values for #{type} must be Strings, not #{v.class}" unless v.is_a?(String)

          v
        end
      else raise TypeError, "match? value for #{type} must be a String or an Array of Strings, not #{value.class}"
      end
    end
  end
end
