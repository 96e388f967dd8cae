# frozen_string_literal: true

require "rack"

# Small stand-ins for `Hanami::Action`, one per Hanami version hanami_guard supports, written for
# this project because Hanami's gems cannot be installed where it is built. Each reproduces,
# from a reading of that version's sources, exactly the hooks `HanamiGuard::Action` relies on:
#
#   "2.2"  hanami-controller 2.2.0 (tag v2.2.0): lib/hanami/action.rb, lib/hanami/action/config.rb,
#          and hanami-utils' lib/hanami/utils/callbacks.rb
#   "2.3"  hanami-controller 2.3 (tag v2.3.0.beta2): for these hooks the same as 2.2
#   "3.0"  hanami-action 3.0.0 (the renamed gem; still `require "hanami/action"`, `Hanami::Action`)
#
# What they all do:
# - `config` is per class and copied into a subclass when it is defined (dry-configurable's
#   `inherited`), so mappings and callbacks registered on a base action reach its subclasses;
# - `config.handle_exception(hash)` merges, then sorts so that a subclass comes before its
#   ancestors (`PathEscapeError` is checked before `PathError`), then the first match wins;
# - `before`/`append_before` take method names or blocks; a block runs with `instance_exec(request,
#   response)`, a method name is called with (request, response) when it takes arguments;
# - `call(env)`: build request and response, run the before callbacks, `handle`, the after
#   callbacks, all inside `catch :halt`; an Integer handler halts with that status and the status'
#   reason phrase as the body, a Symbol handler calls that method with (request, response,
#   exception); an unhandled exception is stored in env["rack.exception"], written to
#   env["rack.errors"] and re-raised; the action puts itself in env["hanami.action_instance"];
# - an action instance is frozen after `initialize`, so a module may not memoize into ivars.
#
# What 3.0 changes ("3.0" below):
# - `handle_exception` also takes exception class *names* ("ROM::TupleCountMismatchError" => 404),
#   so an action need not load a library to name its errors. A String key matches an exception
#   whose class name is exactly that String (no subclasses), and the sort leaves any pair with a
#   String key where it is (`next 0 if [ex1, ex2].any?(String)`), so the subclass-first order is no
#   longer guaranteed once a String key is present;
# - the first `new` finalizes the class' config (frozen from then on: `handle_exception` or `before`
#   on that class raises FrozenError), and the instance reads a frozen snapshot of it.
#
# It is NOT Hanami: no params validation, formats, body parsing, sessions, cookies or views.
module HanamiShaped
  VERSIONS = %w[2.2 2.3 3.0].freeze

  # The action base class for a Hanami version.
  def self.action(version)
    ACTIONS.fetch(version) { raise ArgumentError, "no Hanami-shaped action for #{version}: use one of #{VERSIONS}" }
  end

  # Request: a Rack::Request with Hanami's symbol-keyed `params` (query, body and router params).
  class Request < ::Rack::Request
    def params
      @params ||= super.merge(env.fetch("router.params", {})).transform_keys(&:to_sym)
    end
  end

  # Response: Hanami's is a Rack::Response whose `body=` takes a String.
  class Response < ::Rack::Response
    def initialize
      super([], 200, { "Content-Type" => "text/plain; charset=utf-8" })
    end

    def body=(str)
      @length = 0
      @body = []
      write(str.to_s)
    end

    def body_text
      body.join
    end

    # Hanami's Response destructures like a Rack triple (`status, headers, body = action.call(env)`).
    alias to_ary to_a
  end

  # The per-class settings hanami-controller 2.x keeps in dry-configurable.
  class Config
    attr_accessor :handled_exceptions, :before_callbacks, :after_callbacks

    def initialize
      @handled_exceptions = {}
      @before_callbacks = []
      @after_callbacks = []
    end

    def initialize_copy(source)
      super
      @handled_exceptions = source.handled_exceptions.dup
      @before_callbacks = source.before_callbacks.dup
      @after_callbacks = source.after_callbacks.dup
    end

    # hanami-controller 2.2 and 2.3: merge, then sort so that subclasses are matched before their
    # ancestors.
    def handle_exception(exceptions)
      self.handled_exceptions = handled_exceptions
                                .merge(exceptions)
                                .sort { |(ex1, _), (ex2, _)| ex1.ancestors.include?(ex2) ? -1 : 1 }
                                .to_h
    end

    def handler_for(exception)
      handled_exceptions.find { |klass, _| exception.is_a?(klass) }&.last
    end

    # 2.x: the instance reads the class' config itself.
    def finalize!
      self
    end
  end

  # hanami-action 3.0's config: String keys, and frozen once an action is instantiated.
  class Config30 < Config
    def handle_exception(exceptions)
      raise FrozenError, "can't modify frozen #{self.class}: config is finalized" if frozen?

      self.handled_exceptions = handled_exceptions
                                .merge(exceptions)
                                .sort do |(ex1, _), (ex2, _)|
                                  next 0 if [ex1, ex2].any?(String)

                                  ex1.ancestors.include?(ex2) ? -1 : 1
                                end
                                .to_h
    end

    def handler_for(exception)
      handled_exceptions.each do |key, handler|
        # A String names one class exactly (3.0's matching), not its subclasses.
        matched = key.is_a?(String) ? exception.class.name == key : exception.is_a?(key) # rubocop:disable Style/ClassEqualityComparison
        return handler if matched
      end
      nil
    end

    def finalize!
      [handled_exceptions, before_callbacks, after_callbacks].each(&:freeze)
      freeze
    end
  end

  # hanami-utils' Callbacks::Chain entries.
  Callback = Struct.new(:callable) do
    def call(context, *args)
      if callable.respond_to?(:call)
        context.instance_exec(*args, &callable)
      else
        method = context.method(callable)
        method.parameters.any? ? method.call(*args) : method.call
      end
    end
  end

  # The action base class (2.2 and 2.3).
  class Action
    REASON_PHRASES = ::Rack::Utils::HTTP_STATUS_CODES

    class << self
      def config
        @config ||= config_class.new
      end

      def config_class = Config

      def inherited(subclass)
        super
        # dry-configurable copies the parent's settings, finalized or not, into a fresh config.
        copy = config_class.new
        copy.handled_exceptions = config.handled_exceptions.dup
        copy.before_callbacks = config.before_callbacks.dup
        copy.after_callbacks = config.after_callbacks.dup
        subclass.instance_variable_set(:@config, copy)
      end

      def append_before(*callbacks, &block)
        callbacks.push(block) if block
        config.before_callbacks.concat(callbacks.map { |c| Callback.new(c) }).uniq!
      end
      alias before append_before

      def append_after(*callbacks, &block)
        callbacks.push(block) if block
        config.after_callbacks.concat(callbacks.map { |c| Callback.new(c) }).uniq!
      end
      alias after append_after

      def handle_exception(...)
        config.handle_exception(...)
      end
    end

    def initialize(config: self.class.config)
      @config = config.finalize!
      freeze
    end

    def call(env)
      request = nil
      response = nil
      halted = catch :halt do
        request = Request.new(env)
        response = Response.new
        config.before_callbacks.each { |c| c.call(self, request, response) }
        handle(request, response)
        config.after_callbacks.each { |c| c.call(self, request, response) }
        nil
      rescue StandardError => e
        _handle_exception(request, response, e)
      end
      env["hanami.action_instance"] = self
      finish(response, halted)
    end

    protected

    def handle(request, response); end

    def halt(status, body = nil)
      throw :halt, [status, body || REASON_PHRASES.fetch(status)]
    end

    private

    attr_reader :config

    def _handle_exception(request, response, exception)
      handler = config.handler_for(exception)
      if handler.nil?
        request.env["rack.exception"] = exception
        if (errors = request.env["rack.errors"])
          errors.write([[exception.class, exception.message].join(": "), *exception.backtrace].join("\n\t"))
          errors.flush
        end
        raise exception
      end
      if respond_to?(handler.to_s, true)
        instance_exec(request, response, exception, &method(handler))
      else
        halt handler
      end
      nil
    end

    def finish(response, halted)
      response.status, response.body = *halted unless halted.nil?
      response
    end
  end

  # hanami-action 3.0's base class: the same protocol, with Config30.
  class Action30 < Action
    def self.config_class = Config30

    @config = Config30.new
  end

  ACTIONS = { "2.2" => Action, "2.3" => Action, "3.0" => Action30 }.freeze
end
