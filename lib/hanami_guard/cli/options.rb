# frozen_string_literal: true

module HanamiGuard
  class CLI
    # The commands' options: long options only, each spelled out in full (no abbreviations: a
    # security tool's flags mean exactly what they say), `--name VALUE` or `--name=VALUE`,
    # operands anywhere, `--` ends the options. It loads in a fraction of OptionParser's time,
    # which was a tenth of a small `audit`'s.
    #
    # @api private
    class Options
      Option = Struct.new(:name, :argument, :allowed, :block)

      def initialize
        @options = {}
      end

      # @param spec [String] "--name" (a flag) or "--name ARG" (takes a value)
      # @param rest [Array] an Array of the values allowed (optional), then a description (for
      #   the reader; the usage text is CLI::USAGE)
      def on(spec, *rest, &block)
        name, argument = spec.split(" ", 2)
        @options[name] = Option.new(name, argument, rest.find { |r| r.is_a?(Array) }, block)
        self
      end

      # Calls each given option's block (with its value, or true for a flag) and leaves the
      # operands in `argv`, in order.
      #
      # @raise [UsageError] for an unknown option, a missing or unexpected value, or a value
      #   not in the option's list
      # @raise [Help] for -h or --help
      def parse!(argv)
        operands = []
        until argv.empty?
          arg = argv.shift
          if arg == "--"
            operands.concat(argv.shift(argv.size))
          elsif %w[-h --help].include?(arg)
            raise Help
          elsif arg.start_with?("--")
            take(arg, argv)
          elsif arg.start_with?("-") && arg != "-"
            raise UsageError, "unknown option #{arg[0, 40].inspect}"
          else
            operands << arg
          end
        end
        argv.replace(operands)
      end

      private

      def take(arg, argv)
        name, value = arg.split("=", 2)
        option = @options[name] or raise UsageError, "unknown option #{name[0, 40].inspect}"
        return flag(option, value) unless option.argument

        if value.nil?
          raise UsageError, "#{name} needs a value (#{name} #{option.argument})" if argv.empty?

          value = argv.shift
        end
        if option.allowed && !option.allowed.include?(value)
          raise UsageError, "#{name} takes #{option.allowed.join(", ")}, not #{value[0, 40].inspect}"
        end

        option.block.call(value)
      end

      def flag(option, value)
        raise UsageError, "#{option.name} takes no value" unless value.nil?

        option.block.call(true)
      end
    end
  end
end
