//! Which files a scan reads: Ruby sources under the given paths, never through a symlink that
//! leads out of the tree being scanned (a checkout must not make the scanner read /etc).

use std::fs;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use rustix::fs::{self as rfs, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use super::Skipped;

/// A file to analyse: where it is, and the name reports use for it.
#[derive(Clone)]
pub(super) struct Source {
    /// Its path (canonical for a file named on the command line and for a symlink's target);
    /// a scan reads each `real` once.
    pub real: PathBuf,
    pub display: String,
    /// For a file found by walking a directory: that directory (opened once, `O_PATH`) and the
    /// file's path beneath it, which the walk saw without a symlink anywhere in it.
    pub beneath: Option<(Arc<OwnedFd>, PathBuf)>,
}

/// Whether `openat2` failed as a kernel without it (or a seccomp filter) fails: the walk
/// below then opens one name at a time.
static NO_OPENAT2: AtomicBool = AtomicBool::new(false);

impl Source {
    /// Opens the file for reading. A file found by the walk is opened beneath the walked
    /// directory with no symlink anywhere on the way (`openat2` with `RESOLVE_BENEATH |
    /// RESOLVE_NO_SYMLINKS`, or, where the kernel lacks it, one `openat(O_NOFOLLOW)` per name
    /// from the directory's descriptor): a directory swapped for a symlink after the walk saw
    /// it is refused (`ELOOP`, `ENOTDIR` or `EXDEV`), never followed out of the tree. The open
    /// does not block (`O_NONBLOCK`: a file swapped for a FIFO cannot hang the scan), and the
    /// caller checks it opened a regular file.
    pub fn open(&self) -> std::io::Result<fs::File> {
        let Some((dir, rel)) = &self.beneath else {
            return fs::File::open(&self.real);
        };
        open_beneath(dir.as_fd(), rel, !NO_OPENAT2.load(Ordering::Relaxed)).map(fs::File::from)
    }
}

const READ_FLAGS: OFlags = OFlags::RDONLY
    .union(OFlags::CLOEXEC)
    .union(OFlags::NOCTTY)
    .union(OFlags::NONBLOCK)
    .union(OFlags::NOFOLLOW);

/// Opens `rel` (relative names only, no `..`) beneath `dir` through no symlink.
pub(super) fn open_beneath(
    dir: std::os::fd::BorrowedFd<'_>,
    rel: &Path,
    kernel: bool,
) -> std::io::Result<OwnedFd> {
    // The walk builds `rel` from names it read: never `..`, `.`, a root or nothing at all.
    if rel.as_os_str().is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(Errno::INVAL.into());
    }
    if kernel {
        let how = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
        for _ in 0..4 {
            match rfs::openat2(dir, rel, READ_FLAGS, Mode::empty(), how) {
                Ok(fd) => return Ok(fd),
                // A rename raced with the lookup: try again, then walk.
                Err(Errno::AGAIN) => continue,
                // No openat2 here, or a filter refusing it: walk, and remember.
                Err(Errno::NOSYS | Errno::PERM | Errno::INVAL | Errno::TOOBIG) => {
                    NO_OPENAT2.store(true, Ordering::Relaxed);
                    break;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let mut names = rel.components();
    let last = names.next_back();
    let mut at: Option<OwnedFd> = None;
    for name in names {
        let Component::Normal(name) = name else {
            return Err(Errno::INVAL.into());
        };
        let from = at.as_ref().map_or(dir, AsFd::as_fd);
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        at = Some(rfs::openat(from, name, flags, Mode::empty())?);
    }
    let Some(Component::Normal(name)) = last else {
        return Err(Errno::INVAL.into());
    };
    let from = at.as_ref().map_or(dir, AsFd::as_fd);
    Ok(rfs::openat(from, name, READ_FLAGS, Mode::empty())?)
}

/// Directories no app keeps its own code in.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", ".bundle"];

fn is_ruby(name: &str) -> bool {
    name.ends_with(".rb") || name.ends_with(".ru") || name.ends_with(".rake")
}

/// The name reports use: control characters escaped, so a file named with a newline or a
/// terminal escape cannot forge a line of the report.
fn display(path: &Path) -> String {
    let lossy = path.to_string_lossy();
    if !lossy.chars().any(char::is_control) {
        return lossy.into_owned();
    }
    lossy
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Walks `roots`, handing each file to `found` as soon as it is found (the scan's workers start
/// on the first while the walk goes on), and returns what it skipped. A root that does not
/// exist is an error (the caller asked for it); anything below a root that cannot be read is
/// reported and skipped.
pub(super) fn collect(
    roots: &[PathBuf],
    mut found: impl FnMut(Source),
) -> crate::Result<Vec<Skipped>> {
    let mut skipped = Vec::new();
    for root in roots {
        let meta = fs::symlink_metadata(root)
            .map_err(|e| crate::Error::io(e, format!("cannot scan {}", display(root))))?;
        let canonical = fs::canonicalize(root)
            .map_err(|e| crate::Error::io(e, format!("cannot scan {}", display(root))))?;
        if meta.is_file() || (meta.file_type().is_symlink() && canonical.is_file()) {
            // Named on the command line: scanned whatever its extension.
            found(Source {
                real: canonical,
                display: display(root),
                beneath: None,
            });
            continue;
        }
        let base = rfs::open(
            &canonical,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map(Arc::new)
        .map_err(|e| {
            crate::Error::io(
                std::io::Error::from(e),
                format!("cannot scan {}", display(root)),
            )
        })?;
        let beneath = |rel: &Path| Some((Arc::clone(&base), rel.to_path_buf()));
        let boundary = canonical;
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let mut entries: Vec<_> = match fs::read_dir(&dir) {
                Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
                Err(e) => {
                    skipped.push(Skipped::new(
                        display(&dir),
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            };
            entries.sort_by_key(|e| e.file_name());
            // Reverse so that the stack pops directories in name order.
            let mut subdirs = Vec::new();
            for entry in entries {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if !SKIP_DIRS.contains(&name.as_str()) {
                        subdirs.push(path);
                    }
                } else if kind.is_symlink() {
                    match fs::canonicalize(&path) {
                        Err(_) => {
                            skipped.push(Skipped::new(display(&path), "broken symlink".into()))
                        }
                        Ok(target) if !target.starts_with(&boundary) => skipped.push(Skipped::new(
                            display(&path),
                            "symlink leads out of the scanned tree: not followed".into(),
                        )),
                        Ok(target) if target.is_file() && is_ruby(&name) => {
                            // Canonical, so its path beneath the tree has no symlink in it.
                            if let Ok(rel) = target.strip_prefix(&boundary) {
                                let beneath = beneath(rel);
                                found(Source {
                                    real: target.clone(),
                                    display: display(&path),
                                    beneath,
                                });
                            }
                        }
                        // A directory inside the tree is scanned where it really is.
                        Ok(_) => {}
                    }
                } else if kind.is_file() && is_ruby(&name) {
                    // Every directory on the way from the root was a directory, not a symlink,
                    // when the walk read it: the open checks that it still is.
                    if let Ok(rel) = path.strip_prefix(root) {
                        found(Source {
                            // The canonical path (the root's, then names that were no symlinks),
                            // so a file reached through two roots, or also named on the command
                            // line, is read once.
                            real: boundary.join(rel),
                            display: display(&path),
                            beneath: beneath(rel),
                        });
                    }
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
    }
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_beneath_refuses_every_symlink_and_does_not_block_with_and_without_openat2() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path();
        fs::create_dir_all(p.join("a/b")).expect("mkdir");
        fs::write(p.join("a/b/x.rb"), "x").expect("write");
        std::os::unix::fs::symlink(p.join("a"), p.join("la")).expect("symlink");
        std::os::unix::fs::symlink("x.rb", p.join("a/b/lx.rb")).expect("symlink");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            p.join("a/fifo.rb"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .expect("mkfifo");
        let base = rfs::open(p, OFlags::PATH | OFlags::DIRECTORY, Mode::empty()).expect("base");
        for kernel in [true, false] {
            let open = |rel: &str| open_beneath(base.as_fd(), Path::new(rel), kernel);
            assert!(open("a/b/x.rb").is_ok(), "kernel {kernel}");
            for rel in ["la/b/x.rb", "a/b/lx.rb"] {
                let errno = open(rel).expect_err(rel).raw_os_error();
                assert!(
                    matches!(errno, Some(libc::ELOOP | libc::ENOTDIR)),
                    "kernel {kernel}, {rel}: {errno:?}"
                );
            }
            for rel in ["../x.rb", "/etc/passwd", "a/../a/b/x.rb", ""] {
                assert!(open(rel).is_err(), "kernel {kernel}, {rel}");
            }
            // A FIFO opens at once (O_NONBLOCK); the scan then sees it is no regular file.
            let fifo = fs::File::from(open("a/fifo.rb").expect("fifo"));
            assert!(!fifo.metadata().expect("fstat").is_file());
        }
    }
}
