//! Storage that needs no heap until it outgrows a static slab.
//!
//! The runtime's request heads, its first reply buffer and its first receive arena live in
//! zero-filled static memory: pages the kernel maps on first touch, with no `malloc` and no
//! system call. Measured: the first heap allocation of a process (musl's allocator setting
//! itself up) adds about a tenth to the time from exec to ready, so the cold path of the
//! runtime allocates nothing until an answer outgrows these slabs. Each slab is handed out at
//! most once; later users (the panic hook's own connection, a second runtime in a test) start
//! on the heap.

#![allow(unsafe_code)]

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, Ordering};

/// A static byte array, handed out at most once as `&'static mut` under the one flag it is
/// paired with. The flags live apart from the bytes, among the program's small variables: a
/// slab's page is touched only when its bytes are written.
#[repr(transparent)]
pub(crate) struct Slab<const N: usize> {
    bytes: UnsafeCell<[u8; N]>,
}

// SAFETY: the bytes are only reached through `take`, which gives out one `&mut` ever, guarded
// by the slab's atomic flag.
unsafe impl<const N: usize> Sync for Slab<N> {}

impl<const N: usize> Slab<N> {
    /// A slab of zeroes (in `.bss`). On x86-64 Linux the runtime's slabs come zeroed from
    /// [`slabs`].
    #[cfg(any(test, not(all(target_os = "linux", target_arch = "x86_64"))))]
    pub const fn new() -> Slab<N> {
        Slab {
            bytes: UnsafeCell::new([0; N]),
        }
    }

    /// The slab, the first time `taken` is claimed; `None` after that.
    ///
    /// # Safety
    ///
    /// `taken` is the only flag ever used with this slab.
    // A `&mut` from `&self` is sound here: the flag makes it the only one ever created.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn take(&'static self, taken: &AtomicBool) -> Option<&'static mut [u8]> {
        if taken.swap(true, Ordering::AcqRel) {
            return None;
        }
        // SAFETY: the swap above returned `false` exactly once over the life of the process,
        // and `taken` is this slab's only flag (the caller's promise), so this is the only
        // reference to the bytes ever created.
        Some(unsafe { &mut *self.bytes.get() })
    }
}

/// Size of the request heads' slab: room for all the heads of one dialect with the longest
/// `Host` (`http::request` checks it at compile time). The runtime's heads live here, off
/// the stack: every stack page touched at start is a page fault.
pub(crate) const REQUESTS: usize = 1152;
/// Size of the first reply buffer.
pub(crate) const REPLY: usize = 4 * 1024;
/// Size of the first receive arena: a head and a small event fit in one read.
pub(crate) const ARENA: usize = 16 * 1024;

/// Size of the AWS trace entry: `_X_AMZN_TRACE_ID=`, the value and its NUL (an X-Ray header
/// with a parent and a lineage is about 100 bytes).
pub(crate) const TRACE_ENTRY: usize = 256;
/// Entries of the AWS environment copy, its final null pointer included (Lambda's own
/// variables are about 25).
pub(crate) const TRACE_ENVIRON: usize = 96;

/// AWS mode's environment slot for `_X_AMZN_TRACE_ID` (see `sys::TraceExport`): the entry
/// `name=value\0`, rewritten in place for every invocation, and a copy of the environment's
/// pointer array with room for that entry, so that installing it needs no `malloc`. Unlike
/// the byte slabs it is never handed out as `&mut`: the C library reads both through the
/// pointers it is given, so they are only ever written through raw pointers.
#[repr(C)]
pub(crate) struct TraceSlab {
    pub entry: UnsafeCell<[u8; TRACE_ENTRY]>,
    pub environ: UnsafeCell<[*mut core::ffi::c_char; TRACE_ENVIRON]>,
}

// SAFETY: handed out once (flag `TAKEN[3]`), and its one owner writes it through raw pointers
// only (`sys::TraceExport`, whose contract covers the C library's readers).
unsafe impl Sync for TraceSlab {}

/// The runtime's slabs, one after the other, in the order of their first writes: the request
/// heads (at start, about 600 bytes), the reply, then the receive arena. AWS mode's trace
/// slot (1 KB) is just before the arena, on the page that the first event's bytes fault in
/// anyway; at the end of the block it was a page fault of its own. In SCF mode it only moves
/// the arena's start 1 KB further into that page (a head and an event of up to 2.5 KB still
/// arrive on one page).
#[repr(C)]
pub(crate) struct Slabs {
    requests: Slab<REQUESTS>,
    reply: Slab<REPLY>,
    trace: TraceSlab,
    arena: Slab<ARENA>,
}

/// Whether each of [`Slabs`]' slabs has been handed out: requests, reply, arena, trace.
static TAKEN: [AtomicBool; 4] = [const { AtomicBool::new(false) }; 4];

// A `&mut` from `&self` is sound in these three: each slab's flag makes it the only one.
#[allow(clippy::mut_from_ref)]
impl Slabs {
    /// The request heads' slab, the first time.
    pub fn requests(&'static self) -> Option<&'static mut [u8]> {
        // SAFETY: TAKEN[0] is used with this slab only.
        unsafe { self.requests.take(&TAKEN[0]) }
    }

    /// The reply's slab, the first time.
    pub fn reply(&'static self) -> Option<&'static mut [u8]> {
        // SAFETY: TAKEN[1] is used with this slab only.
        unsafe { self.reply.take(&TAKEN[1]) }
    }

    /// The receive arena's slab, the first time.
    pub fn arena(&'static self) -> Option<&'static mut [u8]> {
        // SAFETY: TAKEN[2] is used with this slab only.
        unsafe { self.arena.take(&TAKEN[2]) }
    }

    /// AWS mode's trace slot, the first time.
    pub fn trace(&'static self) -> Option<&'static TraceSlab> {
        (!TAKEN[3].swap(true, Ordering::AcqRel)).then_some(&self.trace)
    }
}

// Where the slabs sit decides how many pages a cold start touches. As ordinary statics they
// land among the program's own `.bss`, ahead of std's and the C library's variables, which
// then fall on pages of their own: std's panic-hook slot is read then written at start (two
// faults on a fresh page) and the C library's start-up writes its variables on another. So
// the block is defined here in a `.lbss` section of its own (zero-filled, no file bytes),
// which GNU ld's default x86-64 script places right after `.bss` (and its common symbols):
// std's and the C library's variables stay packed together, on pages the C library's
// start-up writes anyway, and the block follows them, its first bytes (the request heads) on
// the last of those pages. Each fault was found with `perf record -e page-faults -d` on the
// echo bootstrap; with this block, the vDSO change (`clock`) and the code in `.text.hot`, the
// faults by the time it waits for its second event went from 18–19 to 11–12 (`scf-bench
// profile`, bench/README.md). All zeroes are a valid `Slabs`. Elsewhere than x86-64 Linux
// the block is an ordinary static.
//
// The symbol's name carries the semver-compatible part of this crate's version, so that two
// incompatible copies of the crate in one binary do not define the same symbol (a unit test
// keeps it in step with `Cargo.toml`).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
core::arch::global_asm!(
    ".pushsection .lbss.scf_bootstrap_slabs,\"aw\",@nobits",
    ".p2align {align_log2}",
    ".globl __scf_bootstrap_slabs_v0_1",
    ".hidden __scf_bootstrap_slabs_v0_1",
    ".type __scf_bootstrap_slabs_v0_1, @object",
    ".size __scf_bootstrap_slabs_v0_1, {size}",
    "__scf_bootstrap_slabs_v0_1:",
    ".zero {size}",
    ".popsection",
    size = const core::mem::size_of::<Slabs>(),
    align_log2 = const core::mem::align_of::<Slabs>().trailing_zeros(),
);

#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
extern "C" {
    #[link_name = "__scf_bootstrap_slabs_v0_1"]
    static SLABS: Slabs;
}

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
static SLABS: Slabs = Slabs {
    requests: Slab::new(),
    reply: Slab::new(),
    trace: TraceSlab {
        entry: UnsafeCell::new([0; TRACE_ENTRY]),
        environ: UnsafeCell::new([core::ptr::null_mut(); TRACE_ENVIRON]),
    },
    arena: Slab::new(),
};

/// The process's slabs.
pub(crate) fn slabs() -> &'static Slabs {
    // SAFETY: on x86-64 Linux `SLABS` is the symbol defined above with `Slabs`'s size and
    // alignment, zero-filled like any `.bss`, and zeroes are a valid `Slabs`; it is only
    // reached through shared references (the slabs' interior mutability is their own).
    #[allow(unused_unsafe)]
    unsafe {
        &*core::ptr::addr_of!(SLABS)
    }
}

/// Growable, always-initialised bytes: a static slab first, then the heap.
pub(crate) enum Storage {
    Static(&'static mut [u8]),
    Heap(Vec<u8>),
}

impl Storage {
    /// The slab if there is one (as from [`Slabs`]' methods), else `fallback` zeroed bytes on
    /// the heap.
    pub fn new(slab: Option<&'static mut [u8]>, fallback: usize) -> Storage {
        match slab {
            Some(s) => Storage::Static(s),
            None => Storage::Heap(vec![0; fallback]),
        }
    }

    /// An empty heap storage (for values built outside the runtime, such as in tests).
    pub const fn empty() -> Storage {
        Storage::Heap(Vec::new())
    }

    pub fn len(&self) -> usize {
        match self {
            Storage::Static(s) => s.len(),
            Storage::Heap(v) => v.len(),
        }
    }

    pub fn as_slice(&self) -> &[u8] {
        match self {
            Storage::Static(s) => s,
            Storage::Heap(v) => v,
        }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            Storage::Static(s) => s,
            Storage::Heap(v) => v,
        }
    }

    /// Grows to at least `min` bytes (at least doubling), keeping the first `keep` bytes.
    pub fn grow(&mut self, keep: usize, min: usize) {
        let new_len = (self.len() * 2).max(min).max(64);
        match self {
            Storage::Heap(v) => v.resize(new_len, 0),
            Storage::Static(s) => {
                let mut v = vec![0; new_len];
                v[..keep].copy_from_slice(&s[..keep]);
                *self = Storage::Heap(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slab_symbol_names_this_semver_line() {
        let version = env!("CARGO_PKG_VERSION");
        let mut parts = version.split('.');
        let (major, minor) = (parts.next().unwrap(), parts.next().unwrap());
        // 0.x versions are incompatible with each other; from 1.0 on, majors are.
        let line = if major == "0" {
            format!("v0_{minor}")
        } else {
            format!("v{major}")
        };
        let source = include_str!("slab.rs");
        assert!(
            source.contains(&format!("__scf_bootstrap_slabs_{line}:")),
            "rename __scf_bootstrap_slabs_* to __scf_bootstrap_slabs_{line} for {version}"
        );
    }

    #[test]
    fn a_slab_is_handed_out_once() {
        static S: Slab<8> = Slab::new();
        static TAKEN: AtomicBool = AtomicBool::new(false);
        // SAFETY: TAKEN is S's only flag.
        let a = unsafe { S.take(&TAKEN) }.unwrap();
        a[0] = 1;
        // SAFETY: as above.
        assert!(unsafe { S.take(&TAKEN) }.is_none());
        // SAFETY: as above.
        let mut st = Storage::new(unsafe { S.take(&TAKEN) }, 4);
        assert!(matches!(st, Storage::Heap(_)));
        assert_eq!(st.len(), 4);
        st.as_mut_slice()[..3].copy_from_slice(b"abc");
        st.grow(3, 100);
        assert_eq!(st.len(), 100);
        assert_eq!(&st.as_slice()[..3], b"abc");
    }

    #[test]
    fn the_runtime_slabs_are_handed_out_once_each() {
        // Other tests in this binary may take a slab first (on other threads); after one
        // call each here, every slab has been handed out, and never is again.
        let s = slabs();
        let _ = (s.requests(), s.reply(), s.arena(), s.trace());
        assert!(s.requests().is_none() && s.reply().is_none() && s.arena().is_none());
        assert!(s.trace().is_none());
    }

    #[test]
    fn growing_off_a_slab_keeps_the_bytes() {
        static S: Slab<4> = Slab::new();
        static TAKEN: AtomicBool = AtomicBool::new(false);
        // SAFETY: TAKEN is S's only flag.
        let mut st = Storage::new(unsafe { S.take(&TAKEN) }, 4);
        assert!(matches!(st, Storage::Static(_)));
        st.as_mut_slice().copy_from_slice(b"wxyz");
        st.grow(4, 5);
        assert!(matches!(st, Storage::Heap(_)));
        assert_eq!(&st.as_slice()[..4], b"wxyz");
        assert_eq!(st.len(), 64);
    }
}
