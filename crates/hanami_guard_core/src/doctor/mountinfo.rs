//! `/proc/self/mountinfo` (proc(5)): one mount per line,
//!
//! ```text
//! 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//! (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
//! ```
//!
//! mount id, parent id, device, the root of the mount *within its filesystem* (for a bind
//! mount of a host directory, that directory's path on the host filesystem), the mount point,
//! per-mount options, optional fields up to `-`, filesystem type, source, superblock options.
//! Spaces, tabs, newlines and backslashes in paths are written as octal escapes (`\040`).

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Field 4: the directory of the filesystem that is mounted (`/` for a whole filesystem).
    pub root: String,
    /// Field 5: where it is mounted, as the container names it.
    pub mount_point: String,
    /// Field 6: per-mount options (`rw`/`ro` first).
    pub options: String,
    /// The filesystem type (`ext4`, `proc`, `cgroup2`, ...).
    pub fstype: String,
    /// The source (`/dev/sda1`, `overlay`, ...).
    pub source: String,
    /// Superblock options.
    pub super_options: String,
    /// The line as read, for evidence.
    pub line: String,
}

impl Mount {
    /// Writable: neither the mount nor its superblock is read-only.
    pub fn writable(&self) -> bool {
        let rw = |opts: &str| !opts.split(',').any(|o| o == "ro");
        rw(&self.options) && rw(&self.super_options)
    }

    /// Whether `path` (absolute) is the mount point or beneath it.
    pub fn covers(&self, path: &str) -> bool {
        beneath(path, &self.mount_point)
    }
}

/// Whether `path` is `dir` or lies beneath it, by whole components.
pub(crate) fn beneath(path: &str, dir: &str) -> bool {
    if dir == "/" {
        return path.starts_with('/');
    }
    match path.strip_prefix(dir) {
        Some(rest) => rest.is_empty() || rest.starts_with('/'),
        None => false,
    }
}

/// Every mount of the process, in the kernel's order (later entries are mounted over earlier
/// ones at the same point).
#[derive(Debug, Clone, Default)]
pub struct MountInfo {
    /// The mounts.
    pub mounts: Vec<Mount>,
}

/// Undoes the kernel's octal escapes (`\040` for a space); an escape that is not three octal
/// digits is kept as written.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() {
            let digits = &bytes[i + 1..i + 4];
            if digits.iter().all(|d| (b'0'..=b'7').contains(d)) {
                let v = (u32::from(digits[0] - b'0') << 6)
                    | (u32::from(digits[1] - b'0') << 3)
                    | u32::from(digits[2] - b'0');
                if let Ok(b) = u8::try_from(v) {
                    out.push(b);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl MountInfo {
    /// Parses the file; malformed lines are skipped (the kernel writes none).
    pub fn parse(text: &str) -> MountInfo {
        let mounts = text.lines().filter_map(parse_line).collect();
        MountInfo { mounts }
    }

    /// The mount that holds `path`: the longest mount point covering it, the latest on a tie.
    pub fn holding(&self, path: &str) -> Option<&Mount> {
        self.mounts
            .iter()
            .filter(|m| m.covers(path))
            .max_by_key(|m| m.mount_point.len())
            .and_then(|best| {
                self.mounts
                    .iter()
                    .rev()
                    .find(|m| m.mount_point == best.mount_point)
            })
    }
}

fn parse_line(line: &str) -> Option<Mount> {
    let fields: Vec<&str> = line.split(' ').collect();
    let dash = fields.iter().position(|f| *f == "-")?;
    if dash < 6 || fields.len() < dash + 4 {
        return None;
    }
    Some(Mount {
        root: unescape(fields[3]),
        mount_point: unescape(fields[4]),
        options: fields[5].to_owned(),
        fstype: fields[dash + 1].to_owned(),
        source: unescape(fields[dash + 2]),
        super_options: fields[dash + 3].to_owned(),
        line: line.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
1510 1312 0:88 / / rw,relatime master:564 - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
1511 1510 0:91 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1520 1511 0:91 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
1530 1510 254:1 /srv/my\\040files /data rw,relatime - ext4 /dev/vda1 rw
1531 1510 254:1 /srv/other /data rw,relatime - ext4 /dev/vda1 rw";

    #[test]
    fn parses_fields_and_escapes() {
        let info = MountInfo::parse(SAMPLE);
        assert_eq!(info.mounts.len(), 5);
        assert_eq!(info.mounts[3].root, "/srv/my files");
        assert_eq!(info.mounts[0].fstype, "overlay");
        assert!(!info.mounts[2].writable());
    }

    #[test]
    fn holding_takes_longest_then_latest() {
        let info = MountInfo::parse(SAMPLE);
        assert_eq!(
            info.holding("/proc/sys/kernel")
                .expect("a mount")
                .mount_point,
            "/proc/sys"
        );
        assert_eq!(
            info.holding("/proc/1").expect("a mount").mount_point,
            "/proc"
        );
        assert_eq!(info.holding("/data/x").expect("a mount").root, "/srv/other");
        assert_eq!(info.holding("/datax").expect("a mount").mount_point, "/");
    }

    #[test]
    fn malformed_lines_are_skipped() {
        assert!(MountInfo::parse("1 2 3\n\n- - -").mounts.is_empty());
    }
}
