//! Zero heap allocations per warm invocation, in SCF's dialect, in AWS's with a trace header
//! on every event, and in the WebServer image shape: the runtime runs in this process against
//! an in-test runtime API (or, as a server, an in-test client) on another thread, for 1000
//! invocations after warm-up, and two counters watch its thread:
//!
//! - a counting global allocator (Rust's heap);
//! - with glibc, `malloc`, `calloc` and `realloc` themselves, defined in this binary ahead of
//!   the C library's and forwarded to them (`__libc_malloc` …), so that what the C library
//!   allocates for the runtime (as `setenv` did for `_X_AMZN_TRACE_ID`) is counted too.

mod common;

use common::*;
// The kit's scripted fake runtime API, under the name this file was written with.
use scf_bootstrap::{Context, Reply};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// Calls of the C library's allocator on the runtime's thread (glibc only; Rust's allocator
/// calls it too, so this includes [`ALLOCATIONS`]).
static C_ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// Only the runtime's thread is counted; the fake API allocates freely.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards every call to the system allocator unchanged; the counter has no effect
// on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTED.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// glibc's allocator under its own names, which it exports so that a program can wrap it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
mod c_heap {
    use super::{COUNTED, C_ALLOCATIONS};
    use std::cell::Cell;
    use std::ffi::c_void;
    use std::sync::atomic::Ordering;

    extern "C" {
        fn __libc_malloc(size: usize) -> *mut c_void;
        fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
        fn __libc_realloc(ptr: *mut c_void, size: usize) -> *mut c_void;
    }

    fn count() {
        // A `const` thread-local without a destructor: reading it never allocates.
        if COUNTED.with(Cell::get) {
            C_ALLOCATIONS.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `malloc` for the whole process (the C library's own calls included): counted, then
    /// glibc's.
    #[unsafe(no_mangle)]
    pub extern "C" fn malloc(size: usize) -> *mut c_void {
        count();
        // SAFETY: glibc's `malloc` under its exported alias; same contract.
        unsafe { __libc_malloc(size) }
    }

    /// `calloc`: counted, then glibc's.
    #[unsafe(no_mangle)]
    pub extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
        count();
        // SAFETY: glibc's `calloc` under its exported alias; same contract.
        unsafe { __libc_calloc(n, size) }
    }

    /// `realloc`: counted, then glibc's (the block came from glibc's heap: `free`,
    /// `posix_memalign` and the rest are glibc's own, on the same heap).
    ///
    /// # Safety
    ///
    /// As C's `realloc`.
    #[unsafe(no_mangle)]
    pub unsafe extern "C" fn realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
        count();
        // SAFETY: the caller's promise, passed on.
        unsafe { __libc_realloc(ptr, size) }
    }
}

/// Whether the C library's allocator calls are counted here.
const C_COUNTED: bool = cfg!(all(target_os = "linux", target_env = "gnu"));

/// The environment's `_X_AMZN_TRACE_ID`, read without allocating (`std::env::var` would).
fn trace_in_environment() -> Option<&'static [u8]> {
    extern "C" {
        fn getenv(name: *const std::ffi::c_char) -> *const std::ffi::c_char;
    }
    // SAFETY: the name is NUL-terminated; the runtime writes the environment only between
    // invocations, on this same thread, so the value stays put while it is compared.
    let p = unsafe { getenv(c"_X_AMZN_TRACE_ID".as_ptr()) };
    // SAFETY: a non-null `getenv` result is a NUL-terminated string.
    (!p.is_null()).then(|| unsafe { std::ffi::CStr::from_ptr(p) }.to_bytes())
}

/// The echo handler, plus the context accessors a real handler would touch.
fn echo(event: &[u8], ctx: &Context, reply: &mut Reply) {
    assert!(!ctx.request_id().is_empty());
    assert!(ctx.remaining().as_millis() <= 3000 && ctx.deadline() > std::time::Instant::now());
    // AWS: this invocation's trace header, and the same in the environment.
    assert_eq!(
        trace_in_environment(),
        ctx.trace_id().map(str::as_bytes),
        "{}",
        ctx.request_id()
    );
    reply.push_str("Echoing request: '");
    reply.extend_from_slice(event);
    reply.push_str("'");
}

scf_bootstrap::function!(echo);

const WARM_UP: u64 = 10;
const MEASURED: u64 = 1000;

/// Serves warm-up, the measured invocations, one larger event and the `/next` after it, in
/// SCF's dialect or AWS's; asserts the measured window allocated nothing on the runtime's
/// thread, and that the larger event did (so the counter sees the runtime).
fn check(aws: bool) {
    let mut api = ScriptedApi::new();
    let port = api.port();
    let total = WARM_UP + MEASURED + 2;
    let big = WARM_UP + MEASURED;
    let server = std::thread::spawn(move || {
        if !aws {
            api.expect("POST", "/runtime/init/ready");
        }
        let mut snapshots = Vec::new();
        for i in 0..total {
            let r = api.next_request();
            assert!(r.path.ends_with("/runtime/invocation/next"), "{r:?}");
            // The runtime thread is blocked in its read: the count is stable here.
            if i == WARM_UP || i == big || i == big + 1 {
                snapshots.push((
                    ALLOCATIONS.load(Ordering::SeqCst),
                    C_ALLOCATIONS.load(Ordering::SeqCst),
                ));
            }
            // Events of varying sizes, none larger than during warm-up (1 KB), then one of
            // 100 KB that must grow the arena.
            let len = match i {
                i if i < WARM_UP => 1024,
                i if i == big => 100 * 1024,
                i => (i as usize * 37) % 1025,
            };
            let event: Vec<u8> = (0..len).map(|j| b'a' + (j % 26) as u8).collect();
            // Ids of varying length; both header spellings, chunked or not.
            let id = format!("request-{i}");
            if aws {
                aws_event(&mut api, &id, i, &event);
            } else if i % 2 == 0 {
                api.event(&id, &event);
            } else {
                api.answer(
                    200,
                    &[
                        ("Scf_Runtime_Request_Id", &id),
                        ("Scf_Runtime_Memory_Limit_In_Mb", "128"),
                        ("Scf_Runtime_Time_Limit_In_Ms", "3000"),
                    ],
                    &event,
                    if i % 3 == 0 {
                        Send::Chunked(100)
                    } else {
                        Send::Length
                    },
                    After::KeepAlive,
                );
            }
            let r = api.next_request();
            assert!(r.path.ends_with("/response"), "{r:?}");
            assert_eq!(r.body.len(), len + "Echoing request: ''".len());
            api.answer(200, &[], b"", Send::Length, After::KeepAlive);
        }
        snapshots
    });

    COUNTED.with(|c| c.set(true));
    let served = scf_bootstrap::__private::serve_linked("127.0.0.1", port, total, aws);
    COUNTED.with(|c| c.set(false));
    served.unwrap();
    let snapshots = server.join().unwrap();
    let rust = snapshots[1].0 - snapshots[0].0;
    let c = snapshots[1].1 - snapshots[0].1;
    assert_eq!(
        (rust, c),
        (0, 0),
        "aws={aws}: (Rust, C library) allocations in {MEASURED} warm invocations"
    );
    assert!(
        snapshots[2].0 > snapshots[1].0,
        "a 100 KB event allocated nothing?"
    );
    if C_COUNTED {
        assert!(
            snapshots[2].1 > snapshots[1].1,
            "a 100 KB event called malloc on the runtime's thread, and the counter missed it"
        );
    }
}

/// An AWS `/next` answer with a trace header that changes with `i`: its length (so the value
/// is rewritten in place, longer and shorter) and its `Sampled` flag; after warm-up, one event
/// in 50 has none (the variable is removed, then put back).
fn aws_event(api: &mut ScriptedApi, id: &str, i: u64, event: &[u8]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let deadline = (now + 3000).to_string();
    let trace = format!(
        "Root=1-5e1b4151-{:x};Parent=53995c3f42cd8ad8;Sampled={}",
        i * 7919,
        i % 2
    );
    let mut headers = vec![
        ("Lambda-Runtime-Aws-Request-Id", id),
        ("Lambda-Runtime-Deadline-Ms", deadline.as_str()),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:echo",
        ),
    ];
    if i < WARM_UP || i % 50 != 0 {
        headers.push(("Lambda-Runtime-Trace-Id", trace.as_str()));
    }
    api.answer(200, &headers, event, Send::Length, After::KeepAlive);
}

/// Reads one answer of the WebServer shape from `s` (into `buf`, reused): its body length.
fn answer_len(s: &mut std::net::TcpStream, buf: &mut Vec<u8>) -> usize {
    use std::io::Read;
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&buf[..end]).unwrap();
            assert!(head.starts_with("HTTP/1.1 200 "), "{head}");
            let len: usize = head
                .split("\r\n")
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .unwrap()
                .parse()
                .unwrap();
            while buf.len() < end + 4 + len {
                let n = s.read(&mut chunk).unwrap();
                assert!(n > 0, "closed in the middle of an answer");
                buf.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(buf.len(), end + 4 + len, "more than one answer");
            return len;
        }
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "closed before an answer");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The WebServer shape: the same counts, with requests from a keep-alive client of varying
/// sizes and framings, then one of 100 KB.
fn check_webserver() {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let total = WARM_UP + MEASURED + 2;
    let big = WARM_UP + MEASURED;
    let client = std::thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut buf = Vec::new();
        let mut snapshots = Vec::new();
        for i in 0..total {
            // The server's thread waits for this request: the count is stable here.
            if i == WARM_UP || i == big || i == big + 1 {
                snapshots.push((
                    ALLOCATIONS.load(Ordering::SeqCst),
                    C_ALLOCATIONS.load(Ordering::SeqCst),
                ));
            }
            let len = match i {
                i if i < WARM_UP => 1024,
                i if i == big => 100 * 1024,
                i => (i as usize * 37) % 1025,
            };
            let event: Vec<u8> = (0..len).map(|j| b'a' + (j % 26) as u8).collect();
            let mut req = format!(
                "POST /event-invoke HTTP/1.1\r\nX-Scf-Request-Id: request-{i}\r\nX-Scf-Memory: 128\r\nX-Scf-Timeout: 3\r\n"
            )
            .into_bytes();
            if i % 3 == 0 && i != big {
                req.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                for piece in event.chunks(100) {
                    req.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                    req.extend_from_slice(piece);
                    req.extend_from_slice(b"\r\n");
                }
                req.extend_from_slice(b"0\r\n\r\n");
            } else {
                req.extend_from_slice(format!("Content-Length: {len}\r\n\r\n").as_bytes());
                req.extend_from_slice(&event);
            }
            s.write_all(&req).unwrap();
            assert_eq!(
                answer_len(&mut s, &mut buf),
                len + "Echoing request: ''".len()
            );
        }
        snapshots
    });

    COUNTED.with(|c| c.set(true));
    let served = scf_bootstrap::__private::serve_webserver_linked(listener, total);
    COUNTED.with(|c| c.set(false));
    served.unwrap();
    let snapshots = client.join().unwrap();
    let rust = snapshots[1].0 - snapshots[0].0;
    let c = snapshots[1].1 - snapshots[0].1;
    assert_eq!(
        (rust, c),
        (0, 0),
        "webserver: (Rust, C library) allocations in {MEASURED} warm invocations"
    );
    assert!(
        snapshots[2].0 > snapshots[1].0,
        "a 100 KB event allocated nothing?"
    );
}

#[test]
fn warm_invocations_allocate_nothing() {
    // One after the other: the counter is shared.
    check(false);
    // Before AWS, which leaves `_X_AMZN_TRACE_ID` set (the echo compares it with the context).
    check_webserver();
    // AWS, with a trace header that the runtime exports as `_X_AMZN_TRACE_ID`.
    check(true);
}
