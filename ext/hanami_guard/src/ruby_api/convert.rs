//! Conversions shared by the bindings.
//!
//! A closed set (an allow kind, a mode, a resolver) crosses the boundary as a name. The binding
//! maps it with [`closed_set`], which knows every member and refuses anything else: a typo
//! between the facade and the binding must fail loudly, never fall back to a permissive default.

use magnus::{Error, Ruby};

use crate::errors;

/// The member of `known` named `given`, or a `HanamiGuard::ConfigurationError` that names
/// `what` and lists the accepted names.
pub fn closed_set<T: Copy>(
    ruby: &Ruby,
    what: &str,
    given: &str,
    known: &[(&str, T)],
) -> Result<T, Error> {
    if let Some((_, value)) = known.iter().find(|(name, _)| *name == given) {
        return Ok(*value);
    }
    let names: Vec<&str> = known.iter().map(|(name, _)| *name).collect();
    Err(errors::to_ruby(
        ruby,
        hanami_guard_core::Error::Configuration(format!(
            "{what} `{}` is not known: use one of {}",
            hanami_guard_core::error::excerpt(given, 40),
            names.join(", ")
        )),
    ))
}

/// The class name of a Ruby value, for messages.
pub fn class_name(v: magnus::Value) -> String {
    use magnus::value::ReprValue;
    // SAFETY: the borrowed name is copied into an owned String before any other Ruby call.
    unsafe { v.classname() }.into_owned()
}
