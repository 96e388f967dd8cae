//! The one place where work runs without Ruby's GVL.
//!
//! Blocking work (waiting for a child, reading a large file) must not stop every other Puma
//! thread, so it runs through [`nogvl`] or [`nogvl_until`]. The closures are `Send` and own or
//! borrow only Rust data: they cannot touch a Ruby object, because Ruby objects are not `Send`.
//! A panic inside is caught on this side of the C boundary and becomes a `HanamiGuard::Error`.
//!
//! When the waiting thread is interrupted (`Thread#raise`, `Thread#kill`, `Timeout.timeout`,
//! Ctrl-C), Ruby calls the unblocking function from another thread. For [`nogvl_until`] that
//! function signals a [`Cancel`] used as a wake-up: the work returns to us, and back under the
//! GVL the pending interrupt is delivered with `rb_thread_check_ints`, under `rb_protect`. If
//! it raises, the work's state is cleaned up (a command terminates and reaps its process
//! group) and Ruby's non-local exit happens after every Rust frame here has been dropped. If it
//! does not (Ruby also calls the unblocking function for `Thread#wakeup`, and for a signal
//! whose trap handler returns), the work resumes where it stopped: a wake-up is never taken as
//! a cancellation by itself. (It once was, and a command on a thread that Ruby woke for
//! nothing was killed with SIGTERM.)
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
    // SAFETY: `data` is the `&mut Work<F, R>` passed by `call_nogvl` below, alive for this whole call
    // and used by no one else while Ruby runs it.
    let work = unsafe { &mut *(data as *mut Work<F, R>) };
    if let Some(f) = work.f.take() {
        work.result = Some(catch_unwind(AssertUnwindSafe(f)));
    }
    std::ptr::null_mut()
}

/// The unblocking function. Async-signal-safe (Ruby may call it from a signal handler): it only
/// stores an atomic flag and writes to an eventfd; it never allocates, locks or panics.
unsafe extern "C" fn wake_up(data: *mut c_void) {
    // SAFETY: `data` is the `&Cancel` passed to `call_nogvl`, which outlives the call to
    // `rb_nogvl` during which Ruby may call this function.
    let wake = unsafe { &*(data as *const Cancel) };
    wake.cancel();
}

/// Runs `f` once without the GVL, with `wake` as the unblocking function's signal. Returns
/// `Err(f)`, untouched, when Ruby skipped it because an interrupt was already pending. Never
/// raises (RB_NOGVL_INTR_FAIL): pending interrupts are for [`check_ints`].
fn call_nogvl<F, R>(f: F, wake: Option<&Cancel>) -> Result<std::thread::Result<R>, F>
where
    F: FnOnce() -> R,
{
    let mut work = Work {
        f: Some(f),
        result: None,
    };
    let (ubf_fn, ubf_data): (Option<unsafe extern "C" fn(*mut c_void)>, *mut c_void) = match wake {
        Some(c) => (Some(wake_up), c as *const Cancel as *mut c_void),
        None => (None, std::ptr::null_mut()),
    };
    let flags = if wake.is_some() {
        RB_NOGVL_INTR_FAIL | RB_NOGVL_UBF_ASYNC_SAFE
    } else {
        RB_NOGVL_INTR_FAIL
    };
    // SAFETY: `call::<F, R>` matches the data pointer's type; `work` and the `Cancel` outlive
    // the call, which returns only after the work function has returned, or without running it
    // when an interrupt is pending. With RB_NOGVL_INTR_FAIL it never raises.
    unsafe {
        rb_nogvl(
            Some(call::<F, R>),
            &mut work as *mut Work<F, R> as *mut c_void,
            ubf_fn,
            ubf_data,
            flags as std::os::raw::c_int,
        );
    }
    match (work.f.take(), work.result) {
        (Some(f), _) => Err(f),
        (None, Some(result)) => Ok(result),
        // `call` always stores a result once it has taken the work.
        (None, None) => Ok(Err(Box::new(
            "the operation ran without the GVL but left no result",
        ))),
    }
}

/// Delivers an interrupt that arrived while the GVL was released (Thread#raise/kill, Ctrl-C,
/// a signal's trap handler). Under rb_protect, so a raise or kill becomes a magnus Error and
/// resumes in Ruby only after the Rust frames have been dropped.
fn check_ints() -> Result<(), Error> {
    magnus::rb_sys::protect(|| {
        // SAFETY: we hold the GVL; rb_thread_check_ints may raise, which rb_protect catches.
        unsafe { rb_thread_check_ints() };
        Qnil as VALUE
    })
    .map(|_| ())
}

fn panicked(ruby: &Ruby, payload: &(dyn std::any::Any + Send)) -> Error {
    errors::base_error(ruby, errors::panic_message(payload))
}

/// Runs `f` without the GVL. For short blocking work (file I/O) that needs no cancellation:
/// an interrupt arriving meanwhile is delivered when `f` returns.
pub fn nogvl<F, R>(ruby: &Ruby, f: F) -> Result<R, Error>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    let mut f = f;
    loop {
        // Ruby skips the work when an interrupt is pending as the GVL would be released. The
        // interrupt may be an exception (delivered here as a magnus Error) or only a thread
        // switch or a signal trap, after which the work is simply tried again.
        let result = call_nogvl(f, None);
        check_ints()?;
        match result {
            Ok(Ok(r)) => return Ok(r),
            Ok(Err(payload)) => return Err(panicked(ruby, payload.as_ref())),
            Err(skipped) => f = skipped,
        }
    }
}

/// Runs `step` on `state` without the GVL, again and again, until it returns `Some`.
///
/// The unblocking function only signals `wake`, and `step` returns `None` when woken. Ruby
/// calls that function for interrupts that raise (Thread#raise, Thread#kill, Timeout, Ctrl-C)
/// but also for some that do not (Thread#wakeup, a signal whose trap handler returns), so a
/// wake-up is only a question: between steps, with the GVL, pending interrupts are delivered.
/// If one raises, `on_raise` cleans up `state` (a command terminates and reaps its process
/// group) before the exception leaves; otherwise `wake` is reset and `step` resumes.
pub fn nogvl_until<T, R, S, C>(
    ruby: &Ruby,
    wake: &Cancel,
    state: &mut T,
    step: S,
    on_raise: C,
) -> Result<R, Error>
where
    T: Send,
    R: Send,
    S: Fn(&mut T, &Cancel) -> Option<R> + Sync,
    C: FnOnce(&mut T) + Send,
{
    loop {
        // Before the GVL is released: an interrupt arriving from here on either is seen by
        // rb_nogvl (which then skips the step) or calls the unblocking function.
        wake.reset();
        let result = call_nogvl(|| step(state, wake), Some(wake));
        if let Err(e) = check_ints() {
            // Clean up without the GVL if Ruby lets us (no other interrupt pending), else with
            // it: either way before the exception leaves.
            if let Err(cleanup) = call_nogvl(|| on_raise(state), None) {
                let _ = catch_unwind(AssertUnwindSafe(cleanup));
            }
            return Err(e);
        }
        match result {
            Ok(Ok(Some(r))) => return Ok(r),
            Ok(Err(payload)) => return Err(panicked(ruby, payload.as_ref())),
            Ok(Ok(None)) | Err(_) => {}
        }
    }
}
