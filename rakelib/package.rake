# frozen_string_literal: true

require "rbconfig"
require "tmpdir"

desc "Build the gem, install it into a scratch dir with `gem install --local` and require it from elsewhere"
task :package do
  root = File.expand_path("..", __dir__)
  Dir.mktmpdir("hanami_guard-package") do |dir|
    Dir.chdir(root) { sh "gem", "build", "hanami_guard.gemspec", "--output", File.join(dir, "hanami_guard.gem") }
    # Reuse the compiled dependencies of this checkout's target/: the gem's own crates still build.
    env = { "CARGO_TARGET_DIR" => ENV.fetch("CARGO_TARGET_DIR", File.join(root, "target")) }
    sh env, "gem", "install", "--local", File.join(dir, "hanami_guard.gem"), "--install-dir", File.join(dir, "gems"),
       "--no-document"
    check = <<~RUBY
      require "hanami_guard"
      loaded = $LOADED_FEATURES.grep(/hanami_guard/)
      abort "loaded from the checkout, not the gem: \#{loaded}" unless loaded.all? { |f| f.start_with?(ARGV[0]) }
      puts "loaded hanami_guard \#{HanamiGuard::VERSION} from the installed gem"
    RUBY
    gem_env = { "GEM_HOME" => File.join(dir, "gems"), "GEM_PATH" => File.join(dir, "gems"), "RUBYOPT" => nil,
                "BUNDLE_GEMFILE" => nil }
    Dir.chdir(dir) { sh gem_env, RbConfig.ruby, "-e", check, File.realpath(dir) }
  end
end
