//! Running a sealed child and waiting for it.
//!
//! 1. The child is started from a sealed thread (`spawn.rs`).
//! 2. The caller polls stdout, stderr, the stdin pipe, a pidfd and the [`Cancel`] eventfd, reading both
//!    output pipes as data arrives (no deadlock on a full pipe), keeping up to `max_output`
//!    bytes of each and draining the rest.
//! 3. On timeout or cancellation it sends `SIGTERM` (and `SIGCONT`) to the whole process group,
//!    waits the grace period, then `SIGKILL`s the group. When the leader has exited, whatever it
//!    left in its group is `SIGKILL`ed too, before the leader is reaped (so the group id cannot
//!    have been reused), and the leader is reaped: no zombie, nothing left running.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};

use super::spawn::{spawn_sealed, to_cstrings, SpawnJob};
use super::{check, Command, Output, Sandbox};
use crate::cancel::Cancel;
use crate::error::{key, Error, Field, Result};
use crate::sys;

/// After the leader exits, how long to keep reading pipes that a process which left the group
/// (setsid) may still hold open.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(250);
/// Poll period when the kernel has no pidfd (Linux < 5.3).
const TICK_WITHOUT_PIDFD: Duration = Duration::from_millis(10);
const CHUNK: usize = 64 * 1024;

pub(super) fn io_err(e: impl Into<std::io::Error>, what: &str) -> Error {
    let e: std::io::Error = e.into();
    let errno = sys::errno_of(&e);
    let err = Error::command(
        check::START,
        format!("could not run the command ({what}): {e}"),
    );
    match errno {
        Some(n) => err.with(key::ERRNO, Field::Int(u64::from(n.unsigned_abs()))),
        None => err,
    }
}

/// Moves a descriptor above 2, so that the child's `dup2` onto 0, 1 and 2 cannot clobber one
/// another (when the Ruby process itself runs with 0-2 closed).
fn above_stdio(fd: OwnedFd) -> Result<OwnedFd> {
    if fd.as_raw_fd() > 2 {
        Ok(fd)
    } else {
        rustix::io::fcntl_dupfd_cloexec(&fd, 3).map_err(|e| io_err(e, "fcntl"))
    }
}

fn nonblocking(fd: &OwnedFd) -> Result<()> {
    rustix::io::ioctl_fionbio(fd, true).map_err(|e| io_err(e, "ioctl FIONBIO"))
}

struct Stream {
    fd: Option<OwnedFd>,
    buf: Vec<u8>,
    truncated: bool,
}

impl Stream {
    fn new(fd: OwnedFd) -> Self {
        Stream {
            fd: Some(fd),
            buf: Vec::new(),
            truncated: false,
        }
    }

    /// Reads what is available, a bounded number of chunks (so a child writing without pause
    /// cannot keep the loop from checking the timeout and the other stream); closes on EOF or
    /// error.
    fn read_available(&mut self, scratch: &mut [u8], max: usize) {
        let Some(fd) = &self.fd else { return };
        for _ in 0..8 {
            match rustix::io::read(fd, &mut *scratch) {
                Ok(0) => {
                    self.fd = None;
                    return;
                }
                Ok(n) => {
                    let room = max.saturating_sub(self.buf.len());
                    let keep = n.min(room);
                    self.buf.extend_from_slice(&scratch[..keep]);
                    if keep < n {
                        self.truncated = true;
                    }
                    if n < scratch.len() {
                        return; // probably drained; poll says when there is more
                    }
                }
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => return,
                Err(_) => {
                    self.fd = None;
                    return;
                }
            }
        }
    }
}

fn kill_group(pid: Pid, sig: Signal) {
    // ESRCH (nothing left in the group) is the expected end state.
    let _ = rustix::process::kill_process_group(pid, sig);
}

fn has_exited(pid: Pid) -> bool {
    matches!(
        rustix::process::waitid(
            WaitId::Pid(pid),
            WaitIdOptions::EXITED | WaitIdOptions::NOHANG | WaitIdOptions::NOWAIT,
        ),
        Ok(Some(_)) | Err(_)
    )
}

enum Phase {
    Running,
    Terminating { kill_at: Instant },
    Killed,
}

/// Runs `argv` (already expanded and checked) as `cmd` describes, feeding `stdin` if given.
/// Waits on the calling thread; `cancel` ends the wait early: the process group is terminated
/// and reaped, and the output so far returned with `cancelled` set.
pub(super) fn run(
    cmd: &Command,
    argv: Vec<Vec<u8>>,
    stdin: Option<Vec<u8>>,
    cancel: &Cancel,
) -> Result<Output> {
    let mut running = start(cmd, argv, stdin)?;
    match running.wait(Some(cancel))? {
        Some(output) => Ok(output),
        None => running.cancel(),
    }
}

/// Starts `argv` as `cmd` describes: the child is running when this returns, and the
/// [`Running`] owns it (dropping it kills the process group and reaps the child).
pub(super) fn start(cmd: &Command, argv: Vec<Vec<u8>>, stdin: Option<Vec<u8>>) -> Result<Running> {
    let argv = to_cstrings(argv)?;
    let (out_r, out_w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| io_err(e, "pipe"))?;
    let (err_r, err_w) =
        rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC).map_err(|e| io_err(e, "pipe"))?;
    let (in_child, in_parent) = match &stdin {
        Some(_) => {
            let (r, w) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
                .map_err(|e| io_err(e, "pipe"))?;
            (r, Some(w))
        }
        None => (
            rustix::fs::open("/dev/null", OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
                .map_err(|e| io_err(e, "opening /dev/null"))?,
            None,
        ),
    };
    nonblocking(&out_r)?;
    nonblocking(&err_r)?;
    if let Some(w) = &in_parent {
        nonblocking(w)?;
    }

    let method = cmd.spawn_method();
    let started = Instant::now();
    let job = SpawnJob {
        method,
        exe: Arc::clone(&cmd.exe_c),
        argv,
        envp: Arc::clone(&cmd.envp),
        chdir: cmd.chdir.clone(),
        stdio: [
            above_stdio(in_child)?,
            above_stdio(out_w)?,
            above_stdio(err_w)?,
        ],
        rlimits: cmd.rlimits,
    };
    let (raw_pid, landlock) = spawn_sealed(cmd, job)?;
    let pid = Pid::from_raw(raw_pid).ok_or_else(|| {
        Error::command(
            check::INTERNAL,
            "the C library returned pid 0 for the child",
        )
    })?;
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty()).ok();
    Ok(Running {
        pid,
        pidfd,
        out: Stream::new(out_r),
        err: Stream::new(err_r),
        stdin_fd: in_parent,
        stdin_data: stdin.unwrap_or_default(),
        stdin_pos: 0,
        scratch: vec![0u8; CHUNK],
        max: cmd.max_output,
        deadline: cmd.timeout.map(|t| started + t),
        kill_grace: cmd.kill_grace,
        started,
        phase: Phase::Running,
        timed_out: false,
        cancelled: false,
        exited_at: None,
        sandbox: Sandbox {
            no_new_privs: true,
            landlock,
            new_session: true,
            spawn: method,
            process_group: true,
            fds_closed: true,
            rlimits: cmd.rlimits.any(),
        },
        reaped: false,
    })
}

/// A started command: its child, its pipes, and what has been read so far. The wait can stop
/// and resume ([`Running::wait`] returns `None` when woken), so a caller woken by mistake goes
/// back to waiting instead of killing the child. Dropping it before the child was reaped
/// kills the process group and reaps the child.
pub struct Running {
    pid: Pid,
    pidfd: Option<OwnedFd>,
    out: Stream,
    err: Stream,
    stdin_fd: Option<OwnedFd>,
    stdin_data: Vec<u8>,
    stdin_pos: usize,
    scratch: Vec<u8>,
    max: usize,
    deadline: Option<Instant>,
    kill_grace: Duration,
    started: Instant,
    phase: Phase,
    timed_out: bool,
    cancelled: bool,
    exited_at: Option<Instant>,
    sandbox: Sandbox,
    reaped: bool,
}

impl Running {
    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> i32 {
        self.pid.as_raw_nonzero().get()
    }

    /// Waits, reading output and feeding stdin, until the command has finished (`Some`, the
    /// child reaped) or `wake` is signalled (`None`: the child keeps running, and `wait` may be
    /// called again). The timeout is enforced either way.
    pub fn wait(&mut self, wake: Option<&Cancel>) -> Result<Option<Output>> {
        let pid = self.pid;
        loop {
            if let Some(at) = self.exited_at {
                let closed = self.out.fd.is_none() && self.err.fd.is_none();
                if closed || self.cancelled || Instant::now() >= at + DRAIN_AFTER_EXIT {
                    return self.finish().map(Some);
                }
            }

            // What to wait on, and until when.
            let now = Instant::now();
            let mut until: Option<Instant> = match (&self.phase, self.exited_at) {
                (_, Some(at)) => Some(at + DRAIN_AFTER_EXIT),
                (Phase::Running, None) => self.deadline,
                (Phase::Terminating { kill_at }, None) => Some(*kill_at),
                (Phase::Killed, None) => None,
            };
            if self.pidfd.is_none() && self.exited_at.is_none() {
                let tick = now + TICK_WITHOUT_PIDFD;
                until = Some(until.map_or(tick, |w| w.min(tick)));
            }
            let timeout = until.map(|w| {
                let d = w.saturating_duration_since(now);
                rustix::event::Timespec {
                    tv_sec: d.as_secs() as i64,
                    tv_nsec: d.subsec_nanos() as _,
                }
            });

            let wake_fd = wake.map(Cancel::as_fd);
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(5);
            let mut idx_out = None;
            let mut idx_err = None;
            let mut idx_in = None;
            let mut idx_pid = None;
            let mut idx_wake = None;
            if let Some(fd) = &self.out.fd {
                idx_out = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            if let Some(fd) = &self.err.fd {
                idx_err = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            if let Some(fd) = &self.stdin_fd {
                idx_in = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::OUT));
            }
            if self.exited_at.is_none() {
                if let Some(fd) = &self.pidfd {
                    idx_pid = Some(fds.len());
                    fds.push(PollFd::new(fd, PollFlags::IN));
                }
            }
            if let Some(fd) = &wake_fd {
                idx_wake = Some(fds.len());
                fds.push(PollFd::new(fd, PollFlags::IN));
            }
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                Ok(_) | Err(Errno::INTR) => {}
                Err(e) => {
                    // Cannot wait any more: make sure nothing survives, then report.
                    drop(fds);
                    self.kill_and_reap();
                    return Err(io_err(e, "poll"));
                }
            }
            let ready = |i: Option<usize>| i.is_some_and(|i| !fds[i].revents().is_empty());
            let (r_out, r_err, r_in, r_pid, r_wake) = (
                ready(idx_out),
                ready(idx_err),
                ready(idx_in),
                ready(idx_pid),
                ready(idx_wake),
            );
            drop(fds);

            if r_out {
                self.out.read_available(&mut self.scratch, self.max);
            }
            if r_err {
                self.err.read_available(&mut self.scratch, self.max);
            }
            if r_in {
                if let Some(fd) = &self.stdin_fd {
                    let rest = &self.stdin_data[self.stdin_pos..];
                    match sys::write_without_sigpipe(fd.as_fd(), &rest[..rest.len().min(CHUNK)]) {
                        Ok(n) => self.stdin_pos += n,
                        Err(Errno::AGAIN) | Err(Errno::INTR) => {}
                        // EPIPE: the child stopped reading
                        Err(_) => self.stdin_pos = self.stdin_data.len(),
                    }
                }
            }
            if self.stdin_fd.is_some() && self.stdin_pos >= self.stdin_data.len() {
                self.stdin_fd = None; // close: the child sees EOF
            }

            let exited_now =
                self.exited_at.is_none() && (r_pid || (self.pidfd.is_none() && has_exited(pid)));
            if exited_now {
                // Kill what the leader left behind in its group while the leader is still an
                // unreaped zombie, so the group id cannot belong to anyone else yet.
                kill_group(pid, Signal::KILL);
                self.exited_at = Some(Instant::now());
                self.stdin_fd = None;
                continue;
            }

            let now = Instant::now();
            match self.phase {
                Phase::Running => {
                    if self.exited_at.is_none() && self.deadline.is_some_and(|d| now >= d) {
                        self.timed_out = true;
                        self.phase = terminate(pid, self.kill_grace);
                    }
                }
                Phase::Terminating { kill_at } => {
                    if self.exited_at.is_none() && now >= kill_at {
                        kill_group(pid, Signal::KILL);
                        self.phase = Phase::Killed;
                    }
                }
                Phase::Killed => {}
            }

            // Readable only once `cancel` has written to it (the flag may already have been
            // cleared by a racing `reset`): either way the caller decides, and resets it.
            if r_wake {
                return Ok(None);
            }
        }
    }

    /// Ends the command early: `SIGTERM` (and `SIGCONT`) to the process group, `SIGKILL` after
    /// the grace period, then the child is reaped. Returns the output read so far, with
    /// `cancelled` set.
    pub fn cancel(&mut self) -> Result<Output> {
        if self.reaped {
            return Err(Error::command(
                check::INTERNAL,
                "the command had already finished and was reaped",
            ));
        }
        self.cancelled = true;
        if self.exited_at.is_none() && matches!(self.phase, Phase::Running) {
            self.phase = terminate(self.pid, self.kill_grace);
        }
        match self.wait(None)? {
            Some(output) => Ok(output),
            // Without a wake signal the wait only returns once the child is reaped.
            None => Err(Error::command(
                check::INTERNAL,
                "the wait for the cancelled command returned early (a bug)",
            )),
        }
    }

    /// The leader has exited (or the drain is over): make sure nothing of the group remains,
    /// then reap the leader.
    fn finish(&mut self) -> Result<Output> {
        let pid = self.pid;
        kill_group(pid, Signal::KILL);
        self.reaped = true;
        let status =
            match rustix::process::waitid(WaitId::Pid(pid), WaitIdOptions::EXITED) {
                Ok(Some(s)) => s,
                Ok(None) | Err(_) => return Err(Error::command(
                    check::STATUS_LOST,
                    "the command's exit status was lost: something else in this process reaped \
                     it (SIGCHLD set to IGNORE, or Process.wait without a pid); do not reap \
                     children you did not start",
                )),
            };
        Ok(Output {
            exit_status: status.exit_status(),
            signal: status.terminating_signal(),
            truncated: self.out.truncated || self.err.truncated,
            stdout: std::mem::take(&mut self.out.buf),
            stderr: std::mem::take(&mut self.err.buf),
            timed_out: self.timed_out,
            cancelled: self.cancelled,
            duration: self.started.elapsed(),
            pid: pid.as_raw_nonzero().get(),
            sandbox: self.sandbox,
        })
    }

    fn kill_and_reap(&mut self) {
        if !self.reaped {
            kill_group(self.pid, Signal::KILL);
            let _ = rustix::process::waitid(WaitId::Pid(self.pid), WaitIdOptions::EXITED);
            self.reaped = true;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // An abandoned command (its caller panicked, or was interrupted before waiting) must not
        // leave anything running or a zombie behind.
        self.kill_and_reap();
    }
}

fn terminate(pid: Pid, grace: Duration) -> Phase {
    kill_group(pid, Signal::TERM);
    kill_group(pid, Signal::CONT); // a stopped process cannot act on TERM
    if grace.is_zero() {
        kill_group(pid, Signal::KILL);
        Phase::Killed
    } else {
        Phase::Terminating {
            kill_at: Instant::now() + grace,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A non-blocking pipe: the wait loop's read end as the child's output arrives on it, and
    /// the write end standing in for the child.
    fn pipe() -> (Stream, OwnedFd) {
        let Ok((read, write)) = rustix::pipe::pipe() else {
            panic!("pipe");
        };
        assert!(nonblocking(&read).is_ok());
        (Stream::new(read), write)
    }

    fn write_all(fd: &OwnedFd, mut data: &[u8]) {
        while !data.is_empty() {
            match rustix::io::write(fd, data) {
                Ok(n) => data = &data[n..],
                Err(e) => panic!("write: {e}"),
            }
        }
    }

    #[test]
    fn keeps_at_most_max_bytes_and_says_it_dropped_the_rest() {
        let (mut out, child) = pipe();
        let mut scratch = [0u8; 16];
        write_all(&child, b"0123456789abcdefghij");
        out.read_available(&mut scratch, 12);
        assert_eq!(out.buf, b"0123456789ab");
        assert!(out.truncated);
        assert!(out.fd.is_some(), "still open: the child may write more");
    }

    #[test]
    fn returns_at_once_on_an_empty_pipe_and_closes_on_end_of_file() {
        let (mut out, child) = pipe();
        let mut scratch = [0u8; 16];
        out.read_available(&mut scratch, 1024);
        assert!(
            out.buf.is_empty() && out.fd.is_some(),
            "nothing yet, not an end"
        );
        write_all(&child, b"last words");
        drop(child);
        out.read_available(&mut scratch, 1024);
        out.read_available(&mut scratch, 1024);
        assert_eq!(out.buf, b"last words");
        assert!(!out.truncated);
        assert!(out.fd.is_none(), "closed at end of file");
    }

    #[test]
    fn reads_a_bounded_number_of_chunks_per_call() {
        // A child that writes without pause must not keep the loop from its timeout and the
        // other stream: one call reads at most eight chunks, the next call the rest.
        let (mut out, child) = pipe();
        let mut scratch = [0u8; 16];
        write_all(&child, &[b'x'; 16 * 10]);
        out.read_available(&mut scratch, 1 << 20);
        assert_eq!(out.buf.len(), 16 * 8);
        out.read_available(&mut scratch, 1 << 20);
        assert_eq!(out.buf.len(), 16 * 10);
        assert!(!out.truncated);
    }

    #[test]
    fn has_exited_only_once_the_child_has_and_leaves_it_to_be_reaped() {
        let Ok(mut child) = std::process::Command::new("/bin/sh")
            .args(["-c", "read line; exit 7"])
            .stdin(std::process::Stdio::piped())
            .spawn()
        else {
            panic!("spawn /bin/sh");
        };
        let pid = Pid::from_child(&child);
        assert!(!has_exited(pid));
        drop(child.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(30);
        while !has_exited(pid) {
            assert!(Instant::now() < deadline, "the child did not exit");
            std::thread::sleep(Duration::from_millis(5));
        }
        // NOWAIT: the exit, with its status, is still there for the real reap.
        assert!(matches!(child.wait(), Ok(status) if status.code() == Some(7)));
    }
}
