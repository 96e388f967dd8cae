//! The temporary file behind [`Root::write`](super::Root::write) and
//! [`Root::store`](super::Root::store): created beside its target, written, given its final mode,
//! `fsync`ed, then put in place by one rename, so a reader sees the old content or the new and
//! never half of it.
//!
//! Two rules keep it from leaking or moving anything:
//! - it is never more readable than the file it becomes: it is created with the owner's bits
//!   only (or with the new file's own `perm`, less the umask), so another local user cannot open
//!   it while the data goes in and read the new content of a 0600 file;
//! - special bits (setuid, setgid, sticky) are set last, after the data: the kernel clears
//!   setuid on a write by a process without `CAP_FSETID`, and a file must not carry them while
//!   it is being filled.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, RenameFlags};
use rustix::io::Errno;

use crate::error::{Error, Result};

/// Permission bits that hand privilege to whoever runs or uses the file.
pub(crate) const SPECIAL_BITS: u32 = 0o7000;

/// A temporary file in `dir`, removed on drop unless it was put in place.
pub(crate) struct TempFile<'d> {
    dir: &'d OwnedFd,
    name: String,
    file: File,
    placed: bool,
}

impl<'d> TempFile<'d> {
    /// Creates `.<target>.<random>.tmp` in `dir` with `O_CREAT | O_EXCL | O_NOFOLLOW` and the
    /// permission bits `create_mode` (the kernel takes the umask off).
    pub(crate) fn create(dir: &'d OwnedFd, target: &str, create_mode: u32) -> Result<Self> {
        let name = temp_name(target)?;
        let fd = rfs::openat(
            dir,
            name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(create_mode & 0o777),
        )
        .map_err(|e| {
            Error::io(
                std::io::Error::from(e),
                format!("creating a temporary file for {target}"),
            )
        })?;
        Ok(TempFile {
            dir,
            name,
            file: File::from(fd),
            placed: false,
        })
    }

    /// The temporary file's `stat`: its owner and group are those the new file will have.
    pub(crate) fn stat(&self) -> std::io::Result<rfs::Stat> {
        Ok(rfs::fstat(&self.file)?)
    }

    /// Writes `data`, then sets `final_mode` (special bits included), then `fsync`s.
    pub(crate) fn fill(&mut self, data: &[u8], final_mode: u32) -> std::io::Result<()> {
        self.file.write_all(data)?;
        let current = rfs::fstat(&self.file)?.st_mode & 0o7777;
        if current != final_mode & 0o7777 {
            rfs::fchmod(&self.file, Mode::from_raw_mode(final_mode & 0o7777))?;
        }
        self.file.sync_all()
    }

    /// Renames the file over `target`, replacing whatever is there (a rename never follows a
    /// symlink at `target`: it replaces the link).
    pub(crate) fn replace(mut self, target: &str) -> std::io::Result<()> {
        rfs::renameat(self.dir, self.name.as_str(), self.dir, target)?;
        self.placed = true;
        Ok(())
    }

    /// Puts the file at `target` only if nothing is there: `Ok(false)` when something is.
    /// `RENAME_NOREPLACE`, or on a file system without it a hard link and an unlink (both refuse
    /// an existing name atomically).
    pub(crate) fn place_new(mut self, target: &str) -> std::io::Result<bool> {
        match rfs::renameat_with(
            self.dir,
            self.name.as_str(),
            self.dir,
            target,
            RenameFlags::NOREPLACE,
        ) {
            Ok(()) => {
                self.placed = true;
                Ok(true)
            }
            Err(Errno::EXIST) => Ok(false),
            Err(Errno::INVAL | Errno::NOSYS) => {
                match rfs::linkat(
                    self.dir,
                    self.name.as_str(),
                    self.dir,
                    target,
                    AtFlags::empty(),
                ) {
                    Ok(()) => Ok(true),
                    Err(Errno::EXIST) => Ok(false),
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for TempFile<'_> {
    fn drop(&mut self) {
        if !self.placed {
            // Never leave the temporary file behind (after a failure, or after a hard link).
            let _ = rfs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty());
        }
    }
}

/// Makes a rename in `dir` durable. Best effort: a directory we may search but not read cannot
/// be opened for `fsync`, and the data itself is already on disk.
pub(crate) fn sync_dir(dir: &OwnedFd) {
    if let Ok(d) = rfs::openat(
        dir.as_fd(),
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        let _ = rfs::fsync(&d);
    }
}

/// `.name.<random>.tmp`, hidden and unique, short enough for `NAME_MAX` whatever `name` is.
pub(crate) fn temp_name(name: &str) -> Result<String> {
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
    fn temp_names_are_hidden_unique_and_short() {
        let long = "é".repeat(200);
        let a = temp_name(&long).ok().unwrap_or_default();
        let b = temp_name(&long).ok().unwrap_or_default();
        assert!(a.starts_with('.') && a.ends_with(".tmp"));
        assert!(a.len() <= 255, "{}", a.len());
        assert_ne!(a, b);
    }
}
