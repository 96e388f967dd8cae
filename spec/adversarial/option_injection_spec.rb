# frozen_string_literal: true

# Option injection: a value that the program would read as an option. `git ls-remote {url}` with
# url = "--upload-pack=touch /tmp/x" runs a command through git itself; ssh reads
# "-oProxyCommand=..."; abbreviated long options ("--upload-pa=") work too, so a denylist never
# suffices. Any value that would begin a word with "-" is refused unless its placeholder is
# declared in options:.
# :slow only keeps these out of the GC.stress pass (minutes there); they run in every normal run.
RSpec.describe "option injection through HanamiGuard::Command", :slow do
  let(:cmd) { HanamiGuard::Command.new("printf '%s|' {value}") }

  payloads = ["--upload-pack=touch /tmp/hg-pwned", "--upload-pa=touch /tmp/hg-pwned", "-oProxyCommand=touch /tmp/x",
              "-", "--", "-n", "--help", "-\u00e9", "-\n"]

  payloads.each do |payload|
    it "refuses #{payload.inspect} as the start of a word", :slow do
      [-> { cmd.run(value: payload) }, -> { cmd.argv(value: payload) }].each do |call|
        expect(&call).to raise_error(HanamiGuard::CommandNotAllowed) { |e|
          expect([e.check, e.placeholder]).to eq([:leading_dash, "value"])
        }
      end
    end
  end

  it "refuses a dash supplied after an empty value at the start of the word" do
    two = HanamiGuard::Command.new("printf %s {a}{b}")
    expect { two.run(a: "", b: "--upload-pack=x") }.to raise_error(HanamiGuard::CommandNotAllowed) { |e|
      expect([e.check, e.placeholder]).to eq([:leading_dash, "b"])
    }
    expect(two.run(a: "x", b: "--y").stdout).to eq("x--y")
  end

  it "allows a dash that is not at the start of a word, or after a literal prefix" do
    prefixed = HanamiGuard::Command.new("printf %s --format={value}")
    expect(prefixed.argv(value: "--x").last).to eq("--format=--x")
    expect(cmd.run(value: "a-b").stdout).to eq("a-b|")
  end

  it "allows an option from a placeholder declared in options:, still bounded by its allowlist" do
    ls = HanamiGuard::Command.new("ls {flags} /", allow: { flags: %w[-l -la] }, options: [:flags])
    expect(ls.argv(flags: "-la").drop(1)).to eq(%w[-la /])
    expect { ls.argv(flags: "--upload-pack=x") }.to raise_error(HanamiGuard::CommandNotAllowed)
  end

  it "checks the mapped value of a Hash allowlist too" do
    mapped = HanamiGuard::Command.new("printf %s {v}", allow: { v: { "quiet" => "-q" } })
    expect { mapped.argv(v: "quiet") }.to raise_error(HanamiGuard::CommandNotAllowed)
  end

  it "never lets git read an injected option (a real git, when installed)", :slow do
    git = %w[/usr/bin/git /bin/git /usr/local/bin/git].find { |p| File.executable?(p) }
    skip "git is not installed" unless git

    Dir.mktmpdir do |dir|
      canary = File.join(dir, "pwned")
      ls_remote = HanamiGuard::Command.new("git ls-remote {url}", timeout: 10)
      ["--upload-pack=touch #{canary}", "--upload-pa=touch #{canary}"].each do |url|
        expect { ls_remote.run(url:) }.to raise_error(HanamiGuard::CommandNotAllowed)
      end
      expect(File.exist?(canary)).to be(false)
    end
  end
end
