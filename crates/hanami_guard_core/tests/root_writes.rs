//! Writing beneath a `Root`: atomic, never through a final symlink, never outside.

mod roots;

use std::os::unix::fs::symlink;

use hanami_guard_core::Error;
use roots::roots;

#[test]
fn write_replaces_atomically_and_refuses_a_final_symlink() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    std::fs::create_dir_all(base.join("up")).expect("mkdir");
    std::fs::write(tmp.path().join("secret"), "CANARY").expect("write");
    symlink("../secret", base.join("link_out")).expect("symlink");
    symlink("up", base.join("up_link")).expect("symlink");
    for root in roots(&base) {
        root.write(b"up/x.bin", b"one", 0o644, false)
            .expect("write");
        root.write(b"up_link/x.bin", b"two", 0o644, false)
            .expect("write via an inside dir link");
        assert_eq!(std::fs::read(base.join("up/x.bin")).expect("read"), b"two");
        assert!(matches!(
            root.write(b"link_out", b"PWNED", 0o644, false),
            Err(Error::PathEscape(_))
        ));
        assert!(matches!(
            root.write(b"../secret", b"PWNED", 0o644, false),
            Err(Error::PathEscape(_))
        ));
        assert_eq!(
            std::fs::read_to_string(tmp.path().join("secret")).expect("read"),
            "CANARY"
        );
        let leftovers: Vec<_> = std::fs::read_dir(base.join("up"))
            .expect("ls")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }
}

#[test]
fn mkdir_p_creates_inside_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    std::fs::create_dir_all(&base).expect("mkdir");
    symlink("..", base.join("parent")).expect("symlink");
    for root in roots(&base) {
        root.mkdir_p(b"a/b/c", 0o755).expect("mkdir_p");
        assert!(base.join("a/b/c").is_dir());
        assert!(matches!(
            root.mkdir_p(b"parent/escaped", 0o755),
            Err(Error::PathEscape(_))
        ));
        assert!(!tmp.path().join("escaped").exists());
    }
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

#[test]
fn write_never_moves_privilege() {
    use std::os::unix::fs::{chown, PermissionsExt};
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: needs root to plant a file owned by another user");
        return;
    }
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    let planted = base.join("avatar.png");
    let set = |p: &std::path::Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod")
    };
    for root in roots(base) {
        std::fs::write(&planted, "planted").expect("write");
        chown(&planted, Some(65534), Some(65534)).expect("chown");
        set(&planted, 0o6755);
        assert!(matches!(
            root.write(b"avatar.png", b"request", 0o644, false),
            Err(Error::Path(_))
        ));
        assert_eq!(mode(&planted), 0o6755);
        assert_eq!(std::fs::read(&planted).expect("read"), b"planted");
        root.write(b"avatar.png", b"request", 0o644, true)
            .expect("replace when told to");
        assert_eq!(mode(&planted), 0o755);
        assert_eq!(std::fs::read(&planted).expect("read"), b"request");

        // The writer's own file keeps its bits; a second hard link to it does not.
        set(&planted, 0o4750);
        root.write(b"avatar.png", b"again", 0o644, false)
            .expect("own file");
        assert_eq!(mode(&planted), 0o4750);
        let link = base.join("link.png");
        std::fs::hard_link(&planted, &link).expect("link");
        root.write(b"link.png", b"linked", 0o644, false)
            .expect("own link");
        assert_eq!(mode(&link), 0o750);
        assert_eq!(mode(&planted), 0o4750);
        std::fs::remove_file(&link).expect("rm");
    }
}

#[test]
fn store_names_by_content_and_never_overwrites() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path();
    for root in roots(base) {
        let a = root
            .store(b"cat one", Some(b".PNG"), &["png"], 0o644)
            .expect("store");
        let b = root
            .store(b"cat two", Some(b"png"), &["png"], 0o644)
            .expect("store");
        assert_ne!(a, b);
        assert!(a.ends_with(".png") && a.len() == 64 + 4);
        assert_eq!(
            root.store(b"cat one", Some(b"png"), &["png"], 0o644)
                .expect("again"),
            a
        );
        let php = root
            .store(b"<?php", Some(b"php"), &["png"], 0o644)
            .expect("store");
        assert_eq!(php.len(), 64);
        std::fs::write(base.join(&a), "tampered").expect("write");
        let err = root
            .store(b"cat one", Some(b"png"), &["png"], 0o644)
            .expect_err("different content");
        assert_eq!(err.errno(), Some(libc::EEXIST));
        assert_eq!(std::fs::read(base.join(&a)).expect("read"), b"tampered");
        std::fs::remove_file(base.join(&a)).expect("rm");
    }
}
