//! The same base opened with each resolver, for the `root_*` tests: the kernel's
//! `openat2(RESOLVE_BENEATH)` (where the kernel has it) and the userspace walk must answer alike.

// Each test binary compiles this module and uses only part of it.
#![allow(dead_code)]

use std::path::Path;

use hanami_guard_core::root::{Options, Resolver, Root, Symlinks};

/// `base` opened once per resolver with the given symlink policy, each with its resolver.
pub fn each_resolver(base: &Path, symlinks: Symlinks) -> Vec<(Resolver, Root)> {
    [Resolver::Auto, Resolver::Walk]
        .into_iter()
        .map(|resolver| {
            let options = Options {
                symlinks,
                resolver,
                ..Options::default()
            };
            (resolver, Root::new(base, options).expect("root"))
        })
        .collect()
}

/// `base` opened once per resolver, with the default options otherwise.
pub fn roots(base: &Path) -> Vec<Root> {
    each_resolver(base, Symlinks::Confined)
        .into_iter()
        .map(|(_, root)| root)
        .collect()
}
