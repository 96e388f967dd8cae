//! Commands: argv-only execution in a sealed child process.
//!
//! No shell, ever. A [`Command`] is defined once (at boot) from a template such as
//! `docker run --rm {image}`; the template is split with POSIX word rules at definition and each
//! `{placeholder}` is later filled with exactly one value ([`template`]). The executable is a
//! literal resolved at definition from a fixed safe PATH ([`exe`]). Values pass their
//! allowlist, may not hold NUL, and may not begin a word with `-` unless the placeholder is
//! declared an option. The child (`supervise.rs`) gets only the environment given, stdin from
//! /dev/null (or the bytes given), no descriptor above 2, a new session and process group,
//! `no_new_privs`, optional rlimits and, where the kernel has Landlock, a domain of its own
//! ([`sandbox`]) that keeps it from ptrace, from signalling the app, from abstract UNIX sockets
//! and from TCP (unless `net:` allows ports), and from paths `fs:` does not list.

pub mod exe;
pub mod sandbox;
mod spawn;
mod split;
mod supervise;
pub mod template;

use std::collections::{HashMap, HashSet};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::cancel::Cancel;
use crate::error::{excerpt, key, Error, Field, Result};
pub use crate::sys::Rlimits;

/// Why a command could not be run at all: the `check` of an [`Error::Command`].
pub mod check {
    /// The child could not be started (`errno` says why: ENOENT, EACCES, ENOEXEC, ...), or a
    /// pipe or wait for it failed.
    pub const START: &str = "start";
    /// The Landlock sandbox could not be applied to the thread that starts commands.
    pub const SANDBOX: &str = "sandbox";
    /// Something else in the process reaped the child first, so its exit status is lost.
    pub const STATUS_LOST: &str = "status_lost";
    /// A state the supervisor never reaches unless it has a bug (a pid of 0, a wait that
    /// returned early, the spawner thread gone, a second cancel).
    pub const INTERNAL: &str = "internal";

    /// Every check, in the order above.
    pub const ALL: [&str; 4] = [START, SANDBOX, STATUS_LOST, INTERNAL];
}
pub use sandbox::{FsRules, LandlockReport, LandlockStatus, NetRules};
pub use supervise::Running;
pub use template::Template;

/// The default grace period between `SIGTERM` and `SIGKILL`.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);
/// The default cap on each of stdout and stderr.
pub const DEFAULT_MAX_OUTPUT: usize = 1 << 20;

/// What values a placeholder accepts (the checks that need no Ruby: a Ruby `Regexp` or `Proc`
/// is checked by the binding before the value arrives here, and is [`Allow::Any`] here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Allow {
    /// Any value (still: no NUL, no leading `-` unless an option).
    Any,
    /// One of these values exactly.
    OneOf(HashSet<Vec<u8>>),
    /// One of these keys, replaced by its value (`{"worker" => "worker:latest"}`).
    Map(HashMap<Vec<u8>, Vec<u8>>),
}

/// Everything a command is defined with, besides its template.
#[derive(Debug, Clone)]
pub struct Config {
    /// Allowlists by placeholder name; a placeholder not named accepts any value.
    pub allow: Vec<(String, Allow)>,
    /// Placeholders whose values may begin a word with `-`.
    pub options: Vec<String>,
    /// The child's environment (plus `PATH` and `LANG=C.UTF-8` unless given here).
    pub env: Vec<(String, String)>,
    /// Kill the process group after this long.
    pub timeout: Option<Duration>,
    /// Bytes kept of each of stdout and stderr; the rest is drained and discarded.
    pub max_output: usize,
    /// Absolute directory to run in.
    pub chdir: Option<PathBuf>,
    /// An open directory to run in (a `Root`'s base): the child changes into it with `fchdir`,
    /// so a path later swapped for a symlink is not followed. Excludes `chdir`.
    pub chdir_dir: Option<Arc<OwnedFd>>,
    /// Resource limits (forces the slower fork path).
    pub rlimits: Rlimits,
    /// Landlock filesystem rules; `None` leaves the filesystem open.
    pub fs: Option<FsRules>,
    /// Landlock TCP rules; the default denies every port.
    pub net: NetRules,
    /// Allow shells and interpreters given inline scripts.
    pub dangerous_shell: bool,
    /// Directories to look the executable up in, instead of [`exe::SAFE_PATH`].
    pub path: Option<Vec<PathBuf>>,
    /// Time between `SIGTERM` and `SIGKILL` on timeout or cancellation.
    pub kill_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            allow: Vec::new(),
            options: Vec::new(),
            env: Vec::new(),
            timeout: None,
            max_output: DEFAULT_MAX_OUTPUT,
            chdir: None,
            chdir_dir: None,
            rlimits: Rlimits::default(),
            fs: None,
            net: NetRules::deny_all(),
            dangerous_shell: false,
            path: None,
            kill_grace: DEFAULT_KILL_GRACE,
        }
    }
}

/// How the child was started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpawnMethod {
    /// `posix_spawn` (vfork-like): cost independent of the parent's size.
    PosixSpawn,
    /// fork + exec with a hook in the child: needed for rlimits, or when the C library cannot
    /// close descriptors in a `posix_spawn` child (glibc < 2.34). Cost grows with the parent.
    Fork,
}

impl SpawnMethod {
    /// Its stable name, for bindings and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SpawnMethod::PosixSpawn => "posix_spawn",
            SpawnMethod::Fork => "fork",
        }
    }
}

/// What sealing was applied to a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sandbox {
    /// `PR_SET_NO_NEW_PRIVS` was set.
    pub no_new_privs: bool,
    /// What the Landlock domain restricts.
    pub landlock: LandlockReport,
    /// The child leads a new session, without a controlling terminal.
    pub new_session: bool,
    /// How the child was started.
    pub spawn: SpawnMethod,
    /// The child led its own process group.
    pub process_group: bool,
    /// Every descriptor above 2 was closed.
    pub fds_closed: bool,
    /// rlimits were applied.
    pub rlimits: bool,
}

/// The outcome of one run.
#[derive(Debug, Clone)]
pub struct Output {
    /// The exit code, if the child exited.
    pub exit_status: Option<i32>,
    /// The signal that killed the child, if one did.
    pub signal: Option<i32>,
    /// Up to `max_output` bytes of stdout.
    pub stdout: Vec<u8>,
    /// Up to `max_output` bytes of stderr.
    pub stderr: Vec<u8>,
    /// The timeout expired and the group was killed.
    pub timed_out: bool,
    /// The caller cancelled (Ruby: the thread was interrupted) and the group was killed.
    pub cancelled: bool,
    /// Either stream went past `max_output`.
    pub truncated: bool,
    /// From spawn to reap.
    pub duration: Duration,
    /// The child's pid (and process group id).
    pub pid: i32,
    /// What sealing was applied.
    pub sandbox: Sandbox,
}

impl Output {
    /// Exited 0 before any timeout.
    pub fn success(&self) -> bool {
        self.exit_status == Some(0) && !self.timed_out && !self.cancelled
    }
}

/// A command defined once and run many times. Immutable, `Send + Sync`.
#[derive(Debug)]
pub struct Command {
    template: Template,
    allow: Vec<Allow>,
    is_option: Vec<bool>,
    dangerous_shell: bool,
    exe_names: Vec<Vec<u8>>,
    exe_c: Arc<CString>,
    envp: Arc<[CString]>,
    chdir: Option<WorkDir>,
    timeout: Option<Duration>,
    max_output: usize,
    rlimits: Rlimits,
    landlock: Option<sandbox::Landlock>,
    kill_grace: Duration,
}

/// Where the child starts.
#[derive(Debug, Clone)]
pub(crate) enum WorkDir {
    Path(Arc<CString>),
    Dir(Arc<OwnedFd>),
}

impl WorkDir {
    pub(crate) fn as_chdir(&self) -> crate::sys::Chdir<'_> {
        match self {
            WorkDir::Path(p) => crate::sys::Chdir::Path(p.as_c_str()),
            WorkDir::Dir(fd) => crate::sys::Chdir::Fd(fd.as_fd()),
        }
    }
}

fn check_env(env: &[(String, String)]) -> Result<Vec<CString>> {
    let mut out = Vec::with_capacity(env.len() + 2);
    let mut has_path = false;
    let mut has_lang = false;
    let mut seen = HashSet::new();
    for (k, v) in env {
        if k.is_empty() || k.contains('=') || k.contains('\0') {
            return Err(Error::configuration(format!(
                "env: key `{}` is not a valid variable name (empty, or contains = or NUL)",
                excerpt(k, 40)
            ))
            .with(key::OPTION, Field::Name("env")));
        }
        if v.contains('\0') {
            return Err(Error::configuration(format!(
                "env: the value of {} contains a NUL byte",
                excerpt(k, 40)
            ))
            .with(key::OPTION, Field::Name("env")));
        }
        if !seen.insert(k.as_str()) {
            return Err(
                Error::configuration(format!("env: {} is given twice", excerpt(k, 40)))
                    .with(key::OPTION, Field::Name("env")),
            );
        }
        has_path |= k == "PATH";
        has_lang |= k == "LANG";
        out.push(CString::new(format!("{k}={v}")).map_err(|_| {
            Error::configuration("env: a NUL byte in a variable")
                .with(key::OPTION, Field::Name("env"))
        })?);
    }
    if !has_path {
        out.push(CString::new(format!("PATH={}", exe::SAFE_PATH)).unwrap_or_default());
    }
    if !has_lang {
        out.push(CString::new("LANG=C.UTF-8").unwrap_or_default());
    }
    Ok(out)
}

/// A configuration refusal that names no option yet is about the template: its words, its
/// executable, an inline script it runs.
fn about_template(e: Error) -> Error {
    match e {
        Error::Configuration(_) if e.detail(key::OPTION).is_none() => {
            e.with(key::OPTION, Field::Name("template"))
        }
        e => e,
    }
}

impl Command {
    /// Defines a command from a template such as `git -C {repo} log --format=%H -- {path}`.
    pub fn new(template: &str, config: Config) -> Result<Self> {
        let template = Template::parse(template).map_err(about_template)?;
        Self::build(template, config).map_err(about_template)
    }

    /// Defines a command from literal argv words (the plain form: no placeholders, braces are
    /// ordinary characters). Still resolved, checked for shells, and sealed.
    pub fn from_argv(argv: Vec<Vec<u8>>, config: Config) -> Result<Self> {
        if argv.iter().any(|a| a.contains(&0)) {
            return Err(Error::command_not_allowed(
                "an argument contains a NUL byte, which no argv can hold",
            )
            .check("nul"));
        }
        Self::build(Template::from_literals(argv)?, config)
    }

    /// Defines a command from a plain argv whose later words may come from a request (Ruby's
    /// `Command.run(exe, *args)`): see [`Template::from_plain`] for which words are values.
    /// Returns the command and the values to give [`Command::argv`] or [`Command::run`], which
    /// check them as they check any placeholder value (NUL, a leading `-` or `@`, inline
    /// scripts).
    pub fn from_plain(argv: Vec<Vec<u8>>, config: Config) -> Result<(Self, Vec<Vec<u8>>)> {
        let (template, values) = Template::from_plain(argv)?;
        Ok((Self::build(template, config)?, values))
    }

    fn build(mut template: Template, config: Config) -> Result<Self> {
        let names = template.names().to_vec();
        let index_of = |name: &str, option: &'static str| {
            names.iter().position(|n| n == name).ok_or_else(|| {
                Error::configuration(format!(
                    "{option}: names `{}`, which is not a placeholder of the template (placeholders: {})",
                    excerpt(name, 40),
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                ))
                .with(key::OPTION, Field::Name(option))
            })
        };
        let mut allow = vec![Allow::Any; names.len()];
        for (name, a) in config.allow {
            let i = index_of(&name, "allow")?;
            if let Allow::Map(m) = &a {
                if m.values().any(|v| v.contains(&0)) {
                    return Err(Error::configuration(format!(
                        "allow: a value mapped for {name} contains a NUL byte"
                    ))
                    .with(key::OPTION, Field::Name("allow")));
                }
            }
            allow[i] = a;
        }
        let mut is_option = vec![false; names.len()];
        for name in &config.options {
            is_option[index_of(name, "options")?] = true;
        }

        let dirs = match config.path {
            Some(dirs) => {
                exe::check_path_dirs(&dirs)?;
                dirs
            }
            None => exe::safe_path_dirs(),
        };
        let first = template.words()[0]
            .as_literal()
            .unwrap_or_default()
            .to_vec();
        let exe_path = exe::resolve(&first, &dirs)?;
        let exe_bytes = exe_path.as_os_str().as_bytes().to_vec();
        template.replace_executable(exe_bytes.clone());
        let mut exe_names = Vec::new();
        if let Ok(canonical) = std::fs::canonicalize(&exe_path) {
            exe_names.push(canonical.as_os_str().as_bytes().to_vec());
        }
        exe_names.push(first);

        let cmd_dangerous = config.dangerous_shell;
        if !cmd_dangerous {
            // At definition, on the literal words; again at run time on the filled argv.
            let literal: Vec<&[u8]> = template
                .words()
                .iter()
                .map(|w| w.as_literal().unwrap_or(b"{}"))
                .collect();
            let extra: Vec<&[u8]> = exe_names.iter().map(|n| n.as_slice()).collect();
            if let Some(msg) = exe::check_no_inline_script(&literal, &extra) {
                return Err(Error::configuration(msg));
            }
        }

        let chdir = match (config.chdir, config.chdir_dir) {
            (Some(_), Some(_)) => {
                return Err(Error::Configuration(
                    "chdir: give either a directory path or an open directory, not both".into(),
                ))
            }
            (None, Some(fd)) => {
                let is_dir = rustix::fs::fstat(&*fd)
                    .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_dir())
                    .unwrap_or(false);
                if !is_dir {
                    return Err(Error::Configuration(
                        "chdir: the descriptor given is not an open directory".into(),
                    ));
                }
                Some(WorkDir::Dir(fd))
            }
            (Some(dir), None) => {
                if !dir.is_absolute() {
                    return Err(Error::configuration(format!(
                        "chdir: `{}` is relative: give a HanamiGuard::Root or an absolute directory",
                        excerpt(&dir.to_string_lossy(), 60)
                    ))
                    .with(key::OPTION, Field::Name("chdir")));
                }
                if !dir.is_dir() {
                    return Err(Error::configuration(format!(
                        "chdir: `{}` is not an existing directory",
                        excerpt(&dir.to_string_lossy(), 60)
                    ))
                    .with(key::OPTION, Field::Name("chdir")));
                }
                Some(WorkDir::Path(Arc::new(
                    CString::new(dir.as_os_str().as_bytes()).map_err(|_| {
                        Error::configuration("chdir: the path contains a NUL byte")
                            .with(key::OPTION, Field::Name("chdir"))
                    })?,
                )))
            }
            (None, None) => None,
        };
        let landlock = if sandbox::disabled_by_environment() {
            None
        } else {
            Some(sandbox::Landlock::open(
                config.fs.as_ref(),
                config.net,
                &exe_path,
            )?)
        };
        let exe_c = CString::new(exe_path.as_os_str().as_bytes())
            .map_err(|_| Error::Configuration("the executable path contains a NUL byte".into()))?;
        Ok(Command {
            template,
            allow,
            is_option,
            dangerous_shell: cmd_dangerous,
            exe_names,
            exe_c: Arc::new(exe_c),
            envp: check_env(&config.env)?.into(),
            chdir,
            timeout: config.timeout,
            max_output: config.max_output,
            rlimits: config.rlimits,
            landlock,
            kill_grace: config.kill_grace,
        })
    }

    /// The placeholder names, in the order [`Command::argv`] takes values.
    pub fn placeholders(&self) -> &[String] {
        self.template.names()
    }

    /// The resolved absolute executable path.
    pub fn executable(&self) -> &[u8] {
        self.exe_c.to_bytes()
    }

    /// How runs of this command start their child.
    pub fn spawn_method(&self) -> SpawnMethod {
        if self.rlimits.any()
            || !crate::sys::closefrom_available()
            || self
                .chdir
                .as_ref()
                .is_some_and(|d| !crate::sys::spawn_chdir_available(&d.as_chdir()))
        {
            SpawnMethod::Fork
        } else {
            SpawnMethod::PosixSpawn
        }
    }

    /// The argv a run with these values would execute, values given in
    /// [`Command::placeholders`] order. Applies every check: allowlists, NUL, option
    /// injection, inline scripts.
    pub fn argv<V: AsRef<[u8]>>(&self, values: &[V]) -> Result<Vec<Vec<u8>>> {
        let names = self.template.names();
        if values.len() != names.len() {
            return Err(Error::Argument(format!(
                "expected values for {} placeholder(s) ({}), got {}",
                names.len(),
                names.join(", "),
                values.len()
            )));
        }
        let mut filled: Vec<&[u8]> = Vec::with_capacity(values.len());
        for (i, v) in values.iter().enumerate() {
            let v = v.as_ref();
            if v.contains(&0) {
                return Err(Error::command_not_allowed(format!(
                    "the value for {{{}}} contains a NUL byte, which no argv can hold",
                    names[i]
                ))
                .check("nul")
                .with(key::PLACEHOLDER, Field::Text(excerpt(&names[i], 64))));
            }
            let v = match &self.allow[i] {
                Allow::Any => v,
                Allow::OneOf(set) => {
                    if !set.contains(v) {
                        return Err(not_allowed(&names[i]));
                    }
                    v
                }
                Allow::Map(map) => map
                    .get(v)
                    .map(|m| m.as_slice())
                    .ok_or_else(|| not_allowed(&names[i]))?,
            };
            filled.push(v);
        }
        let argv = self.template.expand(&filled, &self.is_option)?;
        if !self.dangerous_shell && !names.is_empty() {
            let words: Vec<&[u8]> = argv.iter().map(|w| w.as_slice()).collect();
            let extra: Vec<&[u8]> = self.exe_names.iter().map(|n| n.as_slice()).collect();
            if let Some(msg) = exe::check_no_inline_script(&words, &extra) {
                return Err(Error::command_not_allowed(msg).check("inline_script"));
            }
        }
        Ok(argv)
    }

    /// Fills the template and runs it. `cancel` stops the wait early (the process group is
    /// terminated, then killed, and reaped before this returns).
    pub fn run<V: AsRef<[u8]>>(
        &self,
        values: &[V],
        stdin: Option<Vec<u8>>,
        cancel: &Cancel,
    ) -> Result<Output> {
        let argv = self.argv(values)?;
        self.run_argv(argv, stdin, cancel)
    }

    /// Runs an argv obtained from [`Command::argv`].
    pub fn run_argv(
        &self,
        argv: Vec<Vec<u8>>,
        stdin: Option<Vec<u8>>,
        cancel: &Cancel,
    ) -> Result<Output> {
        supervise::run(self, argv, stdin, cancel)
    }

    /// Starts an argv obtained from [`Command::argv`] and returns at once; wait with
    /// [`Running::wait`], which can be woken and resumed (for callers whose wake-ups are not
    /// always cancellations, such as Ruby's unblocking functions).
    pub fn start(&self, argv: Vec<Vec<u8>>, stdin: Option<Vec<u8>>) -> Result<Running> {
        supervise::start(self, argv, stdin)
    }
}

fn not_allowed(name: &str) -> Error {
    Error::command_not_allowed(format!(
        "the value for {{{name}}} is not in its allowlist: check it against allow: before \
         running, or extend the allowlist"
    ))
    .check("not_in_allowlist")
    .with(key::PLACEHOLDER, Field::Text(excerpt(name, 64)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_is_send_and_sync() {
        fn assert<T: Send + Sync>() {}
        assert::<Command>();
    }

    #[test]
    fn allowlists_map_and_refuse() {
        let mut map = HashMap::new();
        map.insert(b"worker".to_vec(), b"worker:latest".to_vec());
        let cmd = Command::new(
            "echo run {image}",
            Config {
                allow: vec![("image".into(), Allow::Map(map))],
                ..Config::default()
            },
        )
        .expect("define");
        let argv = cmd.argv(&["worker"]).expect("argv");
        assert_eq!(argv[2], b"worker:latest");
        assert!(argv[0].starts_with(b"/"));
        assert!(matches!(
            cmd.argv(&["api"]),
            Err(Error::CommandNotAllowed(_))
        ));
        assert!(matches!(
            cmd.argv(&["a\0b"]),
            Err(Error::CommandNotAllowed(_))
        ));
    }

    #[test]
    fn unknown_allow_or_option_names_are_configuration_errors() {
        let c = Config {
            options: vec!["nope".into()],
            ..Config::default()
        };
        let option = |c: Config| match Command::new("echo {x}", c) {
            Err(e @ Error::Configuration(_)) => e.detail(key::OPTION).cloned(),
            other => panic!("expected a configuration error, got {other:?}"),
        };
        assert_eq!(option(c), Some(Field::Name("options")));
        let env = |k: &str, v: &str| Config {
            env: vec![(k.into(), v.into())],
            ..Config::default()
        };
        assert_eq!(option(env("A=B", "1")), Some(Field::Name("env")));
        assert_eq!(option(env("A", "1\0")), Some(Field::Name("env")));
        let relative = Config {
            path: Some(vec!["bin".into()]),
            ..Config::default()
        };
        assert_eq!(option(relative), Some(Field::Name("path")));
        for template in ["echo 'x", "/no/such/program {x}", "echo {x", "echo a > b"] {
            match Command::new(template, Config::default()) {
                Err(e @ Error::Configuration(_)) => {
                    assert_eq!(e.detail(key::OPTION), Some(&Field::Name("template")), "{e}")
                }
                other => panic!("{template}: {other:?}"),
            }
        }
    }
}
