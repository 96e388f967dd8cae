# frozen_string_literal: true

require "ipaddr"
require "openssl" # Puma 5.6 raises NameError on env["puma.peercert"] unless openssl is loaded

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
    # - `header: NAME, format: FORMAT, trusted_proxies: [CIDR, ...]`: a certificate forwarded by a
    #   proxy that terminated TLS. The header is believed only when `REMOTE_ADDR` is inside one of
    #   `trusted_proxies`; from anyone else it is ignored and an `:untrusted_proxy` event is
    #   reported. Formats: `:xfcc` (Envoy's x-forwarded-client-cert, intermediates from its
    #   `Chain`), `:pem_escaped` (nginx `$ssl_client_escaped_cert`, AWS ALB), `:pem` (a PEM whose
    #   line breaks became spaces), `:der_base64` (base64 DER, optionally `:colon-wrapped:` as in
    #   RFC 9440's Client-Cert). `chain_header:` names a header with the intermediates in the
    #   same format (comma-separated for `:der_base64`).
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
    # `header_too_large`, `multiple_xfcc_elements`, `malformed_certificate`, and the
    # {UntrustedCertificate#reason} of a failed verification (`expired`, `unknown_issuer`, ...).
    #
    # Thread safety: built once at boot, frozen, shared by every Puma thread.
    #
    # @example config/app.rb
    #   config.middleware.use HanamiGuard::Middleware::ClientIdentity,
    #     source: :puma, trust: HanamiGuard::TrustStore.new(File.read("config/ca.pem"))
    #
    # @example behind Envoy
    #   use HanamiGuard::Middleware::ClientIdentity,
    #     header: "X-Forwarded-Client-Cert", format: :xfcc, trusted_proxies: ["10.0.0.0/8"],
    #     trust: TRUST, on_report: ->(event) { LOGGER.warn(event) }
    #
    # @api public
    # @since 0.1.0
    class ClientIdentity
      # The Rack env key holding the {HanamiGuard::Certificate}.
      ENV_KEY = "hanami_guard.identity"
      # Forwarded certificate headers larger than this are refused before parsing.
      MAX_HEADER_BYTES = 16 * 1024
      # The header formats understood.
      FORMATS = %i[xfcc pem_escaped pem der_base64].freeze
      # Which XFCC element to take.
      XFCC_ELEMENTS = %i[only last].freeze

      PEM_BLOCK = %r{-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*)-----END CERTIFICATE-----}
      private_constant :PEM_BLOCK

      # @param app [#call] the next Rack app
      # @param source [:puma, nil] read Puma's peer certificate
      # @param header [String, nil] the forwarded certificate header, e.g. "X-Forwarded-Client-Cert"
      # @param format [Symbol, nil] one of {FORMATS}; required with header:
      # @param chain_header [String, nil] a header with the intermediates (not with :xfcc)
      # @param trusted_proxies [Array<String, IPAddr>] CIDRs or addresses whose headers are believed
      # @param trust [HanamiGuard::TrustStore, nil] verify the chain (nil: trust whoever terminated TLS)
      # @param intermediates [Array<HanamiGuard::Certificate>] extra intermediates for verification
      # @param required [Boolean] answer 401 when there is no certificate (false: the app decides)
      # @param on_failure [#call, nil] `call(env, reason_code)` => a Rack response, instead of 401
      # @param on_report [#call, nil] `call(event)` with a frozen Hash: `:event` (`:untrusted_proxy`
      #   or `:rejected`), `:reason`, `:remote_addr`, `:header`; for logging and alerting
      # @param xfcc_element [:only, :last]
      # @param max_header_bytes [Integer]
      # @raise [ArgumentError, TypeError] on a wrong configuration
      def initialize(app, source: nil, header: nil, format: nil, chain_header: nil, trusted_proxies: [],
                     trust: nil, intermediates: [], required: true, on_failure: nil, on_report: nil,
                     xfcc_element: :only, max_header_bytes: MAX_HEADER_BYTES)
        @app = app
        @puma = check_source(source, header)
        @header_key, @format, @chain_key = check_header(header, format, chain_header)
        @proxies = check_proxies(trusted_proxies, header)
        @trust = check_callable_option(trust, :verify, "trust", "HanamiGuard::TrustStore.new(File.read(\"ca.pem\"))")
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
        return reject(env, identity) if identity.is_a?(Symbol)
        return reject(env, :missing_certificate) if identity.nil? && @required

        env[ENV_KEY] = identity if identity
        @app.call(env)
      end

      private

      # => Certificate, nil (no certificate) or a Symbol reason code.
      def identify(env)
        if @header_key
          return from_header(env) if trusted_proxy?(env["REMOTE_ADDR"])

          report(:untrusted_proxy, env, nil) if env.key?(@header_key) || (@chain_key && env.key?(@chain_key))
        end
        from_puma(env) if @puma
      end

      def from_puma(env)
        https = env["HTTPS"]
        return nil if https.nil? || https == "" || https.to_s.casecmp?("off")

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
      rescue CertificateError
        :malformed_certificate
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
        cert = decode_one(value)
        chain = chain_value.nil? || chain_value.strip.empty? ? [] : decode_chain(chain_value)
        verified(cert, chain)
      end

      def verified(cert, chain)
        return cert unless @trust

        # TrustStore#verify returns the certificate with its verified chain (for `issuer_key:`);
        # another verifier's return value is not an identity.
        result = @trust.verify(cert, intermediates: chain + @intermediates)
        result.is_a?(Certificate) && result == cert ? result : cert
      rescue UntrustedCertificate => e
        e.reason
      end

      def decode_one(value)
        case @format
        when :pem_escaped then HanamiGuard::Certificate.parse(percent_decode(value))
        when :pem then HanamiGuard::Certificate.parse(pem_blocks(value, 1).first)
        else HanamiGuard::Certificate.parse(base64_der(value))
        end
      end

      def decode_chain(value)
        case @format
        when :pem_escaped then HanamiGuard::Certificate.parse_chain(percent_decode(value))
        when :pem then pem_blocks(value, nil).map { |pem| HanamiGuard::Certificate.parse(pem) }
        else value.split(",").map { |item| HanamiGuard::Certificate.parse(base64_der(item)) }
        end
      end

      # nginx's $ssl_client_escaped_cert percent-encodes; "+" is a base64 character, not a space.
      def percent_decode(value)
        value.b.gsub(/%(\h\h)/) { Regexp.last_match(1).hex.chr }
      end

      # A PEM whose line breaks a proxy replaced with spaces or tabs, rebuilt with real ones.
      def pem_blocks(value, expected)
        blocks = value.scan(PEM_BLOCK).map(&:first)
        leftover = value.gsub(PEM_BLOCK, "").strip
        if blocks.empty? || !leftover.empty? || (expected && blocks.size != expected)
          raise CertificateError, "the forwarded header is not #{expected == 1 ? "one PEM certificate" : "PEM"}; " \
                                  "check the proxy's format (pem, pem_escaped, der_base64, xfcc)"
        end

        blocks.map do |body|
          lines = body.delete(" \t\r\n").scan(/.{1,64}/)
          "-----BEGIN CERTIFICATE-----\n#{lines.join("\n")}\n-----END CERTIFICATE-----\n"
        end
      end

      # Base64 DER, optionally wrapped in colons (an RFC 8941 byte sequence, as RFC 9440 sends it).
      def base64_der(value)
        text = value.strip
        text = text[1..-2] if text.length >= 2 && text.start_with?(":") && text.end_with?(":")
        text.unpack1("m0")
      rescue ArgumentError
        raise CertificateError, "the forwarded header is not base64 DER; check the proxy's format " \
                                "(pem, pem_escaped, der_base64, xfcc)"
      end

      # REMOTE_ADDR must be the socket's peer. A "/" would make IPAddr read a whole network.
      def trusted_proxy?(remote_addr)
        return false if !remote_addr.is_a?(String) || remote_addr.empty? || remote_addr.include?("/")

        address = IPAddr.new(remote_addr)
        address = address.native # ::ffff:10.0.0.1 is 10.0.0.1
        @proxies.any? { |net| net.family == address.family && net.include?(address) }
      rescue IPAddr::Error
        false
      end

      def reject(env, reason)
        report(:rejected, env, reason)
        return @on_failure.call(env, reason) if @on_failure

        body = "unauthorized: #{reason}\n"
        [401, { "content-type" => "text/plain", "content-length" => body.bytesize.to_s,
                "cache-control" => "no-store" }, [body]]
      end

      def report(event, env, reason)
        return unless @on_report

        @on_report.call({ event:, reason:, remote_addr: env["REMOTE_ADDR"],
                          header: @header_key }.freeze)
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

      def check_proxies(proxies, header)
        raise TypeError, "trusted_proxies: must be an Array of CIDR Strings" unless proxies.is_a?(Array)

        if header && proxies.empty?
          raise ArgumentError, "a forwarded header is believed only from trusted proxies: add " \
                               "trusted_proxies: [\"10.0.0.0/8\"] (the proxies' addresses)"
        end

        proxies.map do |cidr|
          cidr.is_a?(IPAddr) ? cidr : IPAddr.new(String(cidr))
        rescue IPAddr::Error, TypeError
          raise ArgumentError, "trusted_proxies: #{cidr.inspect[0, 60]} is not an address or CIDR (e.g. \"10.0.0.0/8\")"
        end.freeze
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
