//! The lifecycle: start → init → ready → loop { next → handler → response | error }.
//!
//! The same loop speaks SCF's runtime API (`SCF_RUNTIME_API` set) or AWS Lambda's
//! (`AWS_LAMBDA_RUNTIME_API` set and `SCF_RUNTIME_API` not): under AWS there is no ready call,
//! the request id is part of the result paths, the deadline is a header, and errors are JSON
//! `{"errorType","errorMessage"}` with `Lambda-Runtime-Function-Error-Type`.

use crate::address::RuntimeApi;
use crate::clock::Via;
use crate::context::AwsInvocation;
use crate::diag::{say, say_io};
use crate::function::{Function, Linked, Outcome};
use crate::http::conn::{Conn, Part, Retry};
use crate::http::request::{
    aws_error_body, result_parts, Body, Dialect, LengthLine, Requests, ERROR_TYPE_END,
    HANDLER_ERROR, INIT_ERROR, INVALID_EVENT,
};
use crate::http::response::{parse_decimal, Field, Head};
use crate::shape::Shape;
use crate::sys::TraceExport;
use crate::{Context, Error, Reply};

/// Exit code for a bad environment (missing or invalid runtime API address).
pub const EXIT_BAD_ENVIRONMENT: i32 = 2;
/// Exit code for a failed init phase or a runtime API that cannot be reached.
pub const EXIT_FAILURE: i32 = 1;

/// The runtime's state between invocations: the connection with its receive arena, the
/// prebuilt requests and the reply buffer. Creating it allocates nothing.
pub(crate) struct Runtime {
    conn: Conn,
    pub requests: Requests,
    reply: Reply,
    /// AWS: the JSON error body.
    scratch: Vec<u8>,
    /// How to read the clock: a system call for the first event, the vDSO after it (see
    /// `clock`).
    clock: Via,
    /// AWS: where `_X_AMZN_TRACE_ID` is written.
    trace: TraceExport,
}

/// Why the loop stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// `/next` could not be fetched; the error was printed.
    NextFailed,
    /// The requested number of events was served.
    Served,
}

/// A request id kept for diagnostics after the arena has been reused (cut to 64 bytes).
struct IdForDiagnostics {
    bytes: [u8; 64],
    len: usize,
}

impl IdForDiagnostics {
    fn new(id: &[u8]) -> IdForDiagnostics {
        let mut d = IdForDiagnostics {
            bytes: [0; 64],
            len: id.len().min(64),
        };
        d.bytes[..d.len].copy_from_slice(&id[..d.len]);
        d
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Runtime {
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn new(api: &RuntimeApi) -> Runtime {
        Runtime {
            conn: Conn::new(api.addr),
            requests: Requests::new(api.dialect, api.host()),
            reply: Reply::for_runtime(),
            scratch: Vec::new(),
            clock: Via::Syscall,
            trace: TraceExport::new(),
        }
    }

    /// SCF: `POST /runtime/init/ready`. A refusal (non-2xx) is printed, and the runtime goes
    /// on. AWS has no ready call: the first `/next` says it.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn ready(&mut self) -> Result<(), Error> {
        if self.requests.dialect == Dialect::Aws {
            return Ok(());
        }
        let ready = Part::Bytes(self.requests.ready());
        match self.conn.roundtrip(&[ready], Retry::Idempotent) {
            Ok(r) => {
                if !(200..300).contains(&r.head.status) {
                    let b = &self.conn.buf()[r.body_range()];
                    refused(b"ready", r.head.status, b"", b);
                }
                Ok(())
            }
            Err(e) => {
                say_io(
                    &[b"cannot report ready to the runtime API: "],
                    e,
                    self.conn.last_io.as_ref(),
                );
                Err(e)
            }
        }
    }

    /// AWS: reports a failed init phase to `/runtime/init/error`. SCF has no such endpoint.
    pub fn init_error(&mut self, message: &[u8]) {
        if self.requests.dialect != Dialect::Aws {
            return;
        }
        self.scratch.clear();
        aws_error_body(INIT_ERROR, message, &mut self.scratch);
        let len = LengthLine::new(self.scratch.len());
        let parts = [
            Part::Bytes(self.requests.init_error()),
            Part::Bytes(INIT_ERROR),
            Part::Bytes(ERROR_TYPE_END),
            Part::Bytes(len.as_bytes()),
            Part::Bytes(&self.scratch),
        ];
        if let Err(e) = self.conn.roundtrip(&parts, Retry::Once) {
            say_io(
                &[b"could not report the init error: "],
                e,
                self.conn.last_io.as_ref(),
            );
        }
    }

    /// Fetches one event, runs `f` on it and posts the outcome. `Err` only when `/next` fails.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn invoke(&mut self, f: &mut dyn Function) -> Result<(), Stop> {
        let next = Part::Bytes(self.requests.next());
        let resp = match self.conn.roundtrip(&[next], Retry::Idempotent) {
            Ok(r) => r,
            Err(e) => {
                say_io(
                    &[b"cannot fetch the next event: "],
                    e,
                    self.conn.last_io.as_ref(),
                );
                return Err(Stop::NextFailed);
            }
        };
        let arrival = crate::clock::monotonic_ns(self.clock);
        let clock = core::mem::replace(&mut self.clock, Via::Vdso);
        let buf = self.conn.buf();
        if !(200..300).contains(&resp.head.status) {
            refused(b"next", resp.head.status, b"", &buf[resp.body_range()]);
            return Err(Stop::NextFailed);
        }
        let head = resp.head;
        let (id_start, id_end) = head.fields[Field::RequestId as usize].unwrap_or_default();
        let (id_start, id_end) = (id_start as usize, id_end as usize);
        let diag_id = IdForDiagnostics::new(&buf[id_start..id_end]);
        let dialect = self.requests.dialect;

        let event_range = resp.body_range();
        self.reply
            .begin(&buf[event_range.clone()], event_range.start);
        let (outcome, error_type) = match invocation(dialect, buf, &head, arrival, clock) {
            Ok(ctx) => {
                if dialect == Dialect::Aws {
                    self.trace.export(ctx.trace_id().map(str::as_bytes));
                }
                call(f, &buf[event_range], &ctx, &mut self.reply)
            }
            Err(msg) => {
                self.reply.extend_from_slice(msg);
                (Outcome::Failure, INVALID_EVENT)
            }
        };

        if dialect == Dialect::Aws && id_start == id_end {
            // Nowhere to post: the path needs the id.
            say(&[
                b"dropped an event without a request id: ",
                self.reply.as_bytes(),
            ]);
            self.reply.end();
            return Ok(());
        }
        let body = match (dialect, outcome) {
            (Dialect::Aws, Outcome::Failure) => {
                self.scratch.clear();
                aws_error_body(error_type, self.reply.as_bytes(), &mut self.scratch);
                Body::Bytes(&self.scratch)
            }
            _ => Body::Reply(&self.reply),
        };
        let len = LengthLine::new(match body {
            Body::Bytes(b) => b.len(),
            Body::Reply(r) => r.len(),
        });
        let (parts, n) = result_parts(
            &self.requests,
            outcome,
            Part::Arena(id_start, id_end),
            error_type,
            &len,
            body,
        );
        let what: &[u8] = match outcome {
            Outcome::Success => b"response",
            Outcome::Failure => b"error",
        };
        match self.conn.roundtrip(&parts[..n], Retry::Once) {
            Ok(r) if (200..300).contains(&r.head.status) => {}
            Ok(r) => refused(
                what,
                r.head.status,
                diag_id.as_bytes(),
                &self.conn.buf()[r.body_range()],
            ),
            Err(e) => say_io(
                &[
                    b"could not post the ",
                    what,
                    b" for request ",
                    diag_id.as_bytes(),
                    b": ",
                ],
                e,
                self.conn.last_io.as_ref(),
            ),
        }
        self.reply.end();
        Ok(())
    }

    /// Serves events until `/next` fails, or `count` events when given (for tests).
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn serve(&mut self, f: &mut dyn Function, count: Option<u64>) -> Stop {
        let mut served = 0u64;
        loop {
            if count.is_some_and(|c| served >= c) {
                return Stop::Served;
            }
            if let Err(stop) = self.invoke(f) {
                return stop;
            }
            served += 1;
        }
    }
}

/// Builds the invocation's context from the `/next` headers, or says what is wrong with them.
fn invocation<'a>(
    dialect: Dialect,
    buf: &'a [u8],
    head: &Head,
    arrival: u64,
    clock: Via,
) -> Result<Context<'a>, &'static [u8]> {
    let id = head
        .field(buf, Field::RequestId)
        .filter(|id| !id.is_empty())
        .ok_or(&b"the runtime API sent an event without a request id header"[..])?;
    let id = core::str::from_utf8(id)
        .map_err(|_| &b"the runtime API sent a request id that is not UTF-8"[..])?;
    if dialect == Dialect::Aws {
        let deadline_ms = head
            .field(buf, Field::DeadlineMs)
            .and_then(parse_decimal)
            .ok_or(
                &b"the runtime API sent a missing or invalid Lambda-Runtime-Deadline-Ms header"[..],
            )?;
        let left = (deadline_ms as u64).saturating_sub(crate::clock::realtime_ms(clock));
        let text = |f| {
            head.field(buf, f)
                .and_then(|v| core::str::from_utf8(v).ok())
        };
        let deadline = arrival.saturating_add(left.saturating_mul(1_000_000));
        let mut ctx = Context::of_process(id, None, left, deadline);
        ctx.aws = Some(AwsInvocation {
            function_arn: text(Field::FunctionArn),
            trace_id: text(Field::TraceId),
            client_context: text(Field::ClientContext),
        });
        return Ok(ctx);
    }
    let memory = head
        .field(buf, Field::MemoryLimitInMb)
        .and_then(parse_decimal)
        .and_then(|m| u32::try_from(m).ok())
        .ok_or(&b"the runtime API sent a missing or invalid memory_limit_in_mb header"[..])?;
    let time = head
        .field(buf, Field::TimeLimitInMs)
        .and_then(parse_decimal)
        .ok_or(&b"the runtime API sent a missing or invalid time_limit_in_ms header"[..])?;
    let deadline = arrival.saturating_add((time as u64).saturating_mul(1_000_000));
    Ok(Context::of_process(id, Some(memory), time as u64, deadline))
}

/// Runs the handler; the outcome and, for a failure, the AWS error type. A panic becomes a
/// failure when panics unwind.
#[inline]
pub(crate) fn call(
    f: &mut dyn Function,
    event: &[u8],
    ctx: &Context<'_>,
    reply: &mut Reply,
) -> (Outcome, &'static [u8]) {
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::in_invocation(true, ctx.request_id().as_bytes());
    #[cfg(panic = "unwind")]
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f.call(event, ctx, reply)
    })) {
        Ok(o) => (o, HANDLER_ERROR),
        Err(_) => {
            reply.clear();
            reply.push_str(&crate::panic::take_message());
            (Outcome::Failure, crate::http::request::PANIC)
        }
    };
    #[cfg(not(panic = "unwind"))]
    let outcome = (f.call(event, ctx, reply), HANDLER_ERROR);
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::in_invocation(false, b"");
    outcome
}

/// Prints a non-2xx answer of the runtime API.
fn refused(what: &[u8], status: u16, id: &[u8], body: &[u8]) {
    let mut code = itoa::Buffer::new();
    let body = &body[..body.len().min(512)];
    let for_id: &[u8] = if id.is_empty() { b"" } else { b" for request " };
    say(&[
        b"the runtime API answered ",
        code.format(status).as_bytes(),
        b" to ",
        what,
        for_id,
        id,
        b": ",
        body,
    ]);
}

/// The process entry: read the runtime API's address, run the init phase of the linked
/// function, report ready, and serve events until the runtime API goes away. Never returns.
///
/// Nothing here allocates on the heap before ready is reported (unless the user's init does):
/// the address is read with `getenv`, the requests are built in a fixed array, the receive
/// arena and the reply start in static slabs, the function's environment is read on first
/// use, and the panic hook is a zero-sized closure.
#[allow(unsafe_code)] // `link_section` only (see the crate docs, "Unsafe code")
#[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
/// The init phase of a shape without a runtime API to report to (WebServer, Job): the panic
/// hook, then `link`; a failed init is said on standard error and exits with
/// [`EXIT_FAILURE`].
#[cfg_attr(not(feature = "image"), allow(dead_code))]
pub(crate) fn init_standalone(link: fn() -> Linked) -> Box<dyn crate::function::Function> {
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::install(None);
    match link() {
        Ok(f) => f,
        Err(msg) => {
            say(&[b"init failed: ", msg.as_bytes()]);
            std::process::exit(EXIT_FAILURE);
        }
    }
}

pub(crate) fn start(link: fn() -> Linked) -> ! {
    match Shape::from_env() {
        Ok(Shape::RuntimeApi) => {}
        #[cfg(feature = "image")]
        Ok(Shape::Job) => crate::job::start(link),
        #[cfg(feature = "image")]
        Ok(Shape::WebServer) => crate::webserver::start(link),
        #[cfg(not(feature = "image"))]
        Ok(Shape::Job | Shape::WebServer) => {
            say(&[b"the image shapes (SCF_BOOTSTRAP_MODE=webserver or job, or SCF_EVENT_BODY) need the `image` feature of scf-bootstrap, which this bootstrap was built without"]);
            std::process::exit(EXIT_BAD_ENVIRONMENT);
        }
        Err(msg) => {
            say(&[msg]);
            std::process::exit(EXIT_BAD_ENVIRONMENT);
        }
    }
    let api = match RuntimeApi::from_env() {
        Ok(api) => api,
        Err(msg) => {
            say(&[msg]);
            std::process::exit(EXIT_BAD_ENVIRONMENT);
        }
    };
    if api.dialect == Dialect::Aws {
        crate::context::use_aws_environment();
    }
    let mut rt = Runtime::new(&api);
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::install(Some((api.addr, api.dialect, api.host())));

    let mut function = match link() {
        Ok(f) => f,
        Err(msg) => {
            say(&[b"init failed: ", msg.as_bytes()]);
            rt.init_error(msg.as_bytes());
            std::process::exit(EXIT_FAILURE);
        }
    };
    if rt.ready().is_err() {
        std::process::exit(EXIT_FAILURE);
    }
    rt.serve(&mut *function, None);
    std::process::exit(EXIT_FAILURE)
}
