//! Identity: certificates, distinguished names, SPIFFE IDs, Envoy XFCC, chain verification.
//!
//! [`attr`] is shared with the policy module: it names attribute types and compares attribute
//! values the way RFC 5280 section 7.1 says, so a policy and `DistinguishedName#match?` can never
//! disagree about whether two names are equal.

pub mod attr;
pub mod cert;
pub mod dn;
mod frame;
pub mod pem;
pub mod spiffe;
pub mod trust;
pub mod xfcc;

pub use cert::Certificate;
pub use dn::{Attribute, DistinguishedName};
pub use spiffe::SpiffeId;
pub use trust::{TrustFiles, TrustStore, TrustStoreFiles, VerifiedChain};
pub use xfcc::XfccElement;
