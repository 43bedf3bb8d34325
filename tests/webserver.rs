//! The WebServer image shape end to end: the examples built with the `image` feature (musl,
//! `bootstrap` profile, as deployed), started with `SCF_BOOTSTRAP_MODE=webserver` on a free
//! port, driven by a plain `TcpStream` client — a well-behaved one (the platform's requests)
//! and a hostile one (slow head, oversized head and body, garbage, a second connection).
//!
//! Readiness is the bootstrap's own line `listening on 0.0.0.0:<port>` (printed for
//! `SCF_BOOTSTRAP_PORT=0`), never a sleep.

mod common;

use common::*;
use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStderr};

/// A running WebServer bootstrap.
struct Server {
    child: Child,
    port: u16,
    stderr: BufReader<ChildStderr>,
}

impl Server {
    /// Starts `bin` in the WebServer shape with `env`, and waits until it listens.
    fn start(bin: &Path, env: &[(&str, &str)]) -> Server {
        let mut all = vec![
            ("SCF_BOOTSTRAP_MODE", "webserver"),
            ("SCF_BOOTSTRAP_PORT", "0"),
        ];
        all.extend_from_slice(env);
        let mut child = start_with(bin, &all);
        let Some((port, stderr)) = wait_listening(&mut child) else {
            let status = child.wait().unwrap();
            panic!("the bootstrap exited before listening: {status}");
        };
        Server {
            child,
            port,
            stderr,
        }
    }

    fn connect(&self) -> Client {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(WAIT)).unwrap();
        Client {
            stream,
            buf: Vec::new(),
        }
    }

    /// Kills the server; what it wrote on stderr since it started listening.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).unwrap();
        rest
    }
}

/// An answer from the server.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One client connection.
struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Reads one answer (head and `Content-Length` body); `None` if the server closed first.
    fn answer(&mut self) -> Option<Answer> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                let mut lines = head.split("\r\n");
                let status = lines.next().unwrap()[9..12].parse().unwrap();
                let headers: Vec<(String, String)> = lines
                    .map(|l| {
                        let (n, v) = l.split_once(':').unwrap();
                        (n.to_string(), v.trim().to_string())
                    })
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let start = end + 4;
                while self.buf.len() < start + len {
                    self.read_more()?;
                }
                let body = self.buf[start..start + len].to_vec();
                self.buf.drain(..start + len);
                return Some(Answer {
                    status,
                    headers,
                    body,
                });
            }
            self.read_more()?;
        }
    }

    fn read_more(&mut self) -> Option<()> {
        let mut chunk = [0u8; 16 * 1024];
        match self.stream.read(&mut chunk) {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Some(())
            }
        }
    }

    /// Sends a `POST /event-invoke` with `headers` and `body` (`Content-Length`) and reads the
    /// answer.
    fn post(&mut self, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        self.send(&post(headers, body));
        self.answer().expect("the server closed without answering")
    }

    /// Whether the server closed the connection (reads to the end within [`WAIT`]).
    fn closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.stream.read_to_end(&mut rest).is_ok()
    }
}

/// The bytes of a `POST /event-invoke` request.
fn post(headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut req = b"POST /event-invoke HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n".to_vec();
    for (n, v) in headers {
        req.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    req.extend_from_slice(body);
    req
}

/// The platform's headers for request `id`.
fn platform(id: &str) -> [(&str, &str); 4] {
    [
        ("X-Scf-Request-Id", id),
        ("X-Scf-Memory", "128"),
        ("X-Scf-Timeout", "3"),
        ("X-Scf-Name", "image-fn"),
    ]
}

#[test]
fn echo_answers_every_framing_on_one_kept_alive_connection() {
    let server = Server::start(&image_example("echo"), &[]);
    let mut c = server.connect();
    // Content-Length, with the request id sent back.
    let a = c.post(&platform("req-1"), b"abc");
    assert_eq!(a.status, 200, "{a:?}");
    assert_eq!(a.text(), "Echoing request: 'abc'");
    assert_eq!(a.header("X-Scf-Request-Id"), Some("req-1"));
    // Chunked, on the same connection, with a trailer.
    c.send(
        b"POST /event-invoke HTTP/1.1\r\nX-Scf-Request-Id: req-2\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n",
    );
    let a = c.answer().unwrap();
    assert_eq!(
        (a.status, a.text().as_str()),
        (200, "Echoing request: 'hello'")
    );
    // No body, no request id: an empty event, no id header back.
    c.send(b"GET / HTTP/1.1\r\n\r\n");
    let a = c.answer().unwrap();
    assert_eq!((a.status, a.text().as_str()), (200, "Echoing request: ''"));
    assert_eq!(a.header("X-Scf-Request-Id"), None);
    // Two requests in one write (pipelined): two answers, in order.
    let mut two = post(&platform("p1"), b"first");
    two.extend_from_slice(&post(&platform("p2"), b"second"));
    c.send(&two);
    let (a1, a2) = (c.answer().unwrap(), c.answer().unwrap());
    assert_eq!(a1.text(), "Echoing request: 'first'");
    assert_eq!(a2.text(), "Echoing request: 'second'");
    assert_eq!(a2.header("X-Scf-Request-Id"), Some("p2"));
    // A large event (grows the arena; the reply sends it from there) after `Expect:
    // 100-continue`, answered `100 Continue` first.
    let big: Vec<u8> = (0..300_000).map(|i| b'a' + (i % 26) as u8).collect();
    let mut req = b"POST / HTTP/1.1\r\nExpect: 100-continue\r\n".to_vec();
    req.extend_from_slice(format!("Content-Length: {}\r\n\r\n", big.len()).as_bytes());
    c.send(&req);
    let cont = c.answer().unwrap();
    assert_eq!(cont.status, 100);
    c.send(&big);
    let a = c.answer().unwrap();
    assert_eq!(a.status, 200);
    assert_eq!(a.body.len(), big.len() + "Echoing request: ''".len());
    assert!(a.body[18..].starts_with(&big[..1000]));
    // `Connection: close`: answered, then closed.
    let a = c.post(&[("Connection", "close")], b"bye");
    assert_eq!(a.header("Connection"), Some("close"));
    assert!(c.closed());
    // And the server serves the next connection.
    let a = server.connect().post(&platform("after"), b"again");
    assert_eq!(a.text(), "Echoing request: 'again'");
    let err = server.stop();
    assert!(err.is_empty(), "{err}");
}

#[test]
fn json_gets_the_request_id_and_function_facts_from_the_headers() {
    let server = Server::start(&image_example("json"), &[("SCF_FUNCTIONNAME", "from-env")]);
    let mut c = server.connect();
    let a = c.post(&platform("req-json"), br#"{"name":"SCF","x":1}"#);
    assert_eq!(a.status, 200, "{a:?}");
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["message"], "Hello, SCF!");
    assert_eq!(v["request_id"], "req-json");
    assert_eq!(v["keys"], 2);
    // `X-Scf-Name` beats `SCF_FUNCTIONNAME`; `X-Scf-Timeout: 3` is seconds.
    assert_eq!(v["function"], "image-fn");
    let left = v["remaining_ms"].as_u64().unwrap();
    assert!(left <= 3000 && left > 0, "{left}");
    // Without the header, the environment's name.
    let a = c.post(&[("X-Scf-Request-Id", "r2")], b"{}");
    let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
    assert_eq!(v["function"], "from-env");
    // Not JSON: the handler's error is a 500 with its text.
    let a = c.post(&platform("req-bad"), b"not json");
    assert_eq!(a.status, 500);
    assert_eq!(a.header("Content-Type"), Some("text/plain"));
    assert!(
        a.text().starts_with("the event is not JSON"),
        "{}",
        a.text()
    );
    assert_eq!(a.header("X-Scf-Request-Id"), Some("req-bad"));
    server.stop();
}

#[test]
fn init_runs_once_before_the_port_opens() {
    let server = Server::start(&image_example("init"), &[("GREETING", "Hi")]);
    let mut c = server.connect();
    assert_eq!(c.post(&platform("1"), b"one").text(), "Hi #1: one");
    assert_eq!(c.post(&platform("2"), b"two").text(), "Hi #2: two");
    server.stop();

    // A failed init: exit code 1, its reason on stderr, and never a listening line.
    let child = start_with(
        &image_example("init"),
        &[
            ("SCF_BOOTSTRAP_MODE", "webserver"),
            ("SCF_BOOTSTRAP_PORT", "0"),
            ("INIT_FAIL", "no config"),
        ],
    );
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.contains("init failed: INIT_FAIL is set: no config"),
        "{err}"
    );
    assert!(!err.contains("listening"), "{err}");
}

#[test]
fn faults_answer_500_and_a_panic_ends_the_instance() {
    let server = Server::start(&image_example("faults"), &[]);
    let mut c = server.connect();
    let a = c.post(&platform("e"), b"error:boom");
    assert_eq!((a.status, a.text().as_str()), (500, "boom"));
    let a = c.post(&platform("ok"), b"fine");
    assert_eq!((a.status, a.text().as_str()), (200, "ok: fine"));
    // `panic = "abort"` (the bootstrap profile): no answer, the connection closes, the
    // process ends (the platform starts a new instance).
    c.send(&post(&platform("p"), b"panic:bad"));
    assert!(c.answer().is_none());
    let Server {
        mut child,
        mut stderr,
        ..
    } = server;
    let status = child.wait().unwrap();
    assert!(!status.success());
    let mut err = String::new();
    stderr.read_to_string(&mut err).unwrap();
    assert!(err.contains("bad"), "{err}");
}

#[test]
fn a_hostile_client_is_refused_and_the_server_keeps_serving() {
    let server = Server::start(&image_example("echo"), &[]);
    let works = |what: &str| {
        let a = server.connect().post(&platform(what), what.as_bytes());
        assert_eq!(
            a.text(),
            format!("Echoing request: '{what}'"),
            "after {what}"
        );
    };

    // Garbage (a TLS ClientHello): 400, closed.
    let mut c = server.connect();
    c.send(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n");
    assert_eq!(c.answer().unwrap().status, 400);
    assert!(c.closed());
    works("after-garbage");

    // A body over 16 MiB announced: 413 before a byte of it is read.
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nContent-Length: 16777217\r\n\r\n");
    assert_eq!(c.answer().unwrap().status, 413);
    works("after-413");

    // A chunked body growing past 16 MiB: 413 once it does.
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    let chunk = vec![b'x'; 1 << 20];
    let mut refused = None;
    for _ in 0..20 {
        let mut piece = format!("{:x}\r\n", chunk.len()).into_bytes();
        piece.extend_from_slice(&chunk);
        piece.extend_from_slice(b"\r\n");
        if c.stream.write_all(&piece).is_err() {
            break;
        }
    }
    if let Some(a) = c.answer() {
        refused = Some(a.status);
    }
    assert_eq!(refused, Some(413));
    works("after-chunked-413");

    // A head over 64 KiB: 431.
    let mut c = server.connect();
    let mut head = b"POST / HTTP/1.1\r\nX-Big: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 70 * 1024));
    c.send(&head);
    assert_eq!(c.answer().unwrap().status, 431);
    works("after-431");

    // A slow head (one that never ends): 408 once the head time is up, then closed.
    let mut c = server.connect();
    c.send(b"POST / HTTP/1.1\r\nX-Scf-Request-Id: slow\r\n");
    assert_eq!(c.answer().unwrap().status, 408);
    assert!(c.closed());
    works("after-408");

    // A second connection while one is open and idle: the idle one is closed, the new one
    // served; the first one's next request gets no answer.
    let mut first = server.connect();
    assert_eq!(first.post(&platform("a"), b"a").status, 200);
    let mut second = server.connect();
    assert_eq!(
        second.post(&platform("b"), b"b").text(),
        "Echoing request: 'b'"
    );
    assert!(first.closed());
    works("after-two-connections");

    // A client that connects and leaves.
    drop(server.connect());
    works("after-a-silent-client");
    let err = server.stop();
    assert!(err.is_empty(), "{err}");
}

#[test]
fn bad_settings_exit_with_code_2() {
    let bin = image_example("echo");
    for (env, says) in [
        (
            [
                ("SCF_BOOTSTRAP_MODE", "webserver"),
                ("SCF_BOOTSTRAP_PORT", "port"),
            ],
            "SCF_BOOTSTRAP_PORT is not a port number",
        ),
        (
            [("SCF_BOOTSTRAP_MODE", "web"), ("SCF_BOOTSTRAP_PORT", "0")],
            "SCF_BOOTSTRAP_MODE is not one of custom, aws, webserver, job",
        ),
    ] {
        let (status, err) = finish(start_with(&bin, &env));
        assert_eq!(status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }
    // Built without the `image` feature (the debug example of `cargo test`): code 2, and why.
    let (status, err) = finish(start_with(
        &example("echo"),
        &[("SCF_BOOTSTRAP_MODE", "webserver")],
    ));
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("need the `image` feature"), "{err}");
}

/// Peak RSS of `echo` in the WebServer shape after 1000 warm 1 KB requests on one connection,
/// within the zip shape's budget (`tests/musl.rs`: 400 KB).
#[test]
fn thousand_warm_requests_within_rss_budget() {
    let server = Server::start(&image_example("echo"), &[]);
    let mut c = server.connect();
    let event = vec![b'x'; 1024];
    for i in 0..1000 {
        let a = c.post(&platform(&format!("w-{i}")), &event);
        assert_eq!(a.body.len(), 1024 + "Echoing request: ''".len());
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap();
    let hwm: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .unwrap()
        .parse()
        .unwrap();
    server.stop();
    eprintln!("echo (WebServer shape) VmHWM after 1000 warm 1 KB requests: {hwm} KB");
    assert!(hwm <= 400, "peak RSS {hwm} KB > 400 KB");
}
