# frozen_string_literal: true

require "fileutils"
require "socket"

# Trees laid out like `/` as a process sees it inside a container, for HanamiGuard::Doctor.run(root:).
# The file shapes are copied from real containers: /proc/self/status, uid_map, attr/current
# and mountinfo lines as Docker 24 (cgroup v2 and v1 hosts), containerd under Kubernetes 1.29
# and rootless Podman 4 write them. Runtime sockets are real UNIX sockets, so a spec can prove
# the doctor never connects to one; block devices are real device nodes (mknod needs root).
module PostureFixtures
  # Docker's default capability set (CapBnd of every default container; CapEff of root in it).
  DOCKER_CAPS = "00000000a80425fb"
  # Podman's default set (no NET_RAW, MKNOD, AUDIT_WRITE).
  PODMAN_CAPS = "00000000800405fb"
  # --privileged on Linux 6.x: every capability up to CHECKPOINT_RESTORE (40).
  ALL_CAPS = "000001ffffffffff"
  IDENTITY_MAP = "         0          0 4294967295\n"
  OVERLAY = "/ / rw,relatime master:590 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/ZQ4V:" \
            "/var/lib/docker/overlay2/l/3TQK,upperdir=/var/lib/docker/overlay2/6e1f/diff," \
            "workdir=/var/lib/docker/overlay2/6e1f/work,nouserxattr"
  CONTAINER = "6e1f0c2b9d4a"

  # The situations, each a list of parts; see .build.
  SITUATIONS = %i[docker_nonroot docker_root privileged docker_sock kubernetes_host rootless_podman
                  seccomp_filters_openat2 hardened].freeze

  module_function

  # Writes the tree for `situation` into `dir`. Returns what must be closed afterwards (the
  # listening sockets).
  def build(dir, situation)
    send(situation, dir)
  end

  def status(uid:, cap_eff:, cap_bnd:, no_new_privs: 0, seccomp: 2, filters: 1)
    <<~STATUS
      Name:\truby
      Umask:\t0022
      State:\tR (running)
      Tgid:\t1
      Ngid:\t0
      Pid:\t1
      PPid:\t0
      TracerPid:\t0
      Uid:\t#{uid}\t#{uid}\t#{uid}\t#{uid}
      Gid:\t#{uid}\t#{uid}\t#{uid}\t#{uid}
      FDSize:\t64
      Groups:\t#{uid}#{" "}
      NStgid:\t1
      NSpid:\t1
      NSpgid:\t1
      NSsid:\t1
      VmPeak:\t   84396 kB
      VmSize:\t   84396 kB
      VmRSS:\t   31204 kB
      Threads:\t2
      SigQ:\t0/63711
      SigPnd:\t0000000000000000
      ShdPnd:\t0000000000000000
      SigBlk:\t0000000000000000
      SigIgn:\t0000000000000000
      SigCgt:\t00000001c8004e4f
      CapInh:\t0000000000000000
      CapPrm:\t#{cap_eff}
      CapEff:\t#{cap_eff}
      CapBnd:\t#{cap_bnd}
      CapAmb:\t0000000000000000
      NoNewPrivs:\t#{no_new_privs}
      Seccomp:\t#{seccomp}
      Seccomp_filters:\t#{filters}
      Speculation_Store_Bypass:\tthread force mitigated
      SpeculationIndirectBranch:\tconditional force disabled
      Cpus_allowed:\tf
      Cpus_allowed_list:\t0-3
      Mems_allowed:\t00000000,00000001
      Mems_allowed_list:\t0
      voluntary_ctxt_switches:\t52
      nonvoluntary_ctxt_switches:\t3
    STATUS
  end

  # /proc, /dev, /sys as Docker's default profile mounts them on a cgroup v2 host: /sys and the
  # cgroup read-only, /proc/sys and friends re-mounted read-only, /proc/kcore masked.
  def docker_mounts(extra = [])
    lines = [
      "1010 925 0:52 #{OVERLAY}",
      "1011 1010 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
      "1012 1010 0:56 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64",
      "1013 1012 0:57 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666",
      "1014 1010 0:58 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro",
      "1015 1014 0:28 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup " \
      "rw,nsdelegate,memory_recursiveprot",
      "1016 1012 0:54 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw",
      "1017 1012 0:59 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64"
    ]
    %w[resolv.conf hostname hosts].each_with_index do |name, i|
      lines << "#{1018 + i} 1010 8:1 /var/lib/docker/containers/#{CONTAINER}/#{name} /etc/#{name} rw,relatime " \
               "- ext4 /dev/sda1 rw,discard,errors=remount-ro"
    end
    lines.concat(extra)
    %w[bus fs irq sys sysrq-trigger].each_with_index do |name, i|
      lines << "#{926 + i} 1011 0:55 /#{name} /proc/#{name} ro,nosuid,nodev,noexec,relatime - proc proc rw"
    end
    lines << "931 1011 0:60 / /proc/asound ro,relatime - tmpfs tmpfs ro,inode64"
    %w[kcore keys timer_list].each_with_index do |name, i|
      lines << "#{932 + i} 1011 0:56 /null /proc/#{name} rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64"
    end
    lines << "935 1014 0:63 / /sys/firmware ro,relatime - tmpfs tmpfs ro,inode64"
    lines
  end

  NET_DEV = <<~DEV
    Inter-|   Receive                                                |  Transmit
     face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
        lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0
      eth0:   14612     112    0    0    0     0          0         0     1824      22    0    0    0     0       0          0
  DEV

  # The files every situation has; `files` adds to or replaces them.
  def write(dir, status:, mounts:, label:, uid_map: IDENTITY_MAP, probes: "openat2 ok\nlandlock 6\n", files: {})
    base = {
      "proc/self/status" => status,
      "proc/self/uid_map" => uid_map,
      "proc/self/gid_map" => uid_map,
      "proc/self/mountinfo" => "#{mounts.join("\n")}\n",
      "proc/self/net/dev" => NET_DEV,
      "proc/self/net/unix" => "Num       RefCount Protocol Flags    Type St Inode Path\n",
      "proc/sys/kernel/osrelease" => "6.8.0-45-generic\n",
      "etc/hostname" => "#{CONTAINER}\n",
      "doctor-probes" => probes
    }
    base["proc/self/attr/current"] = label if label
    base.merge(files).each do |rel, content|
      next if content.nil?

      path = File.join(dir, rel)
      FileUtils.mkdir_p(File.dirname(path))
      File.write(path, content)
    end
    FileUtils.mkdir_p(File.join(dir, "dev"))
    []
  end

  def docker_nonroot(dir)
    write(dir, status: status(uid: 1000, cap_eff: "0000000000000000", cap_bnd: DOCKER_CAPS),
               mounts: docker_mounts, label: "docker-default (enforce)\n")
  end

  def docker_root(dir)
    write(dir, status: status(uid: 0, cap_eff: DOCKER_CAPS, cap_bnd: DOCKER_CAPS),
               mounts: docker_mounts, label: "docker-default (enforce)\n")
  end

  # `docker run --cap-drop ALL --security-opt no-new-privileges --user 10001`.
  def hardened(dir)
    write(dir, status: status(uid: 10_001, cap_eff: "0000000000000000", cap_bnd: "0000000000000000",
                              no_new_privs: 1),
               mounts: docker_mounts, label: "docker-default (enforce)\n")
  end

  # `docker run --privileged` on a cgroup v1 host: everything writable, every capability, no
  # seccomp or AppArmor, the host's disks in /dev, and the rdma hierarchy (not namespaced)
  # mounted at its root, release_agent included.
  def privileged(dir)
    mounts = [
      "1010 925 0:52 #{OVERLAY}",
      "1011 1010 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
      "1012 1010 0:56 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,inode64",
      "1013 1012 0:57 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666",
      "1014 1010 0:58 / /sys rw,nosuid,nodev,noexec,relatime - sysfs sysfs rw",
      "1015 1014 0:61 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755,inode64",
      "1016 1015 0:32 /docker/#{CONTAINER} /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime - cgroup " \
      "cgroup rw,memory",
      "1017 1015 0:36 / /sys/fs/cgroup/rdma rw,nosuid,nodev,noexec,relatime - cgroup cgroup rw,rdma",
      "1018 1012 0:54 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw",
      "1019 1012 0:59 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k,inode64",
      "1020 1010 8:1 /var/lib/docker/containers/#{CONTAINER}/hosts /etc/hosts rw,relatime - ext4 /dev/sda1 rw"
    ]
    write(dir, status: status(uid: 0, cap_eff: ALL_CAPS, cap_bnd: ALL_CAPS, seccomp: 0, filters: 0),
               mounts:, label: "unconfined\n",
               files: { "sys/fs/cgroup/rdma/release_agent" => "", "sys/fs/cgroup/memory/memory.limit_in_bytes" => "" })
    { "sda" => [8, 0], "sda1" => [8, 1] }.each do |name, (major, minor)|
      system("mknod", File.join(dir, "dev", name), "b", major.to_s, minor.to_s, exception: true, err: File::NULL)
    end
    []
  end

  # `-v /var/run/docker.sock:/var/run/docker.sock` on Docker's default profile, as root.
  def docker_sock(dir)
    sock = "1021 1010 0:25 /docker.sock /var/run/docker.sock rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs " \
           "rw,size=813540k,mode=755,inode64"
    write(dir, status: status(uid: 0, cap_eff: DOCKER_CAPS, cap_bnd: DOCKER_CAPS),
               mounts: docker_mounts([sock]), label: "docker-default (enforce)\n")
    [listen(File.join(dir, "var/run/docker.sock"))]
  end

  # A pod (containerd, Kubernetes 1.29) with `hostPath: {path: /}` at /host, the default
  # service-account token, runAsUser 1000 and no seccompProfile (pods run Unconfined by default).
  def kubernetes_host(dir)
    token = "run/secrets/kubernetes.io/serviceaccount"
    write(dir, status: status(uid: 1000, cap_eff: "0000000000000000", cap_bnd: DOCKER_CAPS, seccomp: 0, filters: 0),
               mounts: kubernetes_mounts, label: "cri-containerd.apparmor.d (enforce)\n",
               files: { "#{token}/token" => "eyJhbGciOiJSUzI1NiJ9.fixture.token", "#{token}/namespace" => "default",
                        "host/etc/os-release" => "ID=ubuntu\n", "host/usr/bin/.keep" => "",
                        "host/var/lib/.keep" => "" })
    FileUtils.mkdir_p(File.join(dir, "var"))
    File.symlink("../run", File.join(dir, "var/run"))
    [listen(File.join(dir, "host/run/containerd/containerd.sock"))]
  end

  def kubernetes_mounts
    pod = "/var/lib/kubelet/pods/5f3c9a1e-3b7d-4c1a-9d0e-2f6b8c4d7a10"
    sandbox = "/var/lib/containerd/io.containerd.grpc.v1.cri/sandboxes/77ab0c"
    [
      "2211 2104 0:425 / / rw,relatime master:833 - overlay overlay rw,lowerdir=/var/lib/containerd/" \
      "io.containerd.snapshotter.v1.overlayfs/snapshots/91/fs,upperdir=/var/lib/containerd/" \
      "io.containerd.snapshotter.v1.overlayfs/snapshots/92/fs,workdir=/var/lib/containerd/" \
      "io.containerd.snapshotter.v1.overlayfs/snapshots/92/work",
      "2212 2211 0:427 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
      "2213 2211 0:428 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755",
      "2214 2213 0:429 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620,ptmxmode=666",
      "2215 2213 0:416 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw",
      "2216 2211 0:421 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro",
      "2217 2216 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup rw,nsdelegate",
      "2218 2211 259:1 / /host rw,relatime master:1 - ext4 /dev/nvme0n1p1 rw,discard,errors=remount-ro",
      "2219 2211 259:1 #{pod}/etc-hosts /etc/hosts rw,relatime - ext4 /dev/nvme0n1p1 rw",
      "2220 2213 259:1 #{pod}/containers/app/8a1b2c3d /dev/termination-log rw,relatime - ext4 /dev/nvme0n1p1 rw",
      "2221 2211 259:1 #{sandbox}/hostname /etc/hostname rw,relatime - ext4 /dev/nvme0n1p1 rw",
      "2222 2211 259:1 #{sandbox}/resolv.conf /etc/resolv.conf rw,relatime - ext4 /dev/nvme0n1p1 rw",
      "2223 2213 0:415 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=65536k",
      "2224 2211 0:402 / /run/secrets/kubernetes.io/serviceaccount ro,relatime - tmpfs tmpfs rw,size=3952332k",
      "2105 2212 0:427 /bus /proc/bus ro,nosuid,nodev,noexec,relatime - proc proc rw",
      "2106 2212 0:427 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw",
      "2107 2212 0:428 /null /proc/kcore rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755"
    ]
  end

  # Rootless Podman 4 on Fedora: root inside is uid 1000 outside; SELinux container_t.
  def rootless_podman(dir)
    userdata = "/containers/overlay-containers/#{CONTAINER}/userdata"
    tmpfs = "- tmpfs tmpfs rw,size=3277252k,nr_inodes=819313,mode=700,uid=1000,gid=1000,inode64"
    mounts = [
      "610 571 0:57 / / rw,relatime - overlay overlay rw,lowerdir=/home/dev/.local/share/containers/storage/" \
      "overlay/l/X7:/home/dev/.local/share/containers/storage/overlay/l/Q2,upperdir=/home/dev/.local/share/" \
      "containers/storage/overlay/ab/diff,workdir=/home/dev/.local/share/containers/storage/overlay/ab/work,userxattr",
      "611 610 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
      "612 610 0:61 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755,uid=1000,gid=1000,inode64",
      "613 610 0:62 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs rw",
      "614 612 0:63 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=100004,mode=620,ptmxmode=666",
      "615 612 0:59 / /dev/mqueue rw,nosuid,nodev,noexec,relatime - mqueue mqueue rw",
      "616 610 0:56 #{userdata}/.containerenv /run/.containerenv rw,nosuid,nodev,relatime #{tmpfs}",
      "617 610 0:56 #{userdata}/hostname /etc/hostname rw,nosuid,nodev,relatime #{tmpfs}",
      "618 610 0:56 #{userdata}/hosts /etc/hosts rw,nosuid,nodev,relatime #{tmpfs}",
      "619 610 0:56 #{userdata}/resolv.conf /etc/resolv.conf rw,nosuid,nodev,relatime #{tmpfs}",
      "620 612 0:58 / /dev/shm rw,nosuid,nodev,noexec,relatime - tmpfs shm rw,size=64000k,uid=1000,gid=1000,inode64",
      "621 613 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate",
      "572 611 0:60 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw",
      "573 611 0:60 /sysrq-trigger /proc/sysrq-trigger ro,nosuid,nodev,noexec,relatime - proc proc rw"
    ]
    write(dir, status: status(uid: 0, cap_eff: PODMAN_CAPS, cap_bnd: PODMAN_CAPS),
               uid_map: "         0       1000          1\n         1     100000      65536\n",
               mounts:, label: "system_u:system_r:container_t:s0:c375,c966\0")
  end

  # Docker's default profile as a non-root user, on a runtime whose seccomp profile predates
  # openat2 and Landlock and answers EPERM and ENOSYS for them.
  def seccomp_filters_openat2(dir)
    write(dir, status: status(uid: 1000, cap_eff: "0000000000000000", cap_bnd: DOCKER_CAPS),
               mounts: docker_mounts, label: "docker-default (enforce)\n",
               probes: "openat2 EPERM\nlandlock ENOSYS\n",
               files: { "proc/sys/kernel/osrelease" => "6.1.0-18-amd64\n" })
  end

  def listen(path)
    FileUtils.mkdir_p(File.dirname(path))
    UNIXServer.new(path)
  end
end

# A temporary directory for `fixture(situation)` to lay a tree in, and the UNIX sockets its
# fixtures listen on closed afterwards.
RSpec.shared_context "a posture fixture tree" do
  around do |example|
    Dir.mktmpdir("hanami_guard-doctor") do |dir|
      @dir = dir
      example.run
    ensure
      Array(@servers).each(&:close)
    end
  end

  def fixture(situation)
    @servers = PostureFixtures.build(@dir, situation)
    @dir
  end
end
