# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"
require "logger"
require "stringio"

RSpec.describe HanamiGuard::Events do
  shared_ca = nil
  let(:ca) { shared_ca ||= HanamiGuard::Testing::CA.new(subject: "CN=Events CA") }
  let(:policy) do
    HanamiGuard::Policy.define do
      allow :read, resources: %w[a], principals: [{ subject: { CN: "operator" } }], id: "operators-read"
    end
  end

  after { HanamiGuard.unsubscribe }

  it "refuses an unknown event name, which would otherwise never fire, and a missing block" do
    expect { HanamiGuard.subscribe("policy.decisions") { nil } }.to raise_error(ArgumentError, /policy\.decision,/)
    expect { HanamiGuard.subscribe("policy.decision") }.to raise_error(ArgumentError, /needs a block/)
  end

  it "delivers policy.decision to its subscribers and to \"*\", as plain frozen data" do
    named = []
    all = []
    HanamiGuard.subscribe("policy.decision") { |event| named << event }
    HanamiGuard.subscribe("*") { |event| all << event }
    policy.allowed?(ca.issue(subject: "CN=operator"), :read, "a")
    expect(named.size).to eq(1)
    expect(all.map(&:name)).to eq(["policy.decision"])
    event = named.first
    expect(event.to_h).to include(event: "policy.decision", decision: :allow, rule_id: "operators-read", resource: "a")
    expect(event[:principal]).to start_with("CN=operator")
    expect(event.payload).to be_frozen
    expect(JSON.parse(event.to_json)).to include("event" => "policy.decision")
  end

  it "stops delivering after unsubscribe, and costs nothing when nobody listens" do
    seen = []
    subscription = HanamiGuard.subscribe("policy.decision") { |event| seen << event }
    expect(described_class.listening?("policy.decision")).to be(true)
    HanamiGuard.unsubscribe(subscription)
    expect(described_class.listening?("policy.decision")).to be(false)
    policy.allowed?(nil, :read, "a")
    expect(seen).to be_empty
  end

  it "escapes control, zero-width and bidirectional characters in every String of a payload" do
    seen = []
    HanamiGuard.subscribe("*") { |event| seen << event }
    described_class.emit("path.refused", { path: "a\nINFO x\u202Eevil\u200B", list: ["\e[31m"], other: Object.new })
    expect(seen.first[:path]).to eq("a\\nINFO x\\u{202e}evil\\u{200b}")
    expect(seen.first[:list]).to eq(["\\u{1b}[31m"])
    expect(seen.first[:other]).to eq("(Object)")
  end

  it "never freezes a String the caller still holds" do
    HanamiGuard.subscribe("*") { nil }
    path = +"a.txt"
    described_class.emit("path.refused", { path: })
    expect(path).not_to be_frozen
  end

  it "forwards every event to an instrumentation bus as hanami_guard.<name>" do
    bus = Class.new do
      attr_reader :registered, :instrumented

      def initialize
        @registered = []
        @instrumented = []
      end

      def register_event(name) = @registered << name
      def instrument(name, payload) = @instrumented << [name, payload]
    end.new
    HanamiGuard.instrument_with(bus)
    begin
      expect(bus.registered).to include("hanami_guard.policy.decision", "hanami_guard.certificate.rejected")
      policy.allowed?(nil, :read, "a")
      expect(bus.instrumented.map(&:first)).to eq(["hanami_guard.policy.decision"])
      expect(bus.instrumented.first.last).to include(decision: :deny)
    ensure
      described_class.instance_variable_set(:@backends, [].freeze)
      HanamiGuard.unsubscribe
    end
    expect { HanamiGuard.instrument_with(Object.new) }.to raise_error(ArgumentError, /dry-monitor/)
  end

  it "logs one line per refusal through the app's logger, and nothing for decisions" do
    io = StringIO.new
    HanamiGuard.log_refusals_to(Logger.new(io))
    described_class.emit("certificate.rejected", { reason: :expired, subject: "CN=x" })
    policy.allowed?(nil, :read, "a")
    expect(io.string.lines.size).to eq(1)
    expect(io.string).to include('hanami_guard certificate.rejected {"reason":"expired","subject":"CN=x"}')
    expect(described_class.listening?("policy.decision")).to be(false) # decisions stay free
  end

  describe "from Root and Command" do
    let(:dir) { Dir.mktmpdir("hanami_guard-events") }

    after { FileUtils.rm_rf(dir) }

    it "reports path.refused with the operation, the path asked and the error, then raises" do
      seen = []
      HanamiGuard.subscribe("path.refused") { |event| seen << event }
      root = HanamiGuard::Root.new(dir)
      expect { root.read("../etc/passwd") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.write("a\0b", "x") }.to raise_error(HanamiGuard::PathError)
      expect(seen.map { |e| [e[:operation], e[:path], e[:error]] })
        .to eq([[:read, "../etc/passwd", "HanamiGuard::PathEscapeError"],
                [:write, "a\\u{0}b", "HanamiGuard::PathError"]])
      expect(seen.first[:root]).to eq(root.path)
      expect { root.read("missing") }.to raise_error(Errno::ENOENT)
      expect(seen.size).to eq(2)
    end

    it "reports command.refused without the value, and command.finished with argv, status and duration" do
      seen = []
      HanamiGuard.subscribe("*") { |event| seen << event }
      echo = HanamiGuard::Command.new("printf %s {word}", allow: { word: /\A[a-z]+\z/ })
      expect { echo.run(word: "s3cret-Value") }.to raise_error(HanamiGuard::CommandNotAllowed)
      expect(seen.map(&:name)).to eq(["command.refused"])
      expect(seen.first[:command]).to eq("printf %s {word}")
      expect(seen.first.to_h.values.join).not_to include("s3cret")
      echo.run(word: "hello")
      finished = seen.last
      expect(finished.name).to eq("command.finished")
      expect(finished.to_h).to include(exit_status: 0, timed_out: false)
      expect(finished[:argv].last).to eq("hello")
      expect(finished[:duration]).to be_a(Float)
    end
  end

  describe "from the middleware" do
    let(:app) { ->(_env) { [200, {}, ["ok"]] } }

    it "reports certificate.rejected with the verifier's message and the certificate's names, never the certificate" do
      other = HanamiGuard::Testing::CA.new(subject: "CN=Other CA")
      stranger = other.issue(subject: "CN=mallory,O=Elsewhere")
      seen = []
      HanamiGuard.subscribe("certificate.rejected") { |event| seen << event }
      reported = []
      mw = HanamiGuard::Middleware::ClientIdentity.new(app, source: :puma, trust: ca.trust_store,
                                                            on_report: ->(e) { reported << e })
      status, = mw.call(HanamiGuard::Testing.puma_env("/", certificate: stranger,
                                                           env: { "REMOTE_ADDR" => "192.0.2.1" }))
      expect(status).to eq(401)
      event = seen.first.to_h
      expect(event).to include(event: "certificate.rejected", reason: :unknown_issuer, remote_addr: "192.0.2.1",
                               subject: "CN=mallory,O=Elsewhere", issuer: "CN=Other CA Intermediate",
                               serial: stranger.serial, fingerprint: stranger.fingerprint)
      expect(event[:message]).to be_a(String).and(include("pinned CA"))
      expect(event.values.join).not_to include(stranger.to_pem[30, 40])
      # on_report keeps working: the same payload, with its old event name.
      expect(reported.first).to include(event: :rejected, reason: :unknown_issuer, subject: "CN=mallory,O=Elsewhere")
    end

    it "reports header.ignored with the header name as configured, not the Rack key" do
      seen = []
      HanamiGuard.subscribe("header.ignored") { |event| seen << event }
      mw = HanamiGuard::Middleware::ClientIdentity.new(app, header: "X-Client-Cert", format: :pem_escaped,
                                                            trust: ca.trust_store, trusted_proxies: ["10.0.0.0/8"],
                                                            required: false)
      env = HanamiGuard::Testing.rack_env("/", identity: nil, env: { "REMOTE_ADDR" => "192.0.2.9",
                                                                     "HTTP_X_CLIENT_CERT" => "x" })
      expect(mw.call(env).first).to eq(200)
      expect(seen.first.to_h).to eq(event: "header.ignored", reason: :untrusted_address, remote_addr: "192.0.2.9",
                                    header: "X-Client-Cert")
    end
  end
end
