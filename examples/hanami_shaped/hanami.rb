# frozen_string_literal: true

require "logger"
require "pathname"
require "rack"
require_relative "hanami_shaped"

# A Hanami-2-shaped app, for where Hanami's gems are not installed (this project's build
# machines): with this directory on the load path, `require "hanami"` (and "hanami/prepare",
# "hanami/boot") gives the parts of Hanami 2's app an app's own files touch, so that the files
# `hanami_guard install` writes and the README's quick start can run as they would in an app:
#
# - `class App < Hanami::App` in config/app.rb makes `Hanami.app`, rooted at the directory that
#   holds config/, with `config.middleware.use` and `config.actions.handle_exception`;
# - `Hanami.app.register_provider(name, namespace:) { prepare {}; start {} }` in
#   config/providers/*.rb, whose blocks `register` components and read `target["settings"]`;
#   a provider starts the first time one of its components is resolved (as dry-system does);
# - `Hanami.app[key]`, `"settings"` (config/settings.rb's `Settings < Hanami::Settings`, read
#   from ENV), `"logger"`, and `actions.*` for the classes under app/actions/;
# - `<App's namespace>::Deps["key", ...]`: an included module whose constructor takes each
#   component as a keyword, defaulting to the container's, with a reader named by the key's last
#   segment (dry-auto_inject's kwargs strategy);
# - config/routes.rb's `get`/`post`/... `to: "containers.deploy"`, and `Hanami.app.rack_app`:
#   the middleware in front of a router that calls the action.
#
# It is NOT Hanami: no Zeitwerk (app/ is required eagerly, the base action first), no slices,
# params validation, views or assets.
module Hanami
  Action = HanamiShaped::Action unless const_defined?(:Action, false)

  class << self
    # @return [Class] the app class config/app.rb defined
    def app
      @app or raise "Hanami.app is not defined: require config/app.rb (class App < Hanami::App) first"
    end

    def app?
      !@app.nil?
    end

    # @api private
    attr_writer :app

    def env
      (ENV["HANAMI_ENV"] || ENV["RACK_ENV"] || "development").to_sym
    end

    # Loads config/app.rb from the working directory, then prepares the app.
    def prepare
      require File.expand_path("config/app", Dir.pwd) unless app?
      app.prepare
    end

    def boot
      prepare
      app.boot
    end
  end

  # Settings read from ENV by name (HANAMI_GUARD_CA_FILE for :hanami_guard_ca_file).
  class Settings
    def self.setting(name, default: nil, constructor: nil)
      settings[name.to_sym] = [default, constructor]
      attr_reader name
    end

    def self.settings
      @settings ||= {}
    end

    def initialize(env = ENV)
      self.class.settings.each do |name, (default, constructor)|
        value = env.fetch(name.to_s.upcase, default)
        value = constructor.call(value) if constructor && !value.nil?
        instance_variable_set(:"@#{name}", value)
      end
      freeze
    end
  end

  # `config` of the app: the middleware stack and the actions' settings.
  class AppConfig
    Middleware = Struct.new(:stack) do
      def use(klass, *args, **options, &block)
        stack << [klass, args, options, block]
      end
    end

    # `config.actions`: what every action class gets when it is defined.
    class Actions
      attr_reader :handled_exceptions

      def initialize
        @handled_exceptions = {}
      end

      def handle_exception(mapping)
        @handled_exceptions = @handled_exceptions.merge(mapping)
      end
    end

    attr_reader :middleware, :actions

    def initialize
      @middleware = Middleware.new([])
      @actions = Actions.new
    end
  end

  # A provider's lifecycle, as config/providers/*.rb declare it.
  class Provider
    attr_reader :name, :keys

    def initialize(app, name, namespace, definition)
      @app = app
      @name = name.to_s
      @namespace = namespace
      @steps = {}
      @keys = []
      @started = false
      instance_exec(&definition)
    end

    %i[prepare start stop].each do |step|
      define_method(step) { |&block| @steps[step] = block }
    end

    def target
      @app
    end

    def register(key, value)
      key = @namespace ? "#{@name}.#{key}" : key.to_s
      @keys << key
      @app.register(key, value)
    end

    def provides?(key)
      @namespace ? key.start_with?("#{@name}.") : @name == key.split(".").first
    end

    def start!
      return if @started

      @started = true
      instance_exec(&@steps[:prepare]) if @steps[:prepare]
      instance_exec(&@steps[:start]) if @steps[:start]
    end
  end

  # `Deps["a.b", ...]`: a module that injects components through the constructor.
  class Deps
    def initialize(app)
      @app = app
    end

    def [](*keys)
      app = @app
      names = keys.to_h { |key| [key.to_s.split(".").last.to_sym, key.to_s] }
      Module.new do
        attr_reader(*names.keys)

        define_method(:initialize) do |**options|
          names.each do |name, key|
            instance_variable_set(:"@#{name}", options.key?(name) ? options.delete(name) : app[key])
          end
          super(**options)
        end
      end
    end
  end

  # config/routes.rb: `class Routes < Hanami::Routes; post "/deploy", to: "containers.deploy"; end`.
  class Routes
    def self.routes
      @routes ||= []
    end

    %w[get post put patch delete].each do |verb|
      define_singleton_method(verb) { |path, to:| routes << [verb.upcase, path, to] }
    end
  end

  # The app class: `class App < Hanami::App` in config/app.rb.
  class App
    class << self
      attr_reader :root, :config

      def inherited(subclass)
        super
        # The app is rooted where its config/app.rb is, whatever the working directory.
        subclass.instance_variable_set(:@root, Pathname(File.dirname(caller_locations(1, 1)[0].path)).join("..")
                                                                                                   .expand_path)
        subclass.instance_variable_set(:@config, AppConfig.new)
        subclass.instance_variable_set(:@components, {})
        subclass.instance_variable_set(:@providers, [])
        namespace = Object.const_get(subclass.name.split("::")[0...-1].join("::").then { _1.empty? ? "Object" : _1 })
        namespace.const_set(:Deps, Deps.new(subclass)) unless namespace.const_defined?(:Deps, false)
        Hanami.app = subclass
      end

      def register_provider(name, namespace: false, &definition)
        @providers << Provider.new(self, name, namespace, definition)
      end

      def register(key, value)
        key = key.to_s
        raise ArgumentError, "#{key} is already registered" if @components.key?(key)

        @components[key] = value
      end

      def key?(key)
        @components.key?(key.to_s)
      end

      def [](key)
        key = key.to_s
        @providers.find { |provider| provider.provides?(key) }&.start! unless @components.key?(key)
        value = @components.fetch(key) { raise KeyError, "nothing registered with the key #{key.inspect} in #{name}" }
        value.is_a?(Proc) && value.lambda? && value.arity.zero? ? value.call : value
      end
      alias resolve []

      def prepared?
        @prepared == true
      end

      # Settings, logger, providers, then the app's code.
      def prepare
        return self if prepared?

        @prepared = true
        settings_file = root.join("config/settings.rb")
        require settings_file.to_s if settings_file.file?
        settings = namespace_const(:Settings) || Settings
        register("settings", settings.new)
        register("logger", Logger.new($stdout, level: Logger::WARN))
        Dir[root.join("config/providers/*.rb").to_s].each { |file| require file }
        load_app_code
        self
      end

      def boot
        prepare
        @providers.each(&:start!)
        self
      end

      # The middleware in front of the routes.
      def rack_app
        boot
        routes = routes_table
        app = lambda do |env|
          route = routes[[env["REQUEST_METHOD"], env["PATH_INFO"]]]
          route ? route.call(env).to_a : [404, { "content-type" => "text/plain" }, ["Not Found"]]
        end
        config.middleware.stack.reverse.inject(app) do |inner, (klass, args, options, block)|
          klass.new(inner, *args, **options, &block)
        end
      end

      private

      def namespace_const(name)
        namespace = Object.const_get(self.name.split("::")[0...-1].join("::"))
        namespace.const_defined?(name, false) ? namespace.const_get(name, false) : nil
      end

      # app/action.rb first (every action inherits from it), then the rest; each action class is
      # registered as actions.<path>.
      def load_app_code
        base = root.join("app/action.rb")
        require base.to_s if base.file?
        Dir[root.join("app/**/*.rb").to_s].each do |file|
          require file
          relative = Pathname(file).relative_path_from(root.join("app")).sub_ext("").to_s
          next unless relative.start_with?("actions/")

          klass = constant_for(relative)
          register(relative.tr("/", "."), -> { klass.new })
        end
      end

      def constant_for(relative)
        names = relative.split("/").map { |part| part.split("_").map(&:capitalize).join }
        [name.split("::")[0...-1], *names].flatten.inject(Object) { |scope, name| scope.const_get(name, false) }
      end

      def routes_table
        file = root.join("config/routes.rb")
        return {} unless file.file?

        require file.to_s
        routes = namespace_const(:Routes)
        routes.routes.to_h { |verb, path, to| [[verb, path], self["actions.#{to}"]] }
      end
    end
  end
end
