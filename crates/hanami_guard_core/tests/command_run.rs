//! Real child processes, real kernel: what a sealed command's child sees, and that nothing
//! outlives a run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hanami_guard_core::cancel::Cancel;
use hanami_guard_core::command::{Command, Config, FsRules, LandlockStatus, Rlimits, SpawnMethod};
use hanami_guard_core::Error;

fn none() -> [&'static str; 0] {
    []
}

fn shell(script: &str, config: Config) -> Command {
    let argv = vec![b"sh".to_vec(), b"-c".to_vec(), script.as_bytes().to_vec()];
    Command::from_argv(
        argv,
        Config {
            dangerous_shell: true,
            ..config
        },
    )
    .expect("define shell command")
}

fn alive(pid: i32) -> bool {
    // A zombie still has a /proc entry; count it as gone only when reaped or dead.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !s.contains(") Z "),
        Err(_) => false,
    }
}

/// Waits (at most 5 s) for group `pgid` to have no running process, and returns what is left.
/// SIGKILL is delivered asynchronously: a killed process can still show as running for a moment.
fn left_in_group(pgid: i32) -> Vec<i32> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = running_in_group(pgid);
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Pids of processes in group `pgid` that are not zombies.
fn running_in_group(pgid: i32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the command name: state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(") ").map(|(_, r)| r) else {
            continue;
        };
        let fields: Vec<&str> = rest.split(' ').collect();
        if fields.len() > 2 && fields[2] == pgid.to_string() && fields[0] != "Z" {
            found.push(pid);
        }
    }
    found
}

#[test]
fn true_succeeds_with_posix_spawn() {
    let cmd = Command::new("true", Config::default()).expect("define");
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert!(out.success());
    assert_eq!(out.exit_status, Some(0));
    assert_eq!(out.sandbox.spawn, SpawnMethod::PosixSpawn);
    if hanami_guard_core::sys::landlock_abi() >= 6 {
        assert_eq!(out.sandbox.landlock.status, LandlockStatus::FullyEnforced);
        assert!(out.sandbox.landlock.ptrace && out.sandbox.landlock.signals);
        assert_eq!(out.sandbox.landlock.tcp, Some(true));
        assert!(!out.sandbox.landlock.filesystem);
    }
}

#[test]
fn a_payload_is_one_argument_byte_for_byte() {
    let cmd = Command::new("printf %s {v}", Config::default()).expect("define");
    for payload in [
        "; id",
        "$(id)",
        "`id`",
        "a b\tc\nd",
        "|| curl x | sh",
        "'\"\\",
        "{v}",
    ] {
        let out = cmd
            .run(&[payload], None, &Cancel::new().expect("cancel"))
            .expect("run");
        assert_eq!(out.stdout, payload.as_bytes(), "payload {payload:?}");
    }
}

/// A child's own `/proc/PID` files are closed to it in the default Landlock domain (so that it
/// cannot open the app's), so what a child started with is read from this side while it runs:
/// `sleep` with a unique argument, found by its command line, read, then killed.
fn observe_sleeper(config: Config) -> (String, String, hanami_guard_core::command::Output) {
    let marker = format!("600.{:06}", std::process::id() % 1_000_000);
    let marker = format!(
        "{marker}{}",
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let cmd = Command::new(&format!("sleep {marker}"), config).expect("define");
    std::thread::scope(|scope| {
        let runner = scope.spawn(|| {
            cmd.run(&none(), None, &Cancel::new().expect("cancel"))
                .expect("run")
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let pid = loop {
            let found = std::fs::read_dir("/proc").expect("/proc").find_map(|e| {
                let e = e.ok()?;
                let pid: i32 = e.file_name().to_str()?.parse().ok()?;
                let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let last = cmdline.split(|&b| b == 0).rfind(|w| !w.is_empty())?;
                (last == marker.as_bytes()).then_some(pid)
            });
            if let Some(pid) = found {
                break pid;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no child ran sleep {marker}"
            );
            std::thread::yield_now();
        };
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
        // SAFETY: kill(2) with a pid this test found and a valid signal number.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        (status, stat, runner.join().expect("runner"))
    })
}

static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

#[test]
fn the_child_sees_only_the_given_environment_and_no_new_privs() {
    std::env::set_var("HANAMI_GUARD_TEST_SECRET", "s3cr3t");
    let cmd = Command::new(
        "env",
        Config {
            env: vec![("GIVEN".into(), "yes".into())],
            ..Config::default()
        },
    )
    .expect("define");
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("s3cr3t"));
    assert!(text.contains("GIVEN=yes\n"));
    assert!(text.contains("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"));
    assert!(text.contains("LANG=C.UTF-8\n"));
    let (status, _, _) = observe_sleeper(Config::default());
    assert!(status.contains("NoNewPrivs:\t1"), "{status}");
    // This test thread is untouched.
    let own = std::fs::read_to_string("/proc/thread-self/status").expect("status");
    assert!(own.contains("NoNewPrivs:\t0"));
}

#[test]
fn leaked_descriptors_do_not_reach_the_child() {
    use std::os::fd::AsRawFd;
    // Descriptors without close-on-exec, as a careless library might leave them; open until the
    // end of the test.
    let mut leaked = Vec::new();
    for _ in 0..4 {
        let f = std::fs::File::open("/etc/hostname").expect("open");
        rustix::io::fcntl_setfd(&f, rustix::io::FdFlags::empty()).expect("clear cloexec");
        leaked.push(f);
    }
    let cmd = Command::new("ls /proc/self/fd", Config::default()).expect("define");
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    let fds: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    // 0, 1, 2 and the descriptor ls uses to read the directory.
    assert!(fds.len() <= 4, "{fds:?}");
    for fd in leaked.iter().map(AsRawFd::as_raw_fd) {
        if fd > 3 {
            assert!(!fds.contains(&fd.to_string()), "fd {fd} leaked: {fds:?}");
        }
    }
}

#[test]
fn stdin_is_dev_null_or_the_bytes_given() {
    let cmd = Command::new("cat", Config::default()).expect("define");
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert!(out.stdout.is_empty());
    let big = vec![b'x'; 3 << 20];
    let out = cmd
        .run(&none(), Some(big.clone()), &Cancel::new().expect("cancel"))
        .expect("run");
    assert_eq!(out.stdout.len(), 1 << 20);
    assert!(out.truncated);
}

#[test]
fn megabytes_on_both_streams_do_not_deadlock() {
    let cmd = shell(
        "head -c 5000000 /dev/zero; head -c 5000000 /dev/zero >&2; echo done",
        Config {
            max_output: 8 << 20,
            ..Config::default()
        },
    );
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert_eq!(out.stdout.len(), 5_000_005);
    assert_eq!(out.stderr.len(), 5_000_000);
    assert!(!out.truncated);

    let small = shell(
        "head -c 3000000 /dev/zero; head -c 3000000 /dev/zero >&2",
        Config {
            max_output: 1000,
            ..Config::default()
        },
    );
    let out = small
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert_eq!(out.stdout.len(), 1000);
    assert_eq!(out.stderr.len(), 1000);
    assert!(out.truncated);
    assert!(out.success());
}

#[test]
fn timeout_kills_a_term_ignoring_child_and_its_grandchild() {
    let dir = tempfile::tempdir().expect("tmp");
    let pidfile = dir.path().join("grandchild");
    let script = format!(
        "trap '' TERM; sh -c 'trap \"\" TERM; echo $$ > {}; while :; do sleep 1; done' & while :; do sleep 1; done",
        pidfile.display()
    );
    let cmd = shell(
        &script,
        Config {
            timeout: Some(Duration::from_millis(300)),
            kill_grace: Duration::from_millis(200),
            ..Config::default()
        },
    );
    let started = Instant::now();
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert!(out.timed_out);
    assert!(!out.success());
    assert_eq!(out.signal, Some(libc::SIGKILL));
    assert!(started.elapsed() < Duration::from_secs(5));
    let grandchild: i32 = std::fs::read_to_string(&pidfile)
        .expect("grandchild pid")
        .trim()
        .parse()
        .expect("pid");
    // SIGKILL is delivered asynchronously: give the kernel a moment to finish the group off.
    let deadline = Instant::now() + Duration::from_secs(3);
    while !running_in_group(out.pid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!alive(grandchild), "grandchild {grandchild} survived");
    assert!(!alive(out.pid), "leader survived");
    assert_eq!(running_in_group(out.pid), Vec::<i32>::new());
}

/// Polls `what` until it holds; panics after 10 s (a safety net, not a timing claim).
fn wait_for(what: &str, mut holds: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !holds() {
        assert!(Instant::now() < deadline, "{what}: not within 10 s");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A FIFO in `dir`: a child that reads it runs until the test writes a line.
fn fifo(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("fifo");
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
    // SAFETY: `c_path` is a NUL-terminated path that lives across the call.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0, "mkfifo");
    path
}

#[test]
fn cancel_from_another_thread_kills_and_reaps() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let cmd = Arc::new(shell(
        &format!("echo $$ > {}; exec sleep 30", pidfile.display()),
        Config::default(),
    ));
    let cancel = Arc::new(Cancel::new().expect("cancel"));
    let c2 = cancel.clone();
    // Cancelled once the child runs, so the cancellation reaches a run that is waiting.
    let t = std::thread::spawn(move || {
        wait_for("the child wrote its pid", || {
            std::fs::metadata(&pidfile).is_ok_and(|m| m.len() > 0)
        });
        c2.cancel();
    });
    let started = Instant::now();
    let out = cmd.run(&none(), None, &cancel).expect("run");
    t.join().expect("join");
    assert!(out.cancelled);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(!alive(out.pid));
}

#[test]
fn rlimits_use_the_fork_path_and_apply() {
    let cmd = shell(
        "ulimit -n; ulimit -t",
        Config {
            rlimits: Rlimits {
                nofile: Some(64),
                cpu: Some(7),
                ..Rlimits::default()
            },
            ..Config::default()
        },
    );
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "64\n7\n");
    assert_eq!(out.sandbox.spawn, SpawnMethod::Fork);
    let own = rustix::process::getrlimit(rustix::process::Resource::Nofile);
    assert_ne!(own.current, Some(64), "the parent's limit changed");
}

#[test]
fn chdir_runs_in_the_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    let canonical = std::fs::canonicalize(dir.path()).expect("canon");
    let cmd = Command::new(
        "pwd",
        Config {
            chdir: Some(canonical.clone()),
            ..Config::default()
        },
    )
    .expect("define");
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim_end(),
        canonical.to_string_lossy()
    );
    assert!(matches!(
        Command::new(
            "pwd",
            Config {
                chdir: Some("relative".into()),
                ..Config::default()
            }
        ),
        Err(Error::Configuration(_))
    ));
}

#[test]
fn landlock_limits_what_the_child_reads() {
    let dir = tempfile::tempdir().expect("tmp");
    let allowed = dir.path().join("allowed");
    std::fs::create_dir(&allowed).expect("mkdir");
    std::fs::write(allowed.join("ok.txt"), "fine").expect("write");
    std::fs::write(dir.path().join("secret.txt"), "secret").expect("write");
    let cmd = Command::new(
        "cat {file}",
        Config {
            fs: Some(FsRules {
                read: vec![allowed.clone()],
                ..FsRules::default()
            }),
            ..Config::default()
        },
    )
    .expect("define");
    let ok = allowed.join("ok.txt");
    let out = cmd
        .run(
            &[ok.to_string_lossy().as_bytes()],
            None,
            &Cancel::new().expect("cancel"),
        )
        .expect("run");
    if out.sandbox.landlock.status == LandlockStatus::NotEnforced {
        eprintln!("Landlock not available on this kernel: skipped the denial check");
        return;
    }
    assert_eq!(out.stdout, b"fine");
    let secret = dir.path().join("secret.txt");
    let out = cmd
        .run(
            &[secret.to_string_lossy().as_bytes()],
            None,
            &Cancel::new().expect("cancel"),
        )
        .expect("run");
    assert!(!out.success());
    assert!(out.stdout.is_empty());
    // The calling thread can still read it: the ruleset applied to the helper thread only.
    assert_eq!(std::fs::read(&secret).expect("read"), b"secret");
}

#[test]
fn a_missing_value_or_a_relative_executable_is_refused() {
    let cmd = Command::new("printf %s {v}", Config::default()).expect("define");
    assert!(matches!(cmd.argv(&none()), Err(Error::Argument(_))));
    assert!(matches!(
        Command::new("./true", Config::default()),
        Err(Error::Configuration(_))
    ));
    assert!(matches!(
        Command::new("sh -c {script}", Config::default()),
        Err(Error::Configuration(_))
    ));
    assert!(matches!(
        Command::new("echo 'unbalanced", Config::default()),
        Err(Error::Configuration(_))
    ));
}

#[test]
fn an_endless_writer_still_times_out() {
    let cmd = Command::new(
        "yes",
        Config {
            timeout: Some(Duration::from_millis(300)),
            kill_grace: Duration::from_millis(100),
            max_output: 1000,
            ..Config::default()
        },
    )
    .expect("define");
    let started = Instant::now();
    let out = cmd
        .run(&none(), None, &Cancel::new().expect("cancel"))
        .expect("run");
    assert!(out.timed_out);
    assert!(out.truncated);
    assert_eq!(out.stdout.len(), 1000);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn landlock_limits_where_the_child_writes() {
    let dir = tempfile::tempdir().expect("tmp");
    let writable = dir.path().join("out");
    std::fs::create_dir(&writable).expect("mkdir");
    let cmd = Command::new(
        "touch {file}",
        Config {
            fs: Some(FsRules {
                write: vec![writable.clone()],
                ..FsRules::default()
            }),
            ..Config::default()
        },
    )
    .expect("define");
    let inside = writable.join("ok");
    let out = cmd
        .run(
            &[inside.to_string_lossy().as_bytes()],
            None,
            &Cancel::new().expect("cancel"),
        )
        .expect("run");
    if out.sandbox.landlock.status == LandlockStatus::NotEnforced {
        eprintln!("Landlock not available on this kernel: skipped");
        return;
    }
    assert!(out.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(inside.exists());
    let outside = dir.path().join("escaped");
    let out = cmd
        .run(
            &[outside.to_string_lossy().as_bytes()],
            None,
            &Cancel::new().expect("cancel"),
        )
        .expect("run");
    assert!(!out.success());
    assert!(!outside.exists());
    // A path that does not exist at definition is a configuration error.
    assert!(matches!(
        Command::new(
            "true",
            Config {
                fs: Some(FsRules {
                    read: vec![dir.path().join("missing")],
                    ..FsRules::default()
                }),
                ..Config::default()
            }
        ),
        Err(Error::Configuration(_))
    ));
}

#[test]
fn a_woken_wait_resumes_and_the_child_keeps_running() {
    // A wake-up is not a cancellation: Ruby calls its unblocking function for interrupts that
    // turn out to raise nothing (Thread#wakeup, a handled signal), and the caller then waits again.
    // The child runs until the test writes to its FIFO, so the wake-up always comes first.
    let dir = tempfile::tempdir().expect("tempdir");
    let fifo = fifo(dir.path());
    let cmd = shell(
        &format!("read line < {}; echo done", fifo.display()),
        Config::default(),
    );
    let argv = cmd.argv(&none()).expect("argv");
    let mut running = cmd.start(argv, None).expect("start");
    let wake = Arc::new(Cancel::new().expect("eventfd"));
    let w = Arc::clone(&wake);
    let t = std::thread::spawn(move || w.cancel());
    assert!(
        running.wait(Some(&wake)).expect("wait").is_none(),
        "woken, not finished"
    );
    t.join().expect("join");
    assert!(alive(running.pid()), "the wake-up left the child running");
    wake.reset();
    assert!(!wake.is_cancelled());
    std::fs::write(&fifo, "go\n").expect("write the FIFO");
    let out = running
        .wait(Some(&wake))
        .expect("wait again")
        .expect("finished");
    assert_eq!(out.exit_status, Some(0));
    assert_eq!(out.signal, None);
    assert!(!out.cancelled && !out.timed_out);
    assert_eq!(out.stdout, b"done\n");
}

#[test]
fn a_cancelled_or_dropped_run_leaves_nothing_behind() {
    let cmd = shell("sleep 30 & sleep 30", Config::default());
    let argv = cmd.argv(&none()).expect("argv");
    let mut running = cmd.start(argv.clone(), None).expect("start");
    let out = running.cancel().expect("cancel");
    assert!(out.cancelled);
    assert_eq!(out.signal, Some(15));
    assert_eq!(left_in_group(out.pid), Vec::<i32>::new());
    assert!(
        running.cancel().is_err(),
        "a reaped command cannot be cancelled again"
    );

    let running = cmd.start(argv, None).expect("start");
    let pid = running.pid();
    // The background sleep and the shell (or the sleep it became): a group to kill.
    wait_for("the group runs two processes", || {
        running_in_group(pid).len() >= 2
    });
    let started = Instant::now();
    drop(running);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        left_in_group(pid),
        Vec::<i32>::new(),
        "dropping kills the group"
    );
    assert!(!alive(pid), "and reaps the leader");
}

/// Both spawn paths: the default one, and the fork path that rlimits force.
fn both_paths() -> [(SpawnMethod, Config); 2] {
    [
        (SpawnMethod::PosixSpawn, Config::default()),
        (
            SpawnMethod::Fork,
            Config {
                rlimits: Rlimits {
                    nofile: Some(256),
                    ..Rlimits::default()
                },
                ..Config::default()
            },
        ),
    ]
}

fn status_mask(status: &str, field: &str) -> u64 {
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("no {field} in /proc/self/status"));
    u64::from_str_radix(line[field.len()..].trim(), 16).expect("hex mask")
}

#[test]
fn every_child_starts_with_no_signal_blocked_or_ignored() {
    for (method, config) in both_paths() {
        let (status, _, out) = observe_sleeper(config);
        assert_eq!(out.sandbox.spawn, method);
        assert_eq!(status_mask(&status, "SigBlk:"), 0, "{method:?}");
        assert_eq!(status_mask(&status, "SigIgn:"), 0, "{method:?}");
    }
}

#[test]
fn every_child_leads_a_new_session_and_its_process_group() {
    for (method, config) in both_paths() {
        let (_, stat, out) = observe_sleeper(config);
        let rest = stat.rsplit_once(") ").map(|(_, r)| r).expect("stat");
        let fields: Vec<&str> = rest.split(' ').collect();
        // state ppid pgrp session
        assert_eq!(fields[2], out.pid.to_string(), "{method:?} pgrp");
        assert_eq!(fields[3], out.pid.to_string(), "{method:?} session");
        assert!(out.sandbox.new_session);
    }
}

#[test]
fn a_timeout_term_acts_before_the_kill_grace_on_both_paths() {
    for (method, config) in both_paths() {
        let cmd = Command::new(
            "sleep 30",
            Config {
                timeout: Some(Duration::from_millis(200)),
                kill_grace: Duration::from_secs(20),
                ..config
            },
        )
        .expect("define");
        let out = cmd
            .run(&none(), None, &Cancel::new().expect("cancel"))
            .expect("run");
        assert!(out.timed_out, "{method:?}");
        assert_eq!(out.signal, Some(15), "{method:?}: SIGTERM, not SIGKILL");
    }
}
