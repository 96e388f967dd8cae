//! Which files a scan reads: Ruby sources under the given paths, never through a symlink that
//! leads out of the tree being scanned (a checkout must not make the scanner read /etc).

use std::fs;
use std::path::{Path, PathBuf};

use super::Skipped;

/// A file to analyse: where it is, and the name reports use for it.
pub(super) struct Source {
    pub real: PathBuf,
    pub display: String,
}

/// Directories no app keeps its own code in.
const SKIP_DIRS: &[&str] = &[".git", "node_modules", ".bundle"];

fn is_ruby(name: &str) -> bool {
    name.ends_with(".rb") || name.ends_with(".ru") || name.ends_with(".rake")
}

/// The name reports use: control characters escaped, so a file named with a newline or a
/// terminal escape cannot forge a line of the report.
fn display(path: &Path) -> String {
    let lossy = path.to_string_lossy();
    if !lossy.chars().any(char::is_control) {
        return lossy.into_owned();
    }
    lossy
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// Walks `roots`, handing each file to `found` as soon as it is found (the scan's workers start
/// on the first while the walk goes on), and returns what it skipped. A root that does not
/// exist is an error (the caller asked for it); anything below a root that cannot be read is
/// reported and skipped.
pub(super) fn collect(
    roots: &[PathBuf],
    mut found: impl FnMut(Source),
) -> crate::Result<Vec<Skipped>> {
    let mut skipped = Vec::new();
    for root in roots {
        let meta = fs::symlink_metadata(root)
            .map_err(|e| crate::Error::io(e, format!("cannot scan {}", display(root))))?;
        let canonical = fs::canonicalize(root)
            .map_err(|e| crate::Error::io(e, format!("cannot scan {}", display(root))))?;
        if meta.is_file() || (meta.file_type().is_symlink() && canonical.is_file()) {
            // Named on the command line: scanned whatever its extension.
            found(Source {
                real: canonical,
                display: display(root),
            });
            continue;
        }
        let boundary = canonical;
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            let mut entries: Vec<_> = match fs::read_dir(&dir) {
                Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
                Err(e) => {
                    skipped.push(Skipped::new(
                        display(&dir),
                        format!("cannot read directory: {e}"),
                    ));
                    continue;
                }
            };
            entries.sort_by_key(|e| e.file_name());
            // Reverse so that the stack pops directories in name order.
            let mut subdirs = Vec::new();
            for entry in entries {
                let path = entry.path();
                let name = entry.file_name().to_string_lossy().into_owned();
                let Ok(kind) = entry.file_type() else {
                    continue;
                };
                if kind.is_dir() {
                    if !SKIP_DIRS.contains(&name.as_str()) {
                        subdirs.push(path);
                    }
                } else if kind.is_symlink() {
                    match fs::canonicalize(&path) {
                        Err(_) => {
                            skipped.push(Skipped::new(display(&path), "broken symlink".into()))
                        }
                        Ok(target) if !target.starts_with(&boundary) => skipped.push(Skipped::new(
                            display(&path),
                            "symlink leads out of the scanned tree: not followed".into(),
                        )),
                        Ok(target) if target.is_file() && is_ruby(&name) => found(Source {
                            real: target,
                            display: display(&path),
                        }),
                        // A directory inside the tree is scanned where it really is.
                        Ok(_) => {}
                    }
                } else if kind.is_file() && is_ruby(&name) {
                    found(Source {
                        real: path.clone(),
                        display: display(&path),
                    });
                }
            }
            stack.extend(subdirs.into_iter().rev());
        }
    }
    Ok(skipped)
}
