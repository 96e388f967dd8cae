//! The optional Landlock ruleset (`fs: { read: [...], write: [...], exec: [...] }`).
//!
//! The paths are opened (`O_PATH`) once, when the command is defined, so a missing path is a
//! configuration error at boot and a later rename cannot widen the rules. At run time the
//! ruleset is built and applied to the short-lived thread that spawns the child; the child
//! inherits it. Best effort: on a kernel without Landlock nothing is enforced and the report
//! says so.
//!
//! Handled rights are the filesystem rights of Landlock ABI v5 (Linux 6.10): execute, read and
//! write files, read directories, create/remove/rename entries, truncate, device ioctls. What
//! is not listed is denied. `read:` allows reading files and listing directories beneath each
//! path; `write:` allows that plus every write right; `exec:` allows executing (and reading).
//! So that the program can start at all, the executable and its ELF interpreter (the dynamic
//! loader, which `execve` opens for execution) may always be executed and read, and the
//! directories the loader reads libraries from (`/lib*`, `/usr/lib*`, `/etc/ld.so.cache`) read.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    make_bitflags, Access, AccessFs, BitFlags, PathBeneath, Ruleset, RulesetAttr,
    RulesetCreatedAttr, RulesetStatus, ABI,
};
use rustix::fs::{Mode, OFlags};

use crate::error::{excerpt, Error, Result};

const TARGET_ABI: ABI = ABI::V5;

/// What a command's `fs:` option asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FsRules {
    /// Paths the child may read (files) or list and read beneath (directories).
    pub read: Vec<PathBuf>,
    /// Paths the child may read and write beneath.
    pub write: Vec<PathBuf>,
    /// Paths the child may execute (and read).
    pub exec: Vec<PathBuf>,
}

/// How much of the requested Landlock ruleset the kernel enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockStatus {
    /// No `fs:` was given.
    NotRequested,
    /// Every requested right is enforced.
    FullyEnforced,
    /// Some rights are enforced (an older kernel).
    PartiallyEnforced,
    /// The kernel has no Landlock (or it is disabled): nothing is enforced.
    NotEnforced,
}

impl LandlockStatus {
    /// The Ruby Symbol name.
    pub fn as_str(self) -> &'static str {
        match self {
            LandlockStatus::NotRequested => "not_requested",
            LandlockStatus::FullyEnforced => "fully_enforced",
            LandlockStatus::PartiallyEnforced => "partially_enforced",
            LandlockStatus::NotEnforced => "not_enforced",
        }
    }
}

#[derive(Debug)]
struct Rule {
    fd: OwnedFd,
    is_dir: bool,
    access: BitFlags<AccessFs>,
}

/// The opened paths and their rights, ready to apply.
#[derive(Debug)]
pub struct Landlock {
    rules: Vec<Rule>,
}

fn read_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{ ReadFile | ReadDir })
}

fn exec_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{ Execute | ReadFile | ReadDir })
}

fn open_path(path: &Path, what: &str) -> Result<Option<(OwnedFd, bool)>> {
    if !path.is_absolute() {
        return Err(Error::Configuration(format!(
            "fs: {what} path `{}` is relative: give absolute paths",
            excerpt(&path.to_string_lossy(), 60)
        )));
    }
    match rustix::fs::open(path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()) {
        Ok(fd) => {
            let is_dir = rustix::fs::fstat(&fd)
                .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
                .unwrap_or(false);
            Ok(Some((fd, is_dir)))
        }
        Err(rustix::io::Errno::NOENT) => Ok(None),
        Err(e) => Err(Error::io(
            e,
            format!(
                "opening fs: {what} path {}",
                excerpt(&path.to_string_lossy(), 60)
            ),
        )),
    }
}

/// The `PT_INTERP` path of a 64-bit little-endian ELF executable (`/lib64/ld-linux-x86-64.so.2`),
/// or `None` for anything else (a static binary, a script: then nothing extra is allowed).
fn elf_interpreter(exe: &Path) -> Option<PathBuf> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(exe).ok()?;
    let mut header = [0u8; 64];
    f.read_exact(&mut header).ok()?;
    // ELF magic, ELFCLASS64, ELFDATA2LSB.
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    let u16_at = |b: &[u8], o: usize| u16::from_le_bytes([b[o], b[o + 1]]);
    let u64_at = |b: &[u8], o: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[o..o + 8]);
        u64::from_le_bytes(a)
    };
    let phoff = u64_at(&header, 32);
    let phentsize = u16_at(&header, 54) as usize;
    let phnum = u16_at(&header, 56) as usize;
    if phentsize < 56 || phnum > 256 {
        return None;
    }
    let mut table = vec![0u8; phentsize * phnum];
    f.seek(SeekFrom::Start(phoff)).ok()?;
    f.read_exact(&mut table).ok()?;
    for ph in table.chunks_exact(phentsize) {
        const PT_INTERP: u32 = 3;
        if u32::from_le_bytes([ph[0], ph[1], ph[2], ph[3]]) == PT_INTERP {
            let offset = u64_at(ph, 8);
            let size = u64_at(ph, 32).min(4096) as usize;
            let mut path = vec![0u8; size];
            f.seek(SeekFrom::Start(offset)).ok()?;
            f.read_exact(&mut path).ok()?;
            let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
            path.truncate(end);
            use std::os::unix::ffi::OsStringExt;
            return Some(PathBuf::from(std::ffi::OsString::from_vec(path)));
        }
    }
    None
}

impl Landlock {
    /// Opens every path of `rules` plus the ones the executable needs to start.
    pub fn open(rules: &FsRules, exe: &Path) -> Result<Self> {
        let mut out = Vec::new();
        let groups: [(&[PathBuf], BitFlags<AccessFs>, &str); 3] = [
            (&rules.read, read_rights(), "read"),
            (
                &rules.write,
                AccessFs::from_write(TARGET_ABI) | read_rights(),
                "write",
            ),
            (&rules.exec, exec_rights(), "exec"),
        ];
        for (paths, access, what) in groups {
            for p in paths {
                match open_path(p, what)? {
                    Some((fd, is_dir)) => out.push(Rule { fd, is_dir, access }),
                    None => {
                        return Err(Error::Configuration(format!(
                            "fs: {what} path `{}` does not exist: create it before defining the \
                             command (paths are opened once, at definition)",
                            excerpt(&p.to_string_lossy(), 60)
                        )))
                    }
                }
            }
        }
        // What any dynamically linked program needs to start: its ELF interpreter (the
        // dynamic loader, which execve opens for execution) and the libraries.
        if let Some(interp) = elf_interpreter(exe) {
            if let Some((fd, is_dir)) = open_path(&interp, "implicit")? {
                out.push(Rule {
                    fd,
                    is_dir,
                    access: exec_rights(),
                });
            }
        }
        let implicit: [(&Path, BitFlags<AccessFs>); 8] = [
            (exe, exec_rights()),
            (Path::new("/lib"), read_rights()),
            (Path::new("/lib64"), read_rights()),
            (Path::new("/lib32"), read_rights()),
            (Path::new("/usr/lib"), read_rights()),
            (Path::new("/usr/lib64"), read_rights()),
            (Path::new("/usr/lib32"), read_rights()),
            (Path::new("/etc/ld.so.cache"), read_rights()),
        ];
        for (p, access) in implicit {
            if let Some((fd, is_dir)) = open_path(p, "implicit")? {
                out.push(Rule { fd, is_dir, access });
            }
        }
        Ok(Landlock { rules: out })
    }

    /// Restricts the calling thread (and so every child it spawns afterwards).
    pub fn restrict_current_thread(&self) -> Result<LandlockStatus> {
        let failed = |e: landlock::RulesetError| {
            Error::Command(format!("could not apply the Landlock ruleset: {e}"))
        };
        let file_rights = AccessFs::from_file(TARGET_ABI);
        let mut created = Ruleset::default()
            .handle_access(AccessFs::from_all(TARGET_ABI))
            .map_err(failed)?
            .create()
            .map_err(failed)?;
        for rule in &self.rules {
            let access = if rule.is_dir {
                rule.access
            } else {
                rule.access & file_rights
            };
            created = created
                .add_rule(PathBeneath::new(rule.fd.as_fd(), access))
                .map_err(failed)?;
        }
        let status = created.restrict_self().map_err(failed)?;
        Ok(match status.ruleset {
            RulesetStatus::FullyEnforced => LandlockStatus::FullyEnforced,
            RulesetStatus::PartiallyEnforced => LandlockStatus::PartiallyEnforced,
            RulesetStatus::NotEnforced => LandlockStatus::NotEnforced,
        })
    }
}
