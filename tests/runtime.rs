//! End to end: the example bootstraps (debug builds, `panic = "unwind"`) against the in-test
//! fake runtime API.

mod common;

use common::*;
use std::time::Duration;

/// Ready, then one event answered, then the bootstrap's reply.
fn one_event(api: &mut ScriptedApi, id: &str, event: &[u8]) -> Request {
    api.next_request_checked("GET", "/runtime/invocation/next");
    api.event(id, event);
    api.next_request()
}

trait Checked {
    fn next_request_checked(&mut self, method: &str, path: &str) -> Request;
}

impl Checked for ScriptedApi {
    fn next_request_checked(&mut self, method: &str, path: &str) -> Request {
        let r = self.next_request();
        assert_eq!(
            (r.method.as_str(), r.path.as_str()),
            (method, path),
            "{r:?}"
        );
        r
    }
}

fn started(name: &str, env: &[(&str, &str)]) -> (ScriptedApi, std::process::Child) {
    let mut api = ScriptedApi::new();
    let child = start(&example(name), api.port(), env);
    let ready = api.expect("POST", "/runtime/init/ready");
    assert_eq!(ready.body, b" ", "ready body must be one space");
    (api, child)
}

#[test]
fn echo_with_documented_headers() {
    let (mut api, child) = started("echo", &[]);
    let reply = one_event(&mut api, "req-1", br#"{"key1":"test value 1"}"#);
    assert_eq!(reply.path, "/runtime/invocation/response");
    assert_eq!(
        reply.text(),
        r#"Echoing request: '{"key1":"test value 1"}'"#
    );
    api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    // Same connection for everything.
    let reply = one_event(&mut api, "req-2", b"second");
    assert_eq!(reply.text(), "Echoing request: 'second'");
    assert_eq!(api.connections(), 1);
    stop(child);
}

#[test]
fn walkthrough_header_spelling_any_case() {
    let (mut api, child) = started("json", &[("SCF_FUNCTIONNAME", "demo")]);
    api.next_request_checked("GET", "/runtime/invocation/next");
    api.answer(
        200,
        &[
            ("Scf_Runtime_Request_Id", "seed-1"),
            ("SCF_RUNTIME_MEMORY_LIMIT_IN_MB", "256"),
            ("scf_runtime_time_limit_in_ms", "5000"),
        ],
        br#"{"name":"SCF"}"#,
        Send::Length,
        After::KeepAlive,
    );
    let reply = api.next_request();
    assert_eq!(
        reply.path,
        "/runtime/invocation/response",
        "{}",
        reply.text()
    );
    let v: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
    assert_eq!(v["message"], "Hello, SCF!");
    assert_eq!(v["request_id"], "seed-1");
    assert_eq!(v["function"], "demo");
    assert!(v["remaining_ms"].as_u64().unwrap() <= 5000);
    stop(child);
}

#[test]
fn chunked_empty_and_large_events() {
    let (mut api, child) = started("echo", &[]);
    let big: Vec<u8> = (0..6 * 1024 * 1024)
        .map(|i| b'a' + (i % 26) as u8)
        .collect();
    let cases: [(&[u8], Send); 6] = [
        (b"", Send::Length),
        (b"", Send::Chunked(1)),
        (b"chunked event", Send::Chunked(3)),
        (&big, Send::Length),
        (&big, Send::Chunked(100_000)),
        (b"small after big", Send::Length),
    ];
    for (i, (event, send)) in cases.iter().enumerate() {
        api.next_request_checked("GET", "/runtime/invocation/next");
        let id = format!("id-{i}");
        api.answer(
            200,
            &[
                ("request_id", &id),
                ("memory_limit_in_mb", "128"),
                ("time_limit_in_ms", "3000"),
            ],
            event,
            *send,
            After::KeepAlive,
        );
        let reply = api.next_request();
        assert_eq!(reply.path, "/runtime/invocation/response");
        let mut want = b"Echoing request: '".to_vec();
        want.extend_from_slice(event);
        want.push(b'\'');
        assert!(reply.body == want, "case {i}: {} bytes", reply.body.len());
        api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    }
    stop(child);
}

#[test]
fn server_that_closes_after_every_response() {
    let mut api = ScriptedApi::new();
    let child = start(&example("echo"), api.port(), &[]);
    let close = After::CloseWithHeader;
    let ready = api.next_request();
    assert_eq!(ready.path, "/runtime/init/ready");
    api.answer(200, &[], b"", Send::Length, close);
    for i in 0..5 {
        api.next_request_checked("GET", "/runtime/invocation/next");
        let id = format!("c-{i}");
        api.answer(
            200,
            &[
                ("request_id", &id),
                ("memory_limit_in_mb", "128"),
                ("time_limit_in_ms", "3000"),
            ],
            id.as_bytes(),
            Send::Length,
            close,
        );
        let reply = api.next_request();
        assert_eq!(reply.path, "/runtime/invocation/response");
        assert_eq!(reply.text(), format!("Echoing request: 'c-{i}'"));
        api.answer(200, &[], b"", Send::Length, close);
    }
    // Every result exactly once: the next request is the next `/next`, not a repeat.
    api.next_request_checked("GET", "/runtime/invocation/next");
    assert_eq!(api.connections(), 12, "one connection per request");
    let err = stop(child);
    assert!(err.is_empty(), "{err}");
}

/// A server that closes idle connections without saying so (an idle timeout): between
/// requests, and while a handler runs. `next` is retried on a new connection; before posting a
/// result the runtime sees the close and opens a new connection first, so nothing is lost.
#[test]
fn idle_connections_closed_by_the_server_are_replaced() {
    let mut api = ScriptedApi::new();
    let child = start(&example("faults"), api.port(), &[]);
    let quietly = After::CloseSilently;
    api.next_request_checked("POST", "/runtime/init/ready");
    api.answer(200, &[], b"", Send::Length, quietly);
    for i in 0..3 {
        api.next_request_checked("GET", "/runtime/invocation/next");
        let id = format!("slow-{i}");
        api.answer(
            200,
            &[
                ("request_id", &id),
                ("memory_limit_in_mb", "128"),
                ("time_limit_in_ms", "3000"),
            ],
            br#""sleep:100""#,
            Send::Length,
            quietly,
        );
        let reply = api.next_request();
        assert_eq!(reply.path, "/runtime/invocation/response");
        assert_eq!(reply.text(), "slept 100 ms");
        api.answer(200, &[], b"", Send::Length, quietly);
    }
    api.next_request_checked("GET", "/runtime/invocation/next");
    assert_eq!(api.connections(), 8);
    let err = stop(child);
    assert!(err.is_empty(), "{err}");
}

#[test]
fn answers_one_byte_at_a_time() {
    let mut api = ScriptedApi::new();
    let child = start(&example("echo"), api.port(), &[]);
    api.next_request_checked("POST", "/runtime/init/ready");
    api.answer(200, &[], b"", Send::ByteByByte, After::KeepAlive);
    api.next_request_checked("GET", "/runtime/invocation/next");
    api.answer(
        200,
        &[
            ("request_id", "slow"),
            ("memory_limit_in_mb", "128"),
            ("time_limit_in_ms", "3000"),
        ],
        b"drip",
        Send::ByteByByte,
        After::KeepAlive,
    );
    let reply = api.next_request();
    assert_eq!(reply.text(), "Echoing request: 'drip'");
    api.answer(200, &[], b"{}", Send::ByteByByte, After::KeepAlive);
    api.next_request_checked("GET", "/runtime/invocation/next");
    stop(child);
}

#[test]
fn handler_error_is_posted_as_plain_text() {
    let (mut api, child) = started("faults", &[]);
    let reply = one_event(&mut api, "e-1", b"error:database is down");
    assert_eq!(reply.path, "/runtime/invocation/error");
    assert_eq!(reply.text(), "database is down");
    assert!(reply
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    let reply = one_event(&mut api, "e-2", b"fine");
    assert_eq!(reply.path, "/runtime/invocation/response");
    assert_eq!(reply.text(), "ok: fine");
    stop(child);
}

#[test]
fn json_example_rejects_non_json() {
    let (mut api, child) = started("json", &[]);
    let reply = one_event(&mut api, "j-1", b"not json");
    assert_eq!(reply.path, "/runtime/invocation/error");
    assert!(
        reply.text().starts_with("the event is not JSON"),
        "{}",
        reply.text()
    );
    stop(child);
}

#[test]
fn bad_next_headers_are_reported_and_the_loop_goes_on() {
    let (mut api, child) = started("echo", &[]);
    let cases: [(&[(&str, &str)], &str); 3] = [
        (
            &[("memory_limit_in_mb", "128"), ("time_limit_in_ms", "3000")],
            "request id",
        ),
        (
            &[
                ("request_id", "x"),
                ("memory_limit_in_mb", "lots"),
                ("time_limit_in_ms", "3000"),
            ],
            "memory_limit_in_mb",
        ),
        (
            &[
                ("request_id", "y"),
                ("memory_limit_in_mb", "128"),
                ("time_limit_in_ms", "-1"),
            ],
            "time_limit_in_ms",
        ),
    ];
    for (headers, named) in cases {
        api.next_request_checked("GET", "/runtime/invocation/next");
        api.answer(200, headers, b"ev", Send::Length, After::KeepAlive);
        let reply = api.next_request();
        assert_eq!(reply.path, "/runtime/invocation/error");
        assert!(reply.text().contains(named), "{}", reply.text());
        api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    }
    let reply = one_event(&mut api, "good", b"still here");
    assert_eq!(reply.text(), "Echoing request: 'still here'");
    stop(child);
}

#[test]
fn refused_result_goes_to_stderr_and_the_loop_goes_on() {
    let (mut api, child) = started("echo", &[]);
    one_event(&mut api, "r-1", b"one");
    api.answer(
        400,
        &[],
        br#"{"error":"already answered"}"#,
        Send::Length,
        After::KeepAlive,
    );
    let reply = one_event(&mut api, "r-2", b"two");
    assert_eq!(reply.text(), "Echoing request: 'two'");
    let err = stop(child);
    assert!(
        err.contains("answered 400 to response for request r-1")
            && err.contains("already answered"),
        "{err}"
    );
}

#[test]
fn panic_is_reported_and_unwind_keeps_the_instance() {
    let (mut api, child) = started("faults", &[]);
    let reply = one_event(&mut api, "p-1", b"panic:kaboom");
    assert_eq!(reply.path, "/runtime/invocation/error");
    let text = reply.text();
    assert!(
        text.starts_with("panicked at examples/faults.rs:") && text.ends_with(": kaboom"),
        "{text}"
    );
    api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    // Debug builds unwind: the same process serves the next event.
    let reply = one_event(&mut api, "p-2", b"after");
    assert_eq!(reply.text(), "ok: after");
    let err = stop(child);
    assert!(
        err.contains("kaboom"),
        "the usual panic message is printed too: {err}"
    );
}

#[test]
fn init_state_is_kept_across_invocations() {
    let (mut api, child) = started("init", &[("GREETING", "Hi")]);
    let reply = one_event(&mut api, "i-1", b"a");
    assert_eq!(reply.text(), "Hi #1: a");
    api.answer(200, &[], b"", Send::Length, After::KeepAlive);
    let reply = one_event(&mut api, "i-2", b"b");
    assert_eq!(reply.text(), "Hi #2: b");
    stop(child);
}

#[test]
fn init_failure_exits_without_ready() {
    let mut api = ScriptedApi::new();
    let child = start(
        &example("init"),
        api.port(),
        &[("INIT_FAIL", "no database")],
    );
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "scf-bootstrap: init failed: INIT_FAIL is set: no database\n"
    );
    assert!(
        !api.anyone_within(Duration::from_millis(200)),
        "ready was posted"
    );
}

#[test]
fn bad_environment_exits_2_with_one_line() {
    let bin = example("echo");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[], "SCF_RUNTIME_API is not set"),
        (
            &[("SCF_RUNTIME_API", "127.0.0.1")],
            "SCF_RUNTIME_API_PORT is not set",
        ),
        (
            &[
                ("SCF_RUNTIME_API", "127.0.0.1"),
                ("SCF_RUNTIME_API_PORT", "http"),
            ],
            "SCF_RUNTIME_API_PORT is not a port number",
        ),
        (
            &[
                ("SCF_RUNTIME_API", "127.0.0.1"),
                ("SCF_RUNTIME_API_PORT", "70000"),
            ],
            "SCF_RUNTIME_API_PORT is not a port number",
        ),
        (
            &[
                ("SCF_RUNTIME_API", "runtime.invalid"),
                ("SCF_RUNTIME_API_PORT", "9000"),
            ],
            "the runtime API host is not an IP address",
        ),
    ];
    for (env, want) in cases {
        let out = std::process::Command::new(&bin)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        assert!(
            err.starts_with("scf-bootstrap: ") && err.contains(want),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn connection_refused_at_start() {
    // A port nobody listens on: bind, note it, close.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let child = start(&example("echo"), port, &[]);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert_eq!(
        err,
        "scf-bootstrap: cannot report ready to the runtime API: cannot connect to the runtime API (connection refused)\n"
    );
}

#[test]
fn api_gone_while_waiting_for_next_exits_1() {
    let (mut api, child) = started("echo", &[]);
    api.next_request_checked("GET", "/runtime/invocation/next");
    drop(api);
    let (status, err) = finish(child);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("scf-bootstrap: cannot fetch the next event"),
        "{err}"
    );
}
