//! What is mounted into the container: runtime sockets, host directories, writable `/proc/sys`,
//! `/sys` and cgroup filesystems, cgroup v1 `release_agent`, and where the app's `Root`s lie.

use std::os::unix::fs::FileTypeExt;
use std::path::PathBuf;

use rustix::fs::{Access, AtFlags, CWD};

use super::mountinfo::{beneath, Mount, MountInfo};
use super::process::Identity;
use super::{shown, Finding, Scan, Severity};

/// Socket names of container runtimes. Any of them lets its holder start a privileged
/// container with the host's root mounted: a full escape.
const SOCKET_NAMES: [&str; 6] = [
    "docker.sock",
    "containerd.sock",
    "crio.sock",
    "podman.sock",
    "dockershim.sock",
    "cri-dockerd.sock",
];

/// Where runtimes put their sockets, relative to a root (`/` or a mounted host root).
const SOCKET_PATHS: [&str; 10] = [
    "run/docker.sock",
    "var/run/docker.sock",
    "run/containerd/containerd.sock",
    "var/run/containerd/containerd.sock",
    "run/crio/crio.sock",
    "var/run/crio/crio.sock",
    "run/podman/podman.sock",
    "var/run/podman/podman.sock",
    "run/dockershim.sock",
    "run/cri-dockerd.sock",
];

/// Filesystems that are never a directory of the host's disk.
const VIRTUAL_FS: [&str; 24] = [
    "proc",
    "sysfs",
    "tmpfs",
    "devtmpfs",
    "devpts",
    "mqueue",
    "cgroup",
    "cgroup2",
    "overlay",
    "fuse.fuse-overlayfs",
    "securityfs",
    "debugfs",
    "tracefs",
    "bpf",
    "hugetlbfs",
    "pstore",
    "configfs",
    "fusectl",
    "binfmt_misc",
    "autofs",
    "nsfs",
    "shm",
    "rpc_pipefs",
    "efivarfs",
];

/// Host directories that hand over the host when mounted: `(root field, why, severity)`.
const HOST_DIRS: [(&str, &str, Severity); 6] = [
    ("/etc", "the host's /etc", Severity::High),
    (
        "/var/lib/kubelet",
        "the host's /var/lib/kubelet (every pod's volumes and tokens)",
        Severity::High,
    ),
    (
        "/var/lib/containerd",
        "the host's /var/lib/containerd (every container's filesystem)",
        Severity::High,
    ),
    (
        "/var/lib/docker",
        "the host's /var/lib/docker (every container's filesystem)",
        Severity::High,
    ),
    (
        "/var/run",
        "the host's /var/run (its runtime sockets)",
        Severity::Critical,
    ),
    (
        "/run",
        "the host's /run (its runtime sockets)",
        Severity::Critical,
    ),
];

pub(crate) fn check(scan: &mut Scan<'_>, info: &MountInfo, id: &Identity, roots: &[PathBuf]) {
    runtime_sockets(scan, info);
    host_mounts(scan, info);
    writable_kernel_files(scan, info, id);
    release_agents(scan, info);
    app_roots(scan, info, roots);
}

/// The `(device, inode)` of a socket at `rel`, found with `lstat` (never connected to).
fn socket_at(scan: &Scan<'_>, rel: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(scan.path(rel)).ok()?;
    meta.file_type()
        .is_socket()
        .then(|| (meta.dev(), meta.ino()))
}

fn runtime_sockets(scan: &mut Scan<'_>, info: &MountInfo) {
    let mut evidence = Vec::new();
    for m in &info.mounts {
        let named = |p: &str| {
            let base = p.rsplit('/').next().unwrap_or(p);
            SOCKET_NAMES.contains(&base)
        };
        if named(&m.mount_point) || named(&m.root) {
            evidence.push(format!("mountinfo: {}", shown(&m.line)));
        }
    }
    // A socket can also arrive inside a mounted directory (the host's /run, the host's root).
    let mut dirs: Vec<&str> = vec!["/"];
    dirs.extend(
        info.mounts
            .iter()
            .filter(|m| m.mount_point != "/")
            .filter(|m| {
                !["/proc", "/sys", "/dev"]
                    .iter()
                    .any(|d| beneath(&m.mount_point, d))
            })
            .map(|m| m.mount_point.as_str()),
    );
    // One socket reached by two names (`/var/run` is a symlink to `/run` in most images) is
    // reported once.
    let mut seen = Vec::new();
    for dir in dirs {
        let dir = dir.trim_end_matches('/');
        let candidates = SOCKET_PATHS.iter().map(|rel| format!("{dir}/{rel}"));
        // The host's /run mounted somewhere else: DIR/docker.sock, ...
        let direct = SOCKET_NAMES
            .iter()
            .filter(|_| !dir.is_empty())
            .map(|name| format!("{dir}/{name}"));
        for path in candidates.chain(direct) {
            if let Some(id) = socket_at(scan, &path) {
                if !seen.contains(&id) {
                    evidence.push(format!("{} is a socket", shown(&path)));
                    seen.push(id);
                }
            }
        }
    }
    if evidence.is_empty() {
        return;
    }
    scan.found(Finding {
        id: "runtime-socket",
        severity: Severity::Critical,
        title: "a container runtime's socket is reachable: whoever can write to it starts a \
                privileged container with the host's root mounted"
            .into(),
        evidence,
        fix: "do not mount the runtime's socket: remove `-v /var/run/docker.sock:...` (compose \
              `volumes:`) and hostPath volumes of *.sock (Kubernetes); if the app must drive \
              the runtime, put a socket proxy in between that allows only the calls it needs",
        source: "/proc/self/mountinfo",
    });
}

fn virtual_fs(m: &Mount) -> bool {
    VIRTUAL_FS.contains(&m.fstype.as_str())
}

/// A whole filesystem mounted away from `/` that holds an OS tree looks like the host's root.
fn looks_like_os_root(scan: &Scan<'_>, mount_point: &str) -> bool {
    let dir = |name: &str| scan.path(&format!("{mount_point}/{name}")).is_dir();
    dir("etc") && (dir("usr") || dir("bin")) && dir("var")
}

fn host_mounts(scan: &mut Scan<'_>, info: &MountInfo) {
    let mut worst = None::<Severity>;
    let mut evidence = Vec::new();
    for m in &info.mounts {
        if m.mount_point == "/" {
            continue;
        }
        let what = if m.fstype == "proc" && !beneath(&m.mount_point, "/proc") {
            Some(("a second procfs (the host's /proc)", Severity::Critical))
        } else if m.root == "/" && !virtual_fs(m) && looks_like_os_root(scan, &m.mount_point) {
            Some(("the host's root filesystem", Severity::Critical))
        } else if virtual_fs(m) && m.fstype != "tmpfs" {
            None
        } else {
            HOST_DIRS
                .iter()
                .find(|(dir, _, _)| m.root == *dir)
                .map(|(_, what, severity)| (*what, *severity))
        };
        let Some((what, mut severity)) = what else {
            continue;
        };
        if !m.writable() {
            severity = severity.lower();
        }
        worst = worst.max(Some(severity));
        evidence.push(format!(
            "{what} at {}{}: {}",
            shown(&m.mount_point),
            if m.writable() { "" } else { " (read-only)" },
            shown(&m.line)
        ));
    }
    let Some(severity) = worst else {
        return;
    };
    scan.found(Finding {
        id: "host-mount",
        severity,
        title: "a host directory that hands over the host is mounted into the container".into(),
        evidence,
        fix: "mount only the directory the app needs, read-only, or a volume of its own: \
              remove `-v /:/host` and mounts of /etc, /var/lib/docker, /var/lib/containerd, \
              /var/lib/kubelet, /var/run, /proc (compose `volumes:`); Kubernetes: no hostPath \
              volumes (Pod Security Standard `baseline` forbids them)",
        source: "/proc/self/mountinfo",
    });
}

fn writable_kernel_files(scan: &mut Scan<'_>, info: &MountInfo, id: &Identity) {
    let severity = if id.host_root() {
        Severity::Critical
    } else {
        Severity::Medium
    };
    if let Some(m) = info.holding("/proc/sys") {
        if m.fstype == "proc" && m.writable() {
            scan.found(Finding {
                id: "writable-proc-sys",
                severity,
                title: "/proc/sys is writable: kernel.core_pattern and friends run host \
                        commands as root"
                    .into(),
                evidence: vec![format!("/proc/sys is on: {}", shown(&m.line))],
                fix: "leave /proc/sys read-only: remove `--privileged` and `--security-opt \
                      systempaths=unconfined` (compose `privileged: false`); Kubernetes \
                      `privileged: false` and `procMount: Default`",
                source: "/proc/self/mountinfo",
            });
        }
    }
    let mut evidence = Vec::new();
    if let Some(m) = info.holding("/sys") {
        if m.fstype == "sysfs" && m.writable() {
            evidence.push(format!("/sys is on: {}", shown(&m.line)));
        }
    }
    for m in &info.mounts {
        if (m.fstype == "cgroup" || m.fstype == "cgroup2") && m.writable() {
            evidence.push(format!("cgroup mounted writable: {}", shown(&m.line)));
        }
    }
    if !evidence.is_empty() {
        scan.found(Finding {
            id: "writable-sysfs",
            severity: if id.host_root() {
                Severity::High
            } else {
                Severity::Medium
            },
            title: "/sys or a cgroup filesystem is writable: device, firmware and cgroup \
                    settings of the host can be changed"
                .into(),
            evidence,
            fix: "leave /sys and /sys/fs/cgroup read-only: remove `--privileged` and `-v \
                  /sys:/sys` (compose `privileged: false`); Kubernetes `privileged: false`, no \
                  hostPath of /sys",
            source: "/proc/self/mountinfo",
        });
    }
}

/// `faccessat(W_OK, AT_EACCESS)`: may this process write the file? The kernel answers for the
/// effective ids and the mount's read-only flag without the file being opened.
fn may_write(path: &std::path::Path) -> bool {
    rustix::fs::accessat(CWD, path, Access::WRITE_OK, AtFlags::EACCESS).is_ok()
}

fn release_agents(scan: &mut Scan<'_>, info: &MountInfo) {
    let mut evidence = Vec::new();
    for m in info.mounts.iter().filter(|m| m.fstype == "cgroup") {
        let file = format!("{}/release_agent", m.mount_point.trim_end_matches('/'));
        let path = scan.path(&file);
        if m.writable() && path.is_file() && may_write(&path) {
            evidence.push(format!("{} is writable", shown(&file)));
        }
    }
    if evidence.is_empty() {
        return;
    }
    scan.found(Finding {
        id: "cgroup-release-agent",
        severity: Severity::Critical,
        title: "a cgroup v1 release_agent is writable: the kernel runs the program it names as \
                root on the host (CVE-2022-0492)"
            .into(),
        evidence,
        fix: "remove `--privileged` and CAP_SYS_ADMIN (compose `privileged: false`, \
              `cap_drop: [ALL]`); use cgroup v2 with a private cgroup namespace (`--cgroupns \
              private`); Kubernetes `privileged: false`",
        source: "/proc/self/mountinfo",
    });
}

fn app_roots(scan: &mut Scan<'_>, info: &MountInfo, roots: &[PathBuf]) {
    let mut evidence = Vec::new();
    for root in roots {
        let path = root.to_string_lossy();
        let Some(m) = info.holding(&path) else {
            continue;
        };
        if m.mount_point == "/" || virtual_fs(m) {
            continue;
        }
        evidence.push(format!(
            "Root {} lies on {} ({} {}, host directory {})",
            shown(&path),
            shown(&m.mount_point),
            m.fstype,
            shown(&m.source),
            shown(&m.root)
        ));
    }
    if evidence.is_empty() {
        return;
    }
    scan.found(Finding {
        id: "root-on-host-mount",
        severity: Severity::Low,
        title: "a Root lies on a directory mounted from the host: what the app writes there \
                lands on the host, and the host can change the tree beneath the app"
            .into(),
        evidence,
        fix: "keep the Root's base on the container's own filesystem or a volume of its own \
              (a named volume, an emptyDir), not a bind mount or hostPath of a host directory; \
              mount it read-only (`:ro`, `readOnly: true`) if the app only reads",
        source: "/proc/self/mountinfo",
    });
}
