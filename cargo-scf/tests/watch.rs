//! The edit–run loop through the binary: `cargo scf new` with no flags builds as generated,
//! and `cargo scf watch` serves, rebuilds on an edit, keeps serving through a broken edit
//! and leaves nothing running when interrupted.
//!
//! Builds go to `<workspace target>/cargo-scf-e2e`, the directory the e2e test uses, so
//! the runtime and its dependencies are compiled once for both. Every wait has a bound and
//! ends on a signal (a line printed, an answer); nothing asserts how long anything took.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Bound on a build (the first one compiles the runtime's dependencies).
const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// Bound on any other step.
const STEP_LIMIT: Duration = Duration::from_secs(120);

/// The repository's root: the runtime's checkout, which `new` must find by itself.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The shared build directory of cargo-scf's end-to-end tests, as Cargo names the
/// workspace's target directory (`CARGO_TARGET_DIR` included).
fn shared_target() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(repository().join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    PathBuf::from(metadata["target_directory"].as_str().unwrap()).join("cargo-scf-e2e")
}

/// `cargo-scf scf <args>` in `dir`, building into `target`, in a process group of its own
/// (as a terminal runs a command), without the caller's cloud key or flags.
fn cargo_scf(dir: &Path, target: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-scf"));
    cmd.arg("scf")
        .args(args)
        .current_dir(dir)
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .process_group(0);
    for var in [
        "TENCENTCLOUD_SECRETID",
        "TENCENTCLOUD_SECRETKEY",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` to its end within `limit` (past it, the group is killed and the test fails).
fn finish(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let lines = lines_of(&mut child);
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).unwrap();
    }
    let mut stderr = String::new();
    let deadline = Instant::now() + limit;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                stderr.push_str(&line);
                stderr.push('\n');
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                kill_group(&child, "-KILL");
                panic!("{cmd:?} took more than {limit:?}:\n{stderr}");
            }
        }
    }
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

/// The child's stderr, line by line, echoed to the test's log.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[cargo-scf] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Sends `signal` (`-INT`, `-KILL`) to the child's process group, as a terminal's Ctrl-C does.
fn kill_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .status();
}

/// A crate made by `cargo scf new` with no flags, in `dir/name`; returns its folder and
/// what `new` printed on stderr.
fn new_crate(dir: &Path, target: &Path, name: &str) -> (PathBuf, String) {
    let out = finish(&mut cargo_scf(dir, target, &["new", name]), STEP_LIMIT);
    assert!(out.status.success());
    (
        dir.join(name),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn new_without_flags_builds() {
    let target = shared_target();
    let work = tempfile::tempdir().unwrap();
    let (krate, said) = new_crate(work.path(), &target, "scf-new-default");
    let root = repository();
    assert!(
        said.contains(&format!(
            "Runtime scf-bootstrap from {} (the checkout cargo-scf was built from;",
            root.display()
        )),
        "{said}"
    );
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("scf-bootstrap = {{ path = {:?} }}", root)),
        "{manifest}"
    );
    let out = finish(&mut cargo_scf(&krate, &target, &["build"]), BUILD_LIMIT);
    assert!(out.status.success(), "the generated crate does not build");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("linkage: static\n"), "{stdout}");
}
