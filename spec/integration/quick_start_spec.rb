# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"
require "open3"

# The README's quick start, followed as written in a directory shaped like a freshly generated
# Hanami 2 app: the real `hanami_guard install`, the CA copied to config/ca.pem, the README's
# config/app.rb, base action, action and spec, then a real `rspec` run in the app. Hanami's gems
# are not installed here, so `require "hanami"` finds the Hanami-shaped app of
# examples/hanami_shaped/ (what an app's own files touch of Hanami 2).
RSpec.describe "the README's quick start" do
  # Everything here runs in fresh `ruby` processes, which GC_STRESS does not reach: the plain
  # pass runs it, and the stressed pass would only run it again unstressed.
  before(:context) { skip "runs in subprocesses, which GC_STRESS does not reach" if GcStress.mode }

  root = File.expand_path("../..", __dir__)
  readme = File.read(File.join(root, "README.md"))
  quick_start = readme[/^## Quick start\n(.*?)^## /m, 1]

  # The quick start's blocks, by the file each names on its first line.
  files = quick_start.scan(/^```ruby\n# (\S+)\n(.*?)^```\n/m).to_h { |path, body| [path, "# #{path}\n#{body}"] }
  commands = quick_start[/^```sh\n(.*?)^```\n/m, 1].to_s.lines.map { |l| l.sub(/#.*/, "").strip }.reject(&:empty?)

  def run_in(dir, *command)
    env = { "RUBYLIB" => [File.join(DocExamples::ROOT, "lib"),
                          File.join(DocExamples::ROOT, "examples", "hanami_shaped")].join(File::PATH_SEPARATOR) }
    Open3.capture2e(env, RbConfig.ruby, *command, chdir: dir)
  end

  # What `hanami new my_app` leaves that the quick start edits or relies on.
  def generate_app(dir)
    FileUtils.mkdir_p(%w[config app spec].map { |d| File.join(dir, d) })
    File.write(File.join(dir, "Gemfile"), "source \"https://rubygems.org\"\n\ngem \"hanami\", \"~> 2.2\"\n")
    File.write(File.join(dir, "config", "app.rb"), "module MyApp\n  class App < Hanami::App\n  end\nend\n")
    File.write(File.join(dir, "app", "action.rb"), "module MyApp\n  class Action < Hanami::Action\n  end\nend\n")
    File.write(File.join(dir, ".rspec"), "--require spec_helper\n")
    File.write(File.join(dir, "spec", "spec_helper.rb"), <<~RUBY)
      ENV["HANAMI_ENV"] ||= "test"
      require "hanami/prepare"
    RUBY
  end

  # Each step of the quick start, in its order.
  def follow(dir, files, commands, authority)
    gemfile = files.fetch("Gemfile") { raise "the quick start has no Gemfile block" }
    File.write(File.join(dir, "Gemfile"), gemfile.lines.drop(1).join, mode: "a")
    commands.each do |command|
      case command
      when "bundle install" then next # the gems are this checkout's bundle
      when /\Abundle exec hanami_guard (install.*)\z/
        out, status = run_in(dir, File.join(DocExamples::ROOT, "exe", "hanami_guard"), *Regexp.last_match(1).split)
        raise "hanami_guard install failed:\n#{out}" unless status.success?
      when %r{\Acp \S+ config/ca\.pem\z} then File.write(File.join(dir, "config", "ca.pem"), authority.intermediate_pem)
      else raise "the quick start's command #{command.inspect} is not one this spec knows how to follow"
      end
    end
    files.each do |path, content|
      next if path == "Gemfile"

      FileUtils.mkdir_p(File.dirname(File.join(dir, path)))
      File.write(File.join(dir, path), content)
    end
  end

  it "names its files and its commands" do
    expect(files.keys).to eq(%w[Gemfile config/app.rb app/action.rb app/actions/containers/deploy.rb
                                spec/actions/containers/deploy_spec.rb])
    expect(commands).to include(a_string_starting_with("bundle exec hanami_guard install"))
  end

  it "is about forty lines of code" do
    lines = quick_start.scan(/^```\w+\n(.*?)^```\n/m).join.lines.count { |l| !l.strip.empty? }
    expect(lines).to be_between(30, 55)
  end

  context "followed in a new Hanami 2 app" do
    before(:all) do
      @dir = Dir.mktmpdir("hanami_guard-quick-start")
      @ca = HanamiGuard::Testing::CA.new(subject: "CN=MyOrg Root CA,O=MyOrg",
                                         intermediate: "CN=MyOrg Internal CA,O=MyOrg")
      generate_app(@dir)
      follow(@dir, files, commands, @ca)
    end

    after(:all) { FileUtils.rm_rf(@dir) }

    it "gives a spec that passes for an allowed and a denied request" do
      out, status = run_in(@dir, Gem.bin_path("rspec-core", "rspec"))
      expect(status).to be_success, out
      expect(out).to include("2 examples, 0 failures")
    end

    it "gives a spec that fails when the policy lets the contractor in" do
      policy = File.join(@dir, "config", "hanami_guard.yml")
      original = File.read(policy)
      File.write(policy, original.sub("resources: [api]", "resources: [nothing]"))
      out, status = run_in(@dir, Gem.bin_path("rspec-core", "rspec"))
      expect(status).not_to be_success
      expect(out).to include("2 examples, 1 failure")
    ensure
      File.write(policy, original)
    end

    it "puts the middleware in front of the app, which verifies Puma's certificate against config/ca.pem" do
      File.write(File.join(@dir, "config", "routes.rb"), <<~RUBY)
        module MyApp
          class Routes < Hanami::Routes
            get "/deploy", to: "containers.deploy"
          end
        end
      RUBY
      File.write(File.join(@dir, "operator.pem"), @ca.issue(subject: "CN=operator,O=MyOrg").to_pem)
      File.write(File.join(@dir, "stranger.pem"),
                 HanamiGuard::Testing::CA.new.issue(subject: "CN=operator,O=MyOrg").to_pem)
      script = <<~RUBY
        require "hanami/boot"
        require "hanami_guard/testing"
        app = Hanami.app.rack_app
        %w[operator.pem stranger.pem].each do |file|
          cert = HanamiGuard::Certificate.parse(File.read(file))
          puts app.call(HanamiGuard::Testing.puma_env("/deploy?container=worker", certificate: cert))[0]
        end
        puts app.call(Rack::MockRequest.env_for("/deploy?container=worker"))[0]
      RUBY
      out, status = run_in(@dir, "-e", script)
      expect(status).to be_success, out
      expect(out.lines.map(&:strip)).to eq(%w[200 401 401])
    end
  end
end
