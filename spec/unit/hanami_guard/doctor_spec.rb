# frozen_string_literal: true

require "spec_helper"
require "json"
require "find"
require "open3"

RSpec.describe HanamiGuard::Doctor do
  include_context "a posture fixture tree"

  def run(situation, env: {}, **options)
    described_class.run(root: fixture(situation), env:, **options)
  end

  def found(report) = report.findings.to_h { |f| [f.id, f.severity] }

  # Each situation gives exactly these findings: nothing missing, nothing extra.
  expected = {
    docker_nonroot: { "no-new-privs" => :medium },
    hardened: {},
    docker_root: { "root-user" => :high, "no-new-privs" => :medium },
    privileged: { "capabilities" => :critical, "writable-proc-sys" => :critical, "cgroup-release-agent" => :critical,
                  "root-user" => :high, "seccomp" => :high, "writable-sysfs" => :high, "block-devices" => :high,
                  "no-new-privs" => :medium, "lsm" => :medium },
    docker_sock: { "runtime-socket" => :critical, "root-user" => :high, "no-new-privs" => :medium },
    kubernetes_host: { "runtime-socket" => :critical, "host-mount" => :critical, "seccomp" => :high,
                       "no-new-privs" => :medium, "service-account-token" => :medium },
    rootless_podman: { "no-new-privs" => :medium, "root-user" => :low },
    seccomp_filters_openat2: { "no-new-privs" => :medium, "openat2" => :medium, "landlock" => :medium }
  }

  expected.each do |situation, findings|
    it "finds exactly #{findings.empty? ? "nothing" : findings.keys.join(", ")} in #{situation}" do
      skip "mknod of the fixture's block devices needs root" if situation == :privileged && !Process.uid.zero?

      report = run(situation)
      expect(found(report)).to eq(findings)
      expect(report.findings.map(&:severity)).to eq(report.findings.map(&:severity).sort_by do |s|
        described_class::SEVERITIES.index(s)
      end)
      expect(report.not_checked).to be_empty
      report.findings.each do |f|
        expect(f.evidence).not_to be_empty
        expect(f.fix).to match(/docker|Kubernetes|compose|seccomp|Linux/)
        expect(f).to be_frozen
      end
    end
  end

  it "says which host directory and which socket it saw" do
    report = run(:kubernetes_host)
    mount = report.findings.find { |f| f.id == "host-mount" }
    expect(mount.evidence.join).to include("the host's root filesystem at /host")
    socket = report.findings.find { |f| f.id == "runtime-socket" }
    expect(socket.evidence).to eq(["/host/run/containerd/containerd.sock is a socket"])
    expect(report.findings.find { |f| f.id == "service-account-token" }.evidence.join).not_to include("eyJ")
  end

  it "reports the container's own /etc/hosts, hostname and resolv.conf bind mounts as nothing" do
    report = run(:docker_nonroot)
    expect(report.findings.map(&:id)).not_to include("host-mount", "root-on-host-mount")
  end

  it "names secrets in the environment by name, never by value" do
    env = { "DATABASE_URL" => "postgres://app:hunter2-s3cret@db/app", "STRIPE_SECRET_KEY" => "sk_live_abcdef",
            "HOME" => "/home/app", "GPG_KEY" => "A035C8C19219BA821ECEA86B64E628F8D684696D" }
    report = run(:hardened, env:)
    expect(found(report)).to eq("secret-env" => :low)
    expect(report.findings.first.evidence).to eq(["names (values not read): DATABASE_URL, STRIPE_SECRET_KEY"])
    [report.to_json, report.to_sarif, report.summary].each do |text|
      expect(text).not_to include("hunter2", "sk_live")
    end
  end

  it "flags a Root whose base lies on a directory mounted from the host" do
    data = "1030 1010 8:1 /srv/uploads /data rw,relatime - ext4 /dev/sda1 rw"
    PostureFixtures.write(@dir, status: PostureFixtures.status(uid: 1000, cap_eff: "0" * 16, cap_bnd: "0" * 16,
                                                               no_new_privs: 1),
                                mounts: PostureFixtures.docker_mounts([data]), label: "docker-default (enforce)\n")
    report = described_class.run(root: @dir, env: {}, roots: ["/data/public", "/app/public"])
    expect(found(report)).to eq("root-on-host-mount" => :low)
    expect(report.findings.first.evidence).to eq(
      ["Root /data/public lies on /data (ext4 /dev/sda1, host directory /srv/uploads)"]
    )
  end

  it "takes Root objects for roots:" do
    root = HanamiGuard::Root.new(@dir)
    mount = "1030 1010 8:1 /home/ci/work #{@dir} rw,relatime - ext4 /dev/sda1 rw"
    PostureFixtures.write(@dir, status: PostureFixtures.status(uid: 1000, cap_eff: "0" * 16, cap_bnd: "0" * 16,
                                                               no_new_privs: 1),
                                mounts: PostureFixtures.docker_mounts([mount]), label: "docker-default (enforce)\n")
    expect(described_class.run(root: @dir, env: {}, roots: [root]).findings.map(&:id)).to eq(["root-on-host-mount"])
  end

  it "lists the probes as not checked when a fixture has no answers for them" do
    fixture(:hardened)
    File.delete(File.join(@dir, "doctor-probes"))
    report = described_class.run(root: @dir, env: {})
    expect(report.findings).to be_empty
    expect(report.not_checked.keys).to eq(%w[openat2 landlock])
    expect(report.probes).to be_empty
  end

  describe "ok? and check!" do
    it "compares against fail_on" do
      report = run(:docker_root)
      expect(report.ok?(fail_on: :critical)).to be(true)
      expect(report.ok?(fail_on: :high)).to be(false)
      expect(report.ok?).to be(false)
      expect(report.at_or_above("medium").map(&:id)).to eq(%w[root-user no-new-privs])
    end

    it "refuses unknown severities with the list of valid ones" do
      report = run(:hardened)
      expect { report.ok?(fail_on: :severe) }
        .to raise_error(HanamiGuard::ConfigurationError, /critical, high, medium, low, info/)
      expect { report.ok?(fail_on: 3) }.to raise_error(HanamiGuard::ConfigurationError, /fail_on: wants a severity/)
      expect { described_class.check!(fail_on: "HIGH", root: @dir) }.to raise_error(HanamiGuard::ConfigurationError)
    end

    it "refuses to start at or above fail_on, naming the findings, and warns about the rest" do
      root = fixture(:docker_sock)
      out = StringIO.new
      expect { described_class.check!(fail_on: :critical, root:, env: {}, warn_to: out) }
        .to raise_error(HanamiGuard::DoctorError, /runtime-socket/) { |e| expect(e.report.findings.size).to eq(3) }
      expect(out.string.lines.map { |l| l[/: \w+ ([\w-]+):/, 1] }).to eq(%w[root-user no-new-privs])
    end

    it "only warns with fail_on: nil" do
      root = fixture(:docker_sock)
      out = StringIO.new
      expect(described_class.check!(fail_on: nil, root:, env: {}, warn_to: out).findings.size).to eq(3)
      expect(out.string.lines.size).to eq(3)
      expect(out.string).to include("critical runtime-socket")
    end

    it "returns the report when nothing is at or above fail_on" do
      root = fixture(:docker_nonroot)
      out = StringIO.new
      expect(described_class.check!(fail_on: :high, root:, env: {}, warn_to: out).findings.map(&:id))
        .to eq(["no-new-privs"])
      expect(out.string).to include("medium no-new-privs")
    end
  end

  describe "output" do
    it "to_h and to_json carry every field" do
      report = run(:seccomp_filters_openat2)
      data = JSON.parse(report.to_json)
      expect(data["findings"].map { |f| f.keys.sort }.uniq).to eq([%w[evidence fix id severity source title]])
      expect(data["probes"]).to eq("openat2" => "filtered: the call fails with EPERM",
                                   "landlock" => report.probes["landlock"])
      expect(data["probes"]["landlock"]).to start_with("ENOSYS")
    end

    it "to_sarif is SARIF 2.1.0 with a security-severity per rule" do
      report = run(:privileged) if Process.uid.zero?
      report ||= run(:docker_sock)
      sarif = JSON.parse(report.to_sarif)
      expect(sarif["version"]).to eq("2.1.0")
      run = sarif["runs"].first
      rules = run["tool"]["driver"]["rules"]
      expect(rules.map { |r| r["id"] }).to eq(report.findings.map(&:id).uniq)
      scores = rules.to_h { |r| [r["id"], r["properties"]["security-severity"]] }
      expect(scores["root-user"]).to eq("8.0")
      expect(run["results"].map { |r| r["level"] }).to include("error", "warning")
      expect(run["results"].first["locations"].first["physicalLocation"]["artifactLocation"]["uri"])
        .to eq("proc/self/status").or eq("proc/self/mountinfo")
    end

    it "gives every SARIF result a relative artifact URI, probes included" do
      results = JSON.parse(run(:seccomp_filters_openat2).to_sarif)["runs"][0]["results"]
      uris = results.map { |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] }
      expect(uris).to eq(["proc/self/status", "openat2(2)", "landlock_create_ruleset(2)"])
      expect(results.map { |r| r["partialFingerprints"]["hanamiGuardDoctor/v1"] })
        .to eq(%w[no-new-privs openat2 landlock])
    end
  end

  describe "bad input" do
    it "refuses a root that is not a directory, and arguments of the wrong type" do
      expect { described_class.run(root: File.join(@dir, "missing")) }
        .to raise_error(HanamiGuard::ConfigurationError, /laid out like/)
      expect { described_class.run(root: 42) }.to raise_error(HanamiGuard::ConfigurationError, /root:/)
      expect { described_class.run(root: @dir, env: "X") }.to raise_error(HanamiGuard::ConfigurationError, /env:/)
      expect { described_class.run(root: @dir, roots: [1]) }.to raise_error(HanamiGuard::ConfigurationError, /roots:/)
    end

    it "survives files that are empty, garbage or missing" do
      { "proc/self/status" => "\0\xff garbage", "proc/self/mountinfo" => "1 2 - -\n#{"x " * 5000}",
        "proc/self/uid_map" => "" }.each { |rel, text| File.write(File.join(fixture(:docker_root), rel), text) }
      report = described_class.run(root: @dir, env: {})
      expect(report.findings.map(&:id)).to all(be_a(String))
      FileUtils.rm_rf(File.join(@dir, "proc"))
      report = described_class.run(root: @dir, env: {})
      expect(report.not_checked.keys).to include("root-user", "capabilities", "seccomp", "host-mount")
    end
  end

  it "reads only: the tree is unchanged and the runtime socket receives no connection" do
    root = fixture(:docker_sock)
    server = @servers.first
    snapshot = lambda do
      entries = []
      Find.find(root) do |path|
        st = File.lstat(path)
        entries << [path, st.mode, st.size, st.mtime, st.ctime, st.file? ? File.binread(path) : nil]
      end
      entries
    end
    before = snapshot.call
    report = described_class.run(root:, env: {})
    expect(report.findings.map(&:id)).to include("runtime-socket")
    expect(snapshot.call).to eq(before)
    expect { server.accept_nonblock }.to raise_error(IO::WaitReadable)
  end

  it "prints in the README what the privileged and hardened fixtures give" do
    skip "mknod of the fixture's block devices needs root" unless Process.uid.zero?

    readme = File.read(File.expand_path("../../../README.md", __dir__))
    shown = readme[/^```\n(hanami_guard doctor \(docker run --privileged\).*?)^```/m, 1]
    labels = { privileged: "docker run --privileged",
               hardened: "docker run --cap-drop ALL --security-opt no-new-privileges --user 10001" }
    actual = labels.map do |situation, label|
      Dir.mktmpdir do |dir|
        servers = PostureFixtures.build(dir, situation)
        described_class.run(root: dir, env: {}).summary(details: false).sub("(#{dir})", "(#{label})")
      ensure
        Array(servers).each(&:close)
      end
    end
    expect(shown).to eq("#{actual.join("\n\n")}\n")
  end

  # Under `/` the doctor makes real system calls on the real machine; strace lists them all,
  # between two marker stats around the call.
  it "reads only on this machine: no write, connect, signal or change to the filesystem", :strace do
    strace = ENV.fetch("PATH", "").split(":").map { |d| File.join(d, "strace") }.find { |f| File.executable?(f) }
    skip "strace is not installed" unless strace

    script = File.join(@dir, "trace.rb")
    File.write(script, <<~RUBY)
      require "hanami_guard"
      File.exist?("/hanami-guard-doctor-trace-start")
      HanamiGuard::Doctor.run
      File.exist?("/hanami-guard-doctor-trace-end")
    RUBY
    log = File.join(@dir, "strace.log")
    lib = File.expand_path("../../../lib", __dir__)
    _out, err, status = Open3.capture3(strace, "-f", "-qq", "-o", log, RbConfig.ruby, "-I", lib, script)
    skip "strace cannot trace here: #{err.lines.first}" unless status.success? && File.size?(log)

    window = File.read(log)[/trace-start.*?\n(.*)^.*trace-end/m, 1]
    expect(window).to include("/proc/self/mountinfo")
    forbidden = /^\d+ +(write|pwrite64|writev|connect|sendto|sendmsg|bind|listen|socket|kill|tkill|tgkill|
                  pidfd_send_signal|rt_sigqueueinfo|unlink|unlinkat|rename|renameat2?|mkdir|mkdirat|rmdir|
                  truncate|ftruncate|chmod|fchmodat|chown|fchownat|symlink|symlinkat|link|linkat|mknod|
                  mknodat|setxattr|utimensat|mount|ptrace)\(/x
    expect(window.lines.grep(forbidden)).to eq([])
    expect(window.lines.grep(/open.*O_(WRONLY|RDWR|CREAT|TRUNC)/)).to eq([])
  end

  describe "on this machine" do
    it "agrees with what the process reads about itself" do
      report = described_class.run(env: { "DATABASE_URL" => "x" })
      status = File.read("/proc/self/status")
      ids = report.findings.map(&:id)
      expect(ids.include?("seccomp")).to eq(status[/^Seccomp:\s+(\d+)/, 1] == "0")
      expect(ids.include?("no-new-privs")).to eq(status[/^NoNewPrivs:\s+(\d+)/, 1] == "0")
      expect(ids.include?("root-user")).to eq(Process.euid.zero?)
      expect(ids).to include("secret-env")
      expect(report.probes.keys).to eq(%w[openat2 landlock])
      expect(report.probes["openat2"]).to eq("available") if HanamiGuard::Root.openat2_available?
      expect(ids - described_class::IDS).to be_empty
    end
  end
end
