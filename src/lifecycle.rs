//! The lifecycle: start → init → ready → loop { next → handler → response | error }.

#[cfg(feature = "dns")]
use std::net::ToSocketAddrs;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use crate::diag::{say, say_io};
use crate::function::{Function, Linked, Outcome};
use crate::http::conn::{Conn, Retry};
use crate::http::request::{LengthLine, Requests};
use crate::http::response::{parse_decimal, Field};
use crate::{Context, Environment, Error, Reply};

/// Exit code for a bad environment (missing or invalid `SCF_RUNTIME_API*`).
pub const EXIT_BAD_ENVIRONMENT: i32 = 2;
/// Exit code for a failed init phase or a runtime API that cannot be reached.
pub const EXIT_FAILURE: i32 = 1;

/// Where the runtime API listens, from `SCF_RUNTIME_API` and `SCF_RUNTIME_API_PORT`.
pub(crate) struct Api {
    pub addr: SocketAddr,
    /// The `Host` header value.
    pub host: Vec<u8>,
}

impl Api {
    /// Reads the address from the environment; on failure, the one-line reason.
    pub fn from_env() -> Result<Api, &'static [u8]> {
        let host = std::env::var_os("SCF_RUNTIME_API")
            .ok_or(&b"SCF_RUNTIME_API is not set: this program is an SCF Custom Runtime bootstrap, to be started by the platform or by scf-local"[..])?
            .into_string()
            .map_err(|_| &b"SCF_RUNTIME_API is not valid UTF-8"[..])?;
        let port = std::env::var_os("SCF_RUNTIME_API_PORT")
            .ok_or(&b"SCF_RUNTIME_API_PORT is not set"[..])?;
        let port = port
            .to_str()
            .and_then(|p| parse_decimal(p.as_bytes()))
            .and_then(|p| u16::try_from(p).ok())
            .filter(|&p| p != 0)
            .ok_or(&b"SCF_RUNTIME_API_PORT is not a port number (1-65535)"[..])?;
        Api::new(&host, port)
    }

    /// The address of `host` (an IP address or a name) and `port`.
    pub fn new(host: &str, port: u16) -> Result<Api, &'static [u8]> {
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
            addr: SocketAddr::new(ip, port),
            host: h,
        })
    }
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
        .ok_or(&b"SCF_RUNTIME_API is neither an IP address nor a name that resolves"[..])
}

#[cfg(not(feature = "dns"))]
fn resolve(_: &str, _: u16) -> Result<IpAddr, &'static [u8]> {
    Err(b"SCF_RUNTIME_API is not an IP address (names other than localhost need the `dns` feature of scf-bootstrap)")
}

/// The runtime's state between invocations: the connection with its receive arena, the
/// prebuilt requests, the environment and the reply buffer.
pub(crate) struct Runtime {
    conn: Conn,
    requests: Requests,
    env: Environment,
    reply: Reply,
    /// The current request id, copied out of the arena for diagnostics after the handler.
    request_id: Vec<u8>,
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
            requests: Requests::new(&api.host),
            env,
            reply: Reply::with_capacity(4096),
            request_id: Vec::with_capacity(64),
        }
    }

    /// `POST /runtime/init/ready`. A refusal (non-2xx) is printed, and the runtime goes on.
    pub fn ready(&mut self) -> Result<(), Error> {
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

        self.reply.clear();
        let outcome = match invocation(buf, &head, arrival, &self.env) {
            Ok(ctx) => call(f, &buf[resp.body_range()], &ctx, &mut self.reply),
            Err(msg) => {
                self.reply.extend_from_slice(msg);
                Outcome::Failure
            }
        };

        let (head, what): (&[u8], &[u8]) = match outcome {
            Outcome::Success => (&self.requests.response, b"response"),
            Outcome::Failure => (&self.requests.error, b"error"),
        };
        let body = self.reply.as_bytes();
        let len = LengthLine::new(body.len());
        match self
            .conn
            .roundtrip(&[head, len.as_bytes(), body], Retry::Once)
        {
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
    buf: &'a [u8],
    head: &crate::http::response::Head,
    arrival: Instant,
    env: &'a Environment,
) -> Result<Context<'a>, &'static [u8]> {
    let id = head
        .field(buf, Field::RequestId)
        .filter(|id| !id.is_empty())
        .ok_or(&b"the runtime API sent an event without a request_id header"[..])?;
    let id = core::str::from_utf8(id)
        .map_err(|_| &b"the runtime API sent a request_id that is not UTF-8"[..])?;
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

/// Runs the handler, turning a panic into a failure when panics unwind.
#[inline]
fn call(f: &mut dyn Function, event: &[u8], ctx: &Context<'_>, reply: &mut Reply) -> Outcome {
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::in_invocation(true);
    #[cfg(panic = "unwind")]
    let outcome = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        f.call(event, ctx, reply)
    })) {
        Ok(o) => o,
        Err(_) => {
            reply.clear();
            reply.push_str(&crate::panic::take_message());
            Outcome::Failure
        }
    };
    #[cfg(not(panic = "unwind"))]
    let outcome = f.call(event, ctx, reply);
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::in_invocation(false);
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
    let mut rt = Runtime::new(&api, Environment::from_env());
    #[cfg(not(panic = "immediate-abort"))]
    crate::panic::install(api.addr, rt.requests.error.clone());

    let mut function = match link() {
        Ok(f) => f,
        Err(msg) => {
            say(&[b"init failed: ", msg.as_bytes()]);
            std::process::exit(EXIT_FAILURE);
        }
    };
    if rt.ready().is_err() {
        std::process::exit(EXIT_FAILURE);
    }
    rt.serve(&mut *function, None);
    std::process::exit(EXIT_FAILURE)
}
