//! Reporting a handler's panic to `/runtime/invocation/error`.
//!
//! - `panic = "abort"` (the `bootstrap` profile): the hook runs before the abort. If an
//!   invocation is in progress (on any thread), it posts `panicked at <file>:<line>:<col>:
//!   <message>` over a new connection (after printing the usual panic message, so that it is
//!   in the invocation's log), waits for the answer, and the process then aborts; the
//!   platform starts a new instance for the next event.
//! - `panic = "unwind"`: the hook only records the message of a panic on the runtime's own
//!   thread; the runtime catches the unwind, posts the message as the invocation's error and
//!   serves the next event with the same instance and the same state. A panic in another
//!   thread ends that thread only, as in any Rust program.
//! - `-Cpanic=immediate-abort` (the nightly min-size build): no hook runs at all; the process
//!   ends at once and the platform reports the exit.

use std::cell::{RefCell, UnsafeCell};
use std::mem::MaybeUninit;
use std::net::SocketAddr;
use std::panic::PanicHookInfo;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};

use crate::function::Outcome;
use crate::http::conn::{Conn, Part, Retry};
use crate::http::request::{
    aws_error_body, result_parts, Body, Dialect, LengthLine, Requests, MAX_HOST, PANIC,
};

/// Set while the handler runs.
static IN_INVOCATION: AtomicBool = AtomicBool::new(false);
/// Longest request id the hook can name in an AWS error path.
const MAX_ID: usize = 128;
/// AWS: the id of the invocation in progress (its error path names it), in a fixed array so
/// that keeping it allocates nothing. Bytes in atomics rather than under a `Mutex`: written by
/// the runtime's thread before each handler call, read by the hook of a panic on any thread,
/// and no lock code on the warm path (std's `Mutex::lock` is out of line, on a page of text
/// that AWS mode's first invocation touched for it alone). A hook that is still reading when
/// the next invocation starts may read a mix of two ids, never a torn byte.
static REQUEST_ID: [AtomicU8; MAX_ID] = [const { AtomicU8::new(0) }; MAX_ID];
/// The length of [`REQUEST_ID`]'s id.
static REQUEST_ID_LEN: AtomicUsize = AtomicUsize::new(0);
/// Where to post a panic: the API address, its dialect and `Host` (the requests are built
/// when a panic needs them, not copied at start).
struct Target {
    addr: SocketAddr,
    dialect: Dialect,
    host: [u8; MAX_HOST],
    host_len: usize,
}
/// The hook that was installed before ours (std's default), called after ours.
type Hook = Box<dyn Fn(&PanicHookInfo<'_>) + Send + Sync>;
/// The target and the previous hook, written once by [`install`] and read by the hook.
struct Installed {
    /// `None` in the image shapes: there is no runtime API to post to.
    target: Option<Target>,
    previous: Hook,
}
/// Where [`Installed`] lives: written once while [`STATE`] is 1, read only once it is 2.
struct Slot(UnsafeCell<MaybeUninit<Installed>>);
// SAFETY: the slot is written by the one thread that moved STATE from 0 to 1, before it
// stores 2 (Release); it is read only after loading 2 (Acquire), and never written again.
#[allow(unsafe_code)]
unsafe impl Sync for Slot {}
static SLOT: Slot = Slot(UnsafeCell::new(MaybeUninit::uninit()));
/// 0: empty; 1: being written; 2: written. A hand-rolled once rather than `OnceLock` or a
/// lock: those run closures or guard drops placed in a page of text that the start-up would
/// touch for nothing else.
static STATE: AtomicU8 = AtomicU8::new(0);

/// What [`install`] wrote, once it has.
#[allow(unsafe_code)]
fn installed() -> Option<&'static Installed> {
    if STATE.load(Ordering::Acquire) != 2 {
        return None;
    }
    // SAFETY: STATE is 2, so the slot was written and will not be written again (see Slot).
    Some(unsafe { (*SLOT.0.get()).assume_init_ref() })
}

/// The target speaks AWS's dialect (whose error path names the request id).
static AWS: AtomicBool = AtomicBool::new(false);

thread_local! {
    /// Under unwind: the message of the runtime thread's last panic.
    static LAST: RefCell<Option<String>> = const { RefCell::new(None) };
    /// Under unwind: is this the runtime's thread, inside the handler?
    static HANDLER_THREAD: core::cell::Cell<bool> = const { core::cell::Cell::new(false) };
}

/// Installs the hook, which posts to the runtime API at `addr` (speaking `dialect`, with
/// `host` as `Host`), or with `None` (the image shapes) only records the message for the
/// unwinding runtime; called again, does nothing. Allocates nothing: std's default hook and
/// our closure are zero-sized.
#[allow(unsafe_code)]
pub(crate) fn install(to: Option<(SocketAddr, Dialect, &[u8])>) {
    let target = to.map(|(addr, dialect, host)| {
        let mut target = Target {
            addr,
            dialect,
            host: [0; MAX_HOST],
            host_len: host.len(),
        };
        target.host[..host.len()].copy_from_slice(host);
        target
    });
    let dialect = target.as_ref().map_or(Dialect::Scf, |t| t.dialect);
    if STATE
        .compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed)
        .is_err()
    {
        // Installed already (only `start` installs, once per process).
        return;
    }
    AWS.store(dialect == Dialect::Aws, Ordering::Relaxed);
    let previous = std::panic::take_hook();
    // SAFETY: this thread moved STATE from 0 to 1, so it alone writes the slot, once, and
    // nobody reads it before the store of 2 below.
    unsafe {
        (*SLOT.0.get()).write(Installed { target, previous });
    }
    STATE.store(2, Ordering::Release);
    std::panic::set_hook(Box::new(|info| {
        // The usual message first: the platform collects output until the error is posted,
        // so printing it afterwards could leave it out of the invocation's log.
        let Some(installed) = installed() else {
            return;
        };
        (installed.previous)(info);
        if cfg!(panic = "unwind") {
            if HANDLER_THREAD.with(|h| h.get()) {
                LAST.with(|l| *l.borrow_mut() = Some(message(info)));
            }
        } else if let Some(target) = &installed.target {
            if IN_INVOCATION.swap(false, Ordering::SeqCst) {
                post(target, &message(info));
            }
        }
    }));
}

/// Marks the start (with the request id) or the end of a handler call.
#[inline]
pub(crate) fn in_invocation(on: bool, request_id: &[u8]) {
    if cfg!(panic = "unwind") {
        HANDLER_THREAD.with(|h| h.set(on));
        return;
    }
    if on && AWS.load(Ordering::Relaxed) {
        let n = request_id.len().min(MAX_ID);
        for (slot, &b) in REQUEST_ID.iter().zip(&request_id[..n]) {
            slot.store(b, Ordering::Relaxed);
        }
        REQUEST_ID_LEN.store(n, Ordering::Relaxed);
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
fn post(target: &Target, msg: &str) {
    let requests = &Requests::new(target.dialect, &target.host[..target.host_len]);
    // Published by the `Release` store of `IN_INVOCATION` that the hook's swap read.
    let id_len = REQUEST_ID_LEN.load(Ordering::Relaxed).min(MAX_ID);
    let mut id = [0u8; MAX_ID];
    for (b, slot) in id.iter_mut().zip(&REQUEST_ID) {
        *b = slot.load(Ordering::Relaxed);
    }
    let mut body = Vec::new();
    let body = match requests.dialect {
        Dialect::Scf => msg.as_bytes(),
        Dialect::Aws => {
            aws_error_body(PANIC, msg.as_bytes(), &mut body);
            &body
        }
    };
    let len = LengthLine::new(body.len());
    let (parts, n) = result_parts(
        requests,
        Outcome::Failure,
        Part::Bytes(&id[..id_len]),
        PANIC,
        &len,
        Body::Bytes(body),
    );
    let mut conn = Conn::new(target.addr);
    if let Err(e) = conn.roundtrip(&parts[..n], Retry::Once) {
        crate::diag::say_io(&[b"could not report the panic: "], e, conn.last_io.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn installing_twice_keeps_the_first_hook_and_target() {
        let a: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let b: SocketAddr = "127.0.0.1:10".parse().unwrap();
        install(Some((a, Dialect::Scf, b"127.0.0.1:9")));
        install(Some((b, Dialect::Aws, b"127.0.0.1:10")));
        install(None);
        let target = installed().unwrap().target.as_ref().unwrap();
        assert_eq!(target.addr, a);
        assert_eq!(&target.host[..target.host_len], b"127.0.0.1:9");
        assert!(!AWS.load(Ordering::Relaxed));
        // Outside an invocation the hook only hands on to the previous one: it records
        // nothing. (Had the second install made our hook its own predecessor, this would
        // recurse until the stack overflowed.)
        let caught = std::panic::catch_unwind(|| panic!("a test panic, expected"));
        assert_eq!(
            caught.unwrap_err().downcast_ref::<&str>(),
            Some(&"a test panic, expected")
        );
        assert!(
            LAST.with(|l| l.borrow().is_none()),
            "recorded outside an invocation"
        );
        // Inside one, the hook in place is ours, and it records the message the runtime
        // posts as the invocation's error, with the panic's location.
        in_invocation(true, b"request-id");
        let line = line!() + 1;
        let caught = std::panic::catch_unwind(|| panic!("a test panic, expected"));
        in_invocation(false, b"");
        assert!(caught.is_err());
        let recorded = take_message();
        let at = format!("panicked at {}:{line}:", file!());
        let col = recorded
            .strip_prefix(&at)
            .and_then(|rest| rest.strip_suffix(": a test panic, expected"))
            .and_then(|col| col.parse::<u32>().ok());
        assert!(
            col.is_some_and(|col| col > 0),
            "{recorded:?}, not {at}<column>: a test panic, expected"
        );
        // Taken once: the next caught panic's message is not this one.
        assert_eq!(take_message(), "panicked");
    }
}
