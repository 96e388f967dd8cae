# frozen_string_literal: true

require "openssl"
require "time"
require_relative "distinguished_name"
require_relative "spiffe_id"

module HanamiGuard
  # An X.509 certificate, parsed once by the Rust core. Every field is read from that one parse;
  # returned Strings and Arrays are frozen. The object is immutable and frozen: share it between
  # threads freely.
  #
  # @example
  #   require "hanami_guard/testing"   # given: the env Puma builds for a client of a test CA
  #   leaf = HanamiGuard::Testing::CA.new.issue(subject: "CN=operator,O=MyOrg",
  #                                            spiffe_id: "spiffe://prod.example.org/ns/ops/sa/deployer")
  #   env  = HanamiGuard::Testing.puma_env("/", certificate: leaf)
  #
  #   cert = HanamiGuard::Certificate.parse(env["puma.peercert"])
  #   cert.subject["CN"]   # => "operator"
  #   cert.spiffe_id&.to_s # => "spiffe://prod.example.org/ns/ops/sa/deployer"
  #   cert.fingerprint     # => "3f2a..." (SHA-256 of the DER, lowercase hex)
  #
  # @api public
  # @since 0.1.0
  class Certificate
    class << self
      # @!method parse(input)
      #   Parses one certificate. (Defined in the extension: one call on the hot path.)
      #
      #   @param input [String, OpenSSL::X509::Certificate] PEM text (the first CERTIFICATE block
      #     is used, other block types are skipped), DER bytes, or an OpenSSL certificate (read
      #     through `#to_der`, as Puma's `env["puma.peercert"]`)
      #   @return [Certificate]
      #   @raise [TypeError] for any other type
      #   @raise [HanamiGuard::CertificateError] for empty input, bad base64, truncated DER, bytes
      #     after the DER, more than 64 KiB, or a key or CSR instead of a certificate
      #   @api public
      #   @since 0.1.0

      # Parses every CERTIFICATE block of a PEM bundle, in order.
      #
      # @param input [String] a PEM bundle (or one DER certificate)
      # @return [Array<Certificate>] frozen, never empty
      # @raise [TypeError] if `input` is not a String
      # @raise [HanamiGuard::CertificateError] if a block is malformed or there is no certificate
      # @api public
      # @since 0.1.0
      def parse_chain(input)
        raise TypeError, "Certificate.parse_chain takes a PEM String, not #{input.class}" unless input.is_a?(String)

        _parse_chain(input)
      end

      # @api private
      def new(*)
        raise NoMethodError, "use HanamiGuard::Certificate.parse(pem_der_or_openssl_certificate)"
      end
    end

    # @!method subject
    #   @return [DistinguishedName]
    # @!method issuer
    #   @return [DistinguishedName]
    # @!method serial
    #   @return [String] the serial number, lowercase hex without leading zeros
    # @!method fingerprint
    #   @return [String] SHA-256 of the DER, lowercase hex
    # @!method dns_names
    #   @return [Array<String>] subjectAltName DNS names
    # @!method uris
    #   @return [Array<String>] subjectAltName URIs (all of them, never reduced to one)
    # @!method emails
    #   @return [Array<String>] subjectAltName rfc822Name entries
    # @!method ip_addresses
    #   @return [Array<String>] subjectAltName IP addresses (IPv4 dotted, IPv6 RFC 5952 text)
    # @!method spiffe_id
    #   @return [SpiffeId, nil] only when there is exactly one URI SAN and it is a SPIFFE ID
    # @!method svid?
    #   @return [Boolean] whether the certificate is a valid X509-SVID leaf: one URI SAN that is
    #     a SPIFFE ID with a path, not a CA, digitalSignature, neither keyCertSign nor cRLSign
    # @!method verified_issuer_keys
    #   @return [Array<String>, nil] the SPKI SHA-256 (hex) of each CA on the path a TrustStore
    #     verified, issuer first, pinned CA last; nil unless this object came from
    #     {TrustStore#verify}. A policy's `issuer_key:` reads these and nothing else.
    # @!method client_auth?
    #   @return [Boolean] whether the extended key usage contains clientAuth
    # @!method ca?
    #   @return [Boolean] whether basicConstraints says CA
    # @!method key_usage
    #   @return [Array<Symbol>] e.g. `[:digital_signature, :key_encipherment]`
    # @!method to_der
    #   @return [String] the DER (binary)
    # @!method to_pem
    #   @return [String]

    # @return [Time] notBefore, UTC
    # @api public
    # @since 0.1.0
    def not_before
      Time.at(_not_before).utc
    end

    # @return [Time] notAfter, UTC
    # @api public
    # @since 0.1.0
    def not_after
      Time.at(_not_after).utc
    end

    # Whether `time` lies within the validity period (both ends included).
    #
    # @param time [Time, Integer] a Time or Unix seconds
    # @return [Boolean]
    # @api public
    # @since 0.1.0
    def valid_at?(time = Time.now)
      _valid_at(Certificate.unix_seconds(time, "valid_at?"))
    end

    # Plain data for logs and JSON: Strings, Arrays, booleans and nil only.
    #
    # @return [Hash{Symbol => Object}]
    # @api public
    # @since 0.1.0
    def to_h
      {
        subject: subject.to_s, issuer: issuer.to_s, serial:,
        not_before: not_before.iso8601, not_after: not_after.iso8601,
        fingerprint:, dns_names:, uris:, emails:,
        ip_addresses:, spiffe_id: spiffe_id&.to_s, svid: svid?,
        ca: ca?, client_auth: client_auth?, key_usage: key_usage.map(&:to_s)
      }
    end

    # Only the subject and the fingerprint: never the whole certificate in a log.
    #
    # @api public
    # @since 0.1.0
    def inspect
      "#<#{self.class.name} subject=#{subject.to_s.inspect} fingerprint=#{fingerprint}>"
    end
    alias to_s inspect

    # Certificates are equal when their DER is.
    #
    # @api public
    # @since 0.1.0
    def ==(other)
      other.is_a?(Certificate) && _same?(other)
    end
    alias eql? ==

    # @return [Integer] a hash code consistent with {#==} (from the fingerprint)
    # @api public
    # @since 0.1.0
    def hash
      fingerprint.hash
    end

    # @api private
    def self.unix_seconds(time, method)
      case time
      when Time then time.to_i
      when Integer then time
      else
        return time.to_time.to_i if time.respond_to?(:to_time)

        raise TypeError, "#{method} takes a Time (or Unix seconds), not #{time.class}"
      end
    end
  end
end
