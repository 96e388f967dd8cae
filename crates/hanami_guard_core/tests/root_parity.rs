//! The two resolvers decide alike, to the errno: random trees of symlinks (targets with trailing
//! slashes and dots, `..`, loops, dangling and escaping links) and random paths, each opened by
//! the kernel (`openat2`) and by the forced walker for a stat, a read and a write, and the
//! outcomes compared. Deterministic (a fixed seed), so a failure names its case.

use std::collections::BTreeSet;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;

use hanami_guard_core::root::{Options, Resolver, Root, Symlinks};
use hanami_guard_core::Error;

const DIRS: [&str; 4] = ["", "a", "a/b", "c"];
const NAMES: [&str; 4] = ["l", "m", "x", "y"];
const TARGETS: [&str; 26] = [
    "f",
    "f/",
    "f/.",
    "a",
    "a/",
    "a/.",
    "a/g",
    "a/g/",
    "..",
    "../f",
    "../..",
    "../canary",
    ".",
    "./",
    "l",
    "m/",
    "x/.",
    "nowhere",
    "nowhere/",
    "nowhere/.",
    "b/..",
    "b/../",
    "g",
    "a//g",
    "/etc",
    "../base/f",
];
const PARTS: [&str; 12] = ["f", "a", "b", "g", "l", "m", "x", "y", "..", ".", "", "new"];

/// One operation under comparison: its name and how to run it on a root.
type Op<'a> = (&'static str, &'a dyn Fn(&Root) -> String);

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// An outcome both resolvers can be compared on: what was opened, or what kind of refusal.
fn describe<T>(r: &hanami_guard_core::Result<T>, id: impl Fn(&T) -> String) -> String {
    match r {
        Ok(v) => format!("ok {}", id(v)),
        Err(Error::PathEscape(_)) => "escape".to_owned(),
        Err(Error::Path(_)) => "path".to_owned(),
        Err(e) => format!("errno {:?}", e.errno()),
    }
}

fn listing(base: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for d in DIRS {
        if let Ok(entries) = std::fs::read_dir(base.join(d)) {
            for e in entries.flatten() {
                out.insert(format!("{d}/{}", e.file_name().to_string_lossy()));
            }
        }
    }
    out
}

/// Removes whatever the last attempt created, so both resolvers start from the same tree.
fn restore(base: &Path, before: &BTreeSet<String>) {
    for made in listing(base).difference(before) {
        let p = base.join(made.trim_start_matches('/'));
        let _ = std::fs::remove_file(&p).or_else(|_| std::fs::remove_dir_all(&p));
    }
}

#[test]
fn kernel_and_walker_agree_on_random_trees() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut disagreements = Vec::new();
    for case in 0..80 {
        let tmp = tempfile::tempdir().expect("tempdir");
        let top = tmp.path().canonicalize().expect("canonical");
        let base = top.join("base");
        for d in DIRS {
            std::fs::create_dir_all(base.join(d)).expect("mkdir");
        }
        std::fs::write(base.join("f"), "inside").expect("write");
        std::fs::write(base.join("a/g"), "inside").expect("write");
        std::fs::write(top.join("canary"), "CANARY").expect("write");
        let mut links = Vec::new();
        for _ in 0..1 + rng.next(6) {
            let at = format!(
                "{}/{}",
                DIRS[rng.next(DIRS.len())],
                NAMES[rng.next(NAMES.len())]
            );
            let target = TARGETS[rng.next(TARGETS.len())];
            if symlink(target, base.join(at.trim_start_matches('/'))).is_ok() {
                links.push(format!("{at} -> {target}"));
            }
        }
        // One case in three refuses every symlink.
        let symlinks = if rng.next(3) == 0 {
            Symlinks::Deny
        } else {
            Symlinks::Confined
        };
        let open = |resolver| {
            Root::new(
                &base,
                Options {
                    resolver,
                    symlinks,
                    ..Options::default()
                },
            )
            .expect("root")
        };
        let (kernel, walker) = (open(Resolver::Auto), open(Resolver::Walk));
        let before = listing(&base);
        for _ in 0..40 {
            let n = 1 + rng.next(4);
            let mut path: Vec<&str> = (0..n).map(|_| PARTS[rng.next(PARTS.len())]).collect();
            if rng.next(4) == 0 {
                path.push("");
            }
            let path = path.join("/");
            if path.is_empty() {
                continue;
            }
            let p = path.as_bytes();
            let stat = |r: &Root| {
                describe(&r.open_path(p), |fd| {
                    let m = std::fs::File::from(fd.try_clone().expect("dup"))
                        .metadata()
                        .expect("fstat");
                    format!("{}:{}", m.dev(), m.ino())
                })
            };
            let read = |r: &Root| describe(&r.read(p, None), |d| d.len().to_string());
            let write = |r: &Root| {
                let o = describe(&r.open(p, "w", 0o644), |_| String::new());
                let l = listing(&base);
                restore(&base, &before);
                format!("{o} {l:?}")
            };
            let resolve = |r: &Root| describe(&r.resolve(p), |s| s.clone());
            let ops: [Op<'_>; 4] = [
                ("stat", &stat),
                ("read", &read),
                ("open w", &write),
                ("resolve", &resolve),
            ];
            for (op, f) in ops {
                let (k, w) = (f(&kernel), f(&walker));
                if k != w {
                    disagreements.push(format!(
                        "case {case} ({symlinks:?}): {op} {path:?} with {links:?}: kernel {k}, \
                         walker {w}"
                    ));
                }
            }
            std::fs::write(base.join("f"), "inside").expect("rewrite");
        }
    }
    assert!(
        disagreements.is_empty(),
        "{} disagreements, the first ones:\n{}",
        disagreements.len(),
        disagreements
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
