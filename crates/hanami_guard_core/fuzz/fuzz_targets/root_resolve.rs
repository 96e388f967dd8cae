#![no_main]
//! Fuzz target `root_resolve`: random trees with symlinks, random relative paths.
//!
//! Checks, for both resolvers (openat2 and the forced walker):
//! - every successful open is a file or directory that lives inside the base (its device and
//!   inode are among those found by listing the base without following links), never the
//!   canary planted outside;
//! - the two resolvers agree: when one opens a file, the other opens the same one or fails with
//!   an errno (never an escape), and when one reports an escape, the other does not open it.
//! - nothing panics.

use std::collections::HashSet;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use arbitrary::Arbitrary;
use hanami_guard_core::root::{Options, Resolver, Root};
use hanami_guard_core::Error;
use libfuzzer_sys::fuzz_target;

const DIRS: [&str; 4] = ["", "a", "a/b", "c"];
const NAMES: [&str; 4] = ["l", "m", "x", "y"];

#[derive(Arbitrary, Debug)]
struct Input {
    links: Vec<(u8, u8, String)>,
    path: String,
}

fn inodes_under(dir: &Path, out: &mut HashSet<(u64, u64)>) {
    if let Ok(meta) = std::fs::symlink_metadata(dir) {
        out.insert((meta.dev(), meta.ino()));
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let path = entry.path();
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => inodes_under(&path, out),
                Ok(meta) => {
                    out.insert((meta.dev(), meta.ino()));
                }
                Err(_) => {}
            }
        }
    }
}

fn outcome(root: &Root, path: &[u8]) -> Result<(u64, u64), Error> {
    let fd = root.open_path(path)?;
    let file = std::fs::File::from(fd);
    let meta = file.metadata().map_err(|e| Error::io(e, "fstat"))?;
    Ok((meta.dev(), meta.ino()))
}

fuzz_target!(|input: Input| {
    if input.links.len() > 8 || input.path.len() > 256 {
        return;
    }
    let Ok(tmp) = tempfile::tempdir() else { return };
    let top = tmp.path();
    let base = top.join("base");
    for d in DIRS {
        let _ = std::fs::create_dir_all(base.join(d));
    }
    let _ = std::fs::write(base.join("f"), "inside");
    let _ = std::fs::write(base.join("a/g"), "inside");
    let _ = std::fs::write(top.join("canary"), "CANARY");
    for (dir, name, target) in &input.links {
        if target.len() > 64 || target.contains('\0') {
            continue;
        }
        let at = base
            .join(DIRS[*dir as usize % DIRS.len()])
            .join(NAMES[*name as usize % NAMES.len()]);
        let _ = symlink(target, at);
    }
    let mut inside = HashSet::new();
    inodes_under(&base, &mut inside);
    let canary = std::fs::metadata(top.join("canary")).map(|m| (m.dev(), m.ino())).ok();

    let open = |resolver| {
        Root::new(&base, Options { resolver, ..Options::default() }).expect("root")
    };
    let kernel = open(Resolver::Auto);
    let walker = open(Resolver::Walk);
    let a = outcome(&kernel, input.path.as_bytes());
    let b = outcome(&walker, input.path.as_bytes());
    for r in [&a, &b] {
        if let Ok(id) = r {
            assert!(Some(*id) != canary, "read the canary: {:?}", input);
            assert!(inside.contains(id), "opened something outside the base: {:?}", input);
        }
    }
    match (&a, &b) {
        (Ok(x), Ok(y)) => assert_eq!(x, y, "resolvers disagree: {:?}", input),
        (Ok(_), Err(Error::PathEscape(_))) | (Err(Error::PathEscape(_)), Ok(_)) => {
            panic!("one resolver escaped, the other opened: {a:?} {b:?} {input:?}")
        }
        _ => {}
    }
    // The lexical class of refusal is the same for both.
    assert_eq!(
        matches!(a, Err(Error::Path(_))),
        matches!(b, Err(Error::Path(_))),
        "{a:?} {b:?} {input:?}"
    );
    let _ = kernel.resolve(input.path.as_bytes());
});
