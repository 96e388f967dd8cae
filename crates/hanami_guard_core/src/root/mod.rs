//! The `root` capability. (Being built: see the issue tracker.)
