//! The doctor: the container around the app, checked from inside it.
//!
//! An app running as root with the runtime's socket mounted, every capability, no seccomp
//! filter or the host's root mounted at `/host` is one bug away from the host whatever the app
//! does. The doctor reads what an unprivileged process can read about its own confinement
//! (`/proc/self/status`, `uid_map`, the LSM label, `mountinfo`, `/sys`, `/dev`, the names of
//! its environment) and reports each weakness as a [`Finding`] with a stable id, a severity,
//! the evidence it saw and the runtime setting that removes it.
//!
//! It only reads: no file is written or created, no socket connected, no signal sent, nothing
//! opened on the network. Runtime sockets are recognised by `lstat` and by `mountinfo`, and
//! cgroup `release_agent` files are tested with `faccessat(W_OK)`, never written.
//!
//! Everything is read beneath [`Options::root`] (`ROOT/proc/self/status`, ...), so a test
//! can lay a fixture tree out like `/`. Two checks cannot come from files: whether `openat2`
//! and Landlock work are answered by live system calls when the root is `/`; under any other
//! root they are read from `ROOT/doctor-probes` (see [`probes`]) and reported as not checked
//! when that file is absent. Paths beneath a fixture root are resolved as the kernel resolves
//! them, so an absolute symlink in a fixture tree points into the real `/`: fixtures use
//! relative links.

mod exposure;
mod mountinfo;
mod mounts;
pub mod probes;
mod process;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::error::{excerpt, key, Error, Field, Result};

pub use mountinfo::{Mount, MountInfo};

/// How bad a finding is, from the least to the most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth knowing; nothing to fix.
    Info,
    /// A weakness that needs another one to matter.
    Low,
    /// A missing layer of defence.
    Medium,
    /// One bug in the app away from the host, or from data it should not reach.
    High,
    /// A known, public container escape is open.
    Critical,
}

impl Severity {
    /// Every severity, the most severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Info,
    ];

    /// Its stable name, for bindings and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::High => "high",
            Severity::Medium => "medium",
            Severity::Low => "low",
            Severity::Info => "info",
        }
    }

    /// SARIF's `security-severity` (a CVSS-like score; GitHub reads 9.0+ as critical, 7.0+ as
    /// high, 4.0+ as medium, above 0 as low).
    pub fn security_severity(self) -> &'static str {
        match self {
            Severity::Critical => "9.5",
            Severity::High => "8.0",
            Severity::Medium => "5.5",
            Severity::Low => "3.0",
            Severity::Info => "0.0",
        }
    }

    /// Parses a severity name, refusing anything else with the list of valid names.
    pub fn parse(name: &str) -> Result<Severity> {
        Severity::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
                Error::configuration(format!(
                    "unknown severity \"{}\": use one of {}",
                    excerpt(name, 40),
                    names.join(", ")
                ))
            })
    }

    /// One step less severe (a capability inside a user namespace, a read-only mount).
    fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium => Severity::Low,
            Severity::Low | Severity::Info => Severity::Info,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every finding id, in report order for findings of equal severity. Stable: they are the
/// SARIF rule ids and what `fail_on` lists name.
pub const IDS: [&str; 18] = [
    "root-user",
    "capabilities",
    "no-new-privs",
    "seccomp",
    "lsm",
    "runtime-socket",
    "host-mount",
    "writable-proc-sys",
    "writable-sysfs",
    "cgroup-release-agent",
    "host-pid-namespace",
    "host-network-namespace",
    "block-devices",
    "service-account-token",
    "secret-env",
    "openat2",
    "landlock",
    "root-on-host-mount",
];

/// One weakness of the container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// A stable id from [`IDS`].
    pub id: &'static str,
    /// How bad it is.
    pub severity: Severity,
    /// One line saying what is wrong.
    pub title: String,
    /// What was seen: lines or values (environment variables by name only, never a value).
    pub evidence: Vec<String>,
    /// The Docker, Kubernetes or compose setting that removes it.
    pub fix: &'static str,
    /// The file (as the container names it) the evidence comes from.
    pub source: &'static str,
}

/// What to check, and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The tree laid out like `/`: `/` itself for this process.
    pub root: PathBuf,
    /// The names of the environment variables to look at (values are never needed).
    pub env_names: Vec<String>,
    /// Base directories of the app's `Root`s, as the container names them.
    pub roots: Vec<PathBuf>,
}

/// The outcome of [`run`].
#[derive(Debug, Clone)]
pub struct Report {
    /// The findings, the most severe first.
    pub findings: Vec<Finding>,
    /// Checks that could not be made, with why (`(id, reason)`).
    pub not_checked: Vec<(&'static str, String)>,
    /// What the probes of the gem's own defences answered (`(name, answer)`).
    pub probes: Vec<(&'static str, String)>,
}

impl Report {
    /// The positions in [`Report::findings`] of the findings at or above `fail_on`.
    pub fn at_or_above(&self, fail_on: Severity) -> Vec<usize> {
        (0..self.findings.len())
            .filter(|&i| self.findings[i].severity >= fail_on)
            .collect()
    }

    /// Whether no finding is at or above `fail_on`.
    pub fn ok(&self, fail_on: Severity) -> bool {
        self.at_or_above(fail_on).is_empty()
    }
}

/// Where the checks read from, and what they collected.
pub(crate) struct Scan<'a> {
    root: &'a Path,
    pub(crate) live: bool,
    findings: Vec<Finding>,
    not_checked: Vec<(&'static str, String)>,
    probes: Vec<(&'static str, String)>,
}

/// Files above this size are not read whole: no procfs file the doctor reads comes near it,
/// so a bigger one is a fixture mistake or a trap.
const MAX_FILE: u64 = 8 << 20;

impl<'a> Scan<'a> {
    /// `ROOT/rel`, where `rel` is an absolute container path.
    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel.trim_start_matches('/'))
    }

    /// Reads `ROOT/rel` as text (lossy: procfs files are ASCII; paths in them are escaped).
    pub(crate) fn read(&self, rel: &str) -> std::io::Result<String> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: a FIFO planted in a fixture tree must not hang the doctor (on a regular
        // or procfs file the flag changes nothing).
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(self.path(rel))?;
        let mut bytes = Vec::new();
        file.take(MAX_FILE).read_to_end(&mut bytes)?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    pub(crate) fn found(&mut self, finding: Finding) {
        self.findings.push(finding);
    }

    pub(crate) fn not_checked(&mut self, id: &'static str, why: String) {
        self.not_checked.push((id, why));
    }

    pub(crate) fn probe(&mut self, name: &'static str, answer: String) {
        self.probes.push((name, answer));
    }
}

/// A value seen in a file, made safe to print: control characters escaped, long values cut.
pub(crate) fn shown(value: &str) -> String {
    excerpt(value, 200)
}

/// Runs every check. Fails only when `root` is not a readable directory; a single unreadable
/// file is reported in [`Report::not_checked`] instead.
pub fn run(options: &Options) -> Result<Report> {
    let canonical = std::fs::canonicalize(&options.root).map_err(|e| {
        Error::configuration(format!(
            "the doctor's root {} cannot be read ({e}): give a directory laid out like / \
             (ROOT/proc/self/status, ROOT/proc/self/mountinfo), or \"/\"",
            shown(&options.root.to_string_lossy())
        ))
        .with(key::OPTION, Field::Name("root"))
    })?;
    if !canonical.is_dir() {
        return Err(Error::configuration(format!(
            "the doctor's root {} is not a directory: give a directory laid out like /, or \"/\"",
            shown(&options.root.to_string_lossy())
        ))
        .with(key::OPTION, Field::Name("root")));
    }
    let mut scan = Scan {
        root: &canonical,
        live: canonical == Path::new("/"),
        findings: Vec::new(),
        not_checked: Vec::new(),
        probes: Vec::new(),
    };
    let identity = process::check(&mut scan);
    let mounts = match scan.read("/proc/self/mountinfo") {
        Ok(text) => Some(MountInfo::parse(&text)),
        Err(e) => {
            scan.not_checked(
                "host-mount",
                format!("/proc/self/mountinfo could not be read ({e})"),
            );
            None
        }
    };
    if let Some(mounts) = &mounts {
        mounts::check(&mut scan, mounts, &identity, &options.roots);
    }
    exposure::check(&mut scan, &identity, &options.env_names);
    probes::check(&mut scan);

    let mut findings = scan.findings;
    findings.sort_by_key(|f| {
        (
            std::cmp::Reverse(f.severity),
            IDS.iter().position(|id| *id == f.id).unwrap_or(IDS.len()),
        )
    });
    Ok(Report {
        findings,
        not_checked: scan.not_checked,
        probes: scan.probes,
    })
}
