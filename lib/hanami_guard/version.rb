# frozen_string_literal: true

module HanamiGuard
  # The gem's version.
  # @api public
  # @since 0.1.0
  VERSION = "0.1.0"
end
