//! The image shapes through `scf-local invoke|run --shape image|job` and `serve`: a WebServer
//! image function (a small Python server, `tests/fixtures/image-server`, not our runtime)
//! started on a free port given in `$PORT`, events POSTed with the platform's headers; the
//! platform's listen limit and its error text; servers that answer errors, garbage, endless
//! heads, nothing, or exit; Job image functions run once per event with `$SCF_EVENT_BODY`.
//! Every run is bounded.

mod common;
mod serve_support;

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use serve_support::*;

const BOUND: Duration = Duration::from_secs(60);

fn invoke_shape(scratch: &Scratch, shape: &str, code: &Path, args: &[&str]) -> Output {
    let mut cmd = scratch.cmd();
    cmd.args(["invoke", "--shape", shape])
        .arg(code)
        .args(["--log-limit", "0"])
        .args(args);
    run_bounded(cmd, BOUND)
}

/// Invokes a copy of `fixture` once with `event`; returns the result and the copy's path.
fn invoke_once(shape: &str, fixture: &str, event: &str, args: &[&str]) -> (Value, Scratch) {
    let scratch = Scratch::new();
    let code = scratch.copy_fixture(fixture);
    let out = invoke_shape(
        &scratch,
        shape,
        &code,
        &[&["--event", event], args].concat(),
    );
    let result = result_of(&out);
    assert_no_process_in(&code);
    scratch.assert_tmp_clean();
    (result["Result"].clone(), scratch)
}

fn ret_json(result: &Value) -> Value {
    serde_json::from_str(result["RetMsg"].as_str().unwrap())
        .unwrap_or_else(|e| panic!("RetMsg is not JSON ({e}): {result}"))
}

#[test]
fn image_event_is_posted_with_the_platform_headers() {
    let (r, _s) = invoke_once(
        "image",
        "image-server",
        r#"{"key":"value"}"#,
        &[
            "--function-name",
            "web-fn",
            "--memory",
            "256",
            "--timeout",
            "5",
        ],
    );
    assert_eq!(r["InvokeResult"], 0, "{r}");
    let ret = ret_json(&r);
    assert_eq!(ret["event"], json!({"key": "value"}));
    assert_eq!(ret["path"], "/event-invoke");
    assert_eq!(ret["mode"], "webserver");
    assert_eq!(ret["port"], ret["bootstrap_port"]);
    assert_ne!(ret["port"], "9000", "a free port, not the platform's");
    let headers = &ret["headers"];
    assert_eq!(headers["X-Scf-Request-Id"], r["FunctionRequestId"], "{ret}");
    assert_eq!(headers["X-Scf-Memory"], "256");
    assert_eq!(headers["X-Scf-Timeout"], "5");
    assert_eq!(headers["X-Scf-Name"], "web-fn");
    assert_eq!(headers["X-Scf-Region"], "ap-guangzhou");
    let log = r["Log"].as_str().unwrap();
    assert!(log.contains("Init Report"), "{log}");
    assert!(log.contains("server starting"), "{log}");
    assert!(log.contains("event for "), "{log}");
    assert!(log.contains("\nReport RequestId:"), "{log}");
}

#[test]
fn image_that_never_listens_fails_with_the_platform_text() {
    let (r, _s) = invoke_once("image", "image-silent", "{}", &["--init-timeout", "1"]);
    assert_eq!(r["InvokeResult"], 450, "{r}");
    let message = r["ErrMsg"].as_str().unwrap();
    assert!(
        message.starts_with(
            "The request timed out in 1000ms.Please confirm your http server have enabled listening on port 9000."
        ),
        "{message}"
    );
    assert!(message.contains("$PORT"), "{message}");
    assert!(
        r["Log"].as_str().unwrap().contains("never listening"),
        "{r}"
    );
}

#[test]
fn image_that_exits_before_listening_is_a_container_init_error() {
    let scratch = Scratch::new();
    let code = scratch.path().join("quits");
    std::fs::create_dir(&code).unwrap();
    write_exec(&code.join("scf_bootstrap"), "#!/bin/sh\necho bye\nexit 4\n");
    let r = result_of(&invoke_shape(&scratch, "image", &code, &["--event", "{}"]));
    assert_eq!(r["Result"]["InvokeResult"], 445, "{r}");
    let message = r["Result"]["ErrMsg"].as_str().unwrap();
    assert!(message.contains("exit code 4"), "{message}");
}

#[test]
fn image_listening_on_loopback_only_is_refused() {
    let scratch = Scratch::new();
    let code = scratch.path().join("loopback");
    std::fs::create_dir(&code).unwrap();
    write_exec(
        &code.join("scf_bootstrap"),
        "#!/bin/sh\nexec python3 -m http.server --bind 127.0.0.1 \"$PORT\"\n",
    );
    let r = result_of(&invoke_shape(&scratch, "image", &code, &["--event", "{}"]));
    assert_eq!(r["Result"]["InvokeResult"], 445, "{r}");
    let message = r["Result"]["ErrMsg"].as_str().unwrap();
    assert!(message.contains("loopback address only"), "{message}");
    assert_no_process_in(&code);
}

#[test]
fn a_port_taken_by_another_process_gets_no_event() {
    use std::io::Read as _;
    // Another local process listens on the port the function was given, and the function
    // never listens: no event may reach the intruder.
    let intruder = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = intruder.local_addr().unwrap().port().to_string();
    intruder.set_nonblocking(true).unwrap();
    let (r, _s) = invoke_once(
        "image",
        "image-silent",
        r#"{"secret":"s3cr3t"}"#,
        &["--image-port", &port, "--init-timeout", "1"],
    );
    assert_eq!(r["InvokeResult"], 450, "{r}");
    let mut received = Vec::new();
    while let Ok((mut conn, _)) = intruder.accept() {
        conn.set_nonblocking(false).unwrap();
        conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let _ = conn.read_to_end(&mut received);
    }
    assert!(
        received.is_empty(),
        "the intruder got {:?}",
        String::from_utf8_lossy(&received)
    );
}

#[test]
fn image_error_status_is_a_user_code_exception() {
    let (r, _s) = invoke_once(
        "image",
        "image-server",
        r#"{"do":"status","status":502}"#,
        &[],
    );
    assert_eq!(r["InvokeResult"], 430, "{r}");
    let message = r["ErrMsg"].as_str().unwrap();
    assert!(message.contains("status 502"), "{message}");
    assert!(message.contains("asked to fail"), "{message}");
}

#[test]
fn image_server_that_never_answers_is_bounded_by_timeout() {
    let (r, _s) = invoke_once(
        "image",
        "image-server",
        r#"{"do":"hang"}"#,
        &["--timeout", "1"],
    );
    assert_eq!(r["InvokeResult"], 433, "{r}");
    assert!(
        r["ErrMsg"]
            .as_str()
            .unwrap()
            .contains("did not answer within Timeout 1s"),
        "{r}"
    );
}

#[test]
fn image_server_exiting_mid_event_is_reported() {
    let (r, _s) = invoke_once("image", "image-server", r#"{"do":"exit"}"#, &[]);
    assert_eq!(r["InvokeResult"], 439, "{r}");
    assert!(r["ErrMsg"].as_str().unwrap().contains("exit code 7"), "{r}");
}

#[test]
fn image_hostile_answers_are_bounded() {
    // Not HTTP at all, and a head that never ends: no answer, the instance recycled.
    for event in [r#"{"do":"garbage"}"#, r#"{"do":"endless-head"}"#] {
        let (r, _s) = invoke_once("image", "image-server", event, &["--timeout", "20"]);
        assert_eq!(r["InvokeResult"], 430, "{event}: {r}");
        assert!(
            r["ErrMsg"].as_str().unwrap().contains("gave no answer"),
            "{event}: {r}"
        );
    }
    // A body over the 6 MB response limit.
    let (r, _s) = invoke_once(
        "image",
        "image-server",
        r#"{"do":"big","bytes":7000000}"#,
        &["--timeout", "20"],
    );
    assert_eq!(r["InvokeResult"], 407, "{r}");
}

#[test]
fn image_run_keeps_the_server_warm_and_replaces_a_broken_one() {
    let scratch = Scratch::new();
    let code = scratch.copy_fixture("image-server");
    let mut cmd = scratch.cmd();
    cmd.args(["run", "--shape", "image"])
        .arg(&code)
        .args(["--port", "0", "--max-instances", "1"]);
    let (mut child, addr) = spawn_server(cmd);
    let call = |event: &str| -> Value {
        let (status, body) = http(&addr, "POST", "/invoke", event.as_bytes());
        assert_eq!(status, 200, "{body}");
        let result: Value = serde_json::from_str(&body).unwrap();
        result["Result"].clone()
    };
    let first = ret_json(&call(r#"{"n":1}"#));
    let second = ret_json(&call(r#"{"n":2}"#));
    assert_eq!(second["event"], json!({"n": 2}));
    assert_eq!(first["pid"], second["pid"], "a warm instance serves both");
    let broken = call(r#"{"do":"garbage"}"#);
    assert_eq!(broken["InvokeResult"], 430, "{broken}");
    let third = ret_json(&call(r#"{"n":3}"#));
    assert_ne!(
        third["pid"], first["pid"],
        "the broken instance was replaced"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    assert_no_process_in(&code);
}

#[test]
fn job_runs_once_per_event_with_the_event_in_its_environment() {
    let (r, _s) = invoke_once("job", "job", r#"{"hello":"job"}"#, &[]);
    assert_eq!(r["InvokeResult"], 0, "{r}");
    assert_eq!(r["RetMsg"], r#"{"hello":"job"}"#);
    let log = r["Log"].as_str().unwrap();
    let id = r["FunctionRequestId"].as_str().unwrap();
    assert!(
        log.contains(&format!("job {id} got 15 bytes (job, 128 MB, 3 s)")),
        "{log}"
    );
    assert!(
        !log.lines().any(|l| l == r#"{"hello":"job"}"#),
        "stdout is the result, not the log: {log}"
    );
}

#[test]
fn job_failures_are_reported() {
    let (r, _s) = invoke_once("job", "job", r#"{"x":"fail"}"#, &[]);
    assert_eq!(r["InvokeResult"], 430, "{r}");
    assert!(r["ErrMsg"].as_str().unwrap().contains("exit code 3"), "{r}");
    assert!(
        r["Log"].as_str().unwrap().contains("failing on purpose"),
        "{r}"
    );

    let (r, _s) = invoke_once("job", "job", r#"{"x":"forever"}"#, &["--timeout", "1"]);
    assert_eq!(r["InvokeResult"], 433, "{r}");
    assert!(
        r["ErrMsg"].as_str().unwrap().contains("did not exit"),
        "{r}"
    );

    let (r, _s) = invoke_once("job", "job", r#"{"x":"flood"}"#, &["--timeout", "20"]);
    assert_eq!(r["InvokeResult"], 407, "{r}");

    // An event Linux cannot carry in one environment string.
    let scratch = Scratch::new();
    let code = scratch.copy_fixture("job");
    let big = scratch.path().join("big.json");
    std::fs::write(&big, format!(r#"{{"pad":"{}"}}"#, "a".repeat(200_000))).unwrap();
    let out = invoke_shape(
        &scratch,
        "job",
        &code,
        &["--event-file", big.to_str().unwrap()],
    );
    let r = result_of(&out)["Result"].clone();
    assert_eq!(r["InvokeResult"], 406, "{r}");
    assert!(
        r["ErrMsg"].as_str().unwrap().contains("SCF_EVENT_BODY"),
        "{r}"
    );
}

#[test]
fn job_command_is_given_on_the_command_line() {
    let scratch = Scratch::new();
    let code = scratch.path().join("empty");
    std::fs::create_dir(&code).unwrap();
    // Nothing to run: said so.
    let r = result_of(&invoke_shape(&scratch, "job", &code, &["--event", "{}"]));
    assert_eq!(r["Result"]["InvokeResult"], 445, "{r}");
    assert!(
        r["Result"]["ErrMsg"]
            .as_str()
            .unwrap()
            .contains("no scf_bootstrap or bootstrap"),
        "{r}"
    );
    let out = invoke_shape(
        &scratch,
        "job",
        &code,
        &[
            "--event",
            r#"{"a":1}"#,
            "--command",
            "sh",
            "--command",
            "-c",
            "--command",
            "printf '%s' \"$SCF_EVENT_BODY\" | wc -c",
        ],
    );
    let r = result_of(&out);
    assert_eq!(r["Result"]["InvokeResult"], 0, "{r}");
    assert_eq!(r["Result"]["RetMsg"].as_str().unwrap().trim(), "7");
}

#[test]
fn serve_creates_and_invokes_image_and_job_functions_from_local_directories() {
    let scratch = Scratch::new();
    let web = scratch.copy_fixture("image-server");
    let job = scratch.copy_fixture("job");
    let serve = Serve::start(&scratch.path().join("state"), &[]);
    let create = |name: &str, image: Value| {
        let r = serve.call(
            "CreateFunction",
            &json!({"FunctionName": name, "Code": {"ImageConfig": image}, "Timeout": 5}),
        );
        assert!(r.get("Error").is_none(), "{r}");
    };
    create(
        "web",
        json!({"ImageType": "personal", "ImageUri": web.to_str().unwrap(), "ImagePort": 9000}),
    );
    create(
        "job",
        json!({"ImageType": "personal", "ImageUri": format!("file://{}", job.display()), "ImagePort": -1}),
    );
    let invoke = |name: &str, event: &str| {
        serve.call(
            "Invoke",
            &json!({"FunctionName": name, "ClientContext": event}),
        )
    };
    let r = invoke("web", r#"{"via":"serve"}"#);
    assert_eq!(r["Result"]["InvokeResult"], 0, "{r}");
    assert_eq!(ret_json(&r["Result"])["event"], json!({"via": "serve"}));
    let r = invoke("job", r#"{"via":"job"}"#);
    assert_eq!(r["Result"]["InvokeResult"], 0, "{r}");
    assert_eq!(r["Result"]["RetMsg"], r#"{"via":"job"}"#);

    let got = serve.call("GetFunction", &json!({"FunctionName": "web"}));
    assert_eq!(got["ImageConfig"]["ImagePort"], 9000, "{got}");
    assert_eq!(got["InitTimeout"], 30, "the platform's listen limit: {got}");

    // A registry image cannot be pulled; a bad port is refused.
    let refused = |image: Value, code: &str| {
        let r = serve.call(
            "CreateFunction",
            &json!({"FunctionName": "refused", "Code": {"ImageConfig": image}}),
        );
        assert_eq!(r["Error"]["Code"], code, "{r}");
    };
    refused(
        json!({"ImageType": "personal", "ImageUri": "ccr.ccs.tencentyun.com/ns/app:latest"}),
        "UnsupportedOperation",
    );
    refused(
        json!({"ImageUri": web.to_str().unwrap(), "ImagePort": 8080}),
        "InvalidParameterValue.ImageConfig",
    );
    refused(
        json!({"ImageUri": "/no/such/dir"}),
        "InvalidParameterValue.ImageConfig",
    );
    drop(serve);
    assert_no_process_in(&web);
}

fn write_exec(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}
