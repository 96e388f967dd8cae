//! A policy that can be reloaded from its file without ever failing open.
//!
//! [`PolicyFile`] holds the current compiled [`Policy`] behind an `Arc`. A decision clones the
//! `Arc` (one atomic increment under a read lock held for that instant) and then evaluates with
//! no lock held, so decisions never wait on one another or on a reload. `reload` reads and
//! compiles the file with no lock held at all, and takes the write lock only to swap the
//! pointer, and only when the new text compiled. A broken file leaves the old policy in place
//! and returns the error.
//!
//! A file caught mid-write is often valid YAML without its trailing rules, and a missing deny
//! rule fails open. So `reload` takes new content only when it cannot be a half-written file:
//! - the path now names a different file (device and inode) than the last one read: the new
//!   policy was written elsewhere and renamed over the path, or a symlink was swapped (a
//!   Kubernetes ConfigMap volume does both), and a rename is atomic. The last file read is kept
//!   open, so its inode cannot be freed and handed to the next file written: an equal inode
//!   really is the same file. "Last read", not "in force": a new file that was refused (broken,
//!   or caught mid-write) and is then edited in place is an in-place edit;
//! - or the same file was changed in place and has not been modified for [`IN_PLACE_SETTLE`]:
//!   a writer that is still writing (an editor, `cat >`, a copy in chunks) is refused, and
//!   the old policy stays until a later reload finds the file settled.
//!
//! In both cases the file must also be the same before and after it is read (size and
//! modification time from `fstat` on the descriptor read), so a write during the read is
//! refused as well.

use std::fs::{File, Metadata};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use super::{read_policy_from, sha256, Mode, Policy};
use crate::error::{Error, Result};

/// How long a policy file changed in place must have been left alone before `reload` takes it.
pub const IN_PLACE_SETTLE: Duration = Duration::from_secs(2);

/// Which file a path named when it was read: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// One read of the policy file.
struct Snapshot {
    text: String,
    id: FileId,
    modified: Option<SystemTime>,
    /// Held while this is the file in force (see the module documentation).
    file: File,
}

fn read_snapshot(path: &Path) -> Result<Snapshot> {
    let shown = path.display().to_string();
    let file = File::open(path).map_err(|e| Error::io(e, shown.clone()))?;
    let before = file.metadata().map_err(|e| Error::io(e, shown.clone()))?;
    let text = read_policy_from(&file, &shown)?;
    let after = file.metadata().map_err(|e| Error::io(e, shown.clone()))?;
    let modified = after.modified().ok();
    if before.len() != after.len()
        || before.modified().ok() != modified
        || after.len() != text.len() as u64
    {
        return Err(Error::policy(format!(
            "{shown}: the file changed while it was read, so it was not loaded and the policy \
             in force is unchanged; deploy a policy by writing a new file and renaming it over \
             this one (as a Kubernetes ConfigMap does)"
        )));
    }
    Ok(Snapshot {
        text,
        id: FileId::of(&after),
        modified,
        file,
    })
}

/// The current policy, and the file it came from (if any).
#[derive(Debug)]
pub struct PolicyFile {
    current: RwLock<Arc<Policy>>,
    path: Option<PathBuf>,
    /// The mode it was loaded in, kept by every reload.
    mode: Mode,
    /// The file the last load or reload read, kept open.
    seen: Mutex<Option<(FileId, File)>>,
}

impl PolicyFile {
    /// Loads a policy file.
    pub fn load(path: &Path) -> Result<PolicyFile> {
        PolicyFile::load_as(path, Mode::Enforce)
    }

    /// Loads a policy file in `mode` (see [`Policy::parse_as`]); reloads keep the mode.
    pub fn load_as(path: &Path, mode: Mode) -> Result<PolicyFile> {
        let snapshot = read_snapshot(path)?;
        let policy = Policy::parse_as(&snapshot.text, &path.display().to_string(), mode)?;
        Ok(PolicyFile {
            current: RwLock::new(Arc::new(policy)),
            path: Some(path.to_path_buf()),
            mode,
            seen: Mutex::new(Some((snapshot.id, snapshot.file))),
        })
    }

    /// Wraps a policy that has no file (parsed from a string or built by the DSL): it can
    /// never be reloaded.
    pub fn fixed(policy: Policy) -> PolicyFile {
        PolicyFile {
            current: RwLock::new(Arc::new(policy)),
            path: None,
            mode: Mode::Enforce,
            seen: Mutex::new(None),
        }
    }

    /// The file this policy is reloaded from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The policy in force now. Callers evaluate on this snapshot, so one decision always
    /// sees one consistent policy even while another thread reloads.
    pub fn current(&self) -> Arc<Policy> {
        // A poisoned lock only means a panic happened while it was held; the Arc inside is
        // always a complete policy (the swap is a single assignment), so keep using it.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Records the file just read; returns the one read before it.
    fn swap_seen(&self, id: FileId, file: File) -> Option<FileId> {
        let mut guard = match self.seen.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        guard.replace((id, file)).map(|(previous, _)| previous)
    }

    /// Re-reads the file. Returns `Ok(false)` when its content is unchanged, `Ok(true)` when a
    /// new policy was compiled and is now in force. When the new content is invalid, the file
    /// cannot be read, or it may be half-written (see the module documentation), the old
    /// policy stays in force and the error is returned: a broken edit never fails open.
    pub fn reload(&self) -> Result<bool> {
        let path = self.path.as_deref().ok_or_else(|| {
            Error::policy(
                "this policy was not loaded from a file (Policy.parse or Policy.define), so it \
                 cannot be reloaded; build a new one instead"
                    .to_owned(),
            )
        })?;
        let snapshot = read_snapshot(path)?;
        let previous = self.swap_seen(snapshot.id, snapshot.file);
        if sha256(snapshot.text.as_bytes()) == *self.current().digest() {
            return Ok(false);
        }
        if previous == Some(snapshot.id) {
            check_settled(path, snapshot.modified)?;
        }
        let fresh = Policy::parse_as(&snapshot.text, &path.display().to_string(), self.mode)?;
        let fresh = Arc::new(fresh);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(true)
    }
}

/// A file changed in place is taken only once it has been left alone for [`IN_PLACE_SETTLE`].
/// A modification time in the future (clock skew, a network file system) counts as recent.
fn check_settled(path: &Path, modified: Option<SystemTime>) -> Result<()> {
    let settled = modified
        .and_then(|m| SystemTime::now().duration_since(m).ok())
        .is_some_and(|age| age >= IN_PLACE_SETTLE);
    if settled {
        return Ok(());
    }
    Err(Error::policy(format!(
        "{}: the file was changed in place less than {} s ago and may still be being written, \
         so it was not loaded and the policy in force is unchanged; reload again once the \
         write is done, or deploy a policy by writing a new file and renaming it over this one \
         (as a Kubernetes ConfigMap does)",
        path.display(),
        IN_PLACE_SETTLE.as_secs()
    )))
}
