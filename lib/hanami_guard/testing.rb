# frozen_string_literal: true

require "fileutils"
require "ipaddr"
require "openssl"
require "securerandom"
require "hanami_guard"

module HanamiGuard
  # Test helpers for apps that use hanami_guard: an in-memory certificate authority with an
  # intermediate, Rack envs with an identity in place, RSpec matchers and Minitest assertions.
  #
  # They mint real X.509 certificates with Ruby's OpenSSL, in the test process only: require
  # this file from spec_helper.rb or test_helper.rb, never from the app (`require "hanami_guard"`
  # does not load it).
  #
  # @example
  #   require "hanami_guard/testing"
  #   ca   = HanamiGuard::Testing::CA.new(subject: "CN=Test CA,O=MyOrg")
  #   cert = ca.issue(subject: "CN=operator,O=MyOrg", spiffe_id: "spiffe://prod.example.org/ns/ops/sa/deployer")
  #   cert.spiffe_id.to_s # => "spiffe://prod.example.org/ns/ops/sa/deployer"
  #   ca.trust_store.verified?(cert, intermediates: cert.chain) # => true
  #
  # @api public
  # @since 0.2.0
  module Testing
    # The issuing certificates of each certificate a {CA} issued, by fingerprint, so that
    # {Certificate#chain} can answer for a frozen certificate object.
    CHAINS = {} # rubocop:disable Style/MutableConstant: filled as certificates are issued
    CHAINS_LOCK = Mutex.new
    private_constant :CHAINS, :CHAINS_LOCK

    # Where {CA#issue} signs from: the intermediate (a two-tier PKI, the default) or the root.
    ISSUERS = %i[intermediate root].freeze

    # Extended key usages {CA#issue} understands, by the name it takes.
    EKUS = { client_auth: "clientAuth", server_auth: "serverAuth", code_signing: "codeSigning",
             email_protection: "emailProtection" }.freeze

    # @api private
    def self.chain_of(certificate)
      CHAINS_LOCK.synchronize { CHAINS.fetch(certificate.fingerprint, []) }
    end

    # @api private
    def self.remember_chain(certificate, chain)
      CHAINS_LOCK.synchronize { CHAINS[certificate.fingerprint] = chain.freeze }
    end

    # A two-tier certificate authority held in memory: a root and an intermediate that issues
    # the leaves, as most real PKIs are laid out. Keys are EC P-256 (fast to generate).
    #
    # The CA keeps the private key of every certificate it made ({#key_for}), so a real TLS
    # client or server (Puma with `ssl://`, Net::HTTP, curl) can use them: {#write} puts a
    # certificate and its key into PEM files, {#bundle_pem} is what Puma's `ca=` takes.
    #
    # @example A Puma mTLS server and a client, from files
    #   require "hanami_guard/testing"
    #   require "tmpdir"
    #   ca     = HanamiGuard::Testing::CA.new(subject: "CN=Test CA,O=MyOrg")
    #   server = ca.issue(subject: "CN=localhost", dns: "localhost", ips: "127.0.0.1", eku: :server_auth)
    #   client = ca.issue(subject: "CN=operator,O=MyOrg")
    #   dir    = Dir.mktmpdir
    #   crt, key = ca.write(server, dir, "server", chain: true)  # Puma's cert= and key=
    #   File.write(File.join(dir, "ca.crt"), ca.bundle_pem)       # Puma's ca=: root and intermediate
    #   File.read(crt).scan("BEGIN CERTIFICATE").size            # => 2
    #   File.stat(key).mode & 0o777                              # => 0o600
    #   ca.key_for(client).private?                              # => true
    #   OpenSSL::X509::Certificate.new(client.to_der).check_private_key(ca.key_for(client)) # => true
    #
    # @api public
    # @since 0.2.0
    class CA
      # @return [HanamiGuard::Certificate] the root
      attr_reader :certificate
      # @return [HanamiGuard::Certificate] the intermediate that issues leaves
      attr_reader :intermediate

      # @param subject [String] the root's subject, RFC 4514 ("CN=Test CA,O=MyOrg")
      # @param intermediate [String] the intermediate's subject (default: the root's with
      #   "Intermediate" added to its CN)
      # @raise [HanamiGuard::Error] a subject that does not parse as RFC 4514
      def initialize(subject: "CN=hanami_guard Test CA", intermediate: nil)
        @now = Time.now
        @root_key = CA.key
        root_name = CA.openssl_name(subject)
        @root = CA.build(subject: root_name, key: @root_key, issuer: nil, issuer_key: @root_key,
                         not_before: @now - 3600, not_after: @now + (10 * 365 * 86_400), ca: true)
        @ica_key = CA.key
        ica_name = intermediate ? CA.openssl_name(intermediate) : CA.intermediate_name(root_name)
        @ica = CA.build(subject: ica_name, key: @ica_key,
                        issuer: @root, issuer_key: @root_key, not_before: @now - 3600,
                        not_after: @now + (5 * 365 * 86_400), ca: true)
        @certificate = HanamiGuard::Certificate.parse(@root.to_der)
        @intermediate = HanamiGuard::Certificate.parse(@ica.to_der)
        # The private key of each certificate made here, by fingerprint; the CA is shared
        # across threads in a test suite, so the table is guarded.
        @keys = { @certificate.fingerprint => @root_key, @intermediate.fingerprint => @ica_key }
        @keys_lock = Mutex.new
        freeze
      end

      # The root's PEM, for a TrustStore or Puma's `ca=`.
      # @return [String]
      def to_pem
        @root.to_pem
      end

      # The intermediate's PEM (Puma's `ca=` must hold it, with the root, when clients send only
      # their leaf).
      # @return [String]
      def intermediate_pem
        @ica.to_pem
      end

      # The root and the intermediate in one PEM: what Puma's `ca=` (or curl's `--cacert`) takes
      # when clients send only their leaf (see the README's two-tier recipe).
      # @return [String]
      def bundle_pem
        @root.to_pem + @ica.to_pem
      end

      # A TrustStore that pins the root. Verify leaves with `intermediates: cert.chain`.
      #
      # @param options [Hash] passed to {HanamiGuard::TrustStore.new}
      # @return [HanamiGuard::TrustStore]
      def trust_store(**options)
        HanamiGuard::TrustStore.new(to_pem, **options)
      end

      # Issues a client certificate from the intermediate.
      #
      # @param subject [String] RFC 4514 ("CN=operator,O=MyOrg")
      # @param spiffe_id [String, nil] added as the URI SAN
      # @param dns [Array<String>, String] DNS SANs
      # @param emails [Array<String>] rfc822Name SANs
      # @param uris [Array<String>] further URI SANs
      # @param expired [Boolean] valid until an hour ago
      # @param not_yet_valid [Boolean] valid from an hour from now
      # @param ips [Array<String>, String] IP address SANs ("127.0.0.1", "::1")
      # @param eku [Symbol, Array<Symbol>, nil] extended key usages (:client_auth, :server_auth,
      #   :code_signing, :email_protection); nil leaves the extension out
      # @param issuer [Symbol] :intermediate (the default) or :root, for a one-tier PKI or a leaf
      #   that verifies against the root alone
      # @return [HanamiGuard::Certificate] with {Certificate#chain} returning the intermediate
      #   (empty when issued from the root); its private key is {#key_for}
      # @raise [ArgumentError] an unknown EKU name or issuer, both expired: and not_yet_valid:, or
      #   an ips: entry that is not an IP address
      def issue(subject:, spiffe_id: nil, dns: [], emails: [], uris: [], ips: [], expired: false,
                not_yet_valid: false, eku: :client_auth, issuer: :intermediate)
        raise ArgumentError, "pass expired: or not_yet_valid:, not both" if expired && not_yet_valid

        signer, signer_key, chain = signer(issuer)
        not_before, not_after = validity(expired, not_yet_valid)
        sans = Array(dns).map { |d| "DNS:#{d}" } + Array(emails).map { |e| "email:#{e}" } +
               [*Array(spiffe_id), *Array(uris)].map { |u| "URI:#{u}" } + CA.ip_sans(ips)
        key = CA.key
        leaf = CA.build(subject: CA.openssl_name(subject), key:, issuer: signer, issuer_key: signer_key, not_before:,
                        not_after:, ca: false, sans:, eku: CA.eku_names(eku))
        cert = HanamiGuard::Certificate.parse(leaf.to_der)
        Testing.remember_chain(cert, chain)
        @keys_lock.synchronize { @keys[cert.fingerprint] = key }
        cert
      end

      # The private key of a certificate this CA made: a leaf from {#issue}, the root
      # ({#certificate}) or the intermediate.
      #
      # @param certificate [HanamiGuard::Certificate]
      # @return [OpenSSL::PKey::EC]
      # @raise [ArgumentError] a certificate this CA did not make
      # @raise [TypeError] certificate is not a HanamiGuard::Certificate
      def key_for(certificate)
        unless certificate.is_a?(HanamiGuard::Certificate)
          raise TypeError, "key_for takes a HanamiGuard::Certificate (ca.issue(subject: ...)), not #{certificate.class}"
        end

        @keys_lock.synchronize { @keys[certificate.fingerprint] } or
          raise ArgumentError, "#{certificate.subject} was not made by this CA (#{@certificate.subject}); " \
                               "pass a certificate from its #issue, #certificate or #intermediate"
      end

      # Writes `NAME.crt` (the certificate; with its issuing intermediate after it when
      # `chain: true`, as a TLS server sends it) and `NAME.key` (its private key, unencrypted,
      # mode 0600) into dir, which is created when missing.
      #
      # @param certificate [HanamiGuard::Certificate] one this CA made
      # @param dir [String]
      # @param name [String] the files' base name
      # @param chain [Boolean] append {Certificate#chain} to the certificate file
      # @return [Array(String, String)] the certificate's path and the key's
      # @raise [ArgumentError] a certificate this CA did not make
      def write(certificate, dir, name, chain: false)
        key = key_for(certificate)
        FileUtils.mkdir_p(dir)
        crt_path = File.join(dir, "#{name}.crt")
        key_path = File.join(dir, "#{name}.key")
        pem = certificate.to_pem
        pem += certificate.chain.map(&:to_pem).join if chain
        File.write(crt_path, pem)
        # A key file left from an earlier run keeps its mode with File.write; set it anyway.
        File.write(key_path, key.to_pem, perm: 0o600)
        File.chmod(0o600, key_path)
        [crt_path, key_path]
      end

      # A PEM bundle of a leaf and the intermediate, as a client sends it.
      # @param certificate [HanamiGuard::Certificate] one this CA issued
      # @return [String]
      def chain_pem(certificate)
        certificate.to_pem + intermediate_pem
      end

      # @return [String] the root's and the intermediate's subjects (never a key)
      def inspect
        "#<#{self.class.name} root=#{@certificate.subject} intermediate=#{@intermediate.subject}>"
      end

      private

      def signer(issuer)
        case issuer
        when :intermediate then [@ica, @ica_key, [@intermediate]]
        when :root then [@root, @root_key, []]
        else raise ArgumentError, "unknown issuer #{issuer.inspect}; use #{ISSUERS.map(&:inspect).join(" or ")}"
        end
      end

      def validity(expired, not_yet_valid)
        return [@now - (2 * 86_400), @now - 3600] if expired
        return [@now + 3600, @now + (2 * 86_400)] if not_yet_valid

        [@now - 3600, @now + (365 * 86_400)]
      end

      class << self
        # @api private
        def key
          OpenSSL::PKey::EC.generate("prime256v1")
        end

        # @api private
        # The root's name with " Intermediate" added to its CN (or a CN added).
        def intermediate_name(root_name)
          entries = root_name.to_a.map do |type, value, asn1|
            [type, type == "CN" ? "#{value} Intermediate" : value, asn1]
          end
          entries << ["CN", "Test Intermediate", OpenSSL::ASN1::UTF8STRING] unless entries.any? { |t, *| t == "CN" }
          OpenSSL::X509::Name.new(entries)
        end

        # @api private
        def ip_sans(ips)
          Array(ips).map do |ip|
            # A prefix ("10.0.0.0/8") would parse, and name its network address: not a host.
            raise IPAddr::InvalidAddressError if ip.to_s.include?("/")

            "IP:#{IPAddr.new(ip.to_s)}"
          rescue IPAddr::Error
            raise ArgumentError, "ips: takes IP addresses (\"127.0.0.1\", \"::1\"), not #{ip.inspect}"
          end
        end

        # @api private
        def eku_names(eku)
          return [] if eku.nil?

          Array(eku).map do |name|
            EKUS.fetch(name) do
              raise ArgumentError, "unknown eku #{name.inspect}; use #{EKUS.keys.map(&:inspect).join(", ")} or nil"
            end
          end
        end

        # @api private
        def openssl_name(subject)
          dn = HanamiGuard::DistinguishedName.parse(subject)
          name = OpenSSL::X509::Name.new
          # DistinguishedName#to_a is in certificate order; a multi-valued RDN becomes one RDN per
          # attribute here.
          dn.to_a.each { |type, value| name.add_entry(type, value, OpenSSL::ASN1::UTF8STRING) }
          name
        end

        # @api private
        def build(subject:, key:, issuer:, issuer_key:, not_before:, not_after:, ca:, sans: [], eku: []) # rubocop:disable Naming/MethodParameterName
          cert = OpenSSL::X509::Certificate.new
          cert.version = 2
          cert.serial = OpenSSL::BN.new(SecureRandom.hex(16), 16)
          cert.subject = subject
          cert.issuer = issuer ? issuer.subject : cert.subject
          cert.public_key = key
          cert.not_before = not_before
          cert.not_after = not_after
          ext = OpenSSL::X509::ExtensionFactory.new(issuer || cert, cert)
          if ca
            cert.add_extension(ext.create_extension("basicConstraints", "CA:TRUE", true))
            cert.add_extension(ext.create_extension("keyUsage", "keyCertSign,cRLSign", true))
          else
            cert.add_extension(ext.create_extension("basicConstraints", "CA:FALSE", true))
            cert.add_extension(ext.create_extension("keyUsage", "digitalSignature", true))
            cert.add_extension(ext.create_extension("extendedKeyUsage", eku.join(","), false)) unless eku.empty?
            cert.add_extension(ext.create_extension("subjectAltName", sans.join(","), false)) unless sans.empty?
          end
          cert.add_extension(ext.create_extension("subjectKeyIdentifier", "hash", false))
          cert.sign(issuer_key, OpenSSL::Digest.new("SHA256"))
          cert
        end
      end
    end

    # A Rack env for `path` with `identity` where {Middleware::ClientIdentity} leaves it, so an
    # action or a Rack app can be called directly.
    #
    # @param path [String]
    # @param identity [HanamiGuard::Certificate, nil]
    # @param method [String]
    # @param params [Hash] query (GET) or form (other methods) parameters
    # @param env [Hash] more Rack env entries
    # @return [Hash]
    # @raise [TypeError] identity is not a HanamiGuard::Certificate
    def self.rack_env(path = "/", identity:, method: "GET", params: {}, env: {})
      unless identity.nil? || identity.is_a?(HanamiGuard::Certificate)
        raise TypeError, "identity: takes a HanamiGuard::Certificate (ca.issue(subject: ...)) or nil, " \
                         "not #{identity.class}"
      end

      require "rack"
      opts = method.to_s.upcase == "GET" ? { params: } : { params:, method: method.to_s.upcase }
      base = ::Rack::MockRequest.env_for(path, **opts)
      base[HanamiGuard::Middleware::ClientIdentity::ENV_KEY] = identity if identity
      base[HanamiGuard::Middleware::ClientIdentity::CHECKED_KEY] = true
      base.merge(env)
    end

    # A Rack env as Puma leaves it for a TLS client that presented `certificate`, so the
    # middleware itself runs (`source: :puma`).
    #
    # @param path [String]
    # @param certificate [HanamiGuard::Certificate]
    # @return [Hash]
    def self.puma_env(path = "/", certificate:, env: {})
      require "rack"
      base = ::Rack::MockRequest.env_for(path)
      base["HTTPS"] = "on"
      base["rack.url_scheme"] = "https"
      base["puma.peercert"] = OpenSSL::X509::Certificate.new(certificate.to_der)
      base.merge(env)
    end

    # What a failed expectation prints: the decision and its rule.
    # @api private
    def self.describe(decision)
      rule = decision.rule_id ? "rule #{decision.rule_id.inspect}" : "no rule"
      "#{decision.allowed? ? "allowed" : "denied"} by #{rule} (#{decision.reason})"
    end

    # RSpec matchers. `require "hanami_guard/testing"` includes them when RSpec is loaded.
    #
    # @example [parse-only: lines of an RSpec example]
    #   expect(POLICY).to permit(cert, :deploy, "worker").by_rule("operators-deploy")
    #   expect(POLICY).not_to permit(contractor, :deploy, "api").by_rule("no-contractors")
    module Matchers
      # @return [PermitMatcher]
      def permit(identity, action, resource)
        PermitMatcher.new(identity, action, resource)
      end

      # `expect(policy).to permit(identity, action, resource)`, optionally `.by_rule(id)`.
      class PermitMatcher
        def initialize(identity, action, resource)
          @identity = identity
          @action = action
          @resource = resource
          @rule = nil
        end

        # The deciding rule: the allow rule for `to`, the deny rule for `not_to`.
        def by_rule(id)
          @rule = id.to_s
          self
        end

        def matches?(policy)
          @decision = policy.decide(@identity, @action, @resource)
          @decision.allowed? && (@rule.nil? || @decision.rule_id == @rule)
        end

        def does_not_match?(policy)
          @decision = policy.decide(@identity, @action, @resource)
          @decision.denied? && (@rule.nil? || @decision.rule_id == @rule)
        end

        # @return [String] why the example failed: the decision and its rule
        def failure_message
          "expected #{what} to be allowed#{by}, but it was #{Testing.describe(@decision)}"
        end

        # @return [String] why the negated example failed: the decision and its rule
        def failure_message_when_negated
          "expected #{what} to be denied#{by}, but it was #{Testing.describe(@decision)}"
        end

        # @return [String] what the matcher checks, for RSpec's output
        def description
          "permit #{what}#{by}"
        end

        private

        def by
          @rule ? " by rule #{@rule.inspect}" : ""
        end

        def what
          who = @identity.respond_to?(:subject) ? @identity.subject.to_s : @identity.inspect
          "#{who.inspect} to #{@action} #{@resource.inspect}"
        end
      end
    end

    # Minitest assertions. `require "hanami_guard/testing"` includes them in Minitest::Test
    # when Minitest is loaded.
    module Assertions
      # Fails unless policy allows identity to do action on resource (by rule, when given).
      def assert_permitted(policy, identity, action, resource, rule: nil)
        decision = policy.decide(identity, action, resource)
        ok = decision.allowed? && (rule.nil? || decision.rule_id == rule.to_s)
        assert(ok, "expected #{action} #{resource.inspect} to be allowed#{rule && " by rule #{rule.to_s.inspect}"}, " \
                   "but it was #{Testing.describe(decision)}")
      end

      # Fails unless policy denies identity to do action on resource (by rule, when given).
      def refute_permitted(policy, identity, action, resource, rule: nil)
        decision = policy.decide(identity, action, resource)
        ok = decision.denied? && (rule.nil? || decision.rule_id == rule.to_s)
        assert(ok, "expected #{action} #{resource.inspect} to be denied#{rule && " by rule #{rule.to_s.inspect}"}, " \
                   "but it was #{Testing.describe(decision)}")
      end
    end
  end

  # Reopened by the test kit only.
  class Certificate
    # The issuing certificates a {Testing::CA} issued this certificate with (only when
    # `hanami_guard/testing` is loaded).
    #
    # @return [Array<HanamiGuard::Certificate>]
    # @api public
    # @since 0.2.0
    def chain
      Testing.chain_of(self)
    end
  end
end

if defined?(RSpec) && RSpec.respond_to?(:configure)
  RSpec.configure do |config|
    config.include(HanamiGuard::Testing::Matchers)
  end
end
# In a block: YARD documents a mixin written at the top level and cannot resolve Minitest::Test,
# which this gem does not load.
Minitest::Test.class_eval { include HanamiGuard::Testing::Assertions } if defined?(Minitest::Test)
