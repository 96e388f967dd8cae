//! Identity: certificates, distinguished names, SPIFFE IDs, Envoy XFCC, chain verification.
//!
//! [`attr`] and [`fold`] are shared with the policy module: they name attribute types and compare
//! attribute values, so a policy and `DistinguishedName#match?` can never disagree about whether
//! two names are equal. [`fold`] holds the two equalities: strict for what grants, wide for what
//! refuses.

pub mod attr;
pub mod cert;
pub mod dn;
pub mod fold;
mod frame;
pub mod pem;
pub mod spiffe;
pub mod trust;
pub mod xfcc;

pub use cert::Certificate;
pub use dn::{Attribute, DistinguishedName};
pub use spiffe::SpiffeId;
pub use trust::{ClientAuth, TrustFiles, TrustStore, TrustStoreFiles, VerifiedChain};
pub use xfcc::XfccElement;
