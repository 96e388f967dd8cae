# frozen_string_literal: true

# The example app's config/app.rb, Hanami-shaped: `hanami_guard install` wrote
# config/hanami_guard.yml and config/providers/hanami_guard.rb, whose provider builds the policy,
# the Root and the commands once, at boot; the actions take them with Deps[...]. Puma verifies
# the client certificates; ExampleApp.rack_app puts the middleware, pinning the CA it is given
# (the demo makes a new one each run), in front of the routes.
require "hanami_guard"
require "rack"
require_relative "../app/hanami_shim"

module ExampleApp
  class App < Hanami::App
  end

  ROUTES = { "/whoami" => "actions.whoami", "/files" => "actions.files.show", "/logs" => "actions.logs",
             "/deploy" => "actions.containers.deploy" }.freeze

  # @param ca_pem [String] the CA this app pins (Puma may accept a wider bundle)
  # @param trusted_proxies [Array<String>] addresses whose X-Forwarded-Client-Cert is believed
  # @param on_report [#call, nil] receives the middleware's events (spoofed headers, refusals)
  def self.rack_app(ca_pem:, trusted_proxies: ["127.0.0.2/32"], on_report: nil)
    Hanami.app.prepare
    trust = HanamiGuard::TrustStore.new(ca_pem)
    Rack::Builder.new do
      # Puma's peer certificate for direct clients; the XFCC header only from the edge proxy.
      use HanamiGuard::Middleware::ClientIdentity,
          source: :puma, header: "X-Forwarded-Client-Cert", format: :xfcc,
          trusted_proxies: trusted_proxies, trust: trust, required: true, on_report: on_report
      ROUTES.each { |path, key| map(path) { run ->(env) { Hanami.app[key].call(env).to_a } } }
    end.to_app
  end
end
