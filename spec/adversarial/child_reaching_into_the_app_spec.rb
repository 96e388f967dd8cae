# frozen_string_literal: true

require "rbconfig"
require "socket"
require "tmpdir"

# A child running as the app's user reaching back into the app: reading its environment
# (SECRET_KEY_BASE, DATABASE_URL) from /proc/$PPID/environ, attaching to it with ptrace, signalling
# it, or connecting to what it listens on (a TCP port on 127.0.0.1, an abstract UNIX socket). Where
# the kernel has Landlock, every child runs in a domain of its own, with or without fs: rules:
# ptrace attach is refused (every ABI), TCP is denied unless net: allows the port (ABI 4), and
# signals and abstract UNIX sockets are scoped to the domain (ABI 6). HANAMI_GUARD_LANDLOCK=off forces the
# fallback a kernel without Landlock gets: the command still runs and its report says so.
# :slow only keeps these out of the GC.stress pass.
RSpec.describe "a HanamiGuard::Command child reaching into the app", :slow do
  around do |example|
    Dir.mktmpdir do |dir|
      @dir = dir
      example.run
    end
  end

  # A Ruby script run as a file (an inline -e would be refused): prints what it managed to do.
  def probe(script)
    path = File.join(@dir, "probe.rb")
    File.write(path, script)
    path
  end

  def tcp_probe
    probe(<<~RUBY)
      require "socket"
      begin
        TCPSocket.new("127.0.0.1", Integer(ARGV[0])).close
        print "connected"
      rescue SystemCallError => e
        print "refused: \#{e.class}"
      end
    RUBY
  end

  def unix_probe
    probe(<<~RUBY)
      require "socket"
      begin
        UNIXSocket.new("\\0" + ARGV[0]).close
        print "connected"
      rescue SystemCallError => e
        print "refused: \#{e.class}"
      end
    RUBY
  end

  # Whether this process may open `path` for writing (the control: as root outside a container
  # it may, so a refusal in the child is the domain's doing).
  def writable?(path)
    File.open(path, "w") { true }
  rescue SystemCallError
    false
  end

  def landlock_abi
    HanamiGuard::Command.new("true").run.sandbox[:landlock_abi]
  end

  paths = { "posix_spawn" => {}, "fork (rlimits:)" => { rlimits: { nofile: 256 } } }

  paths.each do |path, opts|
    context "on the #{path} path" do
      it "cannot ptrace the app" do
        skip "no Landlock on this kernel" if landlock_abi.zero?
        strace = %w[/usr/bin/strace /bin/strace].find { |p| File.executable?(p) }
        skip "strace is not installed" unless strace

        result = HanamiGuard::Command.new("strace -o /dev/null -p {pid}", timeout: 5, kill_grace: 1, **opts)
                                     .run(pid: Process.pid.to_s)
        expect(result.sandbox[:ptrace_scoped]).to be(true)
        expect(result).not_to be_timed_out
        expect(result.stderr).to match(/PTRACE_SEIZE.*Operation not permitted/)
      end

      # Landlock's ptrace rule covers attaching and /proc/$PPID/mem and fd/N, but some kernels (6.18)
      # still let a process in a domain open /proc/$PPID/environ: the default domain grants no file
      # under a numbered /proc directory, and fs: rules never need to list /proc.
      [{}, { fs: { read: [:dir] } }].each do |fs|
        it "cannot read the app's environment from /proc/$PPID/environ (#{fs.empty? ? "no fs:" : "fs: rules"})" do
          skip "no Landlock on this kernel" if landlock_abi.zero?

          extra = fs.empty? ? {} : { fs: { read: [@dir] } }
          result = HanamiGuard::Command.new("cat {file}", **extra, **opts)
                                       .run(file: "/proc/#{Process.pid}/environ")
          expect(result.sandbox[:proc_scoped]).to be(true)
          expect(result).not_to be_success
          expect(result.stdout).to be_empty
          expect(result.stderr).to match(/Permission denied/)
        end
      end

      it "cannot open a descriptor the app holds through /proc/$PPID/fd/N" do
        skip "no Landlock on this kernel" if landlock_abi.zero?

        File.write(File.join(@dir, "secret"), "s3cret")
        File.open(File.join(@dir, "secret")) do |held|
          result = HanamiGuard::Command.new("cat {file}", **opts).run(file: "/proc/#{Process.pid}/fd/#{held.fileno}")
          expect(result).not_to be_success
          expect(result.stdout).not_to include("s3cret")
        end
      end

      it "still reaches its own standard streams and the rest of the filesystem" do
        skip "no Landlock on this kernel" if landlock_abi.zero?

        File.write(File.join(@dir, "plain.txt"), "plain")
        result = HanamiGuard::Command.new("cat /dev/stdin {file} /proc/cpuinfo", **opts)
                                     .run(stdin: "in-", file: File.join(@dir, "plain.txt"))
        expect(result).to be_success
        expect(result.stdout).to start_with("in-plain")
        expect(result.stdout).to include("processor")
      end

      # The writes behind the classic container escapes (kernel.core_pattern, a cgroup's
      # release_agent): a child writing a kernel tunable. It writes back the value already there, so
      # the probe changes nothing even where it would succeed.
      {
        "/proc/sys/kernel/core_pattern" => ->(text) { text },
        "/sys/kernel/mm/transparent_hugepage/enabled" => ->(text) { text[/\[(\w+)\]/, 1] }
      }.each do |tunable, current|
        it "cannot write #{tunable}" do
          skip "no Landlock on this kernel" if landlock_abi.zero?
          skip "#{tunable} is missing or not writable here" unless File.exist?(tunable) && writable?(tunable)

          value = current.call(File.read(tunable))
          result = HanamiGuard::Command.new("tee {file}", **opts).run(file: tunable, stdin: value)
          expect(result).not_to be_success
          expect(result.stderr).to match(/Permission denied/)
        end
      end

      it "cannot make a device node" do
        skip "no Landlock on this kernel" if landlock_abi.zero?
        mknod = %w[/usr/bin/mknod /bin/mknod].find { |p| File.executable?(p) }
        skip "mknod is not installed" unless mknod

        node = File.join(@dir, "kmsg")
        result = HanamiGuard::Command.new("mknod {node} c 1 11", **opts).run(node:)
        expect(result).not_to be_success
        expect(File.exist?(node)).to be(false)
      end

      it "cannot signal the app" do
        skip "no Landlock ABI 6 on this kernel" if landlock_abi < 6

        received = false
        flushed = false
        old = trap("USR2") { received = true }
        old_winch = trap("WINCH") { flushed = true }
        result = HanamiGuard::Command.new("kill -USR2 {pid}", **opts).run(pid: Process.pid.to_s)
        # A child's USR2 would be pending by the time #run returns. Linux delivers the lower-numbered
        # of two pending signals first and Ruby runs traps in signal order, so once the trap of a
        # WINCH sent now has run, a USR2 from the child would have run its trap before it.
        Process.kill("WINCH", Process.pid)
        wait_for("the WINCH trap ran") { flushed }
        expect(result.sandbox[:signals_scoped]).to be(true)
        expect(result).not_to be_success
        expect(received).to be(false)
      ensure
        trap("USR2", old || "DEFAULT")
        trap("WINCH", old_winch || "DEFAULT")
      end

      it "cannot connect to a TCP listener of the app on 127.0.0.1, unless net: allows the port" do
        skip "no Landlock ABI 4 on this kernel" if landlock_abi < 4

        server = TCPServer.new("127.0.0.1", 0)
        port = server.addr[1]
        result = HanamiGuard::Command.new("#{RbConfig.ruby} {probe} {port}", **opts)
                                     .run(probe: tcp_probe, port: port.to_s)
        expect(result.sandbox[:tcp]).to eq(:denied)
        expect(result.stdout).to start_with("refused")
        allowed = HanamiGuard::Command.new("#{RbConfig.ruby} {probe} {port}", net: { connect: [port] }, **opts)
                                      .run(probe: tcp_probe, port: port.to_s)
        expect(allowed.sandbox[:tcp]).to eq(:ports)
        expect(allowed.stdout).to eq("connected")
      ensure
        server&.close
      end

      it "cannot connect to an abstract UNIX socket of the app" do
        skip "no Landlock ABI 6 on this kernel" if landlock_abi < 6

        name = "hanami-guard-spec-#{Process.pid}-#{rand(1 << 30)}"
        server = UNIXServer.new("\0#{name}")
        result = HanamiGuard::Command.new("#{RbConfig.ruby} {probe} {name}", **opts)
                                     .run(probe: unix_probe, name:)
        expect(result.sandbox[:abstract_unix_sockets_scoped]).to be(true)
        expect(result.stdout).to start_with("refused")
      ensure
        server&.close
      end

      it "still runs without Landlock (HANAMI_GUARD_LANDLOCK=off) and says so" do
        ENV["HANAMI_GUARD_LANDLOCK"] = "off"
        cmd = HanamiGuard::Command.new("cat {file}", fs: { read: [@dir] }, **opts)
        ENV.delete("HANAMI_GUARD_LANDLOCK")
        result = cmd.run(file: "/proc/#{Process.pid}/environ")
        expect(result.sandbox).to include(landlock: :disabled, ptrace_scoped: false, proc_scoped: false,
                                          signals_scoped: false,
                                          abstract_unix_sockets_scoped: false, tcp: :unrestricted,
                                          filesystem_restricted: false)
        # The probe works: without a domain the child does read the app's environment.
        expect(result).to be_success
        expect(result.stdout).to include("PATH=")
      ensure
        ENV.delete("HANAMI_GUARD_LANDLOCK")
      end
    end
  end
end
