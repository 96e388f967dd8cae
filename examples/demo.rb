# frozen_string_literal: true

require "hanami_guard"

capabilities = {
  "identity" => %i[Certificate DistinguishedName SpiffeId Xfcc TrustStore],
  "confined files" => %i[Root],
  "commands" => %i[Command],
  "policy" => %i[Policy Decision]
}
puts "hanami_guard #{HanamiGuard::VERSION} (core #{HanamiGuard::Native::CORE_VERSION})"
capabilities.each do |name, constants|
  ready = constants.all? { |c| HanamiGuard.const_defined?(c, false) }
  puts "  #{name.ljust(15)} #{ready ? "available" : "not built yet"}"
end
