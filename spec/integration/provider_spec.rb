# frozen_string_literal: true

require "spec_helper"
require "hanami_guard/testing"
require "open3"

# The provider `hanami_guard install` writes (config/providers/hanami_guard.rb), loaded by a
# Hanami-2-shaped app (examples/hanami_shaped/: a container with providers that start when a
# component is first resolved, settings from config/settings.rb and ENV, `Hanami.app.root`,
# `Deps[...]`). Each example runs the app in a fresh `ruby`, as the container is process-wide.
RSpec.describe "the provider hanami_guard install writes" do
  # Everything here runs in fresh `ruby` processes, which GC_STRESS does not reach: the plain
  # pass runs it, and the stressed pass would only run it again unstressed.
  before(:context) { skip "runs in subprocesses, which GC_STRESS does not reach" if GcStress.mode }

  def app_dir
    dir = Dir.mktmpdir("hanami_guard-provider")
    FileUtils.mkdir_p(File.join(dir, "config"))
    File.write(File.join(dir, "config", "app.rb"), <<~RUBY)
      require "hanami"
      require "hanami_guard"
      module MyApp
        class App < Hanami::App
        end
      end
    RUBY
    out, status = Open3.capture2e(RbConfig.ruby, "-I", File.join(DocExamples::ROOT, "lib"),
                                  File.join(DocExamples::ROOT, "exe", "hanami_guard"), "install", dir)
    raise "hanami_guard install failed:\n#{out}" unless status.success?

    dir
  end

  # Runs `script` in the app after `require "hanami/prepare"`; returns its stdout lines.
  def in_app(dir, script, chdir: dir, env: {})
    env = { "RUBYLIB" => [File.join(DocExamples::ROOT, "lib"),
                          File.join(DocExamples::ROOT, "examples",
                                    "hanami_shaped")].join(File::PATH_SEPARATOR) }.merge(env)
    program = "require #{File.join(dir, "config", "app").inspect}\nHanami.app.prepare\n#{script}"
    out, err, status = Open3.capture3(env, RbConfig.ruby, "-e", program, chdir:)
    raise "the app failed:\n#{err}#{out}" unless status.success?

    out.lines.map(&:chomp)
  end

  around do |example|
    @dir = app_dir
    example.run
  ensure
    FileUtils.rm_rf(@dir)
  end

  it "registers the policy from config/hanami_guard.yml, and no trust store without config/ca.pem" do
    out = in_app(@dir, <<~RUBY)
      policy = Hanami.app["hanami_guard.policy"]
      puts policy.class, policy.rule_ids.join(",")
      puts Hanami.app.key?("hanami_guard.trust_store")
    RUBY
    expect(out).to eq(["HanamiGuard::Policy", "operators-deploy,no-contractors", "false"])
  end

  it "registers a trust store pinning config/ca.pem when it exists" do
    ca = HanamiGuard::Testing::CA.new(subject: "CN=MyOrg Root CA,O=MyOrg", intermediate: "CN=MyOrg Internal CA,O=MyOrg")
    File.write(File.join(@dir, "config", "ca.pem"), ca.intermediate_pem)
    File.write(File.join(@dir, "client.pem"), ca.issue(subject: "CN=operator,O=MyOrg").to_pem)
    File.write(File.join(@dir, "stranger.pem"), HanamiGuard::Testing::CA.new.issue(subject: "CN=operator").to_pem)
    out = in_app(@dir, <<~RUBY)
      trust = Hanami.app["hanami_guard.trust_store"]
      puts trust.class
      puts trust.verified?(HanamiGuard::Certificate.parse(File.read("client.pem")))
      puts trust.verified?(HanamiGuard::Certificate.parse(File.read("stranger.pem")))
    RUBY
    expect(out).to eq(%w[HanamiGuard::TrustStore true false])
  end

  it "resolves its paths from the app's root, whatever the working directory" do
    out = in_app(@dir, 'puts Dir.pwd, Hanami.app["hanami_guard.policy"].rule_ids.first', chdir: "/")
    expect(out).to eq(["/", "operators-deploy"])
  end

  it "takes the paths from the app's settings, and the settings from the environment" do
    FileUtils.mkdir_p(File.join(@dir, "config", "policies"))
    File.write(File.join(@dir, "config", "policies", "ops.yml"), <<~YAML)
      version: 1
      rules:
        - { id: from-settings, effect: allow, actions: [read], resources: [logs], principals: ["*"] }
    YAML
    File.write(File.join(@dir, "config", "policies", "env.yml"), <<~YAML)
      version: 1
      rules:
        - { id: from-env, effect: allow, actions: [read], resources: [logs], principals: ["*"] }
    YAML
    File.write(File.join(@dir, "config", "settings.rb"), <<~RUBY)
      module MyApp
        class Settings < Hanami::Settings
          setting :hanami_guard_policy_file, default: "config/policies/ops.yml"
        end
      end
    RUBY
    script = 'puts Hanami.app["hanami_guard.policy"].rule_ids'
    expect(in_app(@dir, script)).to eq(["from-settings"])
    expect(in_app(@dir, script, env: { "HANAMI_GUARD_POLICY_FILE" => "config/policies/env.yml" })).to eq(["from-env"])
  end

  it "gives actions the policy through Deps, and their base action through Hanami.app" do
    FileUtils.mkdir_p(File.join(@dir, "app", "actions"))
    File.write(File.join(@dir, "app", "action.rb"), <<~RUBY)
      module MyApp
        class Action < Hanami::Action
          include HanamiGuard::Action
          guard_policy Hanami.app["hanami_guard.policy"]
        end
      end
    RUBY
    File.write(File.join(@dir, "app", "actions", "status.rb"), <<~RUBY)
      module MyApp
        module Actions
          class Status < MyApp::Action
            include Deps["hanami_guard.policy"]
            skip_authorization "reports which policy is in force"

            def handle(_request, response)
              response.body = policy.rule_ids.join(",")
            end
          end
        end
      end
    RUBY
    out = in_app(@dir, <<~RUBY)
      action = Hanami.app["actions.status"]
      puts action.policy.equal?(Hanami.app["hanami_guard.policy"])
      puts MyApp::Action.guard_policy.equal?(Hanami.app["hanami_guard.policy"])
      puts action.call(Rack::MockRequest.env_for("/status", "hanami_guard.checked" => true)).body.join
      other = HanamiGuard::Policy.define { allow :read, resources: %w[x], principals: ["*"], id: "injected" }
      puts MyApp::Actions::Status.new(policy: other).policy.rule_ids.first
    RUBY
    expect(out).to eq(%w[true true operators-deploy,no-contractors injected])
  end

  it "registers the roots written in its start block" do
    provider = File.join(@dir, "config", "providers", "hanami_guard.rb")
    text = File.read(provider)
    line = text[/^ *# (register "roots\.uploads".*)$/, 1]
    expect(line).not_to be_nil
    File.write(provider, text.sub(/^( *)# register "roots\.uploads".*$/) { "#{Regexp.last_match(1)}#{line}" })
    FileUtils.mkdir_p(File.join(@dir, "storage", "uploads"))
    out = in_app(@dir, <<~RUBY)
      root = Hanami.app["hanami_guard.roots.uploads"]
      puts root.class, root.path == File.join(Hanami.app.root.to_s, "storage", "uploads")
    RUBY
    expect(out).to eq(%w[HanamiGuard::Root true])
  end
end

RSpec.describe "the example app's provider" do
  it "is the one hanami_guard install writes, with the example's roots and commands in its start block" do
    require "hanami_guard/cli"
    require "hanami_guard/cli/install"
    written = HanamiGuard::CLI::Install::PROVIDER
    example = File.read(File.join(DocExamples::ROOT, "examples", "config", "providers", "hanami_guard.rb"))
    own = lambda do |text|
      text.sub(/^# Written by `hanami_guard install`.*\n/, "").sub(/(# Roots and commands.*?\n).*?(?=^  end\n)/m, "\\1")
    end
    expect(own.call(example)).to eq(own.call(written))
    expect(example).to include('register "roots.public_files"', 'register "commands.deploy"',
                               'register "commands.tail"')
  end
end
