# frozen_string_literal: true

require "spec_helper"
require "fileutils"
require "pathname"
require "stringio"

RSpec.describe HanamiGuard::Root do
  # tmp/
  #   secret.txt            the canary: never readable through the root
  #   base_evil/secret.txt  a sibling sharing the base's name as a prefix
  #   base/                 the root
  def build_tree(tmp)
    tmp = File.realpath(tmp)
    base = File.join(tmp, "base")
    FileUtils.mkdir_p(File.join(base, "dir/sub"))
    FileUtils.mkdir_p(File.join(base, "mk"))
    FileUtils.mkdir_p(File.join(tmp, "base_evil"))
    File.write(File.join(tmp, "secret.txt"), "CANARY")
    File.write(File.join(tmp, "base_evil/secret.txt"), "CANARY")
    File.write(File.join(base, "a.txt"), "A")
    File.write(File.join(base, "dir/b.txt"), "B")
    File.write(File.join(base, "dir/sub/c.txt"), "C")
    {
      "link_in" => "a.txt", "dir_link" => "dir", "chain1" => "dir/../chain2", "chain2" => "a.txt",
      "dir/back" => "../a.txt", "dir/sub/deep_back" => "../../dir_link/b.txt",
      "up_and_back" => "../base/a.txt", "out_rel" => "../secret.txt", "dir/out_rel" => "../../secret.txt",
      "out_abs" => File.join(tmp, "secret.txt"), "abs_inside" => File.join(base, "a.txt"),
      "loop1" => "loop2", "loop2" => "loop1", "self_loop" => "self_loop", "dangling" => "nowhere.txt",
      "proc_root" => "/proc/self/root", "evil_link" => "../base_evil", "mk_link" => "mk"
    }.each { |name, target| File.symlink(target, File.join(base, name)) }
    base
  end

  # One tree for the whole file, built in a context hook: outside the per-example GC.stress
  # pass (spec_helper), which would otherwise spend minutes per example building it. Examples
  # that write use names of their own and leave what others read unchanged.
  before(:context) do
    @shared_tmp = Dir.mktmpdir("hanami_guard-root")
    @base = build_tree(@shared_tmp)
    @tmp = File.dirname(@base)
  end

  after(:context) { FileUtils.remove_entry(@shared_tmp) }

  let(:base) { @base }
  let(:tmp) { @tmp }

  def open_fds
    Dir.children("/proc/self/fd").size
  end

  describe ".new" do
    it "opens a directory and reports its canonical path" do
      Dir.mktmpdir do |elsewhere|
        File.symlink(base, File.join(elsewhere, "alias"))
        expect(described_class.new(File.join(elsewhere, "alias", "dir", "..")).path).to eq(base)
      end
      expect(described_class.new(Pathname.new(base)).path).to eq(base)
    end

    it "is frozen and shareable" do
      expect(described_class.new(base)).to be_frozen
    end

    it "raises ConfigurationError for a missing base or a file" do
      expect { described_class.new(File.join(tmp, "missing")) }
        .to raise_error(HanamiGuard::ConfigurationError, /does not exist/)
      expect { described_class.new(File.join(base, "a.txt")) }
        .to raise_error(HanamiGuard::ConfigurationError, /not a directory/)
      expect { described_class.new("") }.to raise_error(HanamiGuard::ConfigurationError, /empty/)
      expect { described_class.new("a\0b") }.to raise_error(HanamiGuard::ConfigurationError, /NUL/)
    end

    it "checks its arguments" do
      expect { described_class.new(42) }.to raise_error(TypeError, /String or Pathname/)
      expect { described_class.new(base, symlinks: :follow) }
        .to raise_error(ArgumentError, /symlinks: `follow` is not known: use one of confined, deny/)
      expect { described_class.new(base, resolver: :magic) }
        .to raise_error(ArgumentError, /resolver: `magic` is not known: use one of auto, kernel, walk/)
      expect { described_class.new(base, symlinks: "deny") }.to raise_error(ArgumentError, /symlinks:/)
      expect { described_class.new(base, xdev: "no") }.to raise_error(ArgumentError, /xdev/)
    end

    it "reports its options" do
      root = described_class.new(base, symlinks: :deny, resolver: :walk, xdev: false)
      expect([root.symlinks, root.resolver, root.xdev?]).to eq([:deny, :walk, false])
      expect(root.inspect).to include(base, "deny")
    end

    it "never lets a child process inherit the base descriptor" do
      root = described_class.new(base)
      root.read("a.txt")
      listing = IO.popen(["ls", "-l", "/proc/self/fd/"], &:read)
      expect(listing).not_to include(base)
      # Sanity: a descriptor without close-on-exec does show up in the same listing.
      leaky = IO.for_fd(IO.sysopen(base), autoclose: true)
      leaky.close_on_exec = false
      begin
        expect(IO.popen(["ls", "-l", "/proc/self/fd/"], close_others: false, &:read)).to include(base)
      ensure
        leaky.close
      end
    end
  end

  describe "#close and garbage collection" do
    it "releases the descriptor on close; later calls raise IOError" do
      GC.start # garbage holding descriptors is closed now, not during the count
      before = open_fds
      root = described_class.new(base)
      expect(open_fds).to eq(before + 1)
      root.close
      expect(root).to be_closed
      expect(open_fds).to eq(before)
      expect { root.read("a.txt") }.to raise_error(IOError, /closed/)
      expect(root.inspect).to include("closed")
    end

    it "releases the descriptor when the Root is garbage collected" do
      GC.start
      before = open_fds
      50.times { described_class.new(base) }
      GC.start
      GC.start
      expect(open_fds).to be <= before + 2
    end
  end

  # The same table runs against the kernel resolver (openat2) and the forced fallback walker.
  %i[auto walk].each do |resolver|
    context "with resolver: #{resolver.inspect}" do
      let(:root) { described_class.new(base, resolver:) }

      it "reads inside the root, following symlinks that stay inside" do
        {
          "a.txt" => "A", "dir/b.txt" => "B", "dir/../a.txt" => "A", "./dir/./b.txt" => "B",
          "dir//sub///c.txt" => "C", "link_in" => "A", "dir_link/b.txt" => "B", "dir_link/sub/../b.txt" => "B",
          "chain1" => "A", "dir/back" => "A", "dir/sub/deep_back" => "B", "#{"./" * 1000}a.txt" => "A"
        }.each do |input, content|
          expect(root.read(input)).to eq(content), input[0, 40]
        end
      end

      it "refuses every escape with PathEscapeError, naming the rule and the path" do
        {
          "../secret.txt" => :dotdot, "dir/../../secret.txt" => :dotdot,
          "../base_evil/secret.txt" => :dotdot, # a sibling sharing the prefix
          "../base/a.txt" => :dotdot, # a .. that comes back (refused, not clamped)
          "out_rel" => :symlink_escape, "dir/out_rel" => :symlink_escape,
          "out_abs" => :symlink_absolute, "abs_inside" => :symlink_absolute, # always refused
          "up_and_back" => :symlink_escape, # leaving and coming back
          "proc_root/etc/hostname" => :symlink_absolute, # a symlink to /proc/self/root
          "evil_link/secret.txt" => :symlink_escape, # to the prefix sibling
          ".." => :dotdot
        }.each do |input, check|
          expect { root.read(input) }.to raise_error(HanamiGuard::PathEscapeError) { |e|
            expect([e.kind, e.check, e.path]).to eq([:path_escape, check, input]), input
            expect(e.details).to be_frozen
          }
        end
      end

      it "says what to do when it refuses an escape" do
        expect { root.read("../secret.txt") }
          .to raise_error(HanamiGuard::PathEscapeError, /would leave the root: .*refuse the request/)
      end

      it "refuses malformed input with PathError (not an escape), naming the rule" do
        {
          "/etc/passwd" => :absolute, "a\0b" => :nul, "" => :empty, "..\\secret.txt" => :backslash,
          "C:/x" => :drive_letter, "c:secret.txt" => :drive_letter, "\xff.txt".b => :not_utf8,
          "a/" * 2100 => :too_long
        }.each do |input, check|
          expect { root.read(input) }.to raise_error(HanamiGuard::PathError) { |e|
            expect(e).not_to be_a(HanamiGuard::PathEscapeError)
            expect([e.kind, e.check]).to eq([:path, check]), input[0, 40].inspect
          }
        end
        expect { root.read("a\0b") }.to raise_error(HanamiGuard::PathError) { |e| expect(e.path).to eq("a\\u{0}b") }
      end

      it "raises the Errno Ruby's File raises" do
        expect { root.read("missing.txt") }.to raise_error(Errno::ENOENT, /missing\.txt/)
        expect { root.read("dangling") }.to raise_error(Errno::ENOENT)
        expect { root.read("a.txt/x") }.to raise_error(Errno::ENOTDIR)
        expect { root.read("dir") }.to raise_error(Errno::EISDIR)
        expect { root.read("loop1") }.to raise_error(Errno::ELOOP)
        expect { root.read("self_loop") }.to raise_error(Errno::ELOOP)
        expect { root.read("#{"x" * 300}.txt") }.to raise_error(Errno::ENAMETOOLONG)
      end

      it "refuses a magic link even when /proc is the base" do
        proc_root = described_class.new("/proc/self", resolver:)
        %w[root/etc/hostname cwd fd/0 exe].each do |magic|
          expect { proc_root.read(magic) }.to raise_error(HanamiGuard::PathEscapeError) { |e|
            expect(e.check).to eq(:magic_link)
          }
        end
      end

      it "refuses every symlink with symlinks: :deny" do
        strict = described_class.new(base, symlinks: :deny, resolver:)
        expect(strict.read("dir/b.txt")).to eq("B")
        %w[link_in dir_link/b.txt dir/back].each do |input|
          expect { strict.read(input) }.to raise_error(HanamiGuard::PathEscapeError) { |e|
            expect(e.check).to eq(:symlink_denied)
          }
        end
      end

      it "refuses a mount crossing with xdev: false" do
        slash = described_class.new("/", resolver:, xdev: false)
        expect { slash.read("proc/version") }.to raise_error(HanamiGuard::PathEscapeError) { |e|
          expect(e.check).to eq(:mount_crossing)
        }
        expect(described_class.new("/", resolver:).read("proc/version")).to start_with("Linux")
      end
    end
  end

  describe "#read" do
    let(:root) { described_class.new(base) }

    it "returns a binary String and accepts a Pathname" do
      data = root.read(Pathname.new("dir/b.txt"))
      expect(data).to eq("B")
      expect(data.encoding).to eq(Encoding::BINARY)
    end

    it "refuses a file larger than max_bytes before reading it" do
      File.write(File.join(base, "big.txt"), "x" * 100)
      expect(root.read("big.txt", max_bytes: 100).bytesize).to eq(100)
      expect { root.read("big.txt", max_bytes: 99) }.to raise_error(Errno::EFBIG, /max_bytes: 99/)
      expect { root.read("big.txt", max_bytes: -1) }.to raise_error(ArgumentError)
    end

    it "reads a large file (without the GVL) intact" do
      data = Random.new(7).bytes(300_000)
      File.binwrite(File.join(base, "large.bin"), data)
      expect(root.read("large.bin")).to eq(data)
    end

    it "refuses a FIFO at once instead of hanging" do
      File.mkfifo(File.join(base, "fifo"))
      expect { root.read("fifo") }.to raise_error(HanamiGuard::PathError) { |e|
        expect([e.check, e.path]).to eq([:not_regular, "fifo"])
      }
    end

    it "raises PathError for a path that is not a String (a missing or non-scalar parameter)" do
      expect { root.read(:a) }.to raise_error(HanamiGuard::PathError, /String or Pathname, got Symbol\z/) { |e|
        expect(e.check).to eq(:not_string)
      }
      expect { root.read(nil) }.to raise_error(HanamiGuard::PathError, /got NilClass \(a missing/)
      expect { root.read(["x"]) }.to raise_error(HanamiGuard::PathError, /got Array/)
      expect { root.read({ "a" => "b" }) }.to raise_error(HanamiGuard::PathError, /got Hash/)
    end
  end

  describe "#open" do
    let(:root) { described_class.new(base) }

    it "yields a real File that IO.copy_stream can use, then closes it" do
      out = StringIO.new
      kept = nil
      root.open("dir/b.txt") do |io|
        kept = io
        expect(io).to be_a(File)
        expect(io.close_on_exec?).to be(true)
        expect(io.path).to eq(File.join(base, "dir/b.txt"))
        expect(io.to_path).to eq(io.path)
        IO.copy_stream(io, out)
      end
      expect(out.string).to eq("B")
      expect(kept).to be_closed
    end

    it "returns the File without a block" do
      io = root.open("link_in", "rb")
      expect(io.read).to eq("A")
    ensure
      io&.close
    end

    it "creates, appends and truncates inside the root" do
      root.open("new.txt", "w") { |io| io.write("one") }
      root.open("new.txt", "a") { |io| io.write("two") }
      expect(File.read(File.join(base, "new.txt"))).to eq("onetwo")
      expect { root.open("new.txt", "wx") }.to raise_error(Errno::EEXIST)
      root.open("fresh.txt", "wx", 0o600) { |io| io.write("x") }
      expect(File.stat(File.join(base, "fresh.txt")).mode & 0o777).to eq(0o600)
    end

    it "refuses escapes and directories like #read" do
      expect { root.open("out_rel", "w") }.to raise_error(HanamiGuard::PathEscapeError)
      expect(File.read(File.join(tmp, "secret.txt"))).to eq("CANARY")
      expect { root.open("dir") }.to raise_error(Errno::EISDIR)
    end

    it "checks the mode" do
      expect { root.open("a.txt", "q") }.to raise_error(ArgumentError, /invalid access mode/)
      expect { root.open("a.txt", :r) }.to raise_error(TypeError)
    end

    it "leaks no descriptor when opening fails or the block raises" do
      root.read("a.txt")
      # Garbage from earlier examples (Roots, Files, sockets) is closed now, not during the
      # count; a descriptor closed meanwhile by something else only lowers the count, while
      # the 60 failed or abandoned opens below would each raise it if they leaked.
      GC.start
      before = open_fds
      20.times do
        expect { root.open("missing") }.to raise_error(Errno::ENOENT)
        expect { root.open("out_abs") }.to raise_error(HanamiGuard::PathEscapeError)
        expect { root.open("a.txt") { raise "boom" } }.to raise_error(RuntimeError, "boom")
      end
      expect(open_fds).to be <= before
    end
  end

  describe "#write" do
    let(:root) { described_class.new(base) }

    it "replaces a file atomically and leaves no temporary file" do
      File.write(File.join(base, "mk/replaced.txt"), "old")
      expect(root.write("mk_link/replaced.txt", "new content")).to eq(11)
      expect(File.read(File.join(base, "mk/replaced.txt"))).to eq("new content")
      expect(root.write("mk/created.bin", "\x00\xff".b)).to eq(2)
      expect(File.binread(File.join(base, "mk/created.bin"))).to eq("\x00\xff".b)
      expect(Dir.children(File.join(base, "mk")).grep(/\.tmp\z/)).to be_empty
    end

    it "keeps the mode of the file it replaces" do
      File.write(File.join(base, "mode.txt"), "M")
      File.chmod(0o600, File.join(base, "mode.txt"))
      root.write("mode.txt", "M2")
      expect(File.stat(File.join(base, "mode.txt")).mode & 0o777).to eq(0o600)
    end

    it "refuses to write through a final symlink and leaves it and its target unchanged" do
      %w[out_rel out_abs link_in dangling].each do |link|
        expect { root.write(link, "PWNED") }.to raise_error(HanamiGuard::PathEscapeError) { |e|
          expect(e.check).to eq(:symlink_write)
        }
        expect(File.symlink?(File.join(base, link))).to be(true)
      end
      expect(File.read(File.join(tmp, "secret.txt"))).to eq("CANARY")
      expect(File.read(File.join(base, "a.txt"))).to eq("A")
      expect(File.exist?(File.join(base, "nowhere.txt"))).to be(false)
    end

    it "never creates anything outside" do
      expect { root.write("../outside.txt", "x") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.write("evil_link/new.txt", "x") }.to raise_error(HanamiGuard::PathEscapeError)
      expect(Dir.children(tmp).sort).to eq(%w[base base_evil secret.txt])
      expect(Dir.children(File.join(tmp, "base_evil"))).to eq(["secret.txt"])
    end

    it "raises like File.write for a missing parent or a directory" do
      expect { root.write("nodir/x.txt", "x") }.to raise_error(Errno::ENOENT)
      expect { root.write("dir", "x") }.to raise_error(Errno::EISDIR)
      expect { root.write("dir/", "x") }.to raise_error(Errno::EISDIR)
      expect { root.write("a.txt", 42) }.to raise_error(TypeError)
    end
  end

  describe "#write modes" do
    let(:root) { described_class.new(base) }

    it "gives a new file perm less the umask, and a replaced one its own bits" do
      old_umask = File.umask(0o027)
      begin
        root.write("mk/perm_new.txt", "x", perm: 0o666)
      ensure
        File.umask(old_umask)
      end
      expect(File.stat(File.join(base, "mk/perm_new.txt")).mode & 0o7777).to eq(0o640)
      File.chmod(0o604, File.join(base, "mk/perm_new.txt"))
      root.write("mk/perm_new.txt", "y", perm: 0o600)
      expect(File.stat(File.join(base, "mk/perm_new.txt")).mode & 0o7777).to eq(0o604)
    end
  end

  describe "#store" do
    let(:root) { described_class.new(base).subroot("mk") }

    def digest(data)
      OpenSSL::Digest.hexdigest("SHA256", data)
    end

    it "names the file by the SHA-256 of its content, keeping only an allowlisted extension" do
      expect(root.store("png bytes", extension: ".PNG")).to eq("#{digest("png bytes")}.png")
      expect(root.store("png bytes", extension: :png)).to eq("#{digest("png bytes")}.png")
      expect(root.store("php bytes", extension: ".php")).to eq(digest("php bytes"))
      expect(root.store("php bytes", extension: "php", extensions: %w[php])).to eq("#{digest("php bytes")}.php")
      expect(root.store("odd", extension: "p/ng")).to eq(digest("odd"))
      expect(root.store("none")).to eq(digest("none"))
      expect(File.read(File.join(base, "mk", digest("none")))).to eq("none")
    end

    it "reads an IO whole, from where it stands" do
      io = StringIO.new("skip:kept")
      io.read(5)
      name = root.store(io, extension: "txt")
      expect(name).to eq("#{digest("kept")}.txt")
      File.open(File.join(base, "a.txt")) { |f| expect(root.store(f)).to eq(digest("A")) }
    end

    it "creates the file with perm less the umask, never with special bits" do
      name = root.store("perm bytes", perm: 0o4640)
      expect(File.stat(File.join(base, "mk", name)).mode & 0o7777).to eq(0o640 & ~File.umask)
    end

    it "checks its arguments" do
      expect { root.store(42) }.to raise_error(TypeError, /String or an IO/)
      expect { root.store("x", extension: 1) }.to raise_error(TypeError, /extension:/)
      expect { root.store("x", extensions: "png") }.to raise_error(TypeError, /extensions:/)
      expect { root.store("x", perm: "644") }.to raise_error(TypeError, /perm:/)
    end
  end

  describe "#entries with names the other methods refuse" do
    it "returns names a caller can use: UTF-8 where they are, binary where they are not" do
      Dir.mktmpdir do |dir|
        names = ["ok.txt", "caf\u00e9.txt", "back\\slash.txt", "c:drive.txt", "\xff\xfe.txt".b]
        names.each { |n| File.write(File.join(dir, n), n) }
        listed = described_class.new(dir).entries
        expect(listed).to match_array(names)
        binary, text = listed.partition { |n| n.encoding == Encoding::BINARY }
        expect(binary).to eq(["\xff\xfe.txt".b])
        expect(text.map(&:encoding).uniq).to eq([Encoding::UTF_8])
        expect(listed.all?(&:valid_encoding?)).to be(true)
        expect(listed.grep(/\.txt\z/).size).to eq(5) # raised ArgumentError on the invalid name before
        root = described_class.new(dir)
        expect(root.read("caf\u00e9.txt")).to eq("caf\u00e9.txt".b)
        ["back\\slash.txt", "c:drive.txt", "\xff\xfe.txt".b].each do |refused|
          expect { root.read(refused) }.to raise_error(HanamiGuard::PathError) { |e|
            expect(e).not_to be_a(HanamiGuard::PathEscapeError)
          }
        end
      end
    end
  end

  describe "#mkdir_p" do
    let(:root) { described_class.new(base) }

    it "creates missing directories and accepts existing ones" do
      root.mkdir_p("uploads/2026/11")
      root.mkdir_p("uploads/2026")
      expect(File.directory?(File.join(base, "uploads/2026/11"))).to be(true)
      root.mkdir_p("mk_link/made")
      expect(File.directory?(File.join(base, "mk/made"))).to be(true)
    end

    it "never creates outside, through .. or symlinks" do
      expect { root.mkdir_p("../escape") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.mkdir_p("evil_link/made") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.mkdir_p("dangling/made") }.to raise_error(Errno::ENOENT)
      expect { root.mkdir_p("a.txt/x") }.to raise_error(Errno::ENOTDIR)
      expect(Dir.children(tmp).sort).to eq(%w[base base_evil secret.txt])
      expect(File.exist?(File.join(base, "nowhere.txt"))).to be(false)
    end
  end

  describe "#exist?, #file?, #directory?, #stat, #entries" do
    let(:root) { described_class.new(base) }

    it "answers like File, following symlinks that stay inside" do
      expect([root.exist?("a.txt"), root.file?("link_in"), root.directory?("dir_link")]).to eq([true, true, true])
      expect([root.exist?("missing"), root.exist?("dangling"), root.exist?("loop1")]).to eq([false, false, false])
      expect([root.file?("dir"), root.directory?("a.txt"), root.exist?("a.txt/x")]).to eq([false, false, false])
    end

    it "still raises for escapes: a probe is no way around the root" do
      expect { root.exist?("../secret.txt") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.file?("out_abs") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.exist?("a\0") }.to raise_error(HanamiGuard::PathError)
    end

    it "returns a File::Stat" do
      stat = root.stat("link_in")
      expect(stat).to be_a(File::Stat)
      expect(stat.size).to eq(1)
      expect(stat.ino).to eq(File.stat(File.join(base, "a.txt")).ino)
      expect(root.stat("dir")).to be_directory
      expect { root.stat("missing") }.to raise_error(Errno::ENOENT)
      expect { root.stat("out_rel") }.to raise_error(HanamiGuard::PathEscapeError)
    end

    it "lists a directory, sorted, without . and .." do
      expect(root.entries("dir")).to eq(%w[b.txt back out_rel sub])
      expect(root.entries).to include("a.txt", "dir", "link_in")
      expect(root.entries("dir_link/sub")).to eq(%w[c.txt deep_back])
      expect { root.entries("a.txt") }.to raise_error(Errno::ENOTDIR)
      expect { root.entries("evil_link") }.to raise_error(HanamiGuard::PathEscapeError)
    end
  end

  describe "#resolve" do
    %i[auto walk].each do |resolver|
      it "gives the canonical path inside the root (resolver: #{resolver})" do
        root = described_class.new(base, resolver:)
        expect(root.resolve("dir/../dir_link/b.txt")).to eq(File.join(base, "dir/b.txt"))
        expect(root.resolve("chain1")).to eq(File.join(base, "a.txt"))
        expect(root.resolve("dir/not_yet.txt")).to eq(File.join(base, "dir/not_yet.txt"))
        expect(root.resolve(".")).to eq(base)
        expect { root.resolve("nodir/x") }.to raise_error(Errno::ENOENT)
        expect { root.resolve("out_rel") }.to raise_error(HanamiGuard::PathEscapeError)
        expect { root.resolve("../base/a.txt") }.to raise_error(HanamiGuard::PathEscapeError)
      end
    end
  end

  describe "#subroot" do
    it "returns a Root for a subdirectory, itself confined" do
      root = described_class.new(base, resolver: :walk)
      sub = root.subroot("dir_link")
      expect(sub).to be_a(described_class).and be_frozen
      expect(sub.path).to eq(File.join(base, "dir"))
      expect(sub.resolver).to eq(:walk)
      expect(sub.read("sub/c.txt")).to eq("C")
      expect { sub.read("back") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { sub.read("../a.txt") }.to raise_error(HanamiGuard::PathEscapeError)
      expect { root.subroot("a.txt") }.to raise_error(Errno::ENOTDIR)
      expect { root.subroot("evil_link") }.to raise_error(HanamiGuard::PathEscapeError)
    end
  end

  describe "sharing between threads" do
    it "serves many threads at once from one frozen Root" do
      File.binwrite(File.join(base, "threads.bin"), "L" * 100_000)
      root = described_class.new(base)
      results = Array.new(8) do |i|
        Thread.new do
          Array.new(50) { i.even? ? root.read("dir_link/b.txt") : root.read("threads.bin").bytesize }.uniq
        end
      end.map(&:value)
      expect(results.uniq).to contain_exactly([100_000], ["B"])
    end

    # The Root is closed only once every reader has read through it, so each thread is mid-loop
    # when it closes; the readers go on until a read refuses (or the safety bound runs out).
    it "closes safely while other threads are reading: each read succeeds or raises IOError" do
      root = described_class.new(base)
      reading = Queue.new
      readers = Array.new(4) do
        Thread.new do
          seen = []
          deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + BlockedThreads::PATIENCE
          loop do
            break if Process.clock_gettime(Process::CLOCK_MONOTONIC) > deadline

            seen << root.read("a.txt")
            reading << true if seen.size == 1
          rescue IOError
            seen << :closed
            break
          end
          seen
        end
      end
      4.times { reading.pop }
      root.close
      readers.map(&:value).each do |seen|
        expect(seen.last).to eq(:closed)
        expect(seen[0...-1] - ["A"]).to be_empty
      end
    end
  end

  describe ".safe_name" do
    it "hashes the name and keeps only an allowlisted extension" do
      name = described_class.safe_name("../../etc/passwd.png")
      expect(name).to match(/\A\h{64}\.png\z/)
      expect(name).to start_with(OpenSSL::Digest.hexdigest("SHA256", "../../etc/passwd.png"))
      expect(described_class.safe_name("shell.php")).to match(/\A\h{64}\z/)
      expect(described_class.safe_name("x.PHP", extensions: %w[php])).to end_with(".php")
      expect(described_class.safe_name("x.png.php")).to match(/\A\h{64}\z/)
      expect(described_class.safe_name("a.png")).not_to eq(described_class.safe_name("b.png"))
    end

    it "checks its arguments" do
      expect { described_class.safe_name("") }.to raise_error(HanamiGuard::PathError)
      expect { described_class.safe_name(nil) }.to raise_error(TypeError)
      expect { described_class.safe_name("a.png", extensions: "png") }.to raise_error(TypeError)
    end
  end
end
