//! Writing beneath a `Root`: atomic, never through a final symlink, never outside.

use std::os::unix::fs::symlink;

use hanami_guard_core::root::{Options, Resolver, Root};
use hanami_guard_core::Error;

#[test]
fn write_replaces_atomically_and_refuses_a_final_symlink() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    std::fs::create_dir_all(base.join("up")).expect("mkdir");
    std::fs::write(tmp.path().join("secret"), "CANARY").expect("write");
    symlink("../secret", base.join("link_out")).expect("symlink");
    symlink("up", base.join("up_link")).expect("symlink");
    for resolver in [Resolver::Auto, Resolver::Walk] {
        let root = Root::new(
            &base,
            Options {
                resolver,
                ..Options::default()
            },
        )
        .expect("root");
        root.write(b"up/x.bin", b"one", 0o644).expect("write");
        root.write(b"up_link/x.bin", b"two", 0o644)
            .expect("write via an inside dir link");
        assert_eq!(std::fs::read(base.join("up/x.bin")).expect("read"), b"two");
        assert!(matches!(
            root.write(b"link_out", b"PWNED", 0o644),
            Err(Error::PathEscape(_))
        ));
        assert!(matches!(
            root.write(b"../secret", b"PWNED", 0o644),
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
    for resolver in [Resolver::Auto, Resolver::Walk] {
        let root = Root::new(
            &base,
            Options {
                resolver,
                ..Options::default()
            },
        )
        .expect("root");
        root.mkdir_p(b"a/b/c", 0o755).expect("mkdir_p");
        assert!(base.join("a/b/c").is_dir());
        assert!(matches!(
            root.mkdir_p(b"parent/escaped", 0o755),
            Err(Error::PathEscape(_))
        ));
        assert!(!tmp.path().join("escaped").exists());
    }
}
