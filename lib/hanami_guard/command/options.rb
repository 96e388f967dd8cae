# frozen_string_literal: true

module HanamiGuard
  class Command
    # Turns Command.new's and Command.run's keywords into the plain values the binding takes:
    # types checked, defaults filled, names converted. No rule of the core is checked here.
    #
    # @api private
    module Options
      module_function

      # `fs:` is the documented keyword name, shorter than rubocop likes.
      # rubocop:disable Naming/MethodParameterName
      def value_string(value, what)
        case value
        when String then value
        when Symbol, Integer then value.to_s
        else raise TypeError, "#{what} must be a String, Symbol or Integer, not #{value.class}"
        end
      end

      def name_string(key, what)
        case key
        when Symbol, String then key.to_s
        else raise TypeError, "#{what} keys must be placeholder names (Symbols), not #{key.class}"
        end
      end

      def normalize_allow(allow)
        raise TypeError, "allow: must be a Hash of placeholder => allowlist" unless allow.is_a?(Hash)

        specs = {}
        checks = {}
        allow.each do |key, rule|
          name = name_string(key, "allow:")
          specs[name] =
            case rule
            when Hash
              ["map", rule.to_h do |k, v|
                        [value_string(k, "allow: #{name} key"), value_string(v, "allow: #{name} value")]
                      end]
            when Array then ["one_of", rule.map { |v| value_string(v, "allow: #{name} entry") }]
            when Regexp
              checks[name] = Regexp.new("\\A(?:#{rule.source})\\z", rule.options)
              ["any"]
            when Proc, Method
              checks[name] = rule
              ["any"]
            else
              raise TypeError, "allow: #{name} must be a Hash, Array, Regexp or Proc, not #{rule.class}"
            end
        end
        [specs, checks.freeze]
      end

      def normalize_config(options:, env:, timeout:, max_output:, chdir:, rlimits:, fs:, net:, dangerous_shell:,
                           path:, kill_grace:)
        {
          options: Array(options).map { |o| name_string(o, "options:") },
          env: normalize_env(env),
          timeout: seconds(timeout, "timeout:", allow_nil: true, positive: true),
          max_output: non_negative_integer(max_output, "max_output:"),
          chdir: (normalize_chdir(chdir) unless root?(chdir)),
          chdir_root: (chdir if root?(chdir)),
          rlimits: normalize_rlimits(rlimits),
          fs: normalize_fs(fs),
          net: normalize_net(net),
          dangerous_shell: dangerous_shell ? true : false,
          path: normalize_path(path),
          kill_grace: seconds(kill_grace, "kill_grace:", allow_nil: false, positive: false)
        }
      end

      def normalize_env(env)
        raise TypeError, "env: must be a Hash of String => String" unless env.is_a?(Hash)

        env.map do |k, v|
          [utf8(value_string(k, "env: key"), "env: key"), utf8(value_string(v, "env: #{k}"), "env: #{k}")]
        end
      end

      def utf8(string, what)
        copy = string.dup.force_encoding(Encoding::UTF_8)
        raise ArgumentError, "#{what} is not valid UTF-8" unless copy.valid_encoding?

        copy
      end

      def seconds(value, what, allow_nil:, positive:)
        return nil if value.nil? && allow_nil
        raise TypeError, "#{what} must be a number of seconds, not #{value.class}" unless value.is_a?(Numeric)

        value = value.to_f
        raise ArgumentError, "#{what} must be a finite number of seconds" unless value.finite?
        raise ArgumentError, "#{what} must be greater than 0" if positive && value <= 0
        raise ArgumentError, "#{what} must not be negative" if value.negative?

        value
      end

      def non_negative_integer(value, what)
        raise TypeError, "#{what} must be an Integer, not #{value.class}" unless value.is_a?(Integer)
        raise ArgumentError, "#{what} must not be negative" if value.negative?
        raise ArgumentError, "#{what} is too large" if value > (1 << 62)

        value
      end

      def root?(chdir)
        defined?(HanamiGuard::Root) && chdir.is_a?(HanamiGuard::Root)
      end

      def normalize_chdir(chdir)
        return nil if chdir.nil?
        return chdir.to_path if chdir.respond_to?(:to_path)
        return chdir if chdir.is_a?(String)

        raise TypeError, "chdir: must be a HanamiGuard::Root or an absolute directory String, not #{chdir.class}"
      end

      def normalize_rlimits(rlimits)
        raise TypeError, "rlimits: must be a Hash like { cpu: 10, nofile: 64 }" unless rlimits.is_a?(Hash)

        rlimits.to_h do |key, value|
          unless RLIMITS.include?(key)
            raise ArgumentError, "rlimits: unknown limit #{key.inspect}; use #{RLIMITS.map(&:inspect).join(", ")}"
          end

          [key, non_negative_integer(value, "rlimits: #{key}")]
        end
      end

      def path_strings(list, what)
        Array(list).map do |p|
          p = p.to_path if p.respond_to?(:to_path)
          raise TypeError, "#{what} entries must be path Strings, not #{p.class}" unless p.is_a?(String)

          p
        end
      end

      def normalize_fs(fs)
        return nil if fs.nil?
        raise TypeError, "fs: must be a Hash like { read: [...], write: [...], exec: [...] }" unless fs.is_a?(Hash)

        fs.each_key do |key|
          raise ArgumentError, "fs: unknown key #{key.inspect}; use :read, :write, :exec" unless FS_KEYS.include?(key)
        end
        FS_KEYS.to_h { |key| [key, path_strings(fs[key], "fs: #{key}")] }
      end

      def normalize_net(net)
        return nil if net.nil?
        return ["unrestricted"] if net == :unrestricted
        unless net.is_a?(Hash)
          raise TypeError, "net: must be a Hash like { connect: [443] } or :unrestricted, not #{net.inspect}"
        end

        net.each_key do |key|
          raise ArgumentError, "net: unknown key #{key.inspect}; use :connect, :bind" unless NET_KEYS.include?(key)
        end
        ["ports", *NET_KEYS.map { |key| Array(net[key]).map { |port| port_number(port, key) } }]
      end

      def port_number(port, key)
        raise TypeError, "net: #{key} entries must be TCP port Integers, not #{port.class}" unless port.is_a?(Integer)

        port
      end

      def normalize_path(path)
        return nil if path.nil?
        return path_strings(path.split(":"), "path:") if path.is_a?(String)

        path_strings(path, "path:")
      end
      # rubocop:enable Naming/MethodParameterName
    end
  end
end
