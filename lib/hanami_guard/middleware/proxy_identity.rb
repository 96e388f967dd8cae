# frozen_string_literal: true

module HanamiGuard
  module Middleware
    # The certificate a trusted proxy presents to Puma when it connects (Envoy's upstream
    # `tls_context` with a client certificate, nginx `proxy_ssl_certificate`, HAProxy `server ...
    # crt`). {ClientIdentity} believes a forwarded certificate header only on a connection whose
    # TLS peer matches one of these, because an address range alone also holds every other pod
    # or host that can reach the app directly and send the header itself (Puma reads
    # `X_Forwarded_Client_Cert` as `X-Forwarded-Client-Cert`).
    #
    # Each entry is a Hash; every key given must match, and any one entry is enough:
    # - `fingerprint:` SHA-256 of the proxy certificate's DER (hex, colons allowed): a pin, so
    #   no CA is involved;
    # - `subject:` an RFC 4514 DN (or a {DistinguishedName}), compared as a name;
    # - `spiffe_id:` the proxy's SPIFFE ID (a {SpiffeId} or String).
    # A name is only as good as the CA that signed it (Puma may accept a wider CA bundle than the
    # app pins), so an entry with `subject:` or `spiffe_id:` also needs the proxy's certificate to
    # verify against `proxy_trust:` (by default the middleware's `trust:`).
    #
    # @api private
    class ProxyIdentity
      KEYS = %i[fingerprint subject spiffe_id].freeze
      FINGERPRINT = /\A\h{2}(?::?\h{2}){31}\z/

      # @param entries [Hash, Array<Hash>] see the class comment
      # @param trust [#verify, nil] verifies the proxy's certificate for name entries
      # @raise [ArgumentError, TypeError] on a wrong configuration
      def initialize(entries, trust)
        list = entries.is_a?(Hash) ? [entries] : entries
        unless list.is_a?(Array) && !list.empty? && list.all?(Hash)
          raise TypeError, "proxy_identity: must be a Hash or an Array of Hashes, e.g. " \
                           "proxy_identity: { spiffe_id: \"spiffe://prod.example.org/ns/edge/sa/envoy\" }"
        end

        @entries = list.map { |entry| compile(entry) }.freeze
        if trust.nil? && @entries.any? { |entry| entry.key?(:subject) || entry.key?(:spiffe_id) }
          raise ArgumentError, "proxy_identity: a subject: or spiffe_id: is only as good as the CA that " \
                               "issued it: give trust: (or proxy_trust:) a TrustStore that pins the " \
                               "proxy's CA, or pin the proxy by fingerprint: instead"
        end

        @trust = trust
        freeze
      end

      # @param peer [OpenSSL::X509::Certificate, String, nil] Puma's TLS peer certificate
      # @return [Boolean] whether the TLS peer is one of the configured proxies
      def match?(peer)
        return false if peer.nil?

        cert = HanamiGuard::Certificate.parse(peer)
        @entries.any? { |entry| entry_matches?(entry, cert) }
      rescue CertificateError
        false
      end

      private

      def entry_matches?(entry, cert)
        return false if entry.key?(:fingerprint) && cert.fingerprint != entry[:fingerprint]
        return false if entry.key?(:subject) && cert.subject != entry[:subject]
        return false if entry.key?(:spiffe_id) && cert.spiffe_id != entry[:spiffe_id]
        return true unless entry.key?(:subject) || entry.key?(:spiffe_id)

        @trust.verify(cert, intermediates: [])
        true
      rescue UntrustedCertificate
        false
      end

      def compile(entry)
        unknown = entry.keys - KEYS
        if entry.empty? || !unknown.empty?
          raise ArgumentError, "proxy_identity: each entry takes #{KEYS.map { |k| "#{k}:" }.join(", ")} " \
                               "(got #{entry.keys.map(&:inspect).join(", ")[0, 80]})"
        end

        entry.to_h { |key, value| [key, convert(key, value)] }.freeze
      end

      def convert(key, value)
        case key
        when :fingerprint then fingerprint(value)
        when :subject then value.is_a?(DistinguishedName) ? value : DistinguishedName.parse(String(value))
        else value.is_a?(SpiffeId) ? value : SpiffeId.parse(String(value))
        end
      rescue CertificateError, TypeError => e
        raise ArgumentError, "proxy_identity: #{key}: is not valid: #{e.message}"
      end

      def fingerprint(value)
        text = value.is_a?(String) ? value.strip : ""
        unless text.match?(FINGERPRINT)
          raise ArgumentError, "proxy_identity: fingerprint: must be the SHA-256 of the proxy certificate's " \
                               "DER in hex (openssl x509 -in proxy.crt -noout -fingerprint -sha256)"
        end

        text.delete(":").downcase.freeze
      end
    end
  end
end
