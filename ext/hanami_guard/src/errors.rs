//! Maps the core's one error enum onto the Ruby classes of `lib/hanami_guard/errors.rb`, and
//! keeps panics from unwinding into Ruby.
//!
//! The classes are defined in Ruby (loaded before this extension) and looked up once, at
//! load time. A missing class is a load error with a clear message, never a panic later.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use hanami_guard_core::{Error as CoreError, Field};
use magnus::value::{Opaque, ReprValue};
use magnus::{kwargs, prelude::*, Error, ExceptionClass, RClass, RHash, RModule, Ruby};

/// The class of each kind of core error (`hanami_guard_core::Error::KINDS`), except `io`
/// (the matching `Errno::*`, as Ruby's File raises) and `argument` (`ArgumentError`). Each
/// class's `KIND` constant names its kind; a spec holds the two to each other.
pub const CLASS_OF_KIND: &[(&str, &str)] = &[
    ("certificate", "CertificateError"),
    ("untrusted", "UntrustedCertificate"),
    ("path", "PathError"),
    ("path_escape", "PathEscapeError"),
    ("command_not_allowed", "CommandNotAllowed"),
    ("command", "CommandError"),
    ("policy", "PolicyError"),
    ("configuration", "ConfigurationError"),
];

struct Classes {
    base: Opaque<ExceptionClass>,
    /// In [`CLASS_OF_KIND`] order.
    of_kind: Vec<Opaque<ExceptionClass>>,
    system_call_error: Opaque<RClass>,
}

static CLASSES: OnceLock<Classes> = OnceLock::new();

fn lookup(ruby: &Ruby, module: RModule, name: &str) -> Result<Opaque<ExceptionClass>, Error> {
    let class: ExceptionClass = module.const_get(name).map_err(|_| {
        Error::new(
            ruby.exception_load_error(),
            format!(
                "HanamiGuard::{name} is not defined: require \"hanami_guard\" rather than the \
                 extension itself, so lib/hanami_guard/errors.rb loads first"
            ),
        )
    })?;
    // Constants of a module are reachable, but pin the class so compaction never moves it.
    magnus::gc::register_mark_object(class);
    Ok(class.into())
}

/// Looks the error classes up once. Called first by `Init_hanami_guard`.
pub fn init(ruby: &Ruby) -> Result<(), Error> {
    let module: RModule = ruby.class_object().const_get("HanamiGuard").map_err(|_| {
        Error::new(
            ruby.exception_load_error(),
            "HanamiGuard is not defined: require \"hanami_guard\" rather than the extension",
        )
    })?;
    let system_call_error: RClass = ruby.class_object().const_get("SystemCallError")?;
    for kind in CoreError::KINDS {
        if !matches!(*kind, "io" | "argument") && !CLASS_OF_KIND.iter().any(|(k, _)| k == kind) {
            return Err(Error::new(
                ruby.exception_load_error(),
                format!("hanami_guard's binding has no class for the core's error kind {kind}"),
            ));
        }
    }
    let mut of_kind = Vec::with_capacity(CLASS_OF_KIND.len());
    for (_, name) in CLASS_OF_KIND {
        of_kind.push(lookup(ruby, module, name)?);
    }
    let classes = Classes {
        base: lookup(ruby, module, "Error")?,
        of_kind,
        system_call_error: system_call_error.into(),
    };
    let _ = CLASSES.set(classes);
    Ok(())
}

fn classes(ruby: &Ruby) -> Result<&'static Classes, Error> {
    CLASSES.get().ok_or_else(|| {
        Error::new(
            ruby.exception_runtime_error(),
            "hanami_guard's error classes were not initialised",
        )
    })
}

fn raise(ruby: &Ruby, class: Opaque<ExceptionClass>, message: String) -> Error {
    Error::new(ruby.get_inner(class), message)
}

/// Converts a core error into the Ruby exception a user rescues.
pub fn to_ruby(ruby: &Ruby, error: CoreError) -> Error {
    let c = match classes(ruby) {
        Ok(c) => c,
        Err(e) => return e,
    };
    let message = error.to_string();
    match error {
        CoreError::Untrusted { reason, .. } => {
            let class = ruby.get_inner(c.of("untrusted"));
            let reason = ruby.to_symbol(reason.as_str());
            match class
                .funcall::<_, _, magnus::Exception>("new", (message, kwargs!("reason" => reason)))
            {
                Ok(exception) => Error::from(exception),
                Err(e) => e,
            }
        }
        CoreError::Io {
            ref source,
            ref context,
        } => match source.raw_os_error() {
            // SystemCallError.new(msg, errno) returns the matching Errno::* instance, with the
            // same message shape as Ruby's own File ("No such file or directory - path").
            Some(errno) => {
                let class = ruby.get_inner(c.system_call_error);
                match class.funcall::<_, _, magnus::Exception>("new", (context.as_str(), errno)) {
                    Ok(exception) => Error::from(exception),
                    Err(e) => e,
                }
            }
            None => Error::new(ruby.exception_io_error(), message),
        },
        CoreError::Argument(_) => Error::new(ruby.exception_arg_error(), message),
        other if !other.details().is_empty() => {
            let class = ruby.get_inner(c.of(other.kind()));
            let details = details_hash(ruby, other.details());
            match class
                .funcall::<_, _, magnus::Exception>("new", (message, kwargs!("details" => details)))
            {
                Ok(exception) => Error::from(exception),
                Err(e) => e,
            }
        }
        other => raise(ruby, c.of(other.kind()), message),
    }
}

/// The core's details as a Hash of Symbol keys; names become Symbols, text Strings, numbers
/// Integers. The Ruby side freezes it.
fn details_hash(ruby: &Ruby, details: &[(&'static str, Field)]) -> RHash {
    let hash = ruby.hash_new();
    for (key, value) in details {
        let key = ruby.to_symbol(key);
        // aset on a fresh Hash of Symbols, Strings and Integers cannot raise.
        let _ = match value {
            Field::Name(name) => hash.aset(key, ruby.to_symbol(name)),
            Field::Text(text) => hash.aset(key, ruby.str_new(text)),
            Field::Int(n) => hash.aset(key, *n),
        };
    }
    hash
}

impl Classes {
    /// The class of a core error kind; the base class for one without (checked at load).
    fn of(&self, kind: &str) -> Opaque<ExceptionClass> {
        CLASS_OF_KIND
            .iter()
            .position(|(k, _)| *k == kind)
            .and_then(|i| self.of_kind.get(i).copied())
            .unwrap_or(self.base)
    }
}

/// A `HanamiGuard::Error` (base class) with the given message.
pub fn base_error(ruby: &Ruby, message: impl Into<String>) -> Error {
    match classes(ruby) {
        Ok(c) => raise(ruby, c.base, message.into()),
        Err(e) => e,
    }
}

/// Maps a core `Result` into a Ruby one.
pub fn map<T>(ruby: &Ruby, result: hanami_guard_core::Result<T>) -> Result<T, Error> {
    result.map_err(|e| to_ruby(ruby, e))
}

/// The message for a panic payload, for a bug report.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    format!(
        "internal error in hanami_guard (this is a bug, please report it with the call that \
         caused it): {what}"
    )
}

/// Runs a binding's body so that a Rust panic becomes a `HanamiGuard::Error` saying it is a bug,
/// instead of unwinding into Ruby (which would abort the process).
pub fn guard<T>(ruby: &Ruby, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => Err(base_error(ruby, panic_message(payload.as_ref()))),
    }
}
