# frozen_string_literal: true

# The Hanami-shaped action classes the specs run HanamiGuard::Action against, one per Hanami
# version. They live beside the example app, which runs on them where Hanami is not installed.
require_relative "../../examples/hanami_shaped/hanami_shaped"
