# frozen_string_literal: true

require "rack"

# A small stand-in for `Hanami::Action` (hanami-controller 2.1 to 2.3), written for this project
# because Hanami's gems cannot be installed where it is built. It reproduces, from a reading of
# hanami-controller's lib/hanami/action.rb and lib/hanami/action/config.rb and hanami-utils'
# lib/hanami/utils/callbacks.rb, exactly the hooks `HanamiGuard::Action` relies on:
#
# - `config` is per class and copied into a subclass when it is defined (dry-configurable's
#   `inherited`), so mappings and callbacks registered on a base action reach its subclasses;
# - `config.handle_exception(hash)` merges, then sorts so that a subclass comes before its
#   ancestors (`PathEscapeError` is checked before `PathError`);
# - `before`/`append_before` take method names or blocks; a block runs with `instance_exec(request,
#   response)`, a method name is called with (request, response) when it takes arguments;
# - `call(env)`: build request and response, run the before callbacks, `handle`, the after
#   callbacks, all inside `catch :halt`; a `StandardError` is looked up in `handled_exceptions`
#   (`is_a?`, first match): an Integer handler halts with that status and the status' reason
#   phrase as the body, a Symbol handler calls that method with (request, response, exception);
#   an unhandled exception is stored in env["rack.exception"] and re-raised;
# - an action instance is frozen after `initialize`, so a module may not memoize into ivars.
#
# It is NOT Hanami: no params validation, formats, sessions, cookies or views.
module HanamiShaped
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

  # The per-class settings hanami-controller keeps in dry-configurable.
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

    # hanami-controller: merge, then sort so that subclasses are matched before their ancestors.
    def handle_exception(exceptions)
      self.handled_exceptions = handled_exceptions
                                .merge(exceptions)
                                .sort { |(ex1, _), (ex2, _)| ex1.ancestors.include?(ex2) ? -1 : 1 }
                                .to_h
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

  # The action base class.
  class Action
    REASON_PHRASES = ::Rack::Utils::HTTP_STATUS_CODES

    class << self
      def config
        @config ||= Config.new
      end

      def inherited(subclass)
        super
        subclass.instance_variable_set(:@config, config.dup)
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

    attr_reader :config

    def initialize(config: self.class.config)
      @config = config
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
      finish(response, halted)
    end

    protected

    def handle(request, response); end

    def halt(status, body = nil)
      throw :halt, [status, body || REASON_PHRASES.fetch(status)]
    end

    private

    def _handle_exception(request, response, exception)
      handler = config.handled_exceptions.find { |klass, _| exception.is_a?(klass) }&.last
      if handler.nil?
        request.env["rack.exception"] = exception
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
end
