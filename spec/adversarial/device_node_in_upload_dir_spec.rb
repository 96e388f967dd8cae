# frozen_string_literal: true

require "tmpdir"

# Device nodes in an upload directory: Landlock's write: rights used to include making character
# and block devices, so a child with CAP_MKNOD (root in a container keeps it by default) could
# `mknod uploads/x c 1 1` (/dev/mem) or a block node for the raw disk, and read them through the
# directory it was allowed to write. write: grants every right an upload directory needs (files,
# directories, symlinks, FIFOs, sockets), never MakeChar or MakeBlock.
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "making a device node inside a write: directory", :slow do
  { "posix_spawn" => {}, "fork (rlimits:)" => { rlimits: { nofile: 256 } } }.each do |path, opts|
    it "is refused on the #{path} path, while ordinary files and FIFOs may still be made" do
      Dir.mktmpdir do |dir|
        mknod = HanamiGuard::Command.new("mknod {node} {type} 1 3", fs: { write: [dir] }, **opts)
        probe = mknod.run(node: File.join(dir, "null-c"), type: "c")
        skip "Landlock is not enforced on this kernel" if probe.sandbox[:landlock] == :not_enforced
        skip "this process cannot make device nodes (no CAP_MKNOD)" if Process.uid != 0

        expect(probe).not_to be_success
        expect(File.exist?(File.join(dir, "null-c"))).to be(false)
        expect(mknod.run(node: File.join(dir, "blk"), type: "b")).not_to be_success
        expect(File.exist?(File.join(dir, "blk"))).to be(false)

        fifo = HanamiGuard::Command.new("mkfifo {f}", fs: { write: [dir] }, **opts).run(f: File.join(dir, "fifo"))
        expect(fifo).to be_success
        touch = HanamiGuard::Command.new("touch {f}", fs: { write: [dir] }, **opts).run(f: File.join(dir, "file"))
        expect(touch).to be_success
      end
    end
  end
end
