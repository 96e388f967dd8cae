# frozen_string_literal: true

require "tmpdir"

# `chdir: root` followed the base path string: after the base directory was swapped for a
# symlink, root.entries still listed the original directory (the Root holds it open) while a
# command ran in the symlink's target. The child now changes directory by the Root's descriptor
# (posix_spawn_file_actions_addfchdir_np, or fchdir on the fork path), so it runs where the Root is.
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "chdir: a HanamiGuard::Root whose base is swapped for a symlink", :slow do
  { "posix_spawn" => {}, "fork (rlimits:)" => { rlimits: { nofile: 256 } } }.each do |path, opts|
    it "runs the command in the directory the Root opened, on the #{path} path" do
      Dir.mktmpdir do |dir|
        base = File.join(dir, "uploads")
        Dir.mkdir(base)
        File.write(File.join(base, "original"), "")
        root = HanamiGuard::Root.new(base)
        ls = HanamiGuard::Command.new("ls", chdir: root, **opts)

        File.rename(base, File.join(dir, "moved"))
        evil = File.join(dir, "elsewhere")
        Dir.mkdir(evil)
        File.write(File.join(evil, "planted"), "")
        File.symlink(evil, base)

        expect(root.entries(".")).to include("original")
        result = ls.run
        expect(result).to be_success
        expect(result.stdout.split).to eq(["original"])
      ensure
        root&.close
      end
    end
  end

  it "keeps working after the Root is closed (the command holds its own descriptor)" do
    Dir.mktmpdir do |dir|
      File.write(File.join(dir, "kept"), "")
      root = HanamiGuard::Root.new(dir)
      ls = HanamiGuard::Command.new("ls", chdir: root)
      root.close
      expect(ls.run.stdout.split).to eq(["kept"])
    end
  end
end
