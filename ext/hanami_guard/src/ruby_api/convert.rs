//! Conversions shared by the bindings: Ruby Strings in and out, and closed sets.
//!
//! A closed set (an allow kind, a mode, a resolver) crosses the boundary as a name. The binding
//! maps it with [`closed_set`], which knows every member and refuses anything else: a typo
//! between the facade and the binding must fail loudly, never fall back to a permissive default.

use std::sync::OnceLock;

use magnus::rb_sys::{AsRawValue, FromRawValue};
use magnus::typed_data::TypedData;
use magnus::value::Opaque;
use magnus::{prelude::*, Error, RArray, RString, Ruby, TryConvert, Value};

use crate::errors;

/// The member of `known` named `given`, or a `HanamiGuard::ConfigurationError` that names
/// `what`, lists the accepted names, and carries the keyword it is about as its `option`.
pub fn closed_set<T: Copy>(
    ruby: &Ruby,
    option: &'static str,
    what: &str,
    given: &str,
    known: &[(&str, T)],
) -> Result<T, Error> {
    closed_set_or(
        ruby,
        option,
        what,
        given,
        known,
        hanami_guard_core::Error::configuration,
    )
}

/// [`closed_set`] for a keyword argument of a method: the refusal is the core error `error`
/// builds from the message (`Error::Argument` for an `ArgumentError`, which has no fields).
pub fn closed_set_or<T: Copy>(
    ruby: &Ruby,
    option: &'static str,
    what: &str,
    given: &str,
    known: &[(&str, T)],
    error: fn(String) -> hanami_guard_core::Error,
) -> Result<T, Error> {
    if let Some((_, value)) = known.iter().find(|(name, _)| *name == given) {
        return Ok(*value);
    }
    let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
    let refusal = error(format!(
        "{what} `{}` is not known: use one of {}",
        hanami_guard_core::error::excerpt(given, 40),
        names.join(", ")
    ))
    .with(
        hanami_guard_core::error::key::OPTION,
        hanami_guard_core::Field::Name(option),
    );
    Err(errors::to_ruby(ruby, refusal))
}

/// The bytes of a Ruby String, borrowed for the duration of a call that runs no Ruby code.
pub fn with_bytes<T>(s: RString, f: impl FnOnce(&[u8]) -> T) -> T {
    // SAFETY: the slice is used only inside `f`, which runs no Ruby code and cannot trigger GC
    // or mutate `s`; `s` is an argument of the current call, so it stays alive.
    let bytes = unsafe { s.as_slice() };
    f(bytes)
}

/// A Ruby String's bytes (any encoding), copied into an owned Vec.
pub fn owned_bytes(s: RString) -> Vec<u8> {
    with_bytes(s, <[u8]>::to_vec)
}

/// A new Ruby String from bytes: UTF-8 when they are valid UTF-8, binary otherwise.
pub fn utf8_or_binary_str(ruby: &Ruby, b: &[u8]) -> RString {
    match std::str::from_utf8(b) {
        Ok(s) => ruby.str_new(s),
        Err(_) => ruby.str_from_slice(b),
    }
}

/// A new frozen UTF-8 Ruby String.
pub fn frozen_str(ruby: &Ruby, s: &str) -> RString {
    let r = ruby.str_new(s);
    r.freeze();
    r
}

/// A frozen UTF-8 String from Ruby's table of interned strings (what `-"text"` returns): when
/// an equal string is alive already it is returned as is, with nothing allocated. For identity
/// values (names, SANs, fingerprints), which repeat on every request of the same client; never
/// for bulk data such as a file's contents.
pub fn interned_str(ruby: &Ruby, s: &str) -> RString {
    if s.len() > MAX_REMEMBERED {
        return intern(ruby, s);
    }
    let Some(cache) = INTERNED.get().map(|c| ruby.get_inner(*c)) else {
        return intern(ruby, s);
    };
    let slot = remembered_slot(s);
    // SAFETY: `cache` is the hidden Array made by `init`, kept alive by the GC (marked, pinned)
    // and `SLOTS` long; `slot < SLOTS`; rb_ary_entry only reads. The GVL is held (`&Ruby`).
    let held = unsafe { magnus::Value::from_raw(rb_sys::rb_ary_entry(cache.as_raw(), slot)) };
    if let Some(held) = RString::from_value(held) {
        // Only `interned_str` fills the Array, with frozen UTF-8 Strings from Ruby's table,
        // whose bytes never change: equal bytes are the answer.
        if with_bytes(held, |b| b == s.as_bytes()) {
            return held;
        }
    }
    let fresh = intern(ruby, s);
    // SAFETY: as above; rb_ary_store on an unfrozen Array inside its length cannot raise, and
    // it applies the write barrier for the String it stores.
    unsafe { rb_sys::rb_ary_store(cache.as_raw(), slot, fresh.as_raw()) };
    fresh
}

/// Ruby's table of interned strings hashes the whole string and takes the VM lock on every
/// lookup, several hundred instructions. Identity values repeat on every request of the same
/// client, so a small direct-mapped cache of the Strings the table gave sits in front of it: a
/// hit compares the bytes and returns that String. A miss (a new value, or two values that
/// share a slot) asks the table and takes the slot. The cache is a hidden Array, marked and
/// pinned by the GC and unreachable from Ruby; its entries may move under compaction, so they
/// are always read through it. This extension does not declare itself Ractor-safe, so only the
/// main Ractor runs it, and every caller holds the GVL: one Array needs no lock.
static INTERNED: OnceLock<Opaque<RArray>> = OnceLock::new();
/// Slots in the cache (a power of two).
const SLOTS: usize = 1024;
/// Longer values go to Ruby's table alone (a fingerprint is 64 bytes, a SPIFFE ID rarely more).
const MAX_REMEMBERED: usize = 128;

fn remembered_slot(s: &str) -> std::os::raw::c_long {
    use std::hash::BuildHasher as _;
    let hash = foldhash::fast::FixedState::with_seed(0x6861_6e61_6d69).hash_one(s.as_bytes());
    // Below SLOTS, so the cast is exact.
    (hash as usize % SLOTS) as std::os::raw::c_long
}

/// Makes the cache of interned Strings.
pub fn init(ruby: &Ruby) -> Result<(), Error> {
    let cache = ruby.ary_new_capa(SLOTS);
    for _ in 0..SLOTS {
        cache.push(ruby.qnil())?;
    }
    // SAFETY: `cache` is a live Array just made; rb_obj_hide clears its class, so no Ruby code
    // (not even ObjectSpace) can reach it.
    unsafe { rb_sys::rb_obj_hide(cache.as_raw()) };
    magnus::gc::register_mark_object(cache);
    let _ = INTERNED.set(cache.into());
    Ok(())
}

/// Ruby's interned String for `s`.
fn intern(ruby: &Ruby, s: &str) -> RString {
    // A slice's length always fits a 64-bit `long`; were it not to, a plain copy is as good.
    let Ok(len) = std::os::raw::c_long::try_from(s.len()) else {
        return frozen_str(ruby, s);
    };
    // SAFETY: `s` is `len` readable bytes of valid UTF-8 for the duration of the call, which
    // copies them when it creates a string; `rb_utf8_encoding` returns Ruby's static UTF-8
    // encoding. Holding `&Ruby` proves this is a Ruby thread holding the GVL. The result is a
    // live VALUE (only NoMemoryError can raise, as for any allocation).
    let value = unsafe {
        magnus::Value::from_raw(rb_sys::rb_enc_interned_str(
            s.as_ptr().cast(),
            len,
            rb_sys::rb_utf8_encoding(),
        ))
    };
    // Always a String; should it ever not be, a plain frozen copy is as good.
    RString::from_value(value).unwrap_or_else(|| frozen_str(ruby, s))
}

/// A new frozen Array of [`interned_str`]s.
pub fn interned_strs<S: AsRef<str>>(ruby: &Ruby, items: &[S]) -> RArray {
    frozen_array(ruby, items, interned_str)
}

/// A new frozen Array of frozen Strings.
pub fn frozen_strs<S: AsRef<str>>(ruby: &Ruby, items: &[S]) -> RArray {
    frozen_array(ruby, items, frozen_str)
}

/// A new frozen Array of the Strings `make` builds from `items`.
fn frozen_array<S: AsRef<str>>(
    ruby: &Ruby,
    items: &[S],
    make: fn(&Ruby, &str) -> RString,
) -> RArray {
    let a = ruby.ary_new_capa(items.len());
    for s in items {
        let s = make(ruby, s.as_ref());
        // SAFETY: `a` is a fresh, unfrozen Array held on this stack frame, and `s` a String just
        // made; rb_ary_push on it cannot raise (short of NoMemoryError, like any allocation),
        // so it needs no rb_protect of its own.
        unsafe { rb_sys::rb_ary_push(a.as_raw(), s.as_raw()) };
    }
    a.freeze();
    a
}

/// The class name of a Ruby value, for messages.
pub fn class_name(v: magnus::Value) -> String {
    use magnus::value::ReprValue;
    // SAFETY: the borrowed name is copied into an owned String before any other Ruby call.
    unsafe { v.classname() }.into_owned()
}

/// A wrapped value a native method receives (its receiver, or an argument), as magnus's `&T`
/// gives it but checked without an `rb_protect`: magnus calls `rb_check_typeddata`, which
/// raises on a mismatch, so it sets up a protect frame on every call. Here
/// `rb_typeddata_is_kind_of`, which never raises, tests the type first (the same test), and only
/// then is the data read. A mismatch is the same `TypeError`.
pub struct This<T: 'static> {
    obj: &'static T,
}

impl<T: TypedData> This<T> {
    /// `val` as a wrapped T, or `None` when it is something else (no error is built: for code
    /// that dispatches on what a value is).
    pub fn from_value(val: Value) -> Option<Self> {
        let data_type: *const rb_sys::rb_data_type_t = std::ptr::from_ref(T::data_type()).cast();
        // SAFETY: `DataType` is `repr(transparent)` over `rb_data_type_t`, so the cast above
        // points at T's registered type. rb_typeddata_is_kind_of reads any VALUE and never
        // raises. When it holds, `val` is a T_DATA object of T's type (magnus registers no
        // child types), whose data pointer is the `Box<T>` magnus made when it wrapped the
        // value and frees only with the object. `val` is an argument or the receiver of the
        // current method call, alive on the Ruby stack for the call: the lifetime magnus gives
        // its own `&T`, unbounded like this one, and no reference is kept past the call.
        unsafe {
            use rb_sys::StableApiDefinition as _;
            if rb_sys::rb_typeddata_is_kind_of(val.as_raw(), data_type) == 0 {
                return None;
            }
            let data = rb_sys::stable_api::get_default().rtypeddata_get_data(val.as_raw());
            data.cast::<T>().as_ref().map(|obj| This { obj })
        }
    }

    /// The wrapped value, for as long as the object is alive (see [`This::from_value`]).
    pub fn into_ref(self) -> &'static T {
        self.obj
    }
}

impl<T: TypedData> TryConvert for This<T> {
    fn try_convert(val: Value) -> Result<Self, Error> {
        Self::from_value(val).ok_or_else(|| {
            let ruby = Ruby::get_with(val);
            Error::new(
                ruby.exception_type_error(),
                format!(
                    "no implicit conversion of {} into {}",
                    class_name(val),
                    T::class(&ruby)
                ),
            )
        })
    }
}

impl<T> Clone for This<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for This<T> {}

impl<T> std::ops::Deref for This<T> {
    type Target = T;

    fn deref(&self) -> &T {
        self.obj
    }
}
