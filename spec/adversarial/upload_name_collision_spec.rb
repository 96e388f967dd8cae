# frozen_string_literal: true

require "spec_helper"

# Root.safe_name hashes the original file name, so two users who upload `cat.png` get the same
# name and the second upload silently replaces the first (or a user replaces someone else's file
# on purpose by reusing a name). Root#store names a file by the SHA-256 of its content: different
# content never takes an existing name, and a name can only ever hold the bytes it was made from.
RSpec.describe "Upload overwriting another through a shared name, and HanamiGuard::Root#store" do
  around do |example|
    Dir.mktmpdir("hanami_guard-store") do |tmp|
      @base = File.realpath(tmp)
      example.run
    end
  end

  def sha(data)
    OpenSSL::Digest.hexdigest("SHA256", data)
  end

  it "shows the attack: safe_name gives two different uploads called cat.png one name" do
    root = HanamiGuard::Root.new(@base)
    name = HanamiGuard::Root.safe_name("cat.png")
    root.write(name, "first user's cat")
    root.write(HanamiGuard::Root.safe_name("cat.png"), "second user's cat")
    expect(Dir.children(@base)).to eq([name])
    expect(root.read(name)).to eq("second user's cat")
  end

  %i[auto walk].each do |resolver|
    context "with resolver: #{resolver.inspect}" do
      let(:root) { HanamiGuard::Root.new(@base, resolver:) }

      it "gives different content different names and never replaces either" do
        first = root.store("first user's cat", extension: ".png")
        second = root.store("second user's cat", extension: ".png")
        expect(first).to eq("#{sha("first user's cat")}.png")
        expect(second).to eq("#{sha("second user's cat")}.png")
        expect(Dir.children(@base).sort).to eq([first, second].sort)
        expect([root.read(first), root.read(second)]).to eq(["first user's cat", "second user's cat"])
      end

      it "refuses to take a name already holding different content (planted or corrupted), and keeps it" do
        data = "the real upload"
        name = "#{sha(data)}.png"
        File.write(File.join(@base, name), "PLANTED")
        expect { root.store(data, extension: "png") }.to raise_error(Errno::EEXIST, /different content/)
        expect(File.read(File.join(@base, name))).to eq("PLANTED")
        expect(Dir.children(@base)).to eq([name]) # no temporary file left
      end

      it "refuses a name held by another user's file even with the same bytes (they could change it later)" do
        skip "needs root to plant a file owned by another user" unless Process.euid.zero?
        data = "same bytes"
        path = File.join(@base, "#{sha(data)}.png")
        File.write(path, data)
        File.chown(65_534, 65_534, path)
        expect { root.store(data, extension: "png") }.to raise_error(HanamiGuard::PathError, /owned by uid 65534/)
      end

      it "refuses a symlink at the name and leaves its target alone" do
        Dir.mktmpdir do |outside|
          target = File.join(outside, "victim")
          File.write(target, "VICTIM")
          data = "upload"
          File.symlink(target, File.join(@base, sha(data)))
          expect { root.store(data) }.to raise_error(HanamiGuard::PathEscapeError, /symlink/)
          expect(File.read(target)).to eq("VICTIM")
        end
      end

      it "stores the same content once, whoever stores it and however often" do
        threads = Array.new(4) { Thread.new { Array.new(10) { root.store("same", extension: "txt") } } }
        names = threads.flat_map(&:value).uniq
        expect(names).to eq(["#{sha("same")}.txt"])
        expect(Dir.children(@base)).to eq(names)
      end
    end
  end
end
