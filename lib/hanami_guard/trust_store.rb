# frozen_string_literal: true

require_relative "certificate"

module HanamiGuard
  # Pinned CA certificates, against which client certificates are verified for client
  # authentication (EKU clientAuth required; a keyUsage, when present, must allow
  # digitalSignature or keyAgreement) with rustls-webpki.
  #
  # Build it once at boot; it is immutable and frozen, so Puma threads share it without locks.
  #
  # Puma gives the app only the leaf certificate, never the chain the client sent: pin the CA
  # that issues the leaves, or pass the intermediates to {#verify}.
  #
  # @example
  #   TRUST = HanamiGuard::TrustStore.new(File.read("config/ca.pem"))
  #   TRUST.verify(cert)                     # => cert, or raises UntrustedCertificate
  #   TRUST.verified?(cert, intermediates: [ica])
  #
  # @api public
  # @since 0.1.0
  class TrustStore
    # The most intermediates {#verify} accepts.
    MAX_INTERMEDIATES = 8

    class << self
      # @param ca_pem [String] a PEM bundle; its CA certificates (basicConstraints CA:TRUE) are
      #   pinned, others are ignored
      # @param crls [Array<String>] CRLs, PEM or DER
      # @return [TrustStore]
      # @raise [TypeError] for non-String arguments
      # @raise [HanamiGuard::ConfigurationError] for an empty or malformed bundle, a bundle without
      #   a CA, or a malformed CRL
      # @api public
      # @since 0.1.0
      def new(ca_pem, crls: [])
        unless ca_pem.is_a?(String)
          raise TypeError,
                "TrustStore.new takes the CA bundle as a PEM String, not #{ca_pem.class}"
        end

        crls = Array(crls)
        crls.each do |crl|
          raise TypeError, "crls: takes PEM or DER Strings, not #{crl.class}" unless crl.is_a?(String)
        end
        _new(ca_pem, crls)
      end
    end

    # Verifies a certificate for client authentication.
    #
    # @param cert [Certificate, OpenSSL::X509::Certificate, String]
    # @param intermediates [Array<Certificate, OpenSSL::X509::Certificate, String>] at most 8
    # @param at [Time] the verification time
    # @return [Certificate] the verified certificate
    # @raise [HanamiGuard::UntrustedCertificate] with #reason `:expired`, `:not_yet_valid`,
    #   `:unknown_issuer`, `:bad_signature`, `:missing_client_auth`, `:revoked` or `:invalid`
    # @raise [HanamiGuard::CertificateError] if `cert` or an intermediate is not a certificate
    # @api public
    # @since 0.1.0
    def verify(cert, intermediates: [], at: Time.now)
      cert = coerce(cert)
      _verify(cert, coerce_chain(intermediates), Certificate.unix_seconds(at, "verify"))
      cert
    end

    # Like {#verify}, as a boolean.
    #
    # @return [Boolean]
    # @api public
    # @since 0.1.0
    def verified?(cert, intermediates: [], at: Time.now)
      _reason(coerce(cert), coerce_chain(intermediates), Certificate.unix_seconds(at, "verified?")).nil?
    rescue CertificateError, UntrustedCertificate
      false
    end

    # @api public
    # @since 0.1.0
    def inspect
      "#<#{self.class.name} cas=#{size}>"
    end

    private

    def coerce(cert)
      cert.is_a?(Certificate) ? cert : Certificate.parse(cert)
    end

    def coerce_chain(intermediates)
      list = Array(intermediates)
      if list.size > MAX_INTERMEDIATES
        raise UntrustedCertificate.new(
          "#{list.size} intermediates given; at most #{MAX_INTERMEDIATES} are accepted: send only the " \
          "chain from the leaf to the pinned CA", reason: :invalid
        )
      end
      list.map { |c| coerce(c) }
    end
  end
end
