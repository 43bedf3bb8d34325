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

/// `POLLIN`, `POLLERR`, `POLLHUP`: `<poll.h>` (Linux `asm-generic/poll.h`).
#[cfg_attr(not(feature = "image"), allow(dead_code))]
const POLLIN: i16 = 0x1;
#[cfg_attr(not(feature = "image"), allow(dead_code))]
const POLLERR: i16 = 0x8;
#[cfg_attr(not(feature = "image"), allow(dead_code))]
const POLLHUP: i16 = 0x10;

/// `struct pollfd`: `<poll.h>`.
#[cfg_attr(not(feature = "image"), allow(dead_code))]
#[repr(C)]
struct PollFd {
    fd: c_int,
    events: i16,
    revents: i16,
}

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
    /// The process's environment: `<unistd.h>` (POSIX lets a program point it elsewhere).
    static mut environ: *mut *mut c_char;
    fn putenv(entry: *mut c_char) -> c_int;
    fn unsetenv(name: *const c_char) -> c_int;
}

#[cfg(target_os = "linux")]
extern "C" {
    fn recv(fd: c_int, buf: *mut u8, len: usize, flags: c_int) -> isize;
    fn __errno_location() -> *mut c_int;
    fn clock_gettime(clock: c_int, ts: *mut Timespec) -> c_int;
    fn syscall(number: core::ffi::c_long, ...) -> core::ffi::c_long;
}

extern "C" {
    fn poll(fds: *mut PollFd, nfds: core::ffi::c_ulong, timeout: c_int) -> c_int;
    fn fcntl(fd: c_int, cmd: c_int, ...) -> c_int;
    fn dup2(old: c_int, new: c_int) -> c_int;
}

/// `F_DUPFD_CLOEXEC` (`<fcntl.h>`, Linux 2.6.24): a copy of a descriptor, closed on exec.
const F_DUPFD_CLOEXEC: c_int = 1030;

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

/// `_X_AMZN_TRACE_ID=`, the start of the trace entry.
const TRACE_NAME: &[u8] = b"_X_AMZN_TRACE_ID=";
/// The longest trace header kept in the slot; a longer one goes through `setenv`.
pub(crate) const TRACE_MAX: usize = crate::slab::TRACE_ENTRY - TRACE_NAME.len() - 1;

/// AWS mode: exports each invocation's trace header as `_X_AMZN_TRACE_ID`, as the X-Ray SDKs
/// expect, without the allocator.
///
/// `setenv` copies `name=value` into a fresh `malloc` block on every call (and frees the
/// previous one): two allocator calls per invocation, and at the first invocation the C
/// library's heap set-up. Instead the entry is one fixed buffer (`slab::TraceSlab`) put into
/// the environment once and rewritten in place for each invocation. Putting it in needs a
/// pointer array one entry longer than the environment's; rather than `putenv`'s `malloc`,
/// the environment's pointers are copied into the slot's own array and `environ` is pointed
/// at it, which POSIX allows a program to do. The C library's `setenv`, `putenv` and
/// `unsetenv` still work on it afterwards: each compares `environ` with the array it
/// allocated last and copies a foreign one into a new allocation before growing it. One step
/// goes past POSIX's wording, which blesses assigning `environ` but not writing into the
/// array it points to: after an event without a trace header (entry removed), the next one
/// appends the entry to the slot's array while it is the environment. musl and glibc read
/// `environ` afresh on every call and keep no copy of it, so that is safe with both.
///
/// The contract, for handlers: the value is rewritten between invocations, on the runtime's
/// thread, while no handler runs, and without any lock (neither std's environment lock nor
/// the C library's). Read it during the invocation; a thread that outlives its invocation and
/// reads it while the next event arrives may see a value that is being rewritten. That is
/// what `setenv` allows too (it is not safe against concurrent `getenv`), but without a lock
/// the rewrite is also not atomic against `std::env::var`. A handler that sets or removes
/// `_X_AMZN_TRACE_ID` itself is overruled at the next invocation.
///
/// Fallbacks, each allocating as `setenv` did: a header longer than [`TRACE_MAX`] bytes goes
/// through `setenv`; an environment of more than `slab::TRACE_ENVIRON - 2` variables gets the
/// entry through `putenv` (one allocation, once); a second runtime in one process (tests) has
/// no slot and uses `setenv` throughout.
pub(crate) struct TraceExport {
    /// `None` until the first export, then the slot if this exporter got it.
    slot: Option<Option<&'static crate::slab::TraceSlab>>,
}

impl TraceExport {
    /// An exporter that has not asked for the slot yet (SCF mode never does).
    pub const fn new() -> TraceExport {
        TraceExport { slot: None }
    }

    /// Makes `_X_AMZN_TRACE_ID` the invocation's trace header, or removes it when there is
    /// none (or when it holds a NUL byte, which no environment entry can). The first call
    /// takes the process's slot if no other exporter has.
    pub fn export(&mut self, trace: Option<&[u8]>) {
        let trace = trace.filter(|t| !t.contains(&0));
        let Some(slot) = *self
            .slot
            .get_or_insert_with(|| crate::slab::slabs().trace())
        else {
            return export_with_setenv(trace);
        };
        let entry = slot.entry.get().cast::<u8>();
        let value = match trace {
            Some(t) if t.len() <= TRACE_MAX => t,
            // `unsetenv` and `setenv` find the slot's entry by its name like any other: it is
            // removed, or replaced by a copy.
            other => return export_with_setenv(other),
        };
        // SAFETY: the slot is this exporter's alone (handed out once), `entry` has room for
        // the name, `TRACE_MAX` bytes of value and the NUL, and `value` holds no NUL. Readers
        // through the environment are covered by the contract above (no handler runs now).
        unsafe {
            let at = entry.add(TRACE_NAME.len());
            core::ptr::copy_nonoverlapping(value.as_ptr(), at, value.len());
            *at.add(value.len()) = 0;
            if *entry == 0 {
                core::ptr::copy_nonoverlapping(TRACE_NAME.as_ptr(), entry, TRACE_NAME.len());
            }
            install_entry(slot, entry);
        }
    }
}

/// The fallback: std's `set_var` / `remove_var` (the C library's `setenv` / `unsetenv`).
fn export_with_setenv(trace: Option<&[u8]>) {
    use std::os::unix::ffi::OsStrExt;
    match trace {
        Some(t) => std::env::set_var("_X_AMZN_TRACE_ID", std::ffi::OsStr::from_bytes(t)),
        None => std::env::remove_var("_X_AMZN_TRACE_ID"),
    }
}

/// The number of entries of the environment `env` (a null-terminated array, or null).
///
/// # Safety
///
/// `env` is null or a valid environment array.
unsafe fn environ_len(env: *mut *mut c_char) -> usize {
    let mut n = 0;
    // SAFETY: the array ends with a null pointer (the caller's promise).
    while !env.is_null() && unsafe { !(*env.add(n)).is_null() } {
        n += 1;
    }
    n
}

/// Puts `entry` (the slot's, already written) into the environment unless it is there:
/// appended in the slot's array, after removing any other `_X_AMZN_TRACE_ID` entry.
///
/// # Safety
///
/// `entry` is `slot`'s NUL-terminated `_X_AMZN_TRACE_ID=` entry; nothing else changes the
/// environment concurrently.
unsafe fn install_entry(slot: &crate::slab::TraceSlab, entry: *mut u8) {
    // SAFETY: `environ` is the C library's environment array, read and written on this
    // thread only while no handler runs (the contract of `TraceExport`); every index read is
    // below its length; the slot's array has `TRACE_ENVIRON` entries and is written only
    // below `n + 2 <= TRACE_ENVIRON`.
    unsafe {
        let mut env = environ;
        let mut n = environ_len(env);
        // Pointers first: once installed, a warm invocation reads no other entry's bytes.
        if (0..n).any(|i| (*env.add(i)).cast::<u8>() == entry) {
            return;
        }
        // Another `_X_AMZN_TRACE_ID` (the caller's, a handler's, or the `setenv` copy of a
        // header too long for the slot): removed with `unsetenv`, which frees it if the C
        // library allocated it, rather than overwritten, which would leak it. The comparison
        // stops at the first byte that differs, at the latest at the NUL.
        let named = |e: *mut c_char| {
            let e = e.cast::<u8>();
            TRACE_NAME.iter().enumerate().all(|(k, &b)| *e.add(k) == b)
        };
        if (0..n).any(|i| named(*env.add(i))) {
            unsetenv(c"_X_AMZN_TRACE_ID".as_ptr());
            env = environ;
            n = environ_len(env);
        }
        let copy = slot.environ.get().cast::<*mut c_char>();
        if n + 2 > crate::slab::TRACE_ENVIRON {
            putenv(entry.cast());
            return;
        }
        if env != copy {
            core::ptr::copy_nonoverlapping(env, copy, n);
        }
        *copy.add(n) = entry.cast();
        *copy.add(n + 1) = core::ptr::null_mut();
        environ = copy;
    }
}

/// Standard output set aside for one result (the Job shape): what was descriptor 1, while 1
/// itself points at standard error, so that whatever the init phase and the handler print
/// (a `println!`, a child process's output) goes to the log and not into the result.
#[cfg_attr(not(feature = "image"), allow(dead_code))]
pub(crate) struct ResultOut(c_int);

/// Sets standard output aside ([`ResultOut`]); `None` (nothing changed) if a descriptor
/// call fails. The copy is closed on exec, so child processes cannot write into the result.
#[cfg_attr(not(feature = "image"), allow(dead_code))]
pub(crate) fn set_stdout_aside() -> Option<ResultOut> {
    // SAFETY: `fcntl` and `dup2` on the process's own standard descriptors, at start, before
    // any other thread of the runtime exists; the copy is a new descriptor of ours.
    unsafe {
        let copy = fcntl(1, F_DUPFD_CLOEXEC, 3);
        if copy < 0 {
            return None;
        }
        if dup2(2, 1) < 0 {
            let _ = dup2(copy, 1);
            return None;
        }
        Some(ResultOut(copy))
    }
}

/// Writes `bytes` whole to `out` (the standard output set aside, or descriptor 1 itself
/// without one), unbuffered and without std's `Stdout` (its lock and line buffer are code
/// the bootstrap would carry for one write).
#[cfg_attr(not(feature = "image"), allow(dead_code))]
pub(crate) fn write_result(out: Option<&ResultOut>, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    let fd = out.map_or(1, |o| o.0);
    // SAFETY: `fd` is standard output or its copy, open for the process's whole life; the
    // `File` is never dropped (`ManuallyDrop`), so it is not closed here.
    let mut file = core::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd) });
    file.write_all(bytes)
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

/// The WebServer shape's idle wait: blocks until the open connection `conn` has bytes (or
/// was closed, or failed), or a new connection waits on `listener`. Returns whether each is
/// ready; an error of `poll` itself counts as "the connection is ready", so that the read
/// that follows reports it.
#[cfg_attr(not(feature = "image"), allow(dead_code))]
pub(crate) fn wait_readable(
    conn: std::os::fd::BorrowedFd<'_>,
    listener: std::os::fd::BorrowedFd<'_>,
) -> (bool, bool) {
    use std::os::fd::AsRawFd;
    let mut fds = [
        PollFd {
            fd: conn.as_raw_fd(),
            events: POLLIN,
            revents: 0,
        },
        PollFd {
            fd: listener.as_raw_fd(),
            events: POLLIN,
            revents: 0,
        },
    ];
    loop {
        // SAFETY: `fds` is a valid array of two `struct pollfd` for the call's duration, both
        // descriptors are open (borrowed), and -1 means no timeout.
        let n = unsafe { poll(fds.as_mut_ptr(), 2, -1) };
        if n > 0 {
            let ready = |f: &PollFd| f.revents & (POLLIN | POLLERR | POLLHUP) != 0;
            return (ready(&fds[0]), ready(&fds[1]));
        }
        if n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return (true, false);
        }
    }
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
