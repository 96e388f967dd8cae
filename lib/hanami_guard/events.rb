# frozen_string_literal: true

require "json"

# The event stream: HanamiGuard.subscribe, .unsubscribe, .instrument_with, .log_refusals_to.
module HanamiGuard
  # One stream for everything the gem refuses or decides. Subscribers get an {Event}: a name
  # and a frozen payload of Strings, numbers, booleans, Symbols and nil, never a whole
  # certificate or a secret, with control, zero-width and bidirectional characters escaped.
  #
  # Nothing is built when nobody listens: each emitter asks {.listening?} first.
  #
  # @example
  #   HanamiGuard.subscribe("certificate.rejected") { |event| warn event.to_h.inspect }
  #
  # @api public
  # @since 0.2.0
  module Events
    # Every event the gem emits.
    NAMES = %w[certificate.rejected header.ignored policy.decision policy.shadow path.refused
               command.refused command.finished].freeze

    # The events the default logger subscriber writes (one line each).
    REFUSALS = %w[certificate.rejected header.ignored path.refused command.refused].freeze

    # One event: `name` and `payload`; `to_h` is the payload with `event: name` first.
    class Event
      # @return [String]
      attr_reader :name
      # @return [Hash{Symbol => Object}] frozen
      attr_reader :payload

      def initialize(name, payload)
        @name = name
        @payload = payload
        freeze
      end

      # @return [Object] a payload entry
      def [](key)
        @payload[key]
      end

      # @return [Hash{Symbol => Object}]
      def to_h
        { event: @name, **@payload }
      end

      # @return [String] one JSON line
      def to_json(*args)
        to_h.to_json(*args)
      end
    end

    # What {HanamiGuard.subscribe} returns, to pass to {HanamiGuard.unsubscribe}.
    Subscription = Struct.new(:pattern, :block, :explain)

    @subscriptions = [].freeze
    @lock = Mutex.new
    @backends = [].freeze

    class << self
      # @api private
      attr_reader :subscriptions, :backends

      # @api private
      def add(pattern, block, explain: false)
        unless pattern == "*" || NAMES.include?(pattern)
          raise ArgumentError, "unknown event #{pattern.to_s[0, 60].inspect}: subscribe to \"*\" or one of " \
                               "#{NAMES.join(", ")}"
        end
        unless block
          raise ArgumentError,
                "subscribe needs a block: HanamiGuard.subscribe(\"#{pattern}\") { |event| ... }"
        end

        subscription = Subscription.new(pattern, block, explain ? true : false).freeze
        @lock.synchronize do
          @subscriptions = (@subscriptions + [subscription]).freeze
          refresh
        end
        subscription
      end

      # @api private
      def remove(subscription)
        @lock.synchronize do
          @subscriptions = (subscription ? @subscriptions - [subscription] : []).freeze
          refresh
        end
        nil
      end

      # @api private
      def add_backend(backend)
        @lock.synchronize do
          @backends = (@backends + [backend]).freeze
          refresh
        end
      end

      # Whether anything would receive `name`: emitters check this before building a payload.
      #
      # @param name [String]
      # @return [Boolean]
      def listening?(name)
        return true unless @backends.empty?

        @subscriptions.any? { |s| s.pattern == "*" || s.pattern == name }
      end

      # Delivers an event. A subscriber that raises is reported with `warn` and changes nothing.
      #
      # @param name [String] one of {NAMES}
      # @param payload [Hash{Symbol => Object}]
      # @return [nil]
      def emit(name, payload)
        event = Event.new(name, clean(payload))
        @subscriptions.each do |subscription|
          next unless subscription.pattern == "*" || subscription.pattern == name

          begin
            subscription.block.call(event)
          rescue StandardError => e
            warn "hanami_guard: a #{name} subscriber raised #{e.class}: #{e.message}"
          end
        end
        @backends.each { |backend| backend.call(event) }
        nil
      end

      # Strings escaped and frozen; anything else that is not plain data becomes its class name.
      #
      # @api private
      def clean(payload)
        payload.transform_values { |value| clean_value(value) }.freeze
      end

      private

      def clean_value(value)
        case value
        when String
          text = Policy::Audit.text(value)
          text.frozen? ? text : text.dup.freeze # never freezes the caller's String
        when Integer, Float, true, false, nil, Symbol then value
        when Array then value.map { |v| clean_value(v) }.freeze
        when Hash then clean(value)
        else "(#{value.class})"
        end
      end

      # Policy decisions cost one atomic load when nobody listens: tell the extension who does,
      # and whether a decision subscriber asked for explanations.
      def refresh
        wants = ->(name) { !@backends.empty? || @subscriptions.any? { |s| ["*", name].include?(s.pattern) } }
        explain = @subscriptions.any? { |s| s.explain && ["*", "policy.decision"].include?(s.pattern) }
        Policy.send(:_listen, wants.call("policy.decision"), wants.call("policy.shadow"), explain)
      end
    end
  end

  class << self
    # Subscribes to one event, or to every event with `"*"`.
    #
    # `explain: true` on a `policy.decision` (or `"*"`) subscription adds `explanation:` to every
    # `policy.decision` payload (for every subscriber, while it is subscribed): for a default
    # deny, the closest rule and the condition that failed. It costs a second look at the rules
    # per denial, so it is off unless asked for.
    #
    # @param name [String] one of {Events::NAMES}, or "*"
    # @param explain [Boolean] add the explanation to `policy.decision` payloads
    # @yieldparam event [Events::Event]
    # @return [Events::Subscription] for {.unsubscribe}
    # @raise [ArgumentError] an unknown name (a typo would otherwise never fire) or no block
    # @api public
    # @since 0.2.0
    def subscribe(name, explain: false, &block)
      Events.add(name.to_s, block, explain:)
    end

    # Removes a subscription (or all of them, without an argument).
    #
    # @param subscription [Events::Subscription, nil]
    # @return [nil]
    # @api public
    # @since 0.2.0
    def unsubscribe(subscription = nil)
      Events.remove(subscription)
    end

    # Forwards every event to an instrumentation bus as `hanami_guard.<event>`: dry-monitor's
    # notifications (what Hanami uses: `Hanami.app["notifications"]`) or
    # ActiveSupport::Notifications.
    #
    # @param notifications [#instrument] dry-monitor (with #register_event) or ActiveSupport::Notifications
    # @return [void]
    # @raise [ArgumentError] an object with no #instrument
    # @api public
    # @since 0.2.0
    def instrument_with(notifications)
      unless notifications.respond_to?(:instrument)
        raise ArgumentError, "instrument_with takes dry-monitor notifications (Hanami.app[\"notifications\"]) or " \
                             "ActiveSupport::Notifications, not #{notifications.class}"
      end

      if notifications.respond_to?(:register_event)
        Events::NAMES.each { |name| notifications.register_event("hanami_guard.#{name}") }
      end
      Events.add_backend(->(event) { notifications.instrument("hanami_guard.#{event.name}", event.payload) })
    end

    # Writes a decision log: one JSON line per `policy.decision` event (`{"event":"policy.decision",
    # "time":..., "pid":..., ...payload}`), with the policy version that decided and what
    # `hanami_guard replay` needs to rebuild the identity (names, SPIFFE ID, DNS names,
    # fingerprint; never a certificate). A path is opened with O_APPEND and each line written by
    # one write(2), so the Puma threads of a worker, and every worker and process appending to
    # the same file, never interleave or overwrite lines; a log shipper can collect it.
    #
    # @example
    #   HanamiGuard.log_decisions_to("log/decisions.jsonl")
    # @param target [String, Pathname, IO] a path (opened for appending, created 0640 if missing)
    #   or an IO (one #write per line)
    # @param explain [Boolean] add `explanation:` to each denial (see {.subscribe})
    # @return [Events::Subscription] for {.unsubscribe}
    # @api public
    # @since 0.2.0
    def log_decisions_to(target, explain: false)
      write = decision_log_writer(target)
      subscribe("policy.decision", explain:) do |event|
        line = JSON.generate({ event: event.name, time: Time.now.utc.iso8601(6), pid: Process.pid, **event.payload })
        write.call("#{line}\n")
      end
    end

    # Logs one line per refusal (the names in {Events::REFUSALS}) through `logger` at warn:
    # `hanami_guard certificate.rejected {"reason":"expired",...}`. It subscribes to those events
    # only, so policy decisions stay free of event building.
    #
    # @param logger [#warn] the app's logger (Hanami.app["logger"])
    # @return [Array<Events::Subscription>] one per event, for {.unsubscribe}
    # @api public
    # @since 0.2.0
    def log_refusals_to(logger)
      unless logger.respond_to?(:warn)
        raise ArgumentError,
              "log_refusals_to takes a logger (#warn), not #{logger.class}"
      end

      Events::REFUSALS.map do |name|
        subscribe(name) { |event| logger.warn("hanami_guard #{event.name} #{JSON.generate(event.payload)}") }
      end
    end

    private

    def decision_log_writer(target)
      target = target.to_path if target.respond_to?(:to_path)
      case target
      when String
        require "time"
        file = File.open(target, File::WRONLY | File::APPEND | File::CREAT, 0o640)
        file.sync = true
        ->(line) { file.syswrite(line) }
      else
        unless target.respond_to?(:write)
          raise ArgumentError, "log_decisions_to takes a path or an IO (#write), not #{target.class}"
        end

        require "time"
        ->(line) { target.write(line) }
      end
    end
  end
end
