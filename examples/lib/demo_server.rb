# frozen_string_literal: true

require "puma"
require "puma/minissl"
require "puma/server"
require "puma/events"
require "net/http"
require "uri"

# Runs a Rack app in Puma, in this process, with real mutual TLS on 127.0.0.1 and a port the
# kernel picks. `verify_mode=peer`: Puma asks for a client certificate and checks it against `ca`
# when one is sent, but lets a client without one through, so the app (the middleware) says 401.
#
#   server = DemoServer.start(app, key:, cert:, ca:)
#   server.get("/whoami", cert: ..., key: ...)
#   server.stop
class DemoServer
  attr_reader :port

  def self.start(app, **tls)
    new(app, **tls).tap(&:start)
  end

  # A Puma::Server that logs into strings, on Puma 5 and 6 alike, and binds it to `bind`
  # ("tcp://127.0.0.1:0", "ssl://..."). Puma 6 moved logging out of Puma::Events into
  # Puma::LogWriter, passed as the :log_writer option. Returns the server and its port.
  def self.puma(app, bind, **options)
    if defined?(Puma::LogWriter)
      logger = Puma::LogWriter.strings
      server = Puma::Server.new(app, nil, { log_writer: logger, **options })
    else
      logger = Puma::Events.strings
      server = Puma::Server.new(app, logger, options)
    end
    server.binder.parse([bind], logger)
    [server, server.binder.connected_ports.first]
  end

  # timeout: seconds the client waits to connect and for each read.
  def initialize(app, key:, cert:, ca:, ca_file: ca, host: "127.0.0.1", timeout: 10) # rubocop:disable Naming/MethodParameterName
    @app = app
    @host = host
    @timeout = timeout
    @bind = "ssl://#{host}:0?" + URI.encode_www_form(key:, cert:, ca:, verify_mode: "peer")
    @ca_file = ca_file
  end

  def start
    @server, @port = self.class.puma(@app, @bind, min_threads: 0, max_threads: 4)
    @thread = @server.run
    self
  end

  def stop
    @server&.stop(true)
    @thread&.join(5)
    @server = nil
  end

  # Sends one HTTPS request. cert/key: the client certificate (nil: none). from: the client's
  # source address (127.0.0.2 plays the trusted proxy). Returns the Net::HTTPResponse, or the
  # exception raised when the TLS handshake is refused.
  def request(method, path, cert: nil, key: nil, from: nil, headers: {}, body: nil)
    http = Net::HTTP.new(@host, @port)
    http.use_ssl = true
    http.ca_file = @ca_file
    http.verify_mode = OpenSSL::SSL::VERIFY_PEER
    http.cert = cert
    http.key = key
    http.local_host = from if from
    http.open_timeout = http.read_timeout = @timeout
    req = Net::HTTP.const_get(method.to_s.capitalize).new(path, headers)
    req.body = body if body
    http.start { |h| h.request(req) }
  rescue OpenSSL::SSL::SSLError, Errno::ECONNRESET, EOFError => e
    e
  end
end
