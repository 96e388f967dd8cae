//! `..` beneath a `Root`: allowed while it stays inside, refused (never clamped) above the base.

mod roots;

use hanami_guard_core::root::Symlinks;
use hanami_guard_core::Error;
use roots::each_resolver;

#[test]
fn dotdot_inside_is_fine_and_above_the_base_is_an_escape() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let base = tmp.path().join("base");
    std::fs::create_dir_all(base.join("a/b")).expect("mkdir");
    std::fs::create_dir_all(tmp.path().join("base_evil")).expect("mkdir");
    std::fs::write(base.join("x.txt"), "X").expect("write");
    std::fs::write(tmp.path().join("base_evil/x.txt"), "CANARY").expect("write");
    for (resolver, root) in each_resolver(&base, Symlinks::Confined) {
        for ok in ["a/../x.txt", "a/b/../../x.txt", "./a/./../x.txt"] {
            assert_eq!(root.read(ok.as_bytes(), None).expect(ok), b"X");
        }
        for bad in [
            "..",
            "../x.txt",
            "a/../../x.txt",
            "../base/x.txt",
            "../base_evil/x.txt",
        ] {
            assert!(
                matches!(root.read(bad.as_bytes(), None), Err(Error::PathEscape(_))),
                "{bad} with {resolver:?}"
            );
        }
    }
}
