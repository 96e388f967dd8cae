//! `HanamiGuard::Native.__test_*`, compiled only with the cargo feature `test-hooks` (the
//! specs' build: see `ext/hanami_guard/Cargo.toml`). None takes input beyond a duration, and
//! each can only raise `HanamiGuard::Error`, but a shipped gem has no use for them.

use std::sync::atomic::{AtomicUsize, Ordering};

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

/// How many `__test_wait_cancellable` calls have Rust frames alive: a frame that Ruby's
/// non-local exit skipped never drops its [`LiveWait`], so the count stays up.
static LIVE_WAITS: AtomicUsize = AtomicUsize::new(0);

struct LiveWait;

impl LiveWait {
    fn new() -> Self {
        LIVE_WAITS.fetch_add(1, Ordering::SeqCst);
        LiveWait
    }
}

impl Drop for LiveWait {
    fn drop(&mut self) {
        LIVE_WAITS.fetch_sub(1, Ordering::SeqCst);
    }
}

fn test_live_waits() -> usize {
    LIVE_WAITS.load(Ordering::SeqCst)
}

/// Sleeps without the GVL for `seconds`, unless an interrupt raises; returns how many times it
/// was woken by one that did not (Thread#wakeup), each time resuming. Lets the specs prove
/// `Thread#raise`/`Thread#kill` reach work running in `gvl.rs`, that a wake-up alone does not
/// end it, and (through [`LIVE_WAITS`]) that the interrupt is delivered only after this frame
/// has been dropped.
fn test_wait_cancellable(ruby: &Ruby, seconds: f64) -> Result<usize, Error> {
    let _live = LiveWait::new();
    errors::guard(ruby, || {
        let wake = hanami_guard_core::cancel::Cancel::new()
            .map_err(|e| errors::to_ruby(ruby, hanami_guard_core::Error::io(e, "eventfd")))?;
        let timeout = std::time::Duration::from_secs_f64(seconds.clamp(0.0, 60.0));
        let mut state = (std::time::Instant::now() + timeout, 0usize);
        gvl::nogvl_until(
            ruby,
            &wake,
            &mut state,
            |(deadline, wakes), wake| {
                while std::time::Instant::now() < *deadline {
                    if wake.is_cancelled() {
                        *wakes += 1;
                        return None; // woken: Ruby decides whether this was an interrupt
                    }
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Some(*wakes)
            },
            |_| {},
        )
    })
}

/// Defines the hooks on `HanamiGuard::Native`.
pub fn init(native: RModule) -> Result<(), Error> {
    native.define_singleton_method("__test_panic", function!(test_panic, 0))?;
    native.define_singleton_method(
        "__test_panic_without_gvl",
        function!(test_panic_without_gvl, 0),
    )?;
    native.define_singleton_method(
        "__test_wait_cancellable",
        function!(test_wait_cancellable, 1),
    )?;
    native.define_singleton_method("__test_live_waits", function!(test_live_waits, 0))?;
    Ok(())
}
