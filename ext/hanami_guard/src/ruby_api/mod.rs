//! One file per Ruby class. Each has `init`, called once at load.
//!
//! Every wrapped type holds Rust data only, never a Ruby object: none needs a mark function, and
//! all are declared `wb_protected` (a write barrier is only needed when an object stores a
//! reference to another Ruby object, which these never do). That keeps them out of the
//! generational GC's remembered set. A type that ever holds a Ruby value must drop
//! `wb_protected`, mark it, and use write barriers.

mod audit;
mod certificate;
mod command;
mod convert;
mod distinguished_name;
mod doctor;
mod native;
mod policy;
mod policy_events;
mod policy_identity;
mod policy_request;
mod policy_tree;
mod root;
mod spiffe_id;
#[cfg(feature = "test-hooks")]
mod test_hooks;
mod trust_store;
mod xfcc;

use magnus::{Error, RModule, Ruby};

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    convert::init(ruby)?;
    native::init(ruby, module)?;
    distinguished_name::init(ruby, module)?;
    spiffe_id::init(ruby, module)?;
    certificate::init(ruby, module)?;
    xfcc::init(ruby, module)?;
    trust_store::init(ruby, module)?;
    root::init(ruby, module)?;
    command::init(ruby, module)?;
    policy::init(ruby, module)?;
    doctor::init(ruby, module)?;
    audit::init(ruby, module)?;
    Ok(())
}
