# frozen_string_literal: true

# Run the example app in Puma with mutual TLS (after `bin/demo` has generated tmp/demo-pki/):
#   bundle exec puma -I lib examples/config.ru -b 'ssl://127.0.0.1:9443?key=tmp/demo-pki/server.key&\
#     cert=tmp/demo-pki/server.crt&ca=tmp/demo-pki/tls_bundle.crt&verify_mode=peer' (one line, no backslash)
require_relative "config/app"

run ExampleApp.rack_app(ca_pem: File.read(ENV.fetch("HANAMI_GUARD_CA",
                                                    File.expand_path("../tmp/demo-pki/ca.crt", __dir__))))
