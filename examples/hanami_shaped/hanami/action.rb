# frozen_string_literal: true

# `require "hanami/action"`: Hanami::Action, the 2.2 shape.
require_relative "../hanami"
