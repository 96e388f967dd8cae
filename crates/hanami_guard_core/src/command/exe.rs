//! Where the executable comes from, and which argv would hand a shell an inline script.
//!
//! The executable is resolved once, when the command is defined: an absolute path is checked,
//! a bare name is looked up in a fixed safe PATH (never the caller's `PATH`, never the current
//! directory). A relative path such as `./deploy` or `bin/deploy` is refused: it would depend on
//! the working directory at run time.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{excerpt, key, Error, Field, Result};

/// The PATH executables are looked up in, and the child's `PATH` unless `env:` gives one.
pub const SAFE_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The directories of [`SAFE_PATH`].
pub fn safe_path_dirs() -> Vec<PathBuf> {
    SAFE_PATH.split(':').map(PathBuf::from).collect()
}

fn is_executable_file(path: &Path) -> bool {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok(),
        _ => false,
    }
}

/// Resolves the template's first word to an absolute executable path.
pub fn resolve(name: &[u8], dirs: &[PathBuf]) -> Result<PathBuf> {
    let shown = excerpt(&String::from_utf8_lossy(name), 60);
    if name.is_empty() {
        return Err(Error::Configuration(
            "the executable is empty: name a program such as \"git\" or \"/usr/bin/git\"".into(),
        ));
    }
    if name.contains(&b'/') {
        if name[0] != b'/' {
            return Err(Error::configuration(format!(
                "the executable `{shown}` is a relative path: give an absolute path or a bare name \
                 looked up in the safe PATH ({SAFE_PATH}); the current directory is never searched"
            )));
        }
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(name));
        if !is_executable_file(&path) {
            return Err(Error::configuration(format!(
                "the executable `{shown}` does not exist or is not an executable file"
            )));
        }
        return Ok(path);
    }
    for dir in dirs {
        let candidate = dir.join(std::ffi::OsStr::from_bytes(name));
        if is_executable_file(&candidate) {
            return Ok(candidate);
        }
    }
    let searched: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Err(Error::configuration(format!(
        "the executable `{shown}` was not found in {}: install it, give its absolute path, or \
         pass path: with the directory that holds it (the current directory is never searched)",
        searched.join(":")
    )))
}

/// Checks the directories given as `path:`.
pub fn check_path_dirs(dirs: &[PathBuf]) -> Result<()> {
    if dirs.is_empty() {
        return Err(Error::configuration(
            "path: is empty: give absolute directories, or leave it out for the safe PATH",
        )
        .with(key::OPTION, Field::Name("path")));
    }
    for d in dirs {
        if !d.is_absolute() {
            return Err(Error::configuration(format!(
                "path: entry `{}` is relative: only absolute directories are searched",
                excerpt(&d.to_string_lossy(), 60)
            ))
            .with(key::OPTION, Field::Name("path")));
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interpreter {
    Shell,
    Python,
    Perl,
    Ruby,
    Node,
    Php,
    Lua,
}

fn basename(word: &[u8]) -> &[u8] {
    match word.iter().rposition(|&b| b == b'/') {
        Some(p) => &word[p + 1..],
        None => word,
    }
}

fn interpreter(word: &[u8]) -> Option<Interpreter> {
    let base = basename(word);
    // "python3.11" -> "python", "ksh93" -> "ksh", "perl5.36.0" -> "perl".
    let end = base
        .iter()
        .rposition(|b| !(b.is_ascii_digit() || *b == b'.'))
        .map_or(0, |p| p + 1);
    let stem = &base[..end];
    Some(match stem {
        b"sh" | b"bash" | b"dash" | b"zsh" | b"ksh" | b"mksh" | b"pdksh" | b"ash" | b"yash"
        | b"posh" | b"rbash" | b"csh" | b"tcsh" | b"fish" | b"oksh" | b"loksh" => {
            Interpreter::Shell
        }
        b"python" | b"pypy" => Interpreter::Python,
        b"perl" => Interpreter::Perl,
        b"ruby" | b"jruby" | b"truffleruby" => Interpreter::Ruby,
        b"node" | b"nodejs" => Interpreter::Node,
        b"php" => Interpreter::Php,
        b"lua" | b"luajit" => Interpreter::Lua,
        _ => return None,
    })
}

/// Whether `word` is an option that gives `kind` its program inline, or names code to load.
///
/// The table, one row per way each interpreter takes code from an argument (the program read
/// from stdin is [`reads_program_from_stdin`]):
///
/// | interpreter | inline code |
/// |---|---|
/// | sh, bash, dash, zsh, ksh, ... | `-c` (also in a cluster: `-ec`), `-s`, `--command`, `--init-command` |
/// | python, pypy | `-c` (also `-Ic`) |
/// | perl | `-e`, `-E`, `-M`/`-m` whose module part is not a plain module name (`-MPOSIX;system(...)`, which perl pastes into `use ...;`) |
/// | ruby | `-e` |
/// | node | `-e`, `-p`, `--eval`, `--print`, `--import`/`--loader`/`--experimental-loader`/`--require`/`-r` given a `data:` URL |
/// | php | `-r`, `-B`, `-R`, `-E` |
/// | lua, luajit | `-e` |
fn is_inline_flag(kind: Interpreter, word: &[u8], next: Option<&[u8]>) -> bool {
    let long = |names: &[&[u8]]| {
        names
            .iter()
            .any(|n| word == *n || (word.starts_with(n) && word.get(n.len()) == Some(&b'=')))
    };
    // A cluster of short options: `-c`, `-ec`, `-xc`, `-ne`.
    let cluster = |letters: &[u8]| {
        word.len() >= 2
            && word[0] == b'-'
            && word[1] != b'-'
            && word[1..].iter().any(|c| letters.contains(c))
    };
    match kind {
        Interpreter::Shell => cluster(b"cs") || long(&[b"--command", b"--init-command"]),
        Interpreter::Python => cluster(b"c"),
        Interpreter::Perl => cluster(b"eE") || perl_module_with_code(word, next),
        Interpreter::Ruby => cluster(b"e"),
        Interpreter::Node => {
            cluster(b"ep") || long(&[b"--eval", b"--print"]) || node_data_url(word, next)
        }
        Interpreter::Php => cluster(b"rBRE"),
        Interpreter::Lua => cluster(b"e"),
    }
}

/// `perl -MFoo::Bar=args` becomes `use Foo::Bar split(/,/, q{args});`: the part before `=` is
/// pasted into Perl source, so anything but a module name there is code.
fn perl_module_with_code(word: &[u8], next: Option<&[u8]>) -> bool {
    let module = match word {
        [b'-', b'M' | b'm', rest @ ..] if !rest.is_empty() => rest,
        [b'-', b'M' | b'm'] => next.unwrap_or(b""),
        _ => return false,
    };
    let name = module.split(|&b| b == b'=').next().unwrap_or(b"");
    let name = name.strip_prefix(b"-").unwrap_or(name); // -M-Foo means `no Foo`
    name.is_empty()
        || !name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b':')
}

/// `node --import=data:text/javascript,...` (and the loader and require hooks) runs the URL's
/// text as a module.
fn node_data_url(word: &[u8], next: Option<&[u8]>) -> bool {
    const HOOKS: [&[u8]; 5] = [
        b"--import",
        b"--loader",
        b"--experimental-loader",
        b"--require",
        b"-r",
    ];
    for hook in HOOKS {
        if word == hook {
            return next.is_some_and(|n| n.starts_with(b"data:"));
        }
        if word.starts_with(hook) && word.get(hook.len()) == Some(&b'=') {
            return word[hook.len() + 1..].starts_with(b"data:");
        }
    }
    false
}

/// Options of `kind` that take the next word as their argument (so it is not the script).
fn takes_argument(kind: Interpreter, word: &[u8]) -> bool {
    let words: &[&[u8]] = match kind {
        Interpreter::Shell => &[b"-o", b"+o", b"-O", b"+O", b"--rcfile", b"--init-file"],
        Interpreter::Python => &[b"-W", b"-X", b"--check-hash-based-pycs"],
        Interpreter::Perl => &[b"-I", b"-x"],
        Interpreter::Ruby => &[b"-I", b"-r", b"-C", b"-E", b"--encoding"],
        Interpreter::Node => &[
            b"-r",
            b"--require",
            b"--import",
            b"--loader",
            b"--inspect-port",
        ],
        Interpreter::Php => &[b"-c", b"-d", b"-z"],
        Interpreter::Lua => &[b"-l"],
    };
    words.contains(&word)
}

/// Names that are the process's standard input when given as a script path.
fn is_stdin_path(word: &[u8]) -> bool {
    matches!(
        word,
        b"-" | b"/dev/stdin" | b"/dev/fd/0" | b"/proc/self/fd/0" | b"/proc/thread-self/fd/0"
    )
}

/// Whether `kind`, given the words after it, would read its program from stdin: no script
/// argument at all (`sh`, `python3`), or a script named `-`, `/dev/stdin` or `/dev/fd/0`. With
/// `stdin:` those bytes are code; `sh -s` is refused by [`is_inline_flag`] for the same reason.
fn reads_program_from_stdin(kind: Interpreter, rest: &[&[u8]]) -> bool {
    let mut i = 0;
    while i < rest.len() {
        let w = rest[i];
        if w == b"--" {
            return rest.get(i + 1).map_or(true, |s| is_stdin_path(s));
        }
        if is_stdin_path(w) {
            return true;
        }
        let is_option = (w.first() == Some(&b'-')
            || (kind == Interpreter::Shell && w.first() == Some(&b'+')))
            && w.len() > 1;
        if !is_option {
            return false; // the script
        }
        i += if takes_argument(kind, w) { 2 } else { 1 };
    }
    true
}

/// Programs that run another program given as their arguments: an interpreter named after one
/// of them is the program that runs.
const LAUNCHERS: &[&[u8]] = &[
    b"env",
    b"xargs",
    b"nice",
    b"nohup",
    b"timeout",
    b"setsid",
    b"stdbuf",
    b"busybox",
    b"sudo",
    b"doas",
    b"chroot",
    b"ionice",
    b"taskset",
    b"chrt",
    b"unshare",
    b"nsenter",
    b"flock",
    b"script",
    b"watch",
    b"time",
    b"runuser",
    b"su",
    b"setpriv",
    b"prlimit",
    b"systemd-run",
    b"strace",
    b"ltrace",
    b"firejail",
    b"bwrap",
];

/// The table of launchers that hand a string to a shell themselves (`-c` of flock, script, su,
/// runuser; `-S` of env; every argument of watch unless `-x`), and the refusal for each.
fn launcher_runs_a_shell(argv: &[&[u8]], names: &[&[u8]]) -> Option<String> {
    let named = |n: &[u8]| names.iter().any(|w| basename(w) == n);
    let has = |pred: &dyn Fn(&[u8]) -> bool| argv[1..].iter().copied().find(|w| pred(w));
    let short = |w: &[u8], letter: u8| {
        w.len() >= 2 && w[0] == b'-' && w[1] != b'-' && w[1..].contains(&letter)
    };
    let long = |w: &[u8], name: &[u8]| {
        w == name || (w.starts_with(name) && w.get(name.len()) == Some(&b'='))
    };
    let shown = |w: &[u8]| excerpt(&String::from_utf8_lossy(w), 20);
    if named(b"env") {
        if let Some(w) = has(&|w| short(w, b'S') || long(w, b"--split-string")) {
            return Some(format!(
                "`env {}` splits a string into words as a shell would: pass each argument as its \
                 own word, or pass dangerous_shell: true",
                shown(w)
            ));
        }
    }
    for launcher in [&b"flock"[..], b"script", b"su", b"runuser"] {
        if named(launcher) {
            if let Some(w) =
                has(&|w| short(w, b'c') || long(w, b"--command") || long(w, b"--session-command"))
            {
                return Some(format!(
                    "`{} {}` hands its argument to a shell as a script: run the program directly \
                     (flock FILE program args...), or pass dangerous_shell: true",
                    String::from_utf8_lossy(launcher),
                    shown(w)
                ));
            }
        }
    }
    if named(b"watch") && has(&|w| short(w, b'x') || long(w, b"--exec")).is_none() {
        return Some(
            "`watch` joins its arguments into a string for `sh -c`: pass -x (--exec) so it runs \
             the program directly, or pass dangerous_shell: true"
                .into(),
        );
    }
    if named(b"sudo") {
        if let Some(w) =
            has(&|w| short(w, b's') || short(w, b'i') || long(w, b"--shell") || long(w, b"--login"))
        {
            return Some(format!(
                "`sudo {}` runs its arguments through a shell: run the program directly, or pass \
                 dangerous_shell: true",
                shown(w)
            ));
        }
    }
    None
}

/// Refuses an argv that would hand a shell or interpreter a program that is not a file the
/// template names: the program itself with inline code (`sh -c`, `bash -ec`, `python3 -c`,
/// `perl -e`, `perl -M'POSIX;system(...)'`, `node --import=data:...`), one reading its program
/// from stdin (`sh`, `sh -`, `sh -s`, `bash /dev/stdin`), the same behind a launcher (`env sh
/// -c`, `xargs sh`, `busybox sh -c`, `nice bash -c`, `find -exec sh -c`), and launchers that run
/// a shell themselves (`env -S`, `flock -c`, `script -c`, `su -c`, `watch`). `extra_names` are
/// other names of the executable (its canonical path, behind symlinks such as /bin/sh -> dash).
pub fn check_no_inline_script(argv: &[&[u8]], extra_names: &[&[u8]]) -> Option<String> {
    let mut names: Vec<&[u8]> = vec![argv[0]];
    names.extend_from_slice(extra_names);
    if let Some(msg) = launcher_runs_a_shell(argv, &names) {
        return Some(msg);
    }
    let launched = names.iter().any(|n| LAUNCHERS.contains(&basename(n)));
    let is_xargs = names.iter().any(|n| basename(n) == b"xargs");
    let mut candidates: Vec<(usize, Interpreter)> = Vec::new();
    for (i, w) in argv.iter().enumerate() {
        if let Some(k) = interpreter(w) {
            candidates.push((i, k));
        }
    }
    if let Some(k) = extra_names.iter().find_map(|n| interpreter(n)) {
        candidates.push((0, k));
    }
    let refusal = |i: usize, what: &str| {
        Some(format!(
            "`{}` would run `{}` {what}: a shell or interpreter given code that is not a file \
             the template names reopens shell injection. Run the program you need directly, or \
             a script file, or pass dangerous_shell: true if you really must",
            excerpt(&String::from_utf8_lossy(argv[0]), 40),
            excerpt(&String::from_utf8_lossy(basename(argv[i])), 20),
        ))
    };
    for (i, kind) in candidates {
        let rest = &argv[i + 1..];
        if let Some(pos) = rest
            .iter()
            .enumerate()
            .position(|(j, w)| is_inline_flag(kind, w, rest.get(j + 1).copied()))
        {
            let flag = excerpt(&String::from_utf8_lossy(rest[pos]), 20);
            return refusal(i, &format!("with an inline script (`{flag}`)"));
        }
        // Only where the word is the program that runs: the executable, or a word after a
        // launcher. (`grep -c bash` merely mentions bash.)
        if i == 0 || launched {
            if is_xargs && i > 0 {
                return refusal(i, "with arguments read from stdin (xargs appends them)");
            }
            if reads_program_from_stdin(kind, rest) {
                return refusal(i, "with its program read from stdin");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(argv: &[&str]) -> bool {
        let a: Vec<&[u8]> = argv.iter().map(|s| s.as_bytes()).collect();
        check_no_inline_script(&a, &[]).is_some()
    }

    #[test]
    fn shells_with_inline_scripts_are_refused() {
        assert!(refused(&["/bin/sh", "-c", "id"]));
        assert!(refused(&["/usr/bin/bash", "-ec", "id"]));
        assert!(refused(&["/usr/bin/env", "sh", "-c", "id"]));
        assert!(refused(&["/usr/bin/xargs", "bash", "-c", "id"]));
        assert!(refused(&["/usr/bin/busybox", "sh", "-c", "id"]));
        assert!(refused(&["/usr/bin/python3", "-c", "print(1)"]));
        assert!(refused(&["/usr/bin/perl", "-ne", "print"]));
        assert!(refused(&["/usr/bin/env", "-S", "sh -c id"]));
        assert!(refused(&["/usr/bin/ksh93", "-c", "id"]));
    }

    /// One row per way of taking code, per interpreter and launcher (the table above).
    #[test]
    fn every_row_of_the_code_table_is_refused() {
        let rows: &[&[&str]] = &[
            &["/bin/sh", "-c", "id"],
            &["/bin/bash", "-ec", "id"],
            &["/bin/dash", "-s"],
            &["/bin/zsh", "--command", "id"],
            &["/bin/sh"],
            &["/bin/sh", "-"],
            &["/bin/sh", "-e", "-"],
            &["/bin/bash", "/dev/stdin"],
            &["/bin/bash", "-o", "errexit", "/dev/fd/0"],
            &["/bin/sh", "--", "/proc/self/fd/0"],
            &["/usr/bin/python3", "-c", "print(1)"],
            &["/usr/bin/python3", "-"],
            &["/usr/bin/python3"],
            &["/usr/bin/perl", "-e", "print"],
            &["/usr/bin/perl", "-E", "say 1"],
            &["/usr/bin/perl", "-MPOSIX;system(q(id))", "x.pl"],
            &["/usr/bin/perl", "-M", "POSIX;system(q(id))", "x.pl"],
            &["/usr/bin/perl", "/dev/stdin"],
            &["/usr/bin/ruby", "-e", "p 1"],
            &["/usr/bin/ruby"],
            &["/usr/bin/node", "-e", "1"],
            &["/usr/bin/node", "-p", "1"],
            &["/usr/bin/node", "--eval=1"],
            &["/usr/bin/node", "--import=data:text/javascript,1", "x.js"],
            &[
                "/usr/bin/node",
                "--import",
                "data:text/javascript,1",
                "x.js",
            ],
            &[
                "/usr/bin/node",
                "--experimental-loader=data:text/javascript,1",
                "x.js",
            ],
            &["/usr/bin/php", "-r", "echo 1;"],
            &["/usr/bin/lua", "-e", "print(1)"],
            &["/usr/bin/env", "sh", "-c", "id"],
            &["/usr/bin/env", "sh"],
            &["/usr/bin/env", "-S", "sh -c id"],
            &["/usr/bin/env", "--split-string=sh -c id"],
            &["/usr/bin/xargs", "sh"],
            &["/usr/bin/xargs", "-0", "python3"],
            &["/usr/bin/xargs", "bash", "-c", "id"],
            &["/usr/bin/flock", "/tmp/l", "-c", "id"],
            &["/usr/bin/flock", "--command", "id", "/tmp/l"],
            &["/usr/bin/script", "-q", "-c", "id", "/dev/null"],
            &["/bin/su", "-c", "id", "app"],
            &["/sbin/runuser", "-u", "app", "--command=id"],
            &["/usr/bin/watch", "-n1", "ls"],
            &["/usr/bin/sudo", "-s", "id"],
            &["/usr/bin/busybox", "sh", "-c", "id"],
            &["/usr/bin/nice", "bash", "-c", "id"],
            &["/usr/bin/timeout", "5", "sh"],
            &["/usr/bin/find", ".", "-exec", "sh", "-c", "id", ";"],
        ];
        for row in rows {
            assert!(refused(row), "{row:?} was accepted");
        }
    }

    #[test]
    fn ordinary_commands_pass() {
        assert!(!refused(&[
            "/usr/bin/perl",
            "-MJSON::PP",
            "-Mstrict",
            "x.pl"
        ]));
        assert!(!refused(&["/usr/bin/perl", "-MList::Util=sum,max", "x.pl"]));
        assert!(!refused(&["/usr/bin/node", "--import=./setup.mjs", "x.js"]));
        assert!(!refused(&["/usr/bin/python3", "-W", "ignore", "x.py"]));
        assert!(!refused(&["/bin/sh", "-e", "script.sh"]));
        assert!(!refused(&["/usr/bin/printf", "%s", "sh"]));
        assert!(!refused(&["/usr/bin/watch", "-x", "ls"]));
        assert!(!refused(&["/usr/bin/flock", "/tmp/l", "ls", "-l"]));
        assert!(!refused(&["/usr/bin/git", "-c", "x=y", "log"]));
        assert!(!refused(&["/usr/bin/grep", "-c", "bash", "file"]));
        assert!(!refused(&["/bin/bash", "script.sh", "arg"]));
        assert!(!refused(&["/usr/bin/env", "LANG=C", "ls"]));
        assert!(!refused(&["/usr/bin/ssh", "host"]));
    }

    #[test]
    fn canonical_names_count() {
        let a: Vec<&[u8]> = vec![b"/bin/mysh", b"-c", b"id"];
        assert!(check_no_inline_script(&a, &[b"/usr/bin/dash"]).is_some());
    }

    #[test]
    fn resolution_never_uses_relative_paths() {
        let dirs = safe_path_dirs();
        assert!(resolve(b"./true", &dirs).is_err());
        assert!(resolve(b"bin/true", &dirs).is_err());
        assert!(resolve(b"", &dirs).is_err());
        assert!(resolve(b"true", &dirs).expect("true").is_absolute());
        assert!(resolve(b"definitely-not-a-program-xyz", &dirs).is_err());
    }
}
