//! A TrustStore that can be reloaded from its files without ever failing open.
//!
//! SPIRE rotates its CAs often and Puma cannot reload its own CA, so an app re-reads the CA
//! bundle, the SPIFFE bundles and the CRLs. As with a policy file, a verification clones the
//! current `Arc` and runs with no lock held; `reload` reads and builds with no lock held and
//! swaps the pointer only when every file was read and the new store built. A missing,
//! unreadable or malformed file leaves the last good store in force and returns the error.
//!
//! Files are read twice and must be identical both times: a CRL file caught mid-write can
//! still parse, with its newest CRL (and the revocations only it lists) cut off.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use super::{ClientAuth, TrustStore};
use crate::error::{key, Error, Field, Result};

/// The largest file read.
const MAX_FILE: u64 = 64 << 20;

/// The files a [`TrustStoreFiles`] is built from.
#[derive(Debug, Clone, Default)]
pub struct TrustFiles {
    /// The PEM bundle of pinned CAs.
    pub ca: Option<PathBuf>,
    /// CRL files, PEM or DER.
    pub crls: Vec<PathBuf>,
    /// `(trust domain, bundle file)`.
    pub bundles: Vec<(String, PathBuf)>,
    /// Which leaves count as client certificates, kept across reloads.
    pub client_auth: ClientAuth,
}

/// The store in force, and the files it is reloaded from (if any).
#[derive(Debug)]
pub struct TrustStoreFiles {
    current: RwLock<(Arc<TrustStore>, [u8; 32])>,
    files: Option<TrustFiles>,
    /// The verified-chain cache capacity of every store built on reload.
    cache_capacity: usize,
}

fn read(path: &Path) -> Result<Vec<u8>> {
    let shown = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(e, shown.clone()))?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(e, shown.clone()))?;
    if bytes.len() as u64 > MAX_FILE {
        return Err(Error::configuration(format!(
            "{shown} is larger than {} MiB: refused",
            MAX_FILE >> 20
        )));
    }
    Ok(bytes)
}

/// The option of `TrustStore.load` a file was named by, for the `option` field of a refusal.
fn file_option(option: &'static str) -> &'static str {
    match option {
        "ca" => "ca_file",
        "crls" => "crl_files",
        "bundles" => "bundle_files",
        other => other,
    }
}

impl TrustFiles {
    /// Every file, with the option that named it (`ca_file`, `crl_files`, `bundle_files`).
    fn paths(&self) -> impl Iterator<Item = (&'static str, &Path)> {
        self.ca
            .iter()
            .map(|p| ("ca_file", p.as_path()))
            .chain(self.crls.iter().map(|p| ("crl_files", p.as_path())))
            .chain(
                self.bundles
                    .iter()
                    .map(|(_, p)| ("bundle_files", p.as_path())),
            )
    }

    /// Every file's content, in [`TrustFiles::paths`] order, read twice to the same bytes.
    fn read_stable(&self) -> Result<Vec<Vec<u8>>> {
        let about = |option| move |e: Error| e.with(key::OPTION, Field::Name(option));
        let first: Vec<Vec<u8>> = self
            .paths()
            .map(|(option, path)| read(path).map_err(about(option)))
            .collect::<Result<_>>()?;
        for ((option, path), bytes) in self.paths().zip(&first) {
            if read(path).map_err(about(option))? != *bytes {
                return Err(Error::configuration(format!(
                    "{} changed while it was read: nothing was reloaded; replace trust files \
                     atomically (write a new file, then rename it over the old one) and reload again",
                    path.display()
                ))
                .with(key::OPTION, Field::Name(option)));
            }
        }
        Ok(first)
    }

    /// The files' contents and their digest.
    fn read_all(&self) -> Result<(Vec<Vec<u8>>, [u8; 32])> {
        let contents = self.read_stable()?;
        let mut digest = ring::digest::Context::new(&ring::digest::SHA256);
        for bytes in &contents {
            digest.update(&(bytes.len() as u64).to_be_bytes());
            digest.update(bytes);
        }
        for (td, _) in &self.bundles {
            digest.update(&(td.len() as u64).to_be_bytes());
            digest.update(td.as_bytes());
        }
        let mut sum = [0u8; 32];
        sum.copy_from_slice(digest.finish().as_ref());
        Ok((contents, sum))
    }

    fn build(&self, contents: &[Vec<u8>], cache_capacity: usize) -> Result<TrustStore> {
        let mut it = contents.iter();
        let ca = self.ca.as_ref().and_then(|_| it.next()).map(Vec::as_slice);
        let crls: Vec<&[u8]> = it
            .by_ref()
            .take(self.crls.len())
            .map(Vec::as_slice)
            .collect();
        let bundles: Vec<(&str, &[u8])> = self
            .bundles
            .iter()
            .zip(it)
            .map(|((td, _), b)| (td.as_str(), b.as_slice()))
            .collect();
        // The store names the String options (`ca`, `crls`, `bundles`); these came from files.
        let renamed = |e: Error| match e.detail(key::OPTION) {
            Some(Field::Name(option)) => {
                let option = file_option(option);
                e.with(key::OPTION, Field::Name(option))
            }
            _ => e,
        };
        TrustStore::with_bundles(ca, &bundles, &crls)
            .map_err(renamed)?
            .with_client_auth(self.client_auth)
            .with_cache_capacity(cache_capacity)
    }
}

impl TrustStoreFiles {
    /// Builds a store from files, with the default verified-chain cache.
    pub fn load(files: TrustFiles) -> Result<Self> {
        Self::load_with_cache_capacity(files, super::DEFAULT_CACHE_CAPACITY)
    }

    /// Builds a store from files, caching at most `cache_capacity` verified chains (see
    /// [`TrustStore::with_cache_capacity`]), now and after every reload.
    pub fn load_with_cache_capacity(files: TrustFiles, cache_capacity: usize) -> Result<Self> {
        let (contents, sum) = files.read_all()?;
        let store = files.build(&contents, cache_capacity)?;
        Ok(TrustStoreFiles {
            current: RwLock::new((Arc::new(store), sum)),
            files: Some(files),
            cache_capacity,
        })
    }

    /// Wraps a store built from bytes: it can never be reloaded.
    pub fn fixed(store: TrustStore) -> Self {
        let cache_capacity = store.cache_capacity();
        TrustStoreFiles {
            current: RwLock::new((Arc::new(store), [0; 32])),
            files: None,
            cache_capacity,
        }
    }

    /// The files this store is reloaded from.
    pub fn files(&self) -> Option<&TrustFiles> {
        self.files.as_ref()
    }

    /// The store in force now; one verification runs on one consistent snapshot.
    pub fn current(&self) -> Arc<TrustStore> {
        // The pair is replaced in one assignment, so even a poisoned lock holds a whole store.
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard.0),
            Err(poisoned) => Arc::clone(&poisoned.into_inner().0),
        }
    }

    fn digest(&self) -> [u8; 32] {
        match self.current.read() {
            Ok(guard) => guard.1,
            Err(poisoned) => poisoned.into_inner().1,
        }
    }

    /// Re-reads the files: `Ok(false)` when unchanged, `Ok(true)` when a new store is in force.
    /// On any error the last good store stays in force and the error is returned. After a
    /// successful reload the verified-chain cache is empty: a new store has its own, and an
    /// unchanged one's is emptied, so every chain is verified in full once more.
    pub fn reload(&self) -> Result<bool> {
        let files = self.files.as_ref().ok_or_else(|| {
            Error::configuration(
                "this TrustStore was built from Strings (TrustStore.new), so it cannot be \
                 reloaded: build it with TrustStore.load(ca_file:, crl_files:, bundle_files:) to reload it"
                    .to_owned(),
            )
        })?;
        let (contents, sum) = files.read_all()?;
        if sum == self.digest() {
            self.current().clear_cache();
            return Ok(false);
        }
        let fresh = (Arc::new(files.build(&contents, self.cache_capacity)?), sum);
        match self.current.write() {
            Ok(mut guard) => *guard = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        Ok(true)
    }
}
