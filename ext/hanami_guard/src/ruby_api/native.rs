//! `HanamiGuard::Native`: facts about the extension itself, and the test-only panic entry point.

use magnus::{function, prelude::*, Error, RModule, Ruby};

use crate::{errors, gvl};

/// Panics on purpose, inside the guard: the spec checks the process survives and gets a
/// `HanamiGuard::Error` that says it is a bug. Takes no input.
fn test_panic(ruby: &Ruby) -> Result<(), Error> {
    errors::guard(ruby, || {
        panic!("deliberate panic from HanamiGuard::Native.__test_panic")
    })
}

/// Panics on purpose inside the GVL-free region: the panic must be caught there too.
fn test_panic_without_gvl(ruby: &Ruby) -> Result<(), Error> {
    errors::guard(ruby, || {
        gvl::nogvl(ruby, || -> () {
            panic!("deliberate panic without the GVL")
        })
    })
}

/// Sleeps without the GVL until interrupted or `seconds` pass; returns whether it was cancelled.
/// Lets the specs prove `Thread#raise`/`Thread#kill` reach work running in `gvl.rs`.
fn test_wait_cancellable(ruby: &Ruby, seconds: f64) -> Result<bool, Error> {
    errors::guard(ruby, || {
        let cancel = hanami_guard_core::cancel::Cancel::new()
            .map_err(|e| errors::to_ruby(ruby, hanami_guard_core::Error::io(e, "eventfd")))?;
        let timeout = std::time::Duration::from_secs_f64(seconds.clamp(0.0, 60.0));
        gvl::nogvl_cancellable(ruby, &cancel, || {
            let deadline = std::time::Instant::now() + timeout;
            while !cancel.is_cancelled() && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            cancel.is_cancelled()
        })
    })
}

pub fn init(_ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let native = module.define_module("Native")?;
    native.define_singleton_method("__test_panic", function!(test_panic, 0))?;
    native.define_singleton_method(
        "__test_panic_without_gvl",
        function!(test_panic_without_gvl, 0),
    )?;
    native.define_singleton_method(
        "__test_wait_cancellable",
        function!(test_wait_cancellable, 1),
    )?;
    native.const_set("CORE_VERSION", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
