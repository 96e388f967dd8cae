# frozen_string_literal: true

require "ipaddr"
require "openssl" # Puma 5.6 raises NameError on env["puma.peercert"] unless openssl is loaded
require_relative "proxy_identity"
require_relative "forwarded_certificate"

module HanamiGuard
  # Rack middleware.
  #
  # @api public
  # @since 0.1.0
  module Middleware
    # Rack middleware that turns the client certificate of a request into a
    # {HanamiGuard::Certificate} at `env["hanami_guard.identity"]`, and answers 401 when the
    # certificate is missing (with `required: true`), malformed or untrusted.
    #
    # Where the certificate comes from:
    # - `source: :puma`: `env["puma.peercert"]`, only when `env["HTTPS"]` is set (Puma terminates
    #   TLS itself). Puma hands over the leaf only, never the chain the client sent: give
    #   `intermediates:` or pin the issuing CA in `trust:`.
    # - `header: NAME, format: FORMAT, trusted_proxies: [CIDR, ...], proxy_identity: {...}`: a
    #   certificate forwarded by a proxy that terminated TLS. The header is believed only when
    #   `REMOTE_ADDR` is inside one of `trusted_proxies` and, with `proxy_identity:`, when Puma's
    #   TLS peer is the proxy's own certificate (see {ProxyIdentity}); from anyone else it is
    #   ignored and an `:untrusted_proxy` event is reported. An address range alone also holds
    #   every other host that can reach the app directly, and Puma reads a header spelled
    #   `X_Forwarded_Client_Cert` as `X-Forwarded-Client-Cert`, so prefer `proxy_identity:` and
    #   make the proxy drop header names with underscores (docs/middleware.md says how, per proxy).
    #   `header:` needs `trust:` (a TrustStore), or `trust: :proxy_verified` to say the proxy
    #   verifies client certificates against your CA itself. Formats: `:xfcc` (Envoy's
    #   x-forwarded-client-cert, intermediates from its `Chain`), `:pem_escaped` (nginx
    #   `$ssl_client_escaped_cert`, AWS ALB), `:pem` (a PEM whose line breaks became spaces),
    #   `:der_base64` (base64 DER, optionally `:colon-wrapped:` as in RFC 9440's Client-Cert).
    #   `chain_header:` names a header with the intermediates in the same format
    #   (comma-separated for `:der_base64`). The client certificate header must hold
    #   exactly one certificate, in every format: Puma joins repeated header lines with ", ", so
    #   a client's own line and the proxy's arrive as one value, refused as
    #   `multiple_certificates`.
    #   `REMOTE_ADDR` must be the address of the TCP peer: do not let Puma
    #   (`set_remote_address header: ...`) or an earlier middleware rewrite it from X-Forwarded-For.
    # - both (`source: :puma, header: ...`): a request from a trusted proxy is judged by the header
    #   only (the proxy's own TLS certificate is never taken for the client's); any other request
    #   by Puma's peer certificate.
    #
    # A header over `max_header_bytes` (16 KiB) is refused before it is parsed. XFCC must hold
    # exactly one element: Puma joins repeated header lines with ", ", so a header sent by the
    # client plus the one appended by the proxy arrive as two. `xfcc_element: :last` takes the last
    # one, the element your trusted hop appended; use it only when that hop appends
    # (`forward_client_cert_details: APPEND_FORWARD`) rather than replaces (`SANITIZE_SET`).
    #
    # The middleware changes nothing in env except its own key, which it always removes or sets,
    # so a value planted there by an earlier middleware never reaches the app.
    #
    # Reason codes (the default 401 body is `unauthorized: CODE`): `missing_certificate`,
    # `header_too_large`, `multiple_xfcc_elements`, `multiple_certificates` (two certificates in
    # one header value or one XFCC `Cert`), `malformed_certificate`, and the
    # {UntrustedCertificate#reason} of a failed verification (`expired`, `unknown_issuer`, ...).
    #
    # Thread safety: built once at boot, frozen, shared by every Puma thread.
    #
    # @example config/app.rb [parse-only: a line of a Hanami app file]
    #   config.middleware.use HanamiGuard::Middleware::ClientIdentity,
    #     source: :puma, trust: HanamiGuard::TrustStore.new(File.read("config/ca.pem"))
    #
    # @example behind Envoy, in a config.ru
    #   require "hanami_guard/testing"   # given: the CA that issues the clients' certificates
    #   File.write("ca.pem", HanamiGuard::Testing::CA.new.intermediate_pem)
    #
    #   require "logger"
    #   require "rack"
    #   LOGGER = Logger.new($stderr)
    #   app = Rack::Builder.app do
    #     use HanamiGuard::Middleware::ClientIdentity,
    #       header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["10.0.0.0/8"],
    #       trust: HanamiGuard::TrustStore.new(File.read("ca.pem")), on_report: ->(event) { LOGGER.warn(event) }
    #     run ->(env) { [200, {}, [env["hanami_guard.identity"].subject.to_s]] }
    #   end
    #
    # @api public
    # @since 0.1.0
    class ClientIdentity
      # The Rack env key holding the {HanamiGuard::Certificate}.
      ENV_KEY = "hanami_guard.identity"

      # A certificate the trust store refused: the reason, the verifier's message, and the
      # certificate (for the report; never passed on).
      Rejection = Struct.new(:reason, :message, :certificate)
      private_constant :Rejection

      # The Rack env key set to true on every request this middleware passed on.
      CHECKED_KEY = "hanami_guard.checked"
      # Forwarded certificate headers larger than this are refused before parsing.
      MAX_HEADER_BYTES = 16 * 1024
      # The header formats understood.
      FORMATS = %i[xfcc pem_escaped pem der_base64].freeze
      # Which XFCC element to take.
      XFCC_ELEMENTS = %i[only last].freeze

      # @param app [#call] the next Rack app
      # @param source [:puma, nil] read Puma's peer certificate
      # @param header [String, nil] the forwarded certificate header, e.g. "X-Forwarded-Client-Cert"
      # @param format [Symbol, nil] one of {FORMATS}; required with header:
      # @param chain_header [String, nil] a header with the intermediates (not with :xfcc)
      # @param trusted_proxies [Array<String, IPAddr>] CIDRs or addresses whose headers are believed
      # @param proxy_identity [Hash, Array<Hash>, nil] the proxy's own TLS certificate, by
      #   `fingerprint:`, `subject:` or `spiffe_id:` (see {ProxyIdentity}); the header is believed
      #   only on a connection whose Puma peer certificate matches
      # @param proxy_trust [HanamiGuard::TrustStore, nil] verifies the proxy's certificate when
      #   `proxy_identity:` names it by subject or SPIFFE ID (default: `trust:`)
      # @param trust [HanamiGuard::TrustStore, :proxy_verified, nil] verify the client's chain;
      #   nil is allowed with `source: :puma` only (Puma verified it); with `header:` say
      #   `:proxy_verified` to rely on the proxy's own verification
      # @param intermediates [Array<HanamiGuard::Certificate>] extra intermediates for verification
      # @param required [Boolean] answer 401 when there is no certificate (false: the app decides)
      # @param on_failure [#call, nil] `call(env, reason_code)` => a Rack response, instead of 401
      # @param on_report [#call, nil] `call(event)` with a frozen Hash: `:event` (`:untrusted_proxy`
      #   or `:rejected`), `:reason` (for `:untrusted_proxy`: `:untrusted_address` or
      #   `:unverified_proxy`), `:remote_addr`, `:header`; for logging and alerting
      # @param xfcc_element [:only, :last]
      # @param max_header_bytes [Integer]
      # @raise [ArgumentError, TypeError] on a wrong configuration
      def initialize(app, source: nil, header: nil, format: nil, chain_header: nil, trusted_proxies: [],
                     proxy_identity: nil, proxy_trust: nil, trust: nil, intermediates: [], required: true,
                     on_failure: nil, on_report: nil, xfcc_element: :only, max_header_bytes: MAX_HEADER_BYTES)
        @app = app
        @puma = check_source(source, header)
        @header_key, @format, @chain_key = check_header(header, format, chain_header)
        @header_name = header
        @decoder = ForwardedCertificate.new(@format)
        @proxies = check_proxies(trusted_proxies, header, proxy_identity)
        @trust = check_trust(trust, header)
        @proxy_identity = check_proxy_identity(proxy_identity, proxy_trust, header)
        @intermediates = check_intermediates(intermediates)
        @required = check_boolean(required, "required")
        @on_failure = check_callable_option(on_failure, :call, "on_failure", "->(env, reason) { [401, {}, []] }")
        @on_report = check_callable_option(on_report, :call, "on_report", "->(event) { logger.warn(event) }")
        @xfcc_last = check_xfcc_element(xfcc_element)
        @max_header_bytes = check_max_header_bytes(max_header_bytes)
        freeze
      end

      # @param env [Hash] the Rack env
      # @return [Array] a Rack response
      def call(env)
        env.delete(ENV_KEY)
        identity = identify(env)
        return reject(env, identity) if identity.is_a?(Symbol) || identity.is_a?(Rejection)
        return reject(env, :missing_certificate) if identity.nil? && @required

        env[ENV_KEY] = identity if identity
        # Lets an action tell "no certificate" from "no middleware in the stack".
        env[CHECKED_KEY] = true
        @app.call(env)
      end

      private

      # => Certificate, nil (no certificate) or a Symbol reason code.
      def identify(env)
        if @header_key
          hop = proxy_hop(env)
          return from_header(env) if hop == :trusted

          if env.key?(@header_key) || (@chain_key && env.key?(@chain_key))
            report(:untrusted_proxy, env, hop == :untrusted_address ? :untrusted_address : :unverified_proxy)
          end
          # The proxy's own certificate is never taken for a client's.
          return nil if hop == :proxy_at_untrusted_address
        end
        from_puma(env) if @puma
      end

      # Whether this connection is a trusted proxy's: its address is in trusted_proxies (when
      # given) and, with proxy_identity:, its TLS peer certificate is the proxy's.
      def proxy_hop(env)
        address_ok = @proxies.empty? || trusted_proxy?(env["REMOTE_ADDR"])
        return address_ok ? :trusted : :untrusted_address if @proxy_identity.nil?

        if tls?(env) && @proxy_identity.match?(env["puma.peercert"])
          address_ok ? :trusted : :proxy_at_untrusted_address
        else
          address_ok ? :unverified_proxy : :untrusted_address
        end
      end

      def tls?(env)
        https = env["HTTPS"]
        !(https.nil? || https == "" || https.to_s.casecmp?("off"))
      end

      def from_puma(env)
        return nil unless tls?(env)

        peer = env["puma.peercert"]
        return nil if peer.nil?

        verified(HanamiGuard::Certificate.parse(peer), [])
      rescue CertificateError
        :malformed_certificate
      end

      def from_header(env)
        value = env[@header_key]
        chain_value = @chain_key && env[@chain_key]
        if (value && value.bytesize > @max_header_bytes) || (chain_value && chain_value.bytesize > @max_header_bytes)
          return :header_too_large
        end
        return nil if value.nil? || value.strip.empty?

        @format == :xfcc ? from_xfcc(value) : from_forwarded(value, chain_value)
      rescue CertificateError => e
        e.check == :multiple_certificates ? :multiple_certificates : :malformed_certificate
      end

      def from_xfcc(value)
        elements = HanamiGuard::Xfcc.parse(value)
        return nil if elements.empty?
        return :multiple_xfcc_elements if elements.size > 1 && !@xfcc_last

        element = elements.last
        cert = HanamiGuard::Xfcc.certificate(element)
        return nil if cert.nil?

        chain = HanamiGuard::Xfcc.chain(element).reject { |c| c.fingerprint == cert.fingerprint }
        verified(cert, chain)
      end

      def from_forwarded(value, chain_value)
        cert = @decoder.one(value)
        chain = chain_value.nil? || chain_value.strip.empty? ? [] : @decoder.chain(chain_value)
        verified(cert, chain)
      end

      def verified(cert, chain)
        return cert unless @trust

        # TrustStore#verify returns the certificate with its verified chain (for `issuer_key:`);
        # another verifier's return value is not an identity.
        result = @trust.verify(cert, intermediates: chain.empty? ? @intermediates : chain + @intermediates)
        result.is_a?(Certificate) && result == cert ? result : cert
      rescue UntrustedCertificate => e
        Rejection.new(e.reason, e.message, cert)
      end

      # REMOTE_ADDR must be the socket's peer. A "/" would make IPAddr read a whole network.
      def trusted_proxy?(remote_addr)
        return false if !remote_addr.is_a?(String) || remote_addr.empty? || remote_addr.include?("/")

        address = IPAddr.new(remote_addr)
        # ::ffff:10.0.0.1 (IPv4-mapped, RFC 4291 2.5.5.2) is how a dual-stack socket shows an IPv4
        # peer, so it is 10.0.0.1. ::10.0.0.1 (IPv4-compatible, deprecated by RFC 4291 2.5.5.1)
        # is a different IPv6 address, and a peer that holds it is not 10.0.0.1.
        address = address.native if address.ipv4_mapped?
        @proxies.any? { |net| net.family == address.family && net.include?(address) }
      rescue IPAddr::Error
        false
      end

      def reject(env, refusal)
        reason = refusal.is_a?(Rejection) ? refusal.reason : refusal
        report(:rejected, env, reason, refusal)
        return @on_failure.call(env, reason) if @on_failure

        body = "unauthorized: #{reason}\n"
        [401, { "content-type" => "text/plain", "content-length" => body.bytesize.to_s,
                "cache-control" => "no-store" }, [body]]
      end

      # `certificate.rejected` and `header.ignored` for subscribers, and on_report's call (the
      # same payload with `event: :rejected` or `:untrusted_proxy`). Nothing is built when
      # nobody listens.
      def report(kind, env, reason, refusal = nil)
        name = kind == :rejected ? "certificate.rejected" : "header.ignored"
        listening = Events.listening?(name)
        return unless @on_report || listening

        payload = { reason:, remote_addr: env["REMOTE_ADDR"].to_s, header: @header_name }
        if refusal.is_a?(Rejection)
          cert = refusal.certificate
          payload.merge!(message: refusal.message, subject: cert.subject.to_s, issuer: cert.issuer.to_s,
                         serial: cert.serial, fingerprint: cert.fingerprint)
        end
        Events.emit(name, payload) if listening
        @on_report&.call({ event: kind, **Events.clean(payload) }.freeze)
      end

      # -- configuration checks, at boot ----------------------------------------------------------

      def check_source(source, header)
        unless source.nil? || source == :puma
          raise ArgumentError, "source: must be :puma (for a forwarded header use header: \"X-...\", format: :xfcc)"
        end

        if source.nil? && header.nil?
          raise ArgumentError, "say where the client certificate comes from: source: :puma, or header: " \
                               "\"X-Forwarded-Client-Cert\", format: :xfcc, trusted_proxies: [\"10.0.0.0/8\"]"
        end
        source == :puma
      end

      def check_header(header, format, chain_header)
        if header.nil?
          raise ArgumentError, "format: and chain_header: go with header:" unless format.nil? && chain_header.nil?

          return [nil, nil, nil]
        end
        unless FORMATS.include?(format)
          raise ArgumentError, "format: must be one of #{FORMATS.map(&:inspect).join(", ")} with header:"
        end
        if chain_header && format == :xfcc
          raise ArgumentError, "with format: :xfcc the intermediates come from the XFCC Chain field; drop chain_header:"
        end

        [rack_key(header, "header"), format, chain_header && rack_key(chain_header, "chain_header")]
      end

      def rack_key(name, option)
        raise TypeError, "#{option}: must be a String, got #{name.class}" unless name.is_a?(String)
        unless name.match?(/\A[A-Za-z0-9][A-Za-z0-9-]*\z/)
          raise ArgumentError, "#{option}: must be an HTTP header name such as \"X-Forwarded-Client-Cert\""
        end

        "HTTP_#{name.upcase.tr("-", "_")}"
      end

      def check_proxies(proxies, header, proxy_identity)
        raise TypeError, "trusted_proxies: must be an Array of CIDR Strings" unless proxies.is_a?(Array)

        if header && proxies.empty? && proxy_identity.nil?
          raise ArgumentError, "a forwarded header is believed only from trusted proxies: add " \
                               "proxy_identity: { fingerprint: \"...\" } (the proxy's own TLS certificate) " \
                               "and/or trusted_proxies: [\"10.0.0.0/8\"] (the proxies' addresses)"
        end
        raise ArgumentError, "trusted_proxies: goes with header:" if header.nil? && !proxies.empty?

        proxies.map do |cidr|
          cidr.is_a?(IPAddr) ? cidr : IPAddr.new(String(cidr))
        rescue IPAddr::Error, TypeError
          raise ArgumentError, "trusted_proxies: #{cidr.inspect[0, 60]} is not an address or CIDR (e.g. \"10.0.0.0/8\")"
        end.freeze
      end

      def check_trust(trust, header)
        if trust == :proxy_verified
          raise ArgumentError, "trust: :proxy_verified goes with header:" if header.nil?

          return nil
        end
        if trust.nil? && header
          raise ArgumentError, "header: needs trust: HanamiGuard::TrustStore.new(File.read(\"ca.pem\")): a proxy " \
                               "may forward a certificate it did not verify (nginx `ssl_verify_client " \
                               "optional_no_ca`, a proxy trusting a wider CA bundle), and without trust: " \
                               "anyone could mint one. If the proxy verifies against your CA alone, say " \
                               "trust: :proxy_verified"
        end

        check_callable_option(trust, :verify, "trust", "HanamiGuard::TrustStore.new(File.read(\"ca.pem\"))")
      end

      def check_proxy_identity(proxy_identity, proxy_trust, header)
        return nil if proxy_identity.nil? && proxy_trust.nil?
        raise ArgumentError, "proxy_identity: goes with header:" if header.nil?
        raise ArgumentError, "proxy_trust: goes with proxy_identity:" if proxy_identity.nil?

        proxy_trust = check_callable_option(proxy_trust, :verify, "proxy_trust",
                                            "HanamiGuard::TrustStore.new(File.read(\"proxy_ca.pem\"))")
        ProxyIdentity.new(proxy_identity, proxy_trust || @trust)
      end

      def check_intermediates(list)
        unless list.is_a?(Array) && list.all?(HanamiGuard::Certificate)
          raise TypeError, "intermediates: must be an Array of HanamiGuard::Certificate " \
                           "(HanamiGuard::Certificate.parse_chain(File.read(\"intermediates.pem\")))"
        end

        list.dup.freeze
      end

      def check_callable_option(value, method, name, example)
        return nil if value.nil?
        raise TypeError, "#{name}: must respond to ##{method} (e.g. #{example})" unless value.respond_to?(method)

        value
      end

      def check_boolean(value, name)
        raise TypeError, "#{name}: must be true or false" unless [true, false].include?(value)

        value
      end

      def check_xfcc_element(value)
        raise ArgumentError, "xfcc_element: must be :only or :last" unless XFCC_ELEMENTS.include?(value)

        value == :last
      end

      def check_max_header_bytes(value)
        unless value.is_a?(Integer) && value.positive?
          raise ArgumentError, "max_header_bytes: must be a positive Integer"
        end

        value
      end
    end
  end
end
