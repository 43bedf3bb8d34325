//! Helpers to build and start this package's example bootstraps; the fake runtime API they
//! talk to is the workspace's test kit's ([`ScriptedApi`]).
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use scf_testkit::process::wait_bounded;
// Not every test file uses every name.
#[allow(unused_imports)]
pub use scf_testkit::runtime_api::{After, Request, ScriptedApi, Send, WAIT};

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
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        scf_testkit::examples::build_musl_examples(root, &target, &["echo", "faults", "json"])
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
    let (status, killed) = wait_bounded(&mut child, WAIT);
    assert!(!killed, "the bootstrap did not exit");
    (status, stderr_of(&mut child))
}

/// Kills a child that is still serving; its stderr.
pub fn stop(mut child: Child) -> String {
    let _ = child.kill();
    let _ = child.wait();
    stderr_of(&mut child)
}

fn stderr_of(child: &mut Child) -> String {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    err
}
