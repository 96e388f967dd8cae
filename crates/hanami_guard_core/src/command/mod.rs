//! The `command` capability. (Being built: see the issue tracker.)
