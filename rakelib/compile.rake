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
  # Copy, then rename into place: a process that has the old library loaded (a running rspec)
  # keeps its inode, instead of crashing when the file under its mapping is overwritten.
  library = "hanami_guard.#{RbConfig::CONFIG["DLEXT"]}"
  target = File.expand_path("../lib/hanami_guard/#{library}", __dir__)
  cp File.join(build_dir, library), "#{target}.tmp"
  mv "#{target}.tmp", target
end
