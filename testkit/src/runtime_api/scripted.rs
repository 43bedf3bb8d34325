//! The fake runtime API driven one request at a time: the test reads each request the
//! bootstrap sends and chooses how it is answered, down to the framing of the answer and what
//! becomes of the connection after it, to test the runtime's side of the protocol.

use std::io::{self, Write as _};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use super::{next_head, now_ms};
use crate::http::Conn;
use crate::protocol::SCF;
use crate::Dialect;

/// How long any single wait for the bootstrap may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// How long a read on the current connection waits before looking for a newer connection
/// (the bootstrap may have moved to one).
const READ_SLICE: Duration = Duration::from_millis(200);

/// A request the bootstrap sent.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET` or `POST`.
    pub method: String,
    /// The request target, such as `/runtime/invocation/next`.
    pub path: String,
    /// Every header, in order, as sent.
    pub headers: Vec<(String, String)>,
    /// The body (a `chunked` one decoded).
    pub body: Vec<u8>,
}

impl Request {
    /// The first header named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How an answer is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// `Content-Length`, in one write.
    Length,
    /// `Transfer-Encoding: chunked` with chunks of this many bytes.
    Chunked(usize),
    /// `Content-Length`, one byte per write.
    ByteByByte,
}

/// What becomes of the connection after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// It stays open for the next request.
    KeepAlive,
    /// `Connection: close` is sent, then the connection closed.
    CloseWithHeader,
    /// The connection is closed without saying so.
    CloseSilently,
}

/// The scripted fake: a listener on 127.0.0.1, and the connection the bootstrap uses now.
pub struct ScriptedApi {
    port: u16,
    /// Connections accepted by the accept thread, in order.
    accepted: Receiver<TcpStream>,
    count: Arc<AtomicUsize>,
    closing: Arc<AtomicBool>,
    conn: Option<Conn>,
}

impl Default for ScriptedApi {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedApi {
    /// Listens on a port the OS chooses; a thread accepts connections as they come.
    pub fn new() -> ScriptedApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let (tx, accepted) = mpsc::channel();
        let count = Arc::new(AtomicUsize::new(0));
        let closing = Arc::new(AtomicBool::new(false));
        let (c, stop) = (Arc::clone(&count), Arc::clone(&closing));
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                c.fetch_add(1, Ordering::SeqCst);
                if tx.send(stream).is_err() {
                    return;
                }
            }
        });
        ScriptedApi {
            port,
            accepted,
            count,
            closing,
            conn: None,
        }
    }

    /// The port bootstraps connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    fn take(&mut self, stream: TcpStream) {
        stream
            .set_read_timeout(Some(READ_SLICE))
            .expect("set a read timeout");
        self.conn = Some(Conn::new(stream));
    }

    /// The next request, from the current connection or a newer one; `None` if none comes
    /// within `wait`. A malformed request fails the test.
    pub fn next_request_within(&mut self, wait: Duration) -> Option<Request> {
        let deadline = Instant::now() + wait;
        loop {
            let Some(conn) = self.conn.as_mut() else {
                let left = deadline.checked_duration_since(Instant::now())?;
                match self.accepted.recv_timeout(left) {
                    Ok(stream) => self.take(stream),
                    Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
                }
                continue;
            };
            match conn.read_message() {
                Ok(Some(msg)) => {
                    let request = parse(conn.head(&msg), conn.body(&msg));
                    conn.consume(msg);
                    return Some(request);
                }
                // The bootstrap closed it: wait for its next connection.
                Ok(None) => self.conn = None,
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    // Idle: the bootstrap may have moved to a new connection.
                    if let Ok(stream) = self.accepted.try_recv() {
                        self.take(stream);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                    panic!("the bootstrap sent a malformed request: {e}")
                }
                Err(_) => self.conn = None,
            }
            if Instant::now() > deadline {
                return None;
            }
        }
    }

    /// The next request; fails the test if none comes within [`WAIT`].
    pub fn next_request(&mut self) -> Request {
        self.next_request_within(WAIT)
            .expect("the bootstrap sent no request in time")
    }

    /// Expects `method path` and answers it with 200 and an empty body.
    pub fn expect(&mut self, method: &str, path: &str) -> Request {
        let req = self.next_request();
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            (method, path),
            "{req:?}"
        );
        self.answer(200, &[], b"", Send::Length, After::KeepAlive);
        req
    }

    /// Answers the request just read with `status`, `headers` and `body`, framed as `send`
    /// says, then keeps or closes the connection as `after` says.
    pub fn answer(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        send: Send,
        after: After,
    ) {
        let mut head = format!("HTTP/1.1 {status} X\r\n");
        for (n, v) in headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        match send {
            Send::Chunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
            _ => head.push_str(&format!("Content-Length: {}\r\n", body.len())),
        }
        if after == After::CloseWithHeader {
            head.push_str("Connection: close\r\n");
        }
        head.push_str("\r\n");
        self.send(head.into_bytes(), body, send, after);
    }

    /// Writes an answer whose head is `head`: the body framed as `send` says.
    fn send(&mut self, mut wire: Vec<u8>, body: &[u8], send: Send, after: After) {
        let conn = self.conn.as_mut().expect("no connection to answer on");
        match send {
            Send::Chunked(size) => {
                for c in body.chunks(size.max(1)) {
                    wire.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                    wire.extend_from_slice(c);
                    wire.extend_from_slice(b"\r\n");
                }
                wire.extend_from_slice(b"0\r\n\r\n");
            }
            _ => wire.extend_from_slice(body),
        }
        let mut stream = conn.stream();
        if send == Send::ByteByByte {
            for b in &wire {
                stream.write_all(std::slice::from_ref(b)).expect("write");
                stream.flush().expect("flush");
            }
        } else {
            stream.write_all(&wire).expect("write");
        }
        if after != After::KeepAlive {
            let _ = stream.shutdown(Shutdown::Both);
            self.conn = None;
        }
    }

    /// Answers a `/next` with an event and SCF's documented headers (memory 128 MB, time
    /// limit 3000 ms), as the benchmark's server does.
    pub fn event(&mut self, id: &str, event: &[u8]) {
        self.next_answer(SCF, id, None, event);
    }

    /// Answers an AWS `/next` with an event: request id, a deadline `ms_left` from now, and
    /// the kit's function ARN and trace id ([`crate::protocol`]).
    pub fn aws_event(&mut self, id: &str, ms_left: u64, event: &[u8]) {
        let deadline = now_ms() + u128::from(ms_left);
        self.next_answer(Dialect::Aws, id, Some(deadline), event);
    }

    fn next_answer(&mut self, dialect: Dialect, id: &str, deadline: Option<u128>, event: &[u8]) {
        let head = next_head(dialect, id, deadline, event.len()).into_bytes();
        self.send(head, event, Send::Length, After::KeepAlive);
    }

    /// Has a connection been made (or a request sent) within `wait`?
    pub fn anyone_within(&mut self, wait: Duration) -> bool {
        self.next_request_within(wait).is_some() || self.connections() > 0
    }
}

impl Drop for ScriptedApi {
    /// Ends the accept thread: it sees the flag on the connection made to wake it.
    fn drop(&mut self) {
        self.closing.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// An owned [`Request`] from a head the reader accepted and its body.
fn parse(head: &[u8], body: &[u8]) -> Request {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(head) {
        Ok(httparse::Status::Complete(_)) => {}
        other => panic!("a head the reader accepted does not parse again: {other:?}"),
    }
    Request {
        method: req.method.unwrap_or_default().to_string(),
        path: req.path.unwrap_or_default().to_string(),
        headers: req
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read as _;

    /// A request read in full, then each framing of the answer as the client receives it.
    #[test]
    fn reads_a_request_and_frames_answers() {
        let mut api = ScriptedApi::new();
        let mut client = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
        client
            .write_all(b"POST /runtime/invocation/response HTTP/1.1\r\nX-A: b\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
            .unwrap();
        let req = api.next_request();
        assert_eq!(
            (req.method.as_str(), req.path.as_str()),
            ("POST", "/runtime/invocation/response")
        );
        assert_eq!((req.header("x-a"), req.text().as_str()), (Some("b"), "ok"));
        api.answer(
            201,
            &[("A", "1")],
            b"hello",
            Send::Chunked(2),
            After::CloseWithHeader,
        );
        let mut got = String::new();
        client.read_to_string(&mut got).unwrap();
        assert_eq!(
            got,
            "HTTP/1.1 201 X\r\nA: 1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             2\r\nhe\r\n2\r\nll\r\n1\r\no\r\n0\r\n\r\n"
        );
        assert_eq!(api.connections(), 1);
    }

    #[test]
    fn a_new_connection_replaces_an_idle_one() {
        let mut api = ScriptedApi::new();
        let _idle = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
        assert!(api.next_request_within(READ_SLICE).is_none());
        let mut second = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
        second
            .write_all(b"GET /runtime/invocation/next HTTP/1.1\r\n\r\n")
            .unwrap();
        assert_eq!(api.next_request().path, "/runtime/invocation/next");
        api.event("id-1", b"{}");
        let mut conn = Conn::new(second);
        let msg = conn.read_message().unwrap().unwrap();
        let head = String::from_utf8_lossy(conn.head(&msg)).into_owned();
        assert!(head.contains("\r\nrequest_id: id-1\r\n"), "{head}");
        assert_eq!(conn.body(&msg), b"{}");
        assert_eq!(api.connections(), 2);
    }

    #[test]
    #[should_panic(expected = "malformed request")]
    fn a_malformed_request_fails_the_test() {
        let mut api = ScriptedApi::new();
        let mut client = TcpStream::connect(("127.0.0.1", api.port())).unwrap();
        client.write_all(b"\x00\x01 nonsense\r\n\r\n").unwrap();
        api.next_request();
    }
}
