//! `Root#store`: files named by their content, so one upload can never replace another.
//!
//! [`Root::safe_name`](super::safe_name) hashes the *original name*: two uploads called
//! `cat.png` get the same name, and the second silently replaces the first. A store names a file
//! by the SHA-256 of its *bytes* instead. Equal content gets the same name (a second store is a
//! no-op that returns it); different content never takes an existing name: the file is put in
//! place with `RENAME_NOREPLACE` (or a hard link), never a plain rename, and a file already at
//! the name is checked byte for byte before its name is returned.

use std::fs::File;
use std::io::Read;

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use super::files::foreign;
use super::path::RelPath;
use super::resolve::{io_error, Last};
use super::safe_name::allowlisted;
use super::{atomic, Root};
use crate::error::{key, Error, Field, Result};

impl Root {
    /// Stores `data` in the base directory under `<sha256 hex>[.<ext>]` and returns that name.
    /// `extension` (with or without its dot, such as the original file's) is kept, lowercase,
    /// only when it is in `extensions`, by the rule of [`safe_name`](super::safe_name);
    /// otherwise the name has none. A new file gets `perm` less the umask, without special bits.
    ///
    /// Atomic as [`Root::write`] is: the name appears only once the content is complete and
    /// `fsync`ed. When the name already exists it must be a regular file of this process's
    /// owner holding exactly `data` (then nothing is written); a symlink there is
    /// [`Error::PathEscape`], another user's file [`Error::Path`], and different content
    /// an `EEXIST` I/O error: a corrupted or planted file that the caller must look at.
    pub fn store<S: AsRef<str>>(
        &self,
        data: &[u8],
        extension: Option<&[u8]>,
        extensions: &[S],
        perm: u32,
    ) -> Result<String> {
        let digest = ring::digest::digest(&ring::digest::SHA256, data);
        let mut name: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        if let Some(ext) = extension.and_then(|e| allowlisted(e, extensions)) {
            name.push('.');
            name.push_str(&ext);
        }
        let rel = RelPath::parse(name.as_bytes())?;
        let dir = self.open_beneath(
            &RelPath::parse(b".")?,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            Last::Follow,
        )?;
        let io = |e: std::io::Error| Error::io(e, rel.display());
        // A name that vanishes between a failed placement and the check is tried again; one
        // that keeps changing is someone else's doing.
        for _ in 0..3 {
            if holds(&dir, &rel, data)? {
                return Ok(name);
            }
            let mut tmp = atomic::TempFile::create(&dir, &name, perm & 0o777)?;
            let created = tmp.stat().map_err(io)?.st_mode & 0o777;
            tmp.fill(data, created).map_err(io)?;
            if tmp.place_new(&name).map_err(io)? {
                atomic::sync_dir(&dir);
                return Ok(name);
            }
        }
        Err(Error::io(
            std::io::Error::from(Errno::AGAIN),
            format!(
                "{} kept appearing and disappearing while it was stored: check who else \
                 writes in this directory",
                rel.display()
            ),
        ))
    }
}

/// Whether `rel` (a bare name in `dir`) is a regular file of ours holding exactly `data`:
/// `Ok(false)` when it does not exist, an error when it exists and is anything else.
fn holds(dir: &std::os::fd::OwnedFd, rel: &RelPath<'_>, data: &[u8]) -> Result<bool> {
    let name = rel.as_str();
    let fd = match rfs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(false),
        Err(Errno::LOOP) => {
            return Err(Error::path_escape(format!(
                "{} is a symlink: a Root stores only into names it creates; remove the link",
                rel.display()
            ))
            .check("symlink_write")
            .with(key::PATH, Field::Text(rel.excerpt())))
        }
        Err(e) => {
            // A directory or something unreadable at the name: say what is there.
            return match rfs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Directory => {
                    Err(io_error(Errno::ISDIR, rel))
                }
                _ => Err(io_error(e, rel)),
            };
        }
    };
    let st = rfs::fstat(&fd).map_err(|e| io_error(e, rel))?;
    match FileType::from_raw_mode(st.st_mode) {
        FileType::RegularFile => {}
        FileType::Directory => return Err(io_error(Errno::ISDIR, rel)),
        _ => {
            return Err(Error::path(format!(
                "{} is not a regular file (a FIFO, socket or device): remove it",
                rel.display()
            ))
            .check("not_regular")
            .with(key::PATH, Field::Text(rel.excerpt())))
        }
    }
    // Another user's file at our name could be rewritten by them later: content-addressed
    // names mean nothing unless the store owns its files.
    let me = rustix::process::geteuid().as_raw();
    if st.st_uid != me {
        return Err(foreign(rel, st.st_uid, me, "Root#store"));
    }
    let different = || {
        Error::io(
            std::io::Error::from(Errno::EXIST),
            format!(
                "{} already exists with different content (corrupted, or planted by someone \
                 who can write there): look at it and remove it; the store never replaces it",
                rel.display()
            ),
        )
    };
    if u64::try_from(st.st_size).ok() != Some(data.len() as u64) {
        return Err(different());
    }
    let mut file = File::from(fd);
    let mut buf = vec![0u8; 64 * 1024];
    let mut offset = 0usize;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io(e, rel.display()))?;
        if n == 0 {
            break;
        }
        if offset + n > data.len() || buf[..n] != data[offset..offset + n] {
            return Err(different());
        }
        offset += n;
    }
    if offset != data.len() {
        return Err(different());
    }
    Ok(true)
}
