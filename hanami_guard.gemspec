# frozen_string_literal: true

require_relative "lib/hanami_guard/version"

Gem::Specification.new do |spec|
  spec.name = "hanami_guard"
  spec.version = HanamiGuard::VERSION
  spec.authors = ["hanami_guard contributors"]
  spec.summary = "Identity, confined files, sealed commands and policy for Hanami apps behind mTLS"
  spec.description = <<~TEXT
    mTLS proves who a client is, not what it may do. hanami_guard parses client certificates and
    compares names as structures, confines file access beneath a base directory (openat2
    RESOLVE_BENEATH), runs commands from argv templates with no shell in a sealed child, and
    decides with a compiled default-deny policy. A Rust core (magnus) with a small Ruby facade.
  TEXT
  spec.license = "MIT"
  # Tested on Ruby 3.1 (Debian 12) and 3.3 (Debian 13); Linux only (extconf.rb says so elsewhere).
  spec.required_ruby_version = ">= 3.1", "< 3.5"

  repository = "https://github.com/hanami-guard/hanami_guard"
  spec.homepage = repository
  spec.metadata["homepage_uri"] = repository
  spec.metadata["source_code_uri"] = repository
  spec.metadata["changelog_uri"] = "#{repository}/blob/main/CHANGELOG.md"
  spec.metadata["bug_tracker_uri"] = "#{repository}/issues"
  spec.metadata["rubygems_mfa_required"] = "true"

  # What `gem install` needs to build the extension and nothing else: no specs, fuzz targets,
  # benchmarks in Ruby, examples or tooling. The core's Criterion benches stay because its
  # Cargo.toml names them, and cargo refuses a manifest whose named targets are missing.
  spec.files = Dir[
    "lib/**/*.rb", "exe/*", "ext/hanami_guard/extconf.rb", "ext/hanami_guard/Cargo.toml",
    "ext/hanami_guard/src/**/*.rs", "crates/hanami_guard_core/Cargo.toml",
    "crates/hanami_guard_core/src/**/*.rs", "crates/hanami_guard_core/benches/*.rs",
    "crates/hanami_guard_core/prism/*.h", ".cargo/config.toml",
    "Cargo.toml", "Cargo.lock", "README.md", "CHANGELOG.md", "SECURITY.md", "LICENSE"
  ]
  spec.bindir = "exe"
  spec.executables = ["hanami_guard"]
  spec.require_paths = ["lib"]
  spec.extensions = ["ext/hanami_guard/extconf.rb"]
  # No runtime gem dependencies: the extension needs only Ruby's own mkmf and a Rust toolchain.
end
