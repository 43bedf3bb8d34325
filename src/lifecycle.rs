//! The lifecycle: start → init → ready → loop { next → handler → response | error }.
//!
//! The same loop speaks SCF's runtime API (`SCF_RUNTIME_API` set) or AWS Lambda's
//! (`AWS_LAMBDA_RUNTIME_API` set and `SCF_RUNTIME_API` not): under AWS there is no ready call,
//! the request id is part of the result paths, the deadline is a header, and errors are JSON
//! `{"errorType","errorMessage"}` with `Lambda-Runtime-Function-Error-Type`.

#[cfg(feature = "dns")]
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::context::AwsInvocation;
use crate::diag::{say, say_io};
use crate::function::{Function, Linked, Outcome};
use crate::http::conn::{Conn, Retry, MAX_PARTS};
use crate::http::request::{aws_error_body, Dialect, LengthLine, Requests, ERROR_TYPE_END};
use crate::http::response::{parse_decimal, Field, Head};
use crate::{Context, Environment, Error, Reply};

/// Exit code for a bad environment (missing or invalid runtime API address).
pub const EXIT_BAD_ENVIRONMENT: i32 = 2;
/// Exit code for a failed init phase or a runtime API that cannot be reached.
pub const EXIT_FAILURE: i32 = 1;

/// AWS `errorType` of a handler's error.
pub(crate) const HANDLER_ERROR: &[u8] = b"HandlerError";
/// AWS `errorType` of a handler's panic.
#[cfg_attr(panic = "immediate-abort", allow(dead_code))]
pub(crate) const PANIC: &[u8] = b"Panic";
/// AWS `errorType` of an event whose headers the runtime cannot use.
const INVALID_EVENT: &[u8] = b"Runtime.InvalidEvent";
/// AWS `errorType` of a failed init phase.
const INIT_ERROR: &[u8] = b"Runtime.InitError";

/// Where the runtime API listens and which dialect it speaks.
pub(crate) struct Api {
    pub dialect: Dialect,
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: Vec<u8>,
}

impl Api {
    /// Reads the address from the environment: `SCF_RUNTIME_API` and `SCF_RUNTIME_API_PORT`,
    /// or else `AWS_LAMBDA_RUNTIME_API` (`host:port`). On failure, the one-line reason.
    pub fn from_env() -> Result<Api, &'static [u8]> {
        if let Some(host) = std::env::var_os("SCF_RUNTIME_API") {
            let host = host
                .into_string()
                .map_err(|_| &b"SCF_RUNTIME_API is not valid UTF-8"[..])?;
            let port = std::env::var_os("SCF_RUNTIME_API_PORT")
                .ok_or(&b"SCF_RUNTIME_API_PORT is not set"[..])?;
            let port = port
                .to_str()
                .and_then(parse_port)
                .ok_or(&b"SCF_RUNTIME_API_PORT is not a port number (1-65535)"[..])?;
            return Api::new(Dialect::Scf, &host, port);
        }
        if let Some(aws) = std::env::var_os("AWS_LAMBDA_RUNTIME_API") {
            let bad = &b"AWS_LAMBDA_RUNTIME_API is not host:port"[..];
            let aws = aws.into_string().map_err(|_| bad)?;
            let (host, port) = aws.rsplit_once(':').ok_or(bad)?;
            let port = parse_port(port).ok_or(bad)?;
            let host = host.trim_start_matches('[').trim_end_matches(']');
            return Api::new(Dialect::Aws, host, port);
        }
        Err(b"SCF_RUNTIME_API is not set: this program is an SCF Custom Runtime bootstrap, to be started by the platform or by scf-local")
    }

    /// The address of `host` (an IP address or a name) and `port`.
    pub fn new(dialect: Dialect, host: &str, port: u16) -> Result<Api, &'static [u8]> {
        let ip = match host.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) if host.eq_ignore_ascii_case("localhost") => IpAddr::V4(Ipv4Addr::LOCALHOST),
            Err(_) => resolve(host, port)?,
        };
        let mut h = Vec::with_capacity(host.len() + 8);
        let bracket = ip.is_ipv6() && !host.starts_with('[');
        if bracket {
            h.push(b'[');
        }
        h.extend_from_slice(host.as_bytes());
        if bracket {
            h.push(b']');
        }
        h.push(b':');
        h.extend_from_slice(itoa::Buffer::new().format(port).as_bytes());
        Ok(Api {
            dialect,
            addr: SocketAddr::new(ip, port),
            host: h,
        })
    }
}

fn parse_port(s: &str) -> Option<u16> {
    parse_decimal(s.as_bytes())
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0)
}

/// Resolves a host name (the `dns` feature: musl's resolver adds about 24 KB to the binary,
/// and the platform always gives an IP address).
#[cfg(feature = "dns")]
fn resolve(host: &str, port: u16) -> Result<IpAddr, &'static [u8]> {
    (host, port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .map(|a| a.ip())
        .ok_or(&b"the runtime API host is neither an IP address nor a name that resolves"[..])
}

#[cfg(not(feature = "dns"))]
fn resolve(_: &str, _: u16) -> Result<IpAddr, &'static [u8]> {
    Err(b"the runtime API host is not an IP address (names other than localhost need the `dns` feature of scf-bootstrap)")
}

/// The parts of a result request: `head`'s text around the request id (AWS), the error type
/// (AWS errors), the length and the body. Used by the loop and by the panic hook.
pub(crate) fn result_parts<'a>(
    requests: &'a Requests,
    outcome: Outcome,
    request_id: &'a [u8],
    error_type: &'a [u8],
    len: &'a LengthLine,
    body: &'a [u8],
) -> ([&'a [u8]; MAX_PARTS], usize) {
    let head = match outcome {
        Outcome::Success => &requests.response,
        Outcome::Failure => &requests.error,
    };
    let mut parts: [&[u8]; MAX_PARTS] = [&[]; MAX_PARTS];
    let n = match (requests.dialect, outcome) {
        (Dialect::Scf, _) => {
            parts[..3].copy_from_slice(&[&head.before_id, len.as_bytes(), body]);
            3
        }
        (Dialect::Aws, Outcome::Success) => {
            parts[..5].copy_from_slice(&[
                &head.before_id,
                request_id,
                &head.after_id,
                len.as_bytes(),
                body,
            ]);
            5
        }
        (Dialect::Aws, Outcome::Failure) => {
            parts[..7].copy_from_slice(&[
                &head.before_id,
                request_id,
                &head.after_id,
                error_type,
                ERROR_TYPE_END,
                len.as_bytes(),
                body,
            ]);
            7
        }
    };
    (parts, n)
}

/// The runtime's state between invocations: the connection with its receive arena, the
/// prebuilt requests, the environment and the reply buffer.
pub(crate) struct Runtime {
    conn: Conn,
    pub requests: Requests,
    env: Environment,
    reply: Reply,
    /// The current request id, copied out of the arena: it names the result's path (AWS)
    /// and the diagnostics after the handler.
    request_id: Vec<u8>,
    /// AWS: the JSON error body.
    scratch: Vec<u8>,
}

/// Why the loop stopped.
#[derive(Debug)]
pub(crate) enum Stop {
    /// `/next` could not be fetched; the error was printed.
    NextFailed,
    /// The requested number of events was served.
    Served,
}

impl Runtime {
    pub fn new(api: &Api, env: Environment) -> Runtime {
        Runtime {
            conn: Conn::new(api.addr),
            requests: Requests::new(api.dialect, &api.host),
            env,
            reply: Reply::with_capacity(4096),
            request_id: Vec::with_capacity(64),
            scratch: Vec::new(),
        }
    }

    /// SCF: `POST /runtime/init/ready`. A refusal (non-2xx) is printed, and the runtime goes
    /// on. AWS has no ready call: the first `/next` says it.
    pub fn ready(&mut self) -> Result<(), Error> {
        if self.requests.dialect == Dialect::Aws {
            return Ok(());
        }
        match self
            .conn
            .roundtrip(&[&self.requests.ready], Retry::Idempotent)
        {
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
        let parts: [&[u8]; 5] = [
            &self.requests.init_error,
            INIT_ERROR,
            ERROR_TYPE_END,
            len.as_bytes(),
            &self.scratch,
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
    pub fn invoke(&mut self, f: &mut dyn Function) -> Result<(), Stop> {
        let resp = match self
            .conn
            .roundtrip(&[&self.requests.next], Retry::Idempotent)
        {
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
        let arrival = Instant::now();
        let buf = self.conn.buf();
        if !(200..300).contains(&resp.head.status) {
            refused(b"next", resp.head.status, b"", &buf[resp.body_range()]);
            return Err(Stop::NextFailed);
        }
        let head = resp.head;
        let id = head.field(buf, Field::RequestId).unwrap_or_default();
        self.request_id.clear();
        self.request_id.extend_from_slice(id);
        let dialect = self.requests.dialect;

        self.reply.clear();
        let (outcome, error_type) = match invocation(dialect, buf, &head, arrival, &self.env) {
            Ok(ctx) => {
                if dialect == Dialect::Aws {
                    export_trace_id(ctx.trace_id());
                }
                call(f, &buf[resp.body_range()], &ctx, &mut self.reply)
            }
            Err(msg) => {
                self.reply.extend_from_slice(msg);
                (Outcome::Failure, INVALID_EVENT)
            }
        };

        if dialect == Dialect::Aws && self.request_id.is_empty() {
            // Nowhere to post: the path needs the id.
            say(&[
                b"dropped an event without a request id: ",
                self.reply.as_bytes(),
            ]);
            return Ok(());
        }
        let body = match (dialect, outcome) {
            (Dialect::Aws, Outcome::Failure) => {
                self.scratch.clear();
                aws_error_body(error_type, self.reply.as_bytes(), &mut self.scratch);
                &self.scratch[..]
            }
            _ => self.reply.as_bytes(),
        };
        let len = LengthLine::new(body.len());
        let (parts, n) = result_parts(
            &self.requests,
            outcome,
            &self.request_id,
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
                &self.request_id,
                &self.conn.buf()[r.body_range()],
            ),
            Err(e) => say_io(
                &[
                    b"could not post the ",
                    what,
                    b" for request ",
                    &self.request_id,
                    b": ",
                ],
                e,
                self.conn.last_io.as_ref(),
            ),
        }
        Ok(())
    }

    /// Serves events until `/next` fails, or `count` events when given (for tests).
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
    arrival: Instant,
    env: &'a Environment,
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
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let left = (deadline_ms as u64).saturating_sub(now_ms);
        let text = |f| {
            head.field(buf, f)
                .and_then(|v| core::str::from_utf8(v).ok())
        };
        let mut ctx = Context::new(id, env.memory_size_mb.unwrap_or(0), left, arrival, env);
        ctx.deadline = arrival + Duration::from_millis(left);
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
    Ok(Context::new(id, memory, time as u64, arrival, env))
}

/// AWS: `_X_AMZN_TRACE_ID` is the current invocation's trace header, as the X-Ray SDKs expect.
/// This goes through the C library's `setenv`, which copies the value: the one allocation of
/// an AWS invocation, outside Rust's allocator.
fn export_trace_id(trace: Option<&str>) {
    match trace {
        Some(t) => std::env::set_var("_X_AMZN_TRACE_ID", t),
        None => std::env::remove_var("_X_AMZN_TRACE_ID"),
    }
}

/// Runs the handler; the outcome and, for a failure, the AWS error type. A panic becomes a
/// failure when panics unwind.
#[inline]
fn call(
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
            (Outcome::Failure, PANIC)
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

/// The process entry: read the environment, run the init phase of the linked function,
/// report ready, and serve events until the runtime API goes away. Never returns.
pub(crate) fn start(link: fn() -> Linked) -> ! {
    let api = match Api::from_env() {
        Ok(api) => api,
        Err(msg) => {
            say(&[msg]);
            std::process::exit(EXIT_BAD_ENVIRONMENT);
        }
    };
    let env = match api.dialect {
        Dialect::Scf => Environment::from_env(),
        Dialect::Aws => Environment::from_aws_env(),
    };
    let mut rt = Runtime::new(&api, env);
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::install(api.addr, rt.requests.clone());

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
