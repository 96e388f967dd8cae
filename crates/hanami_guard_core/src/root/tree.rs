//! Directories beneath a [`Root`]: `mkdir_p`, `entries`, and what kind of thing a path names.

use rustix::fs::{self as rfs, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::path::RelPath;
use super::resolve::{io_error, Last};
use super::Root;
use crate::error::Result;

/// What a path names, for `exist?`, `file?` and `directory?`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Nothing (missing, a file used as a directory, a symlink loop, or not searchable): the
    /// cases where Ruby's `File.exist?` answers false.
    Missing,
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// Something else (FIFO, socket, device).
    Other,
}

impl Kind {
    /// The kind's name (`missing`, `file`, `directory`, `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Missing => "missing",
            Kind::File => "file",
            Kind::Directory => "directory",
            Kind::Other => "other",
        }
    }
}

impl Root {
    /// What `rel` names, following symlinks that stay inside. Escapes and malformed paths are
    /// still errors: a probe is no way around the root.
    pub fn kind(&self, rel: &[u8]) -> Result<Kind> {
        let rel = RelPath::parse(rel)?;
        match self.open_beneath(&rel, OFlags::PATH, Mode::empty(), Last::Follow) {
            Ok(fd) => {
                let st = rfs::fstat(&fd).map_err(|e| io_error(e, &rel))?;
                Ok(match FileType::from_raw_mode(st.st_mode) {
                    FileType::RegularFile => Kind::File,
                    FileType::Directory => Kind::Directory,
                    _ => Kind::Other,
                })
            }
            Err(e) => match e.errno() {
                Some(n)
                    if n == Errno::NOENT.raw_os_error()
                        || n == Errno::NOTDIR.raw_os_error()
                        || n == Errno::LOOP.raw_os_error()
                        || n == Errno::ACCESS.raw_os_error()
                        || n == Errno::NAMETOOLONG.raw_os_error() =>
                {
                    Ok(Kind::Missing)
                }
                _ => Err(e),
            },
        }
    }

    /// Creates the directory `rel` and any missing parents (mode `perm` less the umask), like
    /// `FileUtils.mkdir_p`. Each prefix is resolved beneath the base before the next name is
    /// created in it, so nothing is ever created outside, and a dangling symlink on the way is
    /// an error (`ENOENT`), never a directory made where it points.
    pub fn mkdir_p(&self, rel: &[u8], perm: u32) -> Result<()> {
        let rel = RelPath::parse(rel)?;
        let text = rel.as_str();
        let mut parent = self.open_beneath(
            &RelPath::parse(b".")?,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            Last::Follow,
        )?;
        let mut end = 0;
        for name in text.split('/') {
            end += name.len() + 1;
            if name.is_empty() || name == "." {
                continue;
            }
            let prefix_text = &text[..(end - 1).min(text.len())];
            let prefix = RelPath::parse(prefix_text.as_bytes())?;
            let open = |p: &RelPath<'_>| {
                self.open_beneath(
                    p,
                    OFlags::PATH | OFlags::DIRECTORY,
                    Mode::empty(),
                    Last::Follow,
                )
            };
            parent = match open(&prefix) {
                Ok(fd) => fd,
                Err(e) if e.errno() == Some(Errno::NOENT.raw_os_error()) && name != ".." => {
                    match rfs::mkdirat(&parent, name, Mode::from_raw_mode(perm & 0o7777)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(io_error(e, &prefix)),
                    }
                    open(&prefix)?
                }
                Err(e) => return Err(e),
            };
        }
        Ok(())
    }

    /// The names in the directory `rel`, sorted, without `.` and `..`.
    pub fn entries(&self, rel: &[u8]) -> Result<Vec<Vec<u8>>> {
        let rel = RelPath::parse(rel)?;
        let fd = self.open_beneath(
            &rel,
            OFlags::RDONLY | OFlags::DIRECTORY,
            Mode::empty(),
            Last::Follow,
        )?;
        let dir = rfs::Dir::new(fd).map_err(|e| io_error(e, &rel))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| io_error(e, &rel))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(name.to_vec());
            }
        }
        names.sort();
        Ok(names)
    }
}
