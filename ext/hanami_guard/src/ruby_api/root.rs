//! `HanamiGuard::Root`: converts arguments and results for `hanami_guard_core::root`.
//!
//! The Ruby facade (`lib/hanami_guard/root.rb`) adds keyword arguments and type checks and
//! builds Ruby `File` / `File::Stat` objects from the descriptors returned here.
//!
//! The core root sits in an `Arc` behind a `Mutex` so that `#close` can release the descriptor
//! while another thread is using it: each call clones the `Arc` (the lock is held only for
//! that), so a descriptor is closed only when the last call using it has finished, and never
//! while the GVL is released with the lock held.

use std::os::fd::IntoRawFd;
use std::sync::{Arc, Mutex};

use hanami_guard_core::root::{self as core, Options, Resolver, Symlinks};
use hanami_guard_core::Error::Argument;
use magnus::{function, method, prelude::*, Error, RArray, RModule, RString, Ruby, Symbol};

use super::convert::{self, This};
use crate::{errors, gvl};

/// The Ruby object. Frozen and shareable: its only state is the descriptor, closed once.
#[magnus::wrap(
    class = "HanamiGuard::Root",
    free_immediately,
    size,
    frozen_shareable,
    wb_protected
)]
pub struct Root {
    inner: Mutex<Option<Arc<core::Root>>>,
}

impl Root {
    fn wrap(root: core::Root) -> Self {
        Root {
            inner: Mutex::new(Some(Arc::new(root))),
        }
    }

    pub(crate) fn get(&self, ruby: &Ruby) -> Result<Arc<core::Root>, Error> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        guard.clone().ok_or_else(|| {
            Error::new(
                ruby.exception_io_error(),
                "closed HanamiGuard::Root: build a new one (HanamiGuard::Root.new(path))",
            )
        })
    }
}

fn map<T>(ruby: &Ruby, r: hanami_guard_core::Result<T>) -> Result<T, Error> {
    errors::map(ruby, r)
}

fn new(
    ruby: &Ruby,
    path: RString,
    symlinks: String,
    resolver: String,
    xdev: bool,
) -> Result<Root, Error> {
    errors::guard(ruby, || {
        let symlinks = convert::closed_set_or(
            ruby,
            "symlinks",
            "symlinks:",
            &symlinks,
            Symlinks::NAMES,
            Argument,
        )?;
        let resolver = convert::closed_set_or(
            ruby,
            "resolver",
            "resolver:",
            &resolver,
            Resolver::NAMES,
            Argument,
        )?;
        // Any bytes, as Ruby's File takes them: the core refuses a NUL with its own message.
        let path = convert::with_bytes(path, |b| {
            std::path::PathBuf::from(
                <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b),
            )
        });
        let options = Options {
            symlinks,
            resolver,
            xdev,
        };
        map(ruby, core::Root::new(path, options)).map(Root::wrap)
    })
}

fn path(ruby: &Ruby, rb_self: This<Root>) -> Result<String, Error> {
    errors::guard(ruby, || Ok(rb_self.get(ruby)?.path().to_owned()))
}

fn options(ruby: &Ruby, rb_self: This<Root>) -> Result<(Symbol, Symbol, bool), Error> {
    errors::guard(ruby, || {
        let o = rb_self.get(ruby)?.options();
        Ok((
            ruby.to_symbol(o.symlinks.as_str()),
            ruby.to_symbol(o.resolver.as_str()),
            o.xdev,
        ))
    })
}

fn close(ruby: &Ruby, rb_self: This<Root>) -> Result<(), Error> {
    errors::guard(ruby, || {
        rb_self
            .inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        Ok(())
    })
}

fn is_closed(rb_self: This<Root>) -> bool {
    rb_self
        .inner
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .is_none()
}

fn read(
    ruby: &Ruby,
    rb_self: This<Root>,
    rel: RString,
    max_bytes: Option<u64>,
) -> Result<RString, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        let rel = rel.to_bytes();
        let handle = map(ruby, root.open_for_read(&rel, max_bytes))?;
        // Small files are read with the GVL held: releasing it costs more than the read.
        let data = if handle.size() >= core::NOGVL_READ_THRESHOLD {
            gvl::nogvl(ruby, move || handle.read_all())?
        } else {
            handle.read_all()
        };
        Ok(ruby.str_from_slice(&map(ruby, data)?))
    })
}

/// Returns the raw descriptor, owned by the caller from here: the facade wraps it in a `File`
/// at once (and closes it if that fails).
fn open(
    ruby: &Ruby,
    rb_self: This<Root>,
    rel: RString,
    mode: String,
    perm: u32,
) -> Result<i32, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        let file = map(ruby, root.open(&rel.to_bytes(), &mode, perm))?;
        Ok(file.into_raw_fd())
    })
}

fn write(
    ruby: &Ruby,
    rb_self: This<Root>,
    rel: RString,
    data: RString,
    perm: u32,
    replace_foreign: bool,
) -> Result<usize, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        let rel = rel.to_bytes();
        let data = data.to_bytes();
        let len = data.len();
        // Always without the GVL: the fsync alone takes milliseconds.
        let result = gvl::nogvl(ruby, || root.write(&rel, &data, perm, replace_foreign))?;
        map(ruby, result)?;
        Ok(len)
    })
}

/// Returns the stored file's name. `extension` is `nil` or the extension given (the core
/// decides whether it is kept).
fn store(
    ruby: &Ruby,
    rb_self: This<Root>,
    data: RString,
    extension: Option<RString>,
    extensions: Vec<String>,
    perm: u32,
) -> Result<String, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        let data = data.to_bytes();
        let extension = extension.map(|e| e.to_bytes());
        // Without the GVL, as #write: hashing, comparing and fsync take time.
        let result = gvl::nogvl(ruby, || {
            root.store(&data, extension.as_deref(), &extensions, perm)
        })?;
        map(ruby, result)
    })
}

fn mkdir_p(ruby: &Ruby, rb_self: This<Root>, rel: RString, perm: u32) -> Result<(), Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        map(ruby, root.mkdir_p(&rel.to_bytes(), perm))
    })
}

/// `:missing`, `:file`, `:directory` or `:other`.
fn kind(ruby: &Ruby, rb_self: This<Root>, rel: RString) -> Result<Symbol, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        Ok(ruby.to_symbol(map(ruby, root.kind(&rel.to_bytes()))?.as_str()))
    })
}

/// An `O_PATH` descriptor for `File::Stat` (owned by the caller from here).
fn stat_fd(ruby: &Ruby, rb_self: This<Root>, rel: RString) -> Result<i32, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        Ok(map(ruby, root.open_path(&rel.to_bytes()))?.into_raw_fd())
    })
}

fn entries(ruby: &Ruby, rb_self: This<Root>, rel: RString) -> Result<RArray, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        let names = map(ruby, root.entries(&rel.to_bytes()))?;
        let array = ruby.ary_new_capa(names.len());
        for name in names {
            // A name that is not UTF-8 comes back binary (ASCII-8BIT), so String methods work
            // on it; tagging its bytes as UTF-8 would make `grep` or `=~` raise.
            let string = if std::str::from_utf8(&name).is_ok() {
                ruby.enc_str_new(name, ruby.utf8_encoding())
            } else {
                ruby.str_from_slice(&name)
            };
            array.push(string)?;
        }
        Ok(array)
    })
}

fn resolve(ruby: &Ruby, rb_self: This<Root>, rel: RString) -> Result<String, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        map(ruby, root.resolve(&rel.to_bytes()))
    })
}

fn subroot(ruby: &Ruby, rb_self: This<Root>, rel: RString) -> Result<Root, Error> {
    errors::guard(ruby, || {
        let root = rb_self.get(ruby)?;
        map(ruby, root.subroot(&rel.to_bytes())).map(Root::wrap)
    })
}

fn safe_name(ruby: &Ruby, name: RString, extensions: Vec<String>) -> Result<String, Error> {
    errors::guard(ruby, || {
        map(ruby, core::safe_name(&name.to_bytes(), &extensions))
    })
}

fn openat2_available() -> Option<bool> {
    core::openat2_available()
}

pub fn init(ruby: &Ruby, module: RModule) -> Result<(), Error> {
    let class = module.define_class("Root", ruby.class_object())?;
    class.undef_default_alloc_func();
    let singleton = class.singleton_class()?;
    singleton.define_private_method("_new", function!(new, 4))?;
    singleton.define_private_method("_safe_name", function!(safe_name, 2))?;
    singleton.define_private_method("_openat2_available", function!(openat2_available, 0))?;
    class.define_method("path", method!(path, 0))?;
    class.define_method("close", method!(close, 0))?;
    class.define_method("closed?", method!(is_closed, 0))?;
    class.define_private_method("_options", method!(options, 0))?;
    class.define_private_method("_read", method!(read, 2))?;
    class.define_private_method("_open", method!(open, 3))?;
    class.define_private_method("_write", method!(write, 4))?;
    class.define_private_method("_store", method!(store, 4))?;
    class.define_private_method("_mkdir_p", method!(mkdir_p, 2))?;
    class.define_private_method("_kind", method!(kind, 1))?;
    class.define_private_method("_stat_fd", method!(stat_fd, 1))?;
    class.define_private_method("_entries", method!(entries, 1))?;
    class.define_private_method("_resolve", method!(resolve, 1))?;
    class.define_private_method("_subroot", method!(subroot, 1))?;
    Ok(())
}
