//! A bounded cache of verified chains, so that a client's chain pays for its signature checks
//! once, not on every request.
//!
//! One verification of a leaf and an intermediate (P-256) is two ECDSA signature checks, some
//! fifteen times the rest of a guarded request. The same client presents the same chain on every
//! request, and the result of verifying it is a pure function of four things:
//!
//! - the certificates given, and their order (path building tries intermediates in order, so two
//!   orders may verify along two paths with different CA keys): the key is the SHA-256 of the
//!   leaf's and every intermediate's SHA-256 fingerprint, in order, so a different intermediate
//!   under the same leaf (an untrusted one with the trusted one's name) is a different entry;
//! - the store's anchors and CRLs, which never change: a reload builds a new store, with a new,
//!   empty cache (and `TrustStoreFiles::reload` empties the old one too);
//! - the purpose, which is always clientAuth (it is part of the key's domain separation, so a
//!   second purpose could never read the first one's entries);
//! - the time, through nothing but the validity of each certificate involved. An entry records
//!   the widest window around the verification time in which no certificate given, and no
//!   anchor the leaf could chain to, changes between valid, not yet valid and expired; it is
//!   never served outside that window, so never after the leaf's or any chain member's
//!   notAfter. The window also ends before the earliest CRL nextUpdate, and nothing is cached
//!   once a CRL is past its nextUpdate: a stale CRL is re-read on every verification.
//!
//! Only successful verifications are stored, so filling the cache takes certificates that
//! verify; a refusal is recomputed every time, with its own message. The cache is bounded
//! (the clock algorithm: a second chance for each entry used since the hand last passed it),
//! and shared by Puma's threads behind one mutex held for a lookup or an insert only, never
//! during a verification. A poisoned mutex turns the cache off rather than trust its contents.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::VerifiedChain;
use crate::identity::Certificate;

/// The number of chains a store caches unless told otherwise: about 200 KiB at most. One entry
/// per distinct client chain seen recently; a Puma app behind mTLS rarely sees more clients.
pub const DEFAULT_CACHE_CAPACITY: usize = 1024;

/// The largest capacity accepted.
pub const MAX_CACHE_CAPACITY: usize = 1 << 20;

/// Domain separation for the key: what is verified, and for which purpose.
const KEY_DOMAIN: &[u8] = b"hanami_guard verified chain, clientAuth\0";

/// What identifies one verification's inputs.
pub(super) type Key = [u8; 32];

/// The key of a leaf and its intermediates, in the order given.
pub(super) fn key(leaf: &Certificate, intermediates: &[&Certificate]) -> Key {
    let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
    digest.update(KEY_DOMAIN);
    // At most MAX_INTERMEDIATES (8): the count fits, and fixes where each fingerprint starts.
    digest.update(&(intermediates.len() as u64).to_be_bytes());
    digest.update(leaf.sha256());
    for c in intermediates {
        digest.update(c.sha256());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.finish().as_ref());
    out
}

/// The times (Unix seconds, both ends included) in which a cached result holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Window {
    pub from: i64,
    pub until: i64,
}

impl Window {
    /// Every time.
    pub const ALL: Window = Window {
        from: i64::MIN,
        until: i64::MAX,
    };

    /// Narrows the window to where a certificate valid from `not_before` to `not_after` (both
    /// included, as webpki reads them) stays as it is at `at`: valid, not yet valid or expired.
    pub fn narrow_to_validity(&mut self, at: i64, not_before: i64, not_after: i64) {
        if at < not_before {
            self.until = self.until.min(not_before - 1);
        } else if at > not_after {
            self.from = self.from.max(not_after.saturating_add(1));
        } else {
            self.from = self.from.max(not_before);
            self.until = self.until.min(not_after);
        }
    }

    /// Ends the window before `next_update`.
    pub fn end_before(&mut self, next_update: i64) {
        self.until = self.until.min(next_update.saturating_sub(1));
    }

    pub fn contains(&self, at: i64) -> bool {
        self.from <= at && at <= self.until
    }
}

/// How the cache has been used, for monitoring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// The most chains it holds.
    pub capacity: usize,
    /// The chains it holds now.
    pub len: usize,
    /// Verifications answered from the cache.
    pub hits: u64,
    /// Verifications that ran in full (refusals included).
    pub misses: u64,
}

#[derive(Debug)]
struct Entry {
    key: Key,
    chain: Arc<VerifiedChain>,
    window: Window,
    /// Used since the clock hand last passed.
    referenced: bool,
}

#[derive(Debug, Default)]
struct Slots {
    index: HashMap<Key, usize>,
    entries: Vec<Entry>,
    hand: usize,
}

/// The cache of one trust store.
#[derive(Debug)]
pub(super) struct ChainCache {
    capacity: usize,
    slots: Mutex<Slots>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ChainCache {
    /// A cache of at most `capacity` chains (0: none is cached).
    pub fn new(capacity: usize) -> Self {
        ChainCache {
            capacity,
            slots: Mutex::new(Slots::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The chain cached under `key` for a verification at `at`.
    pub fn get(&self, key: &Key, at: i64) -> Option<Arc<VerifiedChain>> {
        let found = self.lookup(key, at);
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Like [`ChainCache::get`], counting a hit but not a miss: for a caller that verifies in
    /// full (through `get`, which counts it) when this finds nothing.
    pub fn peek(&self, key: &Key, at: i64) -> Option<Arc<VerifiedChain>> {
        let found = self.lookup(key, at);
        if found.is_some() {
            self.hits.fetch_add(1, Ordering::Relaxed);
        }
        found
    }

    fn lookup(&self, key: &Key, at: i64) -> Option<Arc<VerifiedChain>> {
        if self.capacity == 0 {
            return None;
        }
        let mut slots = self.slots.lock().ok()?;
        let i = *slots.index.get(key)?;
        let entry = &mut slots.entries[i];
        if !entry.window.contains(at) {
            return None;
        }
        entry.referenced = true;
        Some(Arc::clone(&entry.chain))
    }

    /// Caches a successful verification, valid within `window`.
    pub fn insert(&self, key: Key, chain: Arc<VerifiedChain>, window: Window) {
        if self.capacity == 0 || window.from > window.until {
            return;
        }
        let Ok(mut slots) = self.slots.lock() else {
            return;
        };
        let entry = Entry {
            key,
            chain,
            window,
            referenced: false,
        };
        if let Some(&i) = slots.index.get(&key) {
            slots.entries[i] = entry;
            return;
        }
        if slots.entries.len() < self.capacity {
            let i = slots.entries.len();
            slots.entries.push(entry);
            slots.index.insert(key, i);
            return;
        }
        // The clock: skip (and clear) entries used since the last pass; evict the first that
        // was not. Ends within two turns, since the first turn clears every flag.
        let victim = loop {
            let hand = slots.hand;
            slots.hand = (hand + 1) % slots.entries.len();
            let candidate = &mut slots.entries[hand];
            if candidate.referenced {
                candidate.referenced = false;
            } else {
                break hand;
            }
        };
        let old = std::mem::replace(&mut slots.entries[victim], entry);
        slots.index.remove(&old.key);
        slots.index.insert(key, victim);
    }

    /// Drops every entry.
    pub fn clear(&self) {
        if let Ok(mut slots) = self.slots.lock() {
            *slots = Slots::default();
        }
    }

    pub fn stats(&self) -> CacheStats {
        CacheStats {
            capacity: self.capacity,
            len: self.slots.lock().map_or(0, |s| s.entries.len()),
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: u8) -> Arc<VerifiedChain> {
        Arc::new(VerifiedChain {
            ca_keys: vec![[n; 32]],
        })
    }

    fn window(from: i64, until: i64) -> Window {
        Window { from, until }
    }

    #[test]
    fn serves_an_entry_only_within_its_window() {
        let cache = ChainCache::new(4);
        cache.insert([1; 32], chain(1), window(100, 200));
        assert_eq!(cache.get(&[1; 32], 100), Some(chain(1)));
        assert_eq!(cache.get(&[1; 32], 200), Some(chain(1)));
        assert_eq!(cache.get(&[1; 32], 201), None);
        assert_eq!(cache.get(&[1; 32], 99), None);
        assert_eq!(cache.get(&[2; 32], 150), None);
        let stats = cache.stats();
        assert_eq!((stats.len, stats.hits, stats.misses), (1, 2, 3));
    }

    #[test]
    fn evicts_an_unused_entry_first_and_stays_bounded() {
        let cache = ChainCache::new(2);
        cache.insert([1; 32], chain(1), Window::ALL);
        cache.insert([2; 32], chain(2), Window::ALL);
        assert!(cache.get(&[1; 32], 0).is_some());
        cache.insert([3; 32], chain(3), Window::ALL);
        assert!(
            cache.get(&[1; 32], 0).is_some(),
            "the used entry had a second chance"
        );
        assert!(
            cache.get(&[2; 32], 0).is_none(),
            "the unused one was evicted"
        );
        assert!(cache.get(&[3; 32], 0).is_some());
        for k in 4..50u8 {
            cache.insert([k; 32], chain(k), Window::ALL);
            assert!(cache.get(&[k; 32], 0).is_some());
            assert_eq!(cache.stats().len, 2);
        }
    }

    #[test]
    fn a_capacity_of_zero_caches_nothing_and_clear_empties() {
        let none = ChainCache::new(0);
        none.insert([1; 32], chain(1), Window::ALL);
        assert_eq!(none.get(&[1; 32], 0), None);
        let cache = ChainCache::new(8);
        cache.insert([1; 32], chain(1), Window::ALL);
        cache.clear();
        assert_eq!(cache.get(&[1; 32], 0), None);
        assert_eq!(cache.stats().len, 0);
    }

    #[test]
    fn an_empty_window_is_not_stored() {
        let cache = ChainCache::new(8);
        cache.insert([1; 32], chain(1), window(10, 9));
        assert_eq!(cache.stats().len, 0);
    }

    #[test]
    fn windows_keep_each_certificate_in_the_state_it_had() {
        // Valid at 150: the window is its validity.
        let mut w = Window::ALL;
        w.narrow_to_validity(150, 100, 200);
        assert_eq!(w, window(100, 200));
        // An expired certificate (an old anchor) limits only the start.
        let mut w = Window::ALL;
        w.narrow_to_validity(150, 10, 50);
        assert_eq!(w, window(51, i64::MAX));
        // One not valid yet limits only the end.
        let mut w = Window::ALL;
        w.narrow_to_validity(150, 300, 400);
        assert_eq!(w, window(i64::MIN, 299));
        // A CRL's nextUpdate ends it just before.
        w.end_before(250);
        assert_eq!(w, window(i64::MIN, 249));
    }
}
