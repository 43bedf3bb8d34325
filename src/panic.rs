//! Reporting a handler's panic to `/runtime/invocation/error`.
//!
//! - `panic = "abort"` (the release profile): the hook runs before the abort. If an
//!   invocation is in progress (on any thread), it posts `panicked at <file>:<line>:<col>:
//!   <message>` over a new connection, waits for the answer, prints the usual panic message,
//!   and the process then aborts; the platform starts a new instance for the next event.
//! - `panic = "unwind"`: the hook only records the message of a panic on the runtime's own
//!   thread; the runtime catches the unwind, posts the message as the invocation's error and
//!   serves the next event with the same instance and the same state. A panic in another
//!   thread ends that thread only, as in any Rust program.
//! - `-Cpanic=immediate-abort` (the nightly min-size build): no hook runs at all; the process
//!   ends at once and the platform reports the exit.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use crate::function::Outcome;
use crate::http::conn::{Conn, Retry};
use crate::http::request::{aws_error_body, Dialect, LengthLine, Requests};
use crate::lifecycle::{result_parts, PANIC};

/// Set while the handler runs.
static IN_INVOCATION: AtomicBool = AtomicBool::new(false);
/// AWS: the id of the invocation in progress (its error path names it).
static REQUEST_ID: Mutex<Vec<u8>> = Mutex::new(Vec::new());
/// Where to post a panic: the API address and the requests.
static TARGET: OnceLock<(SocketAddr, Requests)> = OnceLock::new();

thread_local! {
    /// Under unwind: the message of the runtime thread's last panic.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Under unwind: is this the runtime's thread, inside the handler?
    static HANDLER_THREAD: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Installs the hook, which posts to the runtime API at `addr` with `requests`.
pub(crate) fn install(addr: SocketAddr, requests: Requests) {
    let _ = TARGET.set((addr, requests));
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if cfg!(panic = "unwind") {
            if HANDLER_THREAD.with(|h| h.get()) {
                LAST.with(|l| *l.borrow_mut() = Some(message(info)));
            }
        } else if IN_INVOCATION.swap(false, Ordering::SeqCst) {
            post(&message(info));
        }
        default(info);
    }));
}

/// Marks the start (with the request id) or the end of a handler call.
#[inline]
pub(crate) fn in_invocation(on: bool, request_id: &[u8]) {
    if cfg!(panic = "unwind") {
        HANDLER_THREAD.with(|h| h.set(on));
        return;
    }
    if on && TARGET.get().is_some_and(|(_, r)| r.dialect == Dialect::Aws) {
        // Keeps its capacity: no allocation once ids stop growing.
        let mut id = REQUEST_ID.lock().unwrap_or_else(|e| e.into_inner());
        id.clear();
        id.extend_from_slice(request_id);
    }
    IN_INVOCATION.store(on, Ordering::Release);
}

/// Under unwind: the message the hook recorded for the panic just caught.
#[cfg(panic = "unwind")]
pub(crate) fn take_message() -> String {
    LAST.with(|l| l.borrow_mut().take())
        .unwrap_or_else(|| String::from("panicked"))
}

/// `panicked at <file>:<line>:<col>: <message>`, without `core::fmt` for the common payloads.
fn message(info: &PanicHookInfo<'_>) -> String {
    let payload = info
        .payload()
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| info.payload().downcast_ref::<String>().map(String::as_str))
        .unwrap_or("Box<dyn Any>");
    let mut m = String::with_capacity(64 + payload.len());
    m.push_str("panicked");
    if let Some(loc) = info.location() {
        let mut n = itoa::Buffer::new();
        m.push_str(" at ");
        m.push_str(loc.file());
        m.push(':');
        m.push_str(n.format(loc.line()));
        m.push(':');
        m.push_str(n.format(loc.column()));
    }
    m.push_str(": ");
    m.push_str(payload);
    m
}

/// Posts `msg` as the invocation's error over a new connection and waits for the answer.
fn post(msg: &str) {
    let Some((addr, requests)) = TARGET.get() else {
        return;
    };
    let id = REQUEST_ID
        .lock()
        .map(|id| id.clone())
        .unwrap_or_else(|e| e.into_inner().clone());
    let mut body = Vec::new();
    let body = match requests.dialect {
        Dialect::Scf => msg.as_bytes(),
        Dialect::Aws => {
            aws_error_body(PANIC, msg.as_bytes(), &mut body);
            &body
        }
    };
    let len = LengthLine::new(body.len());
    let (parts, n) = result_parts(requests, Outcome::Failure, &id, PANIC, &len, body);
    let mut conn = Conn::new(*addr);
    if let Err(e) = conn.roundtrip(&parts[..n], Retry::Once) {
        crate::diag::say_io(&[b"could not report the panic: "], e, conn.last_io.as_ref());
    }
}
