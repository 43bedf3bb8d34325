//! The runtime's own examples (`echo`, `json`, `init`, `faults`, built for musl with the
//! `image` feature, as `cargo scf build --image` builds them) through `scf-local invoke|run
//! --shape image|job`: the answers, the error results with their codes, init once per
//! instance, and panics, as `cli.rs` and `aws.rs` check them in the zip shape. Every run is
//! bounded.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use common::*;
use serde_json::Value;

const EVENT: &str = r#"{"key1": "test value 1", "key2": "test value 2"}"#;
const BOUND: Duration = Duration::from_secs(60);
const SHAPES: [&str; 2] = ["image", "job"];

/// The examples built for musl with the `image` feature, once per test binary, into a
/// target directory of their own (the zip-shape tests build the same examples without it).
fn examples() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = repo_root();
        scf_testkit::examples::build_musl_examples_with(
            &root,
            &root.join("target/scf-local-image-tests"),
            &["echo", "json", "init", "faults"],
            &["image"],
        )
    })
}

/// A code directory in the scratch dir whose `bootstrap` is the named example.
fn example_code(scratch: &Scratch, name: &str) -> PathBuf {
    let dir = scratch.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(examples().join(name), dir.join("bootstrap")).unwrap();
    dir
}

/// `scf-local invoke --shape <shape>` of the example `name` with `args`; the result and the
/// output, after checking that nothing was left behind.
fn invoke(shape: &str, name: &str, args: &[&str]) -> (Value, Output) {
    let scratch = Scratch::new();
    let code = example_code(&scratch, name);
    let mut cmd = scratch.cmd();
    cmd.args(["invoke", "--shape", shape])
        .arg(&code)
        .args(["--log-limit", "0"])
        .args(args);
    let out = run_bounded(cmd, BOUND);
    let result = result_of(&out);
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
    (result, out)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn log(r: &Value) -> &str {
    r["Result"]["Log"].as_str().unwrap()
}

/// The checks common to failed invocations: exit status 1, the code, no `RetMsg`.
fn assert_failed(r: &Value, out: &Output, code: u64) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert_eq!(r["Result"]["InvokeResult"], code, "{r}");
    assert_eq!(r["Result"]["RetMsg"], "", "{r}");
}

#[test]
fn echo_example_echoes_in_both_shapes() {
    for shape in SHAPES {
        let (r, out) = invoke(shape, "echo", &["--event", EVENT]);
        assert!(out.status.success(), "{shape}: {}", stderr(&out));
        let res = &r["Result"];
        assert_eq!(
            res["RetMsg"],
            format!("Echoing request: '{EVENT}'"),
            "{shape}: {r}"
        );
        assert_eq!(res["ErrMsg"], "", "{shape}");
        assert_eq!(res["InvokeResult"], 0, "{shape}");
        let id = r["RequestId"].as_str().unwrap();
        assert_eq!(res["FunctionRequestId"], id, "{shape}");
        if shape == "image" {
            // A Job this short may end before memory is first sampled.
            assert!(res["MemUsage"].as_u64().unwrap() > 0, "{shape}: {r}");
        }
        let log = log(&r);
        assert!(log.starts_with(&format!("START RequestId:{id}\n")), "{log}");
        assert!(log.contains("Init Report"), "{shape}: {log}");
        assert!(log.contains(&format!("END RequestId:{id}\n")), "{log}");
    }
}

#[test]
fn json_example_sees_the_request_id_and_the_function_in_both_shapes() {
    for shape in SHAPES {
        let (r, out) = invoke(
            shape,
            "json",
            &[
                "--event",
                r#"{"name":"shape","a":1}"#,
                "--function-name",
                "shaped-fn",
                "--timeout",
                "7",
            ],
        );
        assert!(out.status.success(), "{shape}: {}", stderr(&out));
        let ret: Value = serde_json::from_str(r["Result"]["RetMsg"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{shape}: RetMsg is not JSON ({e}): {r}"));
        assert_eq!(ret["message"], "Hello, shape!", "{shape}: {ret}");
        assert_eq!(ret["keys"], 2, "{shape}: {ret}");
        assert_eq!(ret["request_id"], r["RequestId"], "{shape}: {ret}");
        assert_eq!(ret["function"], "shaped-fn", "{shape}: {ret}");
        let remaining = ret["remaining_ms"].as_u64().unwrap();
        assert!(
            remaining > 0 && remaining <= 7000,
            "{shape}: the time left is not within the 7 s Timeout: {ret}"
        );
    }
}

#[test]
fn handler_error_is_430_with_its_text_in_both_shapes() {
    let event = r#""error:bad \"input\"""#;
    let (r, out) = invoke("image", "faults", &["--event", event]);
    assert_failed(&r, &out, 430);
    assert_eq!(
        r["Result"]["ErrMsg"], r#"the function's HTTP server answered status 500: bad "input""#,
        "{r}"
    );
    let (r, out) = invoke("job", "faults", &["--event", event]);
    assert_failed(&r, &out, 430);
    assert_eq!(r["Result"]["ErrMsg"], "the job failed: exit code 1", "{r}");
    assert!(
        log(&r).contains("scf-bootstrap: invocation failed: bad \"input\"\n"),
        "{}",
        log(&r)
    );
}

#[test]
fn panic_fails_the_invocation_with_its_message_in_the_log_in_both_shapes() {
    // The bootstrap profile aborts on panic, as deployed: the WebServer's connection closes
    // with no answer and the process is gone (439); the Job dies of SIGABRT (430).
    let (r, out) = invoke("image", "faults", &["--event", r#""panic:oh no""#]);
    assert_failed(&r, &out, 439);
    assert!(log(&r).contains("oh no\n"), "{}", log(&r));
    let (r, out) = invoke("job", "faults", &["--event", r#""panic:oh no""#]);
    assert_failed(&r, &out, 430);
    assert!(log(&r).contains("oh no\n"), "{}", log(&r));
}

#[test]
fn init_failure_is_445_with_its_text_in_the_log_in_both_shapes() {
    for shape in SHAPES {
        let (r, out) = invoke(shape, "init", &["--env", "INIT_FAIL=reason"]);
        assert_eq!(out.status.code(), Some(1), "{shape}: {}", stderr(&out));
        let code = r["Result"]["InvokeResult"].as_u64().unwrap();
        assert_eq!(r["Result"]["RetMsg"], "", "{shape}: {r}");
        assert!(
            log(&r).contains("INIT_FAIL is set: reason"),
            "{shape}: {}",
            log(&r)
        );
        // The WebServer exits before it listens (445); the Job's init and handler are one
        // run of the command, so its init failure is the run's failure (430).
        let expected = if shape == "image" { 445 } else { 430 };
        assert_eq!(code, expected, "{shape}: {r}");
    }
}

/// `scf-local run --shape <shape>` of the example `name`; POSTs `events` in turn and returns
/// each `RetMsg`.
fn run_events(shape: &str, name: &str, events: &[&str]) -> Vec<String> {
    let scratch = Scratch::new();
    let code = example_code(&scratch, name);
    let mut cmd = scratch.cmd();
    cmd.args(["run", "--shape", shape])
        .arg(&code)
        .args(["--port", "0", "--log-limit", "0"]);
    let (mut child, addr) = spawn_server(cmd);
    let answers = events
        .iter()
        .map(|event| {
            let (status, body) = http(&addr, "POST", "/invoke", event.as_bytes());
            assert_eq!(status, 200, "{shape}: {body}");
            let r: Value = serde_json::from_str(&body).unwrap();
            r["Result"]["RetMsg"].as_str().unwrap().to_owned()
        })
        .collect();
    let status = signal_and_wait(&mut child, libc::SIGTERM);
    assert!(status.success(), "{shape}: run exited with {status}");
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
    answers
}

#[test]
fn init_runs_once_per_webserver_instance_and_once_per_job() {
    // A warm WebServer keeps its state between events; each Job is a fresh process.
    assert_eq!(
        run_events("image", "init", &["{}", "[1]"]),
        ["Hello #1: {}", "Hello #2: [1]"]
    );
    // In the Job shape standard output is the result; what init prints goes to the log.
    assert_eq!(
        run_events("job", "init", &["{}", "[1]"]),
        ["Hello #1: {}", "Hello #1: [1]"]
    );
}

#[test]
fn a_webserver_that_failed_an_event_keeps_serving_and_a_crashed_one_is_replaced() {
    let answers = run_events(
        "image",
        "faults",
        &[r#""first""#, r#""error:x""#, r#""panic:y""#, r#""after""#],
    );
    assert_eq!(answers[0], r#"ok: "first""#);
    assert_eq!(answers[1], "");
    assert_eq!(answers[2], "");
    assert_eq!(answers[3], r#"ok: "after""#);
}

#[test]
fn a_job_event_too_large_for_the_environment_is_406_before_anything_starts() {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("\"{}\"", "a".repeat(200 * 1024))).unwrap();
    let path = file.path().to_str().unwrap();
    let (r, out) = invoke("job", "echo", &["--event-file", path]);
    assert_failed(&r, &out, 406);
    assert!(!log(&r).contains("Echoing"), "{}", log(&r));
}

#[test]
fn a_warm_webserver_behind_run_takes_a_5_mb_event_and_outlives_hostile_clients() {
    use std::io::{Read as _, Write as _};
    let scratch = Scratch::new();
    let code = example_code(&scratch, "init");
    let mut cmd = scratch.cmd();
    cmd.args(["run", "--shape", "image"])
        .arg(&code)
        .args(["--port", "0", "--log-limit", "0"]);
    let (mut child, addr) = spawn_server(cmd);
    let invoke = |event: &[u8]| {
        let (status, body) = http(&addr, "POST", "/invoke", event);
        assert_eq!(status, 200, "{}", &body[..body.len().min(500)]);
        let r: Value = serde_json::from_str(&body).unwrap();
        r["Result"].clone()
    };
    // A 5 MB event reaches the WebServer whole (its own limit is 16 MiB) and comes back.
    let big = format!("\"{}\"", "b".repeat(5 * 1024 * 1024));
    let r = invoke(big.as_bytes());
    assert_eq!(r["InvokeResult"], 0, "{}", r["ErrMsg"]);
    assert_eq!(r["RetMsg"], format!("Hello #1: {big}"));
    // Not HTTP: refused by scf-local, nothing reaches the function.
    let mut garbage = std::net::TcpStream::connect(&addr).unwrap();
    garbage.set_read_timeout(Some(BOUND)).unwrap();
    garbage.write_all(b"\x00\x01 NOT HTTP\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = garbage.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    // Over the platform's 6 MB event limit: 406, and the function never sees it.
    let over = format!("\"{}\"", "o".repeat(6 * 1024 * 1024));
    let r = invoke(over.as_bytes());
    assert_eq!(r["InvokeResult"], 406, "{}", r["ErrMsg"]);
    // The same warm server answers the next event: its second, not a fresh instance's first.
    assert_eq!(invoke(b"{}")["RetMsg"], "Hello #2: {}");
    let status = signal_and_wait(&mut child, libc::SIGTERM);
    assert!(status.success(), "run exited with {status}");
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
}
