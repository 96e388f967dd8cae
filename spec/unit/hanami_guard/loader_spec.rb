# frozen_string_literal: true

require "spec_helper"
require "open3"
require "rbconfig"

# lib/hanami_guard.rb picks the extension for the running Ruby: lib/hanami_guard/<ABI>/ (the
# precompiled gem's layout, and a checkout's after `rake compile`), else the plain
# hanami_guard/hanami_guard (the source gem's extension dir). Each case runs a fresh Ruby on a
# copy of lib/ arranged for it.
RSpec.describe "require \"hanami_guard\" (the extension loader)" do
  let(:lib) { File.expand_path("../../../lib", __dir__) }
  let(:abi) { RbConfig::CONFIG["ruby_version"][/\A\d+\.\d+/] }
  let(:built) { File.join(lib, "hanami_guard", abi, "hanami_guard.so") }

  around do |example|
    Dir.mktmpdir("hanami_guard-loader") do |dir|
      @copy = File.join(dir, "lib")
      FileUtils.mkdir_p(@copy)
      FileUtils.cp_r(File.join(lib, "hanami_guard.rb"), @copy)
      FileUtils.mkdir_p(File.join(@copy, "hanami_guard"))
      Dir[File.join(lib, "hanami_guard", "**", "*.rb")].each do |file|
        target = File.join(@copy, file.delete_prefix("#{lib}/"))
        FileUtils.mkdir_p(File.dirname(target))
        FileUtils.cp(file, target)
      end
      example.run
    end
  end

  def place(relative, source = built)
    target = File.join(@copy, "hanami_guard", relative)
    FileUtils.mkdir_p(File.dirname(target))
    FileUtils.cp(source, target)
  end

  def load_it
    script = 'require "hanami_guard"; print $LOADED_FEATURES.grep(/hanami_guard\.so\z/).join(",")'
    # Nothing but the copy: no bundler (RUBYOPT, RUBYLIB) and no gems, which could put this
    # checkout's lib/ on the load path.
    env = { "RUBYOPT" => nil, "RUBYLIB" => nil, "BUNDLE_GEMFILE" => nil, "BUNDLER_SETUP" => nil }
    Open3.capture3(env, RbConfig.ruby, "--disable-gems", "-I", @copy, "-e", script, chdir: File.dirname(@copy))
  end

  before { skip "run `rake compile` first: #{built} is missing" unless File.exist?(built) }

  it "loads the library for the running Ruby from lib/hanami_guard/<ABI>/" do
    place("#{abi}/hanami_guard.so")
    place("hanami_guard.so", __FILE__) # a plain one that is not a library: never tried
    out, err, status = load_it
    expect([status.success?, err]).to eq([true, ""])
    expect(out).to eq(File.join(@copy, "hanami_guard", abi, "hanami_guard.so"))
  end

  it "falls back to the plain hanami_guard/hanami_guard of a source build" do
    place("hanami_guard.so")
    out, _, status = load_it
    expect(status).to be_success
    expect(out).to eq(File.join(@copy, "hanami_guard", "hanami_guard.so"))
  end

  it "names the Rubies it carries when there is none for this one" do
    place("2.9/hanami_guard.so")
    place("9.8/hanami_guard.so")
    _, err, status = load_it
    expect(status).not_to be_success
    expect(err).to include("carries its extension for Ruby 2.9, 9.8, not for Ruby #{RUBY_VERSION}")
  end

  it "says how to build it when it carries none" do
    _, err, status = load_it
    expect(status).not_to be_success
    expect(err).to include("native extension is not built", "rake compile")
  end

  it "reports a library that is there but does not load, instead of trying another" do
    place("#{abi}/hanami_guard.so", __FILE__)
    place("hanami_guard.so")
    _, err, status = load_it
    expect(status).not_to be_success
    expect(err).to include(File.join(@copy, "hanami_guard", abi, "hanami_guard.so"))
  end
end
