//! An in-test fake of the SCF runtime API (std only), and helpers to start bootstraps.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long any single wait in a test may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(30);

/// A request the bootstrap sent.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// How an answer is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Send {
    /// `Content-Length`, in one write.
    Length,
    /// `Transfer-Encoding: chunked` with chunks of this many bytes.
    Chunked(usize),
    /// `Content-Length`, one byte per write.
    ByteByByte,
}

/// What to do with the connection after an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    KeepAlive,
    /// Send `Connection: close`, then close.
    CloseWithHeader,
    /// Close without saying so.
    CloseSilently,
}

/// The fake runtime API: a listener and the connection currently in use.
pub struct FakeApi {
    listener: TcpListener,
    conn: Option<(TcpStream, Vec<u8>)>,
    /// Connections accepted so far.
    pub connections: usize,
}

impl FakeApi {
    pub fn new() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        FakeApi {
            listener,
            conn: None,
            connections: 0,
        }
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().unwrap().port()
    }

    fn accept(&mut self, deadline: Instant) -> Option<()> {
        loop {
            match self.listener.accept() {
                Ok((s, _)) => {
                    s.set_nonblocking(false).unwrap();
                    s.set_read_timeout(Some(Duration::from_millis(200)))
                        .unwrap();
                    s.set_nodelay(true).unwrap();
                    self.conn = Some((s, Vec::new()));
                    self.connections += 1;
                    return Some(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if Instant::now() > deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(2));
                }
                Err(e) => panic!("accept: {e}"),
            }
        }
    }

    /// The next request, from the current connection or a new one; `None` if none comes
    /// within `wait`.
    pub fn next_request_within(&mut self, wait: Duration) -> Option<Request> {
        let deadline = Instant::now() + wait;
        loop {
            if self.conn.is_none() {
                self.accept(deadline)?;
            }
            let (stream, buf) = self.conn.as_mut().unwrap();
            // Parse what is buffered.
            if let Some((req, used)) = parse_request(buf) {
                buf.drain(..used);
                return Some(req);
            }
            let mut chunk = [0u8; 65536];
            match stream.read(&mut chunk) {
                Ok(0) => self.conn = None,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    // The peer may have moved to a new connection.
                    if let Ok((s, _)) = self.listener.accept() {
                        s.set_nonblocking(false).unwrap();
                        s.set_read_timeout(Some(Duration::from_millis(200)))
                            .unwrap();
                        self.connections += 1;
                        self.conn = Some((s, Vec::new()));
                    }
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

    /// Answers the request just read.
    pub fn answer(
        &mut self,
        status: u16,
        headers: &[(&str, &str)],
        body: &[u8],
        send: Send,
        after: After,
    ) {
        let (stream, _) = self.conn.as_mut().expect("no connection to answer on");
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
        let mut wire = head.into_bytes();
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
        if send == Send::ByteByByte {
            for b in &wire {
                stream.write_all(std::slice::from_ref(b)).unwrap();
                stream.flush().unwrap();
            }
        } else {
            stream.write_all(&wire).unwrap();
        }
        if after != After::KeepAlive {
            let _ = stream.shutdown(std::net::Shutdown::Both);
            self.conn = None;
        }
    }

    /// Answers a `/next` with an event and the documented headers.
    pub fn event(&mut self, id: &str, event: &[u8]) {
        self.answer(
            200,
            &[
                ("request_id", id),
                ("memory_limit_in_mb", "128"),
                ("time_limit_in_ms", "3000"),
            ],
            event,
            Send::Length,
            After::KeepAlive,
        );
    }

    /// Answers an AWS `/next` with an event: request id, a deadline `ms_left` from now,
    /// function ARN and trace id.
    pub fn aws_event(&mut self, id: &str, ms_left: u64, event: &[u8]) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let deadline = (now + ms_left).to_string();
        self.answer(
            200,
            &[
                ("Lambda-Runtime-Aws-Request-Id", id),
                ("Lambda-Runtime-Deadline-Ms", &deadline),
                (
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:echo",
                ),
                (
                    "Lambda-Runtime-Trace-Id",
                    "Root=1-5e1b4151-5ac6c58f;Sampled=1",
                ),
            ],
            event,
            Send::Length,
            After::KeepAlive,
        );
    }

    /// Has a connection been made (or a request sent) within `wait`?
    pub fn anyone_within(&mut self, wait: Duration) -> bool {
        self.next_request_within(wait).is_some() || self.connections > 0
    }
}

/// Parses one complete request from `buf`: the request and the bytes it used.
fn parse_request(buf: &[u8]) -> Option<(Request, usize)> {
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut headers);
    let head_len = match req
        .parse(buf)
        .expect("the bootstrap sent a malformed request")
    {
        httparse::Status::Complete(n) => n,
        httparse::Status::Partial => return None,
    };
    let headers: Vec<(String, String)> = req
        .headers
        .iter()
        .map(|h| {
            (
                h.name.to_string(),
                String::from_utf8_lossy(h.value).into_owned(),
            )
        })
        .collect();
    let len: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().expect("bad Content-Length from the bootstrap"))
        .unwrap_or(0);
    if buf.len() < head_len + len {
        return None;
    }
    Some((
        Request {
            method: req.method.unwrap().to_string(),
            path: req.path.unwrap().to_string(),
            headers,
            body: buf[head_len..head_len + len].to_vec(),
        },
        head_len + len,
    ))
}

/// Path of an example built by `cargo test` (debug profile, host target).
pub fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let path = dir.join("examples").join(name);
    assert!(path.exists(), "{} not built", path.display());
    path
}

/// An example built for musl with the `bootstrap` profile (`panic = "abort"`, as deployed). The examples are
/// built once per test binary, in a target directory of their own (the outer `cargo test` may
/// hold the main one) shared by every test file that needs them.
pub fn musl_example(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap().join("musl-test");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--profile", "bootstrap", "--target", "x86_64-unknown-linux-musl"])
            .args(["--example", "echo", "--example", "faults", "--example", "json"])
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "musl build failed (is the target installed? `rustup target add x86_64-unknown-linux-musl`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("x86_64-unknown-linux-musl/bootstrap/examples")
    });
    dir.join(name)
}

/// An example built for musl with the `bootstrap` profile and the `image` feature (the
/// WebServer and Job shapes), in a target directory of its own, once per test binary.
pub fn image_example(name: &str) -> PathBuf {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let target = exe.ancestors().nth(3).unwrap().join("image-test");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args([
                "build",
                "--profile",
                "bootstrap",
                "--target",
                "x86_64-unknown-linux-musl",
            ])
            .args(["--features", "image"])
            .args([
                "--example",
                "echo",
                "--example",
                "faults",
                "--example",
                "json",
            ])
            .args(["--example", "init"])
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "musl build with the image feature failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("x86_64-unknown-linux-musl/bootstrap/examples")
    });
    dir.join(name)
}

/// A WebServer bootstrap's readiness: reads its stderr until the line `scf-bootstrap:
/// listening on 0.0.0.0:<port>` (printed for `SCF_BOOTSTRAP_PORT=0`); the port and the rest
/// of stderr, or `None` when the bootstrap closed stderr (exited) first.
pub fn wait_listening(
    child: &mut Child,
) -> Option<(u16, std::io::BufReader<std::process::ChildStderr>)> {
    use std::io::BufRead;
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        if stderr.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        let said = line.trim();
        if let Some(port) = said.strip_prefix("scf-bootstrap: listening on 0.0.0.0:") {
            return Some((port.parse().unwrap(), stderr));
        }
    }
}

/// Starts a bootstrap against SCF's runtime API at `port` with extra environment variables,
/// stdout and stderr piped.
pub fn start(bin: &Path, port: u16, env: &[(&str, &str)]) -> Child {
    let port = port.to_string();
    let mut all = vec![
        ("SCF_RUNTIME_API", "127.0.0.1"),
        ("SCF_RUNTIME_API_PORT", port.as_str()),
        ("_HANDLER", "index.main_handler"),
    ];
    all.extend_from_slice(env);
    start_with(bin, &all)
}

/// Starts a bootstrap against AWS Lambda's runtime API at `port`.
pub fn start_aws(bin: &Path, port: u16, env: &[(&str, &str)]) -> Child {
    let api = format!("127.0.0.1:{port}");
    let mut all = vec![
        ("AWS_LAMBDA_RUNTIME_API", api.as_str()),
        ("AWS_LAMBDA_FUNCTION_NAME", "echo"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
    ];
    all.extend_from_slice(env);
    start_with(bin, &all)
}

/// Starts a bootstrap with exactly this environment.
pub fn start_with(bin: &Path, env: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Waits for a child to exit within [`WAIT`]; its status and stderr.
pub fn finish(mut child: Child) -> (std::process::ExitStatus, String) {
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the bootstrap did not exit");
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, err)
}

/// Kills a child that is still serving.
pub fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}
