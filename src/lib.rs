//! A tiny, fast-starting runtime for [Tencent Cloud SCF] Custom Runtime functions written in
//! Rust: your handler plus this crate make one static `bootstrap` binary.
//!
//! [Tencent Cloud SCF]: https://cloud.tencent.com/product/scf
//!
//! # The lifecycle
//!
//! SCF starts the `bootstrap` at the root of the code package and talks to it over plain
//! HTTP/1.1 at `http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT`:
//!
//! 1. **init**: your init code runs (open clients, read files, start agents);
//! 2. **ready**: `POST /runtime/init/ready` with the body `" "`;
//! 3. **loop**: `GET /runtime/invocation/next` (a long poll) → your handler →
//!    `POST /runtime/invocation/response` with the result, or
//!    `POST /runtime/invocation/error` with a plain-text message.
//!
//! This crate owns the process entry and that loop (see `lifecycle.rs`); you supply a
//! function through the [`main!`] macro and write no `unsafe`. The same binary speaks AWS
//! Lambda's runtime API when started with `AWS_LAMBDA_RUNTIME_API` instead.
//!
//! # Deployment shapes
//!
//! The same handler also serves SCF's two image shapes, compiled in with the `image` feature
//! (off by default; without it the bootstrap carries none of their code):
//!
//! - **WebServer image** (`SCF_BOOTSTRAP_MODE=webserver`): init, then an HTTP/1.1 server on
//!   `0.0.0.0:9000` (`SCF_BOOTSTRAP_PORT`); each request's body is the event, its
//!   `X-Scf-Request-Id` the request id, its other `X-Scf-*` headers the function's facts in the
//!   [`Context`]; `Ok` is a `200` with the reply, `Err` a `500` with the error text. One
//!   connection at a time, kept alive; heads, bodies and waits bounded (see `webserver.rs`).
//! - **Job image** (`SCF_BOOTSTRAP_MODE=job`, or `SCF_EVENT_BODY` set): the event from
//!   `SCF_EVENT_BODY`, the handler once, the reply on standard output and exit code 0, or the
//!   error on standard error and exit code 1.
//!
//! `docs/protocol.md` ("Image shapes (runtime side)") has every variable, header and status.
//!
//! # Example
//!
//! ```no_run
//! use scf_bootstrap::{Context, Reply};
//!
//! fn echo(event: &[u8], _ctx: &Context, reply: &mut Reply) {
//!     reply.push_str("Echoing request: '");
//!     reply.extend_from_slice(event);
//!     reply.push_str("'");
//! }
//!
//! scf_bootstrap::main!(echo);
//! ```
//!
//! With an init phase whose state every invocation gets, and errors:
//!
//! ```no_run
//! use scf_bootstrap::{Context, Reply};
//! use std::io::Write;
//!
//! struct State { greeting: String }
//!
//! fn init() -> Result<State, std::env::VarError> {
//!     Ok(State { greeting: std::env::var("GREETING")? })
//! }
//!
//! fn handle(state: &mut State, event: &[u8], ctx: &Context, reply: &mut Reply)
//!     -> Result<(), String>
//! {
//!     if event.is_empty() {
//!         return Err(format!("empty event for {}", ctx.request_id()));
//!     }
//!     write!(reply, "{} {}", state.greeting, ctx.request_id()).map_err(|e| e.to_string())
//! }
//!
//! scf_bootstrap::main!(init = init, handler = handle);
//! ```
//!
//! - The event is a `&[u8]` borrowed from the runtime's receive buffer: never copied.
//! - The [`Reply`] is one buffer cleared and reused for every invocation;
//!   [`Reply::extend_from_event`] sends part of the event back without copying it.
//! - `Ok(())` (or `()`) posts the reply as the result; `Err(e)` posts `e`'s `Display` text
//!   to `/runtime/invocation/error`.
//! - An init error prints `scf-bootstrap: init failed: <text>` on stderr and exits with code 1
//!   without reporting ready; the platform reports the failed init.
//!
//! # How the handler is linked
//!
//! [`main!`] expands to `fn main` (which calls into this crate) and to one `#[no_mangle]`
//! function, `__scf_bootstrap_function_v1`, that runs the init phase and returns the boxed
//! handler. The runtime reaches your code only through that `extern "Rust"` symbol, so its
//! loop is compiled once, not per handler type. This crate defines no C `main`, so test
//! harnesses and other binaries in a workspace link as usual; a binary that calls
//! `scf_bootstrap` without the macro fails to link with an undefined
//! `__scf_bootstrap_function_v1`. Use [`function!`] instead of [`main!`] to define the symbol
//! without `fn main` (in a test that drives the runtime itself).
//!
//! [`main!`] also defines `extern "C" fn __wrap_main`, which nothing calls unless the binary is
//! linked with `-Wl,--wrap=main` (as `cargo scf build` and this crate's `build.rs` do for
//! musl): the C library then starts the runtime directly and std's runtime set-up is skipped
//! (the runtime ignores `SIGPIPE` itself), a dozen fewer system calls at start. Without the
//! flag it is dead code and `fn main` runs as usual.
//!
//! # Cold start
//!
//! A cold start is mostly the kernel's work, and past the system calls (one more than a
//! minimal C bootstrap: ignoring `SIGPIPE`) what this crate adds to it is pages touched for
//! the first time, each a page fault. So the cold path keeps to few pages: its code is in
//! `.text.hot.scf_bootstrap`, which GNU ld (the linker cargo uses for musl) places at the
//! start of `.text`, next to the C library's entry point; its buffers (request heads, the
//! first reply and receive buffers) are static slabs in one common symbol, which the linker
//! places after std's and the C library's variables (see `slab.rs`); its own stack stays
//! under 4 KB; and the first event's arrival time is read with a system call rather than
//! through the vDSO, whose first use faults in two pages (`clock.rs`). With another linker
//! the layout is simply the default one.
//!
//! # Panics
//!
//! With `panic = "abort"` (the `bootstrap` profile), a panic during an invocation is posted to
//! `/runtime/invocation/error` as `panicked at <file>:<line>:<col>: <message>` before the
//! process aborts; the platform then starts a fresh instance for the next event. With
//! `panic = "unwind"` the panic is caught, posted the same way, and the same instance serves
//! the next event, state intact; this costs about nothing on the warm path, and is the better
//! choice when init is expensive and the handler may panic. With the nightly
//! `-Cpanic=immediate-abort` build, the process ends at once and the platform reports the exit.
//!
//! # Exit codes
//!
//! - `2`: `SCF_RUNTIME_API` (and `AWS_LAMBDA_RUNTIME_API`) missing, `SCF_RUNTIME_API_PORT`
//!   missing or not a port, or an address that is not an IP; `SCF_BOOTSTRAP_MODE` not one of
//!   `custom`, `aws`, `webserver`, `job`; `SCF_BOOTSTRAP_PORT` not a port; an image shape
//!   asked of a bootstrap built without the `image` feature. One line on stderr says which.
//! - `1`: the init phase failed, or the runtime API could not be reached (refused at start,
//!   or gone while waiting for the next event), or the WebServer shape could not listen, or
//!   the Job shape's handler returned an error. One line on stderr says why.
//! - `0`: the Job shape's handler succeeded.
//!
//! # The HTTP client
//!
//! One keep-alive `TcpStream` with `TCP_NODELAY`, each request one vectored write, responses
//! parsed by `httparse`, `Content-Length`, `chunked` and until-close bodies, a head bounded
//! by [`MAX_HEAD`] bytes and [`MAX_HEADERS`] headers, a body bounded by [`MAX_BODY`]. No read
//! timeout: `/next` is a long poll. The reconnect/retry rule is in `http/conn.rs`: a result is
//! never posted twice when the first may have arrived. Nothing is allocated on the heap
//! before ready is reported, nor on a warm invocation, in either dialect (see `slab.rs`).
//!
//! # Unsafe code
//!
//! The crate is `#![deny(unsafe_code)]`; three modules may use `unsafe`, each block with a
//! `// SAFETY:` comment:
//!
//! - `sys.rs`: every call into the C library or the kernel (`getenv`, `signal`, `recv` with
//!   `errno`, `clock_gettime` and its system call, `poll` for the WebServer shape's idle wait,
//!   standard output as a `File` for the Job shape's result, and under AWS the
//!   `_X_AMZN_TRACE_ID` entry written into the environment), every fixed number from a C
//!   header, and the call of the handler symbol the user's [`main!`] defines. Everything else
//!   calls its safe functions.
//! - `slab.rs`: the static slabs, handed out once (as `&'static mut`, or as the raw storage of
//!   the trace entry), and the block of them
//!   placed in `.lbss` with `global_asm!`.
//! - `panic.rs`, three items only: the once-written slot that the panic hook reads, which
//!   avoids `OnceLock`'s code on the cold path.
//!
//! Besides these, `#[unsafe(link_section = ".text.hot.scf_bootstrap")]` on a free function
//! counts as unsafe code to the lint (a wrong section could break the link), so the few hot
//! free functions outside `sys.rs` carry an item-level `#[allow(unsafe_code)]` and contain
//! no `unsafe`. The C declarations are written by hand rather than taken from the `libc`
//! crate. Measured with `libc` 0.2.191 (`default-features = false`) in `sys.rs`' place: the
//! stripped echo bootstrap is the same size either way (401,504 bytes stable, 46,696 bytes
//! `min-size`), so `libc` would cost no bytes; it is not used because six declarations and
//! seven named numbers are less to review than a third dependency of the runtime.
//!
//! # Size
//!
//! Dependencies are `httparse` and `itoa` only; the warm path formats nothing with
//! `core::fmt`. See the README for the size, memory and allocation budgets and the commands
//! that measure them.

#![deny(missing_docs)]
#![deny(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod address;
mod clock;
mod context;
mod diag;
mod error;
mod function;
mod http;
mod job;
mod lifecycle;
#[cfg(not(panic = "immediate-abort"))]
mod panic;
mod reply;
mod shape;
mod slab;
mod sys;
mod webserver;

pub use context::{Context, Environment};
pub use error::Error;
pub use function::{Function, IntoOutcome, Outcome, Stateful, Stateless};
pub use http::response;
pub use http::response::{MAX_BODY, MAX_HEAD, MAX_HEADERS};
pub use lifecycle::{EXIT_BAD_ENVIRONMENT, EXIT_FAILURE};
pub use reply::{Reply, MAX_SPLICES, SPLICE_MIN};

/// Defines the bootstrap's `fn main` and links a handler into the runtime.
///
/// - `main!(handler)` for a handler without state:
///   `fn(&[u8], &Context, &mut Reply) -> R`;
/// - `main!(init = init, handler = handler)` with an init phase
///   `fn() -> Result<S, E>` (`E: Display`) that runs before ready, and a handler
///   `fn(&mut S, &[u8], &Context, &mut Reply) -> R`.
///
/// `R` is `()` or `Result<(), E>` with `E: Display` (see [`IntoOutcome`]). Closures work too.
#[macro_export]
macro_rules! main {
    ($($args:tt)+) => {
        $crate::function!($($args)+);

        fn main() {
            $crate::__private::start()
        }

        /// The process entry when linked with `-Wl,--wrap=main` (as `.cargo/config.toml` does
        /// for musl): the C `main` of the binary, skipping std's runtime set-up.
        #[unsafe(no_mangle)]
        #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
        extern "C" fn __wrap_main(
            _argc: ::core::ffi::c_int,
            _argv: *const *const ::core::ffi::c_char,
        ) -> ::core::ffi::c_int {
            $crate::__private::start_bare()
        }
    };
}

/// Links a handler into the runtime without defining `fn main`; same forms as [`main!`].
#[macro_export]
macro_rules! function {
    (init = $init:expr, handler = $handler:expr $(,)?) => {
        /// The one symbol the runtime links against: runs the init phase, returns the handler.
        #[unsafe(no_mangle)]
        pub fn __scf_bootstrap_function_v1() -> $crate::__private::Linked {
            $crate::__private::stateful($init, $handler)
        }
    };
    (handler = $handler:expr $(,)?) => {
        $crate::function!($handler);
    };
    ($handler:expr $(,)?) => {
        /// The one symbol the runtime links against: returns the handler.
        #[unsafe(no_mangle)]
        pub fn __scf_bootstrap_function_v1() -> $crate::__private::Linked {
            $crate::__private::stateless($handler)
        }
    };
}

/// Implementation details of the macros; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::function::{stateful, stateless, Linked};

    use crate::sys::linked;

    /// The process entry, called by the `fn main` that [`main!`](crate::main) defines.
    #[inline]
    pub fn start() -> ! {
        crate::lifecycle::start(linked)
    }

    /// The process entry without std's runtime set-up (the `__wrap_main` that
    /// [`main!`](crate::main) defines): ignores `SIGPIPE` itself, then as [`start`].
    #[inline]
    #[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn start_bare() -> ! {
        crate::sys::ignore_sigpipe();
        crate::lifecycle::start(linked)
    }

    /// Runs the runtime for `count` events against the runtime API at `host:port` (SCF's, or
    /// AWS Lambda's when `aws`), with the function the linked symbol returns, reporting ready
    /// first. For tests that drive the runtime in-process (the allocation test); the error
    /// says which step failed.
    pub fn serve_linked(host: &str, port: u16, count: u64, aws: bool) -> Result<(), &'static str> {
        let dialect = if aws {
            crate::http::request::Dialect::Aws
        } else {
            crate::http::request::Dialect::Scf
        };
        let api = crate::address::RuntimeApi::new(dialect, host, port)
            .map_err(|_| "bad runtime API address")?;
        let mut f = linked().map_err(|_| "the init phase failed")?;
        let mut rt = crate::lifecycle::Runtime::new(&api);
        rt.ready().map_err(|_| "ready failed")?;
        match rt.serve(&mut *f, Some(count)) {
            crate::lifecycle::Stop::Served => Ok(()),
            crate::lifecycle::Stop::NextFailed => Err("fetching the next event failed"),
        }
    }

    /// Runs the WebServer shape on `listener` for `count` invocations, with the function the
    /// linked symbol returns (its init phase first). For tests that drive it in-process (the
    /// allocation test).
    pub fn serve_webserver_linked(
        listener: std::net::TcpListener,
        count: u64,
    ) -> Result<(), &'static str> {
        let mut f = linked().map_err(|_| "the init phase failed")?;
        crate::webserver::Server::new(listener).serve(&mut *f, Some(count));
        Ok(())
    }
}
