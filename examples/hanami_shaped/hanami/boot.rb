# frozen_string_literal: true

# `require "hanami/boot"`, as an app's config.ru does: the app, booted.
require_relative "../hanami"
Hanami.boot
