//! Where the executable comes from, and which argv would hand a shell an inline script.
//!
//! The executable is resolved once, when the command is defined: an absolute path is checked,
//! a bare name is looked up in a fixed safe PATH (never the caller's `PATH`, never the current
//! directory). A relative path such as `./deploy` or `bin/deploy` is refused: it would depend on
//! the working directory at run time.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{excerpt, Error, Result};

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
            return Err(Error::Configuration(format!(
                "the executable `{shown}` is a relative path: give an absolute path or a bare name \
                 looked up in the safe PATH ({SAFE_PATH}); the current directory is never searched"
            )));
        }
        let path = PathBuf::from(std::ffi::OsStr::from_bytes(name));
        if !is_executable_file(&path) {
            return Err(Error::Configuration(format!(
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
    Err(Error::Configuration(format!(
        "the executable `{shown}` was not found in {}: install it, give its absolute path, or \
         pass path: with the directory that holds it (the current directory is never searched)",
        searched.join(":")
    )))
}

/// Checks the directories given as `path:`.
pub fn check_path_dirs(dirs: &[PathBuf]) -> Result<()> {
    if dirs.is_empty() {
        return Err(Error::Configuration(
            "path: is empty: give absolute directories, or leave it out for the safe PATH".into(),
        ));
    }
    for d in dirs {
        if !d.is_absolute() {
            return Err(Error::Configuration(format!(
                "path: entry `{}` is relative: only absolute directories are searched",
                excerpt(&d.to_string_lossy(), 60)
            )));
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

/// Whether `word` is an option that gives `kind` its script inline (or from stdin, for a shell).
fn is_inline_flag(kind: Interpreter, word: &[u8]) -> bool {
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
        Interpreter::Perl => cluster(b"eE"),
        Interpreter::Ruby => cluster(b"e"),
        Interpreter::Node => cluster(b"ep") || long(&[b"--eval", b"--print"]),
        Interpreter::Php => cluster(b"rBRE"),
        Interpreter::Lua => cluster(b"e"),
    }
}

/// Refuses an argv that would hand a shell or interpreter an inline script: the program itself
/// (`sh -c`, `bash -ec`, `python3 -c`, `perl -e`, ...), or one launched through another word
/// (`env sh -c`, `xargs sh -c`, `busybox sh -c`, `nice bash -c`, `find -exec sh -c`), and
/// `env -S`, which re-splits a string into words as a shell would. `extra_names` are other
/// names of the executable (its canonical path, behind symlinks such as /bin/sh -> dash).
pub fn check_no_inline_script(argv: &[&[u8]], extra_names: &[&[u8]]) -> Option<String> {
    let mut candidates: Vec<(usize, Interpreter)> = Vec::new();
    for (i, w) in argv.iter().enumerate() {
        if let Some(k) = interpreter(w) {
            candidates.push((i, k));
        }
    }
    if let Some(k) = extra_names.iter().find_map(|n| interpreter(n)) {
        candidates.push((0, k));
    }
    for (i, kind) in candidates {
        if let Some(flag) = argv[i + 1..].iter().find(|w| is_inline_flag(kind, w)) {
            return Some(format!(
                "`{}` would run `{}` with an inline script (`{}`): a shell or interpreter given \
                 code as an argument reopens shell injection. Run the program you need directly, \
                 or a script file, or pass dangerous_shell: true if you really must",
                excerpt(&String::from_utf8_lossy(argv[0]), 40),
                excerpt(&String::from_utf8_lossy(basename(argv[i])), 20),
                excerpt(&String::from_utf8_lossy(flag), 20)
            ));
        }
    }
    let exe_is_env = std::iter::once(argv[0])
        .chain(extra_names.iter().copied())
        .any(|n| basename(n) == b"env");
    if exe_is_env {
        if let Some(flag) = argv[1..].iter().find(|w| {
            (w.len() >= 2 && w[0] == b'-' && w[1] != b'-' && w.contains(&b'S'))
                || w.starts_with(b"--split-string")
        }) {
            return Some(format!(
                "`env {}` splits a string into words as a shell would: pass each argument as its \
                 own word, or pass dangerous_shell: true",
                excerpt(&String::from_utf8_lossy(flag), 20)
            ));
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

    #[test]
    fn ordinary_commands_pass() {
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
