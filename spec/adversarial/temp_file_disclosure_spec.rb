# frozen_string_literal: true

require "spec_helper"

# Root#write replaces a file through a temporary file in the same directory. If that temporary
# file is created with the default `perm:` (0644) and only given the old file's mode after the
# data is in, another local user can open it while it is written and keep reading the new content
# of a 0600 file through that descriptor. The temporary file must never be more readable than the
# file it becomes.
#
# The observation is real: a thread lists the directory and stats every temporary file it sees
# while the write runs (Root#write runs without the GVL, so the thread runs alongside it).
RSpec.describe "Temporary file of HanamiGuard::Root#write read by another local user" do
  around do |example|
    Dir.mktmpdir("hanami_guard-tmpfile") do |tmp|
      @base = File.realpath(tmp)
      example.run
    end
  end

  # Writes `data` over `name` until the watcher has seen the temporary file a few times, and
  # returns every mode it saw.
  def observed_modes(root, name, data)
    seen = Queue.new
    done = false
    watcher = Thread.new do
      until done
        Dir.children(@base).each do |child|
          next unless child.start_with?(".#{name}.") && child.end_with?(".tmp")

          seen << (File.lstat(File.join(@base, child)).mode & 0o7777)
        rescue Errno::ENOENT
          nil # renamed into place between the listing and the stat
        end
        Thread.pass
      end
    end
    200.times do
      root.write(name, data)
      break if seen.size >= 3
    end
    done = true
    watcher.join
    Array.new(seen.size) { seen.pop }
  end

  %i[auto walk].each do |resolver|
    context "with resolver: #{resolver.inspect}" do
      let(:root) { HanamiGuard::Root.new(@base, resolver:) }

      it "never lets group or others read the temporary file of a 0600 file" do
        path = File.join(@base, "secrets.yml")
        File.write(path, "old")
        File.chmod(0o600, path)
        modes = observed_modes(root, "secrets.yml", "s" * (16 << 20))
        expect(modes).not_to be_empty, "the watcher never saw a temporary file: the spec observed nothing"
        expect(modes.map { |m| format("%04o", m) }.uniq).to all(satisfy { |m| m.to_i(8) & 0o077 == 0 })
        expect(File.stat(path).mode & 0o7777).to eq(0o600)
      end

      it "gives a new file's temporary file no more than the new file's own mode" do
        modes = observed_modes(root, "fresh.bin", "f" * (16 << 20))
        expect(modes).not_to be_empty, "the watcher never saw a temporary file: the spec observed nothing"
        final = File.stat(File.join(@base, "fresh.bin")).mode & 0o7777
        expect(modes.map { |m| m & ~final }.uniq).to eq([0])
      end
    end
  end
end
