# frozen_string_literal: true

require_relative "certificate"

module HanamiGuard
  # Envoy's `x-forwarded-client-cert` header.
  #
  # Believe it only when the request came from a proxy you trust (the middleware checks that):
  # anyone can send the header.
  #
  # @example
  #   require "hanami_guard/testing"   # given: the header Envoy sends for a client of a test CA
  #   require "erb"
  #   leaf = HanamiGuard::Testing::CA.new.issue(subject: "CN=operator")
  #   header = %(Hash=#{leaf.fingerprint};Cert="#{ERB::Util.url_encode(leaf.to_pem)}")
  #   env  = { "HTTP_X_FORWARDED_CLIENT_CERT" => header }
  #
  #   elements = HanamiGuard::Xfcc.parse(env["HTTP_X_FORWARDED_CLIENT_CERT"])   # only from a trusted proxy
  #   cert = HanamiGuard::Xfcc.certificate(elements.last)   # => the Certificate, its Hash checked
  #
  # @api public
  # @since 0.1.0
  module Xfcc
    # The keys Envoy defines, in canonical case.
    KEYS = %w[By Hash Cert Chain Subject URI DNS].freeze

    class << self
      # Parses the header by Envoy's grammar: elements split by `,`, pairs by `;`, values
      # optionally double-quoted (`\"` escapes). Keys are case-insensitive and come back in
      # canonical case; `URI` and `DNS` are always Arrays; `Cert` and `Chain` are URL-decoded.
      #
      # @param header [String]
      # @return [Array<Hash{String => String, Array<String>}>] frozen, one Hash per element
      # @raise [TypeError] if `header` is not a String
      # @raise [HanamiGuard::CertificateError] for a malformed header: empty, an empty or
      #   unknown key, an unterminated quote, `,;="` outside quotes, a second By, Hash, Cert,
      #   Chain or Subject in one element, bad URL encoding
      # @api public
      # @since 0.1.0
      def parse(header)
        raise TypeError, "Xfcc.parse takes the header String, not #{header.class}" unless header.is_a?(String)

        _parse(header)
      end

      # The client certificate of an element.
      #
      # @param element [Hash] one element from {.parse}
      # @return [Certificate, nil] nil when the element has no `Cert`
      # @raise [HanamiGuard::CertificateError] if `Cert` is not one certificate in PEM and nothing
      #   else (two are `:multiple_certificates`: Envoy sends the one client certificate), or
      #   `Hash` is present and is not the certificate's SHA-256 (`:xfcc_hash`)
      # @api public
      # @since 0.1.0
      def certificate(element)
        pem = fetch(element, "Cert")
        return nil if pem.nil?

        cert = Certificate.send(:_parse_pem_one, pem)
        check_hash(element, cert)
        cert
      end

      # The client chain of an element (Envoy's `Chain` starts with the leaf).
      #
      # @param element [Hash] one element from {.parse}
      # @return [Array<Certificate>] empty when the element has no `Chain`
      # @raise [HanamiGuard::CertificateError] as for {.certificate}, checking `Hash` against the
      #   first certificate of the chain
      # @api public
      # @since 0.1.0
      def chain(element)
        pem = fetch(element, "Chain")
        return [].freeze if pem.nil?

        certs = Certificate.parse_chain(pem)
        check_hash(element, certs.first)
        certs
      end

      private

      def fetch(element, key)
        raise TypeError, "an XFCC element is a Hash from Xfcc.parse, not #{element.class}" unless element.is_a?(Hash)

        value = element[key]
        return nil if value.nil?
        raise TypeError, "XFCC #{key} must be a String, not #{value.class}" unless value.is_a?(String)

        value
      end

      def check_hash(element, cert)
        expected = fetch(element, "Hash")
        _check_hash(expected, cert) unless expected.nil?
      end
    end
  end
end
