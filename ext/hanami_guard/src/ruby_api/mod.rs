//! One file per Ruby class. Each has `init`, called once at load.

mod certificate;
mod command;
mod distinguished_name;
mod native;
mod policy;
mod root;
mod spiffe_id;
mod trust_store;
mod xfcc;

use magnus::{Error, RModule, Ruby};

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    native::init(ruby, module)?;
    distinguished_name::init(ruby, module)?;
    spiffe_id::init(ruby, module)?;
    certificate::init(ruby, module)?;
    xfcc::init(ruby, module)?;
    trust_store::init(ruby, module)?;
    root::init(ruby, module)?;
    command::init(ruby, module)?;
    policy::init(ruby, module)?;
    Ok(())
}
