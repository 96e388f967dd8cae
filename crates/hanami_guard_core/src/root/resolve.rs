//! Resolving a relative path beneath the base, with no window between check and open.
//!
//! Two resolvers give the same answers:
//!
//! * **kernel**: one `openat2(2)` call with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS` (plus
//!   `RESOLVE_NO_SYMLINKS` for `symlinks: :deny`, `RESOLVE_NO_XDEV` for `xdev: false`). The
//!   kernel refuses, atomically, every step that would leave the base directory: a `..` above
//!   it, an absolute symlink, a relative symlink climbing out, a `/proc` magic link. This is the
//!   fix for the runc escapes (CVE-2021-30465, CVE-2024-21626), where a path was checked and then
//!   opened while a directory was swapped for a symlink in between.
//! * **walk**: the fallback for kernels (or seccomp filters) without `openat2`. It opens one
//!   name at a time with `openat(O_NOFOLLOW | O_PATH)` from a directory it already holds open,
//!   reads symlinks itself (at most [`MAX_SYMLINKS`], then `ELOOP`, as the kernel does) and
//!   treats `..` as "back to the directory I came from", so it can never climb above the base:
//!   every directory it holds was reached downward from the base's own descriptor. Absolute
//!   symlink targets are refused (as `RESOLVE_BENEATH` refuses them), and any symlink that lives
//!   on procfs is treated as a magic link and refused.
//!
//! The walker also explains what the kernel only reports as an errno: `openat2` says `ELOOP`
//! for a loop, for a magic link and (under `RESOLVE_NO_SYMLINKS`) for any symlink, and `EXDEV`
//! for every escape; on those errors the walker runs to give the precise answer.
//!
//! Decision on `..`: a `..` that would go above the base is **refused** with
//! [`Error::PathEscape`], never clamped to the base (clamping would silently turn
//! `../../etc/passwd` into `etc/passwd` inside the root and hide an attack from the logs).

use std::collections::VecDeque;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicU8, Ordering};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::path::RelPath;
use super::{Resolver, Root, Symlinks};
use crate::error::{key, Error, Field, Result};

/// Symlinks followed in one resolution before `ELOOP`; Linux's own `MAXSYMLINKS`.
pub const MAX_SYMLINKS: u32 = 40;

/// `openat2` answers `EAGAIN` when a rename raced with a `..` under `RESOLVE_BENEATH`; it is
/// retried this many times, then the walker (which holds every directory open) takes over.
const EAGAIN_RETRIES: u32 = 16;

const UNKNOWN: u8 = 0;
const AVAILABLE: u8 = 1;
const MISSING: u8 = 2;

/// Whether this kernel has `openat2`, learnt from the first call (`ENOSYS` => missing).
static OPENAT2: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether the last name of a path is followed when it is a symlink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Last {
    /// Follow it (still confined), as `File.open` does.
    Follow,
    /// Do not follow it: `O_NOFOLLOW` (an `O_PATH` open then returns the link itself).
    NoFollow,
}

/// What the walker found: the descriptor (absent when the last name is missing and the caller
/// allowed it) and the names from the base down to it, for [`Root::resolve`].
pub(crate) struct Walked {
    pub fd: Option<OwnedFd>,
    pub names: Vec<Vec<u8>>,
}

/// Whether `openat2` works on this kernel: `Some(false)` once it answered `ENOSYS`.
pub fn openat2_available() -> Option<bool> {
    match OPENAT2.load(Ordering::Relaxed) {
        AVAILABLE => Some(true),
        MISSING => Some(false),
        _ => None,
    }
}

pub(crate) fn io_error(errno: Errno, rel: &RelPath<'_>) -> Error {
    Error::io(std::io::Error::from(errno), rel.display())
}

/// `check` names the rule for [`Error::details`]; `why` says it for people.
fn escape(rel: &RelPath<'_>, check: &'static str, why: &str) -> Error {
    Error::path_escape(format!(
        "the path \"{}\" would leave the root: {why}; refuse the request (HTTP 403)",
        rel.display()
    ))
    .check(check)
    .with(key::PATH, Field::Text(rel.excerpt()))
}

pub(crate) enum Kernel {
    Done(Result<OwnedFd>),
    Walk,
}

impl Root {
    /// Opens `rel` beneath the base with `oflags` (`O_CLOEXEC` is always added; `mode` only
    /// matters with `O_CREAT`).
    pub(crate) fn open_beneath(
        &self,
        rel: &RelPath<'_>,
        oflags: OFlags,
        mode: Mode,
        last: Last,
    ) -> Result<OwnedFd> {
        let oflags = oflags | OFlags::CLOEXEC;
        // openat2 refuses a mode without O_CREAT (EINVAL).
        let mode = if oflags.contains(OFlags::CREATE) {
            mode
        } else {
            Mode::empty()
        };
        if self.uses_kernel() {
            match self.kernel_open(rel, oflags, mode, last) {
                Kernel::Done(result) => return result,
                Kernel::Walk => {}
            }
        }
        self.walk(rel, oflags, mode, last, false)?
            .fd
            .ok_or_else(|| io_error(Errno::NOENT, rel))
    }

    pub(crate) fn uses_kernel(&self) -> bool {
        match self.resolver {
            Resolver::Walk => false,
            Resolver::Auto | Resolver::Kernel => OPENAT2.load(Ordering::Relaxed) != MISSING,
        }
    }

    pub(crate) fn resolve_flags(&self) -> ResolveFlags {
        let mut how = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        if self.symlinks == Symlinks::Deny {
            how |= ResolveFlags::NO_SYMLINKS;
        }
        if !self.xdev {
            how |= ResolveFlags::NO_XDEV;
        }
        how
    }

    pub(crate) fn kernel_open(
        &self,
        rel: &RelPath<'_>,
        oflags: OFlags,
        mode: Mode,
        last: Last,
    ) -> Kernel {
        let how = self.resolve_flags();
        let mut flags = oflags;
        if last == Last::NoFollow {
            flags |= OFlags::NOFOLLOW;
        }
        for _ in 0..EAGAIN_RETRIES {
            match rfs::openat2(&self.dir, rel.as_str(), flags, mode, how) {
                Ok(fd) => {
                    OPENAT2.store(AVAILABLE, Ordering::Relaxed);
                    return Kernel::Done(Ok(fd));
                }
                Err(Errno::AGAIN) => continue,
                Err(Errno::NOSYS) => {
                    OPENAT2.store(MISSING, Ordering::Relaxed);
                    return Kernel::Walk;
                }
                // Seccomp filters (container runtimes) commonly answer EPERM for syscalls they
                // do not know, and older kernels EINVAL/E2BIG for flags they do not know. The
                // walker then gives the real answer (EPERM again if it was a real EPERM).
                Err(Errno::PERM | Errno::INVAL | Errno::TOOBIG) => return Kernel::Walk,
                // A loop, a magic link, or any symlink under RESOLVE_NO_SYMLINKS: the walker
                // tells them apart (ELOOP, or `Error::PathEscape`).
                Err(Errno::LOOP) => return Kernel::Walk,
                Err(Errno::XDEV) => {
                    return Kernel::Done(Err(self.explain_escape(rel, oflags, mode, last)))
                }
                Err(e) => return Kernel::Done(Err(io_error(e, rel))),
            }
        }
        Kernel::Walk
    }

    /// The kernel said `EXDEV` (an escape): ask the walker which step escaped, for the message.
    /// Whatever the walker finds, the answer stays a refusal.
    fn explain_escape(&self, rel: &RelPath<'_>, oflags: OFlags, mode: Mode, last: Last) -> Error {
        // The walker must not create anything while explaining.
        let oflags = (oflags - OFlags::CREATE - OFlags::TRUNC - OFlags::EXCL - OFlags::ACCMODE)
            | OFlags::PATH;
        match self.walk(rel, oflags, mode, last, true) {
            Err(e @ Error::PathEscape(_)) => e,
            _ => escape(
                rel,
                "escape",
                "a \"..\" above the base, a symlink pointing outside or a mount crossing",
            ),
        }
    }

    /// The fallback resolver (see the module documentation). With `allow_missing_last`, a
    /// missing last name is not an error: [`Walked::fd`] is `None` and the name is still listed
    /// (for [`Root::resolve`], which works like `File.realdirpath`).
    pub(crate) fn walk(
        &self,
        rel: &RelPath<'_>,
        oflags: OFlags,
        mode: Mode,
        last: Last,
        allow_missing_last: bool,
    ) -> Result<Walked> {
        let oflags = oflags | OFlags::CLOEXEC;
        let mut pending = tokens(rel.as_str().as_bytes());
        let mut stack: Vec<(OwnedFd, Vec<u8>)> = Vec::new();
        let mut links = 0u32;
        let names_of = |stack: Vec<(OwnedFd, Vec<u8>)>| -> Vec<Vec<u8>> {
            stack.into_iter().map(|(_, n)| n).collect()
        };
        loop {
            let cur: BorrowedFd<'_> = match stack.last() {
                Some((fd, _)) => fd.as_fd(),
                None => self.dir.as_fd(),
            };
            let Some(name) = pending.pop_front() else {
                // The path ends at a directory the walk already holds ("." or "a/.."): open it
                // again with the caller's flags.
                if oflags.contains(OFlags::CREATE) {
                    return Err(io_error(Errno::ISDIR, rel));
                }
                let fd = rfs::openat(cur, ".", oflags - OFlags::NOFOLLOW, mode)
                    .map_err(|e| io_error(e, rel))?;
                return Ok(Walked {
                    fd: Some(fd),
                    names: names_of(stack),
                });
            };
            // A trailing "/" whose name was already walked as a directory, or a final "." (the
            // name before it was walked as a directory: "a.txt/." is ENOTDIR, as in the kernel).
            if name == SLASH || name == b"." {
                continue;
            }
            // A trailing slash on the last name asks for a directory and, as in POSIX, follows
            // a final symlink. Only markers may follow the last name.
            let trailing = pending.front().is_some_and(|n| n == SLASH);
            let is_last = pending.iter().all(|n| n == SLASH);
            let follow_last = last == Last::Follow || trailing;
            if name == b".." {
                if stack.pop().is_none() {
                    return Err(if links == 0 {
                        escape(rel, "dotdot", "a \"..\" goes above the base")
                    } else {
                        escape(
                            rel,
                            "symlink_escape",
                            "a symlink on the way points above the base",
                        )
                    });
                }
                continue;
            }
            if !is_last {
                // An intermediate name: it must be a directory, or a symlink to follow.
                // O_DIRECTORY|O_NOFOLLOW opens a directory in one call and fails with ENOTDIR
                // on anything else, a symlink included; only then is it looked at closer.
                match rfs::openat(
                    cur,
                    name.as_slice(),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                ) {
                    Ok(fd) => {
                        if !self.xdev {
                            let st = rfs::fstat(&fd).map_err(|e| io_error(e, rel))?;
                            self.check_same_mount(st.st_dev, rel)?;
                        }
                        stack.push((fd, name));
                    }
                    Err(Errno::NOTDIR) => {
                        match rfs::readlinkat(cur, name.as_slice(), Vec::new()) {
                            Ok(target) => {
                                self.follow(cur, target.as_bytes(), &mut pending, &mut links, rel)?
                            }
                            // Not a symlink (or no longer one): a file used as a directory.
                            Err(_) => return Err(io_error(Errno::NOTDIR, rel)),
                        }
                    }
                    Err(e) => return Err(io_error(e, rel)),
                }
                continue;
            }
            // The last name. Creating one with a trailing slash is EISDIR before any lookup, as
            // the kernel answers (open_last_lookups), whether it exists or not.
            if trailing && oflags.contains(OFlags::CREATE) {
                return Err(io_error(Errno::ISDIR, rel));
            }
            let want_path = oflags.contains(OFlags::PATH);
            let mut flags = oflags | OFlags::NOFOLLOW;
            if want_path {
                // O_PATH|O_NOFOLLOW returns the link itself, so a symlink can be seen and
                // followed here; O_DIRECTORY would hide it behind ENOTDIR.
                flags -= OFlags::DIRECTORY;
            }
            if trailing {
                flags |= if want_path {
                    OFlags::empty()
                } else {
                    OFlags::DIRECTORY
                };
            }
            match rfs::openat(cur, name.as_slice(), flags, mode) {
                Ok(fd) => {
                    if want_path || !self.xdev {
                        let st = rfs::fstat(&fd).map_err(|e| io_error(e, rel))?;
                        let kind = FileType::from_raw_mode(st.st_mode);
                        if kind == FileType::Symlink {
                            if !follow_last {
                                if self.symlinks == Symlinks::Deny {
                                    return Err(self.denied(rel));
                                }
                                let mut names = names_of(stack);
                                names.push(name);
                                return Ok(Walked {
                                    fd: Some(fd),
                                    names,
                                });
                            }
                            let target = rfs::readlinkat(&fd, "", Vec::new())
                                .map_err(|e| io_error(e, rel))?;
                            // A link to "." leaves nothing pending: the walk then ends at
                            // the directory holding the link.
                            self.follow(cur, target.as_bytes(), &mut pending, &mut links, rel)?;
                            continue;
                        }
                        if want_path
                            && (oflags.contains(OFlags::DIRECTORY) || trailing)
                            && kind != FileType::Directory
                        {
                            return Err(io_error(Errno::NOTDIR, rel));
                        }
                        self.check_same_mount(st.st_dev, rel)?;
                    }
                    let mut names = names_of(stack);
                    names.push(name);
                    return Ok(Walked {
                        fd: Some(fd),
                        names,
                    });
                }
                Err(e @ (Errno::LOOP | Errno::NOTDIR)) if !want_path => {
                    // O_NOFOLLOW refused a symlink: read it and follow it ourselves.
                    match rfs::readlinkat(cur, name.as_slice(), Vec::new()) {
                        Ok(target) => {
                            if !follow_last {
                                if self.symlinks == Symlinks::Deny {
                                    return Err(self.denied(rel));
                                }
                                return Err(io_error(Errno::LOOP, rel));
                            }
                            self.follow(cur, target.as_bytes(), &mut pending, &mut links, rel)?;
                        }
                        Err(_) => return Err(io_error(e, rel)),
                    }
                }
                Err(Errno::NOENT) if allow_missing_last => {
                    let mut names = names_of(stack);
                    names.push(name);
                    return Ok(Walked { fd: None, names });
                }
                Err(e) => return Err(io_error(e, rel)),
            }
        }
    }

    fn denied(&self, rel: &RelPath<'_>) -> Error {
        escape(
            rel,
            "symlink_denied",
            "it goes through a symlink and this root refuses every symlink (symlinks: :deny)",
        )
    }

    /// Queues the names of a symlink's target in front of what is left to walk.
    fn follow(
        &self,
        dir: BorrowedFd<'_>,
        target: &[u8],
        pending: &mut VecDeque<Vec<u8>>,
        links: &mut u32,
        rel: &RelPath<'_>,
    ) -> Result<()> {
        if self.symlinks == Symlinks::Deny {
            return Err(self.denied(rel));
        }
        // procfs links (/proc/self/root, /proc/self/fd/N, /proc/self/cwd) are "magic": the
        // kernel jumps to an object, whatever their text says. Never follow one.
        if let Ok(fs) = rfs::fstatfs(dir) {
            if fs.f_type == rfs::PROC_SUPER_MAGIC {
                return Err(escape(
                    rel,
                    "magic_link",
                    "it goes through a magic link in /proc",
                ));
            }
        }
        *links += 1;
        if *links > MAX_SYMLINKS {
            return Err(io_error(Errno::LOOP, rel));
        }
        if target.is_empty() {
            return Err(io_error(Errno::NOENT, rel));
        }
        if target.starts_with(b"/") {
            return Err(escape(
                rel,
                "symlink_absolute",
                "a symlink on the way points to an absolute path",
            ));
        }
        for name in tokens(target).into_iter().rev() {
            pending.push_front(name);
        }
        Ok(())
    }

    pub(crate) fn check_same_mount(&self, dev: u64, rel: &RelPath<'_>) -> Result<()> {
        if !self.xdev && dev != self.dev {
            return Err(escape(
                rel,
                "mount_crossing",
                "it crosses into another mounted file system (xdev: false)",
            ));
        }
        Ok(())
    }
}

/// Marks a trailing slash in the walker's queue: no name can be empty.
const SLASH: &[u8] = b"";

/// The names of a path (or of a symlink's target) for the walker, as the kernel reads them:
/// empty names and inner `.` dropped, `..` kept, then a final `.` kept (the name before it must
/// be a directory: `a.txt/.` is `ENOTDIR`) or a trailing slash marked with [`SLASH`] (the last
/// name must be a directory, and creating it is `EISDIR`). A symlink's target is queued the
/// same way, so `link -> a.txt/` reads as `a.txt/` does.
fn tokens(path: &[u8]) -> VecDeque<Vec<u8>> {
    let mut out: VecDeque<Vec<u8>> = path
        .split(|b| *b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(<[u8]>::to_vec)
        .collect();
    let last = path.split(|b| *b == b'/').rfind(|c| !c.is_empty());
    if last == Some(b".".as_slice()) {
        out.push_back(b".".to_vec());
    } else if path.ends_with(b"/") {
        out.push_back(SLASH.to_vec());
    }
    out
}
