//! `HanamiGuard::TrustStore`. (Being built: see the issue tracker.)

use magnus::{Error, RModule, Ruby};

pub fn init(_ruby: &Ruby, _module: RModule) -> Result<(), Error> {
    Ok(())
}
