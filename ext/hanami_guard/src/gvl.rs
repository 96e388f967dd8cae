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

use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};

use hanami_guard_core::cancel::Cancel;
use magnus::{Error, Ruby};
use rb_sys::{rb_thread_call_without_gvl, rb_thread_check_ints, Qnil, VALUE};

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
    // SAFETY: `call::<F, R>` matches the data pointer's type; `work` and the `Cancel` outlive
    // the call, which returns only after the work function has returned.
    unsafe {
        rb_thread_call_without_gvl(
            Some(call::<F, R>),
            &mut work as *mut Work<F, R> as *mut c_void,
            ubf_fn,
            ubf_data,
        );
    }
    // Deliver an interrupt that arrived while the GVL was released (Thread#raise/kill, Ctrl-C).
    // Under rb_protect, so a raise or kill becomes a magnus Error and resumes in Ruby only after
    // the Rust frames have been dropped.
    magnus::rb_sys::protect(|| {
        // SAFETY: we hold the GVL again; rb_thread_check_ints may raise, which rb_protect catches.
        unsafe { rb_thread_check_ints() };
        Qnil as VALUE
    })?;
    match work.result {
        Some(Ok(r)) => Ok(r),
        Some(Err(payload)) => Err(errors::base_error(
            ruby,
            errors::panic_message(payload.as_ref()),
        )),
        // Ruby skipped the call: an interrupt was already pending. check_ints above raised it;
        // if it did not, say so rather than return nothing.
        None => Err(errors::base_error(
            ruby,
            "the operation was interrupted before it started",
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
