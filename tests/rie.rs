//! The runtime under AWS's own emulator: the AWS Lambda Runtime Interface Emulator (RIE), a
//! runtime API server we did not write.
//!
//! RIE ships inside the `aws-sam-cli` wheel on PyPI (`samcli/local/rapid/aws-lambda-rie-x86_64`).
//! The first run downloads the wheel with `python3 -m pip download --no-deps` and keeps only
//! that binary, under Cargo's target directory (`target/tmp/rie-<version>/`); later runs use
//! it as it is. Neither the wheel nor the binary is part of the repository.
//!
//! Each test starts RIE on loopback with the musl `bootstrap`-profile build of an example as its
//! bootstrap (`aws-lambda-rie-x86_64 --runtime-interface-emulator-address 127.0.0.1:P
//! --runtime-api-address 127.0.0.1:Q <bootstrap>`); RIE starts the bootstrap with
//! `AWS_LAMBDA_RUNTIME_API=127.0.0.1:Q` on the first invocation. The test invokes it with
//! `POST /2015-03-31/functions/function/invocations` and checks the answers. RIE and its
//! runtime are killed when the test ends, whatever happens (a `Drop` guard).

use std::net::{TcpListener, TcpStream};
mod common;
use scf_testkit::rie::INVOKE;
use scf_testkit::{http, procfs};

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The function timeout given to RIE (`AWS_LAMBDA_FUNCTION_TIMEOUT`), seconds.
const FUNCTION_TIMEOUT_S: u64 = 30;
/// Bound on any single wait.
const WAIT: Duration = Duration::from_secs(60);

/// RIE, downloaded and extracted once per target directory; fails with what to do when pip
/// or PyPI cannot be reached.
fn rie_binary() -> &'static Path {
    static RIE: OnceLock<PathBuf> = OnceLock::new();
    RIE.get_or_init(|| {
        scf_testkit::rie::binary(Path::new(env!("CARGO_TARGET_TMPDIR")))
            .unwrap_or_else(|e| panic!("the RIE tests need RIE: {e}"))
    })
}

/// A new empty directory inside `parent`.
fn tempfile_dir(parent: &Path) -> PathBuf {
    for n in 0..1000 {
        let dir = parent.join(format!("rie-work-{}-{n}", std::process::id()));
        match std::fs::create_dir(&dir) {
            Ok(()) => return dir,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => panic!("cannot create {}: {e}", dir.display()),
        }
    }
    panic!("no free directory name in {}", parent.display())
}

/// A free port on loopback (the OS's choice; free when this returns).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running RIE with one bootstrap. Dropping it kills RIE and its runtime.
struct Rie {
    child: Child,
    addr: String,
    dir: PathBuf,
    bootstrap: PathBuf,
}

impl Rie {
    /// Starts RIE on loopback with `bootstrap` and waits until it takes connections.
    fn start(bootstrap: &Path, function_name: &str) -> Rie {
        let rie = rie_binary();
        let dir = tempfile_dir(Path::new(env!("CARGO_TARGET_TMPDIR")));
        let log = std::fs::File::create(dir.join("rie.log")).unwrap();
        let addr = format!("127.0.0.1:{}", free_port());
        let api = format!("127.0.0.1:{}", free_port());
        // RIE hands its own environment to the runtime: start from an empty one, so nothing
        // of the test's (say, an SCF_RUNTIME_API) leaks in.
        let child = Command::new(rie)
            .arg("--runtime-interface-emulator-address")
            .arg(&addr)
            .arg("--runtime-api-address")
            .arg(&api)
            .arg(bootstrap)
            .current_dir(&dir)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AWS_LAMBDA_FUNCTION_NAME", function_name)
            .env(
                "AWS_LAMBDA_FUNCTION_TIMEOUT",
                FUNCTION_TIMEOUT_S.to_string(),
            )
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", rie.display()));
        let mut rie = Rie {
            child,
            addr,
            dir,
            // As /proc/<pid>/exe names it.
            bootstrap: bootstrap.canonicalize().unwrap(),
        };
        let until = Instant::now() + WAIT;
        while TcpStream::connect(&rie.addr).is_err() {
            if let Ok(Some(status)) = rie.child.try_wait() {
                panic!("RIE exited ({status}) before listening:\n{}", rie.log());
            }
            assert!(
                Instant::now() < until,
                "RIE does not listen:\n{}",
                rie.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        rie
    }

    /// What RIE and the runtime printed so far.
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("rie.log")).unwrap_or_default()
    }

    /// How many times RIE started the runtime.
    fn inits(&self) -> usize {
        self.log().matches("INIT START").count()
    }

    /// One invocation: the status and body of RIE's answer.
    fn invoke(&self, event: &str, headers: &[(&str, &str)]) -> (u16, String) {
        let (status, body) =
            http::request(&self.addr, "POST", INVOKE, headers, event.as_bytes(), WAIT)
                .unwrap_or_else(|e| panic!("no answer from RIE ({e}):\n{}", self.log()));
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    /// Processes running our bootstrap whose parent is RIE.
    fn runtimes(&self) -> Vec<u32> {
        procfs::children(self.child.id())
            .into_iter()
            .filter(|&pid| {
                procfs::alive(pid)
                    && std::fs::read_link(format!("/proc/{pid}/exe"))
                        .ok()
                        .as_deref()
                        == Some(self.bootstrap.as_path())
            })
            .collect()
    }
}

impl Drop for Rie {
    fn drop(&mut self) {
        let runtimes = self.runtimes();
        let _ = self.child.kill();
        let _ = self.child.wait();
        // RIE's runtime dies with it (parent-death signal); make sure of it.
        for pid in runtimes {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            if exe.as_deref() == Some(self.bootstrap.as_path()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Asserts that a runtime that RIE started is gone once RIE is (bounded wait).
fn assert_gone(pids: &[u32]) {
    let until = Instant::now() + Duration::from_secs(5);
    for &pid in pids {
        while procfs::alive(pid) {
            assert!(Instant::now() < until, "runtime {pid} outlived RIE");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn echo_answers_and_stays_warm() {
    let rie = Rie::start(&common::musl_example("echo"), "echo");
    let event = r#"{"key1": "test value 1", "key2": "test value 2"}"#;
    for _ in 0..3 {
        let (status, body) = rie.invoke(event, &[]);
        assert_eq!(status, 200, "{body}\n{}", rie.log());
        assert_eq!(body, format!("Echoing request: '{event}'"), "{}", rie.log());
    }
    // One runtime served all three: it went back to /next after each response.
    assert_eq!(rie.inits(), 1, "{}", rie.log());
    let runtimes = rie.runtimes();
    assert_eq!(runtimes.len(), 1, "{}", rie.log());
    drop(rie);
    assert_gone(&runtimes);
}

#[test]
fn handler_error_and_panic_are_reported() {
    let rie = Rie::start(&common::musl_example("faults"), "faults");

    // A handler error: RIE answers with the error JSON the runtime posted to .../error.
    let (status, body) = rie.invoke(r#""error:bad \"input\"""#, &[]);
    assert_eq!(status, 200, "{body}\n{}", rie.log());
    let e = json(&body);
    assert_eq!(e["errorType"], "HandlerError", "{e}");
    assert_eq!(e["errorMessage"], r#"bad "input""#, "{e}");

    // The runtime lives on after an error.
    let (status, body) = rie.invoke(r#""fine""#, &[]);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"ok: "fine""#),
        "{}",
        rie.log()
    );
    assert_eq!(rie.inits(), 1, "{}", rie.log());

    // A panic: the runtime posts it as an error, then aborts (`panic = "abort"`). RIE answers
    // with the posted error; since the runtime died before asking for the next event, RIE
    // reports the invocation as failed with 502 Bad Gateway (200 if it took the answer first).
    let (status, body) = rie.invoke(r#""panic:oh no""#, &[]);
    assert!(
        matches!(status, 200 | 502),
        "{status} {body}\n{}",
        rie.log()
    );
    let e = json(&body);
    assert_eq!(e["errorType"], "Panic", "{e}");
    let message = e["errorMessage"].as_str().unwrap();
    assert!(message.ends_with(": oh no"), "{e}");

    // RIE starts a new runtime for the next invocation.
    let (status, body) = rie.invoke(r#""after""#, &[]);
    assert_eq!(
        (status, body.as_str()),
        (200, r#"ok: "after""#),
        "{}",
        rie.log()
    );
    assert_eq!(rie.inits(), 2, "{}", rie.log());
    let runtimes = rie.runtimes();
    drop(rie);
    assert_gone(&runtimes);
}

#[test]
fn context_comes_from_ries_headers() {
    let rie = Rie::start(&common::musl_example("json"), "rie-json");
    let trace = "Root=1-5e1b4151-5ac6c58f0123456789abcdef;Parent=53995c3f42cd8ad8;Sampled=1";
    let (status, body) = rie.invoke(r#"{"name": "RIE"}"#, &[("X-Amzn-Trace-Id", trace)]);
    assert_eq!(status, 200, "{body}\n{}", rie.log());
    let v = json(&body);
    assert_eq!(v["message"], "Hello, RIE!", "{v}");
    assert_eq!(v["function"], "rie-json", "{v}");
    let arn = v["function_arn"].as_str().unwrap_or_default();
    assert!(
        arn.starts_with("arn:aws:lambda:") && arn.ends_with(":function:rie-json"),
        "{v}"
    );
    // This RIE sends no Lambda-Runtime-Trace-Id (its tracing is off when it runs alone), so
    // the runtime has none; whichever it gets, `_X_AMZN_TRACE_ID` is the same.
    assert!(v["trace_id"].is_null() || v["trace_id"] == trace, "{v}");
    assert_eq!(v["trace_env"], v["trace_id"], "_X_AMZN_TRACE_ID: {v}");
    let request_id = v["request_id"].as_str().unwrap_or_default();
    assert_eq!(request_id.len(), 36, "a UUID from RIE: {v}");
    // Lambda-Runtime-Deadline-Ms is an absolute deadline: what is left is within the timeout.
    let left = v["remaining_ms"].as_u64().unwrap();
    assert!(left > 0 && left <= FUNCTION_TIMEOUT_S * 1000, "{v}");
}
