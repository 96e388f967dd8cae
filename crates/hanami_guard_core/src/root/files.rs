//! Reading, opening and writing files beneath a [`Root`].

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::path::RelPath;
use super::resolve::{io_error, Last};
use super::Root;
use crate::error::{excerpt, Error, Result};

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
    Error::Path(format!(
        "{} is not a regular file (a FIFO, socket or device): a Root only opens regular files",
        rel.display()
    ))
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
    /// larger than `max_bytes` (`Errno::EFBIG` in Ruby).
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
        let fd = self.open_beneath(
            &rel,
            mode.flags | OFlags::NOCTTY | OFlags::NONBLOCK,
            Mode::from_raw_mode(perm & 0o7777),
            Last::Follow,
        )?;
        check_regular(&fd, &rel)?;
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
    /// `fsync`ed and renamed over the target; the directory is then `fsync`ed (best effort).
    /// Readers see the old content or the new, never a half-written file.
    ///
    /// A final symlink is **refused** ([`Error::PathEscape`]) and left unchanged, wherever it
    /// points: writing through a link is how an upload lands outside. The rename itself never
    /// follows a link either, so a symlink planted after the check is replaced, not followed.
    /// Directories on the way must exist (see [`Root::mkdir_p`]). An existing file keeps its
    /// permission bits; a new one gets `perm` less the umask.
    pub fn write(&self, rel: &[u8], data: &[u8], perm: u32) -> Result<()> {
        let rel = RelPath::parse(rel)?;
        let Some((parent, name)) = rel.split_last() else {
            return Err(io_error(Errno::ISDIR, &rel));
        };
        let parent_rel = RelPath::parse(parent.as_bytes())?;
        let dir = self.open_beneath(
            &parent_rel,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            Last::Follow,
        )?;
        let mut keep_mode = None;
        match rfs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::RegularFile => keep_mode = Some(st.st_mode & 0o7777),
                FileType::Symlink => {
                    return Err(Error::PathEscape(format!(
                        "{} is a symlink: Root#write never writes through one (it could point \
                         anywhere); remove the link or write to its target's path",
                        rel.display()
                    )))
                }
                FileType::Directory => return Err(io_error(Errno::ISDIR, &rel)),
                _ => return Err(not_regular(&rel)),
            },
            Err(Errno::NOENT) => {}
            Err(e) => return Err(io_error(e, &rel)),
        }
        let tmp = temp_name(name)?;
        let fd = rfs::openat(
            &dir,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(perm & 0o7777),
        )
        .map_err(|e| io_error(e, &rel))?;
        let written = (|| -> std::io::Result<()> {
            let mut file = File::from(fd);
            file.write_all(data)?;
            if let Some(mode) = keep_mode {
                rfs::fchmod(&file, Mode::from_raw_mode(mode))?;
            }
            file.sync_all()?;
            rfs::renameat(&dir, tmp.as_str(), &dir, name)?;
            Ok(())
        })();
        if let Err(e) = written {
            // Never leave the temporary file behind.
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
            return Err(Error::io(e, rel.display()));
        }
        // Make the rename durable. Best effort: a directory we may search but not read cannot
        // be opened for fsync, and the data itself is already on disk.
        if let Ok(d) = rfs::openat(
            &dir,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            let _ = rfs::fsync(&d);
        }
        Ok(())
    }
}

/// `.name.<random>.tmp`, hidden and unique, short enough for `NAME_MAX` whatever `name` is.
fn temp_name(name: &str) -> Result<String> {
    let mut random = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut random)
        .map_err(|_| Error::io(std::io::Error::other("no randomness"), "temporary name"))?;
    let mut stem: String = String::new();
    for c in name.chars() {
        if stem.len() + c.len_utf8() > 200 {
            break;
        }
        stem.push(c);
    }
    let hex: String = random.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!(".{stem}.{hex}.tmp"))
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

    #[test]
    fn temp_names_are_hidden_unique_and_short() {
        let long = "é".repeat(200);
        let a = temp_name(&long).ok().unwrap_or_default();
        let b = temp_name(&long).ok().unwrap_or_default();
        assert!(a.starts_with('.') && a.ends_with(".tmp"));
        assert!(a.len() <= 255, "{}", a.len());
        assert_ne!(a, b);
    }
}
