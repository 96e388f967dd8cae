//! What the process can reach besides its own files: block devices of the host, a Kubernetes
//! service-account token, secrets handed over in the environment.

use std::os::unix::fs::FileTypeExt;

use rustix::fs::{Access, AtFlags, CWD};

use super::process::Identity;
use super::{shown, Finding, Scan, Severity};

/// Where the kubelet mounts the pod's service-account token.
const TOKEN_PATHS: [&str; 2] = [
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
    "/run/secrets/kubernetes.io/serviceaccount/token",
];

/// Names that hold a secret by convention. Matched on the upper-cased name.
const SECRET_SUFFIXES: [&str; 9] = [
    "_KEY",
    "_SECRET",
    "_TOKEN",
    "_PASSWORD",
    "_PASSWD",
    "_PASSPHRASE",
    "_CREDENTIALS",
    "_CREDENTIAL",
    "_DATABASE_URL",
];
const SECRET_NAMES: [&str; 6] = [
    "DATABASE_URL",
    "SECRET_KEY_BASE",
    "PASSWORD",
    "SECRET",
    "TOKEN",
    "API_KEY",
];
/// Names that end like a secret but are public by design (`GPG_KEY` is the key *id* official
/// language images set to verify their downloads).
const PUBLIC_NAMES: [&str; 3] = ["GPG_KEY", "PUBLIC", "PUBLISHABLE"];

/// Whether an environment variable's name says it holds a secret. The value is never looked at.
pub fn secret_name(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    if PUBLIC_NAMES
        .iter()
        .any(|p| upper == *p || upper.contains(p))
    {
        return false;
    }
    SECRET_NAMES.contains(&upper.as_str())
        || SECRET_SUFFIXES.iter().any(|s| upper.ends_with(s))
        || upper.contains("SECRET")
        || upper.contains("PASSWORD")
}

pub(crate) fn check(scan: &mut Scan<'_>, id: &Identity, env_names: &[String]) {
    block_devices(scan, id);
    if let Some(path) = TOKEN_PATHS.iter().find(|p| scan.path(p).is_file()) {
        scan.found(Finding {
            id: "service-account-token",
            severity: Severity::Medium,
            title: "a Kubernetes service-account token is mounted: whoever reads files as the \
                    app talks to the API server as its service account"
                .into(),
            evidence: vec![format!("{path} exists (its contents were not read)")],
            fix: "Kubernetes `automountServiceAccountToken: false` on the pod (or its \
                  ServiceAccount) unless the app calls the API; if it does, bind a Role with \
                  only the verbs it needs",
            source: path,
        });
    }
    let mut names: Vec<&str> = env_names
        .iter()
        .map(String::as_str)
        .filter(|n| secret_name(n))
        .collect();
    names.sort_unstable();
    names.dedup();
    if !names.is_empty() {
        scan.found(Finding {
            id: "secret-env",
            severity: Severity::Low,
            title: "secrets are passed in the environment: it is inherited by children, \
                    readable in /proc/PID/environ and copied into crash reports"
                .into(),
            evidence: vec![format!(
                "names (values not read): {}",
                shown(&names.join(", "))
            )],
            fix: "pass secrets as files: Docker/compose `secrets:`, a Kubernetes Secret volume \
                  (not `env:`/`envFrom:`), read once at boot",
            source: "/proc/self/environ",
        });
    }
}

fn block_devices(scan: &mut Scan<'_>, id: &Identity) {
    let Ok(entries) = std::fs::read_dir(scan.path("/dev")) else {
        return;
    };
    let mut names = Vec::new();
    let mut accessible = false;
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_block_device()) {
            let path = entry.path();
            // faccessat only asks permission bits and the mount; the device cgroup may still
            // refuse the open, so an accessible node is high and a visible one low.
            accessible |=
                rustix::fs::accessat(CWD, &path, Access::READ_OK, AtFlags::EACCESS).is_ok();
            names.push(format!("/dev/{}", entry.file_name().to_string_lossy()));
        }
    }
    if names.is_empty() {
        return;
    }
    names.sort();
    let total = names.len();
    names.truncate(8);
    let more = if total > 8 {
        format!(" and {} more", total - 8)
    } else {
        String::new()
    };
    scan.found(Finding {
        id: "block-devices",
        severity: if accessible || id.host_root() {
            Severity::High
        } else {
            Severity::Low
        },
        title: "block devices of the host are visible: mounting or reading one reads the \
                host's disks"
            .into(),
        evidence: vec![format!(
            "block devices in /dev: {}{more}{}",
            shown(&names.join(", ")),
            if accessible {
                " (readable by this process)"
            } else {
                ""
            }
        )],
        fix: "remove `--privileged` and `--device /dev/...` (compose `privileged: false`, \
              `devices:`); Kubernetes `privileged: false`, no hostPath of /dev",
        source: "/dev",
    });
}

#[cfg(test)]
mod tests {
    use super::secret_name;

    #[test]
    fn secret_names() {
        for n in [
            "DATABASE_URL",
            "STRIPE_SECRET_KEY",
            "github_token",
            "DB_PASSWORD",
        ] {
            assert!(secret_name(n), "{n}");
        }
        for n in [
            "HOME",
            "PATH",
            "GPG_KEY",
            "STRIPE_PUBLISHABLE_KEY",
            "KEYMAP",
            "TOKENIZERS",
        ] {
            assert!(!secret_name(n), "{n}");
        }
    }
}
