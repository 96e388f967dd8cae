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

/// Everything the extension allocates (a certificate's DER and fields, the wrapped values, the
/// scratch of a parse) comes from mimalloc rather than the C library's malloc, which Ruby and
/// OpenSSL share: in a process whose malloc heap OpenSSL has fragmented (a Puma server holding
/// its peers' certificates), freeing a parsed certificate during Ruby's sweep missed the cache
/// at every chunk, and a parse cost a quarter to a third more than in a fresh process
/// (BENCHMARKS.md). Nothing allocated here is freed by C, nor the reverse: Ruby copies what it
/// is given.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use magnus::{Error, Ruby};

#[magnus::init]
fn init(ruby: &Ruby) -> Result<(), Error> {
    errors::init(ruby)?;
    let module = ruby.define_module("HanamiGuard")?;
    ruby_api::init(ruby, module)
}
