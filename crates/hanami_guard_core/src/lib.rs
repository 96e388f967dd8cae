//! The logic of `hanami_guard`, with no Ruby in it.
//!
//! Four capabilities, each a module: [`identity`] (certificates, distinguished names, SPIFFE IDs,
//! XFCC, chain verification), [`root`] (file access confined beneath a base directory),
//! [`command`] (argv-only, sealed child processes) and [`policy`] (compiled allow/deny rules);
//! [`audit`] scans an app's own code for the escapes that do not go through them.
//! The Ruby extension in `ext/hanami_guard` only converts values and errors to and from these.
//!
//! `unsafe` is denied everywhere except in two modules: [`sys`], which makes the raw system calls
//! rustix does not wrap (`posix_spawn` and friends), and `audit::prism_alloc`, the arena that
//! Prism's C parser allocates from during a scan. Every `unsafe` block there carries a
//! `// SAFETY:` comment.
#![deny(unsafe_code)]
#![deny(missing_docs)]

// Every defence here is a Linux system call: openat2(RESOLVE_BENEATH) confines paths, Landlock
// confines the command child, close_range and posix_spawn's Linux flags seal it. Another kernel
// has nothing that keeps the same promises, so refuse to build rather than build something that
// silently protects less.
#[cfg(not(target_os = "linux"))]
compile_error!(
    "hanami_guard_core supports Linux only: its confinement (openat2, Landlock) is made of Linux \
     system calls with no equivalent that keeps the same guarantees elsewhere. Build on Linux."
);

pub mod audit;
pub mod cancel;
pub mod command;
pub mod doctor;
pub mod error;
pub mod identity;
pub mod policy;
pub mod root;
#[allow(unsafe_code)]
pub mod sys;

pub use error::{Error, Field, Refusal, Result};

#[cfg(test)]
mod tests {
    #[test]
    fn the_crate_links() {
        assert_eq!(crate::error::UntrustedReason::Expired.as_str(), "expired");
    }
}
