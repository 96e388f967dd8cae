//! Cancellation of blocking work from another thread.
//!
//! Ruby releases the GVL around blocking work and, when the waiting thread is interrupted
//! (`Thread#raise`, `Thread#kill`, `Timeout.timeout`, Ctrl-C), calls an "unblocking function"
//! from another thread. That function calls [`Cancel::cancel`]: the flag is set and the eventfd
//! becomes readable, so a worker blocked in `poll(2)` on [`Cancel::as_fd`] wakes at once and can
//! clean up (kill its child process group, reap it) before returning.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::event::{eventfd, EventfdFlags};

/// A one-shot cancellation signal that can be polled as a file descriptor.
#[derive(Debug)]
pub struct Cancel {
    flag: AtomicBool,
    fd: OwnedFd,
}

impl Cancel {
    /// A new, not yet cancelled signal.
    pub fn new() -> std::io::Result<Self> {
        let fd = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        Ok(Cancel {
            flag: AtomicBool::new(false),
            fd,
        })
    }

    /// Signal cancellation. Safe to call from any thread, any number of times.
    pub fn cancel(&self) {
        self.flag.store(true, Ordering::SeqCst);
        // An eventfd write only fails when the counter would overflow, which a handful of
        // writes cannot do; the flag is authoritative anyway.
        let _ = rustix::io::write(&self.fd, &1u64.to_ne_bytes());
    }

    /// Clears the signal (the flag and the eventfd's counter), for a caller that was woken by
    /// mistake and waits again. A [`Cancel::cancel`] racing with it may be lost: call it only
    /// when the canceller has another way to be heard (Ruby re-checks its interrupt flag before
    /// the next wait).
    pub fn reset(&self) {
        self.flag.store(false, Ordering::SeqCst);
        let mut counter = [0u8; 8];
        // Nonblocking: EAGAIN when the counter is already zero.
        let _ = rustix::io::read(&self.fd, &mut counter);
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// A descriptor that becomes readable once cancelled, for `poll(2)`.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancel_wakes_a_poller() {
        let c = std::sync::Arc::new(Cancel::new().expect("eventfd"));
        assert!(!c.is_cancelled());
        let c2 = c.clone();
        let t = std::thread::spawn(move || {
            let mut fds = [rustix::event::PollFd::new(
                &c2.fd,
                rustix::event::PollFlags::IN,
            )];
            rustix::event::poll(&mut fds, None).expect("poll");
            c2.is_cancelled()
        });
        c.cancel();
        assert!(t.join().expect("join"));
    }
}
