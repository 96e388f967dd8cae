# frozen_string_literal: true

# hanami_guard: identity, confined files, sealed commands and policy for apps behind mTLS.
#
# Load order matters: the error classes are defined in Ruby first, because the extension looks
# them up once when it loads; then the extension; then the Ruby facades over it.
require "openssl" # Puma 5.6 raises NameError on env["puma.peercert"] unless openssl is loaded

require_relative "hanami_guard/version"
require_relative "hanami_guard/errors"

begin
  require "hanami_guard/hanami_guard" # the Rust extension: lib/ in a checkout, the extension dir as a gem
rescue LoadError => e
  raise LoadError, "hanami_guard's native extension is not built (#{e.message}). In a checkout, run " \
                   "`bin/setup && bundle exec rake compile`; as a gem, reinstall it with a Rust toolchain " \
                   "(rustup) and libclang-dev present."
end

# @api public
# @since 0.1.0
module HanamiGuard
end

# testing.rb (the test kit, loaded by an app's specs) and cli.rb (the command-line tool) are
# required by whoever uses them, never by an app at boot.
Dir[File.join(__dir__, "hanami_guard", "*.rb")].each do |file|
  require file unless file.end_with?("/version.rb", "/errors.rb", "/testing.rb", "/cli.rb")
end
Dir[File.join(__dir__, "hanami_guard", "middleware", "*.rb")].each { |file| require file }
