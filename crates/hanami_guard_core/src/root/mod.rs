//! The `root` capability: file access confined beneath a base directory.
//!
//! A [`Root`] replaces `File.read(File.join(BASE, params[:filename]))` and its usual fix
//! (`cleanpath` plus `start_with?`), which fails on symlinks, on sibling directories sharing a
//! prefix (`/var/app/public_evil`) and on a directory swapped for a symlink between the check and
//! the open. A `Root` opens its base directory once and keeps the descriptor; every operation
//! takes a relative path and has it resolved *from that descriptor* by the kernel
//! (`openat2(RESOLVE_BENEATH)`) or, where that is missing, by a component walk (see
//! [`resolve`]). Nothing is checked first and opened later, so there is no race to win.
//!
//! Inputs are checked lexically first ([`path::RelPath`]); then the resolver decides. Errors:
//! [`Error::Path`] for malformed input, [`Error::PathEscape`] for anything that would leave the
//! base, and otherwise the errno Ruby's own `File` would raise ([`Error::Io`]).

mod atomic;
mod files;
pub mod path;
pub mod resolve;
mod safe_name;
mod store;
mod tree;

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use rustix::fs::{self as rfs, Mode, OFlags};
use rustix::io::Errno;

pub use files::{OpenMode, ReadHandle, NOGVL_READ_THRESHOLD};
pub use path::RelPath;
pub use resolve::{openat2_available, MAX_SYMLINKS};
pub use safe_name::safe_name;
pub use tree::Kind;

use crate::error::{excerpt, key, Error, Field, Result};
use resolve::{io_error, Last};

/// What a [`Root`] does with symlinks met while resolving.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Symlinks {
    /// Follow symlinks that stay inside the base; refuse any that would leave it.
    #[default]
    Confined,
    /// Refuse every symlink ([`Error::PathEscape`]).
    Deny,
}

impl Symlinks {
    /// Every mode with its name, for bindings and configuration.
    pub const NAMES: &'static [(&'static str, Symlinks)] =
        &[("confined", Symlinks::Confined), ("deny", Symlinks::Deny)];

    /// The mode's name (`confined`, `deny`).
    pub fn as_str(self) -> &'static str {
        match self {
            Symlinks::Confined => "confined",
            Symlinks::Deny => "deny",
        }
    }
}

/// Which resolver a [`Root`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resolver {
    /// `openat2` where the kernel has it, the component walk elsewhere.
    #[default]
    Auto,
    /// `openat2` first, always (construction fails where the kernel lacks it). The walk still
    /// runs to explain an `ELOOP`/`EXDEV` the kernel reports.
    Kernel,
    /// The component walk only: the fallback, forced (to test it, or where `openat2` is
    /// filtered).
    Walk,
}

impl Resolver {
    /// Every resolver with its name, for bindings and configuration.
    pub const NAMES: &'static [(&'static str, Resolver)] = &[
        ("auto", Resolver::Auto),
        ("kernel", Resolver::Kernel),
        ("walk", Resolver::Walk),
    ];

    /// The resolver's name (`auto`, `kernel`, `walk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Resolver::Auto => "auto",
            Resolver::Kernel => "kernel",
            Resolver::Walk => "walk",
        }
    }
}

/// How a [`Root`] is set up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// What to do with symlinks.
    pub symlinks: Symlinks,
    /// Which resolver to use.
    pub resolver: Resolver,
    /// Whether resolution may cross into another mounted file system. With `false`, crossing
    /// is an escape (`RESOLVE_NO_XDEV`; the walker compares device numbers, so a bind mount of
    /// the same file system is not seen by the walker).
    pub xdev: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            symlinks: Symlinks::Confined,
            resolver: Resolver::Auto,
            xdev: true,
        }
    }
}

/// A base directory, opened once, beneath which every path given is resolved.
///
/// Immutable and `Send + Sync`: share one between threads. The descriptor (`O_PATH |
/// O_DIRECTORY | O_CLOEXEC`, never inherited by a child process) is closed on drop.
#[derive(Debug)]
pub struct Root {
    dir: OwnedFd,
    path: String,
    dev: u64,
    symlinks: Symlinks,
    resolver: Resolver,
    xdev: bool,
}

/// The base directory's descriptor, for callers that act on the directory itself rather than on
/// its path (a command's `chdir:` changes into it with `fchdir`, so a base later swapped for a
/// symlink is not followed).
impl AsFd for Root {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.dir.as_fd()
    }
}

/// A refusal of the base directory, `Root.new`'s `path`.
fn configuration(path: &Path, what: &str) -> Error {
    Error::configuration(format!(
        "the root \"{}\" {what}",
        excerpt(&path.to_string_lossy(), 200)
    ))
    .with(key::OPTION, Field::Name("path"))
}

impl Root {
    /// Opens the base directory `path` (symlinks in `path` itself are followed: it is
    /// configuration, not input). [`Error::Configuration`] when it is missing, not a directory
    /// or not accessible.
    pub fn new(path: impl AsRef<Path>, options: Options) -> Result<Root> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::configuration(
                "the root path is empty: give the base directory, such as \"public\"".to_owned(),
            )
            .with(key::OPTION, Field::Name("path")));
        }
        // No file name holds a NUL; one here would cut the name short at the system call.
        if path.as_os_str().as_encoded_bytes().contains(&0) {
            return Err(Error::configuration(
                "the root path contains a NUL byte: give the base directory's real path".to_owned(),
            )
            .with(key::OPTION, Field::Name("path")));
        }
        let dir = rfs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| match e {
            Errno::NOENT => configuration(path, "does not exist: create it or fix the path"),
            Errno::NOTDIR => configuration(path, "is not a directory: give a directory"),
            Errno::ACCESS => configuration(
                path,
                "cannot be opened (permission denied): let the app's user search it",
            ),
            other => configuration(
                path,
                &format!(
                    "cannot be opened ({}): fix the path",
                    std::io::Error::from(other)
                ),
            ),
        })?;
        let canonical = canonical_path(&dir, path)?;
        Root::from_parts(dir, canonical, options)
    }

    fn from_parts(dir: OwnedFd, path: String, options: Options) -> Result<Root> {
        let st = rfs::fstat(&dir).map_err(|e| {
            Error::configuration(format!("cannot stat the root: {e}"))
                .with(key::OPTION, Field::Name("path"))
        })?;
        let root = Root {
            dir,
            path,
            dev: st.st_dev,
            symlinks: options.symlinks,
            resolver: options.resolver,
            xdev: options.xdev,
        };
        if root.resolver == Resolver::Kernel {
            match rfs::openat2(
                &root.dir,
                ".",
                OFlags::PATH | OFlags::CLOEXEC,
                Mode::empty(),
                root.resolve_flags(),
            ) {
                Ok(_) => {}
                Err(e) => {
                    return Err(Error::configuration(format!(
                        "resolver: :kernel needs openat2, which failed here ({}): use the \
                         default resolver (:auto)",
                        std::io::Error::from(e)
                    ))
                    .with(key::OPTION, Field::Name("resolver")))
                }
            }
        }
        Ok(root)
    }

    /// The canonical absolute path of the base.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The options the root was built with.
    pub fn options(&self) -> Options {
        Options {
            symlinks: self.symlinks,
            resolver: self.resolver,
            xdev: self.xdev,
        }
    }

    /// The absolute path of `rel` beneath [`Root::path`], for logs and legacy APIs: a display
    /// name, not a capability. It is built from the base's path as it was when the root was
    /// opened; if the base directory is later moved or replaced by a symlink, the String still
    /// names the old place while the root keeps working on the directory it holds. Open files
    /// through the root, never through this String.
    ///
    /// Works like Ruby's `File.realdirpath`: every directory on the way must exist, the last
    /// name may be missing. The decision is the resolver's (the kernel's where it is used, so a
    /// bind mount the walker cannot see is still refused with `xdev: false`); the names are
    /// the walker's.
    pub fn resolve(&self, rel: &[u8]) -> Result<String> {
        let rel = RelPath::parse(rel)?;
        if self.uses_kernel() {
            if let resolve::Kernel::Done(Err(e)) =
                self.kernel_open(&rel, OFlags::PATH, Mode::empty(), Last::Follow)
            {
                // A missing last name is allowed here; the walk says whether only that is
                // missing.
                if e.errno() != Some(Errno::NOENT.raw_os_error()) {
                    return Err(e);
                }
            }
        }
        let walked = self.walk(&rel, OFlags::PATH, Mode::empty(), Last::Follow, true)?;
        Ok(self.join(&walked.names))
    }

    /// A [`Root`] for the directory `rel`, itself confined: its paths cannot climb back into
    /// this root, and it keeps this root's options.
    pub fn subroot(&self, rel: &[u8]) -> Result<Root> {
        let rel = RelPath::parse(rel)?;
        // The kernel decides where it is used (it sees a bind mount the walker cannot); the
        // walk then names the directory.
        if self.uses_kernel() {
            if let resolve::Kernel::Done(Err(e)) = self.kernel_open(
                &rel,
                OFlags::PATH | OFlags::DIRECTORY,
                Mode::empty(),
                Last::Follow,
            ) {
                return Err(e);
            }
        }
        let walked = self.walk(
            &rel,
            OFlags::PATH | OFlags::DIRECTORY,
            Mode::empty(),
            Last::Follow,
            false,
        )?;
        let fd = walked.fd.ok_or_else(|| io_error(Errno::NOENT, &rel))?;
        let st = rfs::fstat(&fd).map_err(|e| io_error(e, &rel))?;
        if rfs::FileType::from_raw_mode(st.st_mode) != rfs::FileType::Directory {
            return Err(io_error(Errno::NOTDIR, &rel));
        }
        let path = self.join(&walked.names);
        Root::from_parts(fd, path, self.options())
    }

    fn join(&self, names: &[Vec<u8>]) -> String {
        let mut out = self.path.clone();
        for name in names {
            if !out.ends_with('/') {
                out.push('/');
            }
            // Names come from the input (UTF-8, checked) or from symlink targets, which may
            // not be UTF-8: those are shown lossily, for a log line.
            out.push_str(&String::from_utf8_lossy(name));
        }
        out
    }
}

/// The canonical path of the directory behind `dir`, as the kernel names it, checked against
/// the descriptor (same device and inode) so the two cannot disagree.
fn canonical_path(dir: &OwnedFd, given: &Path) -> Result<String> {
    let st = rfs::fstat(dir).map_err(|e| configuration(given, &format!("cannot be read ({e})")))?;
    let same = |candidate: &str| {
        rfs::stat(candidate)
            .map(|s| s.st_dev == st.st_dev && s.st_ino == st.st_ino)
            .unwrap_or(false)
    };
    let proc_link = format!("/proc/self/fd/{}", dir.as_fd().as_raw_fd());
    if let Ok(target) = rfs::readlink(proc_link.as_str(), Vec::new()) {
        if let Ok(text) = target.into_string() {
            if text.starts_with('/') && same(&text) {
                return Ok(text);
            }
        }
    }
    let canonical = std::fs::canonicalize(given)
        .map_err(|e| configuration(given, &format!("cannot be made canonical ({e})")))?;
    let text = canonical
        .to_str()
        .ok_or_else(|| configuration(given, "is not valid UTF-8: use a UTF-8 path"))?
        .to_owned();
    if !same(&text) {
        return Err(configuration(
            given,
            "changed while it was being opened: check who else writes there",
        ));
    }
    Ok(text)
}
