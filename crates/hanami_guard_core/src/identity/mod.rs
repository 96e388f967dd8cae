//! The `identity` capability. (Being built: see the issue tracker.)
