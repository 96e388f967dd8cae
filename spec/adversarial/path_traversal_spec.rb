# frozen_string_literal: true

require "spec_helper"
require "fileutils"

# Path traversal payloads written by others (PayloadsAllTheThings, MIT: see
# spec/fixtures/external/traversal/LICENSE), driven raw and once URL-decoded through Root#read on
# a base with canaries planted outside it, at the places the payloads aim for. Every call must
# read a file inside the base or raise a HanamiGuard::Error or an Errno; the canary is never read.
RSpec.describe "Path traversal through HanamiGuard::Root" do
  payload_file = File.expand_path("../fixtures/external/traversal/directory_traversal.txt", __dir__)
  payloads = File.readlines(payload_file, chomp: true).reject(&:empty?).map(&:b)
  decode = ->(s) { s.gsub(/%(\h\h)/) { Regexp.last_match(1).hex.chr }.b }
  targets = ["etc/passwd", "WINDOWS/win.ini", "windows/win.ini", "boot.ini", "winnt/system32/cmd.exe"]

  # Built once, in a context hook, so a GC.stress pass does not spend minutes per example on it.
  before(:context) do
    @tmp = File.realpath(Dir.mktmpdir("hanami_guard-traversal"))
    @base = File.join(@tmp, "l1/l2/l3/l4/l5/l6/base")
    # Canaries at every level above the base, where "../" * n + target lands.
    dir = @base
    until dir == @tmp
      dir = File.dirname(dir)
      targets.each do |target|
        FileUtils.mkdir_p(File.dirname(File.join(dir, target)))
        File.write(File.join(dir, target), "CANARY")
      end
    end
    FileUtils.mkdir_p(File.join(@base, "static"))
    File.write(File.join(@base, "index.html"), "INSIDE index")
    File.write(File.join(@base, "static/app.css"), "INSIDE css")
  end

  after(:context) { FileUtils.remove_entry(@tmp) }

  it "has payloads to drive (the fixture is there and read)" do
    expect(payloads.size).to be > 100
    expect(payloads.map(&decode)).to include(a_string_including("../"), a_string_including("..\\"))
  end

  it "plants canaries an unconfined read would reach" do
    # Sanity: the naive way does read a canary with one of these payloads, so the checks below
    # can fail.
    naive = payloads.map(&decode).count do |p|
      File.read(File.join(@base, p)) == "CANARY"
    rescue SystemCallError, ArgumentError
      false
    end
    expect(naive).to be > 0
  end

  %i[auto walk].each do |resolver|
    it "never reads a canary, raw or URL-decoded (resolver: #{resolver})" do
      root = HanamiGuard::Root.new(@base, resolver:)
      outcomes = Hash.new(0)
      payloads.flat_map { |p| [p, decode.call(p)] }.uniq.each do |payload|
        content = root.read(payload)
        expect(content).to start_with("INSIDE"), "#{payload.inspect} read #{content.inspect}"
        outcomes[:read] += 1
      rescue HanamiGuard::Error, SystemCallError => e
        outcomes[e.class] += 1
      end
      expect(outcomes[HanamiGuard::PathEscapeError] + outcomes[HanamiGuard::PathError]).to be > 100
    end

    it "answers every payload through the other operations, and writes nothing outside (resolver: #{resolver})" do
      root = HanamiGuard::Root.new(@base, resolver:)
      top = File.dirname(@base, 7)
      outside_before = Dir.glob("**/*", base: top).reject { |f| f.start_with?("l1/l2/l3/l4/l5/l6/base") }.sort
      payloads.flat_map { |p| [p, decode.call(p)] }.uniq.each do |payload|
        %i[exist? resolve stat write].each do |op|
          # What a write may put inside still reads as inside content for the other examples.
          args = op == :write ? [payload, "INSIDE written"] : [payload]
          result = root.public_send(op, *args)
          expect(result).to start_with(@base) if op == :resolve
        rescue HanamiGuard::Error, SystemCallError
          nil
        end
      end
      outside_after = Dir.glob("**/*", base: top).reject { |f| f.start_with?("l1/l2/l3/l4/l5/l6/base") }.sort
      expect(outside_after).to eq(outside_before)
      canaries = outside_after.map { |f| File.join(top, f) }.select { |f| File.file?(f) }
      expect(canaries.map { |f| File.read(f) }.uniq).to eq(["CANARY"])
    end
  end
end
