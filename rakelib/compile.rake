# frozen_string_literal: true

require "rbconfig"

desc "Build the Rust extension into lib/hanami_guard/RUBY_ABI/ (HANAMI_GUARD_PROFILE=dev for a fast debug build)"
task :compile do
  # The specs' build: with the test hooks (HanamiGuard::Native.__test_*) unless told
  # HANAMI_GUARD_TEST_HOOKS=0, as rakelib/native.rake does for the gem it ships.
  ENV["HANAMI_GUARD_TEST_HOOKS"] ||= "1"
  # One build directory per Ruby: a checkout shared by two Rubies (the host's and the Debian 13
  # root's, see bin/debian-root) keeps each one's Makefile and library apart.
  abi = RbConfig::CONFIG["ruby_version"][/\A\d+\.\d+/]
  build_dir = File.expand_path("../tmp/ext/#{abi}", __dir__)
  mkdir_p build_dir
  Dir.chdir(build_dir) do
    sh RbConfig.ruby, File.expand_path("../ext/hanami_guard/extconf.rb", __dir__)
    sh "make", "--no-print-directory"
  end
  # lib/hanami_guard/3.1/hanami_guard.so, the layout of the precompiled gem (rakelib/native.rake),
  # which lib/hanami_guard.rb loads for the running Ruby. Copy, then rename into place: a process
  # that has the old library loaded (a running rspec) keeps its inode, instead of crashing when
  # the file under its mapping is overwritten.
  library = "hanami_guard.#{RbConfig::CONFIG["DLEXT"]}"
  target = File.expand_path("../lib/hanami_guard/#{abi}/#{library}", __dir__)
  mkdir_p File.dirname(target)
  cp File.join(build_dir, library), "#{target}.tmp"
  mv "#{target}.tmp", target
end
