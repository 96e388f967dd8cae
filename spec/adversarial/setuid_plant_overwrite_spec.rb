# frozen_string_literal: true

require "spec_helper"

# A local user who can write in an upload directory plants `<name>.png` with mode 6755. The app,
# running as root (as many containers do), then stores a request's bytes under that predictable
# name. If the write copied the old file's mode onto its new, root-owned file, the request's bytes
# would come out as a setuid-root executable. A write must never move privilege: another user's
# file is refused unless the caller says to replace it, and special bits survive only when the
# owner and group do not change (and the old file had no second hard link).
RSpec.describe "Setuid file planted under an upload's name, then overwritten by HanamiGuard::Root#write" do
  # The attacker: nobody (65534).
  let(:attacker) { 65_534 }

  around do |example|
    skip "needs root (to plant a file owned by another user, as the attack does)" unless Process.euid.zero?
    Dir.mktmpdir("hanami_guard-setuid") do |tmp|
      @base = File.realpath(tmp)
      File.chmod(0o1777, @base) # an upload directory others can write to
      example.run
    end
  end

  def plant(name, owner:, mode:, content: "#!/bin/sh\necho planted\n")
    path = File.join(@base, name)
    File.write(path, content)
    File.chown(owner, owner, path)
    File.chmod(mode, path) # after chown: chown clears setuid/setgid
    path
  end

  def mode_of(path)
    File.stat(path).mode & 0o7777
  end

  %i[auto walk].each do |resolver|
    context "with resolver: #{resolver.inspect}" do
      let(:root) { HanamiGuard::Root.new(@base, resolver:) }

      it "refuses to replace another user's setuid file and leaves it as it was" do
        path = plant("avatar.png", owner: attacker, mode: 0o6755)
        expect { root.write("avatar.png", "REQUEST BYTES") }
          .to raise_error(HanamiGuard::PathError) { |e|
            expect([e.class, e.check, e.details[:path]]).to eq([HanamiGuard::PathError, :foreign_owner, "avatar.png"])
            expect(e.message).to include("replace_foreign: true") # says what to do
          }
        stat = File.stat(path)
        expect([stat.uid, mode_of(path), File.read(path)]).to eq([attacker, 0o6755, "#!/bin/sh\necho planted\n"])
        expect(Dir.children(@base)).to eq(["avatar.png"]) # no temporary file left
      end

      it "replaces it when told to, as a file of the writer's without setuid, setgid or sticky bits" do
        path = plant("avatar.png", owner: attacker, mode: 0o7755)
        root.write("avatar.png", "REQUEST BYTES", replace_foreign: true)
        stat = File.stat(path)
        expect([stat.uid, stat.gid]).to eq([0, 0])
        expect(mode_of(path)).to eq(0o755)
        expect(File.read(path)).to eq("REQUEST BYTES")
      end

      it "keeps the special bits of the writer's own file (the owner does not change)" do
        path = plant("tool", owner: 0, mode: 0o4750)
        root.write("tool", "new build")
        expect([File.stat(path).uid, mode_of(path), File.read(path)]).to eq([0, 0o4750, "new build"])
      end

      it "drops them when the old file's group differs from the new file's" do
        path = plant("tool", owner: 0, mode: 0o2755)
        File.chown(0, attacker, path)
        File.chmod(0o2755, path)
        root.write("tool", "new build")
        expect([File.stat(path).gid, mode_of(path)]).to eq([0, 0o755])
      end

      it "drops them when the name is a second hard link to a setuid file of the writer's" do
        # The sibling: a hard link to a root-owned setuid program (where fs.protected_hardlinks
        # is off) has the writer as its owner; replacing it must not make a new setuid file.
        outside = File.join(@base, ".setuid-program")
        File.write(outside, "real program")
        File.chmod(0o4755, outside)
        File.link(outside, File.join(@base, "linked.png"))
        root.write("linked.png", "REQUEST BYTES")
        expect(mode_of(File.join(@base, "linked.png"))).to eq(0o755)
        expect([mode_of(outside), File.read(outside)]).to eq([0o4755, "real program"])
      end

      it "refuses to open for writing a hard link to the writer's setuid program, before truncating it" do
        program = File.join(@base, ".setuid-program")
        File.write(program, "real program")
        File.chmod(0o4755, program)
        File.link(program, File.join(@base, "upload.png"))
        %w[w a r+].each do |mode|
          expect { root.open("upload.png", mode) { |io| io.write("REQUEST BYTES") } }
            .to raise_error(HanamiGuard::PathError) { |e| expect(e.check).to eq(:setid_target) }, mode
        end
        expect([mode_of(program), File.read(program)]).to eq([0o4755, "real program"])
        expect(root.read("upload.png")).to eq("real program") # reading is still fine
      end

      it "refuses to open another user's setgid file for writing, and still opens the writer's own" do
        path = plant("shared.png", owner: attacker, mode: 0o2755)
        expect { root.open("shared.png", "w") }
          .to raise_error(HanamiGuard::PathError) { |e| expect(e.check).to eq(:setid_target) }
        expect(File.read(path)).to eq("#!/bin/sh\necho planted\n")
        own = plant("own", owner: 0, mode: 0o4700)
        root.open("own", "w") { |io| io.write("rebuilt") }
        expect([mode_of(own), File.read(own)]).to eq([0o4700, "rebuilt"])
      end

      it "checks replace_foreign:" do
        expect { root.write("x", "y", replace_foreign: "yes") }.to raise_error(ArgumentError, /replace_foreign/)
      end
    end
  end
end
