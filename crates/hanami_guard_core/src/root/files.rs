//! Reading, opening and writing files beneath a [`Root`].

use std::fs::File;
use std::io::Read;
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::atomic;
use super::path::RelPath;
use super::resolve::{io_error, Last};
use super::Root;
use crate::error::{excerpt, key, Error, Field, Result};

/// Files at least this large are read without Ruby's GVL (the binding decides; the core only
/// says where the line is). Below it, releasing and retaking the GVL costs more than the read.
/// Measured in `bench/root.rb` (see BENCHMARKS.md).
pub const NOGVL_READ_THRESHOLD: u64 = 64 * 1024;

/// A file opened for [`Root::read`], with its size, before any byte is read (so the caller
/// can decide to read it without the GVL).
#[derive(Debug)]
pub struct ReadHandle {
    file: File,
    size: u64,
    max: Option<u64>,
    /// The path as given (checked): described in a message only if something fails.
    rel: String,
}

impl ReadHandle {
    /// The file's size when it was opened.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn display(&self) -> String {
        RelPath::parse(self.rel.as_bytes())
            .map(|r| r.display())
            .unwrap_or_default()
    }

    /// Reads the whole file. Refuses it if it grew past `max_bytes` since it was opened.
    pub fn read_all(mut self) -> Result<Vec<u8>> {
        let limit = self.max.unwrap_or(u64::MAX);
        let capacity = usize::try_from(self.size.min(limit).saturating_add(1)).unwrap_or(0);
        let mut data = Vec::with_capacity(capacity);
        (&mut self.file)
            .take(limit.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| Error::io(e, self.display()))?;
        if data.len() as u64 > limit {
            return Err(too_large(&self.display(), data.len() as u64, limit));
        }
        Ok(data)
    }
}

fn too_large(display: &str, size: u64, limit: u64) -> Error {
    Error::io(
        std::io::Error::from_raw_os_error(Errno::FBIG.raw_os_error()),
        format!(
            "{display} is {size} bytes or more, over max_bytes: {limit}; raise max_bytes or \
             stream it with Root#open"
        ),
    )
}

/// A Ruby `File.open` mode string, parsed: `"r"`, `"w"`, `"a"`, with `+`, `b`, `t`, `x` (with
/// `w`) and an optional `:encoding` suffix (which is Ruby's business, ignored here).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenMode {
    /// The `open(2)` flags.
    pub flags: OFlags,
}

impl OpenMode {
    /// Parses `mode`, or [`Error::Argument`] saying which modes exist.
    pub fn parse(mode: &str) -> Result<OpenMode> {
        let bad = || {
            Error::Argument(format!(
                "invalid access mode \"{}\": use \"r\", \"w\", \"a\", \"r+\", \"w+\", \"a+\" \
                 (with \"b\", \"t\" or \"x\")",
                excerpt(mode, 40)
            ))
        };
        let flags_part = mode.split(':').next().unwrap_or("");
        let mut chars = flags_part.chars();
        let mut flags = match chars.next() {
            Some('r') => OFlags::RDONLY,
            Some('w') => OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC,
            Some('a') => OFlags::WRONLY | OFlags::CREATE | OFlags::APPEND,
            _ => return Err(bad()),
        };
        let (mut plus, mut bt, mut x) = (false, false, false);
        for c in chars {
            match c {
                '+' if !plus => plus = true,
                'b' | 't' if !bt => bt = true,
                'x' if !x && flags.contains(OFlags::TRUNC) => x = true,
                _ => return Err(bad()),
            }
        }
        if plus {
            flags = (flags - OFlags::WRONLY) | OFlags::RDWR;
        }
        if x {
            flags |= OFlags::EXCL;
        }
        Ok(OpenMode { flags })
    }
}

fn not_regular(rel: &RelPath<'_>) -> Error {
    Error::path(format!(
        "{} is not a regular file (a FIFO, socket or device): a Root only opens regular files",
        rel.display()
    ))
    .check("not_regular")
    .with(key::PATH, Field::Text(rel.excerpt()))
}

/// After an open: refuse directories (`EISDIR`, as `File.read` does) and anything that is not
/// a regular file.
fn check_regular(fd: &OwnedFd, rel: &RelPath<'_>) -> Result<u64> {
    let st = rfs::fstat(fd).map_err(|e| io_error(e, rel))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => Ok(u64::try_from(st.st_size).unwrap_or(0)),
        FileType::Directory => Err(io_error(Errno::ISDIR, rel)),
        _ => Err(not_regular(rel)),
    }
}

impl Root {
    /// Opens `rel` for [`ReadHandle::read_all`], refusing it before reading a byte when it is
    /// larger than `max_bytes` (an [`Error::Io`] with `EFBIG`).
    pub fn open_for_read(&self, rel: &[u8], max_bytes: Option<u64>) -> Result<ReadHandle> {
        let rel = RelPath::parse(rel)?;
        // O_NONBLOCK: opening a FIFO planted in the tree must not hang the thread.
        let fd = self.open_beneath(
            &rel,
            OFlags::RDONLY | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::empty(),
            Last::Follow,
        )?;
        let size = check_regular(&fd, &rel)?;
        if let Some(limit) = max_bytes {
            if size > limit {
                return Err(too_large(&rel.display(), size, limit));
            }
        }
        Ok(ReadHandle {
            file: File::from(fd),
            size,
            max: max_bytes,
            rel: rel.as_str().to_owned(),
        })
    }

    /// Reads the whole file `rel` (at most `max_bytes`).
    pub fn read(&self, rel: &[u8], max_bytes: Option<u64>) -> Result<Vec<u8>> {
        self.open_for_read(rel, max_bytes)?.read_all()
    }

    /// Opens `rel` with a Ruby mode string (`"r"`, `"w"`, `"a+"`, ...), creating it with
    /// `perm` (less the umask) when the mode creates. Symlinks on the way, the last one
    /// included, are followed when they stay inside. Only regular files are opened: a
    /// directory is `EISDIR`, anything else [`Error::Path`].
    pub fn open(&self, rel: &[u8], mode: &str, perm: u32) -> Result<File> {
        let mode = OpenMode::parse(mode)?;
        let rel = RelPath::parse(rel)?;
        // O_TRUNC is a side effect of the open itself: the walker would empty a file and only
        // then find it on another mount (xdev: false), or find it is not a regular file. So the
        // file is opened without it, checked, and only then truncated.
        let truncate = mode.flags.contains(OFlags::TRUNC);
        let fd = self.open_beneath(
            &rel,
            (mode.flags - OFlags::TRUNC) | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::from_raw_mode(perm & 0o7777),
            Last::Follow,
        )?;
        check_regular(&fd, &rel)?;
        if !(mode.flags & OFlags::ACCMODE).is_empty() {
            refuse_privileged_target(&fd, &rel)?;
        }
        if truncate {
            rfs::ftruncate(&fd, 0).map_err(|e| io_error(e, &rel))?;
        }
        // O_NONBLOCK was only for the open (a FIFO must not hang it); a regular file gets its
        // ordinary flags back.
        let flags = rfs::fcntl_getfl(&fd).map_err(|e| io_error(e, &rel))?;
        rfs::fcntl_setfl(&fd, flags - OFlags::NONBLOCK).map_err(|e| io_error(e, &rel))?;
        Ok(File::from(fd))
    }

    /// Opens `rel` with `O_PATH` (following symlinks that stay inside): a descriptor for
    /// `fstat`, which reads no data and needs no read permission.
    pub fn open_path(&self, rel: &[u8]) -> Result<OwnedFd> {
        let rel = RelPath::parse(rel)?;
        self.open_beneath(&rel, OFlags::PATH, Mode::empty(), Last::Follow)
    }

    /// Replaces (or creates) the file `rel` with `data`, atomically: a temporary file is
    /// created in the same directory (`O_CREAT | O_EXCL | O_NOFOLLOW`, under the root), written,
    /// given its final mode, `fsync`ed and renamed over the target; the directory is then
    /// `fsync`ed (best effort). Readers see the old content or the new, never a half-written file.
    ///
    /// A final symlink is **refused** ([`Error::PathEscape`]) and left unchanged, wherever it
    /// points: writing through a link is how an upload lands outside. The rename itself never
    /// follows a link either, so a symlink planted after the check is replaced, not followed.
    /// Directories on the way must exist (see [`Root::mkdir_p`]).
    ///
    /// Modes and owners (a write never moves privilege):
    /// - a new file gets `perm` less the umask;
    /// - a replaced file keeps its permission bits, but its setuid, setgid and sticky bits only
    ///   when the new file has the same owner and group and the old one had no other hard link.
    ///   Otherwise a user who plants `<name>.png` with mode 6755 would get the app's request
    ///   bytes back as a setuid file of the app's user (root, in many containers);
    /// - a file owned by another user is refused ([`Error::Path`]) and left unchanged, unless
    ///   `replace_foreign` says to replace it (the new file is then the writer's);
    /// - the temporary file is never more readable than the file it becomes.
    pub fn write(&self, rel: &[u8], data: &[u8], perm: u32, replace_foreign: bool) -> Result<()> {
        let rel = RelPath::parse(rel)?;
        let Some((parent, name)) = rel.split_last() else {
            // Not a file name: "a/" is EISDIR at once, as creating it is in the kernel; "a/."
            // and "a/.." need "a" to be a directory first (ENOENT, ENOTDIR), as File.write does.
            if !rel.as_str().ends_with('/') {
                self.open_beneath(
                    &rel,
                    OFlags::PATH | OFlags::DIRECTORY,
                    Mode::empty(),
                    Last::Follow,
                )?;
            }
            return Err(io_error(Errno::ISDIR, &rel));
        };
        let parent_rel = RelPath::parse(parent.as_bytes())?;
        let dir = self.open_beneath(
            &parent_rel,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            Last::Follow,
        )?;
        let old = match rfs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => Some(st),
                FileType::Symlink => {
                    return Err(Error::path_escape(format!(
                        "{} is a symlink: Root#write never writes through one (it could point \
                         anywhere); remove the link or write to its target's path",
                        rel.display()
                    ))
                    .check("symlink_write")
                    .with(key::PATH, Field::Text(rel.excerpt())))
                }
                FileType::Directory => return Err(io_error(Errno::ISDIR, &rel)),
                _ => return Err(not_regular(&rel)),
            },
            Err(Errno::NOENT) => None,
            Err(e) => return Err(io_error(e, &rel)),
        };
        if let Some(st) = &old {
            // A file mounted over the name (xdev: false) is refused by name, not by the EBUSY
            // the rename would meet.
            self.check_same_mount(st.st_dev, &rel)?;
            let me = rustix::process::geteuid().as_raw();
            if st.st_uid != me && !replace_foreign {
                return Err(foreign(&rel, st.st_uid, me, "Root#write"));
            }
        }
        // The temporary file starts with the old file's owner bits only (the new content of a
        // 0600 file is never readable by others), or with a new file's own `perm`.
        let create_mode = match &old {
            Some(st) => st.st_mode & 0o600,
            None => perm & 0o777,
        };
        let mut tmp = atomic::TempFile::create(&dir, name, create_mode)?;
        let io = |e: std::io::Error| Error::io(e, rel.display());
        let new = tmp.stat().map_err(io)?;
        let final_mode = match &old {
            Some(st) => {
                let same_owner = st.st_uid == new.st_uid && st.st_gid == new.st_gid;
                let mut mode = st.st_mode & 0o7777;
                if !same_owner || st.st_nlink > 1 {
                    mode &= !atomic::SPECIAL_BITS;
                }
                mode
            }
            None => (new.st_mode & 0o777) | (perm & atomic::SPECIAL_BITS),
        };
        tmp.fill(data, final_mode).map_err(io)?;
        tmp.replace(name).map_err(io)?;
        atomic::sync_dir(&dir);
        Ok(())
    }
}

/// Writing request bytes *into* a setuid or setgid file keeps its bits (a root writer has
/// `CAP_FSETID`, so the kernel does not clear them). That is only the owner's business when
/// the file is the writer's own and has one link: a hard link planted under an upload's name
/// (where `fs.protected_hardlinks` is off) could be the inode of a setuid-root program, and
/// another user's setuid file is theirs to run as.
fn refuse_privileged_target(fd: &OwnedFd, rel: &RelPath<'_>) -> Result<()> {
    let st = rfs::fstat(fd).map_err(|e| io_error(e, rel))?;
    let me = rustix::process::geteuid().as_raw();
    let setid = st.st_mode & 0o6000 != 0;
    if setid && (st.st_uid != me || st.st_nlink > 1) {
        return Err(Error::path(format!(
            "{} is a setuid or setgid file {}: Root#open does not write into it (its bits would \
             stay on the new content); use Root#write, which replaces the file and drops them",
            rel.display(),
            if st.st_uid != me {
                "of another user"
            } else {
                "with another hard link"
            }
        ))
        .check("setid_target")
        .with(key::PATH, Field::Text(rel.excerpt())));
    }
    Ok(())
}

/// A file owned by someone else is not replaced or reused unless the caller says so: whoever
/// planted it chose its name, its mode and its links, and can change its content later.
pub(crate) fn foreign(rel: &RelPath<'_>, owner: u32, me: u32, method: &str) -> Error {
    let what_to_do = if method == "Root#write" {
        "remove it, or pass replace_foreign: true to Root#write to replace it with a file of \
         your own"
    } else {
        "remove it"
    };
    Error::path(format!(
        "{} is owned by uid {owner}, not by this process (uid {me}): {method} does not take over \
         another user's file; {what_to_do}",
        rel.display()
    ))
    .check("foreign_owner")
    .with(key::PATH, Field::Text(rel.excerpt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_modes_map_to_open_flags() {
        let f = |m: &str| OpenMode::parse(m).map(|m| m.flags).ok();
        assert_eq!(f("r"), Some(OFlags::RDONLY));
        assert_eq!(f("rb"), Some(OFlags::RDONLY));
        assert_eq!(f("r:utf-8"), Some(OFlags::RDONLY));
        assert_eq!(f("r+"), Some(OFlags::RDWR));
        assert_eq!(
            f("w"),
            Some(OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC)
        );
        assert_eq!(
            f("wx"),
            Some(OFlags::WRONLY | OFlags::CREATE | OFlags::TRUNC | OFlags::EXCL)
        );
        assert_eq!(
            f("a+"),
            Some(OFlags::RDWR | OFlags::CREATE | OFlags::APPEND)
        );
        for bad in ["", "q", "rr", "r++", "rx", "ax", "bw"] {
            assert!(f(bad).is_none(), "{bad}");
        }
    }
}
