# frozen_string_literal: true

require "uri"

# Shell-injection payloads written by others (PayloadsAllTheThings, MIT; see
# spec/fixtures/external/command_injection/LICENSE) go through `printf %s {value}`. Each must come
# out of the child's stdout byte for byte (it was one argv element and no shell saw it), or be
# refused with CommandNotAllowed (a leading "-", a NUL). Nothing else is acceptable.
# :slow only keeps these out of the GC.stress pass (minutes there); they run in every normal run.
RSpec.describe "command injection through HanamiGuard::Command", :slow do
  fixtures = File.expand_path("../fixtures/external/command_injection", __dir__)
  payloads = %w[command_exec.txt command-execution-unix.txt].flat_map do |file|
    File.binread(File.join(fixtures, file)).split("\n").map { |line| line.delete_suffix("\r") }
  end.reject(&:empty?).uniq
  decoded = payloads.filter_map do |p|
    d = URI.decode_www_form_component(p.tr("+", "\x01")).tr("\x01", "+")
    d unless d == p
  rescue ArgumentError
    nil
  end.uniq

  let(:printf) { HanamiGuard::Command.new("printf %s {value}") }

  def expect_one_argument_or_refused(cmd, payload)
    result = cmd.run(value: payload)
    expect(result.stdout).to eq(payload.b), "payload #{payload.inspect} came out as #{result.stdout.inspect}"
    expect(result).to be_success
    :passed
  rescue HanamiGuard::CommandNotAllowed
    expect(payload.start_with?("-") || payload.include?("\0")).to be(true),
                                                                  "payload #{payload.inspect} refused without reason"
    :refused
  end

  it "has the payload files" do
    expect(payloads.size).to be > 400
  end

  it "passes a sample of payloads through as single arguments" do
    outcomes = payloads.first(10).map { |p| expect_one_argument_or_refused(printf, p) }
    expect(outcomes).to include(:passed)
  end

  it "passes every payload, raw and URL-decoded, through as a single argument or refuses it", :slow do
    outcomes = (payloads + decoded).map { |p| expect_one_argument_or_refused(printf, p) }
    expect(outcomes.count(:passed)).to be > 400
  end

  it "keeps a payload inside a larger word intact (a placeholder in the middle of a word)", :slow do
    cmd = HanamiGuard::Command.new("printf %s prefix-{value}-suffix")
    payloads.each do |p|
      next if p.include?("\0")

      expect(cmd.run(value: p).stdout).to eq("prefix-#{p}-suffix".b)
    end
  end

  it "never runs a payload as a command: a canary file is not created", :slow do
    Dir.mktmpdir do |dir|
      canary = File.join(dir, "canary")
      ["; touch #{canary}", "$(touch #{canary})", "`touch #{canary}`", "| touch #{canary}",
       "&& touch #{canary}", "\ntouch #{canary}"].each do |p|
        expect(printf.run(value: p).stdout).to eq(p)
      end
      expect(File.exist?(canary)).to be(false)
    end
  end

  it "refuses a value that would turn a launcher into a shell with an inline script" do
    cmd = HanamiGuard::Command.new("env {prog} {flag} {script}", options: [:flag])
    expect { cmd.run(prog: "sh", flag: "-c", script: "id") }.to raise_error(HanamiGuard::CommandNotAllowed, /inline/)
    expect(cmd.argv(prog: "printf", flag: "-v", script: "x").drop(1)).to eq(%w[printf -v x])
  end
end
