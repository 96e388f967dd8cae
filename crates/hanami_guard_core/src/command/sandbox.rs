//! The child's Landlock domain.
//!
//! Where the kernel supports Landlock, every child runs in a domain of its own, even without
//! `fs:` rules, because a domain is what keeps a child running as the app's user out of the app:
//! - ptrace: a process in a domain cannot `PTRACE_ATTACH` to, or open `/proc/$PPID/fd/N` or
//!   `/proc/$PPID/mem` of, a process outside it (every ABI);
//! - `/proc`: no file under `/proc/PID/` can be opened (`environ`, which the ptrace rule does not
//!   cover on every kernel, included), by the rules below (every ABI);
//! - TCP: `bind` and `connect` are denied unless `net:` allows the port (ABI 4, Linux 6.7);
//! - scoping: no signal to, and no connection to an abstract UNIX socket of, a process outside
//!   the domain (ABI 6, Linux 6.12).
//!
//! Without `fs:`, the filesystem stays open but for `/proc/PID/` and device nodes (every right is
//! handled, which also lets a domain exist on kernels older than ABI 4, and granted as
//! [`open_filesystem`] says). With `fs:`, the paths are opened
//! (`O_PATH`) once, when the command is defined, so a missing path is a configuration error at
//! boot and a later rename cannot widen the rules; what is not listed is denied. `read:` allows
//! reading files and listing directories beneath each path; `write:` allows that plus creating,
//! removing, renaming and truncating regular files, directories, symlinks, FIFOs and sockets
//! (never device nodes: with CAP_MKNOD a child could make a character device for a raw disk or
//! the kernel log inside an upload directory); `exec:` allows executing (and reading). So that the
//! program can start at all, the executable and its ELF interpreter (the dynamic loader, which
//! `execve` opens for execution) may always be executed and read, and the directories the loader
//! reads libraries from (`/lib*`, `/usr/lib*`, `/etc/ld.so.cache`) read.
//!
//! Best effort: on a kernel without Landlock, or without a given ABI, what it lacks is not
//! enforced and the report says so. `HANAMI_GUARD_LANDLOCK=off` in the app's environment, read
//! when a command is defined, turns the domain off for that command (for kernels where Landlock
//! misbehaves, and for the specs that check the fallback); the report then says `disabled`.
//! What no Landlock ABI covers: connecting to a pathname UNIX socket (a mounted `docker.sock`),
//! UDP before ABI 8, and what the user may do through processes outside the domain.

use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use landlock::{
    make_bitflags, Access, AccessFs, AccessNet, BitFlags, NetPort, PathBeneath, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope, ABI,
};
use rustix::fs::{Mode, OFlags};

use crate::error::{excerpt, key, Error, Field, Result};

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

/// What a command's `net:` option asks for (TCP, Landlock ABI 4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetRules {
    /// Deny TCP `connect` except to these ports and `bind` except to these ports (both empty:
    /// no TCP at all). The default.
    Ports {
        /// Ports the child may connect to.
        connect: Vec<u16>,
        /// Ports the child may bind.
        bind: Vec<u16>,
    },
    /// Leave TCP alone (`net: :unrestricted`).
    Unrestricted,
}

impl NetRules {
    /// No TCP at all: the default for every command.
    pub fn deny_all() -> Self {
        NetRules::Ports {
            connect: Vec::new(),
            bind: Vec::new(),
        }
    }
}

/// What the child's domain restricts, as far as the kernel enforced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LandlockReport {
    /// The overall outcome.
    pub status: LandlockStatus,
    /// The kernel's Landlock ABI version (0: none).
    pub abi: u32,
    /// The child cannot ptrace processes outside its domain, nor open their `/proc/PID/mem` or
    /// `/proc/PID/fd/N`.
    pub ptrace: bool,
    /// The child can open no file under `/proc/PID/` (the app's `environ` and `cmdline`
    /// included): true for a domain without `fs:`, and for `fs:` rules that grant nothing in procfs.
    pub proc: bool,
    /// `fs:` rules are enforced.
    pub filesystem: bool,
    /// TCP is restricted: `Some(true)` every port denied, `Some(false)` only the ports of
    /// `net:` allowed, `None` unrestricted.
    pub tcp: Option<bool>,
    /// Signals to processes outside the domain are denied.
    pub signals: bool,
    /// Connections to abstract UNIX sockets outside the domain are denied.
    pub abstract_unix_sockets: bool,
}

impl LandlockReport {
    /// The report of a child that runs without a domain.
    pub fn none(status: LandlockStatus) -> Self {
        LandlockReport {
            status,
            abi: crate::sys::landlock_abi(),
            ptrace: false,
            proc: false,
            filesystem: false,
            tcp: None,
            signals: false,
            abstract_unix_sockets: false,
        }
    }
}

/// How much of the requested Landlock domain the kernel enforced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockStatus {
    /// Turned off with `HANAMI_GUARD_LANDLOCK=off`.
    Disabled,
    /// Every requested right is enforced.
    FullyEnforced,
    /// Some rights are enforced (an older kernel).
    PartiallyEnforced,
    /// The kernel has no Landlock (or it is disabled): nothing is enforced.
    NotEnforced,
}

impl LandlockStatus {
    /// Its stable name, for bindings and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            LandlockStatus::Disabled => "disabled",
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
    /// `None`: no `fs:` given, the filesystem stays open.
    rules: Option<Vec<Rule>>,
    net: NetRules,
}

fn read_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{ ReadFile | ReadDir })
}

/// What `write:` grants: every write right except making device nodes (`MakeChar`,
/// `MakeBlock`), which an upload or output directory never needs and which, with CAP_MKNOD,
/// would open raw disks or the kernel log through a node made inside it.
fn write_rights() -> BitFlags<AccessFs> {
    (AccessFs::from_write(TARGET_ABI) | read_rights())
        & !make_bitflags!(AccessFs::{ MakeChar | MakeBlock })
}

/// The rules of a domain without `fs:`, opened once per process: the filesystem stays open except
/// for the files of processes under `/proc`.
///
/// Landlock's ptrace rule keeps a child from attaching to the app and from opening
/// `/proc/$PPID/mem` or `/proc/$PPID/fd/N`, but some kernels (6.18 among them) still let a process
/// in a domain open `/proc/$PPID/environ`, which holds `SECRET_KEY_BASE` and `DATABASE_URL`. So
/// the domain grants every right (but making device nodes) beneath each entry of `/` except
/// procfs and sysfs; reading beneath sysfs and beneath each entry of procfs except the numbered
/// process directories and the links into them (`self`, `thread-self`, `mounts`, `net`); and
/// listing beneath `/`. Kernel tunables stay read-only to a child whatever its user may do
/// (`/proc/sys/kernel/core_pattern`, a cgroup's `release_agent`: the writes behind the classic
/// container escapes). What that costs: a
/// child can list `/proc/PID/` but open no file there, its own `/proc/self/status` or `maps`
/// included (as a child with `fs:` rules already cannot), so `ps`, `df` (through `/proc/mounts`)
/// and `ss` do not work in a child. A file opened through a magic link (`/proc/self/fd/N`,
/// `/dev/stdin`, `/proc/self/exe`) is checked at its own path, so those keep working. An entry
/// added to `/` after the first command ran is not granted.
fn open_filesystem() -> Result<&'static [Rule]> {
    static RULES: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
    if let Some(rules) = RULES.get() {
        return Ok(rules);
    }
    let rules = filesystem_rules()?;
    Ok(RULES.get_or_init(|| rules))
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
const SYSFS_MAGIC: i64 = 0x6265_6572;

fn filesystem_rules() -> Result<Vec<Rule>> {
    let failed =
        |e: std::io::Error, what: &str| Error::io(e, format!("{what} for the Landlock domain"));
    let open_dir = |p: &Path| {
        rustix::fs::open(p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map_err(|e| {
            Error::io(
                e,
                format!("opening {} for the Landlock domain", p.display()),
            )
        })
    };
    let everything =
        AccessFs::from_all(TARGET_ABI) & !make_bitflags!(AccessFs::{ MakeChar | MakeBlock });
    let mut rules = vec![Rule {
        fd: open_dir(Path::new("/"))?,
        is_dir: true,
        access: make_bitflags!(AccessFs::{ ReadDir }),
    }];
    for entry in std::fs::read_dir("/").map_err(|e| failed(e, "listing /"))? {
        let entry = entry.map_err(|e| failed(e, "listing /"))?;
        let path = entry.path();
        let Some((fd, kind)) = open_entry(&path) else {
            continue;
        };
        if kind == EntryKind::Dir && is_sysfs(&fd) {
            rules.push(Rule {
                fd,
                is_dir: true,
                access: read_rights(),
            });
            continue;
        }
        if kind == EntryKind::Dir && is_procfs(&fd) {
            for sub in std::fs::read_dir(&path).map_err(|e| failed(e, "listing /proc"))? {
                let sub = sub.map_err(|e| failed(e, "listing /proc"))?;
                let name = sub.file_name();
                let name = name.as_encoded_bytes();
                if !name.is_empty() && name.iter().all(u8::is_ascii_digit) {
                    continue;
                }
                if let Some((fd, kind)) = open_entry(&sub.path()) {
                    rules.push(Rule {
                        fd,
                        is_dir: kind == EntryKind::Dir,
                        access: read_rights(),
                    });
                }
            }
            continue;
        }
        rules.push(Rule {
            fd,
            is_dir: kind == EntryKind::Dir,
            access: everything,
        });
    }
    Ok(rules)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    Dir,
    Other,
}

/// Opens `path` itself (`O_PATH | O_NOFOLLOW`). A symlink is left out: what it points to is granted
/// (or not) where it lies, and a link such as `/proc/self` must not grant the app's own directory.
fn open_entry(path: &Path) -> Option<(OwnedFd, EntryKind)> {
    let fd = rustix::fs::open(
        path,
        OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .ok()?;
    let kind = rustix::fs::FileType::from_raw_mode(rustix::fs::fstat(&fd).ok()?.st_mode);
    match kind {
        rustix::fs::FileType::Symlink => None,
        rustix::fs::FileType::Directory => Some((fd, EntryKind::Dir)),
        _ => Some((fd, EntryKind::Other)),
    }
}

/// Whether `fs:` rules reach into procfs: a rule on `/` itself or on anything in procfs.
fn grants_proc(rules: &[Rule]) -> bool {
    let root = rustix::fs::stat("/").ok();
    rules.iter().any(|rule| {
        is_procfs(&rule.fd)
            || rustix::fs::fstat(&rule.fd).is_ok_and(|st| {
                root.is_some_and(|r| r.st_dev == st.st_dev && r.st_ino == st.st_ino)
            })
    })
}

fn is_procfs(fd: &OwnedFd) -> bool {
    fs_type(fd) == Some(PROC_SUPER_MAGIC)
}

fn is_sysfs(fd: &OwnedFd) -> bool {
    fs_type(fd) == Some(SYSFS_MAGIC)
}

// `f_type` is an i64 on x86_64 and narrower elsewhere.
#[allow(clippy::unnecessary_cast)]
fn fs_type(fd: &OwnedFd) -> Option<i64> {
    rustix::fs::fstatfs(fd).ok().map(|st| st.f_type as i64)
}

/// Whether `HANAMI_GUARD_LANDLOCK=off` is set.
pub fn disabled_by_environment() -> bool {
    std::env::var_os("HANAMI_GUARD_LANDLOCK").is_some_and(|v| v == "off")
}

fn exec_rights() -> BitFlags<AccessFs> {
    make_bitflags!(AccessFs::{ Execute | ReadFile | ReadDir })
}

fn open_path(path: &Path, what: &str) -> Result<Option<(OwnedFd, bool)>> {
    if !path.is_absolute() {
        return Err(Error::configuration(format!(
            "fs: {what} path `{}` is relative: give absolute paths",
            excerpt(&path.to_string_lossy(), 60)
        ))
        .with(key::OPTION, Field::Name("fs")));
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
    /// The domain of a command without `fs:` and with the default `net:` (no TCP): the same for
    /// every such command, so one long-lived thread can hold it.
    pub fn default_domain() -> Self {
        Landlock {
            rules: None,
            net: NetRules::deny_all(),
        }
    }

    /// Whether this is [`Landlock::default_domain`].
    pub fn is_default(&self) -> bool {
        self.rules.is_none() && self.net == NetRules::deny_all()
    }

    /// Opens every path of `rules` (if given) plus the ones the executable needs to start.
    pub fn open(rules: Option<&FsRules>, net: NetRules, exe: &Path) -> Result<Self> {
        let rules = match rules {
            Some(rules) => Some(Self::open_rules(rules, exe)?),
            None => None,
        };
        Ok(Landlock { rules, net })
    }

    fn open_rules(rules: &FsRules, exe: &Path) -> Result<Vec<Rule>> {
        let mut out = Vec::new();
        let groups: [(&[PathBuf], BitFlags<AccessFs>, &str); 3] = [
            (&rules.read, read_rights(), "read"),
            (&rules.write, write_rights(), "write"),
            (&rules.exec, exec_rights(), "exec"),
        ];
        for (paths, access, what) in groups {
            for p in paths {
                match open_path(p, what)? {
                    Some((fd, is_dir)) => out.push(Rule { fd, is_dir, access }),
                    None => {
                        return Err(Error::configuration(format!(
                            "fs: {what} path `{}` does not exist: create it before defining the \
                             command (paths are opened once, at definition)",
                            excerpt(&p.to_string_lossy(), 60)
                        ))
                        .with(key::OPTION, Field::Name("fs")))
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
        Ok(out)
    }

    /// Restricts the calling thread (and so every child it spawns afterwards), and says what
    /// the kernel enforced.
    pub fn restrict_current_thread(&self) -> Result<LandlockReport> {
        let failed = |e: landlock::RulesetError| {
            Error::command(
                super::check::SANDBOX,
                format!("could not apply the Landlock domain: {e}"),
            )
        };
        let all_fs = AccessFs::from_all(TARGET_ABI);
        let tcp = AccessNet::from_all(ABI::V4);
        let mut ruleset = Ruleset::default().handle_access(all_fs).map_err(failed)?;
        if let NetRules::Ports { .. } = self.net {
            ruleset = ruleset.handle_access(tcp).map_err(failed)?;
        }
        let mut created = ruleset
            .scope(Scope::from_all(ABI::V6))
            .map_err(failed)?
            .create()
            .map_err(failed)?;
        let rules: &[Rule] = match &self.rules {
            Some(rules) => rules,
            None => open_filesystem()?,
        };
        let file_rights = AccessFs::from_file(TARGET_ABI);
        for rule in rules {
            let access = if rule.is_dir {
                rule.access
            } else {
                rule.access & file_rights
            };
            created = created
                .add_rule(PathBeneath::new(rule.fd.as_fd(), access))
                .map_err(failed)?;
        }
        if let NetRules::Ports { connect, bind } = &self.net {
            for port in connect {
                created = created
                    .add_rule(NetPort::new(*port, AccessNet::ConnectTcp))
                    .map_err(failed)?;
            }
            for port in bind {
                created = created
                    .add_rule(NetPort::new(*port, AccessNet::BindTcp))
                    .map_err(failed)?;
            }
        }
        let status = created.restrict_self().map_err(failed)?;
        let status = match status.ruleset {
            RulesetStatus::FullyEnforced => LandlockStatus::FullyEnforced,
            RulesetStatus::PartiallyEnforced => LandlockStatus::PartiallyEnforced,
            RulesetStatus::NotEnforced => LandlockStatus::NotEnforced,
        };
        let abi = crate::sys::landlock_abi();
        let enforced = status != LandlockStatus::NotEnforced && abi >= 1;
        Ok(LandlockReport {
            status,
            abi,
            ptrace: enforced,
            proc: enforced && !self.rules.as_deref().is_some_and(grants_proc),
            filesystem: enforced && self.rules.is_some(),
            tcp: match &self.net {
                NetRules::Ports { connect, bind } if enforced && abi >= 4 => {
                    Some(connect.is_empty() && bind.is_empty())
                }
                _ => None,
            },
            signals: enforced && abi >= 6,
            abstract_unix_sockets: enforced && abi >= 6,
        })
    }
}
