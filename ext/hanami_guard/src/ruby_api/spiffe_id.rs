//! `HanamiGuard::SpiffeId`: wraps the core's validated SPIFFE ID.

use hanami_guard_core::identity::SpiffeId;
use magnus::{function, method, prelude::*, typed_data::Obj, Error, RModule, RString, Ruby};

use super::convert::{interned_str, This};
use crate::errors;

/// The Ruby object: an immutable, validated SPIFFE ID.
#[magnus::wrap(
    class = "HanamiGuard::SpiffeId",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
pub struct RbSpiffeId(pub SpiffeId);

fn parse(ruby: &Ruby, input: RString) -> Result<Obj<RbSpiffeId>, Error> {
    errors::guard(ruby, || {
        let text = input.to_string().map_err(|_| {
            errors::to_ruby(
                ruby,
                hanami_guard_core::Error::certificate(
                    hanami_guard_core::identity::cert::check::SPIFFE_ID,
                    // Ruby converts the encoding; the bytes were not text in it.
                    "invalid SPIFFE ID: it is not valid UTF-8",
                ),
            )
        })?;
        let id = errors::map(ruby, SpiffeId::parse(&text))?;
        Ok(RbSpiffeId::wrap(ruby, id))
    })
}

impl RbSpiffeId {
    /// Wraps an ID into a frozen Ruby object.
    pub fn wrap(ruby: &Ruby, id: SpiffeId) -> Obj<Self> {
        let obj = ruby.obj_wrap(RbSpiffeId(id));
        obj.freeze();
        obj
    }

    fn trust_domain(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, rb_self.0.trust_domain())
    }

    fn path(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, rb_self.0.path())
    }

    fn to_s(ruby: &Ruby, rb_self: This<Self>) -> RString {
        interned_str(ruby, rb_self.0.as_str())
    }

    fn member_of(rb_self: This<Self>, trust_domain: String) -> bool {
        rb_self.0.member_of(&trust_domain)
    }

    fn same(rb_self: This<Self>, other: This<RbSpiffeId>) -> bool {
        rb_self.0 == other.0
    }
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("SpiffeId", ruby.class_object())?;
    class.undef_default_alloc_func();
    class
        .singleton_class()?
        .define_private_method("_parse", function!(parse, 1))?;
    class.define_method("trust_domain", method!(RbSpiffeId::trust_domain, 0))?;
    class.define_method("path", method!(RbSpiffeId::path, 0))?;
    class.define_method("to_s", method!(RbSpiffeId::to_s, 0))?;
    class.define_private_method("_member_of?", method!(RbSpiffeId::member_of, 1))?;
    class.define_private_method("_same?", method!(RbSpiffeId::same, 1))?;
    Ok(())
}
