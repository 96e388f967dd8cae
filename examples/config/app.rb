# frozen_string_literal: true

# The example app's boot file, Hanami-shaped: guards are built once here, frozen, and shared by
# every Puma thread. In a real Hanami app these lines live in config/app.rb and
# config/providers/; here ExampleApp.rack_app assembles the Rack stack that config.ru runs.
require "hanami_guard"
require "rack"
require_relative "../app/hanami_shim"

module ExampleApp
  ROOT_DIR = File.expand_path("..", __dir__)

  POLICY = HanamiGuard::Policy.load(File.join(ROOT_DIR, "config", "hanami_guard.yml"))
  PUBLIC = HanamiGuard::Root.new(File.join(ROOT_DIR, "public"))
  DEPLOY = HanamiGuard::Command.new("echo deploying {image}",
                                    allow: { image: { "worker" => "worker:latest", "api" => "api:stable" } },
                                    timeout: 5)
  TAIL = HanamiGuard::Command.new("tail -n {lines} app.log", allow: { lines: /\A[0-9]{1,3}\z/ },
                                                             chdir: File.join(ROOT_DIR, "log"), timeout: 5)

  # @param ca_pem [String] the CA this app pins (Puma may accept a wider bundle)
  # @param trusted_proxies [Array<String>] addresses whose X-Forwarded-Client-Cert is believed
  # @param on_report [#call, nil] receives the middleware's events (spoofed headers, refusals)
  def self.rack_app(ca_pem:, trusted_proxies: ["127.0.0.2/32"], on_report: nil)
    trust = HanamiGuard::TrustStore.new(ca_pem)
    Rack::Builder.new do
      # Puma's peer certificate for direct clients; the XFCC header only from the edge proxy.
      use HanamiGuard::Middleware::ClientIdentity,
          source: :puma, header: "X-Forwarded-Client-Cert", format: :xfcc,
          trusted_proxies: trusted_proxies, trust: trust, required: true, on_report: on_report
      map("/whoami") { run Actions::Whoami.new }
      map("/files") { run Actions::Files::Show.new }
      map("/logs") { run Actions::Logs.new }
      map("/deploy") { run Actions::Containers::Deploy.new }
    end.to_app
  end
end

require_relative "../app/action"
Dir[File.join(__dir__, "..", "app", "actions", "**", "*.rb")].each { |file| require file }
