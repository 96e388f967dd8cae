# frozen_string_literal: true

# hanami_guard: identity, confined files, sealed commands and policy for apps behind mTLS.
#
# Load order matters: the error classes are defined in Ruby first, because the extension looks
# them up once when it loads; then the extension; then the Ruby facades over it.
require "rbconfig"
require "openssl" # Puma 5.6 raises NameError on env["puma.peercert"] unless openssl is loaded

require_relative "hanami_guard/version"
require_relative "hanami_guard/errors"

# The extension for the running Ruby: the precompiled gem (and a checkout after `rake compile`)
# carries one per Ruby ABI as hanami_guard/3.1/hanami_guard.so, hanami_guard/3.3/...; the source
# gem installs one built here as hanami_guard/hanami_guard.so in its extension directory.
module HanamiGuard
  # @api private
  RUBY_ABI = RbConfig::CONFIG["ruby_version"][/\A\d+\.\d+/]
end

begin
  require "hanami_guard/#{HanamiGuard::RUBY_ABI}/hanami_guard"
rescue LoadError => e
  # Only "no such file" moves on; a library that is there but fails to load says why.
  raise unless e.path == "hanami_guard/#{HanamiGuard::RUBY_ABI}/hanami_guard"

  begin
    require "hanami_guard/hanami_guard"
  rescue LoadError => e
    raise unless e.path == "hanami_guard/hanami_guard"

    carried = Dir[File.join(__dir__, "hanami_guard", "*", "hanami_guard.{so,bundle}")]
              .map { |file| File.basename(File.dirname(file)) }.sort
    if carried.empty?
      raise LoadError, "hanami_guard's native extension is not built (#{e.message}). In a checkout, run " \
                       "`bin/setup && bundle exec rake compile`; as a gem, reinstall it with a Rust toolchain " \
                       "(rustup) and libclang-dev present."
    end
    raise LoadError, "this hanami_guard gem carries its extension for Ruby #{carried.join(", ")}, not for Ruby " \
                     "#{RUBY_VERSION}: use one of those Rubies, or install the source gem " \
                     "(`gem install hanami_guard --platform ruby`, which needs a Rust toolchain and libclang-dev)."
  end
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
