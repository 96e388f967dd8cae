//! `Root.safe_name`: a file name for an upload that no input can turn into a path.

use crate::error::{Error, Result};

/// Longest extension kept.
const MAX_EXTENSION: usize = 16;

/// A safe, collision-resistant file name for `original`: the lowercase hex SHA-256 of its bytes,
/// plus its extension when that extension (compared case-insensitively) is in `extensions`.
/// Nothing of the original but an allowlisted extension survives, so the result never holds a
/// `/`, a `..`, a NUL, a leading dot or a double extension (`x.php.png` keeps only `.png`, and
/// only if `png` is allowed). The same name always gives the same result; mix something unique
/// into `original` (an upload id) when two uploads may share a name.
pub fn safe_name<S: AsRef<str>>(original: &[u8], extensions: &[S]) -> Result<String> {
    if original.is_empty() {
        return Err(Error::path(
            "the file name is empty: give the uploaded file's original name".to_owned(),
        )
        .check("empty"));
    }
    let digest = ring::digest::digest(&ring::digest::SHA256, original);
    let mut out: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    if let Some(ext) = extension(original).and_then(|e| allowlisted(e.as_bytes(), extensions)) {
        out.push('.');
        out.push_str(&ext);
    }
    Ok(out)
}

/// `ext` (with or without its leading dot), lowercase, when it is 1-16 ASCII letters or digits
/// and in `extensions` (compared case-insensitively); `None` otherwise. The one rule for what
/// survives of an upload's name, shared by [`safe_name`] and [`Root::store`](super::Root::store).
pub(crate) fn allowlisted<S: AsRef<str>>(ext: &[u8], extensions: &[S]) -> Option<String> {
    let ext = ext.strip_prefix(b".").unwrap_or(ext);
    if ext.is_empty() || ext.len() > MAX_EXTENSION || !ext.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let ext = String::from_utf8_lossy(ext).to_ascii_lowercase();
    extensions
        .iter()
        .any(|e| {
            let e = e.as_ref();
            e.strip_prefix('.').unwrap_or(e).eq_ignore_ascii_case(&ext)
        })
        .then_some(ext)
}

/// The lowercase extension of the last name in `original` (after the last `/` or `\`), when it
/// is 1-16 ASCII letters or digits and the name has a stem.
fn extension(original: &[u8]) -> Option<String> {
    let base = original
        .rsplit(|b| *b == b'/' || *b == b'\\')
        .next()
        .unwrap_or(original);
    let dot = base.iter().rposition(|b| *b == b'.')?;
    if dot == 0 {
        return None;
    }
    let ext = &base[dot + 1..];
    if ext.is_empty() || ext.len() > MAX_EXTENSION || !ext.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    Some(String::from_utf8_lossy(ext).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGES: &[&str] = &["png", "JPG"];

    #[test]
    fn keeps_only_an_allowlisted_extension() {
        let name = safe_name(b"../../etc/passwd.PNG", IMAGES).unwrap_or_default();
        assert_eq!(name.len(), 64 + 4);
        assert!(name.ends_with(".png"));
        assert!(name[..64].chars().all(|c| c.is_ascii_hexdigit()));
        let jpg = safe_name(b"a.jpg", IMAGES).unwrap_or_default();
        assert!(jpg.ends_with(".jpg"));
        assert_eq!(
            safe_name(b"shell.php", IMAGES).map(|n| n.len()).ok(),
            Some(64)
        );
        assert_eq!(
            safe_name(b"x.png.php", IMAGES).map(|n| n.len()).ok(),
            Some(64)
        );
        assert_eq!(safe_name(b".png", IMAGES).map(|n| n.len()).ok(), Some(64));
        assert_eq!(safe_name(b"x.png/", IMAGES).map(|n| n.len()).ok(), Some(64));
    }

    #[test]
    fn different_names_give_different_results_and_same_names_the_same() {
        let a = safe_name(b"a.png", IMAGES).ok();
        assert_ne!(a, safe_name(b"b.png", IMAGES).ok());
        assert_eq!(a, safe_name(b"a.png", IMAGES).ok());
    }

    #[test]
    fn empty_is_refused() {
        assert!(matches!(safe_name(b"", IMAGES), Err(Error::Path(_))));
    }
}
