//! Starting a sealed child.
//!
//! The child is spawned from a thread other than the caller's, one that set
//! `PR_SET_NO_NEW_PRIVS` and its Landlock domain on *itself*: both are per-thread and inherited
//! by children, so the Ruby process and its threads are untouched. Commands with the default
//! domain (no `fs:`, no `net:`) use one long-lived spawner thread per process, which holds
//! exactly that domain and so can serve every such command (creating a thread per run would cost
//! ~0.2 ms on a loaded machine); any other command uses a fresh short-lived thread, because a
//! domain can never be removed. These threads block every signal: signals belong to Ruby's
//! threads. The thread spawns with `posix_spawn` (see `sys::posix_spawn_sealed`), or by fork
//! when rlimits are asked for or the C library cannot close descriptors in a `posix_spawn` child.

use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::{mpsc, Arc, Mutex};

use super::sandbox::{Landlock, LandlockReport, LandlockStatus};
use super::supervise::io_err;
use super::{check, Command, Rlimits, SpawnMethod};
use crate::error::{key, Error, Field, Result};
use crate::sys;

pub(super) fn to_cstrings(argv: Vec<Vec<u8>>) -> Result<Vec<CString>> {
    argv.into_iter()
        .map(|a| {
            CString::new(a).map_err(|_| {
                Error::command_not_allowed(
                    "an argument contains a NUL byte, which no argv can hold",
                )
                .check("nul")
            })
        })
        .collect()
}

/// Everything a spawn needs, owned, so it can move to the spawner thread.
pub(super) struct SpawnJob {
    pub(super) method: SpawnMethod,
    pub(super) exe: Arc<CString>,
    pub(super) argv: Vec<CString>,
    pub(super) envp: Arc<[CString]>,
    pub(super) chdir: Option<super::WorkDir>,
    pub(super) stdio: [OwnedFd; 3],
    pub(super) rlimits: Rlimits,
}

impl SpawnJob {
    /// Spawns on the calling thread, which must hold no_new_privs already. The child's ends of
    /// the pipes are closed on return: a parent holding a write end would never see EOF.
    fn spawn(self) -> std::io::Result<i32> {
        let req = sys::SpawnRequest {
            exe: &self.exe,
            argv: &self.argv,
            envp: &self.envp,
            chdir: self.chdir.as_ref().map(super::WorkDir::as_chdir),
        };
        match self.method {
            SpawnMethod::PosixSpawn => {
                let [a, b, c] = &self.stdio;
                sys::posix_spawn_sealed(&req, [a.as_fd(), b.as_fd(), c.as_fd()])
            }
            SpawnMethod::Fork => sys::fork_spawn_sealed(&req, self.stdio, self.rlimits),
        }
    }
}

type Job = Box<dyn FnOnce() + Send + 'static>;

type Spawner = (mpsc::Sender<Job>, LandlockReport);

/// The long-lived spawner thread of this process: signals blocked, no_new_privs set, the
/// default Landlock domain applied, running spawn jobs one at a time. Re-created after a fork
/// (a forked Puma worker has no threads but its own), and `None` if it cannot be started (the
/// caller then uses a short-lived thread).
fn spawner() -> Option<Spawner> {
    static SPAWNER: Mutex<Option<(u32, Spawner)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = SPAWNER.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((owner, spawner)) = slot.as_ref() {
        if *owner == pid {
            return Some(spawner.clone());
        }
    }
    let (tx, rx) = mpsc::channel::<Job>();
    let (ready_tx, ready_rx) = mpsc::sync_channel::<Option<LandlockReport>>(1);
    std::thread::Builder::new()
        .name("hanami_guard-spawner".into())
        .stack_size(256 * 1024)
        .spawn(move || {
            let ok = sys::block_signals_on_this_thread().is_ok()
                && rustix::thread::set_no_new_privs(true).is_ok();
            let report = if ok {
                Landlock::default_domain().restrict_current_thread().ok()
            } else {
                None
            };
            let ok = report.is_some();
            let _ = ready_tx.send(report);
            if ok {
                while let Ok(job) = rx.recv() {
                    // A job never panics by design; if one did, keep serving the others.
                    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
                }
            }
        })
        .ok()?;
    let report = ready_rx.recv().ok()??;
    *slot = Some((pid, (tx.clone(), report)));
    Some((tx, report))
}

/// Starts the child from a sealed thread (see the module documentation). Returns its pid and
/// what Landlock did.
pub(super) fn spawn_sealed(cmd: &Command, job: SpawnJob) -> Result<(i32, LandlockReport)> {
    let failed = |e: std::io::Error| {
        let err = Error::command(
            check::START,
            format!(
                "could not start {}: {e}",
                crate::error::excerpt(&cmd.exe_c.to_string_lossy(), 80)
            ),
        );
        match sys::errno_of(&e) {
            Some(n) => err.with(key::ERRNO, Field::Int(u64::from(n.unsigned_abs()))),
            None => err,
        }
    };
    if cmd.landlock.as_ref().is_some_and(Landlock::is_default) {
        if let Some((tx, report)) = spawner() {
            let (reply_tx, reply_rx) = mpsc::sync_channel(1);
            let job = Box::new(move || {
                let _ = reply_tx.send(job.spawn());
            });
            if tx.send(job).is_ok() {
                if let Ok(result) = reply_rx.recv() {
                    return result.map(|pid| (pid, report)).map_err(failed);
                }
            }
            return Err(Error::command(
                check::INTERNAL,
                "the hanami_guard spawner thread stopped; the command was not run",
            ));
        }
    }
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .name("hanami_guard-sealed".into())
            .stack_size(256 * 1024)
            .spawn_scoped(scope, || -> Result<(i32, LandlockReport)> {
                sys::block_signals_on_this_thread().map_err(|e| io_err(e, "pthread_sigmask"))?;
                rustix::thread::set_no_new_privs(true)
                    .map_err(|e| io_err(e, "PR_SET_NO_NEW_PRIVS"))?;
                let landlock = match &cmd.landlock {
                    Some(l) => l.restrict_current_thread()?,
                    None => LandlockReport::none(LandlockStatus::Disabled),
                };
                let pid = job.spawn().map_err(failed)?;
                Ok((pid, landlock))
            })
            .map_err(|e| io_err(e, "starting the helper thread"))?;
        match handle.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}
