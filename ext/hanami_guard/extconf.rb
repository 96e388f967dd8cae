# frozen_string_literal: true

# Writes a Makefile (with Ruby's mkmf) that builds the Rust extension with cargo and installs it
# where `require "hanami_guard/hanami_guard"` finds it. Used by `rake compile` and `gem install`.
# It needs no gem (rb_sys is not required): mkmf ships with Ruby.
#
# Environment:
#   CARGO                  the cargo to run (default: cargo on PATH, then ~/.cargo/bin/cargo)
#   CARGO_TARGET_DIR       where cargo builds (default: target/ beside the workspace Cargo.toml)
#   HANAMI_GUARD_PROFILE   cargo profile: release (default; lto, codegen-units = 1) or dev
#   HANAMI_GUARD_TEST_HOOKS 1 builds the specs' hooks (cargo feature test-hooks; `rake compile`
#                          sets it); unset or 0 (gem install, the precompiled gem) leaves them out
#   HANAMI_GUARD_ALLOCATOR mimalloc (default: the extension allocates from mimalloc) or system
#                          (the C library's malloc, for valgrind's memcheck: `rake valgrind`)

require "rbconfig"

def hanami_guard_abort(message)
  warn "\nhanami_guard: #{message}\n\n"
  exit 1
end

unless RbConfig::CONFIG["host_os"].start_with?("linux")
  hanami_guard_abort("runs on Linux only (its confinement is openat2 and Landlock, which " \
                     "#{RbConfig::CONFIG["host_os"]} does not have): install it on a Linux host or container.")
end

header = File.join(RbConfig::CONFIG["rubyhdrdir"].to_s, "ruby.h")
unless File.exist?(header)
  hanami_guard_abort("Ruby's C headers are missing (no #{header}). Install them: " \
                     "`apt-get install ruby-dev` on Debian or Ubuntu, or your Ruby's -dev/-devel package.")
end

require "mkmf"

workspace = File.expand_path("../..", __dir__)
unless File.exist?(File.join(workspace, "Cargo.toml")) && File.exist?(File.join(workspace, "Cargo.lock"))
  hanami_guard_abort("the Rust sources are incomplete: #{workspace} has no Cargo.toml and Cargo.lock. " \
                     "Rebuild the gem with `gem build hanami_guard.gemspec`.")
end

cargo = ENV.fetch("CARGO", nil)
cargo = nil if cargo && !File.executable?(cargo)
cargo ||= find_executable("cargo")
cargo ||= [File.join(Dir.home, ".cargo", "bin", "cargo")].find { |path| File.executable?(path) }
unless cargo
  hanami_guard_abort("the Rust toolchain is missing: no `cargo` on PATH or in ~/.cargo/bin. " \
                     "Install it with rustup (https://rustup.rs), then install the gem again.")
end

# rb-sys generates Ruby's bindings with bindgen, which loads libclang at build time.
libclang_dirs = [ENV.fetch("LIBCLANG_PATH", nil), *Dir["/usr/lib/llvm-*/lib"], "/usr/lib/x86_64-linux-gnu",
                 "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"].compact
unless libclang_dirs.any? { |dir| !Dir[File.join(dir, "libclang*.so*")].empty? }
  hanami_guard_abort("libclang is missing (rb-sys needs it to read Ruby's headers). Install it: " \
                     "`apt-get install libclang-dev` on Debian or Ubuntu, or set LIBCLANG_PATH.")
end

profile = ENV.fetch("HANAMI_GUARD_PROFILE", "release")
unless %w[release dev].include?(profile)
  hanami_guard_abort("HANAMI_GUARD_PROFILE must be release or dev, not #{profile.inspect}.")
end
test_hooks = ENV.fetch("HANAMI_GUARD_TEST_HOOKS", "0")
unless %w[0 1].include?(test_hooks)
  hanami_guard_abort("HANAMI_GUARD_TEST_HOOKS must be 0 or 1, not #{test_hooks.inspect}.")
end
allocator = ENV.fetch("HANAMI_GUARD_ALLOCATOR", "mimalloc")
unless %w[mimalloc system].include?(allocator)
  hanami_guard_abort("HANAMI_GUARD_ALLOCATOR must be mimalloc or system, not #{allocator.inspect}.")
end
features = test_hooks == "1" ? " --features test-hooks" : ""
# The system allocator: the C library's malloc, which valgrind's memcheck watches (rake valgrind).
features += " --no-default-features" if allocator == "system"
target_dir = ENV.fetch("CARGO_TARGET_DIR", File.join(workspace, "target"))
built = File.join(target_dir, profile == "dev" ? "debug" : "release", "libhanami_guard.#{RbConfig::CONFIG["SOEXT"]}")

# mkmf makes no library target without objects; name one so it writes the $(DLLIB) rules. The
# rule that would compile it is replaced below and never runs.
$objs = ["hanami_guard.o"] # rubocop:disable Style/GlobalVars
create_makefile("hanami_guard/hanami_guard")

# mkmf wrote a Makefile for C sources; there are none. Replace the rule that links $(DLLIB) with
# one that runs cargo (every time: cargo knows what is up to date) and copies the library. Keep
# mkmf's install rules: they put $(DLLIB) in $(RUBYARCHDIR)/hanami_guard/, where
# `require "hanami_guard/hanami_guard"` looks.
makefile = File.read("Makefile")
rule = <<~MAKE
  CARGO = #{cargo.shellescape}
  HANAMI_GUARD_WORKSPACE = #{workspace.shellescape}
  .PHONY: $(TARGET_SO)
  $(TARGET_SO):
  \tcd $(HANAMI_GUARD_WORKSPACE) && CARGO_TARGET_DIR=#{target_dir.shellescape} RUBY=#{RbConfig.ruby.shellescape} \\
  \t  $(CARGO) build --locked --profile #{profile} --package hanami_guard --manifest-path Cargo.toml#{features}
  \tcp #{built.shellescape} $@
MAKE
pattern = /^\$\(TARGET_SO\): .*?(?=^\S|\z)/m
unless makefile.match?(pattern)
  hanami_guard_abort("mkmf wrote a Makefile this extconf.rb does not understand; please report it.")
end
File.write("Makefile", makefile.sub(pattern) { rule })
