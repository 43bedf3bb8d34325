//! Helpers shared by the end-to-end tests; bounded runs, `/proc` scans and the HTTP client
//! are the workspace's test kit's.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

// Not every test file uses every name.
#[allow(unused_imports)]
pub use scf_testkit::examples::build_musl_examples;
#[allow(unused_imports)]
pub use scf_testkit::process::{run_bounded, wait_bounded};
#[allow(unused_imports)]
pub use scf_testkit::procfs::{alive, children, processes_in};

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

/// Spawns `cmd` (an `scf-local run … --port 0` or `serve`) with stdout discarded (the kit's
/// [`scf_testkit::process::spawn_server`]: stderr drained); returns the child and
/// `HOST:PORT`.
pub fn spawn_server(mut cmd: Command) -> (Child, String) {
    cmd.stdout(Stdio::null());
    scf_testkit::process::spawn_server(&mut cmd, Duration::from_secs(60), None)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// One HTTP/1.1 request on a new connection (the kit's client); the status and the body as
/// text.
pub fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> (u16, String) {
    let (status, body) =
        scf_testkit::http::request(addr, method, path, &[], body, Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("{method} {path} on {addr}: {e}"));
    (status, String::from_utf8_lossy(&body).into_owned())
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
    build_musl_examples(&root, &root.join("target/scf-local-tests"), names)
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

/// Sends `signal` to `child` and waits (bounded) for it to exit; fails the test if it does
/// not.
pub fn signal_and_wait(child: &mut Child, signal: i32) -> std::process::ExitStatus {
    // SAFETY: kill has no memory-safety preconditions; the child is ours and not reaped.
    unsafe { libc::kill(child.id() as i32, signal) };
    let (status, killed) = wait_bounded(child, Duration::from_secs(60));
    assert!(!killed, "{child:?} did not exit on signal {signal}");
    status
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
