//! `HanamiGuard::Command`: converts the facade's normalised arguments into the core's
//! `command::Config`, and a run's `Output` into plain Ruby values. No logic: the facade
//! (lib/hanami_guard/command.rb) checks types and Ruby-only allowlists (Regexp, Proc); the core
//! does everything else.

use std::collections::{HashMap, HashSet};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hanami_guard_core::cancel::Cancel;
use hanami_guard_core::command::{self as core, Allow, Config, FsRules, NetRules, Rlimits};
use magnus::{
    function, method, prelude::*, Error, RArray, RHash, RModule, RString, Ruby, Symbol, TryConvert,
    Value,
};

use super::convert::{self, This};
use crate::{errors, gvl};

#[magnus::wrap(
    class = "HanamiGuard::Command",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
struct Command(Arc<core::Command>);

/// Keys of the config Hash the facade builds (`Options.normalize_config`, plus `allow`).
const CONFIG_KEYS: &[(&str, ())] = &[
    ("allow", ()),
    ("options", ()),
    ("env", ()),
    ("timeout", ()),
    ("max_output", ()),
    ("chdir", ()),
    ("chdir_root", ()),
    ("rlimits", ()),
    ("fs", ()),
    ("net", ()),
    ("dangerous_shell", ()),
    ("path", ()),
    ("kill_grace", ()),
];
/// Keys of `rlimits:`, as `Command::RLIMITS` names them.
const RLIMIT_KEYS: &[(&str, ())] = &[
    ("cpu", ()),
    ("as", ()),
    ("nofile", ()),
    ("nproc", ()),
    ("fsize", ()),
];
/// Keys of `fs:`, as `Command::FS_KEYS` names them.
const FS_KEYS: &[(&str, ())] = &[("read", ()), ("write", ()), ("exec", ())];

/// Refuses a key of `h` that is not in `known` (through [`convert::closed_set`], as every closed
/// set). The facade checks the keys a user passes; a key that reached the binding and that it
/// does not read would be a sandbox setting dropped without a word, so a mismatch between the
/// two fails loudly instead.
fn known_keys(
    ruby: &Ruby,
    h: RHash,
    option: &'static str,
    what: &str,
    known: &[(&str, ())],
) -> Result<(), Error> {
    h.foreach(|key: Value, _: Value| {
        // The facade's keys are Symbols; anything else is looked up by its `inspect` (with its
        // quotes), which names no key.
        let name = match Symbol::from_value(key) {
            Some(sym) => sym.name()?.into_owned(),
            None => key.inspect(),
        };
        convert::closed_set(ruby, option, what, &name, known)?;
        Ok(magnus::r_hash::ForEach::Continue)
    })
}

fn get<T: TryConvert>(ruby: &Ruby, h: RHash, key: &str) -> Result<T, Error> {
    h.aref::<_, T>(ruby.to_symbol(key))
}

fn strings(list: RArray) -> Result<Vec<Vec<u8>>, Error> {
    list.into_iter()
        .map(|v| RString::try_convert(v).map(convert::owned_bytes))
        .collect()
}

fn paths(ruby: &Ruby, h: RHash, key: &str) -> Result<Vec<PathBuf>, Error> {
    let list: Option<RArray> = get(ruby, h, key)?;
    Ok(list
        .map(strings)
        .transpose()?
        .unwrap_or_default()
        .into_iter()
        .map(|b| {
            PathBuf::from(<std::ffi::OsString as std::os::unix::ffi::OsStringExt>::from_vec(b))
        })
        .collect())
}

/// The kinds of allowlist the facade sends. `any` is a Ruby-only rule (a Regexp or a Proc) that
/// the facade has already applied; nothing else may reach [`Allow::Any`].
#[derive(Clone, Copy)]
enum AllowKind {
    OneOf,
    Map,
    CheckedInRuby,
}

const ALLOW_KINDS: &[(&str, AllowKind)] = &[
    ("one_of", AllowKind::OneOf),
    ("map", AllowKind::Map),
    ("any", AllowKind::CheckedInRuby),
];

fn convert_allow(ruby: &Ruby, value: Value) -> Result<Allow, Error> {
    let spec = RArray::try_convert(value)?;
    let kind: String = spec.entry(0)?;
    match convert::closed_set(ruby, "allow", "allow: kind", &kind, ALLOW_KINDS)? {
        AllowKind::OneOf => {
            let list: RArray = spec.entry(1)?;
            Ok(Allow::OneOf(
                strings(list)?.into_iter().collect::<HashSet<_>>(),
            ))
        }
        AllowKind::Map => {
            let map: RHash = spec.entry(1)?;
            let mut out = HashMap::new();
            map.foreach(|k: RString, v: RString| {
                out.insert(convert::owned_bytes(k), convert::owned_bytes(v));
                Ok(magnus::r_hash::ForEach::Continue)
            })?;
            Ok(Allow::Map(out))
        }
        AllowKind::CheckedInRuby => Ok(Allow::Any),
    }
}

#[derive(Clone, Copy)]
enum NetKind {
    Ports,
    Unrestricted,
}

const NET_KINDS: &[(&str, NetKind)] = &[
    ("ports", NetKind::Ports),
    ("unrestricted", NetKind::Unrestricted),
];

/// `["ports", [connect...], [bind...]]` or `["unrestricted"]`.
fn convert_net(ruby: &Ruby, value: RArray) -> Result<NetRules, Error> {
    let kind: String = value.entry(0)?;
    Ok(
        match convert::closed_set(ruby, "net", "net: kind", &kind, NET_KINDS)? {
            NetKind::Ports => NetRules::Ports {
                connect: value.entry(1)?,
                bind: value.entry(2)?,
            },
            NetKind::Unrestricted => NetRules::Unrestricted,
        },
    )
}

fn duration(seconds: f64) -> Duration {
    Duration::from_secs_f64(seconds.clamp(0.0, 1.0e9))
}

fn config(ruby: &Ruby, h: RHash) -> Result<Config, Error> {
    known_keys(ruby, h, "command", "a Command config key", CONFIG_KEYS)?;
    let mut c = Config::default();
    if let Some(allow) = get::<Option<RHash>>(ruby, h, "allow")? {
        allow.foreach(|name: String, spec: Value| {
            c.allow.push((name, convert_allow(ruby, spec)?));
            Ok(magnus::r_hash::ForEach::Continue)
        })?;
    }
    if let Some(options) = get::<Option<Vec<String>>>(ruby, h, "options")? {
        c.options = options;
    }
    if let Some(env) = get::<Option<Vec<(String, String)>>>(ruby, h, "env")? {
        c.env = env;
    }
    c.timeout = get::<Option<f64>>(ruby, h, "timeout")?.map(duration);
    if let Some(max) = get::<Option<usize>>(ruby, h, "max_output")? {
        c.max_output = max;
    }
    c.chdir = get::<Option<String>>(ruby, h, "chdir")?.map(PathBuf::from);
    if let Some(root) = get::<Option<&super::root::Root>>(ruby, h, "chdir_root")? {
        // A descriptor of its own, so the command outlives Root#close.
        let dir = root
            .get(ruby)?
            .as_fd()
            .try_clone_to_owned()
            .map_err(|e| errors::to_ruby(ruby, hanami_guard_core::Error::io(e, "dup")))?;
        c.chdir_dir = Some(Arc::new(dir));
    }
    if let Some(r) = get::<Option<RHash>>(ruby, h, "rlimits")? {
        known_keys(ruby, r, "rlimits", "rlimits: key", RLIMIT_KEYS)?;
        c.rlimits = Rlimits {
            cpu: get(ruby, r, "cpu")?,
            address_space: get(ruby, r, "as")?,
            nofile: get(ruby, r, "nofile")?,
            nproc: get(ruby, r, "nproc")?,
            fsize: get(ruby, r, "fsize")?,
        };
    }
    if let Some(fs) = get::<Option<RHash>>(ruby, h, "fs")? {
        known_keys(ruby, fs, "fs", "fs: key", FS_KEYS)?;
        c.fs = Some(FsRules {
            read: paths(ruby, fs, "read")?,
            write: paths(ruby, fs, "write")?,
            exec: paths(ruby, fs, "exec")?,
        });
    }
    if let Some(net) = get::<Option<RArray>>(ruby, h, "net")? {
        c.net = convert_net(ruby, net)?;
    }
    c.dangerous_shell = get::<Option<bool>>(ruby, h, "dangerous_shell")?.unwrap_or(false);
    if let Some(list) = get::<Option<Vec<String>>>(ruby, h, "path")? {
        c.path = Some(list.into_iter().map(PathBuf::from).collect());
    }
    if let Some(grace) = get::<Option<f64>>(ruby, h, "kill_grace")? {
        c.kill_grace = duration(grace);
    }
    Ok(c)
}

impl Command {
    fn define(ruby: &Ruby, template: RString, options: RHash) -> Result<Self, Error> {
        errors::guard(ruby, || {
            let template = template.to_string()?;
            let config = config(ruby, options)?;
            let cmd = errors::map(ruby, core::Command::new(&template, config))?;
            Ok(Command(Arc::new(cmd)))
        })
    }

    /// The plain form: returns `[command, values]`, the values to run it with (see
    /// `core::Command::from_plain` for which words are values).
    fn define_argv(ruby: &Ruby, argv: RArray, options: RHash) -> Result<RArray, Error> {
        errors::guard(ruby, || {
            let argv = strings(argv)?;
            let config = config(ruby, options)?;
            let (cmd, values) = errors::map(ruby, core::Command::from_plain(argv, config))?;
            let values_rb = ruby.ary_new_capa(values.len());
            for v in &values {
                values_rb.push(RString::from_slice(v))?;
            }
            let pair = ruby.ary_new_capa(2);
            pair.push(Command(Arc::new(cmd)))?;
            pair.push(values_rb)?;
            Ok(pair)
        })
    }

    fn placeholders(ruby: &Ruby, rb_self: This<Self>) -> Result<RArray, Error> {
        errors::guard(ruby, || {
            let list = ruby.ary_new();
            for name in rb_self.0.placeholders() {
                list.push(ruby.str_new(name))?;
            }
            Ok(list)
        })
    }

    fn executable(ruby: &Ruby, rb_self: This<Self>) -> Result<RString, Error> {
        errors::guard(ruby, || {
            Ok(convert::utf8_or_binary_str(ruby, rb_self.0.executable()))
        })
    }

    fn spawn_method(ruby: &Ruby, rb_self: This<Self>) -> Result<Symbol, Error> {
        errors::guard(ruby, || {
            Ok(ruby.to_symbol(rb_self.0.spawn_method().as_str()))
        })
    }

    fn argv(ruby: &Ruby, rb_self: This<Self>, values: RArray) -> Result<RArray, Error> {
        errors::guard(ruby, || {
            let values = strings(values)?;
            let argv = errors::map(ruby, rb_self.0.argv(&values))?;
            let list = ruby.ary_new_capa(argv.len());
            for a in &argv {
                list.push(convert::utf8_or_binary_str(ruby, a))?;
            }
            Ok(list)
        })
    }

    /// Runs and returns `[argv, exit_status, signal, stdout, stderr, timed_out, truncated,
    /// duration, pid, sandbox_hash]`; the facade builds the `Result`.
    fn run(
        ruby: &Ruby,
        rb_self: This<Self>,
        values: RArray,
        stdin: Option<RString>,
    ) -> Result<RArray, Error> {
        errors::guard(ruby, || {
            let values = strings(values)?;
            let stdin = stdin.map(convert::owned_bytes);
            let cmd = Arc::clone(&rb_self.0);
            let argv = errors::map(ruby, cmd.argv(&values))?;
            let argv_rb = ruby.ary_new_capa(argv.len());
            for a in &argv {
                argv_rb.push(convert::utf8_or_binary_str(ruby, a))?;
            }
            let wake = Cancel::new()
                .map_err(|e| errors::to_ruby(ruby, hanami_guard_core::Error::io(e, "eventfd")))?;
            // Spawning is short; an interrupt meanwhile is delivered once it returns, and
            // dropping the started command then kills and reaps it.
            let started = gvl::nogvl(ruby, || cmd.start(argv, stdin))?;
            let mut running = errors::map(ruby, started)?;
            // Waiting is long, and resumes after a wake-up that raised nothing; an interrupt
            // that raises terminates the process group (TERM, grace, KILL) and reaps it first.
            let output = gvl::nogvl_until(
                ruby,
                &wake,
                &mut running,
                |r, wake| r.wait(Some(wake)).transpose(),
                |r| {
                    let _ = r.cancel();
                },
            )?;
            let out = errors::map(ruby, output)?;
            let sandbox = ruby.hash_new();
            let landlock = &out.sandbox.landlock;
            sandbox.aset(ruby.to_symbol("no_new_privs"), out.sandbox.no_new_privs)?;
            sandbox.aset(
                ruby.to_symbol("landlock"),
                ruby.to_symbol(landlock.status.as_str()),
            )?;
            sandbox.aset(ruby.to_symbol("landlock_abi"), landlock.abi)?;
            sandbox.aset(ruby.to_symbol("ptrace_scoped"), landlock.ptrace)?;
            sandbox.aset(ruby.to_symbol("proc_scoped"), landlock.proc)?;
            sandbox.aset(ruby.to_symbol("filesystem_restricted"), landlock.filesystem)?;
            let tcp = match landlock.tcp {
                Some(true) => "denied",
                Some(false) => "ports",
                None => "unrestricted",
            };
            sandbox.aset(ruby.to_symbol("tcp"), ruby.to_symbol(tcp))?;
            sandbox.aset(ruby.to_symbol("signals_scoped"), landlock.signals)?;
            sandbox.aset(
                ruby.to_symbol("abstract_unix_sockets_scoped"),
                landlock.abstract_unix_sockets,
            )?;
            sandbox.aset(ruby.to_symbol("new_session"), out.sandbox.new_session)?;
            sandbox.aset(
                ruby.to_symbol("spawn"),
                ruby.to_symbol(out.sandbox.spawn.as_str()),
            )?;
            sandbox.aset(ruby.to_symbol("process_group"), out.sandbox.process_group)?;
            sandbox.aset(ruby.to_symbol("fds_closed"), out.sandbox.fds_closed)?;
            sandbox.aset(ruby.to_symbol("rlimits"), out.sandbox.rlimits)?;
            let result = ruby.ary_new_capa(10);
            result.push(argv_rb)?;
            result.push(out.exit_status)?;
            result.push(out.signal)?;
            result.push(RString::from_slice(&out.stdout))?;
            result.push(RString::from_slice(&out.stderr))?;
            result.push(out.timed_out)?;
            result.push(out.truncated)?;
            result.push(out.duration.as_secs_f64())?;
            result.push(out.pid)?;
            result.push(sandbox)?;
            Ok(result)
        })
    }
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Command", ruby.class_object())?;
    class
        .singleton_class()?
        .define_private_method("_define", function!(Command::define, 2))?;
    class
        .singleton_class()?
        .define_private_method("_define_argv", function!(Command::define_argv, 2))?;
    class.define_private_method("_placeholders", method!(Command::placeholders, 0))?;
    class.define_method("executable", method!(Command::executable, 0))?;
    class.define_method("spawn_method", method!(Command::spawn_method, 0))?;
    class.define_private_method("_argv", method!(Command::argv, 1))?;
    class.define_private_method("_run", method!(Command::run, 2))?;
    Ok(())
}
