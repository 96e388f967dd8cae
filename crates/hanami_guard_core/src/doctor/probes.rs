//! The gem's own defences: does `openat2` work (so `Root` resolves in one kernel call), and
//! which Landlock ABI is there (so `Command`'s `fs:` rules are enforced)?
//!
//! Under `/` these are live system calls: `openat2(".", O_PATH, RESOLVE_BENEATH)` from an
//! `O_PATH` descriptor of `/`, and `landlock_create_ruleset(NULL, 0, VERSION)`, which only
//! returns the ABI number. Neither writes or creates anything.
//!
//! Under any other root (a fixture tree) they cannot be asked of the kernel, so they are read
//! from `ROOT/doctor-probes`, one answer per line:
//!
//! ```text
//! openat2 ok          # or: ENOSYS, EPERM (what the call returned)
//! landlock 6          # the ABI number, or: ENOSYS, EOPNOTSUPP
//! ```
//!
//! Without that file both are listed in the report's `not_checked`, not guessed.

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::{shown, Finding, Scan, Severity};

/// The Landlock ABI whose rights `Command` handles (see `command::sandbox`): v5, Linux 6.10.
pub const COMMAND_LANDLOCK_ABI: i32 = 5;

/// What a probe answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `openat2` worked; or the Landlock ABI number.
    Ok(i32),
    /// The call failed with this errno.
    Failed(i32),
}

fn errno_name(errno: i32) -> String {
    match errno {
        libc::ENOSYS => "ENOSYS".into(),
        libc::EPERM => "EPERM".into(),
        libc::EOPNOTSUPP => "EOPNOTSUPP".into(),
        libc::EACCES => "EACCES".into(),
        libc::EINVAL => "EINVAL".into(),
        n => format!("errno {n}"),
    }
}

fn errno_from_name(name: &str) -> Option<i32> {
    Some(match name {
        "ENOSYS" => libc::ENOSYS,
        "EPERM" => libc::EPERM,
        "EOPNOTSUPP" => libc::EOPNOTSUPP,
        "EACCES" => libc::EACCES,
        "EINVAL" => libc::EINVAL,
        _ => return None,
    })
}

fn live_openat2() -> Answer {
    let dir = match rustix::fs::open(
        "/",
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(dir) => dir,
        Err(e) => return Answer::Failed(e.raw_os_error()),
    };
    match rustix::fs::openat2(
        &dir,
        ".",
        OFlags::PATH | OFlags::CLOEXEC,
        Mode::empty(),
        ResolveFlags::BENEATH,
    ) {
        Ok(_) => Answer::Ok(0),
        Err(e) => Answer::Failed(e.raw_os_error()),
    }
}

fn live_landlock() -> Answer {
    match crate::sys::landlock_abi_version() {
        Ok(v) => Answer::Ok(v),
        Err(e) => Answer::Failed(e.raw_os_error().unwrap_or(Errno::NOSYS.raw_os_error())),
    }
}

/// Parses `doctor-probes` (see the module documentation): `(openat2, landlock)`.
pub fn parse_probe_file(text: &str) -> (Option<Answer>, Option<Answer>) {
    let mut openat2 = None;
    let mut landlock = None;
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some((name, value)) = line.split_once(char::is_whitespace) else {
            continue;
        };
        let value = value.trim();
        let answer = if value == "ok" {
            Some(Answer::Ok(0))
        } else if let Ok(n) = value.parse::<i32>() {
            Some(Answer::Ok(n))
        } else {
            errno_from_name(value).map(Answer::Failed)
        };
        match name {
            "openat2" => openat2 = answer,
            "landlock" => landlock = answer,
            _ => {}
        }
    }
    (openat2, landlock)
}

/// `major.minor` of `/proc/sys/kernel/osrelease`.
fn kernel_version(scan: &Scan<'_>) -> Option<(u32, u32)> {
    let release = scan.read("/proc/sys/kernel/osrelease").ok()?;
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

pub(crate) fn check(scan: &mut Scan<'_>) {
    let (openat2, landlock) = if scan.live {
        (Some(live_openat2()), Some(live_landlock()))
    } else {
        match scan.read("/doctor-probes") {
            Ok(text) => parse_probe_file(&text),
            Err(_) => (None, None),
        }
    };
    let kernel = kernel_version(scan);
    match openat2 {
        None => scan.not_checked(
            "openat2",
            "not a live run and ROOT/doctor-probes has no openat2 line".into(),
        ),
        Some(answer) => check_openat2(scan, answer, kernel),
    }
    match landlock {
        None => scan.not_checked(
            "landlock",
            "not a live run and ROOT/doctor-probes has no landlock line".into(),
        ),
        Some(answer) => check_landlock(scan, answer),
    }
}

fn check_openat2(scan: &mut Scan<'_>, answer: Answer, kernel: Option<(u32, u32)>) {
    let errno = match answer {
        Answer::Ok(_) => {
            scan.probe("openat2", "available".into());
            return;
        }
        Answer::Failed(errno) => errno,
    };
    // openat2 arrived in Linux 5.6: ENOSYS on a newer kernel is a seccomp filter's answer.
    let why = match (errno, kernel) {
        (libc::ENOSYS, Some(v)) if v < (5, 6) => {
            format!("missing: Linux {}.{} predates openat2 (5.6)", v.0, v.1)
        }
        (libc::ENOSYS, Some(v)) => format!(
            "filtered: ENOSYS on Linux {}.{}, which has openat2, so a seccomp profile refuses it",
            v.0, v.1
        ),
        (libc::ENOSYS, None) => "ENOSYS: missing, or filtered by seccomp".into(),
        (errno, _) => format!("filtered: the call fails with {}", errno_name(errno)),
    };
    scan.probe("openat2", why.clone());
    scan.found(Finding {
        id: "openat2",
        severity: Severity::Medium,
        title: "openat2 is not usable: Root falls back to its component walk, which is slower \
                and the second line of defence rather than the kernel's own"
            .into(),
        evidence: vec![shown(&why)],
        fix: "allow openat2 in the runtime's seccomp profile (Docker 20.10+ and current \
              containerd/CRI-O defaults do: update the runtime or pass a current profile with \
              `--security-opt seccomp=PROFILE.json`; Kubernetes `seccompProfile: \
              RuntimeDefault`), and run on Linux 5.6 or later",
        source: "openat2(2)",
    });
}

fn check_landlock(scan: &mut Scan<'_>, answer: Answer) {
    let (severity, why) = match answer {
        Answer::Ok(abi) if abi >= COMMAND_LANDLOCK_ABI => {
            scan.probe(
                "landlock",
                format!("ABI {abi}: Command's fs: rules are enforced in full"),
            );
            return;
        }
        Answer::Ok(abi) => {
            let mut missing = Vec::new();
            if abi < 2 {
                missing.push("renaming and linking across directories (refer, ABI 2)");
            }
            if abi < 3 {
                missing.push("truncate (ABI 3)");
            }
            missing.push("device ioctls (ABI 5)");
            (
                Severity::Low,
                format!(
                    "ABI {abi}: Command's fs: rules are enforced except {}",
                    missing.join(", ")
                ),
            )
        }
        Answer::Failed(libc::EOPNOTSUPP) => (
            Severity::Medium,
            "EOPNOTSUPP: the kernel has Landlock but it is not enabled (`lsm=` boot parameter); \
             Command's fs: rules are not enforced"
                .to_owned(),
        ),
        Answer::Failed(errno) => (
            Severity::Medium,
            format!(
                "{}: no Landlock (a kernel before 5.13, or a seccomp profile that filters it); \
                 Command's fs: rules are not enforced",
                errno_name(errno)
            ),
        ),
    };
    scan.probe("landlock", why.clone());
    scan.found(Finding {
        id: "landlock",
        severity,
        title: "Landlock is missing or older than the rules Command applies".into(),
        evidence: vec![why],
        fix: "run on Linux 6.10 or later with Landlock enabled (`lsm=...,landlock`), and a \
              seccomp profile that allows landlock_create_ruleset, landlock_add_rule and \
              landlock_restrict_self (Docker 24+'s default does)",
        source: "landlock_create_ruleset(2)",
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_file() {
        let (o, l) = parse_probe_file("openat2 EPERM # filtered\nlandlock 3\n");
        assert_eq!(o, Some(Answer::Failed(libc::EPERM)));
        assert_eq!(l, Some(Answer::Ok(3)));
        assert_eq!(parse_probe_file("nonsense"), (None, None));
    }
}
