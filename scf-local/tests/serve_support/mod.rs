//! A `scf-local serve` process for the tests, and signed API calls to it.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scf_local::tc3::{self, Credential};

pub const SECRET_ID: &str = "AKIDscflocaltest";
pub const SECRET_KEY: &str = "scf-local-test-key";

/// A running `scf-local serve`, killed when dropped.
pub struct Serve {
    pub child: Child,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    /// `https` when started with `--tls`, else `http`.
    pub scheme: String,
    /// The state directory.
    pub state_dir: PathBuf,
}

impl Serve {
    /// Starts `scf-local serve` on an OS-chosen loopback port with the test key, keeping its
    /// state in `state_dir`, and waits for its address.
    pub fn start(state_dir: &Path, extra: &[&str]) -> Serve {
        Serve::start_with(state_dir, extra, |_| {})
    }

    /// [`Serve::start`], with `configure` applied to the command before it runs.
    pub fn start_with(
        state_dir: &Path,
        extra: &[&str],
        configure: impl FnOnce(&mut Command),
    ) -> Serve {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scf-local"));
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(state_dir)
            .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(tmp) = state_dir.parent() {
            cmd.env("TMPDIR", tmp);
        }
        configure(&mut cmd);
        let mut child = cmd.spawn().expect("start scf-local serve");
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stderr).lines();
            let mut sent = false;
            while let Some(Ok(line)) = lines.next() {
                if !sent {
                    let url = line
                        .split_once(" on http://")
                        .map(|(_, rest)| ("http", rest))
                        .or_else(|| line.split_once(" on https://").map(|(_, r)| ("https", r)));
                    if let Some((scheme, rest)) = url {
                        let addr = rest.split('/').next().unwrap_or("").to_owned();
                        let _ = tx.send((scheme.to_owned(), addr));
                        sent = true;
                        continue;
                    }
                }
                eprintln!("[serve] {line}");
            }
        });
        let (scheme, addr) = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("scf-local serve did not print its address");
        Serve {
            child,
            addr,
            scheme,
            state_dir: state_dir.to_owned(),
        }
    }

    /// The self-signed certificate of `--tls` (the CA bundle a client is given).
    pub fn tls_cert(&self) -> PathBuf {
        self.state_dir.join("tls/cert.pem")
    }

    /// A field of the server's `/proc/PID/status` in kB, such as `VmRSS` (resident now) or
    /// `VmHWM` (the most resident so far).
    pub fn status_kb(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {field} in the server's status"))
    }

    /// How many descriptors the server has open.
    pub fn open_fds(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Whether the server process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Kills the server at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Stops the server with SIGTERM and waits (bounded) for it to exit; returns whether it
    /// exited successfully.
    pub fn stop(&mut self) -> bool {
        // SAFETY: kill on the pid of our child, which has not been reaped yet.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        for _ in 0..500 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
        false
    }

    /// A signed call (`X-TC-Action: action`, JSON body); returns the `Response` object.
    pub fn call(&self, action: &str, body: &serde_json::Value) -> serde_json::Value {
        call(&self.addr, action, body.to_string().as_bytes())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        self.kill();
    }
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The headers of a call signed with the test key at `timestamp`.
pub fn signed_headers(
    addr: &str,
    action: &str,
    body: &[u8],
    timestamp: u64,
) -> Vec<(String, String)> {
    let cred = Credential::new(SECRET_ID, SECRET_KEY);
    tc3::api_headers(
        &cred,
        "scf",
        addr,
        action,
        "2018-04-16",
        Some("ap-guangzhou"),
        timestamp,
        body,
    )
}

/// An HTTP answer: status, headers (lowercase names), body.
pub type Exchange = (u16, Vec<(String, String)>, String);

/// One raw HTTP/1.1 exchange.
pub fn exchange(
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Exchange> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    exchange_over(&mut s, addr, method, target, headers, body)
}

/// One raw HTTP/1.1 exchange (`Connection: close`) over an open connection, plain or TLS,
/// to the server at `addr` (the default `Host`).
pub fn exchange_over(
    s: &mut (impl Read + Write),
    addr: &str,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Exchange> {
    let mut head = format!("{method} {target} HTTP/1.1\r\n");
    let mut has_host = false;
    for (k, v) in headers {
        has_host |= k.eq_ignore_ascii_case("host");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !has_host {
        head.push_str(&format!("Host: {addr}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        // A TLS peer that closes without close_notify, after its whole answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e),
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok((status, headers, body.to_owned()))
}

/// A signed POST; checks the platform's transport rules (200, `application/json`, a
/// `Response` with a `RequestId`) and returns the `Response` object.
pub fn call(addr: &str, action: &str, body: &[u8]) -> serde_json::Value {
    let headers = signed_headers(addr, action, body, now());
    response(exchange(addr, "POST", "/", &headers, body).expect("the request failed"))
}

/// Checks an exchange as [`call`] does and returns its `Response`.
pub fn response(
    (status, headers, body): (u16, Vec<(String, String)>, String),
) -> serde_json::Value {
    assert_eq!(status, 200, "{body}");
    let ct = headers
        .iter()
        .find(|(k, _)| k == "content-type")
        .map(|(_, v)| v.as_str());
    assert_eq!(ct, Some("application/json"));
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    let r = v["Response"].clone();
    assert!(r["RequestId"].is_string(), "{body}");
    r
}

/// The error code of a `Response`, if it is an error.
pub fn error_code(r: &serde_json::Value) -> Option<&str> {
    r["Error"]["Code"].as_str()
}
