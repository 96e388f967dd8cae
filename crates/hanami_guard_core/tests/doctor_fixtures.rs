//! The doctor over small fixture trees laid out like `/`: the cases the Ruby specs' whole
//! containers do not isolate (host namespaces, a read-only host mount, the host's /run mounted
//! elsewhere, escaped mount points, capabilities inside a user namespace).

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::net::UnixListener;
use std::path::Path;

use hanami_guard_core::doctor::{self, Options, Report, Severity};

const OVERLAY: &str =
    "1010 925 0:52 / / rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w";
const PROC: &str = "1011 1010 0:55 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw";
const PROC_SYS: &str =
    "929 1011 0:55 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw";
const SYS: &str = "1014 1010 0:58 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro";

/// A non-root, hardened container; `extra_mounts` and `files` add to it.
fn tree(dir: &Path, status: Option<&str>, extra_mounts: &[&str], files: &[(&str, &str)]) {
    let default_status = "Uid:\t1000\t1000\t1000\t1000\nCapEff:\t0000000000000000\n\
                          CapBnd:\t0000000000000000\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n\
                          Seccomp:\t2\nSeccomp_filters:\t1\n";
    let mut mounts = vec![OVERLAY, PROC, PROC_SYS, SYS];
    mounts.extend_from_slice(extra_mounts);
    let mountinfo = format!("{}\n", mounts.join("\n"));
    let mut all = vec![
        ("proc/self/status", status.unwrap_or(default_status)),
        ("proc/self/uid_map", "         0          0 4294967295\n"),
        ("proc/self/mountinfo", mountinfo.as_str()),
        ("proc/self/attr/current", "docker-default (enforce)\n"),
        ("doctor-probes", "openat2 ok\nlandlock 6\n"),
    ];
    all.extend_from_slice(files);
    for (rel, content) in all {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, content).expect("write");
    }
}

fn run(dir: &Path) -> Report {
    doctor::run(&Options {
        root: dir.to_path_buf(),
        env_names: vec![],
        roots: vec![],
    })
    .expect("a run")
}

fn found(report: &Report) -> BTreeMap<&'static str, Severity> {
    report.findings.iter().map(|f| (f.id, f.severity)).collect()
}

fn evidence(report: &Report, id: &str) -> String {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .map(|f| f.evidence.join("\n"))
        .unwrap_or_default()
}

#[test]
fn a_hardened_container_gives_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), None, &[], &[]);
    assert_eq!(found(&run(dir.path())), BTreeMap::new());
}

#[test]
fn host_pid_and_network_namespaces_are_seen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev =
        "Inter-|   Receive\n face |bytes\n    lo: 0 0\n  eth0: 0 0\ndocker0: 0 0\nveth1a2b: 0 0\n";
    let unix = "Num       RefCount Protocol Flags    Type St Inode Path\n\
                0000000000000000: 00000002 00000000 00010000 0001 01 22953 @/containerd-shim/k8s.io/ab.sock@\n";
    tree(
        dir.path(),
        None,
        &[],
        &[
            ("proc/2/comm", "kthreadd\n"),
            ("proc/self/net/dev", dev),
            ("proc/self/net/unix", unix),
        ],
    );
    let report = run(dir.path());
    assert_eq!(
        found(&report),
        BTreeMap::from([
            ("host-pid-namespace", Severity::High),
            ("host-network-namespace", Severity::High)
        ])
    );
    let net = evidence(&report, "host-network-namespace");
    assert!(net.contains("docker0, veth1a2b"), "{net}");
    assert!(net.contains("@/containerd-shim/"), "{net}");
}

#[test]
fn a_container_namespace_with_tunnel_devices_is_not_the_host() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dev = "Inter-|\n face |\n    lo: 0\n  tunl0: 0\n  eth0: 0\n";
    tree(
        dir.path(),
        None,
        &[],
        &[("proc/self/net/dev", dev), ("proc/1/comm", "ruby\n")],
    );
    assert_eq!(found(&run(dir.path())), BTreeMap::new());
}

#[test]
fn a_read_only_host_etc_is_one_step_less_severe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ro = "1030 1010 8:1 /etc /host-etc ro,relatime - ext4 /dev/sda1 rw";
    tree(dir.path(), None, &[ro], &[]);
    let report = run(dir.path());
    assert_eq!(
        found(&report),
        BTreeMap::from([("host-mount", Severity::Medium)])
    );
    assert!(evidence(&report, "host-mount").contains("the host's /etc at /host-etc (read-only)"));
}

#[test]
fn the_hosts_run_mounted_elsewhere_shows_its_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The host's /run is a tmpfs of its own: its root field is `/`, not `/run`.
    let run_mount =
        "1030 1010 0:25 / /hostrun rw,nosuid,nodev,noexec,relatime - tmpfs tmpfs rw,mode=755";
    tree(dir.path(), None, &[run_mount], &[]);
    fs::create_dir_all(dir.path().join("hostrun")).expect("mkdir");
    let _listener = UnixListener::bind(dir.path().join("hostrun/docker.sock")).expect("bind");
    let report = run(dir.path());
    assert_eq!(
        found(&report),
        BTreeMap::from([("runtime-socket", Severity::Critical)])
    );
    assert_eq!(
        evidence(&report, "runtime-socket"),
        "/hostrun/docker.sock is a socket"
    );
}

#[test]
fn a_regular_file_named_docker_sock_is_not_a_socket() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), None, &[], &[("var/run/docker.sock", "")]);
    assert_eq!(found(&run(dir.path())), BTreeMap::new());
}

#[test]
fn escaped_mount_points_are_read_as_the_kernel_wrote_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = "1030 1010 8:1 / /host\\040root rw,relatime - ext4 /dev/sda1 rw";
    tree(
        dir.path(),
        None,
        &[host],
        &[
            ("host root/etc/os-release", "ID=debian\n"),
            ("host root/usr/bin/.keep", ""),
            ("host root/var/.keep", ""),
        ],
    );
    let report = run(dir.path());
    assert_eq!(
        found(&report),
        BTreeMap::from([("host-mount", Severity::Critical)])
    );
    assert!(evidence(&report, "host-mount").contains("root filesystem at /host root"));
}

#[test]
fn a_volume_without_an_os_tree_is_not_the_hosts_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pvc = "1030 1010 8:16 / /data rw,relatime - ext4 /dev/sdb rw";
    tree(dir.path(), None, &[pvc], &[("data/uploads/a.txt", "a")]);
    assert_eq!(found(&run(dir.path())), BTreeMap::new());
}

#[test]
fn capabilities_in_a_user_namespace_are_one_step_less_severe() {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = "Uid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\nCapBnd:\t000001ffffffffff\n\
                  CapAmb:\t0000000000000000\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n";
    tree(
        dir.path(),
        Some(status),
        &[],
        &[("proc/self/uid_map", "         0     100000      65536\n")],
    );
    let report = run(dir.path());
    assert_eq!(
        found(&report),
        BTreeMap::from([
            ("capabilities", Severity::High),
            ("root-user", Severity::Low)
        ])
    );
    assert!(evidence(&report, "root-user").contains("host uid 100000"));
}

#[test]
fn apparmor_in_complain_mode_confines_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(
        dir.path(),
        None,
        &[],
        &[("proc/self/attr/current", "docker-default (complain)\n")],
    );
    assert_eq!(
        found(&run(dir.path())),
        BTreeMap::from([("lsm", Severity::Medium)])
    );
}

#[test]
fn landlock_older_than_commands_rules_is_low_and_says_what_is_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(
        dir.path(),
        None,
        &[],
        &[
            ("doctor-probes", "openat2 ENOSYS\nlandlock 3\n"),
            ("proc/sys/kernel/osrelease", "5.4.0-150-generic\n"),
        ],
    );
    let report = run(dir.path());
    assert_eq!(
        found(&report),
        BTreeMap::from([("openat2", Severity::Medium), ("landlock", Severity::Low)])
    );
    assert!(evidence(&report, "openat2").contains("Linux 5.4 predates openat2"));
    assert!(evidence(&report, "landlock").contains("device ioctls (ABI 5)"));
}

#[test]
fn one_socket_under_two_names_is_reported_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), None, &[], &[]);
    fs::create_dir_all(dir.path().join("run")).expect("mkdir");
    fs::create_dir_all(dir.path().join("var")).expect("mkdir");
    std::os::unix::fs::symlink("../run", dir.path().join("var/run")).expect("symlink");
    let _listener = UnixListener::bind(dir.path().join("run/docker.sock")).expect("bind");
    let report = run(dir.path());
    assert_eq!(
        evidence(&report, "runtime-socket"),
        "/run/docker.sock is a socket"
    );
}

#[test]
fn a_fifo_in_the_tree_does_not_hang_the_doctor() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(dir.path(), None, &[], &[]);
    let status = dir.path().join("proc/self/status");
    fs::remove_file(&status).expect("rm");
    rustix::fs::mknodat(
        rustix::fs::CWD,
        &status,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o600),
        0,
    )
    .expect("mkfifo");
    // Nothing to read from a FIFO without a writer: the status fields are simply absent.
    assert_eq!(found(&run(dir.path())), BTreeMap::new());
}

#[test]
fn selinux_in_permissive_mode_confines_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let label = "system_u:system_r:container_t:s0:c375,c966\0";
    tree(
        dir.path(),
        None,
        &[],
        &[
            ("proc/self/attr/current", label),
            ("sys/fs/selinux/enforce", "0"),
        ],
    );
    let report = run(dir.path());
    assert_eq!(found(&report), BTreeMap::from([("lsm", Severity::Medium)]));
    assert!(evidence(&report, "lsm").contains("permissive"));
    fs::write(dir.path().join("sys/fs/selinux/enforce"), "1").expect("write");
    assert_eq!(found(&run(dir.path())), BTreeMap::new());
}

#[test]
fn without_a_label_the_kernels_lsms_are_shown() {
    let dir = tempfile::tempdir().expect("tempdir");
    tree(
        dir.path(),
        None,
        &[],
        &[
            ("proc/self/attr/current", ""),
            (
                "sys/kernel/security/lsm",
                "lockdown,capability,landlock,yama",
            ),
        ],
    );
    let report = run(dir.path());
    assert_eq!(found(&report), BTreeMap::from([("lsm", Severity::Medium)]));
    assert!(evidence(&report, "lsm").contains("lockdown,capability,landlock,yama"));
}
