# frozen_string_literal: true

require "rbconfig"
require "fileutils"
require "rubygems/package"

# The precompiled gem: pkg/hanami_guard-VERSION-x86_64-linux.gem, installable with Ruby alone (no
# compiler, cargo or libclang). It carries one release build of the extension per tested Ruby,
# lib/hanami_guard/3.1/hanami_guard.so (the host's Ruby) and lib/hanami_guard/3.3/hanami_guard.so
# (Debian 13's, built in the root bin/debian-root makes); lib/hanami_guard.rb loads the one for
# the running Ruby.
module NativeGem
  ROOT = File.expand_path("..", __dir__)
  PLATFORM = "x86_64-linux"

  # The Ruby-only root (bin/debian-root) that checks the library for each Ruby ABI.
  CHECK_ROOTS = { "3.1" => "bookworm-ruby", "3.3" => "trixie-ruby" }.freeze

  # Debian 13's root builds the second Ruby's library, unless the host is Debian 13 itself or
  # the trixie leg is skipped locally (bin/test: HANAMI_GUARD_SKIP_TRIXIE, never under CI).
  def self.stacks
    host_is_trixie = File.exist?("/etc/os-release") && File.read("/etc/os-release").match?(/^VERSION_ID="?13/)
    skipped = ENV["HANAMI_GUARD_SKIP_TRIXIE"].to_s != "" && ENV["CI"].to_s == ""
    host_is_trixie || skipped ? [:host] : %i[host trixie]
  end

  # The libraries `rake compile` left for each Ruby.
  def self.libraries
    Dir[File.join(ROOT, "lib/hanami_guard/*/hanami_guard.so")]
  end

  # Run inside each Ruby-only root, after `gem install`: load the gem from where it was installed,
  # parse a certificate made here, and run a command in the sealed child.
  USE_THE_GEM = <<~'RUBY'
    require "openssl"
    require "hanami_guard"
    loaded = $LOADED_FEATURES.grep(/hanami_guard\.so\z/)
    abi = RbConfig::CONFIG["ruby_version"][/\A\d+\.\d+/]
    unless loaded.size == 1 && loaded.first.start_with?(ENV.fetch("GEM_HOME")) && loaded.first.end_with?("/#{abi}/hanami_guard.so")
      abort "loaded #{loaded.inspect}, not the installed gem's library for Ruby #{abi}"
    end
    key = OpenSSL::PKey::EC.generate("prime256v1")
    cert = OpenSSL::X509::Certificate.new
    cert.version = 2
    cert.serial = 1
    cert.subject = cert.issuer = OpenSSL::X509::Name.parse("/O=MyOrg/CN=operator")
    cert.public_key = key
    cert.not_before = Time.now - 60
    cert.not_after = Time.now + 3600
    cert.sign(key, OpenSSL::Digest.new("SHA256"))
    identity = HanamiGuard::Certificate.parse(cert.to_pem)
    abort "parsed CN #{identity.subject["CN"].inspect}" unless identity.subject["CN"] == "operator"
    abort "the shipped extension carries the specs' test hooks" if HanamiGuard::Native.respond_to?(:__test_panic)
    result = HanamiGuard::Command.new("echo {word}").run(word: "sealed")
    abort "echo: #{result.inspect}" unless result.success? && result.stdout == "sealed\n"
    puts "hanami_guard #{HanamiGuard::VERSION} on Ruby #{RUBY_VERSION}: loaded #{loaded.first}, parsed " \
         "CN=#{identity.subject["CN"]}, ran #{result.argv.inspect} (sandbox: #{result.sandbox.inspect})"
  RUBY
end

desc "Build pkg/hanami_guard-VERSION-x86_64-linux.gem, carrying the extension for each tested Ruby"
task :native do
  root = NativeGem::ROOT
  # `rake compile` for each Ruby, release profile.
  # Without the specs' test hooks (cargo feature test-hooks): cargo rebuilds once after bin/test's
  # legs, which built with them.
  release = { "HANAMI_GUARD_PROFILE" => "release", "HANAMI_GUARD_TEST_HOOKS" => "0" }
  # Only the libraries compiled (or found up to date and copied) below go in: a lib/hanami_guard/
  # ABI/ left by an earlier build for a Ruby not built now would be stale.
  started = Time.now - 1
  Dir.chdir(root) do
    sh release, RbConfig.ruby, "-S", "rake", "compile"
    if NativeGem.stacks.include?(:trixie)
      sh "bin/debian-root", "run", "trixie", "--", "env", "HANAMI_GUARD_PROFILE=release", "HANAMI_GUARD_TEST_HOOKS=0",
         "bin/test", "--compile-only"
    end
  end
  libraries = NativeGem.libraries.select { |file| File.mtime(file) >= started }
  abis = libraries.map { |file| File.basename(File.dirname(file)) }

  base = Gem::Specification.load(File.join(root, "hanami_guard.gemspec"))
  stage = File.join(root, "tmp/native")
  rm_rf stage
  mkdir_p stage
  # The Rust sources and their build settings stay out: this gem carries the built libraries.
  files = base.files.reject do |file|
    file.start_with?("ext/", "crates/", ".cargo/") || file.end_with?("Cargo.toml", "Cargo.lock")
  end
  files.each do |file|
    mkdir_p File.join(stage, File.dirname(file))
    cp File.join(root, file), File.join(stage, file), preserve: true
  end
  libraries.each do |library|
    relative = library.delete_prefix("#{root}/")
    mkdir_p File.join(stage, File.dirname(relative))
    # Debug information is most of a release library's size; the symbols a backtrace needs stay.
    sh "strip", "--strip-debug", "-o", File.join(stage, relative), library
    files << relative
  end

  spec = base.dup
  spec.platform = Gem::Platform.new(NativeGem::PLATFORM)
  spec.files = files.sort
  spec.extensions = []
  # One library per minor version: a Ruby the gem carries nothing for is told so when it loads
  # hanami_guard (lib/hanami_guard.rb names the ones it carries); the source gem builds for any.
  spec.required_ruby_version = [">= #{abis.min}", "< #{abis.max.split(".").then { |m, n| "#{m}.#{n.to_i + 1}" }}"]
  spec.metadata["hanami_guard_rubies"] = abis.join(" ")

  mkdir_p File.join(root, "pkg")
  Dir.chdir(stage) do
    built = Gem::Package.build(spec)
    mv built, File.join(root, "pkg", built)
    puts "built pkg/#{built} carrying the extension for Ruby #{abis.join(", ")}"
  end
end

namespace :native do
  desc "Install the native gem with `gem install --local` in Debian 12 and 13 roots with Ruby alone, and use it"
  task check: :native do
    root = NativeGem::ROOT
    gem = Dir[File.join(root, "pkg/hanami_guard-*-#{NativeGem::PLATFORM}.gem")].max_by { |f| File.mtime(f) }
    abis = Gem::Package.new(gem).spec.metadata.fetch("hanami_guard_rubies").split
    abis.each do |abi|
      name = NativeGem::CHECK_ROOTS[abi]
      next warn("native:check: no Ruby-only root for Ruby #{abi}; its library is not checked") unless name

      puts "native:check: #{File.basename(gem)} in #{name} (Ruby #{abi}, no compiler): install, parse, run"
      sh "bin/debian-root", "run", name, "--", "sh", "-c", <<~SH, "sh", gem, NativeGem::USE_THE_GEM, verbose: false
        set -e
        for tool in cc gcc cargo rustc clang; do
          if command -v "$tool" >/dev/null; then echo "#{name} has $tool: not a Ruby-only root" >&2; exit 1; fi
        done
        home=$(mktemp -d)
        gem install --local --no-document --install-dir "$home" "$1"
        cd /
        GEM_HOME="$home" GEM_PATH="$home" ruby -e "$2"
      SH
    end
  end
end
