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

      # Landlock's ptrace rule covers attaching; a read-mode access such as opening
      # /proc/$PPID/environ is not refused by it on every kernel (6.18 allows it), so the reads are
      # kept out by fs: rules, which never need to list /proc.
      it "cannot read the app's environment from /proc/$PPID/environ when fs: rules are given" do
        skip "no Landlock on this kernel" if landlock_abi.zero?

        result = HanamiGuard::Command.new("cat {file}", fs: { read: [@dir] }, **opts)
                                     .run(file: "/proc/#{Process.pid}/environ")
        expect(result.sandbox[:filesystem_restricted]).to be(true)
        expect(result).not_to be_success
        expect(result.stdout).to be_empty
        expect(result.stderr).to match(/Permission denied/)
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
        expect(result.sandbox).to include(landlock: :disabled, ptrace_scoped: false, signals_scoped: false,
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
