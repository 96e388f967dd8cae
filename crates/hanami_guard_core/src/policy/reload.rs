//! A policy that can be reloaded from its file without ever failing open.
//!
//! [`PolicyFile`] holds the current compiled [`Policy`] behind an `Arc`. A decision clones the
//! `Arc` (one atomic increment under a read lock held for that instant) and then evaluates with
//! no lock held, so decisions never wait on one another or on a reload. `reload` reads and
//! compiles the file with no lock held at all, and takes the write lock only to swap the
//! pointer, and only when the new text compiled. A broken file leaves the old policy in place
//! and returns the error.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::{read_policy_file, sha256, Policy};
use crate::error::{Error, Result};

/// The current policy, and the file it came from (if any).
#[derive(Debug)]
pub struct PolicyFile {
    current: RwLock<Arc<Policy>>,
    path: Option<PathBuf>,
}

impl PolicyFile {
    /// Loads a policy file.
    pub fn load(path: &Path) -> Result<PolicyFile> {
        Ok(PolicyFile {
            current: RwLock::new(Arc::new(Policy::load(path)?)),
            path: Some(path.to_path_buf()),
        })
    }

    /// Wraps a policy that has no file (parsed from a string or built by the DSL): it can
    /// never be reloaded.
    pub fn fixed(policy: Policy) -> PolicyFile {
        PolicyFile {
            current: RwLock::new(Arc::new(policy)),
            path: None,
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

    /// Re-reads the file. Returns `Ok(false)` when its content is unchanged, `Ok(true)` when a
    /// new policy was compiled and is now in force. When the new content is invalid (or the
    /// file cannot be read), the old policy stays in force and the error is returned: a broken
    /// edit never fails open.
    pub fn reload(&self) -> Result<bool> {
        let path = self.path.as_deref().ok_or_else(|| {
            Error::Policy(
                "this policy was not loaded from a file (Policy.parse or Policy.define), so it \
                 cannot be reloaded; build a new one instead"
                    .to_owned(),
            )
        })?;
        let text = read_policy_file(path)?;
        if sha256(text.as_bytes()) == *self.current().digest() {
            return Ok(false);
        }
        let fresh = Policy::parse(&text, &path.display().to_string())?;
        let fresh = Arc::new(fresh);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(true)
    }
}
