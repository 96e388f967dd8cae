# frozen_string_literal: true

module HanamiGuard
  class CLI
    # `hanami_guard test POLICY CASES.yml`: runs policy test cases, so CI can gate a policy change.
    #
    #   cases:
    #     - name: operator deploys worker
    #       identity: { subject: "CN=operator,O=MyOrg", spiffe_id: "spiffe://prod.example.org/ns/ops/sa/deployer" }
    #       action: deploy
    #       resource: worker
    #       expect: allow               # allow | deny
    #       rule: operators-deploy      # optional: the deciding rule
    #
    # @api private
    class PolicyCases
      CASE_KEYS = %w[name identity action resource expect rule].freeze
      IDENTITY_KEYS = %w[subject issuer spiffe_id dns_names fingerprint].freeze

      def initialize(policy, text, source)
        @policy = policy
        @source = source
        @cases = parse(text)
      end

      # @return [Hash] cases, passed, failed, failures, unreached_rules
      def run
        failures = []
        reached = {}
        @cases.each do |c|
          decision = @policy.decide(c[:identity], c[:action], c[:resource])
          reached[decision.rule_id] = true if decision.rule_id
          got = decision.allowed? ? "allow" : "deny"
          next if got == c[:expect] && (c[:rule].nil? || c[:rule] == decision.rule_id)

          failures << { name: c[:name], expected: c[:expect], expected_rule: c[:rule], got:,
                        rule_id: decision.rule_id, reason: decision.reason, explanation: decision.explain }
        end
        { cases: @cases.size, passed: @cases.size - failures.size, failed: failures.size, failures:,
          unreached_rules: @policy.rule_ids.reject { |id| reached[id] } }
      end

      # @return [String] the report for people
      def self.text(report)
        lines = report[:failures].map do |f|
          want = f[:expected_rule] ? "#{f[:expected]} by rule #{f[:expected_rule]}" : f[:expected]
          by = f[:rule_id] ? "rule #{f[:rule_id]}" : "no rule"
          "FAIL #{f[:name]}: expected #{want}, got #{f[:got]} by #{by} (#{f[:reason]})" +
            (f[:explanation] == f[:reason] ? "" : "\n  closest: #{f[:explanation]}")
        end
        lines << "#{report[:passed]} passed, #{report[:failed]} failed"
        lines << "rules no case reaches: #{report[:unreached_rules].join(", ")}" unless report[:unreached_rules].empty?
        lines.join("\n")
      end

      private

      def parse(text)
        require "yaml" # here, not at the top: every other command starts faster without Psych
        data = begin
          YAML.safe_load(text, permitted_classes: [], aliases: false)
        rescue Psych::Exception => e
          raise InputError, "#{@source}: invalid YAML: #{e.message}"
        end
        cases = data.is_a?(Hash) && data.keys == ["cases"] ? data["cases"] : nil
        unless cases.is_a?(Array) && !cases.empty?
          raise InputError, "#{@source}: write a mapping with one key, cases:, listing at least one case"
        end

        cases.each_with_index.map { |c, i| parse_case(c, i) }
      end

      def parse_case(raw, index)
        where = "#{@source}: cases[#{index}]"
        raise InputError, "#{where}: each case is a mapping" unless raw.is_a?(Hash)

        where = "#{@source}: case #{raw["name"].inspect}" if raw["name"].is_a?(String)
        unknown = raw.keys - CASE_KEYS
        raise InputError, "#{where}: unknown key #{unknown.first}; keys: #{CASE_KEYS.join(", ")}" unless unknown.empty?

        %w[name action resource expect].each do |key|
          raise InputError, "#{where}: #{key} must be a string" unless raw[key].is_a?(String)
        end
        raise InputError, "#{where}: expect must be allow or deny" unless %w[allow deny].include?(raw["expect"])
        raise InputError, "#{where}: rule must be a string" unless raw["rule"].nil? || raw["rule"].is_a?(String)

        { name: raw["name"], action: raw["action"], resource: raw["resource"], expect: raw["expect"],
          rule: raw["rule"], identity: identity(raw["identity"], where) }
      end

      def identity(raw, where)
        return nil if raw.nil?
        raise InputError, "#{where}: identity must be a mapping of #{IDENTITY_KEYS.join(", ")}" unless raw.is_a?(Hash)

        unknown = raw.keys - IDENTITY_KEYS
        raise InputError, "#{where}: unknown identity key #{unknown.first}" unless unknown.empty?

        HanamiGuard::Policy::Identity.new(
          subject: name(raw["subject"]), issuer: name(raw["issuer"]), spiffe_id: raw["spiffe_id"],
          dns_names: Array(raw["dns_names"]), fingerprint: raw["fingerprint"]
        )
      rescue TypeError, HanamiGuard::Error => e
        raise InputError, "#{where}: identity: #{e.message}"
      end

      def name(text)
        text.nil? ? [] : HanamiGuard::DistinguishedName.parse(text).to_a
      end
    end
  end
end
