# frozen_string_literal: true

require "rbconfig"

desc "Build the Rust extension into lib/hanami_guard/ (HANAMI_GUARD_PROFILE=dev for a fast debug build)"
task :compile do
  build_dir = File.expand_path("../tmp/ext", __dir__)
  mkdir_p build_dir
  Dir.chdir(build_dir) do
    sh RbConfig.ruby, File.expand_path("../ext/hanami_guard/extconf.rb", __dir__)
    sh "make", "--no-print-directory"
  end
  cp File.join(build_dir, "hanami_guard.#{RbConfig::CONFIG["DLEXT"]}"),
     File.expand_path("../lib/hanami_guard/", __dir__)
end
