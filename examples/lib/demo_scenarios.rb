# frozen_string_literal: true

require "erb"
require "openssl"

# The demo's requests, shared by examples/demo.rb and spec/integration/demo_spec.rb. Each one is
# sent over real HTTPS to the example app in Puma; `status` is what must come back (nil: Puma
# refuses the TLS handshake itself), `body` a pattern the body must match.
module DemoScenarios
  Scenario = Struct.new(:name, :client, :from, :verb, :path, :xfcc, :status, :body, keyword_init: true)

  PROXY = "127.0.0.2" # the edge proxy's source address, the one trusted_proxies entry

  # Envoy's x-forwarded-client-cert element for a certificate (SANITIZE_SET style).
  def self.xfcc(cert)
    der = cert.to_der
    "Hash=#{OpenSSL::Digest::SHA256.hexdigest(der)};Cert=\"#{ERB::Util.url_encode(cert.to_pem)}\""
  end

  ALL = [
    Scenario.new(name: "operator asks whoami", client: :operator, verb: :get, path: "/whoami",
                 status: 200, body: /CN=operator/),
    Scenario.new(name: "operator deploys", client: :operator, verb: :post, path: "/deploy?container=worker",
                 status: 200, body: /deploying worker:latest \(rule operators-deploy\)/),
    Scenario.new(name: "contractor deploys", client: :contractor, verb: :post,
                 path: "/deploy?container=worker", status: 403, body: /forbidden: no-contractors-deploy/),
    Scenario.new(name: "operator reads a doc", client: :operator, verb: :get, path: "/files?path=docs/runbook.txt",
                 status: 200, body: /Runbook/),
    Scenario.new(name: "path traversal (..)", client: :operator, verb: :get,
                 path: "/files?path=../config/hanami_guard.yml", status: 403, body: /Forbidden/),
    Scenario.new(name: "path traversal (absolute)", client: :operator, verb: :get,
                 path: "/files?path=/etc/passwd", status: 400, body: /Bad Request/),
    Scenario.new(name: "operator tails the log", client: :operator, verb: :get, path: "/logs?lines=2",
                 status: 200, body: /deploy worker:latest ok/),
    Scenario.new(name: "shell injection (logs)", client: :operator, verb: :get,
                 path: "/logs?lines=#{ERB::Util.url_encode("2;cat /etc/passwd")}", status: 400, body: /Bad Request/),
    Scenario.new(name: "shell injection (deploy)", client: :operator, verb: :post,
                 path: "/deploy?container=#{ERB::Util.url_encode("worker$(id)")}", status: 403,
                 body: /forbidden: default-deny/),
    Scenario.new(name: "DN spoofing", client: :spoofer, verb: :post,
                 path: "/deploy?container=worker", status: 403, body: /forbidden: default-deny/),
    Scenario.new(name: "header spoofing (direct client)", client: :contractor, verb: :post,
                 path: "/deploy?container=worker", xfcc: [:operator], status: 403,
                 body: /forbidden: no-contractors-deploy/),
    Scenario.new(name: "no client certificate", client: nil, verb: :get, path: "/whoami",
                 status: 401, body: /unauthorized: missing_certificate/),
    Scenario.new(name: "certificate from another CA", client: :rogue, verb: :get, path: "/whoami",
                 status: 401, body: /unauthorized: unknown_issuer/),
    Scenario.new(name: "expired certificate", client: :expired, verb: :get, path: "/whoami",
                 status: nil, body: nil),
    Scenario.new(name: "via proxy: operator", client: :proxy, from: PROXY, verb: :post,
                 path: "/deploy?container=api", xfcc: [:operator], status: 200,
                 body: /deploying api:stable \(rule operators-deploy\)/),
    Scenario.new(name: "via proxy: injected XFCC", client: :proxy, from: PROXY, verb: :post,
                 path: "/deploy?container=worker", xfcc: %i[operator contractor], status: 401,
                 body: /unauthorized: multiple_xfcc_elements/),
    Scenario.new(name: "via proxy: expired", client: :proxy, from: PROXY, verb: :get,
                 path: "/whoami", xfcc: [:expired], status: 401, body: /unauthorized: expired/),
    Scenario.new(name: "via proxy: no XFCC", client: :proxy, from: PROXY, verb: :get,
                 path: "/whoami", status: 401, body: /unauthorized: missing_certificate/)
  ].freeze

  # Sends scenario s to server; returns [status or nil, body or the TLS error].
  def self.run(scenario, server, pki)
    headers = {}
    headers["X-Forwarded-Client-Cert"] = scenario.xfcc.map { |n| xfcc(pki.cert(n)) }.join(",") if scenario.xfcc
    cert = scenario.client && pki.cert(scenario.client)
    key = scenario.client && pki.key(scenario.client)
    response = server.request(scenario.verb, scenario.path, cert:, key:, from: scenario.from,
                                                            headers:)
    return [nil, "TLS handshake refused (#{response.class.name.split("::").last})"] if response.is_a?(Exception)

    [Integer(response.code), response.body.to_s]
  end
end
