//! Inputs refused before any system call: empty, NUL, too long, absolute, backslash, drive
//! letter, invalid UTF-8. They are `Error::Path`, not escapes.

use hanami_guard_core::root::{Options, Root};
use hanami_guard_core::Error;

#[test]
fn malformed_paths_are_path_errors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = Root::new(tmp.path(), Options::default()).expect("root");
    let long = vec![b'a'; 5000];
    let inputs: [&[u8]; 8] = [
        b"",
        b"a\0b",
        b"a.png\0.txt",
        b"/etc/passwd",
        b"..\\..\\boot.ini",
        b"C:/windows/win.ini",
        b"\xff\xfe",
        &long,
    ];
    for input in inputs {
        assert!(
            matches!(root.read(input, None), Err(Error::Path(_))),
            "{input:?}"
        );
        assert!(matches!(
            root.write(input, b"x", 0o644, false),
            Err(Error::Path(_))
        ));
        assert!(matches!(root.resolve(input), Err(Error::Path(_))));
    }
}

#[test]
fn a_missing_or_non_directory_base_is_a_configuration_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let file = tmp.path().join("f");
    std::fs::write(&file, "x").expect("write");
    assert!(matches!(
        Root::new(tmp.path().join("missing"), Options::default()),
        Err(Error::Configuration(_))
    ));
    assert!(matches!(
        Root::new(&file, Options::default()),
        Err(Error::Configuration(_))
    ));
}
