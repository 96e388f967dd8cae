//! Ruby bindings for `hanami_guard_core`, built with magnus.
//!
//! This crate converts values and errors and nothing else: the logic lives in the core crate.
//! One file per Ruby class under `ruby_api/`. Every entry point runs inside [`errors::guard`],
//! so a Rust panic becomes a `HanamiGuard::Error` instead of unwinding into Ruby, and blocking
//! work runs through [`gvl`] without the GVL.

// The core refuses non-Linux targets with its own message; say it here too, first, so the
// gem's build log leads with the reason rather than with the core's dependencies failing.
#[cfg(not(target_os = "linux"))]
compile_error!("hanami_guard supports Linux only (openat2, Landlock): build it on Linux.");

mod errors;
mod gvl;
mod ruby_api;

use magnus::{Error, Ruby};

#[magnus::init]
fn init(ruby: &Ruby) -> Result<(), Error> {
    errors::init(ruby)?;
    let module = ruby.define_module("HanamiGuard")?;
    ruby_api::init(ruby, module)
}
