# frozen_string_literal: true

module HanamiGuard
  module Middleware
    # Decodes the certificate a proxy forwards in a header, in one of {ClientIdentity::FORMATS}
    # other than `:xfcc`.
    #
    # @api private
    class ForwardedCertificate
      # @param format [Symbol] :pem_escaped, :pem or :der_base64
      def initialize(format)
        @format = format
        freeze
      end

      # The one certificate in a client certificate header. Puma joins repeated header lines with
      # ", ", so a line the client sent and the proxy's arrive as one value: the core refuses PEM
      # with two BEGIN lines as `:multiple_certificates` before reading either, and a base64 DER
      # never holds a comma, so a comma there means two values joined.
      #
      # @return [Certificate]
      # @raise [CertificateError] unless value is exactly one certificate and nothing else
      #   (`check` `:multiple_certificates` for two)
      def one(value)
        case @format
        when :pem_escaped then HanamiGuard::Certificate.send(:_parse_pem_one, percent_decode(value))
        when :pem then HanamiGuard::Certificate.send(:_parse_pem_one, value)
        else HanamiGuard::Certificate.parse(base64_der(value, one: true))
        end
      end

      # @return [Array<Certificate>] the certificates of a chain header
      # @raise [CertificateError]
      def chain(value)
        case @format
        when :pem_escaped then pem_certificates(percent_decode(value))
        when :pem then pem_certificates(value)
        else value.split(",").map { |item| HanamiGuard::Certificate.parse(base64_der(item)) }
        end
      end

      private

      # nginx's $ssl_client_escaped_cert percent-encodes; "+" is a base64 character, not a space.
      def percent_decode(value)
        value.b.gsub(/%(\h\h)/) { Regexp.last_match(1).hex.chr }
      end

      # The certificates of a PEM header, which the core refuses unless it holds CERTIFICATE
      # blocks and whitespace only (a proxy may have turned the line breaks into spaces).
      def pem_certificates(value)
        HanamiGuard::Certificate.send(:_parse_pem_only, value)
      end

      # Base64 DER, optionally wrapped in colons (an RFC 8941 byte sequence, as RFC 9440 sends it).
      def base64_der(value, one: false)
        if one && value.include?(",")
          raise CertificateError.new("the forwarded header holds #{value.count(",") + 1} base64 values joined " \
                                     "where one certificate belongs", details: { check: :multiple_certificates })
        end

        text = value.strip
        text = text[1..-2] if text.length >= 2 && text.start_with?(":") && text.end_with?(":")
        text.unpack1("m0")
      rescue ArgumentError
        raise CertificateError.new("the forwarded header is not base64 DER; check the proxy's format " \
                                   "(pem, pem_escaped, der_base64, xfcc)", details: { check: :base64 })
      end
    end
  end
end
