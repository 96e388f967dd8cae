//! The one module allowed to use `unsafe`: raw system calls that rustix does not wrap.
//! Every `unsafe` block carries a `// SAFETY:` comment saying why it is sound.
//!
//! What lives here, and why it cannot be safe Rust:
//! - [`posix_spawn_sealed`]: glibc's `posix_spawn` with a new session (and so a new process
//!   group), an empty signal mask, default dispositions and a close-from file action. `posix_spawn` is vfork-like, so it
//!   costs the same whatever the size of the (Ruby) parent, unlike `fork`.
//! - [`fork_spawn_sealed`]: the slower path, `std::process::Command` with a `pre_exec` hook
//!   (rlimits are per process, so they must be set in the child between fork and exec).
//! - [`block_signals_on_this_thread`]: the helper thread that spawns and supervises a child
//!   must not receive the process's signals (they belong to Ruby), nor die of `SIGPIPE`. Its
//!   mask is inherited by a forked child, so both spawn paths set the child's mask explicitly.
//!
//! The glibc extensions `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34 and later),
//! `posix_spawn_file_actions_addchdir_np` and `posix_spawn_file_actions_addfchdir_np` (glibc
//! 2.29 and later) are looked up at run time with
//! `dlsym`, not linked: an extension built against a newer glibc still loads on an older one,
//! and the command falls back to the fork path there (see [`closefrom_available`]).

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::sync::OnceLock;

type AddCloseFrom = unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, c_int) -> c_int;
type AddChdir = unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, *const c_char) -> c_int;
type AddFchdir = unsafe extern "C" fn(*mut libc::posix_spawn_file_actions_t, c_int) -> c_int;

struct GlibcExtensions {
    closefrom: Option<AddCloseFrom>,
    chdir: Option<AddChdir>,
    fchdir: Option<AddFchdir>,
}

fn lookup_symbol(name: &CStr) -> *mut c_void {
    // SAFETY: `name` is a valid NUL-terminated string; RTLD_DEFAULT (a null handle on glibc)
    // searches the global symbol scope. dlsym has no other precondition.
    unsafe { libc::dlsym(std::ptr::null_mut(), name.as_ptr()) }
}

fn extensions() -> &'static GlibcExtensions {
    static EXT: OnceLock<GlibcExtensions> = OnceLock::new();
    EXT.get_or_init(|| {
        let closefrom = lookup_symbol(c"posix_spawn_file_actions_addclosefrom_np");
        let chdir = lookup_symbol(c"posix_spawn_file_actions_addchdir_np");
        let fchdir = lookup_symbol(c"posix_spawn_file_actions_addfchdir_np");
        GlibcExtensions {
            fchdir: if fchdir.is_null() {
                None
            } else {
                // SAFETY: glibc declares this symbol as
                // `int (posix_spawn_file_actions_t *, int)`; the pointer is non-null.
                Some(unsafe { std::mem::transmute::<*mut c_void, AddFchdir>(fchdir) })
            },
            closefrom: if closefrom.is_null() {
                None
            } else {
                // SAFETY: glibc declares this symbol with exactly the `AddCloseFrom` signature
                // (`int (posix_spawn_file_actions_t *, int)`); the pointer is non-null.
                Some(unsafe { std::mem::transmute::<*mut c_void, AddCloseFrom>(closefrom) })
            },
            chdir: if chdir.is_null() {
                None
            } else {
                // SAFETY: glibc declares this symbol as
                // `int (posix_spawn_file_actions_t *, const char *)`; the pointer is non-null.
                Some(unsafe { std::mem::transmute::<*mut c_void, AddChdir>(chdir) })
            },
        }
    })
}

/// Whether the C library can close every descriptor above 2 in a `posix_spawn` child
/// (glibc >= 2.34). Without it, commands use the fork path.
pub fn closefrom_available() -> bool {
    extensions().closefrom.is_some()
}

/// Whether the C library can change directory, to `dir`, in a `posix_spawn` child (glibc >=
/// 2.29).
pub fn spawn_chdir_available(dir: &Chdir<'_>) -> bool {
    match dir {
        Chdir::Path(_) => extensions().chdir.is_some(),
        Chdir::Fd(_) => extensions().fchdir.is_some(),
    }
}

/// Where a child starts.
#[derive(Clone, Copy)]
pub enum Chdir<'a> {
    /// A directory path, resolved in the child.
    Path(&'a CStr),
    /// An open directory (`fchdir`): what the path named when it was opened, whatever the path
    /// names now.
    Fd(BorrowedFd<'a>),
}

/// The kernel's Landlock ABI version: 0 when Landlock is missing or disabled. Asked once.
pub fn landlock_abi() -> u32 {
    static ABI: OnceLock<u32> = OnceLock::new();
    *ABI.get_or_init(|| {
        const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
        // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the syscall only
        // returns a number; it reads and writes no memory.
        let v = unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        };
        u32::try_from(v).unwrap_or(0)
    })
}

/// Blocks every signal on the calling thread. Used on the short-lived thread that spawns and
/// supervises a child: process-directed signals then go to Ruby's threads, and a write to a
/// closed stdin pipe fails with `EPIPE` instead of killing the process with `SIGPIPE` (a
/// thread-directed `SIGPIPE` left pending on a blocked thread is discarded when it exits).
pub fn block_signals_on_this_thread() -> io::Result<()> {
    let mut set = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigfillset initialises the set it is given; pthread_sigmask reads it (initialised
    // just before) and accepts a null old-set pointer.
    let rc = unsafe {
        libc::sigfillset(set.as_mut_ptr());
        libc::pthread_sigmask(libc::SIG_BLOCK, set.as_ptr(), std::ptr::null_mut())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(rc))
    }
}

/// What a sealed child is started with.
pub struct SpawnRequest<'a> {
    /// Absolute path of the executable.
    pub exe: &'a CStr,
    /// Full argv, `argv[0]` included.
    pub argv: &'a [CString],
    /// Full environment, as `KEY=value` strings.
    pub envp: &'a [CString],
    /// Directory to change to before exec.
    pub chdir: Option<Chdir<'a>>,
}

fn null_terminated(strings: &[CString]) -> Vec<*mut c_char> {
    let mut v: Vec<*mut c_char> = strings.iter().map(|s| s.as_ptr() as *mut c_char).collect();
    v.push(std::ptr::null_mut());
    v
}

fn check(rc: c_int, what: &str) -> io::Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        let e = io::Error::from_raw_os_error(rc);
        Err(io::Error::new(
            e.kind(),
            Failed {
                message: format!("{what}: {e}"),
                errno: rc,
            },
        ))
    }
}

/// A C library call that returned an error number instead of setting `errno`: the message names
/// the call, and the number is kept for [`errno_of`].
#[derive(Debug)]
struct Failed {
    message: String,
    errno: c_int,
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Failed {}

/// The `errno` behind an I/O error: its raw OS error, or the number a C library call returned.
pub fn errno_of(e: &io::Error) -> Option<i32> {
    e.raw_os_error().or_else(|| {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<Failed>())
            .map(|failed| failed.errno)
    })
}

/// Owns an initialised `posix_spawnattr_t` and destroys it on drop.
struct Attr(libc::posix_spawnattr_t);

impl Drop for Attr {
    fn drop(&mut self) {
        // SAFETY: the attribute object was initialised by posix_spawnattr_init (the only way
        // an `Attr` is built) and is destroyed exactly once, here.
        unsafe { libc::posix_spawnattr_destroy(&mut self.0) };
    }
}

/// Owns an initialised `posix_spawn_file_actions_t` and destroys it on drop.
struct Actions(libc::posix_spawn_file_actions_t);

impl Drop for Actions {
    fn drop(&mut self) {
        // SAFETY: initialised by posix_spawn_file_actions_init (the only way an `Actions` is
        // built) and destroyed exactly once, here.
        unsafe { libc::posix_spawn_file_actions_destroy(&mut self.0) };
    }
}

/// Every signal from 1 to `SIGRTMAX`, glibc's internal ones included.
///
/// glibc's `sigfillset` leaves out its internal real-time signals (32 and 33), and its
/// `posix_spawn` then sets those to `SIG_IGN` in the child, a disposition that survives exec.
/// Naming them in the set-to-default set (glibc's spawn reads the set's bits directly) starts
/// the new program with every signal at its default, as a fresh process would be.
fn every_signal() -> libc::sigset_t {
    const WORD: usize = libc::c_ulong::BITS as usize;
    const WORDS: usize =
        std::mem::size_of::<libc::sigset_t>() / std::mem::size_of::<libc::c_ulong>();
    let mut words = [0 as libc::c_ulong; WORDS];
    for sig in 1..=libc::SIGRTMAX() as usize {
        let bit = sig - 1;
        if bit / WORD < WORDS {
            words[bit / WORD] |= 1 << (bit % WORD);
        }
    }
    // SAFETY: on Linux a sigset_t is exactly an array of unsigned longs in which signal n is bit
    // n - 1 (the kernel's and glibc's layout); `transmute` checks that the sizes are equal.
    unsafe { std::mem::transmute::<[libc::c_ulong; WORDS], libc::sigset_t>(words) }
}

/// Starts `req` with `posix_spawn`: a new session without a controlling terminal (so it can
/// neither open the app's `/dev/tty` nor push keystrokes into it with `TIOCSTI`), whose
/// process group id is its pid (the group the supervisor signals), an empty signal mask, every catchable signal at its default disposition (Ruby ignores some, and an ignored
/// disposition survives exec), `stdio` as descriptors 0, 1 and 2, every other descriptor
/// closed, and the request's directory. Returns the pid.
///
/// Every descriptor of `stdio` must be >= 3 (the caller makes sure of it), so the `dup2`s onto
/// 0, 1 and 2 can never overwrite one another.
///
/// `no_new_privs` and Landlock are not set here: they are per-thread and inherited, so the
/// caller applies them to the thread that calls this.
///
/// Fails with `ENOSYS` if the C library lacks the close-from action; the caller checks
/// [`closefrom_available`] first and uses [`fork_spawn_sealed`] otherwise.
pub fn posix_spawn_sealed(req: &SpawnRequest<'_>, stdio: [BorrowedFd<'_>; 3]) -> io::Result<i32> {
    let ext = extensions();
    let closefrom = ext
        .closefrom
        .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOSYS))?;
    let enosys = || io::Error::from_raw_os_error(libc::ENOSYS);
    let chdir = match req.chdir {
        Some(Chdir::Path(dir)) => Some((Some((ext.chdir.ok_or_else(enosys)?, dir)), None)),
        Some(Chdir::Fd(fd)) => Some((None, Some((ext.fchdir.ok_or_else(enosys)?, fd)))),
        None => None,
    };

    let mut attr = std::mem::MaybeUninit::<libc::posix_spawnattr_t>::uninit();
    // SAFETY: posix_spawnattr_init initialises the object it is given.
    let rc = unsafe { libc::posix_spawnattr_init(attr.as_mut_ptr()) };
    check(rc, "posix_spawnattr_init")?;
    // SAFETY: initialised just above (rc == 0).
    let mut attr = Attr(unsafe { attr.assume_init() });

    let mut empty = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: sigemptyset initialises the set it is given.
    let empty = unsafe {
        libc::sigemptyset(empty.as_mut_ptr());
        empty.assume_init()
    };
    let all = every_signal();
    // SETSID alone: a session leader is also the leader of a new process group (pgid = pid),
    // and glibc's setpgid after setsid would fail with EPERM.
    let flags = libc::POSIX_SPAWN_SETSID
        | libc::POSIX_SPAWN_SETSIGMASK as libc::c_short
        | libc::POSIX_SPAWN_SETSIGDEF as libc::c_short;
    // SAFETY: `attr.0` is initialised; the set pointers point at initialised sigsets that
    // the calls copy.
    unsafe {
        check(
            libc::posix_spawnattr_setflags(&mut attr.0, flags),
            "posix_spawnattr_setflags",
        )?;
        check(
            libc::posix_spawnattr_setsigmask(&mut attr.0, &empty),
            "posix_spawnattr_setsigmask",
        )?;
        check(
            libc::posix_spawnattr_setsigdefault(&mut attr.0, &all),
            "posix_spawnattr_setsigdefault",
        )?;
    }

    let mut actions = std::mem::MaybeUninit::<libc::posix_spawn_file_actions_t>::uninit();
    // SAFETY: posix_spawn_file_actions_init initialises the object it is given.
    let rc = unsafe { libc::posix_spawn_file_actions_init(actions.as_mut_ptr()) };
    check(rc, "posix_spawn_file_actions_init")?;
    // SAFETY: initialised just above (rc == 0).
    let mut actions = Actions(unsafe { actions.assume_init() });
    // SAFETY: `actions.0` is initialised; the descriptors are open for the whole call (they are
    // borrowed), and the actions only record their numbers. `dir` is a valid C string
    // that glibc copies. `closefrom`/`chdir_fn` have the signatures glibc declares.
    unsafe {
        check(
            libc::posix_spawn_file_actions_adddup2(&mut actions.0, stdio[0].as_raw_fd(), 0),
            "posix_spawn_file_actions_adddup2(stdin)",
        )?;
        check(
            libc::posix_spawn_file_actions_adddup2(&mut actions.0, stdio[1].as_raw_fd(), 1),
            "posix_spawn_file_actions_adddup2(stdout)",
        )?;
        check(
            libc::posix_spawn_file_actions_adddup2(&mut actions.0, stdio[2].as_raw_fd(), 2),
            "posix_spawn_file_actions_adddup2(stderr)",
        )?;
        if let Some((Some((chdir_fn, dir)), _)) = chdir {
            check(
                chdir_fn(&mut actions.0, dir.as_ptr()),
                "posix_spawn_file_actions_addchdir_np",
            )?;
        }
        // Before the close-from action below, which closes the directory's descriptor.
        if let Some((_, Some((fchdir_fn, fd)))) = chdir {
            check(
                fchdir_fn(&mut actions.0, fd.as_raw_fd()),
                "posix_spawn_file_actions_addfchdir_np",
            )?;
        }
        check(
            closefrom(&mut actions.0, 3),
            "posix_spawn_file_actions_addclosefrom_np",
        )?;
    }

    let argv = null_terminated(req.argv);
    let envp = null_terminated(req.envp);
    let mut pid: libc::pid_t = 0;
    // SAFETY: every pointer is valid for the call: `pid` is a local, `exe` a C string, the
    // attribute and action objects are initialised, and `argv`/`envp` are null-terminated
    // arrays of pointers into CStrings that outlive the call. posix_spawn does not keep them.
    let rc = unsafe {
        libc::posix_spawn(
            &mut pid,
            req.exe.as_ptr(),
            &actions.0,
            &attr.0,
            argv.as_ptr(),
            envp.as_ptr(),
        )
    };
    check(rc, "posix_spawn")?;
    Ok(pid)
}

/// Resource limits to set in the child (soft = hard = the value).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rlimits {
    /// `RLIMIT_CPU`, seconds.
    pub cpu: Option<u64>,
    /// `RLIMIT_AS`, bytes.
    pub address_space: Option<u64>,
    /// `RLIMIT_NOFILE`, descriptors.
    pub nofile: Option<u64>,
    /// `RLIMIT_NPROC`, processes of the user.
    pub nproc: Option<u64>,
    /// `RLIMIT_FSIZE`, bytes.
    pub fsize: Option<u64>,
}

impl Rlimits {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.cpu.is_some()
            || self.address_space.is_some()
            || self.nofile.is_some()
            || self.nproc.is_some()
            || self.fsize.is_some()
    }
}

const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;

/// Runs in the forked child, before exec: only async-signal-safe calls, no allocation.
fn seal_forked_child(limits: &Rlimits, dir: Option<c_int>) -> io::Result<()> {
    if let Some(fd) = dir {
        // SAFETY: fchdir on a descriptor number is async-signal-safe and touches no memory; the
        // descriptor stays open in this child until exec.
        if unsafe { libc::fchdir(fd) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    use rustix::process::{setrlimit, Resource, Rlimit};
    // A new session, as on the posix_spawn path: no controlling terminal to inject into, and a
    // new process group led by the child for the supervisor's group kill.
    rustix::process::setsid()?;
    let pairs = [
        (Resource::Cpu, limits.cpu),
        (Resource::As, limits.address_space),
        (Resource::Nofile, limits.nofile),
        (Resource::Nproc, limits.nproc),
        (Resource::Fsize, limits.fsize),
    ];
    for (resource, value) in pairs {
        if let Some(v) = value {
            setrlimit(
                resource,
                Rlimit {
                    current: Some(v),
                    maximum: Some(v),
                },
            )?;
        }
    }
    // Default dispositions for every catchable signal: an ignored one survives exec. The raw
    // system call, because glibc's wrappers refuse its internal signals (32, 33), which an
    // ignoring parent would otherwise pass on. An all-zero kernel `struct sigaction` is SIG_DFL
    // with no flags and an empty mask whatever the architecture's field order.
    let default_action = [0u64; 4];
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // SAFETY: rt_sigaction reads the zeroed struct (a live local, larger than any
        // architecture's kernel sigaction), writes nothing (null old action), and is
        // async-signal-safe; the kernel's sigset size is 8 bytes on Linux.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                default_action.as_ptr(),
                std::ptr::null_mut::<u64>(),
                std::mem::size_of::<u64>(),
            )
        };
    }
    // An empty signal mask, set here rather than trusted to std: the fork copies the mask of the
    // spawner thread, which blocks every signal, and a child started that way ignores a
    // timeout's SIGTERM and hangs in `wait` (SIGCHLD never arrives). The raw system call, because
    // glibc's wrappers leave its internal signals (32, 33) as they were, and one can be blocked
    // at fork time; the kernel's sigset is 8 bytes on Linux.
    let empty: u64 = 0;
    // SAFETY: rt_sigprocmask reads 8 bytes from `empty`, a live local, writes nothing (null old
    // set), and is async-signal-safe.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &empty as *const u64,
            std::ptr::null_mut::<u64>(),
            std::mem::size_of::<u64>(),
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // Mark every descriptor above 2 close-on-exec (not closed outright: std's own error pipe,
    // already close-on-exec, must stay open until exec). Linux >= 5.11; otherwise one fcntl per
    // possible descriptor.
    // SAFETY: close_range with CLOSE_RANGE_CLOEXEC only sets flags; no memory is touched.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc != 0 {
        let max = rustix::process::getrlimit(Resource::Nofile)
            .current
            .unwrap_or(65_536)
            .min(1 << 20) as c_int;
        for fd in 3..max {
            // SAFETY: fcntl F_SETFD on an arbitrary number is harmless: EBADF when not open.
            unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
        }
    }
    Ok(())
}

/// Starts `req` by fork and exec (std's `Command` with a `pre_exec` hook), for what
/// `posix_spawn` cannot do: rlimits, or a C library without the close-from action. The
/// child gets the same sealing as [`posix_spawn_sealed`] plus the limits. Slower: a fork
/// copies the page tables of the whole parent process. Returns the pid.
pub fn fork_spawn_sealed(
    req: &SpawnRequest<'_>,
    stdio: [OwnedFd; 3],
    limits: Rlimits,
) -> io::Result<i32> {
    let [stdin, stdout, stderr] = stdio;
    use std::ffi::OsStr;
    let exe = OsStr::from_bytes(req.exe.to_bytes());
    let mut cmd = std::process::Command::new(exe);
    cmd.args(
        req.argv
            .iter()
            .skip(1)
            .map(|a| OsStr::from_bytes(a.to_bytes())),
    );
    cmd.env_clear();
    for kv in req.envp {
        let bytes = kv.to_bytes();
        if let Some(eq) = bytes.iter().position(|&b| b == b'=') {
            cmd.env(
                OsStr::from_bytes(&bytes[..eq]),
                OsStr::from_bytes(&bytes[eq + 1..]),
            );
        }
    }
    let dir_fd = match req.chdir {
        Some(Chdir::Path(dir)) => {
            cmd.current_dir(OsStr::from_bytes(dir.to_bytes()));
            None
        }
        Some(Chdir::Fd(fd)) => Some(fd.as_raw_fd()),
        None => None,
    };
    cmd.stdin(stdin).stdout(stdout).stderr(stderr);
    // SAFETY: the hook runs in the forked child before exec and only makes async-signal-safe
    // system calls (fchdir, setsid, setrlimit, signal, sigprocmask, close_range/fcntl)
    // without allocating or locking. `dir_fd` is borrowed from `req`, open until this returns.
    unsafe {
        cmd.pre_exec(move || seal_forked_child(&limits, dir_fd));
    }
    let child = cmd.spawn()?;
    // The caller reaps the child itself (through a pidfd / waitid); std's `Child` does not
    // wait on drop.
    Ok(child.id() as i32)
}

/// Writes to a pipe without risking `SIGPIPE`: when the reader is gone, the write fails with
/// `EPIPE` and the process is not killed, whatever the host did with `SIGPIPE` (Ruby and Rust
/// ignore it; a C host might not). `SIGPIPE` is blocked on this thread for the write, and a
/// `SIGPIPE` the write raised is consumed before the mask is restored.
pub fn write_without_sigpipe(fd: BorrowedFd<'_>, buf: &[u8]) -> rustix::io::Result<usize> {
    let mut pipe_only = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    let mut old = std::mem::MaybeUninit::<libc::sigset_t>::uninit();
    // SAFETY: the sets are initialised by sigemptyset/sigaddset before use; pthread_sigmask
    // writes the previous mask into `old`, which is read only after a successful call.
    let blocked = unsafe {
        libc::sigemptyset(pipe_only.as_mut_ptr());
        libc::sigaddset(pipe_only.as_mut_ptr(), libc::SIGPIPE);
        libc::pthread_sigmask(libc::SIG_BLOCK, pipe_only.as_ptr(), old.as_mut_ptr()) == 0
    };
    let result = rustix::io::write(fd, buf);
    if blocked {
        // SAFETY: both sets were initialised above (`old` by the successful pthread_sigmask).
        // sigtimedwait with a zero timeout only dequeues a pending SIGPIPE, if any.
        unsafe {
            let was_blocked = libc::sigismember(old.as_ptr(), libc::SIGPIPE) == 1;
            if result == Err(rustix::io::Errno::PIPE) && !was_blocked {
                let zero = libc::timespec {
                    tv_sec: 0,
                    tv_nsec: 0,
                };
                libc::sigtimedwait(pipe_only.as_ptr(), std::ptr::null_mut(), &zero);
            }
            libc::pthread_sigmask(libc::SIG_SETMASK, old.as_ptr(), std::ptr::null_mut());
        }
    }
    result
}

/// The Landlock ABI version the kernel offers (`landlock_create_ruleset(2)` with
/// `LANDLOCK_CREATE_RULESET_VERSION`), or the errno: `ENOSYS` (no Landlock, or filtered by
/// seccomp), `EOPNOTSUPP` (built in but disabled at boot). The landlock crate keeps this
/// query private; the doctor needs the number itself.
pub fn landlock_abi_version() -> io::Result<i32> {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1;
    // SAFETY: with a null attribute pointer, size 0 and the VERSION flag the kernel reads no
    // memory and creates no file descriptor; it only returns the ABI number or an errno.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    i32::try_from(ret).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}
