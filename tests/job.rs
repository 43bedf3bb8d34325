//! The Job image shape end to end: the examples built with the `image` feature, run once with
//! the event in `SCF_EVENT_BODY`; the result on stdout and the exit code.

mod common;

use common::*;
use std::io::Read;
use std::path::Path;
use std::process::ExitStatus;

/// Runs `bin` once with exactly `env`; its exit status, stdout and stderr.
fn run(bin: &Path, env: &[(&str, &str)]) -> (ExitStatus, String, String) {
    let mut child = start_with(bin, env);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let (status, err) = finish(child);
    (status, out, err)
}

#[test]
fn echo_prints_the_result_and_exits_0() {
    let bin = image_example("echo");
    // The variable alone selects the shape.
    let (status, out, err) = run(&bin, &[("SCF_EVENT_BODY", r#"{"k":"v"}"#)]);
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(out, r#"Echoing request: '{"k":"v"}'"#);
    assert!(err.is_empty(), "{err}");
    // The mode without the variable: an empty event.
    let (status, out, _) = run(&bin, &[("SCF_BOOTSTRAP_MODE", "job")]);
    assert_eq!(
        (status.code(), out.as_str()),
        (Some(0), "Echoing request: ''")
    );
    // A runtime API address wins over the Job variable (the zip shape is then meant).
    let (status, _, err) = run(
        &bin,
        &[("SCF_EVENT_BODY", "x"), ("SCF_RUNTIME_API", "127.0.0.1")],
    );
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(err.contains("SCF_RUNTIME_API_PORT is not set"), "{err}");
}

#[test]
fn json_gets_the_request_id_and_time_limit_from_the_environment() {
    let (status, out, err) = run(
        &image_example("json"),
        &[
            ("SCF_EVENT_BODY", r#"{"name":"job"}"#),
            ("SCF_REQUEST_ID", "job-1"),
            ("SCF_FUNCTION_TIMEOUT", "2"),
            ("SCF_FUNCTIONNAME", "batch"),
        ],
    );
    assert_eq!(status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["message"], "Hello, job!");
    assert_eq!(v["request_id"], "job-1");
    assert_eq!(v["function"], "batch");
    let left = v["remaining_ms"].as_u64().unwrap();
    assert!(left <= 2000 && left > 0, "{left}");
}

#[test]
fn init_runs_first_and_its_failure_exits_1() {
    let bin = image_example("init");
    let (status, out, err) = run(&bin, &[("SCF_EVENT_BODY", "ev"), ("GREETING", "Yo")]);
    assert_eq!(status.code(), Some(0), "{err}");
    // The result alone: what init printed went to the log.
    assert_eq!(out, "Yo #1: ev");
    assert!(err.contains("init: ready to greet"), "{err}");
    let (status, out, err) = run(&bin, &[("SCF_EVENT_BODY", "ev"), ("INIT_FAIL", "nope")]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("init failed: INIT_FAIL is set: nope"), "{err}");
}

#[test]
fn faults_exit_1_with_the_error_on_stderr() {
    let bin = image_example("faults");
    let (status, out, err) = run(&bin, &[("SCF_EVENT_BODY", "error:boom")]);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(out.is_empty(), "{out}");
    assert_eq!(err, "scf-bootstrap: invocation failed: boom\n");
    // A panic under `panic = "abort"`: the process aborts (no exit code), the message on
    // stderr.
    let (status, out, err) = run(&bin, &[("SCF_EVENT_BODY", "panic:oops")]);
    assert!(!status.success() && status.code().is_none(), "{status}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("oops"), "{err}");
    let (status, out, _) = run(&bin, &[("SCF_EVENT_BODY", "fine")]);
    assert_eq!((status.code(), out.as_str()), (Some(0), "ok: fine"));
}

#[test]
fn without_the_image_feature_the_job_shape_is_refused() {
    // The debug example of `cargo test` is built without the feature.
    let (status, out, err) = run(&example("echo"), &[("SCF_EVENT_BODY", "x")]);
    assert_eq!(status.code(), Some(2), "{err}");
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("need the `image` feature"), "{err}");
}
