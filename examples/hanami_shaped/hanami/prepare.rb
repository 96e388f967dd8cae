# frozen_string_literal: true

# `require "hanami/prepare"`, as an app's spec/spec_helper.rb does: the app, prepared.
require_relative "../hanami"
Hanami.prepare
