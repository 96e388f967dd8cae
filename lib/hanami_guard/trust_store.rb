# frozen_string_literal: true

require_relative "certificate"

module HanamiGuard
  # Pinned CA certificates, against which client certificates are verified for client
  # authentication (EKU clientAuth required, or with `client_auth: :when_present` only when the
  # leaf has an EKU, as OpenSSL does; a keyUsage, when present, must allow digitalSignature or
  # keyAgreement) with rustls-webpki.
  #
  # Build it once at boot; it is immutable and frozen, so Puma threads share it without locks.
  #
  # Puma gives the app only the leaf certificate, never the chain the client sent: pin the CA
  # that issues the leaves, or pass the intermediates to {#verify}.
  #
  # @example A two-tier PKI: Puma hands the app only the leaf
  #   require "hanami_guard/testing"            # given: a test root and intermediate; yours has the same shape
  #   ca   = HanamiGuard::Testing::CA.new
  #   cert = ca.issue(subject: "CN=operator")   # the leaf, all Puma passes on
  #
  #   TRUST = HanamiGuard::TrustStore.new(ca.intermediate_pem)   # pin the CA that issues the leaves
  #   TRUST.verify(cert)                        # => cert, or raises UntrustedCertificate (#reason)
  #   ROOTS = HanamiGuard::TrustStore.new(ca.to_pem)             # or pin the root...
  #   ROOTS.verified?(cert, intermediates: [ca.intermediate])   # => true (...and pass the intermediate)
  #   ROOTS.verified?(cert)                     # => false: :unknown_issuer
  #
  # @api public
  # @since 0.1.0
  class TrustStore
    # @!parse
    #   # The most intermediates {#verify} accepts (the core's limit, set by the extension).
    #   MAX_INTERMEDIATES = 8
    # How many verified chains a store keeps unless told otherwise (`cache_size:`).
    DEFAULT_CACHE_SIZE = 1024

    class << self
      # @param ca_pem [String, nil] a PEM bundle; its CA certificates (basicConstraints CA:TRUE) are
      #   pinned, others are ignored. May be nil when `bundles:` are given.
      # @param crls [Array<String>] CRLs, PEM or DER; a revocation in any of them counts
      # @param bundles [Hash{String => String}] SPIFFE trust bundles by trust domain
      #   (`"prod.example.org" => File.read("prod.bundle.json")`): the SPIFFE bundle format (a JWK
      #   Set with `x509-svid` keys) or a PEM bundle of that domain's CAs. With bundles, a
      #   certificate with a `spiffe:` URI verifies only against its own trust domain's bundle,
      #   and the CAs of `ca_pem` only certificates without one.
      # @param client_auth [Symbol] `:required` (the default: a leaf's extendedKeyUsage must list
      #   clientAuth) or `:when_present` (OpenSSL's rule, for older PKIs: a leaf without
      #   extendedKeyUsage passes, one whose extendedKeyUsage lacks clientAuth does not)
      # @param cache_size [Integer] how many verified chains to keep (0: none). A chain that
      #   verified is answered from this cache until the first notAfter or CRL nextUpdate involved
      #   (see {#cache_stats}); at most 1,048,576. With a cache, the store also remembers the CA
      #   signatures over intermediates and CRLs it checked (a few hundred), so a new leaf under
      #   a known intermediate costs one signature check; 0 remembers nothing
      # @return [TrustStore]
      # @raise [TypeError] for non-String arguments
      # @raise [ArgumentError] for a `client_auth:` other than `:required` or `:when_present`
      # @raise [HanamiGuard::ConfigurationError] for an empty or malformed bundle, a bundle without
      #   a CA, a malformed CRL, or a malformed trust domain or SPIFFE bundle
      # @api public
      # @since 0.1.0
      def new(ca_pem = nil, crls: [], bundles: {}, client_auth: :required, cache_size: DEFAULT_CACHE_SIZE)
        unless ca_pem.is_a?(String) || (ca_pem.nil? && bundles.is_a?(Hash) && !bundles.empty?)
          raise TypeError,
                "TrustStore.new takes the CA bundle as a PEM String (nil only with bundles:), not #{ca_pem.class}"
        end

        crls = Array(crls)
        crls.each do |crl|
          raise TypeError, "crls: takes PEM or DER Strings, not #{crl.class}" unless crl.is_a?(String)
        end
        _new(ca_pem, crls, bundle_pairs(bundles), mode_name(client_auth), cache_size_arg(cache_size))
      end

      # A TrustStore read from files, which {#reload!} re-reads: for CAs that rotate (SPIRE),
      # since Puma cannot reload its own CA.
      #
      # @example
      #   require "hanami_guard/testing"   # given: the CA file (SPIRE or your PKI writes it)
      #   File.write("ca.pem", HanamiGuard::Testing::CA.new.intermediate_pem)
      #
      #   TRUST = HanamiGuard::TrustStore.load(ca_file: "ca.pem")   # also crl_files: [...],
      #   # bundle_files: { "prod.example.org" => "prod.bundle.json" }
      #   Signal.trap("HUP") { Thread.new { TRUST.reload! } }
      #
      # @param ca_file [String, Pathname, nil] the PEM bundle of pinned CAs (nil only with bundle_files:)
      # @param crl_files [Array<String, Pathname>] CRL files, PEM or DER
      # @param bundle_files [Hash{String => String, Pathname}] trust domain => SPIFFE or PEM bundle file
      # @param client_auth [Symbol] as {.new}; kept across {#reload!}
      # @param cache_size [Integer] as {.new}; the cache is emptied by every {#reload!}
      # @return [TrustStore]
      # @raise [TypeError] for arguments of the wrong type
      # @raise [HanamiGuard::ConfigurationError] as {.new}
      # @raise [SystemCallError] a file cannot be read (Errno::ENOENT, ...)
      # @api public
      # @since 0.1.0
      def load(ca_file: nil, crl_files: [], bundle_files: {}, client_auth: :required, cache_size: DEFAULT_CACHE_SIZE)
        ca_file = file_path(ca_file, "ca_file:") unless ca_file.nil?
        if ca_file.nil? && (!bundle_files.is_a?(Hash) || bundle_files.empty?)
          raise TypeError, "TrustStore.load needs ca_file: \"config/ca.pem\", " \
                           "bundle_files: { \"prod.example.org\" => \"bundle.json\" }, or both"
        end

        crl_files = Array(crl_files).map { |c| file_path(c, "crl_files:") }
        pairs = bundle_pairs(bundle_files) { |file| file_path(file, "bundle_files:") }
        _load(ca_file, crl_files, pairs, mode_name(client_auth), cache_size_arg(cache_size))
      end

      private

      # The core knows the modes and refuses any other name (ArgumentError listing them).
      def mode_name(client_auth)
        client_auth.is_a?(Symbol) ? client_auth.to_s : client_auth.inspect
      end

      def cache_size_arg(value)
        raise TypeError, "cache_size: takes an Integer (e.g. 1024), not #{value.class}" unless value.is_a?(Integer)

        value
      end

      def file_path(value, name)
        value = value.to_path if value.respond_to?(:to_path)
        raise TypeError, "#{name} takes file paths (String or Pathname), not #{value.class}" unless value.is_a?(String)

        value
      end

      def bundle_pairs(bundles)
        unless bundles.is_a?(Hash)
          raise TypeError, "bundles: takes a Hash of trust domain => bundle String, not #{bundles.class}"
        end

        bundles.map do |td, body|
          td = td.to_s if td.is_a?(Symbol)
          body = yield(body) if block_given?
          unless td.is_a?(String) && body.is_a?(String)
            raise TypeError, "bundles: takes trust domain Strings to bundle Strings, not #{td.class} => #{body.class}"
          end

          [td, body]
        end
      end
    end

    # Verifies a certificate for client authentication.
    #
    # @param cert [Certificate, OpenSSL::X509::Certificate, String]
    # @param intermediates [Array<Certificate, OpenSSL::X509::Certificate, String>] at most 8
    # @param at [Time] the verification time
    # @return [Certificate] the verified certificate, as a new equal object that carries the CA
    #   keys of the verified path ({Certificate#verified_issuer_keys}), which a policy's
    #   `issuer_key:` condition reads; give the policy this object, not the one passed in
    # @raise [HanamiGuard::UntrustedCertificate] with #reason `:expired`, `:not_yet_valid`,
    #   `:unknown_issuer`, `:bad_signature`, `:missing_client_auth`, `:revoked` or `:invalid`
    # @raise [HanamiGuard::CertificateError] if `cert` or an intermediate is not a certificate
    # @api public
    # @since 0.1.0
    def verify(cert, intermediates: [], at: Time.now)
      _verify(coerce(cert), coerce_chain(intermediates), Certificate.unix_seconds(at, "verify"))
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

    # @!method reload!
    #   Re-reads the files of a store built by {.load}. When they changed and are all valid, the
    #   new CAs, bundles and CRLs are in force for every later verification, in every thread. When
    #   a file is missing, unreadable, malformed or changing while read, the last good set stays in
    #   force and the error is raised: a broken rotation never fails open. A successful reload
    #   empties the verified-chain cache ({#cache_stats}).
    #   @return [Boolean] true when a new set is in force, false when the files are unchanged
    #   @raise [ConfigurationError] a file is malformed (the last good set is kept), or the store
    #     was built by {.new}
    #   @raise [SystemCallError] a file cannot be read (the last good set is kept)
    #   @api public
    #   @since 0.1.0

    # @!method client_auth
    #   @return [Symbol] `:required` or `:when_present`, as given to {.new} or {.load}
    #   @api public
    #   @since 0.2.0

    # @!method cache_stats
    #   The verified-chain cache: a chain that verified once is answered from it, with the same
    #   result, until the first notAfter among its certificates and the pinned CAs, or the first
    #   nextUpdate among the CRLs; a different chain (another intermediate under the same leaf)
    #   never reads another's entry, a refusal is never cached, and {#reload!} empties it.
    #   @return [Hash{Symbol => Integer}] frozen: `capacity:`, `size:` (chains held), `hits:`,
    #     `misses:` (verifications that ran in full, refusals included)
    #   @api public
    #   @since 0.2.0

    # @!method reloadable?
    #   @return [Boolean] whether the store was built by {.load}
    #   @api public
    #   @since 0.1.0

    # @return [String] the anchors' subjects and trust domains, for logs and consoles
    # @api public
    # @since 0.1.0
    def inspect
      domains = trust_domains
      return "#<#{self.class.name} cas=#{size}>" if domains.empty?

      "#<#{self.class.name} cas=#{size} trust_domains=#{domains.join(",")}>"
    end

    private

    def coerce(cert)
      cert.is_a?(Certificate) ? cert : Certificate.parse(cert)
    end

    # Parsed certificates go to the core as they are (it applies its length limit first); a
    # list with anything to parse is held to that limit before any of it is parsed.
    def coerce_chain(intermediates)
      list = Array(intermediates)
      return list if list.all?(Certificate)

      self.class.send(:_check_chain_length, list.size)
      list.map { |c| coerce(c) }
    end
  end
end
