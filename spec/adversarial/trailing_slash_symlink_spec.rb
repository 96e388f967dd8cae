# frozen_string_literal: true

require "spec_helper"
require "fileutils"

# The two resolvers must decide alike, and the kernel is the reference: an attacker who finds a
# path one resolver reads and the other refuses (a symlink to `a.txt/`, `open("new/", "w")`) gets
# different behaviour on hosts with and without openat2, and a check written against one does not
# hold on the other. One table of cases runs through Ruby's own File on the real path (the
# kernel's answer), through a Root with the default resolver (openat2 where the kernel has it),
# through one forced to walk, and through Root#resolve.
module TrailingSlashCases
  LINKS = {
    "slash" => "a.txt/", "slashdot" => "a.txt/.", "dirslash" => "dir/", "dirdot" => "dir/.",
    "dangling_slash" => "nowhere/", "dangling_dot" => "nowhere/.", "dot" => ".", "dotdot_in" => "dir/..",
    "dir/up_slash" => "../a.txt/", "chain_slash" => "slash", "link_dirslash" => "dirslash/"
  }.freeze

  READS = %w[
    a.txt a.txt/ a.txt/. slash slashdot slash/ slash/. dirslash dirdot dirslash/b.txt dirslash/x
    dangling_slash dangling_dot dir dir/ . dotdot_in dir/up_slash chain_slash link_dirslash link_dirslash/b.txt
  ].freeze

  OPENS = {
    "w" => %w[
      new/ new/. new/.. a.txt/ a.txt/. dir/ dir/. slash slashdot dangling_slash dangling_slash/ dangling_dot
      dirslash dot dotdot_in newdir/x dir/up_slash chain_slash
    ],
    "a" => %w[a.txt/ slash dir/ dangling_slash x/ dir/up_slash],
    "r+" => %w[a.txt/ slash slashdot dir/ dirslash]
  }.freeze
end

RSpec.describe "Trailing slashes and dots in symlinks, read by both HanamiGuard::Root resolvers" do
  around do |example|
    Dir.mktmpdir("hanami_guard-parity") do |tmp|
      @base = File.join(File.realpath(tmp), "base")
      FileUtils.mkdir_p(File.join(@base, "dir"))
      File.write(File.join(@base, "a.txt"), "A")
      File.write(File.join(@base, "dir/b.txt"), "B")
      TrailingSlashCases::LINKS.each { |name, target| File.symlink(target, File.join(@base, name)) }
      example.run
    end
  end

  let(:roots) { %i[auto walk].to_h { |r| [r, HanamiGuard::Root.new(@base, resolver: r)] } }

  # What happened, as a comparable word: the content read, "opened", or the exception's class.
  def outcome
    result = yield
    result.is_a?(String) ? "ok #{result}" : "ok"
  rescue SystemCallError, HanamiGuard::Error => e
    e.class.name
  end

  # Files the kernel may create while answering ("nowhere", "new") are removed after each try,
  # so every resolver starts from the same tree.
  def fresh
    FileUtils.rm_rf(%w[nowhere new newdir x].map { |n| File.join(@base, n) })
    yield
  ensure
    FileUtils.rm_rf(%w[nowhere new newdir x].map { |n| File.join(@base, n) })
  end

  it "reads as File.read does" do
    TrailingSlashCases::READS.each do |path|
      reference = fresh { outcome { File.read(File.join(@base, path)) } }
      roots.each do |resolver, root|
        expect(fresh { outcome { root.read(path) } }).to eq(reference), "read #{path.inspect} with #{resolver}"
      end
    end
  end

  it "opens for writing as File.open does, and creates only what File.open creates" do
    TrailingSlashCases::OPENS.each do |mode, paths|
      paths.each do |path|
        reference = nil
        made = fresh do
          reference = outcome { File.open(File.join(@base, path), mode) { "opened" } }
          Dir.children(@base).sort
        end
        roots.each do |resolver, root|
          got = nil
          tree = fresh do
            got = outcome { root.open(path, mode) { "opened" } }
            Dir.children(@base).sort
          end
          expect(got).to eq(reference), "open #{path.inspect}, #{mode.inspect} with #{resolver}"
          expect(tree).to eq(made), "files left by open #{path.inspect}, #{mode.inspect} with #{resolver}"
        end
      end
    end
  end

  it "resolves as the kernel decides: a missing last name is allowed, nothing else is" do
    TrailingSlashCases::READS.each do |path|
      full = File.join(@base, path)
      reference = outcome { File.stat(full) && File.realpath(full) }
      roots.each do |resolver, root|
        got = outcome { root.resolve(path) }
        if reference == "Errno::ENOENT"
          expect(got).to match(/\A(ok #{Regexp.escape(@base)}|Errno::ENOENT\z)/), "resolve #{path.inspect} #{resolver}"
        else
          expect(got).to eq(reference), "resolve #{path.inspect} with #{resolver}"
        end
      end
    end
  end

  it "writes as File.write answers for names that are not file names" do
    %w[new/ new/. a.txt/ a.txt/. dir/ dir/. slash/ dir/..].each do |path|
      reference = fresh { outcome { File.write(File.join(@base, path), "x") } }
      roots.each do |resolver, root|
        expect(fresh { outcome { root.write(path, "x") } }).to eq(reference), "write #{path.inspect} (#{resolver})"
      end
    end
  end
end
