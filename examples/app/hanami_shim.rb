# frozen_string_literal: true

# The example app is written against Hanami 2 (Hanami::App, providers, Deps, Hanami::Action).
# Hanami's gems are not installed where this project is built, so it runs on the Hanami-shaped
# app of examples/hanami_shaped/, which reproduces the parts of Hanami an app's own files touch.
require_relative "../hanami_shaped/hanami"
