//! The `policy` capability. (Being built: see the issue tracker.)
