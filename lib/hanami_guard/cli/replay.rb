# frozen_string_literal: true

module HanamiGuard
  class CLI
    # `hanami_guard replay --policy NEW decisions.jsonl`: decides every recorded `policy.decision`
    # again with a new policy and lists the ones that would change, so a policy change can be
    # checked against real traffic before it is deployed.
    #
    # Each line is one event as {HanamiGuard.log_decisions_to} writes it; the identity is rebuilt
    # from its record (subject and issuer as RFC 4514 strings, SPIFFE ID, DNS names, fingerprint).
    # Lines of other events are skipped; a line that is not JSON, or a decision without what
    # replay needs, is invalid input (exit 3) naming the line.
    #
    # What a record cannot carry is not replayed: `issuer_key:` conditions (they need the chain
    # a TrustStore verified) read the rebuilt identity as unverified.
    #
    # @api private
    class Replay
      def initialize(policy, text, source)
        @policy = policy
        @text = text
        @source = source
      end

      # @return [Hash] decisions, changed, changes (each: line, principal, action, resource,
      #   before, before_rule, after, after_rule), policy_version
      def run
        require "json"
        decisions = 0
        changes = []
        @text.each_line.with_index(1) do |line, number|
          next if line.strip.empty?

          event = parse_line(line, number)
          next unless event["event"] == "policy.decision"

          decisions += 1
          change = replay(event, number)
          changes << change if change
        end
        { decisions:, changed: changes.size, changes:, policy_version: @policy.version }
      end

      # @return [String] a table for people
      def self.text(report)
        lines = ["#{report[:decisions]} decisions replayed, #{report[:changed]} would change"]
        return lines.first if report[:changes].empty?

        lines << format("%-6<line>s %-11<change>s %-24<rules>s %-16<action>s %-24<resource>s %<principal>s",
                        line: "LINE", change: "CHANGE", rules: "RULE (was -> now)", action: "ACTION",
                        resource: "RESOURCE", principal: "PRINCIPAL")
        report[:changes].each do |c|
          lines << format("%-6<line>s %-11<change>s %-24<rules>s %-16<action>s %-24<resource>s %<principal>s",
                          line: c[:line], change: "#{c[:before]}->#{c[:after]}",
                          rules: "#{c[:before_rule] || "-"} -> #{c[:after_rule] || "-"}",
                          action: Policy::Audit.text(c[:action]), resource: Policy::Audit.text(c[:resource]),
                          principal: Policy::Audit.text(c[:principal].to_s))
        end
        lines.join("\n")
      end

      private

      def parse_line(line, number)
        event = JSON.parse(line)
        raise InputError, "#{@source}:#{number}: each line must be a JSON object" unless event.is_a?(Hash)

        event
      rescue JSON::ParserError
        raise InputError, "#{@source}:#{number}: not a JSON line (write the log with HanamiGuard.log_decisions_to)"
      end

      def replay(event, number)
        action, resource, before = event.values_at("action", "resource", "decision")
        unless action.is_a?(String) && resource.is_a?(String) && %w[allow deny].include?(before)
          raise InputError, "#{@source}:#{number}: a policy.decision needs action, resource and decision"
        end

        decision = @policy.decide(identity(event["identity"], number), action, resource)
        after = decision.allowed? ? "allow" : "deny"
        return nil if after == before && decision.rule_id == event["rule_id"]

        { line: number, principal: event["principal"], action:, resource:, before:, before_rule: event["rule_id"],
          after:, after_rule: decision.rule_id, reason: decision.reason }
      end

      def identity(record, number)
        return nil if record.nil?
        raise InputError, "#{@source}:#{number}: identity must be an object" unless record.is_a?(Hash)

        Policy::Identity.new(
          subject: name(record["subject"]), issuer: name(record["issuer"]), spiffe_id: record["spiffe_id"],
          dns_names: Array(record["dns_names"]), fingerprint: record["fingerprint"]
        )
      rescue TypeError, HanamiGuard::Error => e
        raise InputError, "#{@source}:#{number}: identity: #{e.message}"
      end

      def name(text)
        text.nil? || text.empty? ? [] : DistinguishedName.parse(text)
      end
    end
  end
end
