//! The process itself: who it runs as (`/proc/self/status`, `uid_map`), what confines it
//! (capabilities, `no_new_privs`, seccomp, the LSM label) and which namespaces it shares with
//! the host.

use super::{shown, Finding, Scan, Severity};

/// Linux capability names by number (`include/uapi/linux/capability.h`).
const CAP_NAMES: [&str; 41] = [
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// Docker's (and containerd's, CRI-O's) default set: CHOWN DAC_OVERRIDE FOWNER FSETID KILL
/// SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DOCKER_DEFAULT_CAPS: u64 = 0xa804_25fb;

/// Capabilities with public escapes of their own: mount and cgroup tricks (SYS_ADMIN), kernel
/// modules, ptrace into host processes, open_by_handle_at (DAC_READ_SEARCH, "shocker"), raw
/// device and port I/O, eBPF.
const ESCAPE_CAPS: [u32; 6] = [21, 16, 19, 2, 17, 39];

/// Who the process is, as later checks need it.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Identity {
    /// The effective uid inside the container (`None`: status unreadable).
    pub euid: Option<u32>,
    /// The host uid the container's uid 0 maps to (`None`: not mapped or unknown).
    pub root_on_host: Option<u32>,
    /// Whether the process is in a user namespace other than the host's.
    pub user_namespace: bool,
}

impl Identity {
    /// Root inside, and root on the host too.
    pub fn host_root(&self) -> bool {
        self.euid == Some(0) && !self.user_namespace
    }
}

struct Status {
    euid: Option<u32>,
    cap_eff: Option<u64>,
    cap_bnd: Option<u64>,
    cap_amb: Option<u64>,
    no_new_privs: Option<bool>,
    seccomp: Option<u8>,
    seccomp_filters: Option<u32>,
}

fn parse_status(text: &str) -> Status {
    let mut s = Status {
        euid: None,
        cap_eff: None,
        cap_bnd: None,
        cap_amb: None,
        no_new_privs: None,
        seccomp: None,
        seccomp_filters: None,
    };
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let hex = || u64::from_str_radix(value, 16).ok();
        match key {
            // Real, effective, saved, filesystem.
            "Uid" => s.euid = value.split_whitespace().nth(1).and_then(|v| v.parse().ok()),
            "CapEff" => s.cap_eff = hex(),
            "CapBnd" => s.cap_bnd = hex(),
            "CapAmb" => s.cap_amb = hex(),
            "NoNewPrivs" => s.no_new_privs = value.parse::<u8>().ok().map(|v| v == 1),
            "Seccomp" => s.seccomp = value.parse().ok(),
            "Seccomp_filters" => s.seccomp_filters = value.parse().ok(),
            _ => {}
        }
    }
    s
}

/// One `uid_map` line: `inside outside count`.
fn parse_uid_map(text: &str) -> Vec<(u64, u64, u64)> {
    text.lines()
        .filter_map(|line| {
            let mut f = line.split_whitespace().map(|v| v.parse::<u64>().ok());
            Some((f.next()??, f.next()??, f.next()??))
        })
        .collect()
}

fn cap_names(mask: u64) -> Vec<&'static str> {
    (0..64u32)
        .filter(|bit| mask & (1u64 << bit) != 0)
        .map(|bit| CAP_NAMES.get(bit as usize).copied().unwrap_or("UNKNOWN"))
        .collect()
}

pub(crate) fn check(scan: &mut Scan<'_>) -> Identity {
    let mut identity = Identity::default();
    match scan.read("/proc/self/uid_map") {
        Ok(text) => {
            let map = parse_uid_map(&text);
            // The initial user namespace maps every uid to itself: `0 0 4294967295`.
            identity.user_namespace = map != [(0, 0, 4_294_967_295)];
            identity.root_on_host = map
                .iter()
                .find(|(inside, _, count)| *inside == 0 && *count > 0)
                .and_then(|(_, outside, _)| u32::try_from(*outside).ok());
            if identity.root_on_host == Some(0) {
                identity.user_namespace = false;
            }
        }
        Err(e) => scan.not_checked("root-user", format!("/proc/self/uid_map: {e}")),
    }
    let status = match scan.read("/proc/self/status") {
        Ok(text) => parse_status(&text),
        Err(e) => {
            for id in ["root-user", "capabilities", "no-new-privs", "seccomp"] {
                scan.not_checked(id, format!("/proc/self/status: {e}"));
            }
            check_lsm(scan);
            check_namespaces(scan);
            return identity;
        }
    };
    identity.euid = status.euid;
    check_user(scan, &identity);
    check_capabilities(scan, &status, &identity);
    if status.no_new_privs == Some(false) {
        scan.found(Finding {
            id: "no-new-privs",
            severity: Severity::Medium,
            title: "no_new_privs is off: a setuid or file-capability binary in the image can \
                    raise the process's privileges"
                .into(),
            evidence: vec!["NoNewPrivs: 0".into()],
            fix: "docker run --security-opt no-new-privileges; compose `security_opt: \
                  [\"no-new-privileges:true\"]`; Kubernetes `securityContext.\
                  allowPrivilegeEscalation: false`",
            source: "/proc/self/status",
        });
    }
    if status.seccomp == Some(0) {
        scan.found(Finding {
            id: "seccomp",
            severity: Severity::High,
            title: "no seccomp filter: every system call of the kernel is reachable, including \
                    the ones behind most kernel-exploit escapes"
                .into(),
            evidence: vec![format!(
                "Seccomp: 0 (Seccomp_filters: {})",
                status
                    .seccomp_filters
                    .map_or_else(|| "absent".to_owned(), |n| n.to_string())
            )],
            fix: "keep the runtime's seccomp profile: drop `--security-opt seccomp=unconfined` \
                  and `--privileged` (compose: `security_opt`, `privileged`); Kubernetes \
                  `securityContext.seccompProfile.type: RuntimeDefault` (pods run Unconfined \
                  unless told)",
            source: "/proc/self/status",
        });
    }
    check_lsm(scan);
    check_namespaces(scan);
    identity
}

fn check_user(scan: &mut Scan<'_>, identity: &Identity) {
    if identity.euid != Some(0) {
        return;
    }
    let (severity, evidence) = if identity.host_root() {
        (
            Severity::High,
            "Uid: 0, and uid_map maps uid 0 to host uid 0: root in the container is root on \
             the host"
                .to_owned(),
        )
    } else {
        (
            Severity::Low,
            format!(
                "Uid: 0, in a user namespace (uid 0 is host uid {})",
                identity
                    .root_on_host
                    .map_or_else(|| "unmapped".to_owned(), |u| u.to_string())
            ),
        )
    };
    scan.found(Finding {
        id: "root-user",
        severity,
        title: "the app runs as root".into(),
        evidence: vec![evidence],
        fix: "run as a non-root user: `USER 10001` in the Dockerfile or `docker run --user \
              10001:10001`; compose `user: \"10001:10001\"`; Kubernetes `securityContext.\
              runAsNonRoot: true` with `runAsUser: 10001`; or a rootless runtime",
        source: "/proc/self/status",
    });
}

fn check_capabilities(scan: &mut Scan<'_>, status: &Status, identity: &Identity) {
    let eff = status.cap_eff.unwrap_or(0) | status.cap_amb.unwrap_or(0);
    let extra_eff = eff & !DOCKER_DEFAULT_CAPS;
    // The bounding set only matters where an exec can still raise privileges.
    let extra_bnd = if status.no_new_privs == Some(true) {
        0
    } else {
        status.cap_bnd.unwrap_or(0) & !DOCKER_DEFAULT_CAPS & !extra_eff
    };
    if extra_eff == 0 && extra_bnd == 0 {
        return;
    }
    let escape = ESCAPE_CAPS.iter().any(|bit| extra_eff & (1u64 << bit) != 0);
    let mut severity = if escape {
        Severity::Critical
    } else if extra_eff != 0 {
        Severity::High
    } else {
        Severity::Medium
    };
    // Capabilities held in a user namespace act on that namespace's own resources only.
    if identity.user_namespace {
        severity = severity.lower();
    }
    let mut evidence = Vec::new();
    if extra_eff != 0 {
        evidence.push(format!(
            "CapEff: {:016x} (beyond Docker's default: {})",
            status.cap_eff.unwrap_or(0),
            cap_names(extra_eff).join(", ")
        ));
    }
    if extra_bnd != 0 {
        evidence.push(format!(
            "CapBnd: {:016x} (beyond Docker's default, reachable through a setuid binary: {})",
            status.cap_bnd.unwrap_or(0),
            cap_names(extra_bnd).join(", ")
        ));
    }
    scan.found(Finding {
        id: "capabilities",
        severity,
        title: "the process holds capabilities beyond the runtime's default set".into(),
        evidence,
        fix: "drop what the app does not need: `docker run --cap-drop ALL` (add back only what \
              it uses), never `--privileged`; compose `cap_drop: [ALL]`, `privileged: false`; \
              Kubernetes `securityContext.capabilities.drop: [ALL]`, `privileged: false`",
        source: "/proc/self/status",
    });
}

/// AppArmor writes `PROFILE (MODE)` or `unconfined`; SELinux a context `user:role:type:level`.
fn label_confines(label: &str) -> bool {
    let label = label.trim_end_matches('\0').trim();
    if label.is_empty() || label == "unconfined" || label.ends_with("(unconfined)") {
        return false;
    }
    // AppArmor in complain mode logs and allows.
    if label.ends_with("(complain)") {
        return false;
    }
    // SELinux: the unconfined and super-privileged container types confine nothing.
    let selinux_type = label.split(':').nth(2).unwrap_or("");
    !matches!(
        selinux_type,
        "unconfined_t" | "spc_t" | "kernel_t" | "initrc_t" | "unconfined_service_t"
    )
}

fn check_lsm(scan: &mut Scan<'_>) {
    // With stacked LSMs (Linux 5.1+) AppArmor has its own file; the shared one is the fallback.
    let mut seen = None;
    for file in [
        "/proc/self/attr/apparmor/current",
        "/proc/self/attr/current",
    ] {
        if let Ok(label) = scan.read(file) {
            let label = label.trim_end_matches(['\0', '\n']).to_owned();
            if !label.is_empty() {
                seen = Some((file, label));
                break;
            }
        }
    }
    let mut evidence = Vec::new();
    match &seen {
        Some((file, label)) if label_confines(label) => {
            // SELinux labels processes in permissive mode too, where it only logs.
            let selinux = label.split(':').count() >= 4;
            let enforce = scan.read("/sys/fs/selinux/enforce").unwrap_or_default();
            if !(selinux && enforce.trim() == "0") {
                return;
            }
            evidence.push(format!("{file}: {}", shown(label)));
            evidence.push(
                "/sys/fs/selinux/enforce: 0 (permissive: denials are logged, not enforced)".into(),
            );
        }
        Some((file, label)) => evidence.push(format!("{file}: {}", shown(label))),
        None => {
            evidence.push(
                "no AppArmor or SELinux label (/proc/self/attr/current absent or empty)".into(),
            );
            // Why there is none: the LSMs the kernel runs, when securityfs or sysfs shows them.
            if let Ok(lsms) = scan.read("/sys/kernel/security/lsm") {
                evidence.push(format!("/sys/kernel/security/lsm: {}", shown(lsms.trim())));
            }
            if let Ok(enabled) = scan.read("/sys/module/apparmor/parameters/enabled") {
                evidence.push(format!(
                    "/sys/module/apparmor/parameters/enabled: {}",
                    shown(enabled.trim())
                ));
            }
        }
    }
    scan.found(Finding {
        id: "lsm",
        severity: Severity::Medium,
        title: "no AppArmor or SELinux profile confines the process".into(),
        evidence,
        fix: "run under the runtime's AppArmor or SELinux profile: drop `--security-opt \
              apparmor=unconfined`, `label=disable` and `--privileged` (compose: `security_opt`); \
              Kubernetes `securityContext.appArmorProfile.type: RuntimeDefault` or \
              `seLinuxOptions`, on a node with AppArmor or SELinux enabled",
        source: "/proc/self/attr/current",
    });
}

/// Network interfaces that only the host's namespace has: bridges and the host ends of veth
/// pairs. (`tunl0`, `sit0` and friends appear in every namespace once their module is loaded.)
const HOST_INTERFACES: [&str; 10] = [
    "docker0", "veth", "cni", "flannel", "cali", "cilium_", "kube-", "weave", "virbr", "br-",
];

fn check_namespaces(scan: &mut Scan<'_>) {
    // PID 2 is kthreadd in the host's PID namespace only; a container's namespace never shows
    // kernel threads.
    if let Ok(comm) = scan.read("/proc/2/comm") {
        if comm.trim_end() == "kthreadd" {
            scan.found(Finding {
                id: "host-pid-namespace",
                severity: Severity::High,
                title: "the process shares the host's PID namespace: host processes are \
                        visible and, with the right capability, traceable"
                    .into(),
                evidence: vec!["/proc/2/comm: kthreadd (a kernel thread is visible)".into()],
                fix: "drop `--pid host` (compose `pid: host`; Kubernetes `hostPID: false`)",
                source: "/proc/2/comm",
            });
        }
    }
    let mut evidence = Vec::new();
    if let Ok(dev) = scan.read("/proc/self/net/dev") {
        // Two header lines, then `  name: counters...`.
        let names: Vec<&str> = dev
            .lines()
            .skip(2)
            .filter_map(|l| l.split_once(':').map(|(n, _)| n.trim()))
            .filter(|n| HOST_INTERFACES.iter().any(|p| n.starts_with(p)))
            .collect();
        if !names.is_empty() {
            evidence.push(format!(
                "/proc/self/net/dev: host interfaces {}",
                shown(&names.join(", "))
            ));
        }
    }
    if let Ok(unix) = scan.read("/proc/self/net/unix") {
        // Abstract sockets are per network namespace; containerd-shim's (CVE-2020-15257) and
        // the runtimes' own sockets are only listed in the host's.
        let paths: Vec<&str> = unix
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(7))
            .filter(|p| {
                p.starts_with("@/containerd-shim")
                    || p.ends_with("/containerd.sock")
                    || p.ends_with("/docker.sock")
            })
            .take(3)
            .collect();
        if !paths.is_empty() {
            evidence.push(format!("/proc/self/net/unix: {}", shown(&paths.join(", "))));
        }
    }
    if !evidence.is_empty() {
        scan.found(Finding {
            id: "host-network-namespace",
            severity: Severity::High,
            title: "the process shares the host's network namespace: host-only services and \
                    the runtime's abstract sockets are reachable"
                .into(),
            evidence,
            fix: "drop `--network host` (compose `network_mode: host`; Kubernetes \
                  `hostNetwork: false`)",
            source: "/proc/self/net/dev",
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_default_caps_are_the_fourteen() {
        assert_eq!(
            cap_names(DOCKER_DEFAULT_CAPS),
            [
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "FSETID",
                "KILL",
                "SETGID",
                "SETUID",
                "SETPCAP",
                "NET_BIND_SERVICE",
                "NET_RAW",
                "SYS_CHROOT",
                "MKNOD",
                "AUDIT_WRITE",
                "SETFCAP"
            ]
        );
    }

    #[test]
    fn labels() {
        assert!(label_confines("docker-default (enforce)"));
        assert!(label_confines("system_u:system_r:container_t:s0:c1,c2"));
        assert!(!label_confines("unconfined"));
        assert!(!label_confines("docker-default (complain)"));
        assert!(!label_confines("system_u:system_r:spc_t:s0"));
    }
}
