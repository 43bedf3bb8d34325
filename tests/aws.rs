//! End to end under AWS Lambda's runtime API (`AWS_LAMBDA_RUNTIME_API`): the same examples,
//! unchanged, against the in-test fake speaking AWS's paths and headers.

mod common;

use common::*;
use scf_testkit::protocol::{FUNCTION_ARN, TRACE_ID};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";

fn next(api: &mut ScriptedApi) {
    let r = api.next_request();
    assert_eq!((r.method.as_str(), r.path.as_str()), ("GET", NEXT), "{r:?}");
}

#[test]
fn echo_without_ready_and_with_the_id_in_the_path() {
    let mut api = ScriptedApi::new();
    let child = start_aws(&example("echo"), api.port(), &[]);
    // No ready call: the first request is /next.
    next(&mut api);
    api.aws_event("aws-1", 3000, b"hello");
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/invocation/aws-1/response");
    assert_eq!(r.text(), "Echoing request: 'hello'");
    api.answer(
        202,
        &[],
        br#"{"status":"OK"}"#,
        Send::Length,
        After::KeepAlive,
    );
    next(&mut api);
    assert_eq!(api.connections(), 1);
    let err = stop(child);
    assert!(err.is_empty(), "{err}");
}

#[test]
fn context_carries_deadline_arn_and_trace() {
    let mut api = ScriptedApi::new();
    let child = start_aws(&example("json"), api.port(), &[]);
    next(&mut api);
    api.aws_event("aws-ctx", 60_000, br#"{"name":"Lambda"}"#);
    let r = api.next_request();
    assert_eq!(
        r.path,
        "/2018-06-01/runtime/invocation/aws-ctx/response",
        "{}",
        r.text()
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["message"], "Hello, Lambda!", "{v}");
    assert_eq!(v["request_id"], "aws-ctx");
    assert_eq!(v["function"], "echo");
    assert_eq!(v["function_arn"], FUNCTION_ARN, "{v}");
    assert_eq!(v["trace_id"], TRACE_ID);
    assert_eq!(
        v["trace_env"], v["trace_id"],
        "_X_AMZN_TRACE_ID is exported"
    );
    let left = v["remaining_ms"].as_u64().unwrap();
    assert!(left > 50_000 && left <= 60_000, "{left}");
    stop(child);
}

#[test]
fn errors_are_json_with_the_error_type_header() {
    let mut api = ScriptedApi::new();
    let child = start_aws(&example("faults"), api.port(), &[]);
    next(&mut api);
    api.aws_event("aws-err", 3000, b"error:bad \"input\"");
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/invocation/aws-err/error");
    assert_eq!(
        r.header("Lambda-Runtime-Function-Error-Type"),
        Some("HandlerError")
    );
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["errorType"], "HandlerError");
    assert_eq!(v["errorMessage"], "bad \"input\"");
    api.answer(202, &[], b"", Send::Length, After::KeepAlive);

    // A panic (debug builds unwind): reported, and the instance lives on.
    next(&mut api);
    api.aws_event("aws-panic", 3000, b"panic:oh no");
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/invocation/aws-panic/error");
    assert_eq!(
        r.header("Lambda-Runtime-Function-Error-Type"),
        Some("Panic")
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert!(
        v["errorMessage"].as_str().unwrap().ends_with(": oh no"),
        "{v}"
    );
    api.answer(202, &[], b"", Send::Length, After::KeepAlive);
    next(&mut api);
    stop(child);
}

#[test]
fn missing_deadline_is_an_invalid_event() {
    let mut api = ScriptedApi::new();
    let child = start_aws(&example("echo"), api.port(), &[]);
    next(&mut api);
    api.answer(
        200,
        &[("Lambda-Runtime-Aws-Request-Id", "no-deadline")],
        b"x",
        Send::Length,
        After::KeepAlive,
    );
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/invocation/no-deadline/error");
    assert_eq!(
        r.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.InvalidEvent")
    );
    api.answer(202, &[], b"", Send::Length, After::KeepAlive);
    next(&mut api);
    stop(child);
}

#[test]
fn init_failure_is_posted_to_init_error() {
    let mut api = ScriptedApi::new();
    let child = start_aws(&example("init"), api.port(), &[("INIT_FAIL", "no config")]);
    let r = api.next_request();
    assert_eq!(r.path, "/2018-06-01/runtime/init/error");
    assert_eq!(
        r.header("Lambda-Runtime-Function-Error-Type"),
        Some("Runtime.InitError")
    );
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["errorMessage"], "INIT_FAIL is set: no config");
    api.answer(202, &[], b"", Send::Length, After::KeepAlive);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        err,
        "scf-bootstrap: init failed: INIT_FAIL is set: no config\n"
    );
}

#[test]
fn bad_aws_address_exits_2() {
    for value in ["127.0.0.1", "127.0.0.1:http", "lambda.invalid:9001"] {
        let out = std::process::Command::new(example("echo"))
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", value)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{value}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

#[test]
fn scf_wins_when_both_are_set() {
    let mut api = ScriptedApi::new();
    let port = api.port().to_string();
    let child = start_with(
        &example("echo"),
        &[
            ("SCF_RUNTIME_API", "127.0.0.1"),
            ("SCF_RUNTIME_API_PORT", &port),
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:1"),
        ],
    );
    api.expect("POST", "/runtime/init/ready");
    stop(child);
}

/// Answers a `/next` with an AWS event whose trace header is `trace` (none when `None`), and
/// returns what the `json` example saw: the context's trace id and `_X_AMZN_TRACE_ID`.
fn traced(
    api: &mut ScriptedApi,
    id: &str,
    trace: Option<&str>,
) -> (serde_json::Value, serde_json::Value) {
    next(api);
    let mut headers = vec![
        ("Lambda-Runtime-Aws-Request-Id", id),
        ("Lambda-Runtime-Deadline-Ms", "99999999999999"),
    ];
    if let Some(t) = trace {
        headers.push(("Lambda-Runtime-Trace-Id", t));
    }
    api.answer(
        200,
        &headers,
        br#"{"name":"t"}"#,
        Send::Length,
        After::KeepAlive,
    );
    let r = api.next_request();
    assert!(r.path.ends_with("/response"), "{} {}", r.path, r.text());
    api.answer(202, &[], b"", Send::Length, After::KeepAlive);
    let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    (v["trace_id"].clone(), v["trace_env"].clone())
}

/// The trace header's ways into `_X_AMZN_TRACE_ID` (the slot rewritten in place, `setenv` for
/// a header too long for it, removal when an event has none), each followed by one that must
/// overwrite it, starting from an environment that already has the variable.
#[test]
fn the_trace_variable_follows_every_invocation() {
    let mut api = ScriptedApi::new();
    let child = start_aws(
        &example("json"),
        api.port(),
        &[("_X_AMZN_TRACE_ID", "from-the-caller")],
    );
    let long = format!("Root=1-5e1b4151-{};Sampled=1", "a".repeat(2000));
    let cases = [
        Some("Root=1-1;Sampled=0"),
        Some("Root=1-22222222;Parent=3;Sampled=1"),
        Some("Root=1-4"),
        None,
        Some(long.as_str()),
        Some("Root=1-5;Sampled=1"),
        None,
        None,
        Some(long.as_str()),
        None,
        Some("Root=1-6"),
    ];
    for (i, trace) in cases.into_iter().enumerate() {
        let (id, env) = traced(&mut api, &format!("t-{i}"), trace);
        let want = trace.map_or(serde_json::Value::Null, |t| t.into());
        assert_eq!((&id, &env), (&want, &want), "event {i}");
    }
    let err = stop(child);
    assert!(err.is_empty(), "{err}");
}

/// An environment larger than the slot's copy of it (300 variables): the entry is put in
/// with `putenv` instead, and still follows every invocation.
#[test]
fn a_large_environment_still_gets_the_trace_variable() {
    let mut api = ScriptedApi::new();
    let vars: Vec<(String, String)> = (0..300).map(|i| (format!("V{i}"), "x".repeat(i))).collect();
    let env: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let child = start_aws(&example("json"), api.port(), &env);
    for (i, trace) in [Some("Root=1-a"), None, Some("Root=1-bb"), Some("Root=1-c")]
        .into_iter()
        .enumerate()
    {
        let (id, env) = traced(&mut api, &format!("big-{i}"), trace);
        let want = trace.map_or(serde_json::Value::Null, |t| t.into());
        assert_eq!((&id, &env), (&want, &want), "event {i}");
    }
    stop(child);
}
