# frozen_string_literal: true

require "spec_helper"
require "fileutils"

# Attacks on `hanami_guard audit` itself: code shaped to slip input past it, and source trees
# built to make it read outside the app, crash, or forge lines of its report.
RSpec.describe "audit scanner evasion" do
  fixture = File.expand_path("../fixtures/audit/evasion.rb", __dir__)

  it "follows input through helpers, helper returns, instance variables, blocks, formatting and sh -c" do
    expected = File.readlines(fixture).each_with_index.flat_map do |text, i|
      text.scan(/# expect: ([a-z-]+)/).map { |(rule)| [i + 1, rule] }
    end
    found = HanamiGuard::Audit.scan(fixture).findings.map { |f| [f.line, f.rule] }
    expect(found.sort).to eq(expected.sort)
    expect(expected.size).to be >= 15
  end

  around do |example|
    Dir.mktmpdir("hanami_guard-audit-evasion") do |dir|
      @dir = dir
      example.run
    end
  end

  def write(rel, body)
    path = File.join(@dir, rel)
    FileUtils.mkdir_p(File.dirname(path))
    File.binwrite(path, body)
    path
  end

  it "does not read through a symlink that leaves the tree, and says so" do
    outside = write("outside/secret.rb", "system(\"ls \#{params[:x]}\")\n")
    write("app/ok.rb", "puts 1\n")
    File.symlink(outside, File.join(@dir, "app/linked.rb"))
    File.symlink(File.dirname(outside), File.join(@dir, "app/linked_dir"))
    result = HanamiGuard::Audit.scan(File.join(@dir, "app"))
    expect(result.findings).to eq([])
    expect(result.skipped.map { |s| File.basename(s.path) }).to contain_exactly("linked.rb", "linked_dir")
    expect(result.skipped.map(&:reason)).to all(include("out of the scanned tree"))
  end

  it "survives 10,000 nested expressions, deeper nesting than Prism allows, and a binary file" do
    write("app/deep.rb", "x = #{"[" * 10_000}params[:a]#{"]" * 10_000}\nsystem(\"ls \#{x}\")\n")
    write("app/deeper.rb", "x = #{"(" * 200_000}1#{")" * 200_000}\n")
    write("app/blob.rb", "\x7fELF\x00\x01\x02".b)
    write("app/after.rb", "eval(params[:code])\n")
    result = HanamiGuard::Audit.scan(File.join(@dir, "app"))
    expect(result.findings.map { |f| [File.basename(f.path), f.rule] })
      .to include(["after.rb", "dynamic-code"], ["deep.rb", "shell-exec"])
    expect(result.skipped.map { |s| [File.basename(s.path), s.reason[/binary|syntax error/]] })
      .to include(["blob.rb", "binary"], ["deeper.rb", "syntax error"])
  end

  it "cannot forge report lines with terminal escapes or newlines in code or file names" do
    write("app/x.rb", "system(\"\e[2J\e[32mall clear \#{params[:x]}\") \n")
    write("app/evil\nfake.rb:1:1 nothing (low).rb", "eval(params[:c])\n")
    text = HanamiGuard::Audit.scan(File.join(@dir, "app")).to_text
    expect(text).not_to include("\e")
    expect(text).to include("\\u{1b}[2J")
    expect(text.lines.grep(/^fake\.rb/)).to eq([])
    expect(text).to include("evil\\nfake.rb")
  end
end
