//! The one place where work runs without Ruby's GVL.
//!
//! Blocking work (waiting for a child, reading a large file) must not stop every other Puma
//! thread, so it runs through [`nogvl`] or [`nogvl_cancellable`]. The closures are `Send` and
//! own their inputs: they cannot touch a Ruby object, because Ruby objects are not `Send`.
//! A panic inside is caught on this side of the C boundary and becomes a `HanamiGuard::Error`.
//!
//! When the waiting thread is interrupted (`Thread#raise`, `Thread#kill`, `Timeout.timeout`,
//! Ctrl-C), Ruby calls the unblocking function from another thread. For
//! [`nogvl_cancellable`] that function signals a [`Cancel`]: the work sees it, cleans up (a
//! command kills and reaps its process group) and returns. Back under the GVL, the pending
//! interrupt is delivered with `rb_thread_check_ints`, under `rb_protect`, so Ruby's non-local
//! exit happens after every Rust frame here has been dropped.
//!
//! The GVL is released with `rb_nogvl(..., RB_NOGVL_INTR_FAIL | RB_NOGVL_UBF_ASYNC_SAFE)`, not
//! `rb_thread_call_without_gvl`: the latter checks interrupts itself, before the work starts and
//! again after it returns, and raises straight out of the C call, which would skip every Rust
//! frame above it (their buffers were leaked; valgrind found it). With `INTR_FAIL` Ruby only
//! skips the work when an interrupt is already pending, and leaves delivering it to us. Without
//! `UBF_ASYNC_SAFE`, Ruby 3.1 runs the unblocking function of the main thread from a helper
//! thread it starts, then kills and joins, and that join raises the pending interrupt out of
//! `rb_nogvl` all the same. Our unblocking function is async-signal-safe (an atomic store and a
//! `write(2)` to an eventfd), so Ruby may call it from its signal handler instead.

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use hanami_guard_core::cancel::Cancel;
use magnus::{Error, Ruby};
use rb_sys::{
    rb_nogvl, rb_thread_check_ints, Qnil, RB_NOGVL_INTR_FAIL, RB_NOGVL_UBF_ASYNC_SAFE, VALUE,
};

use crate::errors;

struct Work<F, R> {
    f: Option<F>,
    result: Option<std::thread::Result<R>>,
}

unsafe extern "C" fn call<F, R>(data: *mut c_void) -> *mut c_void
where
    F: FnOnce() -> R,
{
    // SAFETY: `data` is the `&mut Work<F, R>` passed by `run` below, alive for this whole call
    // and used by no one else while Ruby runs it.
    let work = unsafe { &mut *(data as *mut Work<F, R>) };
    if let Some(f) = work.f.take() {
        work.result = Some(catch_unwind(AssertUnwindSafe(f)));
    }
    std::ptr::null_mut()
}

/// The unblocking function. Async-signal-safe (Ruby may call it from a signal handler): it only
/// stores an atomic flag and writes to an eventfd; it never allocates, locks or panics.
unsafe extern "C" fn cancel(data: *mut c_void) {
    // SAFETY: `data` is the `&Cancel` passed by `nogvl_cancellable`, which outlives the call to
    // `rb_thread_call_without_gvl` during which Ruby may call this function.
    let cancel = unsafe { &*(data as *const Cancel) };
    cancel.cancel();
}

fn run<F, R>(ruby: &Ruby, f: F, ubf: Option<&Cancel>) -> Result<R, Error>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let mut work = Work {
        f: Some(f),
        result: None,
    };
    let (ubf_fn, ubf_data): (Option<unsafe extern "C" fn(*mut c_void)>, *mut c_void) = match ubf {
        Some(c) => (Some(cancel), c as *const Cancel as *mut c_void),
        None => (None, std::ptr::null_mut()),
    };
    let flags = if ubf.is_some() {
        RB_NOGVL_INTR_FAIL | RB_NOGVL_UBF_ASYNC_SAFE
    } else {
        RB_NOGVL_INTR_FAIL
    };
    // Ruby skips the work when an interrupt is pending as the GVL would be released. The
    // interrupt may be an exception (delivered below, under rb_protect, as a magnus Error) or
    // only a thread switch or a signal trap, after which the work is simply tried again.
    loop {
        // SAFETY: `call::<F, R>` matches the data pointer's type; `work` and the `Cancel`
        // outlive the call, which returns only after the work function has returned, or without
        // running it when an interrupt is pending. With RB_NOGVL_INTR_FAIL it never raises.
        unsafe {
            rb_nogvl(
                Some(call::<F, R>),
                &mut work as *mut Work<F, R> as *mut c_void,
                ubf_fn,
                ubf_data,
                flags as std::os::raw::c_int,
            );
        }
        // Deliver an interrupt that arrived while the GVL was released (Thread#raise/kill,
        // Ctrl-C). Under rb_protect, so a raise or kill becomes a magnus Error and resumes in
        // Ruby only after the Rust frames have been dropped.
        magnus::rb_sys::protect(|| {
            // SAFETY: we hold the GVL again; rb_thread_check_ints may raise, which rb_protect
            // catches.
            unsafe { rb_thread_check_ints() };
            Qnil as VALUE
        })?;
        if work.f.is_none() {
            break;
        }
    }
    match work.result {
        Some(Ok(r)) => Ok(r),
        Some(Err(payload)) => Err(errors::base_error(
            ruby,
            errors::panic_message(payload.as_ref()),
        )),
        // `call` always stores a result once it has taken the work; unreachable.
        None => Err(errors::base_error(
            ruby,
            "the operation ran without the GVL but left no result (a bug)",
        )),
    }
}

/// Runs `f` without the GVL. For short blocking work (file I/O) that needs no cancellation:
/// an interrupt arriving meanwhile is delivered when `f` returns.
pub fn nogvl<F, R>(ruby: &Ruby, f: F) -> Result<R, Error>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    run(ruby, f, None)
}

/// Runs `f` without the GVL; if the calling Ruby thread is interrupted meanwhile, `cancel` is
/// signalled so `f` can clean up and return early. The interrupt is then delivered.
pub fn nogvl_cancellable<F, R>(ruby: &Ruby, cancel: &Cancel, f: F) -> Result<R, Error>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    run(ruby, f, Some(cancel))
}
