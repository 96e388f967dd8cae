//! `HanamiGuard::Native`: facts about the extension itself.

use hanami_guard_core::error::UntrustedReason;
use magnus::{function, prelude::*, Error, RModule, RString, Ruby};

use super::convert;
use crate::errors::CLASS_OF_KIND;

/// `Native.escape(text, max)`: the core's excerpt of untrusted text for a log line or an event
/// (controls, zero-width and bidirectional characters and invalid UTF-8 escaped, at most `max`
/// characters), the one escaper every facade module uses.
fn escape(text: RString, max: usize) -> String {
    convert::with_bytes(text, |bytes| {
        hanami_guard_core::error::excerpt_bytes(bytes, max)
    })
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let native = module.define_module("Native")?;
    // The core's closed lists, which the specs hold the facade's copies to (errors.rb's KIND
    // constants, UntrustedCertificate::REASONS and CertificateError::CHECKS).
    let reasons = ruby.ary_new();
    for reason in UntrustedReason::ALL {
        reasons.push(ruby.to_symbol(reason.as_str()))?;
    }
    reasons.freeze();
    native.const_set("UNTRUSTED_REASONS", reasons)?;
    let kinds = ruby.ary_new();
    for kind in hanami_guard_core::Error::KINDS {
        kinds.push(ruby.to_symbol(kind))?;
    }
    kinds.freeze();
    native.const_set("ERROR_KINDS", kinds)?;
    let checks = ruby.ary_new();
    for check in hanami_guard_core::identity::cert::check::ALL {
        checks.push(ruby.to_symbol(check))?;
    }
    checks.freeze();
    native.const_set("CERTIFICATE_CHECKS", checks)?;
    let checks = ruby.ary_new();
    for check in hanami_guard_core::command::check::ALL {
        checks.push(ruby.to_symbol(check))?;
    }
    checks.freeze();
    native.const_set("COMMAND_CHECKS", checks)?;
    let classes = ruby.hash_new();
    for (kind, class) in CLASS_OF_KIND {
        classes.aset(ruby.to_symbol(kind), *class)?;
    }
    classes.freeze();
    native.const_set("ERROR_CLASSES", classes)?;
    #[cfg(feature = "test-hooks")]
    super::test_hooks::init(native)?;
    // Whether this build has the specs' hooks: the specs say how to get them when it has not.
    native.define_module_function("escape", function!(escape, 2))?;
    native.const_set("TEST_HOOKS", cfg!(feature = "test-hooks"))?;
    native.const_set("CORE_VERSION", env!("CARGO_PKG_VERSION"))?;
    // Which allocator this build allocates from: `rake valgrind` needs "system".
    native.const_set(
        "ALLOCATOR",
        if cfg!(feature = "mimalloc") {
            "mimalloc"
        } else {
            "system"
        },
    )?;
    Ok(())
}
