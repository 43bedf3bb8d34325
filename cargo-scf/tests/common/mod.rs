//! Running `cargo-scf` and other commands with a time bound, and a fake TencentCloud API.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use scf_api::tc3;

pub const SECRET_ID: &str = "AKIDcargoscftest";
pub const SECRET_KEY: &str = "cargo-scf-test-key";

/// `cargo-scf` as Cargo runs it for `cargo scf …` (the first argument is `scf`).
pub fn cargo_scf() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-scf"));
    cmd.arg("scf");
    // The key of the person running the tests must not reach the commands under test.
    for var in [
        "TENCENTCLOUD_SECRETID",
        "TENCENTCLOUD_SECRETKEY",
        "TENCENTCLOUD_SESSIONTOKEN",
        "TENCENTCLOUD_REGION",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("CARGO", cargo_path());
    cmd
}

/// The `cargo` running the tests.
pub fn cargo_path() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO")))
}

/// Runs `cmd` to its end, at most `limit`: past it, its whole process group is killed and
/// the test fails with what it printed. Its stderr is echoed for the test log.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            // The group: a killed cargo-scf must not leave its cargo build running.
            let _ = Command::new("kill")
                .args(["-KILL", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    eprintln!(
        "$ {cmd:?}\n{}{}",
        String::from_utf8_lossy(&stderr),
        String::from_utf8_lossy(&stdout)
    );
    match status {
        Some(status) => Output {
            status,
            stdout,
            stderr,
        },
        None => panic!("{cmd:?} took more than {limit:?}"),
    }
}

/// The text of an output stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A request the fake API received, its signature checked.
#[derive(Clone, Debug)]
pub struct Received {
    pub action: String,
    pub token: Option<String>,
    pub region: Option<String>,
    pub body: serde_json::Value,
    /// `Ok(SecretId)` or the verification error.
    pub signature: Result<String, String>,
}

/// A fake TencentCloud API on a loopback port: each request is checked with
/// `scf_api::tc3::verify` and recorded; `answer(action)` gives the `Response` object.
pub struct FakeApi {
    pub addr: String,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl FakeApi {
    pub fn start(answer: fn(&str) -> serde_json::Value) -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let received = Arc::new(Mutex::new(Vec::new()));
        let log = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = serve_one(stream, answer, &log);
            }
        });
        FakeApi { addr, received }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn actions(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.action.clone())
            .collect()
    }
}

/// Reads one request, answers it and closes the connection.
fn serve_one(
    stream: TcpStream,
    answer: fn(&str) -> serde_json::Value,
    log: &Mutex<Vec<Received>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let length: usize = get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let request = tc3::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &pairs,
        payload: &body,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let signature = tc3::verify(&request, "scf", now, |id| {
        (id == SECRET_ID).then(|| SECRET_KEY.to_owned())
    })
    .map_err(|e| e.to_string());
    let action = get("x-tc-action").unwrap_or_default();
    let n = {
        let mut log = log.lock().unwrap();
        log.push(Received {
            action: action.clone(),
            token: get("x-tc-token"),
            region: get("x-tc-region"),
            body: serde_json::from_slice(&body).unwrap_or_default(),
            signature,
        });
        log.len()
    };
    let mut response = answer(&action);
    response["RequestId"] = format!("fake-{n}").into();
    let reply = serde_json::json!({ "Response": response }).to_string();
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{reply}",
        reply.len()
    )?;
    stream.flush()
}

/// An executable shell script at `dir/name`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
