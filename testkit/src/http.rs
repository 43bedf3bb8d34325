//! Just enough HTTP/1.1 for the kit's peers: the fake runtime API (reads requests, in SCF's or
//! AWS's dialect) and clients of scf-local (read responses; [`request`] is a one-shot one).
//!
//! One [`Conn`] per TCP connection owns a receive buffer that grows to the largest message
//! seen and is then reused, so a warm invocation costs the harness no allocation.
//! `Content-Length` bodies stay in that buffer (no copy); `chunked` bodies are decoded into a
//! second reused buffer.

use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::ops::Range;

use crate::protocol::{REQUEST_ID, SCF};
use crate::Dialect;

/// Largest head accepted (request line or status line plus headers).
const MAX_HEAD: usize = 64 * 1024;
/// Largest body accepted: the platform's 6 MB limit with room to spare.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// Headers parsed per message.
const MAX_HEADERS: usize = 32;

/// What the first line of a message said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// A request to one of the runtime API's paths.
    Request(Route),
    /// A response with this status code.
    Response(u16),
}

/// The runtime API's endpoints in both dialects, and everything else. A route's dialect says
/// which paths it came by: [`SCF`] for SCF's (whatever the header spelling of the server it
/// reached) or `Dialect::Aws`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// SCF: `POST /runtime/init/ready` (AWS has no ready call).
    Ready,
    /// SCF: `GET /runtime/invocation/next`; AWS: `GET /2018-06-01/runtime/invocation/next`.
    Next(Dialect),
    /// SCF: `POST /runtime/invocation/response`; AWS: `POST
    /// /2018-06-01/runtime/invocation/{id}/response` with the id the harness hands out.
    Response(Dialect),
    /// SCF: `POST /runtime/invocation/error`; AWS: `POST
    /// /2018-06-01/runtime/invocation/{id}/error` with the harness's id, or `POST
    /// /2018-06-01/runtime/init/error`.
    Error(Dialect),
    /// AWS: a response or error posted for a request id the harness never handed out.
    UnknownId,
    /// Any other method or path.
    Other,
}

impl Route {
    fn of(method: &str, path: &str) -> Route {
        if let Some(rest) = path.strip_prefix("/2018-06-01/runtime/") {
            return match (method, rest) {
                ("GET", "invocation/next") => Route::Next(Dialect::Aws),
                ("POST", "init/error") => Route::Error(Dialect::Aws),
                ("POST", _) => match rest
                    .strip_prefix("invocation/")
                    .and_then(|r| r.rsplit_once('/'))
                {
                    Some((id, "response")) if id == REQUEST_ID => Route::Response(Dialect::Aws),
                    Some((id, "error")) if id == REQUEST_ID => Route::Error(Dialect::Aws),
                    Some((_, "response" | "error")) => Route::UnknownId,
                    _ => Route::Other,
                },
                _ => Route::Other,
            };
        }
        match (method, path) {
            ("POST", "/runtime/init/ready") => Route::Ready,
            ("GET", "/runtime/invocation/next") => Route::Next(SCF),
            ("POST", "/runtime/invocation/response") => Route::Response(SCF),
            ("POST", "/runtime/invocation/error") => Route::Error(SCF),
            _ => Route::Other,
        }
    }
}

/// One parsed message; its body is read with [`Conn::body`].
#[derive(Debug)]
pub struct Message {
    /// Request route or response status.
    pub start: Start,
    /// The peer asked to close the connection after this message.
    pub close: bool,
    body: Body,
    /// Bytes of the receive buffer the head spans.
    head_len: usize,
    /// Bytes of the receive buffer this message spans.
    span: usize,
}

#[derive(Debug)]
enum Body {
    /// In the receive buffer.
    Raw(Range<usize>),
    /// Decoded from `chunked` into the second buffer.
    Decoded,
}

/// What a parsed head says about its message.
struct Head {
    start: Start,
    head_len: usize,
    length: Option<usize>,
    chunked: bool,
    close: bool,
    expect_continue: bool,
}

/// A TCP connection with a reusable receive buffer.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    filled: usize,
    decoded: Vec<u8>,
}

fn invalid(what: &'static str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what)
}

impl Conn {
    /// Wraps a connected stream; sets `TCP_NODELAY`.
    pub fn new(stream: TcpStream) -> Conn {
        // Best effort: without it small writes may wait for an ACK, for every peer alike.
        let _ = stream.set_nodelay(true);
        Conn {
            stream,
            buf: vec![0; 16 * 1024],
            filled: 0,
            decoded: Vec::new(),
        }
    }

    /// Writes all of `bufs`, in as few system calls as the kernel allows.
    pub fn write_all_vectored(&mut self, bufs: &[&[u8]]) -> io::Result<()> {
        let mut slices: [IoSlice; 4] = [IoSlice::new(&[]); 4];
        let n = bufs.len().min(slices.len());
        for (slot, b) in slices.iter_mut().zip(bufs) {
            *slot = IoSlice::new(b);
        }
        let mut slices = &mut slices[..n];
        while !slices.is_empty() {
            let written = self.stream.write_vectored(slices)?;
            if written == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            IoSlice::advance_slices(&mut slices, written);
        }
        Ok(())
    }

    /// Reads more bytes; `Ok(false)` at end of stream.
    fn fill(&mut self) -> io::Result<bool> {
        if self.filled == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_HEAD + MAX_BODY + 64);
            if grown == self.buf.len() {
                return Err(invalid("message too large"));
            }
            self.buf.resize(grown, 0);
        }
        let n = self.stream.read(&mut self.buf[self.filled..])?;
        self.filled += n;
        Ok(n > 0)
    }

    /// Makes sure `self.buf[..end]` is filled, reading as needed.
    fn fill_to(&mut self, end: usize) -> io::Result<()> {
        if end > self.buf.len() {
            self.buf.resize(end, 0);
        }
        while self.filled < end {
            if !self.fill()? {
                return Err(invalid("connection closed inside a message"));
            }
        }
        Ok(())
    }

    /// Reads the next message. `Ok(None)` when the peer closed the connection between
    /// messages. The previous message must have been released with [`Conn::consume`].
    ///
    /// A read that times out (a stream with a read timeout) returns its error and loses
    /// nothing: what was received stays buffered, and the next call parses it again.
    pub fn read_message(&mut self) -> io::Result<Option<Message>> {
        let head = loop {
            if let Some(parsed) = self.parse_head()? {
                break parsed;
            }
            if self.filled >= MAX_HEAD {
                return Err(invalid("head too large"));
            }
            if !self.fill()? {
                return if self.filled == 0 {
                    Ok(None)
                } else {
                    Err(invalid("connection closed inside a head"))
                };
            }
        };
        let head_len = head.head_len;
        // curl asks before sending a body of 1 MB or more, and waits a second for the answer.
        if head.expect_continue && self.filled == head_len {
            self.write_all_vectored(&[b"HTTP/1.1 100 Continue\r\n\r\n"])?;
        }
        let (body, span) = if head.chunked {
            (Body::Decoded, self.read_chunked(head_len)?)
        } else {
            let length = head.length.unwrap_or(0);
            if length > MAX_BODY {
                return Err(invalid("body too large"));
            }
            self.fill_to(head_len + length)?;
            (Body::Raw(head_len..head_len + length), head_len + length)
        };
        Ok(Some(Message {
            start: head.start,
            close: head.close,
            body,
            head_len,
            span,
        }))
    }

    /// Parses the head in the buffer: `None` while incomplete.
    fn parse_head(&self) -> io::Result<Option<Head>> {
        let data = &self.buf[..self.filled];
        if data.is_empty() {
            return Ok(None);
        }
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let (start, head_len, fields) = if data.starts_with(b"HTTP/") {
            let mut res = httparse::Response::new(&mut headers);
            match res.parse(data).map_err(|_| invalid("bad response head"))? {
                httparse::Status::Partial => return Ok(None),
                httparse::Status::Complete(n) => {
                    (Start::Response(res.code.unwrap_or(0)), n, res.headers)
                }
            }
        } else {
            let mut req = httparse::Request::new(&mut headers);
            match req.parse(data).map_err(|_| invalid("bad request head"))? {
                httparse::Status::Partial => return Ok(None),
                httparse::Status::Complete(n) => {
                    let route = Route::of(req.method.unwrap_or(""), req.path.unwrap_or(""));
                    (Start::Request(route), n, req.headers)
                }
            }
        };
        let mut length = None;
        let mut chunked = false;
        let mut close = false;
        let mut expect_continue = false;
        for h in fields.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let text = std::str::from_utf8(h.value).map_err(|_| invalid("bad length"))?;
                length = Some(
                    text.trim()
                        .parse::<usize>()
                        .map_err(|_| invalid("bad length"))?,
                );
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = h.value.eq_ignore_ascii_case(b"chunked");
            } else if h.name.eq_ignore_ascii_case("connection") {
                close = h.value.eq_ignore_ascii_case(b"close");
            } else if h.name.eq_ignore_ascii_case("expect") {
                expect_continue = h.value.eq_ignore_ascii_case(b"100-continue");
            }
        }
        Ok(Some(Head {
            start,
            head_len,
            length,
            chunked,
            close,
            expect_continue,
        }))
    }

    /// Decodes a `chunked` body that starts at `at`; returns the span of the whole message.
    fn read_chunked(&mut self, mut at: usize) -> io::Result<usize> {
        self.decoded.clear();
        loop {
            // Chunk size line.
            let line_end = loop {
                if let Some(i) = self.buf[at..self.filled]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                {
                    break at + i;
                }
                if self.filled - at > 1024 {
                    return Err(invalid("bad chunk size line"));
                }
                self.fill_to(self.filled + 1)?;
            };
            let line = std::str::from_utf8(&self.buf[at..line_end])
                .map_err(|_| invalid("bad chunk size"))?;
            let hex = line.split(';').next().unwrap_or("").trim();
            let size = usize::from_str_radix(hex, 16).map_err(|_| invalid("bad chunk size"))?;
            at = line_end + 2;
            if size == 0 {
                // Trailers are not used by either peer: expect the final CRLF.
                self.fill_to(at + 2)?;
                return Ok(at + 2);
            }
            if self.decoded.len() + size > MAX_BODY {
                return Err(invalid("body too large"));
            }
            self.fill_to(at + size + 2)?;
            self.decoded.extend_from_slice(&self.buf[at..at + size]);
            at += size + 2;
        }
    }

    /// The head of `msg`, the message last read: start line and headers, as received.
    pub fn head(&self, msg: &Message) -> &[u8] {
        &self.buf[..msg.head_len]
    }

    /// The connection's stream (to set timeouts, or shut it down).
    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }

    /// The body of `msg`, the message last read.
    pub fn body(&self, msg: &Message) -> &[u8] {
        match &msg.body {
            Body::Raw(range) => &self.buf[range.clone()],
            Body::Decoded => &self.decoded,
        }
    }

    /// Releases `msg`, keeping any bytes the peer sent after it.
    pub fn consume(&mut self, msg: Message) {
        self.buf.copy_within(msg.span..self.filled, 0);
        self.filled -= msg.span;
    }
}

/// One HTTP/1.1 request on a new connection to `addr` (`HOST:PORT`), with `Connection:
/// close` and `headers` besides; the answer's status and body (a `chunked` body decoded). Every read waits at most
/// `timeout`.
pub fn request(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: std::time::Duration,
) -> io::Result<(u16, Vec<u8>)> {
    let stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(timeout))?;
    let mut conn = Conn::new(stream);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    conn.write_all_vectored(&[head.as_bytes(), body])?;
    let msg = conn
        .read_message()?
        .ok_or_else(|| invalid("closed without an answer"))?;
    match msg.start {
        Start::Response(status) => Ok((status, conn.body(&msg).to_vec())),
        Start::Request(_) => Err(invalid("answered with a request")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Duration;

    /// A connected pair: what the first writes, the second reads.
    fn pair() -> (TcpStream, Conn) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (client, Conn::new(server))
    }

    #[test]
    fn content_length_request_then_next() {
        let (mut w, mut conn) = pair();
        w.write_all(b"POST /runtime/invocation/response HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloGET /runtime/invocation/next HTTP/1.1\r\n\r\n").unwrap();
        let m = conn.read_message().unwrap().unwrap();
        assert_eq!(m.start, Start::Request(Route::Response(SCF)));
        assert_eq!(conn.body(&m), b"hello");
        conn.consume(m);
        let m = conn.read_message().unwrap().unwrap();
        assert_eq!(m.start, Start::Request(Route::Next(SCF)));
        assert_eq!(conn.body(&m), b"");
        conn.consume(m);
        drop(w);
        assert!(conn.read_message().unwrap().is_none());
    }

    #[test]
    fn chunked_response() {
        let (mut w, mut conn) = pair();
        w.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n").unwrap();
        let m = conn.read_message().unwrap().unwrap();
        assert_eq!(m.start, Start::Response(200));
        assert!(m.close);
        assert_eq!(conn.body(&m), b"abcde");
        conn.consume(m);
    }

    #[test]
    fn large_body_grows_buffer() {
        let (mut w, mut conn) = pair();
        let body = vec![b'x'; 3 * 1024 * 1024];
        let t = std::thread::spawn(move || {
            w.write_all(
                format!(
                    "HTTP/1.1 201 Created\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )
            .unwrap();
            w.write_all(&body).unwrap();
        });
        let m = conn.read_message().unwrap().unwrap();
        assert_eq!(m.start, Start::Response(201));
        assert_eq!(conn.body(&m).len(), 3 * 1024 * 1024);
        t.join().unwrap();
    }

    #[test]
    fn expect_continue_is_answered() {
        let (mut w, mut conn) = pair();
        w.write_all(b"POST /runtime/invocation/response HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
            .unwrap();
        let t = std::thread::spawn(move || {
            let mut interim = [0u8; 25];
            w.read_exact(&mut interim).unwrap();
            assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
            w.write_all(b"ok").unwrap();
        });
        let m = conn.read_message().unwrap().unwrap();
        assert_eq!(conn.body(&m), b"ok");
        t.join().unwrap();
    }

    #[test]
    fn routes_of_both_dialects() {
        use Dialect::Aws;
        let aws = |rest: &str| format!("/2018-06-01/runtime/{rest}");
        let result = |id: &str, what: &str| aws(&format!("invocation/{id}/{what}"));
        assert_eq!(Route::of("POST", "/runtime/init/ready"), Route::Ready);
        assert_eq!(
            Route::of("GET", "/runtime/invocation/next"),
            Route::Next(SCF)
        );
        assert_eq!(Route::of("GET", &aws("invocation/next")), Route::Next(Aws));
        assert_eq!(
            Route::of("POST", &result(REQUEST_ID, "response")),
            Route::Response(Aws)
        );
        assert_eq!(
            Route::of("POST", &result(REQUEST_ID, "error")),
            Route::Error(Aws)
        );
        assert_eq!(Route::of("POST", &aws("init/error")), Route::Error(Aws));
        assert_eq!(
            Route::of("POST", &result("another-id", "response")),
            Route::UnknownId
        );
        assert_eq!(
            Route::of("GET", &result(REQUEST_ID, "response")),
            Route::Other
        );
        assert_eq!(Route::of("POST", &aws("init/ready")), Route::Other);
        assert_eq!(
            Route::of("GET", "/2018-06-01/runtime/invocation"),
            Route::Other
        );
    }

    #[test]
    fn request_sends_its_headers_and_reads_the_answer() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let mut conn = Conn::new(listener.accept().unwrap().0);
            let m = conn.read_message().unwrap().unwrap();
            let head = String::from_utf8_lossy(conn.head(&m)).into_owned();
            let body = conn.body(&m).to_vec();
            conn.write_all_vectored(&[b"HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\nok"])
                .unwrap();
            (m.start, head, body)
        });
        let answer = request(
            &addr,
            "POST",
            "/invoke",
            &[("X-A", "b")],
            b"{}",
            Duration::from_secs(30),
        );
        assert_eq!(answer.unwrap(), (202, b"ok".to_vec()));
        let (start, head, body) = server.join().unwrap();
        assert_eq!(start, Start::Request(Route::Other));
        assert!(head.starts_with("POST /invoke HTTP/1.1\r\n"), "{head}");
        assert!(
            head.contains("\r\nX-A: b\r\n") && head.contains("\r\nConnection: close\r\n"),
            "{head}"
        );
        assert_eq!(body, b"{}");
    }

    #[test]
    fn garbage_is_an_error() {
        let (mut w, mut conn) = pair();
        w.write_all(b"\x00\x01 nonsense\r\n\r\n").unwrap();
        assert!(conn.read_message().is_err());
    }
}
