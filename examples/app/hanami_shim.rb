# frozen_string_literal: true

# The example app is written against Hanami::Action. When hanami-controller is installed, that is
# the real class; otherwise (as where this project is built, with no Hanami gems) a small
# Hanami-shaped stand-in from spec/support that reproduces the hooks hanami_guard uses.
begin
  require "hanami/controller"
rescue LoadError
  require_relative "../../spec/support/hanami_action"
  module Hanami
    Action = HanamiShaped::Action unless const_defined?(:Action, false)
  end
end
