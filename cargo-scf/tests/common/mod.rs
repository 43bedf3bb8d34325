//! Running `cargo-scf` and other commands with a time bound, and `scf-local serve` (the
//! TencentCloud API the tests deploy to) as a process, both through the workspace's test kit;
//! and a tap on the wire between them.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Runs `cmd` to its end, at most `limit` (the kit's bounded run: past it, its whole process
/// group is killed, so a killed cargo-scf leaves no cargo build running, and the test fails
/// with what it printed). Its output is echoed for the test log.
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null());
    let out = scf_testkit::process::run_bounded(&mut *cmd, limit);
    eprintln!(
        "$ {cmd:?}\n{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out
}

/// The text of an output stream.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Bound on a build (the first one compiles the dependencies).
pub const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// Bound on any other step.
pub const STEP_LIMIT: Duration = Duration::from_secs(120);

/// The workspace's root, from this package's manifest.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cargo-scf is a workspace member")
        .to_path_buf()
}

/// `<workspace target>/cargo-scf-e2e`, as Cargo reports the target directory: compiled
/// output of the tests' own builds (not the test's target directory, which `cargo test`
/// keeps locked), reused by later runs.
pub fn e2e_target_dir() -> PathBuf {
    let out = run(
        Command::new(cargo_path())
            .args([
                "metadata",
                "--no-deps",
                "--format-version",
                "1",
                "--manifest-path",
            ])
            .arg(workspace_root().join("Cargo.toml")),
        STEP_LIMIT,
    );
    assert!(out.status.success(), "cargo metadata failed");
    let metadata: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    PathBuf::from(metadata["target_directory"].as_str().unwrap()).join("cargo-scf-e2e")
}

/// Builds the `scf-local` binary into `target` and returns its path (from Cargo's JSON
/// messages, so no layout is guessed).
pub fn build_scf_local(target: &Path) -> PathBuf {
    let out = run(
        Command::new(cargo_path())
            .args(["build", "-p", "scf-local", "--bin", "scf-local"])
            .args([
                "--message-format=json-render-diagnostics",
                "--manifest-path",
            ])
            .arg(workspace_root().join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", target)
            // No debug info: a third of the disk and less link time, for a tool only run.
            .env("CARGO_PROFILE_DEV_DEBUG", "false"),
        BUILD_LIMIT,
    );
    assert!(out.status.success(), "cargo build -p scf-local failed");
    cargo_scf::build::executable_from_messages(&text(&out.stdout), "scf-local")
        .expect("the scf-local executable among cargo's messages")
}

/// A running `scf-local serve` with the test key, killed when dropped.
pub struct Serve {
    child: Child,
    pub endpoint: String,
}

impl Serve {
    /// `binary serve` on a loopback port, its state (and temporary files) in `state_dir`.
    pub fn start(binary: &Path, state_dir: &Path) -> Serve {
        let (child, addr) = scf_testkit::process::spawn_server(
            Command::new(binary)
                .args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
                .arg(state_dir)
                .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
                .env("TMPDIR", state_dir)
                .stdin(Stdio::null())
                .stdout(Stdio::null()),
            STEP_LIMIT,
            Some("[serve] "),
        )
        .unwrap_or_else(|e| panic!("scf-local serve: {e}"));
        Serve {
            child,
            endpoint: format!("http://{addr}"),
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP message as it went over the wire.
#[derive(Debug)]
pub struct Message {
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: serde_json::Value,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Both directions of one connection, as copied so far.
type Conversation = (Arc<Mutex<Vec<u8>>>, Arc<Mutex<Vec<u8>>>);

/// A loopback port in front of `scf-local serve` that passes every byte through, unchanged,
/// and keeps a copy. Not a stand-in for the server (which answers everything), only a
/// window on the wire, for what `serve` does not keep: the headers it accepts unchecked or
/// keeps only for an instance's environment (`X-TC-Token`, `X-TC-Region`), the calls that
/// failed, and the replies as sent.
pub struct Tap {
    pub endpoint: String,
    conversations: Arc<Mutex<Vec<Conversation>>>,
}

impl Tap {
    pub fn start(upstream: &str) -> Tap {
        let upstream = upstream
            .strip_prefix("http://")
            .expect("an http:// endpoint")
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let conversations = Arc::new(Mutex::new(Vec::new()));
        let all = conversations.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let sent = Arc::new(Mutex::new(Vec::new()));
                let answered = Arc::new(Mutex::new(Vec::new()));
                all.lock().unwrap().push((sent.clone(), answered.clone()));
                let (c, s) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                std::thread::spawn(move || pipe(c, s, &sent));
                std::thread::spawn(move || pipe(server, client, &answered));
            }
        });
        Tap {
            endpoint,
            conversations,
        }
    }

    /// Every request with its reply, in the order they were made (the calls of one command
    /// are sequential).
    pub fn exchanges(&self) -> Vec<(Message, Message)> {
        let mut exchanges = Vec::new();
        for (sent, answered) in self.conversations.lock().unwrap().iter() {
            let requests = messages(&sent.lock().unwrap());
            let replies = messages(&answered.lock().unwrap());
            assert_eq!(requests.len(), replies.len(), "a request without its reply");
            exchanges.extend(requests.into_iter().zip(replies));
        }
        exchanges
    }
}

/// Copies `from` to `to`, keeping a copy before passing each piece on (so a reply the
/// client has read is already in the copy).
fn pipe(mut from: TcpStream, mut to: TcpStream, copy: &Mutex<Vec<u8>>) {
    let mut buf = [0; 16 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                copy.lock().unwrap().extend_from_slice(&buf[..n]);
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// The complete HTTP/1.1 messages in `bytes` (each with a `Content-Length`).
fn messages(mut bytes: &[u8]) -> Vec<Message> {
    let mut out = Vec::new();
    while let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let headers: Vec<(String, String)> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or_else(|| panic!("no Content-Length in {head}"));
        let rest = &bytes[end + 4..];
        if rest.len() < length {
            break;
        }
        out.push(Message {
            headers,
            body: serde_json::from_slice(&rest[..length]).unwrap_or_default(),
        });
        bytes = &rest[length..];
    }
    out
}

/// An executable shell script at `dir/name`.
pub fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}
