//! The WebServer image shape: an HTTP/1.1 server on `0.0.0.0:9000` whose every request is an
//! invocation (docs/protocol.md, "Image shapes (runtime side)").
//!
//! - Init runs before the port is opened: a connection that succeeds means ready.
//! - One connection at a time, kept alive; while it is idle and another one waits, the idle
//!   one is closed and the new one served (one `poll` on both).
//! - The request is read into the same receive arena as the client's (a static slab, grown
//!   on the heap only for a larger event), parsed by `http::server`, its body by the client's
//!   in-place `chunked` decoder; the answer is one vectored write of the head and the reply,
//!   parts of the event sent straight from the arena. Nothing is allocated on a warm request.
//! - Bounds: the head [`MAX_HEAD`] bytes and [`MAX_HEADERS`](crate::MAX_HEADERS) headers
//!   (`431`), the body [`MAX_EVENT`] bytes (`413`), the head's whole arrival
//!   [`HEAD_TIME_NS`] from its first byte and every read within a request [`STALL`] (`408`);
//!   not HTTP: `400`; a write that waits [`STALL`] (a client that stops reading) drops the
//!   connection. A refused connection is closed; the server goes on with the next.
//!
//! Compiled always (so that tests can drive it in-process), linked into a bootstrap only with
//! the `image` feature, which lets `lifecycle::start` reach it.

#![cfg_attr(not(feature = "image"), allow(dead_code))]

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::os::fd::AsFd;
use std::time::Duration;

use crate::clock::Via;
use crate::context::Facts;
use crate::diag::say;
use crate::function::{Function, Linked, Outcome};
use crate::http::conn::{write_parts, Part, MAX_PARTS};
use crate::http::request::LengthLine;
use crate::http::response::{parse_decimal, Chunked, MAX_HEAD};
use crate::http::server::{
    parse_request, BodyFraming, Refusal, RequestHead, ScfHeader, CONTINUE, MAX_EVENT,
};
use crate::lifecycle::{call, EXIT_BAD_ENVIRONMENT, EXIT_FAILURE};
use crate::slab::Storage;
use crate::{Context, Error, Reply};

/// The port the platform connects to.
pub(crate) const DEFAULT_PORT: u16 = 9000;
/// How long a head may take to arrive whole, from its first byte.
pub(crate) const HEAD_TIME_NS: u64 = 5_000_000_000;
/// How long one read within a request (head or body) may wait.
pub(crate) const STALL: Duration = Duration::from_secs(5);
/// Least free space offered to one `read`.
const MIN_READ: usize = 4 * 1024;
/// After a refusal, how much of what the client still sends is read and dropped (so that
/// closing does not reset the connection before the client reads the answer), and for how
/// long each read waits.
const DRAIN: usize = 1024 * 1024;
const DRAIN_WAIT: Duration = Duration::from_millis(200);

const OK: &[u8] = b"HTTP/1.1 200 OK\r\n";
const FAILED: &[u8] = b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n";
const CLOSE: &[u8] = b"Connection: close\r\n";
const ID: &[u8] = b"X-Scf-Request-Id: ";
const ID_END: &[u8] = b"\r\n";
const LENGTH: &[u8] = b"Content-Length: ";

/// What reading the next request gave.
enum Got {
    /// A request: its head and where its body (the event) lies in the arena.
    Request(RequestHead, Range<usize>),
    /// The client closed the connection (between requests, or in the middle of one).
    Closed,
    /// The request is refused with this answer.
    Refused(Refusal),
}

/// Why a read within a request gave no bytes.
enum ReadEnd {
    Closed,
    Stalled,
}

/// The server: the listening socket, the connection being served, its arena and the reply.
pub(crate) struct Server {
    listener: TcpListener,
    stream: Option<TcpStream>,
    /// Bytes received; `buf[..filled]` is valid.
    buf: Storage,
    filled: usize,
    /// End of the last request; bytes after it (up to `filled`) are the next one's.
    consumed: usize,
    reply: Reply,
    clock: Via,
}

impl Server {
    /// A server on `listener`; nothing is accepted until [`serve`](Server::serve).
    pub fn new(listener: TcpListener) -> Server {
        Server {
            listener,
            stream: None,
            buf: Storage::new(crate::slab::slabs().arena(), crate::slab::ARENA),
            filled: 0,
            consumed: 0,
            reply: Reply::for_runtime(),
            clock: Via::Syscall,
        }
    }

    /// Serves requests for ever, or until `count` invocations when given (for tests).
    pub fn serve(&mut self, f: &mut dyn Function, count: Option<u64>) {
        let mut served = 0u64;
        while count.is_none_or(|c| served < c) {
            match self.next_request() {
                Got::Request(head, body) => {
                    self.invoke(f, &head, body);
                    served += 1;
                }
                Got::Closed => self.drop_connection(),
                Got::Refused(r) => self.refuse(r),
            }
        }
    }

    fn drop_connection(&mut self) {
        self.stream = None;
        self.filled = 0;
        self.consumed = 0;
    }

    /// Waits for a connection with bytes to read (or a request already received whole).
    fn connection(&mut self) {
        loop {
            let Some(stream) = &self.stream else {
                if let Ok((s, _)) = self.listener.accept() {
                    // Each answer is one write; never hold it back waiting for an ACK.
                    let _ = s.set_nodelay(true);
                    let _ = s.set_read_timeout(Some(STALL));
                    // A client that stops reading cannot hold the server in a write.
                    let _ = s.set_write_timeout(Some(STALL));
                    self.stream = Some(s);
                    self.filled = 0;
                    self.consumed = 0;
                }
                continue;
            };
            if self.filled > 0 {
                return;
            }
            let (conn, waiting) = crate::sys::wait_readable(stream.as_fd(), self.listener.as_fd());
            if conn {
                return;
            }
            if waiting {
                // Idle, and someone else is waiting: serve them.
                self.drop_connection();
            }
        }
    }

    /// Reads more bytes into the arena, growing it for `want` more when needed.
    fn fill(&mut self, want: usize) -> Result<usize, ReadEnd> {
        if self.buf.len() - self.filled < MIN_READ.min(want) {
            self.buf.grow(self.filled, self.filled + want.max(MIN_READ));
        }
        let stream = self.stream.as_mut().ok_or(ReadEnd::Closed)?;
        loop {
            match stream.read(&mut self.buf.as_mut_slice()[self.filled..]) {
                Ok(0) => return Err(ReadEnd::Closed),
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Err(ReadEnd::Stalled)
                }
                Err(_) => return Err(ReadEnd::Closed),
            }
        }
    }

    /// Reads the next request whole: head and body.
    fn next_request(&mut self) -> Got {
        // Forget the previous request; keep what came after it.
        crate::http::forget_consumed(
            self.buf.as_mut_slice(),
            &mut self.consumed,
            &mut self.filled,
        );
        self.connection();
        let mut first_byte: Option<u64> = None;
        let head = loop {
            if self.filled > 0 {
                match parse_request(&self.buf.as_slice()[..self.filled]) {
                    Ok(Some(h)) => break h,
                    Ok(None) => {}
                    Err(r) => return Got::Refused(r),
                }
                if self.filled >= MAX_HEAD {
                    return Got::Refused(Refusal::HeadTooLarge);
                }
                let now = crate::clock::monotonic_ns(Via::Vdso);
                if now.saturating_sub(*first_byte.get_or_insert(now)) > HEAD_TIME_NS {
                    return Got::Refused(Refusal::Timeout);
                }
            }
            match self.fill(MIN_READ) {
                Ok(_) => {}
                Err(ReadEnd::Closed) => return Got::Closed,
                Err(ReadEnd::Stalled) => return Got::Refused(Refusal::Timeout),
            }
        };
        let start = head.len;
        if head.expect_continue && head.body != BodyFraming::Length(0) {
            if let Some(s) = self.stream.as_mut() {
                let _ = s.write_all(CONTINUE);
            }
        }
        let stalled = |e| match e {
            ReadEnd::Closed => Got::Closed,
            ReadEnd::Stalled => Got::Refused(Refusal::Timeout),
        };
        let end = match head.body {
            BodyFraming::Length(n) => {
                let end = start + n;
                if self.buf.len() < end {
                    self.buf.grow(self.filled, end);
                }
                while self.filled < end {
                    if let Err(e) = self.fill(end - self.filled) {
                        return stalled(e);
                    }
                }
                self.consumed = end;
                end
            }
            BodyFraming::Chunked => {
                let mut dec = Chunked::new(start);
                loop {
                    match dec.decode(self.buf.as_mut_slice(), self.filled) {
                        Ok((filled, done)) => {
                            self.filled = filled;
                            if dec.decoded_end() - start > MAX_EVENT {
                                return Got::Refused(Refusal::TooLarge);
                            }
                            if done {
                                break;
                            }
                        }
                        Err(Error::BodyTooLarge) => return Got::Refused(Refusal::TooLarge),
                        Err(_) => return Got::Refused(Refusal::BadRequest),
                    }
                    if let Err(e) = self.fill(MIN_READ) {
                        return stalled(e);
                    }
                }
                self.consumed = dec.decoded_end();
                dec.decoded_end()
            }
        };
        Got::Request(head, start..end)
    }

    /// Runs the handler on the request's event and answers it.
    fn invoke(&mut self, f: &mut dyn Function, head: &RequestHead, event: Range<usize>) {
        let arrival = crate::clock::monotonic_ns(self.clock);
        self.clock = Via::Vdso;
        let buf = self.buf.as_slice();
        let text = |h| {
            head.field(buf, h)
                .and_then(|v| core::str::from_utf8(v).ok())
        };
        let id_range = head.fields[ScfHeader::RequestId as usize]
            .filter(|_| text(ScfHeader::RequestId).is_some())
            .map_or(0..0, |(s, e)| s as usize..e as usize);
        let id = text(ScfHeader::RequestId).unwrap_or("");
        let memory = head
            .field(buf, ScfHeader::Memory)
            .and_then(parse_decimal)
            .and_then(|m| u32::try_from(m).ok());
        let limit_ms = head
            .field(buf, ScfHeader::Timeout)
            .and_then(parse_decimal)
            .map_or(crate::job::DEFAULT_TIMEOUT_S, |s| s as u64)
            .saturating_mul(1000);
        let deadline = arrival.saturating_add(limit_ms.saturating_mul(1_000_000));
        let mut ctx = Context::of_process(id, memory, limit_ms, deadline);
        ctx.facts = Facts {
            name: text(ScfHeader::Name),
            version: text(ScfHeader::Version),
            namespace: text(ScfHeader::Namespace),
            region: text(ScfHeader::Region),
            appid: text(ScfHeader::Appid),
            uin: text(ScfHeader::Uin),
        };
        self.reply.begin(&buf[event.clone()], event.start);
        let (outcome, _) = call(f, &buf[event], &ctx, &mut self.reply);

        let len = LengthLine::new(self.reply.len());
        let mut parts = [Part::Bytes(&[]); MAX_PARTS];
        parts[0] = Part::Bytes(match outcome {
            Outcome::Success => OK,
            Outcome::Failure => FAILED,
        });
        parts[1] = Part::Bytes(if head.close { CLOSE } else { b"" });
        let mut n = 2;
        if !id_range.is_empty() {
            parts[2] = Part::Bytes(ID);
            parts[3] = Part::Arena(id_range.start, id_range.end);
            parts[4] = Part::Bytes(ID_END);
            n = 5;
        }
        parts[n] = Part::Bytes(LENGTH);
        parts[n + 1] = Part::Bytes(len.as_bytes());
        let n = self.reply.parts(&mut parts, n + 2);
        let written = match self.stream.as_mut() {
            Some(s) => write_parts(s, self.buf.as_slice(), &parts[..n]),
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        self.reply.end();
        if written.is_err() || head.close {
            self.drop_connection();
        }
    }

    /// Answers a refused request and closes the connection, first reading (and dropping) a
    /// bounded amount of what the client still sends, so that it gets to read the answer.
    fn refuse(&mut self, r: Refusal) {
        if let Some(mut s) = self.stream.take() {
            if s.write_all(r.answer()).is_ok() && s.shutdown(std::net::Shutdown::Write).is_ok() {
                let _ = s.set_read_timeout(Some(DRAIN_WAIT));
                let mut sink = [0u8; 4096];
                let mut left = DRAIN;
                while left > 0 {
                    match s.read(&mut sink) {
                        Ok(0) | Err(_) => break,
                        Ok(k) => left = left.saturating_sub(k),
                    }
                }
            }
        }
        self.drop_connection();
    }
}

/// The port to listen on: `SCF_BOOTSTRAP_PORT`, else [`DEFAULT_PORT`].
fn port() -> Result<u16, &'static [u8]> {
    crate::sys::with_env(c"SCF_BOOTSTRAP_PORT", |v| match v {
        None => Ok(DEFAULT_PORT),
        Some(v) => parse_decimal(v)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or(&b"SCF_BOOTSTRAP_PORT is not a port number (0-65535)"[..]),
    })
}

/// Runs the WebServer shape: init, then listen, then serve for ever. Never returns.
pub(crate) fn start(link: fn() -> Linked) -> ! {
    let port = match port() {
        Ok(p) => p,
        Err(msg) => {
            say(&[msg]);
            std::process::exit(EXIT_BAD_ENVIRONMENT);
        }
    };
    let mut function = crate::lifecycle::init_standalone(link);
    let listener = match TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))) {
        Ok(l) => l,
        Err(e) => {
            let mut detail = Vec::new();
            crate::error::describe_io(&e, &mut detail);
            let mut digits = itoa::Buffer::new();
            say(&[
                b"cannot listen on 0.0.0.0:",
                digits.format(port).as_bytes(),
                b": ",
                &detail,
            ]);
            std::process::exit(EXIT_FAILURE);
        }
    };
    if port == 0 {
        let bound = listener.local_addr().map_or(0, |a| a.port());
        let mut digits = itoa::Buffer::new();
        say(&[b"listening on 0.0.0.0:", digits.format(bound).as_bytes()]);
    }
    Server::new(listener).serve(&mut *function, None);
    std::process::exit(EXIT_FAILURE)
}
