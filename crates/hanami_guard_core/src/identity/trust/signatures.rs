//! Remembered signature checks: a CA's signature over an intermediate (or a CRL) is checked once
//! per store, not once per client.
//!
//! A client's first request verifies its chain in full: the leaf's signature by its issuer, and
//! the intermediate's by the pinned CA, two P-256 checks that are nearly all of the cost. The
//! verified-chain cache (`cache`) answers that client's later requests, but every new leaf (a
//! new client, or an X509-SVID rotated every hour) misses it, and under one intermediate every
//! one of them repeats the same second check.
//!
//! A signature check is a pure function of four inputs: the algorithm, the public key, the
//! signed bytes and the signature. [`Remembering`] wraps each of webpki's algorithms and keeps
//! the SHA-256 of those four inputs (length-prefixed, domain-separated) for every check that
//! passed; a check whose key is remembered passes without the arithmetic. Everything else webpki
//! does (path building, validity, name constraints, key usages, revocation, its budget of
//! signature checks) runs as before on every verification. What this holds:
//!
//! - Only checks that passed are remembered: a failed check is repeated every time, and no
//!   input differing in any byte (another key, another signature, one changed byte of the
//!   certificate) finds an entry.
//! - A leaf's own signature is never remembered: leaves are many and each is seen by this path
//!   only until the chain cache holds it, and remembering them would push out the few CA
//!   signatures that every new client shares.
//! - The memo is bounded ([`SLOTS`] entries, direct-mapped: an entry only ever replaces another)
//!   and shared by Puma's threads behind a mutex held for one 32-byte compare or copy. A
//!   poisoned mutex turns the memo off.
//! - A store whose chain cache is off (`cache_size: 0`) remembers nothing either: every
//!   verification then checks every signature.

use std::ops::Range;
use std::sync::Mutex;

use pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};

/// How many signature checks a store remembers.
pub const SLOTS: usize = 256;

/// Domain separation for the key.
const DOMAIN: &[u8] = b"hanami_guard signature check\0";

type Key = [u8; 32];

/// The checks that passed, for one store.
#[derive(Debug)]
pub(super) struct SignatureMemo {
    // None when the store remembers nothing. An all-zero slot is empty: a SHA-256 of zero is
    // not a key anyone can produce.
    slots: Option<Mutex<Box<[Key; SLOTS]>>>,
}

impl SignatureMemo {
    pub(super) fn new(enabled: bool) -> Self {
        SignatureMemo {
            slots: enabled.then(|| Mutex::new(Box::new([[0u8; 32]; SLOTS]))),
        }
    }

    pub(super) fn is_enabled(&self) -> bool {
        self.slots.is_some()
    }

    fn slot(key: &Key) -> usize {
        usize::from(u16::from_le_bytes([key[0], key[1]])) % SLOTS
    }

    fn contains(&self, key: &Key) -> bool {
        let Some(slots) = &self.slots else {
            return false;
        };
        slots
            .lock()
            .map(|s| s[Self::slot(key)] == *key)
            .unwrap_or(false)
    }

    fn insert(&self, key: Key) {
        if let Some(Ok(mut slots)) = self.slots.as_ref().map(Mutex::lock) {
            slots[Self::slot(&key)] = key;
        }
    }

    /// Forgets every check.
    pub(super) fn clear(&self) {
        if let Some(Ok(mut slots)) = self.slots.as_ref().map(Mutex::lock) {
            slots.fill([0u8; 32]);
        }
    }

    /// webpki's algorithms, each remembering its checks in this memo, except checks of a
    /// signature over bytes inside `leaf` (the leaf's DER).
    pub(super) fn algorithms<'a>(
        &'a self,
        inner: &'static [&'static dyn SignatureVerificationAlgorithm],
        leaf: &[u8],
    ) -> Vec<Remembering<'a>> {
        let range = leaf.as_ptr_range();
        let leaf = range.start as usize..range.end as usize;
        inner
            .iter()
            .map(|&inner| Remembering {
                inner,
                memo: self,
                leaf: leaf.clone(),
            })
            .collect()
    }
}

/// One of webpki's algorithms, remembering the checks that passed.
#[derive(Debug)]
pub(super) struct Remembering<'a> {
    inner: &'static dyn SignatureVerificationAlgorithm,
    memo: &'a SignatureMemo,
    // The addresses of the leaf's DER: a signed message starting inside it is the leaf's.
    leaf: Range<usize>,
}

impl Remembering<'_> {
    fn key(&self, public_key: &[u8], message: &[u8], signature: &[u8]) -> Key {
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        digest.update(DOMAIN);
        for part in [
            self.inner.signature_alg_id().as_ref(),
            self.inner.public_key_alg_id().as_ref(),
            public_key,
            message,
            signature,
        ] {
            digest.update(&(part.len() as u64).to_be_bytes());
            digest.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.finish().as_ref());
        out
    }
}

impl SignatureVerificationAlgorithm for Remembering<'_> {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        if self.leaf.contains(&(message.as_ptr() as usize)) {
            return self.inner.verify_signature(public_key, message, signature);
        }
        let key = self.key(public_key, message, signature);
        if self.memo.contains(&key) {
            return Ok(());
        }
        self.inner
            .verify_signature(public_key, message, signature)?;
        self.memo.insert(key);
        Ok(())
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        self.inner.signature_alg_id()
    }

    fn fips(&self) -> bool {
        self.inner.fips()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// webpki's P-256 algorithm, counting the checks that reach it.
    #[derive(Debug)]
    struct Counting(AtomicUsize);

    impl SignatureVerificationAlgorithm for Counting {
        fn verify_signature(&self, k: &[u8], m: &[u8], s: &[u8]) -> Result<(), InvalidSignature> {
            self.0.fetch_add(1, Ordering::SeqCst);
            webpki::ring::ECDSA_P256_SHA256.verify_signature(k, m, s)
        }
        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            webpki::ring::ECDSA_P256_SHA256.public_key_alg_id()
        }
        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            webpki::ring::ECDSA_P256_SHA256.signature_alg_id()
        }
    }

    fn signed(message: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let rng = SystemRandom::new();
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("key");
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .expect("key");
        let signature = pair.sign(&rng, message).expect("signature");
        (
            pair.public_key().as_ref().to_vec(),
            signature.as_ref().to_vec(),
        )
    }

    /// One memo and one wrapped algorithm per test: the counters are static.
    fn wrapped<'a>(
        memo: &'a SignatureMemo,
        counter: &'static Counting,
        leaf: &[u8],
    ) -> Remembering<'a> {
        let inner: &'static [&'static dyn SignatureVerificationAlgorithm] =
            Box::leak(Box::new([counter as &dyn SignatureVerificationAlgorithm]));
        memo.algorithms(inner, leaf).pop().expect("one algorithm")
    }

    fn counter() -> &'static Counting {
        Box::leak(Box::new(Counting(AtomicUsize::new(0))))
    }

    #[test]
    fn a_check_that_passed_is_remembered_and_nothing_else() {
        let message = b"tbsCertificate of an intermediate".to_vec();
        let (key, signature) = signed(&message);
        let memo = SignatureMemo::new(true);
        let count = counter();
        let alg = wrapped(&memo, count, &[]);
        let calls = || count.0.load(Ordering::SeqCst);

        assert!(alg.verify_signature(&key, &message, &signature).is_ok());
        assert!(alg.verify_signature(&key, &message, &signature).is_ok());
        assert_eq!(calls(), 1, "the second check is answered from the memo");

        // One byte of the message, the signature or the key changed: checked, and refused.
        let mut other = message.clone();
        other[0] ^= 1;
        assert!(alg.verify_signature(&key, &other, &signature).is_err());
        let mut forged = signature.clone();
        let last = forged.len() - 1;
        forged[last] ^= 1;
        assert!(alg.verify_signature(&key, &message, &forged).is_err());
        let (other_key, _) = signed(&message);
        assert!(alg
            .verify_signature(&other_key, &message, &signature)
            .is_err());
        assert_eq!(calls(), 4);
        // A failure is never remembered: the same refused check reaches the algorithm again.
        assert!(alg.verify_signature(&key, &other, &signature).is_err());
        assert_eq!(calls(), 5);

        memo.clear();
        assert!(alg.verify_signature(&key, &message, &signature).is_ok());
        assert_eq!(calls(), 6, "cleared");
    }

    #[test]
    fn a_leaf_signature_is_never_remembered() {
        let leaf = b"the leaf's DER, whose tbsCertificate is signed".to_vec();
        let message = &leaf[4..20];
        let (key, signature) = signed(message);
        let memo = SignatureMemo::new(true);
        let count = counter();
        let alg = wrapped(&memo, count, &leaf);
        for _ in 0..3 {
            assert!(alg.verify_signature(&key, message, &signature).is_ok());
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
        // The same bytes elsewhere in memory are not the leaf's.
        let copy = message.to_vec();
        for _ in 0..3 {
            assert!(alg.verify_signature(&key, &copy, &signature).is_ok());
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn a_store_without_a_cache_remembers_nothing() {
        let message = b"tbsCertList".to_vec();
        let (key, signature) = signed(&message);
        let memo = SignatureMemo::new(false);
        assert!(!memo.is_enabled());
        let count = counter();
        let alg = wrapped(&memo, count, &[]);
        for _ in 0..3 {
            assert!(alg.verify_signature(&key, &message, &signature).is_ok());
        }
        assert_eq!(count.0.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn the_memo_is_bounded() {
        let memo = SignatureMemo::new(true);
        for i in 0..(SLOTS * 4) as u32 {
            let mut key = [0u8; 32];
            key[..4].copy_from_slice(&i.to_le_bytes());
            key[31] = 1;
            memo.insert(key);
        }
        let slots = memo.slots.as_ref().expect("enabled").lock().expect("lock");
        assert_eq!(slots.len(), SLOTS);
        assert!(slots.iter().all(|k| *k != [0u8; 32]));
    }
}
