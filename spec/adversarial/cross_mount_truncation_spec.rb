# frozen_string_literal: true

require "spec_helper"
require "open3"

# With `xdev: false` a Root refuses paths that cross into another mounted file system: a file
# bind-mounted into the tree (a secret, a host config) must not be touched. Opening with "w"
# truncates as a side effect of open(2) itself, so a resolver that opens first and checks the
# mount afterwards has already emptied the file when it refuses. The decision must come before
# any side effect.
#
# The other file system is real: a tmpfs mounted for the example, and one of its files
# bind-mounted over a file inside the root.
RSpec.describe "File on another mount truncated through HanamiGuard::Root with xdev: false" do
  def mount(*args)
    out, status = Open3.capture2e("mount", *args)
    skip "cannot mount here (#{out.strip}): needs root and mount rights" unless status.success?
  end

  around do |example|
    skip "needs root to mount a file system" unless Process.euid.zero?
    Dir.mktmpdir("hanami_guard-xdev") do |tmp|
      tmp = File.realpath(tmp)
      @base = File.join(tmp, "base")
      @other = File.join(tmp, "other")
      Dir.mkdir(@base)
      Dir.mkdir(@other)
      @mounts = []
      begin
        mount("-t", "tmpfs", "-o", "size=1m", "hanami_guard_xdev", @other)
        @mounts << @other
        File.write(File.join(@other, "config.yml"), "database: production\n")
        @target = File.join(@base, "config.yml")
        File.write(@target, "")
        mount("--bind", File.join(@other, "config.yml"), @target)
        @mounts.unshift(@target)
        # A bind mount of the same file system: same device number, so only the kernel sees it.
        same = File.join(tmp, "same")
        Dir.mkdir(same)
        File.write(File.join(same, "f.txt"), "SAME FS")
        Dir.mkdir(File.join(@base, "mnt"))
        mount("--bind", same, File.join(@base, "mnt"))
        @mounts.unshift(File.join(@base, "mnt"))
        example.run
      ensure
        # Lazily: a descriptor a failed example left open must not keep the mount (and the
        # temporary directory) alive.
        @mounts.each { |m| system("umount", "-l", m, exception: false) }
      end
    end
  end

  it "is really another file system (sanity)" do
    expect(File.stat(@target).dev).not_to eq(File.stat(@base).dev)
    expect(File.read(@target)).to eq("database: production\n")
  end

  it "refuses a bind mount of the same file system wherever the kernel resolves (read, subroot, resolve)" do
    begin
      HanamiGuard::Root.new(@base, resolver: :kernel)
    rescue HanamiGuard::ConfigurationError
      skip "no openat2 here: the walker compares device numbers and cannot see this mount (documented)"
    end
    root = HanamiGuard::Root.new(@base, xdev: false)
    expect { root.read("mnt/f.txt") }.to raise_error(HanamiGuard::PathEscapeError)
    expect { root.subroot("mnt") }.to raise_error(HanamiGuard::PathEscapeError)
    expect { root.resolve("mnt/f.txt") }.to raise_error(HanamiGuard::PathEscapeError)
    sub = HanamiGuard::Root.new(@base).subroot("mnt")
    expect(sub.read("f.txt")).to eq("SAME FS")
    sub.close # its descriptor would keep the mount busy
  end

  %i[auto walk].each do |resolver|
    context "with resolver: #{resolver.inspect}" do
      let(:root) { HanamiGuard::Root.new(@base, resolver:, xdev: false) }

      %w[w w+ wb r+ a].each do |mode|
        it "refuses open(\"config.yml\", #{mode.inspect}) before touching the file" do
          expect { root.open("config.yml", mode) { |io| io.write("PWNED") } }
            .to raise_error(HanamiGuard::PathEscapeError, /another mounted file system|leave the root/)
          expect(File.read(@target)).to eq("database: production\n")
        end
      end

      it "refuses write and read too, and the same root works on its own file system" do
        expect { root.write("config.yml", "PWNED") }
          .to raise_error(HanamiGuard::PathEscapeError) { |e| expect(e.check).to eq(:mount_crossing) }
        expect { root.read("config.yml") }.to raise_error(HanamiGuard::PathEscapeError)
        expect(File.read(@target)).to eq("database: production\n")
        root.open("local.txt", "w") { |io| io.write("ok") }
        root.open("local.txt", "w") { |io| io.write("k") }
        expect(File.read(File.join(@base, "local.txt"))).to eq("k")
      end
    end
  end
end
