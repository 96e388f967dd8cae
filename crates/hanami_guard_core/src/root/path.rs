//! The input side of a [`Root`](super::Root): which relative paths are accepted at all.
//!
//! Everything here is lexical and happens before any system call. The checks refuse the forms
//! that could mean something else to another layer: a NUL byte (C strings end there, so
//! `"a.png\0.txt"` would open `a.png`), an absolute path (it ignores the base), a backslash or a
//! drive letter (a Windows-shaped path must never be read as a different POSIX path), and bytes
//! that are not UTF-8 (a second decoding could turn them into separators). Whether the path then
//! stays inside the base is decided by the resolver, by the kernel where it can.

use std::borrow::Cow;

use crate::error::{excerpt, excerpt_bytes, key, Error, Field, Result};

/// Longest path accepted, in bytes: Linux's `PATH_MAX` counts the terminating NUL.
pub const PATH_MAX: usize = 4096;

/// How much of a path an error message may quote.
const EXCERPT_CHARS: usize = 120;

/// A relative path that passed the lexical checks: non-empty, no NUL, shorter than
/// `PATH_MAX`, UTF-8, not absolute, no backslash, no drive letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelPath<'a>(&'a str);

impl<'a> RelPath<'a> {
    /// Checks `raw` and borrows it as a [`RelPath`], or says what is wrong with it
    /// ([`Error::Path`]).
    pub fn parse(raw: &'a [u8]) -> Result<Self> {
        if raw.is_empty() {
            return Err(Error::path(
                "the path is empty: give a path relative to the root, such as \"css/app.css\", \
                 or \".\" for the root itself"
                    .to_owned(),
            )
            .check("empty"));
        }
        if raw.len() >= PATH_MAX {
            return Err(Error::path(format!(
                "the path is {} bytes long, over the limit of {} (PATH_MAX): refuse it before \
                 it reaches the root",
                raw.len(),
                PATH_MAX - 1
            ))
            .check("too_long")
            .with(key::PATH, Field::Text(excerpt_bytes(raw, EXCERPT_CHARS))));
        }
        if raw.contains(&0) {
            return Err(Error::path(format!(
                "the path \"{}\" contains a NUL byte, which would cut it short: refuse the input",
                excerpt(&String::from_utf8_lossy(raw), EXCERPT_CHARS)
            ))
            .check("nul")
            .with(key::PATH, Field::Text(excerpt_bytes(raw, EXCERPT_CHARS))));
        }
        let text = std::str::from_utf8(raw).map_err(|_| {
            Error::path(format!(
                "the path \"{}\" is not valid UTF-8: refuse the input (decode it once, as UTF-8)",
                excerpt(&String::from_utf8_lossy(raw), EXCERPT_CHARS)
            ))
            .check("not_utf8")
            .with(key::PATH, Field::Text(excerpt_bytes(raw, EXCERPT_CHARS)))
        })?;
        if text.starts_with('/') {
            return Err(Error::path(format!(
                "the path \"{}\" is absolute: give a path relative to the root",
                excerpt(text, EXCERPT_CHARS)
            ))
            .check("absolute")
            .with(key::PATH, Field::Text(excerpt(text, EXCERPT_CHARS))));
        }
        if text.contains('\\') {
            return Err(Error::path(format!(
                "the path \"{}\" contains a backslash: use \"/\" between names (a Windows-shaped \
                 path is refused so it never means something else)",
                excerpt(text, EXCERPT_CHARS)
            ))
            .check("backslash")
            .with(key::PATH, Field::Text(excerpt(text, EXCERPT_CHARS))));
        }
        let bytes = text.as_bytes();
        if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
            return Err(Error::path(format!(
                "the path \"{}\" starts with a drive letter: give a path relative to the root",
                excerpt(text, EXCERPT_CHARS)
            ))
            .check("drive_letter")
            .with(key::PATH, Field::Text(excerpt(text, EXCERPT_CHARS))));
        }
        Ok(RelPath(text))
    }

    /// The path as given.
    pub fn as_str(&self) -> &'a str {
        self.0
    }

    /// Whether it ends with `/` (or `/.`), which asks for a directory.
    pub fn wants_directory(&self) -> bool {
        self.0.ends_with('/') || self.0.ends_with("/.") || self.0 == "."
    }

    /// The names in order, without empty names and `.` (`..` is kept: only the resolver knows
    /// where it leads).
    pub fn components(&self) -> impl DoubleEndedIterator<Item = &'a str> {
        self.0.split('/').filter(|c| !c.is_empty() && *c != ".")
    }

    /// The lexical form used in messages and logs (`path-clean`: `a/./b/../c` is `a/c`),
    /// shortened. It is only a description: resolution never uses it.
    /// The path as given, escaped and cut short for an error's details.
    pub fn excerpt(&self) -> String {
        excerpt(self.0, EXCERPT_CHARS)
    }

    /// The path as given, cleaned lexically, escaped and cut short, for a message.
    pub fn display(&self) -> String {
        let cleaned = path_clean::clean(self.0);
        let text: Cow<'_, str> = cleaned.to_string_lossy();
        excerpt(&text, EXCERPT_CHARS)
    }

    /// Splits off the last name: `("uploads/2026", "x.bin")`. The parent is `"."` for a bare
    /// name. `None` when the path does not end in a plain name (`"a/.."`, `"."`, `"a/"`).
    pub fn split_last(&self) -> Option<(&'a str, &'a str)> {
        if self.0.ends_with('/') {
            return None;
        }
        let (parent, name) = match self.0.rfind('/') {
            Some(i) => (&self.0[..i], &self.0[i + 1..]),
            None => (".", self.0),
        };
        if name == "." || name == ".." || name.is_empty() {
            return None;
        }
        let parent = if parent.is_empty() { "." } else { parent };
        Some((parent, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &[u8]) -> String {
        match RelPath::parse(raw) {
            Err(Error::Path(m)) => m.message().to_owned(),
            other => panic!("expected a PathError for {raw:?}, got {other:?}"),
        }
    }

    #[test]
    fn plain_relative_paths_pass() {
        for p in [
            "a", "a/b.txt", "./a", "a/../b", "..", "a/", ".", "...", "ab:c",
        ] {
            assert!(RelPath::parse(p.as_bytes()).is_ok(), "{p}");
        }
    }

    #[test]
    fn bad_forms_are_refused_with_a_reason() {
        assert!(refused(b"").contains("empty"));
        assert!(refused(b"a\0b").contains("NUL"));
        assert!(refused(b"/etc/passwd").contains("absolute"));
        assert!(refused(b"..\\..\\win.ini").contains("backslash"));
        assert!(refused(b"C:/x").contains("drive letter"));
        assert!(refused(b"c:x").contains("drive letter"));
        assert!(refused(b"a\xff").contains("UTF-8"));
        assert!(refused(&vec![b'a'; PATH_MAX]).contains("PATH_MAX"));
    }

    #[test]
    fn messages_never_carry_the_whole_input() {
        let long = format!("/{}", "x".repeat(1000));
        assert!(refused(long.as_bytes()).len() < 300);
    }

    #[test]
    fn split_last_names_the_parent() {
        let p = |s: &'static str| {
            RelPath::parse(s.as_bytes())
                .ok()
                .and_then(|r| r.split_last())
        };
        assert_eq!(p("x.bin"), Some((".", "x.bin")));
        assert_eq!(p("a/b/x.bin"), Some(("a/b", "x.bin")));
        assert_eq!(p("a/.."), None);
        assert_eq!(p("a/"), None);
        assert_eq!(p("."), None);
    }

    #[test]
    fn display_is_lexical() {
        let r = RelPath::parse(b"a/./b/../c").ok();
        assert_eq!(r.map(|r| r.display()).as_deref(), Some("a/c"));
    }
}
