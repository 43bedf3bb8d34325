//! Helpers shared by the end-to-end tests.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The repository root (the workspace).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A fixture directory under `scf-local/tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The built `scf-local` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_scf-local")
}

/// A scratch directory for one test, with `tmp/` to use as scf-local's `TMPDIR`.
pub struct Scratch {
    pub dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("scf-local-test-")
            .tempdir()
            .unwrap();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        Scratch { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    /// Copies a fixture directory into the scratch dir (so processes started from it can be
    /// told apart by their working directory).
    pub fn copy_fixture(&self, name: &str) -> PathBuf {
        let dest = self.path().join(name);
        let status = Command::new("cp")
            .arg("-a")
            .arg(fixture(name))
            .arg(&dest)
            .status()
            .unwrap();
        assert!(status.success());
        dest
    }

    /// A `scf-local` command with `TMPDIR` pointed into the scratch dir.
    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.env("TMPDIR", self.tmp()).stdin(Stdio::null());
        c
    }

    /// Asserts scf-local left nothing in its `TMPDIR`.
    pub fn assert_tmp_clean(&self) {
        let left: Vec<_> = std::fs::read_dir(self.tmp())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert!(left.is_empty(), "temporary files left behind: {left:?}");
    }
}

/// Runs a command with a time bound; kills it past the bound.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    // wait_with_output reads stdout and stderr while waiting: a large output never blocks.
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: kill on the pid of a child we spawned and that has not been reaped yet.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("command did not finish within {limit:?}");
        }
    }
}

/// The parsed result JSON printed by `scf-local invoke`.
pub fn result_of(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not a result ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// Whether a process is running (absent, zombie and dead count as not running).
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            !matches!(state, Some('Z') | Some('X') | None)
        }
        Err(_) => false,
    }
}

/// Waits (bounded) until the process is gone; returns whether it went.
pub fn gone_soon(pid: u32) -> bool {
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Running processes whose working directory is `dir` or below it.
pub fn processes_in(dir: &Path) -> Vec<u32> {
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if let Ok(cwd) = std::fs::read_link(entry.path().join("cwd")) {
            if cwd.starts_with(&dir) && alive(pid) {
                found.push(pid);
            }
        }
    }
    found
}

/// Asserts that no process runs in `dir`, giving killed ones a moment to go.
pub fn assert_no_process_in(dir: &Path) {
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_in(dir);
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < until,
            "processes left running in {}: {left:?}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Spawns `cmd` (an `scf-local run … --port 0` or `serve`) with stdout discarded and stderr
/// piped, reads the server's address from the first line naming `http://`, and keeps
/// draining stderr so the server never blocks on it. Returns the child and `HOST:PORT`.
pub fn spawn_server(mut cmd: Command) -> (Child, String) {
    use std::io::BufRead as _;
    cmd.stdout(Stdio::null()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_owned();
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// One HTTP/1.1 request on a new connection; returns the status and the body.
pub fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, body.to_owned())
}

/// Builds the runtime's `echo` example for musl, once per test binary, into its own target
/// directory (no lock waits on the shared one). Returns the bootstrap's path.
pub fn echo_bootstrap() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| musl_examples(&["echo"]).join("echo"))
        .clone()
}

/// Builds the runtime's examples `names` for musl with the `bootstrap` profile into the
/// tests' own target directory; returns the directory that holds them.
pub fn musl_examples(names: &[&str]) -> PathBuf {
    let root = repo_root();
    for name in names {
        assert!(
            root.join("examples").join(format!("{name}.rs")).exists(),
            "the runtime's examples/{name}.rs is missing"
        );
    }
    let target_dir = root.join("target/scf-local-tests");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .env("CARGO_TARGET_DIR", &target_dir)
        .args([
            "build",
            "--profile",
            "bootstrap",
            "--target",
            "x86_64-unknown-linux-musl",
        ]);
    for name in names {
        cmd.args(["--example", name]);
    }
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "building {names:?} for x86_64-unknown-linux-musl failed (is the target installed? `rustup target add x86_64-unknown-linux-musl`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join("x86_64-unknown-linux-musl/bootstrap/examples")
}

/// Packs a bootstrap into `<dir>/function.zip` with `scf-local pack`.
pub fn pack(scratch: &Scratch, bootstrap: &Path, include: &[&Path]) -> PathBuf {
    let zip = scratch.path().join("function.zip");
    let mut cmd = scratch.cmd();
    cmd.arg("pack")
        .arg("--bootstrap")
        .arg(bootstrap)
        .arg("-o")
        .arg(&zip);
    for f in include {
        cmd.arg("--include").arg(f);
    }
    let out = run_bounded(cmd, Duration::from_secs(60));
    assert!(
        out.status.success(),
        "pack failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    zip
}

/// Bad input: one line on stderr, exit status 2, no panic, nothing left behind.
pub fn assert_bad_input(scratch: &Scratch, out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(err.lines().count(), 1, "not one line: {err}");
    assert!(err.starts_with("scf-local: error: "), "{err}");
    assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    assert!(!err.contains("panicked"), "{err}");
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
}
