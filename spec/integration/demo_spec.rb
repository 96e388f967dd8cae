# frozen_string_literal: true

require "spec_helper"
require "socket"
$LOAD_PATH.unshift(File.expand_path("../../examples/lib", __dir__))
require "demo_pki"
require "demo_server"
require "demo_scenarios"
require_relative "../../examples/config/app"

# The demo's scenarios against the example app in a real Puma, over real mutual TLS on 127.0.0.1
# (a port the kernel picks), with certificates generated for this run.
RSpec.describe "the example app over mutual TLS in Puma" do
  before(:all) do
    @dir = Dir.mktmpdir("hanami_guard-demo")
    @pki = DemoPki.new(@dir)
    @events = Queue.new
    events = @events
    app = ExampleApp.rack_app(ca_pem: File.read(@pki.path(:ca)), on_report: ->(event) { events << event })
    @server = DemoServer.start(app, key: @pki.path(:server, :key), cert: @pki.path(:server),
                                    ca: @pki.path(:tls_bundle), ca_file: @pki.path(:ca),
                                    timeout: 10 * GcStress::SLOWDOWN)
  end

  after(:all) do
    @server&.stop
    FileUtils.rm_rf(@dir)
  end

  DemoScenarios::ALL.each do |scenario|
    expected = scenario.status ? "#{scenario.status} #{scenario.body.source}" : "a refused TLS handshake"
    it "#{scenario.name}: #{expected}" do
      status, body = DemoScenarios.run(scenario, @server, @pki)
      expect(status).to eq(scenario.status), "got #{status.inspect}: #{body[0, 200]}"
      if scenario.body
        expect(body).to match(scenario.body)
      else
        expect(body).to start_with("TLS handshake refused")
      end
    end
  end

  it "reports a forwarded header sent by a client that is not the proxy" do
    scenario = DemoScenarios::ALL.find { |s| s.name.start_with?("header spoofing") }
    @events.pop until @events.empty?
    DemoScenarios.run(scenario, @server, @pki)
    reported = []
    reported << @events.pop until @events.empty?
    expect(reported).to include(a_hash_including(event: :untrusted_proxy, remote_addr: "127.0.0.1"))
  end

  it "serves concurrent requests from several Puma threads with the shared guards" do
    operator = DemoScenarios::ALL.find { |s| s.name == "operator deploys" }
    results = Array.new(8) { Thread.new { DemoScenarios.run(operator, @server, @pki).first } }.map(&:value)
    expect(results).to all(eq(200))
  end

  it "shuts Puma down and frees the port" do
    pki = @pki
    server = DemoServer.start(->(_env) { [200, {}, ["ok"]] }, key: pki.path(:server, :key), cert: pki.path(:server),
                                                              ca: pki.path(:ca))
    port = server.port
    expect(server.request(:get, "/", cert: pki.cert(:operator), key: pki.key(:operator)).code).to eq("200")
    server.stop
    expect { TCPSocket.new("127.0.0.1", port).close }.to raise_error(Errno::ECONNREFUSED)
  end
end
