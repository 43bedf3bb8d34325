//! Trigger events end to end: `scf-local invoke --event-example <name>` (with `--set`)
//! sends a documented sample to the runtime's `apigw` and `timer` examples, built for musl
//! as deployed; `scf-local event` prints and lists the samples.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::sync::OnceLock;
use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::Value;

const BOUND: Duration = Duration::from_secs(60);

/// A code directory holding the example `name` as its `bootstrap`.
fn code(scratch: &Scratch, name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    let built = DIR.get_or_init(|| musl_examples(&["apigw", "timer"]));
    let dir = scratch.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(built.join(name), dir.join("bootstrap")).unwrap();
    dir
}

fn invoke(example: &str, args: &[&str]) -> (Value, Output) {
    let scratch = Scratch::new();
    let dir = code(&scratch, example);
    let mut cmd = scratch.cmd();
    cmd.arg("invoke").arg(&dir).args(args);
    let out = run_bounded(cmd, BOUND);
    let result = result_of(&out);
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
    (result["Result"].clone(), out)
}

/// The integration response the `apigw` example answered.
fn http_answer(args: &[&str]) -> Value {
    let (r, out) = invoke("apigw", args);
    assert!(
        out.status.success(),
        "{r}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r["InvokeResult"], 0, "{r}");
    serde_json::from_str(r["RetMsg"].as_str().unwrap()).unwrap()
}

#[test]
fn the_apigw_sample_reaches_the_router_as_a_post_it_has_no_route_for() {
    let resp = http_answer(&["--event-example", "apigw"]);
    assert_eq!(resp["statusCode"], 404);
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(resp["headers"]["content-type"], "application/json");
    let body: Value = serde_json::from_str(resp["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["error"], "no route for POST /test/value");
}

#[test]
fn get_hello_answers_json_with_the_name() {
    let resp = http_answer(&[
        "--event-example",
        "apigw",
        "--set",
        "httpMethod=GET",
        "--set",
        "path=/hello/SCF",
    ]);
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(resp["headers"]["content-type"], "application/json");
    assert_eq!(resp["body"], r#"{"message":"Hello, SCF!"}"#);
}

#[test]
fn post_echo_sends_text_and_binary_bodies_back() {
    let resp = http_answer(&[
        "--event-example",
        "apigw",
        "--set",
        "path=/echo",
        "--set",
        "headers.Content-Type=text/plain",
        "--set",
        "body=héllo",
    ]);
    assert_eq!(resp["statusCode"], 200);
    assert_eq!(resp["headers"]["content-type"], "text/plain");
    assert_eq!(resp["isBase64Encoded"], false);
    assert_eq!(resp["body"], "héllo");

    let bytes = [0u8, 1, 2, 0xff, 0xfe];
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let resp = http_answer(&[
        "--event-example",
        "apigw",
        "--set",
        "path=/echo",
        "--set",
        "headers.Content-Type=application/octet-stream",
        "--set",
        "isBase64Encoded=true",
        "--set",
        &format!("body={b64}"),
    ]);
    assert_eq!(resp["isBase64Encoded"], true);
    assert_eq!(resp["headers"]["content-type"], "application/octet-stream");
    assert_eq!(resp["body"], b64.as_str());
}

#[test]
fn a_malformed_event_fails_with_the_trigger_and_the_field() {
    let (r, out) = invoke("apigw", &["--event-example", "apigw", "--set", "path=7"]);
    assert_eq!(out.status.code(), Some(1), "{r}");
    assert_ne!(r["InvokeResult"], 0);
    let err = r["ErrMsg"].as_str().unwrap();
    assert!(
        err.contains("bad apigw event at `path`: invalid type: integer `7`"),
        "{r}"
    );
    // The timer's handler on an API Gateway event: a missing field, named.
    let (r, _) = invoke("timer", &["--event-example", "apigw"]);
    let err = r["ErrMsg"].as_str().unwrap();
    assert!(err.contains("bad timer event"), "{r}");
    assert!(err.contains("missing field `Type`"), "{r}");
}

#[test]
fn the_timer_sample_reaches_the_typed_timer_handler() {
    let (r, out) = invoke("timer", &["--event-example", "timer"]);
    assert!(out.status.success(), "{r}");
    assert_eq!(
        r["RetMsg"],
        "EveryDay fired at 2019-02-21T11:49:00Z: user define msg body"
    );
}

#[test]
fn an_unknown_sample_is_bad_input_that_lists_the_names() {
    let scratch = Scratch::new();
    let dir = code(&scratch, "timer");
    let mut cmd = scratch.cmd();
    cmd.arg("invoke")
        .arg(&dir)
        .args(["--event-example", "apigateway"]);
    let out = run_bounded(cmd, BOUND);
    assert_bad_input(
        &scratch,
        &out,
        "no sample event called `apigateway`; there are: apigw,",
    );
    let mut cmd = scratch.cmd();
    cmd.arg("invoke")
        .arg(&dir)
        .args(["--event-example", "timer", "--set", "TriggerName"]);
    let out = run_bounded(cmd, BOUND);
    assert_bad_input(&scratch, &out, "--set `TriggerName`: expected path=value");
}

#[test]
fn event_prints_lists_and_edits_the_samples() {
    let scratch = Scratch::new();
    let mut cmd = scratch.cmd();
    cmd.args(["event", "--list"]);
    let out = run_bounded(cmd, BOUND);
    assert!(out.status.success());
    let list = String::from_utf8(out.stdout).unwrap();
    for name in [
        "apigw",
        "timer",
        "cos",
        "cls",
        "ckafka",
        "cmq-topic",
        "cmq-queue",
        "mps",
        "clb",
        "clb-response",
        "eventbridge",
    ] {
        assert!(list.lines().any(|l| l.starts_with(name)), "{list}");
    }

    let mut cmd = scratch.cmd();
    cmd.args(["event", "cmq-topic", "--set", "Records[0].CMQ.msgBody=hi"]);
    let out = run_bounded(cmd, BOUND);
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Records"][0]["CMQ"]["msgBody"], "hi");
    assert_eq!(v["Records"][0]["CMQ"]["type"], "topic");

    let mut cmd = scratch.cmd();
    cmd.args(["event", "cos"]);
    let out = run_bounded(cmd, BOUND);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["Records"][0]["cos"]["cosObject"]["size"], 1029);
}
