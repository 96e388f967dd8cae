//! The allocator Prism's C parser uses in a scan: one arena per worker thread, emptied after
//! each file.
//!
//! Prism allocates every node of a tree on its own and frees them one by one when the tree is
//! dropped: for a 100,000-line app that is millions of `malloc`/`free` pairs, about a fifth of
//! the scan's CPU. Prism is built with `PRISM_XALLOCATOR` (see `.cargo/config.toml` and
//! `crates/hanami_guard_core/prism/prism_xallocator.h`), so its `xmalloc`, `xcalloc`,
//! `xrealloc` and `xfree` are the four functions below. Inside [`scope`] they bump a pointer through the thread's chunks
//! and `xfree` does nothing; the scope's end empties the arena at once. Outside a scope (a parse
//! nobody wrapped, a thread whose arena is gone) they call the C library's allocator, so a
//! pointer is always freed by the allocator that made it: every block starts with a header that
//! says which, and how large the block is (for `xrealloc`).
//!
//! If the build did not define `PRISM_XALLOCATOR` (a `CFLAGS` set in the environment replaces
//! the one in `.cargo/config.toml`), nothing calls these functions and Prism uses `malloc`:
//! slower, never wrong.

use std::alloc::{alloc, dealloc, Layout};
use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr::{self, NonNull};

/// Every block's alignment, as `malloc`'s on x86-64 and aarch64; also the header's size.
const ALIGN: usize = 16;
/// The size of a chunk; larger requests get a chunk of their own.
const CHUNK: usize = 256 << 10;
/// Chunks a thread keeps between files: one file's tree usually fits in them.
const KEEP: usize = 4;

/// Header tags: which allocator made the block behind the header. A header stores its tag
/// XOR its own address, so bytes a parser bug wrote over a header (or a pointer that was never
/// ours) do not read as a C library block: such a block is leaked, never passed to `free`.
const FROM_ARENA: usize = 0x4147_5541_5245_4e41; // "ANERAUGA"
const FROM_LIBC: usize = 0x4347_5543_4249_4c43; // "CLIBCUGC"

/// Which allocator made the block whose header is at `head`, if the header is intact.
///
/// # Safety
/// `head` must be the header of a live block of ours (see [`header_of`]).
unsafe fn origin(head: *const Header) -> Option<usize> {
    // SAFETY: the caller passes the header of a live block of ours, which is readable.
    let stored = unsafe { (*head).tag } ^ (head as usize);
    [FROM_ARENA, FROM_LIBC].into_iter().find(|&t| t == stored)
}

/// The 16 bytes before every block.
#[repr(C)]
struct Header {
    size: usize,
    tag: usize,
}

struct Chunk {
    base: NonNull<u8>,
    layout: Layout,
}

impl Drop for Chunk {
    fn drop(&mut self) {
        // SAFETY: `base` was returned by `alloc(layout)` in `Arena::grow` and is freed once, here.
        unsafe { dealloc(self.base.as_ptr(), self.layout) }
    }
}

#[derive(Default)]
struct Arena {
    /// Open while a scope runs on this thread.
    active: bool,
    chunks: Vec<Chunk>,
    /// The chunk being filled, and the offset of its first free byte.
    current: usize,
    used: usize,
}

impl Arena {
    /// A block of `size` bytes after a header, or None if the memory is not there.
    fn bump(&mut self, size: usize) -> Option<NonNull<u8>> {
        let need = size.checked_add(ALIGN + ALIGN - 1)? & !(ALIGN - 1);
        loop {
            if let Some(chunk) = self.chunks.get(self.current) {
                if chunk.layout.size() - self.used >= need {
                    // SAFETY: `used + need <= size()`, so the region lies inside the chunk,
                    // and `used` is a multiple of ALIGN from an ALIGN-aligned base; `need`
                    // covers the header and `size` bytes.
                    let block = unsafe {
                        let at = chunk.base.as_ptr().add(self.used);
                        header(at, size, FROM_ARENA)
                    };
                    self.used += need;
                    return Some(block);
                }
                if self.current + 1 < self.chunks.len() && need <= CHUNK {
                    self.current += 1;
                    self.used = 0;
                    continue;
                }
            }
            self.grow(need.max(CHUNK))?;
        }
    }

    fn grow(&mut self, size: usize) -> Option<()> {
        let layout = Layout::from_size_align(size, ALIGN).ok()?;
        // SAFETY: `layout` has a non-zero size (at least CHUNK).
        let base = NonNull::new(unsafe { alloc(layout) })?;
        self.chunks.push(Chunk { base, layout });
        self.current = self.chunks.len() - 1;
        self.used = 0;
        Some(())
    }

    /// Empties the arena, keeping the first few ordinary chunks for the next file.
    fn reset(&mut self) {
        self.chunks.retain(|c| c.layout.size() == CHUNK);
        self.chunks.truncate(KEEP);
        self.current = 0;
        self.used = 0;
    }
}

thread_local! {
    static ARENA: RefCell<Arena> = RefCell::new(Arena::default());
}

/// Writes the header at `at` and returns the block after it.
///
/// # Safety
/// `at` must start a writable region of at least `ALIGN + size` bytes, aligned to `ALIGN`.
unsafe fn header(at: *mut u8, size: usize, tag: usize) -> NonNull<u8> {
    // SAFETY: the caller's region holds the header, aligned, and the block after it.
    unsafe {
        at.cast::<Header>().write(Header {
            size,
            tag: tag ^ (at as usize),
        });
        NonNull::new_unchecked(at.add(ALIGN))
    }
}

/// The header of a block this module returned.
///
/// # Safety
/// `block` must have come from `hanami_guard_prism_malloc`, `_calloc` or `_realloc`.
unsafe fn header_of(block: *mut c_void) -> *mut Header {
    // SAFETY: such a block is always preceded by its header (see `header`).
    unsafe { block.cast::<u8>().sub(ALIGN).cast::<Header>() }
}

/// Runs `f` with this thread's arena open: what Prism allocates inside comes from the arena,
/// and all of it is released when `f` returns (or unwinds). Everything Prism allocated must be
/// dropped inside `f`. An inner scope allocates from the outer one's arena, which the outer
/// scope's end releases.
pub(super) fn scope<T>(f: impl FnOnce() -> T) -> T {
    struct Close(bool);
    impl Drop for Close {
        fn drop(&mut self) {
            if self.0 {
                let _ = ARENA.try_with(|a| {
                    if let Ok(mut a) = a.try_borrow_mut() {
                        a.active = false;
                        a.reset();
                    }
                });
            }
        }
    }
    let opened = ARENA
        .try_with(|a| match a.try_borrow_mut() {
            Ok(mut a) if !a.active => {
                a.active = true;
                true
            }
            _ => false,
        })
        .unwrap_or(false);
    let _close = Close(opened);
    f()
}

fn from_libc(size: usize) -> *mut c_void {
    let Some(total) = size.checked_add(ALIGN) else {
        return ptr::null_mut();
    };
    // SAFETY: plain malloc; glibc's blocks are 16-aligned on the platforms this builds for.
    let at = unsafe { libc::malloc(total) }.cast::<u8>();
    if at.is_null() {
        return ptr::null_mut();
    }
    // SAFETY: malloc returned `ALIGN + size` bytes, 16-aligned (glibc, x86-64 and aarch64).
    unsafe { header(at, size, FROM_LIBC) }.as_ptr().cast()
}

/// Prism's `xmalloc`.
#[no_mangle]
pub extern "C" fn hanami_guard_prism_malloc(size: usize) -> *mut c_void {
    let from_arena = ARENA
        .try_with(|a| match a.try_borrow_mut() {
            Ok(mut a) if a.active => Some(a.bump(size)),
            _ => None,
        })
        .ok()
        .flatten();
    match from_arena {
        Some(Some(block)) => block.as_ptr().cast(),
        Some(None) => ptr::null_mut(),
        None => from_libc(size),
    }
}

/// Prism's `xcalloc`.
#[no_mangle]
pub extern "C" fn hanami_guard_prism_calloc(count: usize, size: usize) -> *mut c_void {
    let Some(total) = count.checked_mul(size) else {
        return ptr::null_mut();
    };
    let block = hanami_guard_prism_malloc(total);
    if !block.is_null() {
        // SAFETY: the block has `total` writable bytes.
        unsafe { ptr::write_bytes(block.cast::<u8>(), 0, total) };
    }
    block
}

/// Prism's `xrealloc`.
///
/// # Safety
/// `block` is null or a live block from these functions, as C's `realloc` requires.
#[no_mangle]
pub unsafe extern "C" fn hanami_guard_prism_realloc(
    block: *mut c_void,
    size: usize,
) -> *mut c_void {
    if block.is_null() {
        return hanami_guard_prism_malloc(size);
    }
    // SAFETY: the caller passes a live block of ours.
    let head = unsafe { header_of(block) };
    // SAFETY: as above.
    if unsafe { origin(head) }.is_none() {
        // A damaged header's size cannot be trusted for the copy: fail as realloc may.
        return ptr::null_mut();
    }
    // SAFETY: the header is intact.
    let old = unsafe { head.read() };
    let grown = hanami_guard_prism_malloc(size);
    if grown.is_null() {
        return ptr::null_mut(); // the old block stays valid, as realloc's contract says
    }
    // SAFETY: both blocks are live and distinct; the copy fits in both.
    unsafe {
        ptr::copy_nonoverlapping(block.cast::<u8>(), grown.cast::<u8>(), old.size.min(size));
        hanami_guard_prism_free(block);
    }
    grown
}

/// Prism's `xfree`.
///
/// # Safety
/// `block` is null or a live block from these functions, as C's `free` requires.
#[no_mangle]
pub unsafe extern "C" fn hanami_guard_prism_free(block: *mut c_void) {
    if block.is_null() {
        return;
    }
    // SAFETY: the caller passes a live block of ours.
    let head = unsafe { header_of(block) };
    // The arena's memory is released when its scope ends; a damaged header is leaked (freeing
    // an unknown pointer is never safe).
    // SAFETY: as above.
    if unsafe { origin(head) } == Some(FROM_LIBC) {
        // SAFETY: the header's address is the one libc::malloc returned.
        unsafe { libc::free(head.cast()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fill(block: *mut c_void, n: usize, byte: u8) {
        // SAFETY: the tests pass blocks of at least n bytes.
        unsafe { ptr::write_bytes(block.cast::<u8>(), byte, n) }
    }

    /// Runs `run` inside a scope (the arena), then outside one (the C allocator).
    fn in_and_out_of_a_scope(run: impl Fn()) {
        scope(&run);
        run();
    }

    fn bytes(block: *mut c_void, n: usize) -> Vec<u8> {
        // SAFETY: the tests pass blocks of at least n initialised bytes.
        unsafe { std::slice::from_raw_parts(block.cast::<u8>(), n).to_vec() }
    }

    #[test]
    fn blocks_are_aligned_distinct_and_keep_their_bytes_in_and_out_of_a_scope() {
        in_and_out_of_a_scope(|| {
            let mut blocks = Vec::new();
            for (i, size) in [1usize, 7, 16, 100, 4096, CHUNK, 3 * CHUNK, 0]
                .into_iter()
                .enumerate()
            {
                let b = hanami_guard_prism_malloc(size);
                assert!(!b.is_null());
                assert_eq!(b as usize % ALIGN, 0);
                fill(b, size, i as u8);
                blocks.push((b, size, i as u8));
            }
            for (b, size, byte) in &blocks {
                assert!(bytes(*b, *size).iter().all(|x| x == byte));
            }
            // realloc keeps the bytes, growing and shrinking.
            let (b, size, byte) = blocks[3];
            // SAFETY: b is live.
            let grown = unsafe { hanami_guard_prism_realloc(b, 10_000) };
            assert_eq!(bytes(grown, size), vec![byte; size]);
            // SAFETY: grown is live.
            let shrunk = unsafe { hanami_guard_prism_realloc(grown, 10) };
            assert_eq!(bytes(shrunk, 10), vec![byte; 10]);
            let zeroed = hanami_guard_prism_calloc(300, 7);
            assert_eq!(bytes(zeroed, 2100), vec![0; 2100]);
            assert!(hanami_guard_prism_calloc(usize::MAX, 2).is_null());
            assert!(hanami_guard_prism_malloc(usize::MAX - 8).is_null());
            for (b, _, _) in blocks
                .into_iter()
                .skip(4)
                .chain([(shrunk, 0, 0), (zeroed, 0, 0)])
            {
                // SAFETY: each block is live and freed once.
                unsafe { hanami_guard_prism_free(b) };
            }
            // SAFETY: null is allowed.
            unsafe { hanami_guard_prism_free(ptr::null_mut()) };
        });
    }

    #[test]
    fn a_scope_empties_the_arena_and_a_nested_one_shares_it() {
        scope(|| {
            let b = hanami_guard_prism_malloc(64);
            // SAFETY: b is live.
            assert_eq!(unsafe { origin(header_of(b)) }, Some(FROM_ARENA));
            scope(|| {
                let inner = hanami_guard_prism_malloc(64);
                // SAFETY: inner is live.
                assert_eq!(unsafe { origin(header_of(inner)) }, Some(FROM_ARENA));
            });
            let _ = hanami_guard_prism_malloc(10 * CHUNK);
        });
        ARENA.with(|a| {
            let a = a.borrow();
            assert!(!a.active);
            assert!(a.chunks.len() <= KEEP);
            assert!(a.chunks.iter().all(|c| c.layout.size() == CHUNK));
            assert_eq!((a.current, a.used), (0, 0));
        });
        let outside = hanami_guard_prism_malloc(64);
        // SAFETY: outside is live; freed once.
        unsafe {
            assert_eq!(origin(header_of(outside)), Some(FROM_LIBC));
            hanami_guard_prism_free(outside);
        }
    }

    #[test]
    fn a_damaged_header_is_leaked_and_refused_never_freed() {
        in_and_out_of_a_scope(|| {
            let b = hanami_guard_prism_malloc(32);
            // SAFETY: b is live; its header is overwritten as a parser bug might.
            unsafe {
                let head = header_of(b);
                (*head).tag = FROM_LIBC;
                (*head).size = usize::MAX;
                assert_eq!(origin(head), None);
                assert!(hanami_guard_prism_realloc(b, 64).is_null());
                hanami_guard_prism_free(b); // a no-op: libc::free would crash here
            }
        });
    }

    #[test]
    fn prism_parses_inside_a_scope_when_built_with_the_allocator() {
        let source = "class A\n  def b(x) = system(\"ls #{x}\")\nend\n".repeat(2000);
        let (errors, arena_bytes) = scope(|| {
            let parsed = ruby_prism::parse(source.as_bytes());
            let used = ARENA.with(|a| {
                let a = a.borrow();
                a.current * CHUNK + a.used
            });
            (parsed.errors().count(), used)
        });
        assert_eq!(errors, 0);
        // Fails if Prism was compiled without PRISM_XALLOCATOR (.cargo/config.toml).
        assert!(
            arena_bytes > source.len(),
            "Prism did not allocate from the arena"
        );
    }
}
