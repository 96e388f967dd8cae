# frozen_string_literal: true

require "tmpdir"

# Option injection through the plain form: `Command.run("git", "ls-remote", url)` used to apply
# no value checks, so url = "--upload-pack=touch /tmp/x" ran a command through git, while the
# template `git ls-remote {url}` refused the same value. In the plain form, every word after the
# executable (or after the first "--") is a value with the placeholder checks; the caller's own
# options go before a "--".
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "option injection through HanamiGuard::Command.run", :slow do
  ["--upload-pack=touch /tmp/hg-pwned", "-oProxyCommand=x", "@/tmp/opts", "-", "--"].each do |payload|
    # A lone "--" as the first such word is the separator itself: it only ends the literal words.
    unless payload == "--"
      it "refuses the request value #{payload.inspect} without a separator" do
        expect { HanamiGuard::Command.run("printf", payload) }
          .to raise_error(HanamiGuard::CommandNotAllowed) { |e| expect(e.placeholder).to eq("arg1") }
      end
    end

    it "refuses the request value #{payload.inspect} after the separator" do
      expect { HanamiGuard::Command.run("printf", "%s", "--", payload) }
        .to raise_error(HanamiGuard::CommandNotAllowed, /argument 3 begins with/) { |e|
          expect(e.placeholder).to eq("arg3")
        }
    end
  end

  it "runs the DESIGN example as written: literal words, then values after --" do
    Dir.mktmpdir do |dir|
      result = HanamiGuard::Command.run("ls", "-d", "--", dir, "a b; c")
      expect(result.argv.drop(1)).to eq(["-d", "--", dir, "a b; c"])
      expect(result.stdout).to include(dir)
    end
  end

  it "still refuses a NUL and an inline script given as values" do
    expect { HanamiGuard::Command.run("printf", "a\0b") }
      .to raise_error(HanamiGuard::CommandNotAllowed) { |e| expect(e.check).to eq(:nul) }
    expect { HanamiGuard::Command.run("env", "--", "sh", "-c", "id") }
      .to raise_error(HanamiGuard::CommandNotAllowed) { |e| expect(%i[leading_dash inline_script]).to include(e.check) }
  end

  it "never lets git read an injected --upload-pack (a real git, when installed)" do
    git = %w[/usr/bin/git /bin/git /usr/local/bin/git].find { |p| File.executable?(p) }
    skip "git is not installed" unless git

    Dir.mktmpdir do |dir|
      canary = File.join(dir, "pwned")
      expect { HanamiGuard::Command.run("git", "ls-remote", "--upload-pack=touch #{canary}", dir, timeout: 20) }
        .to raise_error(HanamiGuard::CommandNotAllowed)
      expect(File.exist?(canary)).to be(false)
    end
  end
end
