# frozen_string_literal: true

# Written by `hanami_guard install`; the example app registers its roots and commands below.
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
    register "roots.public_files", HanamiGuard::Root.new(Hanami.app.root.join("public").to_s)
    images = { "worker" => "worker:latest", "api" => "api:stable" }
    register "commands.deploy", HanamiGuard::Command.new("echo deploying {image}", allow: { image: images }, timeout: 5)
    log_dir = Hanami.app.root.join("log").to_s
    register "commands.tail", HanamiGuard::Command.new("tail -n {lines} app.log", chdir: log_dir, timeout: 5,
                                                                                  allow: { lines: /\A[0-9]{1,3}\z/ })
  end
end
