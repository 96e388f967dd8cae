# frozen_string_literal: true

module HanamiGuard
  class CLI
    # `hanami_guard install`: in a Hanami 2 app, writes a commented starting policy and a
    # provider, and prints the two lines to add by hand. Idempotent: a file that is already
    # there with the same content is left alone; one that differs is reported and kept unless
    # `--force`.
    #
    # @api private
    class Install
      POLICY = <<~'YAML'
        # hanami_guard policy: who may do what. Default deny; a matching deny rule beats any allow.
        # Reference: docs/policy.md in the hanami_guard repository.
        # Check it in CI with `hanami_guard lint config/hanami_guard.yml` and
        # `hanami_guard test config/hanami_guard.yml spec/hanami_guard_cases.yml`.
        version: 1
        rules:
          # Operators, with certificates from your issuing (intermediate) CA, may deploy two images.
          - id: operators-deploy
            effect: allow
            actions: [deploy]
            resources: [worker, api]
            principals:
              - subject: { CN: operator, O: MyOrg }
                issuer: { CN: MyOrg Internal CA }   # the CA that signs the leaf, not the root

          # Contractors never touch the API, whatever an allow rule says.
          - id: no-contractors
            effect: deny
            actions: ["*"]
            resources: [api]
            principals:
              - subject: { OU: Contractors }
      YAML

      PROVIDER = <<~'RUBY'
        # frozen_string_literal: true

        # Registers hanami_guard's objects in the app's container, so actions take them with
        # `include Deps["hanami_guard.policy"]`. Paths come from the app's settings when it defines
        # them (config/settings.rb: `setting :hanami_guard_ca_file, constructor: Types::String.optional`)
        # and default to files under the app's root.
        Hanami.app.register_provider(:hanami_guard, namespace: true) do
          prepare do
            require "hanami_guard"
          end

          start do
            settings = target["settings"]
            path = lambda do |name, default|
              value = settings.respond_to?(name) ? settings.public_send(name) : nil
              Hanami.app.root.join(value || default).to_s
            end

            register "policy", HanamiGuard::Policy.load(path.call(:hanami_guard_policy_file, "config/hanami_guard.yml"))

            ca_file = path.call(:hanami_guard_ca_file, "config/ca.pem")
            register "trust_store", HanamiGuard::TrustStore.new(File.read(ca_file)) if File.exist?(ca_file)

            # Roots and commands the actions use, built once at boot:
            # register "roots.uploads", HanamiGuard::Root.new(Hanami.app.root.join("storage/uploads").to_s)
            # register "commands.deploy", HanamiGuard::Command.new("docker run --rm {image}",
            #   allow: { image: { "worker" => "worker:latest" } }, timeout: 30)
          end
        end
      RUBY

      FILES = { "config/hanami_guard.yml" => POLICY, "config/providers/hanami_guard.rb" => PROVIDER }.freeze

      NEXT_STEPS = <<~TEXT
        Put the CA that issues your clients' certificates (the intermediate) in config/ca.pem.
        Add to config/app.rb, after require "hanami" (Hanami 2 does not require the Gemfile's gems):
          require "hanami_guard"
        and the middleware, inside the App class:
          config.middleware.use HanamiGuard::Middleware::ClientIdentity,
            trust: HanamiGuard::TrustStore.new(File.read("config/ca.pem")), source: :puma
        And in app/action.rb (your base action):
          include HanamiGuard::Action
          guard_policy Hanami.app["hanami_guard.policy"]
      TEXT

      def initialize(dir, force: false)
        @dir = dir
        @force = force
      end

      # @return [Hash] written, unchanged, conflicts (paths), next_steps
      def run
        unless File.file?(File.join(@dir, "config", "app.rb"))
          raise InputError, "#{@dir} does not look like a Hanami app (no config/app.rb): run install in the app's root"
        end

        report = { written: [], unchanged: [], conflicts: [], next_steps: NEXT_STEPS }
        FILES.each do |relative, content|
          path = File.join(@dir, relative)
          current = File.file?(path) ? File.read(path) : nil
          if current == content
            report[:unchanged] << relative
          elsif current && !@force
            report[:conflicts] << relative
          else
            CLI.write_atomically(path, content)
            report[:written] << relative
          end
        end
        report
      end

      def self.text(report)
        lines = report[:written].map { |f| "wrote     #{f}" } +
                report[:unchanged].map { |f| "unchanged #{f}" } +
                report[:conflicts].map { |f| "kept      #{f} (it differs; --force overwrites it)" }
        (lines + ["", report[:next_steps]]).join("\n")
      end
    end
  end
end
