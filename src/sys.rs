//! The runtime's only door to the C library and the kernel: every `extern` declaration, every
//! fixed number from a C header, and every `unsafe` block outside the slabs (`slab.rs`) and
//! the panic hook (`panic.rs`). The rest of the crate calls the safe functions here.
//!
//! The numbers are Linux's ABI, the same under musl and glibc; each names the header it comes
//! from. Declarations are written by hand rather than taken from the `libc` crate: see
//! [`crate`]'s docs ("Unsafe code") for the measurement.

#![allow(unsafe_code)]

use core::ffi::{c_char, c_int, CStr};

/// `SIGPIPE`: `<signal.h>` (Linux `asm-generic/signal.h`; 13 on x86-64 and aarch64).
const SIGPIPE: c_int = 13;
/// `SIG_IGN`, the "ignore" disposition: `<signal.h>` (`((void (*)(int)) 1)`).
const SIG_IGN: usize = 1;

/// `MSG_PEEK`: `<sys/socket.h>` (Linux `linux/socket.h`).
#[cfg(target_os = "linux")]
const MSG_PEEK: c_int = 0x2;
/// `MSG_DONTWAIT`: `<sys/socket.h>` (Linux `linux/socket.h`).
#[cfg(target_os = "linux")]
const MSG_DONTWAIT: c_int = 0x40;
/// `EAGAIN`, which is also `EWOULDBLOCK` on Linux: `<errno.h>` (`asm-generic/errno-base.h`).
#[cfg(target_os = "linux")]
const EAGAIN: c_int = 11;

/// `CLOCK_REALTIME`: `<time.h>` (Linux `linux/time.h`).
pub(crate) const CLOCK_REALTIME: c_int = 0;
/// `CLOCK_MONOTONIC`, the clock `Instant` reads on Linux: `<time.h>` (Linux `linux/time.h`).
pub(crate) const CLOCK_MONOTONIC: c_int = 1;

/// `SYS_clock_gettime` on x86-64: `<sys/syscall.h>` (Linux `asm/unistd_64.h`, from
/// `arch/x86/entry/syscalls/syscall_64.tbl`).
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
const SYS_CLOCK_GETTIME: core::ffi::c_long = 228;
/// `SYS_clock_gettime` on aarch64: `<sys/syscall.h>` (Linux's generic table,
/// `asm-generic/unistd.h`).
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
const SYS_CLOCK_GETTIME: core::ffi::c_long = 113;

/// `struct timespec` on 64-bit Linux (glibc and musl alike): two 64-bit fields.
#[cfg(target_os = "linux")]
#[repr(C)]
struct Timespec {
    tv_sec: i64,
    tv_nsec: i64,
}

extern "C" {
    fn getenv(name: *const c_char) -> *const c_char;
    fn signal(signum: c_int, handler: usize) -> usize;
}

#[cfg(target_os = "linux")]
extern "C" {
    fn recv(fd: c_int, buf: *mut u8, len: usize, flags: c_int) -> isize;
    fn __errno_location() -> *mut c_int;
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    fn syscall(number: core::ffi::c_long, ...) -> core::ffi::c_long;
}

extern "Rust" {
    /// Defined by [`main!`](crate::main) / [`function!`](crate::function) in the user's crate.
    fn __scf_bootstrap_function_v1() -> crate::function::Linked;
}

/// The handler the binary links: calls the symbol that the user's [`main!`](crate::main) or
/// [`function!`](crate::function) defines (its init phase runs here).
pub(crate) fn linked() -> crate::function::Linked {
    // SAFETY: the symbol is defined by this crate's macros, in the binary being linked,
    // with exactly this signature (the `_v1` suffix changes if the signature does).
    unsafe { __scf_bootstrap_function_v1() }
}

/// Reads an environment variable without allocating: `f` gets its bytes, or `None`.
///
/// `std::env::var_os` copies the value into a new `OsString`; at start that would be the
/// process's first heap allocation (see `slab.rs` for what that costs).
pub(crate) fn with_env<R>(name: &CStr, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    // SAFETY: `name` is NUL-terminated. This runs at start, on the main thread, before the
    // user's init: nothing can be changing the environment concurrently. The value is only
    // borrowed for the duration of `f`.
    let value = unsafe {
        let p = getenv(name.as_ptr());
        (!p.is_null()).then(|| CStr::from_ptr(p).to_bytes())
    };
    f(value)
}

/// Ignores `SIGPIPE`, as std's runtime set-up does: a write to a connection the peer closed
/// must be an error, not the end of the process.
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
pub(crate) fn ignore_sigpipe() {
    // SAFETY: `signal` is the C library's; setting a standard signal to SIG_IGN has no
    // memory-safety requirements.
    unsafe {
        signal(SIGPIPE, SIG_IGN);
    }
}

/// One non-blocking `recv(MSG_PEEK)` of a byte on `fd`: is the peer gone (orderly close, an
/// error other than "would block") or has it sent bytes nobody asked for?
///
/// errno is read directly: an `io::Error` would call into std's text (its `kind` and its
/// drop), pages the cold path touches for nothing else.
#[cfg(target_os = "linux")]
pub(crate) fn peer_gone_or_spoke(fd: std::os::fd::BorrowedFd<'_>) -> bool {
    use std::os::fd::AsRawFd;
    let mut byte = 0u8;
    // SAFETY: `recv` is the C library's; the fd is open for as long as it is borrowed, and
    // the buffer is one valid, writable byte. MSG_DONTWAIT keeps the call from blocking.
    let n = unsafe { recv(fd.as_raw_fd(), &mut byte, 1, MSG_PEEK | MSG_DONTWAIT) };
    // 0: orderly close; > 0: bytes nobody asked for; < 0: EAGAIN means alive, anything else gone.
    // SAFETY: `__errno_location` (musl and glibc alike) returns the calling thread's errno.
    n >= 0 || unsafe { *__errno_location() } != EAGAIN
}

/// Nanoseconds on `clock` (`CLOCK_MONOTONIC` or `CLOCK_REALTIME`): with the `clock_gettime`
/// system call itself when `syscall` (no vDSO pages touched; see `clock.rs`), else through
/// the C library's `clock_gettime` (the vDSO once it has been looked up).
#[cfg(target_os = "linux")]
#[unsafe(link_section = ".text.hot.scf_bootstrap")]
pub(crate) fn clock_ns(clock: c_int, syscall: bool) -> u64 {
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec`; the clock ids and system call
    // numbers are Linux's, and the system call takes the same two arguments as the C function.
    unsafe {
        match syscall {
            #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
            true => {
                self::syscall(
                    SYS_CLOCK_GETTIME,
                    clock as core::ffi::c_long,
                    &mut ts as *mut Timespec,
                );
            }
            // Elsewhere, the system call number is not known here: the C library's function.
            _ => {
                clock_gettime(clock, &mut ts);
            }
        }
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(test)]
mod tests {
    /// `#![deny(unsafe_code)]` cannot see inside the few hot free functions that carry
    /// `#[allow(unsafe_code)]` for their `link_section` alone; this keeps them honest. Outside
    /// `sys.rs`, `slab.rs` and `panic.rs`, no source file has an `unsafe` block, function,
    /// impl or `extern` block.
    #[test]
    fn unsafe_code_is_in_sys_slab_and_panic_only() {
        fn visit(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    visit(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        visit(&src, &mut files);
        assert!(files.len() > 10, "{files:?}");
        let allowed = ["sys.rs", "slab.rs", "panic.rs"].map(|f| src.join(f));
        for file in files.iter().filter(|f| !allowed.contains(f)) {
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap();
                for needle in [
                    "unsafe {",
                    "unsafe fn",
                    "unsafe impl",
                    "extern \"C\"",
                    "asm!",
                ] {
                    // `lib.rs`'s macros expand in the user's crate: their `extern "C" fn
                    // __wrap_main` is the process entry, not a call into C.
                    let entry = needle == "extern \"C\"" && code.contains("extern \"C\" fn");
                    assert!(
                        !code.contains(needle) || entry,
                        "{}:{}: `{needle}` outside sys.rs, slab.rs and panic.rs",
                        file.display(),
                        n + 1
                    );
                }
            }
        }
    }
}
