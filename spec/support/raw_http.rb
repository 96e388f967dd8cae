# frozen_string_literal: true

# What the header-spoofing specs share: an app that answers with the common name of the identity
# the middleware set, and one HTTP/1.1 request written by hand, so that header lines reach the
# server exactly as an attacker writes them (repeated, underscored, joined), past any client
# library's own checks.
module RawHttp
  # Answers 200 with the CN of the identity the middleware set, or "anonymous" without one.
  ECHO_CN = lambda do |env|
    identity = env[HanamiGuard::Middleware::ClientIdentity::ENV_KEY]
    [200, { "content-type" => "text/plain" }, [identity ? identity.subject["CN"].to_s : "anonymous"]]
  end

  module_function

  # Writes one GET with `header_lines` on `socket` (connected, TCP or TLS), reads the whole
  # response and closes the socket; returns [status, body].
  def exchange(socket, header_lines)
    socket.write("GET / HTTP/1.1\r\nHost: app\r\n#{header_lines.map { |l| "#{l}\r\n" }.join}Connection: close\r\n\r\n")
    head, body = socket.read.split("\r\n\r\n", 2)
    [Integer(head[%r{\AHTTP/1\.1 (\d+)}, 1]), body]
  ensure
    socket.close
  end
end
