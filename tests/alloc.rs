//! Zero heap allocations per warm invocation: the runtime runs in this process under a
//! counting global allocator, against an in-test runtime API on another thread, for 1000
//! invocations after warm-up.

mod common;

use common::*;
// The kit's scripted fake runtime API, under the name this file was written with.
use common::ScriptedApi as FakeApi;
use scf_bootstrap::{Context, Reply};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

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

/// The echo handler, plus the context accessors a real handler would touch.
fn echo(event: &[u8], ctx: &Context, reply: &mut Reply) {
    assert!(!ctx.request_id().is_empty());
    assert!(ctx.remaining().as_millis() <= 3000 && ctx.deadline() > std::time::Instant::now());
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
    let mut api = FakeApi::new();
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
                snapshots.push(ALLOCATIONS.load(Ordering::SeqCst));
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
                api.aws_event(&id, 3000, &event);
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
    let per_warm = snapshots[1] - snapshots[0];
    assert_eq!(
        per_warm, 0,
        "aws={aws}: {per_warm} allocations in {MEASURED} warm invocations"
    );
    assert!(
        snapshots[2] > snapshots[1],
        "a 100 KB event allocated nothing?"
    );
}

#[test]
fn warm_invocations_allocate_nothing() {
    // One after the other: the counter is shared.
    check(false);
    // AWS: `_X_AMZN_TRACE_ID` goes through the C library's `setenv`, which copies the value
    // outside Rust's allocator; the runtime itself allocates nothing.
    check(true);
}
