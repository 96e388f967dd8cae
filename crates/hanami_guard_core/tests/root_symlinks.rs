//! Symlinks beneath a `Root`: followed while they stay inside, refused when they would leave,
//! with both resolvers (openat2 and the forced walker).

mod roots;

use std::os::unix::fs::symlink;

use hanami_guard_core::root::{Root, Symlinks};
use hanami_guard_core::Error;
use roots::each_resolver;

struct Tree {
    _tmp: tempfile::TempDir,
    base: std::path::PathBuf,
    outside: std::path::PathBuf,
}

fn tree() -> Tree {
    let tmp = tempfile::tempdir().expect("tempdir");
    let top = tmp.path().canonicalize().expect("canonical");
    let base = top.join("base");
    std::fs::create_dir_all(base.join("dir/sub")).expect("mkdir");
    std::fs::write(top.join("secret.txt"), "CANARY").expect("write");
    std::fs::write(base.join("a.txt"), "A").expect("write");
    std::fs::write(base.join("dir/b.txt"), "B").expect("write");
    for (name, target) in [
        ("link_in", "a.txt".to_owned()),
        ("dir_link", "dir".to_owned()),
        ("chain1", "dir/../chain2".to_owned()),
        ("chain2", "a.txt".to_owned()),
        ("dir/back", "../a.txt".to_owned()),
        ("out_rel", "../secret.txt".to_owned()),
        ("out_abs", top.join("secret.txt").display().to_string()),
        ("abs_inside", base.join("a.txt").display().to_string()),
        ("up_and_back", "../base/a.txt".to_owned()),
        ("loop1", "loop2".to_owned()),
        ("loop2", "loop1".to_owned()),
        ("dangling", "nowhere".to_owned()),
        ("proc_root", "/proc/self/root".to_owned()),
    ] {
        symlink(target, base.join(name)).expect("symlink");
    }
    Tree {
        _tmp: tmp,
        outside: top,
        base,
    }
}

fn roots(t: &Tree, symlinks: Symlinks) -> Vec<Root> {
    each_resolver(&t.base, symlinks)
        .into_iter()
        .map(|(_, root)| root)
        .collect()
}

fn errno(e: &Error) -> Option<i32> {
    e.errno()
}

#[test]
fn symlinks_that_stay_inside_are_followed() {
    let t = tree();
    for root in roots(&t, Symlinks::Confined) {
        for (path, want) in [
            ("link_in", "A"),
            ("dir_link/b.txt", "B"),
            ("chain1", "A"),
            ("dir/back", "A"),
        ] {
            let got = root.read(path.as_bytes(), None).expect(path);
            assert_eq!(got, want.as_bytes(), "{path} with {:?}", root.options());
        }
    }
}

#[test]
fn symlinks_that_leave_are_refused_as_escapes() {
    let t = tree();
    for root in roots(&t, Symlinks::Confined) {
        for path in [
            "out_rel",
            "out_abs",
            "abs_inside",
            "up_and_back",
            "proc_root/etc/hostname",
        ] {
            match root.read(path.as_bytes(), None) {
                Err(Error::PathEscape(_)) => {}
                other => panic!("{path} with {:?}: {other:?}", root.options()),
            }
        }
    }
    assert_eq!(
        std::fs::read_to_string(t.outside.join("secret.txt"))
            .ok()
            .as_deref(),
        Some("CANARY")
    );
}

#[test]
fn loops_and_dangling_links_raise_the_errno_file_would() {
    let t = tree();
    for root in roots(&t, Symlinks::Confined) {
        let e = root.read(b"loop1", None).expect_err("loop");
        assert_eq!(errno(&e), Some(libc::ELOOP), "{e:?}");
        let e = root.read(b"dangling", None).expect_err("dangling");
        assert_eq!(errno(&e), Some(libc::ENOENT), "{e:?}");
    }
}

#[test]
fn deny_refuses_every_symlink() {
    let t = tree();
    for root in roots(&t, Symlinks::Deny) {
        assert_eq!(root.read(b"dir/b.txt", None).expect("plain"), b"B");
        for path in ["link_in", "dir_link/b.txt", "dir/back"] {
            assert!(
                matches!(root.read(path.as_bytes(), None), Err(Error::PathEscape(_))),
                "{path}"
            );
        }
    }
}

#[test]
fn resolve_names_the_target_of_inside_links() {
    let t = tree();
    for root in roots(&t, Symlinks::Confined) {
        let want = t.base.join("dir/b.txt").display().to_string();
        assert_eq!(root.resolve(b"dir_link/b.txt").expect("resolve"), want);
        assert!(matches!(
            root.resolve(b"out_rel"),
            Err(Error::PathEscape(_))
        ));
    }
}

#[test]
fn a_subroot_cannot_follow_links_back_up() {
    let t = tree();
    for root in roots(&t, Symlinks::Confined) {
        let sub = root.subroot(b"dir").expect("subroot");
        assert!(matches!(sub.read(b"back", None), Err(Error::PathEscape(_))));
    }
}

#[test]
fn trailing_slashes_in_targets_decide_as_the_kernel_does() {
    let t = tree();
    symlink("a.txt/", t.base.join("slash")).expect("symlink");
    symlink("a.txt/.", t.base.join("slashdot")).expect("symlink");
    symlink("nowhere/", t.base.join("dangling_slash")).expect("symlink");
    for (resolver, root) in each_resolver(&t.base, Symlinks::Confined) {
        let errno = |r: hanami_guard_core::Result<()>| r.err().and_then(|e| e.errno());
        for path in ["slash", "slashdot", "a.txt/", "a.txt/."] {
            assert_eq!(
                errno(root.read(path.as_bytes(), None).map(drop)),
                Some(libc::ENOTDIR),
                "read {path} ({resolver:?})"
            );
        }
        for path in ["new/", "a.txt/", "slash", "dangling_slash", "dir/"] {
            assert_eq!(
                errno(root.open(path.as_bytes(), "w", 0o644).map(drop)),
                Some(libc::EISDIR),
                "open {path} w ({resolver:?})"
            );
        }
        assert!(!t.base.join("nowhere").exists() && !t.base.join("new").exists());
        assert_eq!(
            errno(root.resolve(b"slash").map(drop)),
            Some(libc::ENOTDIR),
            "resolve ({resolver:?})"
        );
    }
}
