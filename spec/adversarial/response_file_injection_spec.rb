# frozen_string_literal: true

require "tmpdir"

# Response files: gcc, clang, ld, binutils, javac and 7z read further arguments from "@path".
# `gcc -fsyntax-only {file}` refuses "-wrapper" as a value, but "@uploads/x" passed the dash check
# and gcc read "-wrapper /bin/sh,-c,..." from the uploaded file and ran it. A value that would
# begin a word with "@" is refused unless its placeholder is listed in options:.
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "response file injection through HanamiGuard::Command", :slow do
  ["@uploads/x", "@/tmp/opts", "@", "@@x"].each do |payload|
    it "refuses #{payload.inspect} as the start of a word" do
      cmd = HanamiGuard::Command.new("printf %s {file}")
      [-> { cmd.argv(file: payload) }, -> { cmd.run(file: payload) }].each do |call|
        expect(&call).to raise_error(HanamiGuard::CommandNotAllowed) { |e|
          expect([e.check, e.placeholder]).to eq([:response_file, "file"])
        }
      end
    end
  end

  it "refuses an @ supplied after an empty value at the start of the word" do
    cmd = HanamiGuard::Command.new("printf %s {a}{b}")
    expect { cmd.argv(a: "", b: "@x") }.to raise_error(HanamiGuard::CommandNotAllowed) { |e|
      expect([e.check, e.placeholder]).to eq([:response_file, "b"])
    }
  end

  it "allows an @ inside a word, after a literal prefix, or from a placeholder in options:" do
    expect(HanamiGuard::Command.new("printf %s ./{f}").run(f: "@x").stdout).to eq("./@x")
    expect(HanamiGuard::Command.new("printf %s {f}").run(f: "user@host").stdout).to eq("user@host")
    expect(HanamiGuard::Command.new("printf %s {f}", options: [:f]).run(f: "@x").stdout).to eq("@x")
  end

  it "never lets a real gcc read -wrapper from an uploaded file" do
    gcc = %w[/usr/bin/gcc /bin/gcc].find { |p| File.executable?(p) }
    skip "gcc is not installed" unless gcc

    Dir.mktmpdir do |dir|
      canary = File.join(dir, "pwned")
      File.write(File.join(dir, "x"), "-wrapper /bin/sh,-c,touch\\ #{canary}\n")
      File.write(File.join(dir, "main.c"), "int main(void) { return 0; }\n")
      cmd = HanamiGuard::Command.new("gcc -fsyntax-only {file} main.c", chdir: dir, timeout: 60)
      expect { cmd.run(file: "@x") }.to raise_error(HanamiGuard::CommandNotAllowed)
      expect(File.exist?(canary)).to be(false)
    end
  end
end
