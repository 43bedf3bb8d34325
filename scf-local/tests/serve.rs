//! `scf-local serve` over raw HTTP, signed with `scf_local::tc3`: every action, the
//! platform's error codes, updates replacing the pool, `Event` calls and their logs, GET
//! requests, size caps, and state that survives SIGKILL in the middle of writes.

mod common;
mod serve_support;

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

use common::*;
use serve_support::*;

fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

/// A zip of `(name, contents, mode)` entries.
fn zip_of(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, mode) in files {
        let options = zip::write::SimpleFileOptions::default().unix_permissions(*mode);
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A bash bootstrap answering `<word> $GREETING` to every event.
fn answering(word: &str) -> Vec<u8> {
    let script = format!(
        "#!/bin/bash\n\
         api=\"http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime\"\n\
         curl -s -d ' ' -X POST \"$api/init/ready\" >/dev/null\n\
         while true; do\n\
         \x20 curl -sS \"$api/invocation/next\" >/dev/null\n\
         \x20 curl -s -X POST \"$api/invocation/response\" -d \"{word} $GREETING\" >/dev/null\n\
         done\n"
    );
    zip_of(&[("bootstrap", script.as_bytes(), 0o755)])
}

fn create(serve: &Serve, name: &str, zip: &[u8], extra: Value) -> Value {
    let mut body = json!({
        "FunctionName": name,
        "Code": {"ZipFile": b64(zip)},
        "Runtime": "CustomRuntime",
        "Timeout": 3,
        "InitTimeout": 10,
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    serve.call("CreateFunction", &body)
}

fn assert_error(r: &Value, code: &str) {
    assert_eq!(error_code(r), Some(code), "{r}");
    assert!(
        r["Error"]["Message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{r}"
    );
}

fn invoke(serve: &Serve, name: &str, event: &str) -> Value {
    serve.call(
        "Invoke",
        &json!({"FunctionName": name, "ClientContext": event}),
    )
}

#[test]
fn functions_lifecycle_and_errors() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &[]);

    // Create, and the platform's refusals.
    let r = create(
        &serve,
        "hello",
        &answering("v1"),
        json!({"Description": "first", "MemorySize": 256,
               "Environment": {"Variables": [{"Key": "GREETING", "Value": "hi"}]}}),
    );
    assert!(error_code(&r).is_none(), "{r}");
    assert_error(
        &create(&serve, "hello", &answering("v1"), json!({})),
        "ResourceInUse.Function",
    );
    assert_error(
        &create(
            &serve,
            "py",
            &answering("v1"),
            json!({"Runtime": "Python3.6"}),
        ),
        "InvalidParameterValue.Runtime",
    );
    let mut no_runtime = json!({"FunctionName": "nort", "Code": {"ZipFile": b64(&answering("x"))}});
    assert_error(
        &serve.call("CreateFunction", &no_runtime),
        "MissingParameter.Runtime",
    );
    no_runtime["Runtime"] = json!("CustomRuntime");
    no_runtime["Code"] = json!({"ZipFile": "not base64!"});
    assert_error(
        &serve.call("CreateFunction", &no_runtime),
        "InvalidParameterValue.ZipFileBase64BinasciiError",
    );
    no_runtime["Code"] = json!({"ZipFile": b64(b"not a zip")});
    assert_error(
        &serve.call("CreateFunction", &no_runtime),
        "InvalidParameterValue.ZipFile",
    );
    no_runtime["Code"] = json!({"CosBucketName": "b", "CosObjectName": "/o.zip"});
    assert_error(
        &serve.call("CreateFunction", &no_runtime),
        "UnsupportedOperation",
    );
    assert_error(
        &serve.call(
            "CreateFunction",
            &json!({"FunctionName": "nocode", "Runtime": "CustomRuntime"}),
        ),
        "MissingParameter.Code",
    );
    assert_error(
        &create(&serve, "1bad", &answering("x"), json!({})),
        "InvalidParameter.FunctionName",
    );
    assert_error(
        &create(&serve, "mem", &answering("x"), json!({"MemorySize": 100})),
        "InvalidParameterValue.MemorySize",
    );
    assert_error(
        &create(&serve, "slow", &answering("x"), json!({"Timeout": 901})),
        "LimitExceeded.Timeout",
    );
    assert_error(
        &create(
            &serve,
            "env",
            &answering("x"),
            json!({"Environment": {"Variables": [{"Key": "SCF_X", "Value": "1"}]}}),
        ),
        "InvalidParameterValue.EnvironmentSystemProtect",
    );
    assert_error(
        &serve.call("CreateFunction", &json!({"Runtime": "CustomRuntime"})),
        "MissingParameter",
    );

    // GetFunction and ListFunctions.
    let f = serve.call("GetFunction", &json!({"FunctionName": "hello"}));
    assert_eq!(f["FunctionName"], "hello", "{f}");
    assert_eq!(f["Runtime"], "CustomRuntime");
    assert_eq!(f["MemorySize"], 256);
    assert_eq!(f["Timeout"], 3);
    assert_eq!(f["InitTimeout"], 10);
    assert_eq!(f["Description"], "first");
    assert_eq!(f["Namespace"], "default");
    assert_eq!(f["Status"], "Active");
    assert_eq!(
        f["Environment"]["Variables"][0],
        json!({"Key": "GREETING", "Value": "hi"})
    );
    assert_eq!(f["CodeSize"], answering("v1").len());
    assert_error(
        &serve.call("GetFunction", &json!({"FunctionName": "nope"})),
        "ResourceNotFound.Function",
    );
    assert_error(
        &serve.call(
            "GetFunction",
            &json!({"FunctionName": "hello", "Namespace": "other"}),
        ),
        "ResourceNotFound.Function",
    );
    let l = serve.call("ListFunctions", &json!({}));
    assert_eq!(l["TotalCount"], 1, "{l}");
    assert_eq!(l["Functions"][0]["FunctionName"], "hello");

    // Invoke: the event reaches the code; the configuration reaches the instance.
    let r = invoke(&serve, "hello", r#"{"k": 1}"#);
    assert_eq!(r["Result"]["RetMsg"], "v1 hi", "{r}");
    assert_eq!(r["Result"]["InvokeResult"], 0);
    assert_eq!(r["RequestId"], r["Result"]["FunctionRequestId"]);
    let r = serve.call(
        "InvokeFunction",
        &json!({"FunctionName": "hello", "Event": "{}", "LogType": "Tail"}),
    );
    assert_eq!(r["Result"]["RetMsg"], "v1 hi", "{r}");
    assert!(
        r["Result"]["Log"]
            .as_str()
            .unwrap()
            .contains("START RequestId:"),
        "{r}"
    );
    assert_error(
        &invoke(&serve, "hello", "not json"),
        "InvalidParameterValue.ClientContext",
    );
    assert_error(&invoke(&serve, "nope", "{}"), "ResourceNotFound.Function");
    assert_error(
        &serve.call(
            "Invoke",
            &json!({"FunctionName": "hello", "InvocationType": "DryRun"}),
        ),
        "InvalidParameterValue.InvokeType",
    );
    assert_error(
        &serve.call(
            "Invoke",
            &json!({"FunctionName": "hello", "Qualifier": "3"}),
        ),
        "InvalidParameterValue.Qualifier",
    );

    // Updates replace the pool: the next call runs the new code and configuration.
    let r = serve.call(
        "UpdateFunctionConfiguration",
        &json!({"FunctionName": "hello", "Timeout": 5,
                "Environment": {"Variables": [{"Key": "GREETING", "Value": "hello"}]}}),
    );
    assert!(error_code(&r).is_none(), "{r}");
    assert_eq!(
        invoke(&serve, "hello", "{}")["Result"]["RetMsg"],
        "v1 hello"
    );
    assert_eq!(
        serve.call("GetFunction", &json!({"FunctionName": "hello"}))["Timeout"],
        5
    );
    let r = serve.call(
        "UpdateFunctionCode",
        &json!({"FunctionName": "hello", "ZipFile": b64(&answering("v2"))}),
    );
    assert!(error_code(&r).is_none(), "{r}");
    assert_eq!(
        invoke(&serve, "hello", "{}")["Result"]["RetMsg"],
        "v2 hello"
    );
    assert_error(
        &serve.call(
            "UpdateFunctionCode",
            &json!({"FunctionName": "nope", "ZipFile": b64(&answering("v2"))}),
        ),
        "ResourceNotFound.Function",
    );
    assert_error(
        &serve.call(
            "UpdateFunctionConfiguration",
            &json!({"FunctionName": "hello", "MemorySize": 3}),
        ),
        "InvalidParameterValue.MemorySize",
    );

    // A package without bootstrap: the invocation fails with 437, as on the platform.
    let r = create(
        &serve,
        "empty",
        &zip_of(&[("index.sh", b"echo", 0o644)]),
        json!({}),
    );
    assert!(error_code(&r).is_none(), "{r}");
    let r = invoke(&serve, "empty", "{}");
    assert_eq!(r["Result"]["InvokeResult"], 437, "{r}");

    // Event: answered at once; the result shows in GetFunctionLogs.
    let r = serve.call(
        "Invoke",
        &json!({"FunctionName": "hello", "InvocationType": "Event", "ClientContext": "{}"}),
    );
    let id = r["Result"]["FunctionRequestId"]
        .as_str()
        .expect("request id")
        .to_owned();
    assert_eq!(r["RequestId"], id.as_str());
    let until = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let logs = serve.call(
            "GetFunctionLogs",
            &json!({"FunctionName": "hello", "FunctionRequestId": id}),
        );
        assert_eq!(logs["TotalCount"], 1, "{logs}");
        if logs["Data"][0]["InvokeFinished"] == 1 {
            break logs["Data"][0].clone();
        }
        assert!(
            Instant::now() < until,
            "the Event invocation never finished: {logs}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(log["RetCode"], 0, "{log}");
    assert_eq!(log["RetMsg"], "v2 hello");
    assert_eq!(log["FunctionName"], "hello");
    assert!(
        log["Log"]
            .as_str()
            .unwrap()
            .contains(&format!("END RequestId:{id}")),
        "{log}"
    );
    let all = serve.call(
        "GetFunctionLogs",
        &json!({"FunctionName": "hello", "Limit": 100}),
    );
    assert!(
        all["TotalCount"].as_u64().unwrap() >= 5,
        "synchronous calls are logged too: {all}"
    );
    let failures = serve.call(
        "GetFunctionLogs",
        &json!({"FunctionName": "empty", "Filter": {"RetCode": "not0"}}),
    );
    assert_eq!(failures["Data"][0]["RetCode"], 437, "{failures}");

    // Size caps: 6 MB synchronous, 128 KB asynchronous events.
    let big = format!("\"{}\"", "x".repeat(6 * 1024 * 1024));
    assert_error(
        &invoke(&serve, "hello", &big),
        "InvalidParameter.RequestTooLarge",
    );
    let medium = format!("\"{}\"", "x".repeat(200 * 1024));
    assert_error(
        &serve.call(
            "Invoke",
            &json!({"FunctionName": "hello", "InvocationType": "Event", "ClientContext": medium}),
        ),
        "InvalidParameter.RequestTooLarge",
    );
    assert_eq!(
        invoke(&serve, "hello", &medium)["Result"]["InvokeResult"],
        0
    );

    // Delete.
    assert!(error_code(&serve.call("DeleteFunction", &json!({"FunctionName": "hello"}))).is_none());
    assert_error(
        &serve.call("GetFunction", &json!({"FunctionName": "hello"})),
        "ResourceNotFound.Function",
    );
    assert_error(
        &serve.call("DeleteFunction", &json!({"FunctionName": "hello"})),
        "ResourceNotFound.Function",
    );
    assert_error(&serve.call("NoSuchThing", &json!({})), "InvalidAction");
}

#[test]
fn transport_and_signature_errors() {
    let scratch = Scratch::new();
    let serve = Serve::start(
        &scratch.path().join("state"),
        &["--max-request-size", "200000"],
    );
    let addr = serve.addr.as_str();
    let body = br#"{"FunctionName": "x"}"#;
    let send = |method: &str, target: &str, headers: &[(String, String)], body: &[u8]| {
        response(exchange(addr, method, target, headers, body).unwrap())
    };
    let with = |mut h: Vec<(String, String)>, name: &str, value: &str| {
        h.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        h.push((name.to_owned(), value.to_owned()));
        h
    };
    let signed = signed_headers(addr, "GetFunction", body, now());
    assert_error(
        &send("POST", "/", &signed, body),
        "ResourceNotFound.Function",
    );

    // Signature failures.
    let stale = signed_headers(addr, "GetFunction", body, now() - 600);
    assert_error(
        &send("POST", "/", &stale, body),
        "AuthFailure.SignatureExpire",
    );
    assert_error(
        &send("POST", "/", &signed, br#"{"FunctionName": "y"}"#),
        "AuthFailure.SignatureFailure",
    );
    let unsigned: Vec<_> = signed
        .iter()
        .filter(|(k, _)| k != "Authorization")
        .cloned()
        .collect();
    assert_error(
        &send("POST", "/", &unsigned, body),
        "AuthFailure.SignatureFailure",
    );
    let auth = signed
        .iter()
        .find(|(k, _)| k == "Authorization")
        .unwrap()
        .1
        .clone();
    let other_id = with(
        signed.clone(),
        "Authorization",
        &auth.replace(SECRET_ID, "AKIDother"),
    );
    assert_error(
        &send("POST", "/", &other_id, body),
        "AuthFailure.SecretIdNotFound",
    );
    assert_error(
        &send(
            "POST",
            "/",
            &with(signed.clone(), "Authorization", "Basic eA=="),
            body,
        ),
        "AuthFailure.InvalidAuthorization",
    );

    // Transport.
    assert_error(&send("PUT", "/", &signed, body), "UnsupportedProtocol");
    assert_error(
        &send(
            "POST",
            "/",
            &with(signed.clone(), "X-TC-Version", "2017-01-01"),
            body,
        ),
        "NoSuchVersion",
    );
    let no_action: Vec<_> = signed
        .iter()
        .filter(|(k, _)| k != "X-TC-Action")
        .cloned()
        .collect();
    assert_error(&send("POST", "/", &no_action, body), "MissingParameter");
    let big = vec![b' '; 200_001];
    let h = signed_headers(addr, "GetFunction", &big, now());
    assert_error(&send("POST", "/", &h, &big), "RequestSizeLimitExceeded");
    let h = signed_headers(addr, "GetFunction", b"[1]", now());
    assert_error(&send("POST", "/", &h, b"[1]"), "InvalidParameter.Payload");

    // A signed GET, as the SDK sends with reqMethod GET: form parameters in the query.
    let query = "Namespace=default&Limit=5";
    let ct = "application/x-www-form-urlencoded";
    let ts = now();
    let get = scf_local::tc3::Request {
        method: "GET",
        path: "/",
        query,
        headers: &[("content-type", ct), ("host", addr)],
        payload: b"",
    };
    let cred = scf_local::tc3::Credential::new(SECRET_ID, SECRET_KEY);
    let headers = vec![
        (
            "Authorization".to_owned(),
            scf_local::tc3::sign(&cred, "scf", ts, &get),
        ),
        ("Content-Type".to_owned(), ct.to_owned()),
        ("X-TC-Action".to_owned(), "ListFunctions".to_owned()),
        ("X-TC-Version".to_owned(), "2018-04-16".to_owned()),
        ("X-TC-Timestamp".to_owned(), ts.to_string()),
    ];
    let r = send("GET", &format!("/?{query}"), &headers, b"");
    assert_eq!(r["TotalCount"], 0, "{r}");
}

#[test]
fn no_auth_accepts_unsigned_calls() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &["--no-auth"]);
    let headers = vec![
        ("Content-Type".to_owned(), "application/json".to_owned()),
        ("X-TC-Action".to_owned(), "ListFunctions".to_owned()),
        ("X-TC-Version".to_owned(), "2018-04-16".to_owned()),
    ];
    let r = response(exchange(&serve.addr, "POST", "/", &headers, b"{}").unwrap());
    assert_eq!(r["TotalCount"], 0, "{r}");
}

#[test]
fn concurrent_invokes_share_the_pool() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &["--max-instances", "4"]);
    let dir = scratch.copy_fixture("bash-echo");
    let zip = pack(&scratch, &dir.join("bootstrap"), &[&dir.join("index.sh")]);
    let r = create(&serve, "echo", &std::fs::read(zip).unwrap(), json!({}));
    assert!(error_code(&r).is_none(), "{r}");
    let ok = std::thread::scope(|s| {
        let calls: Vec<_> = (0..4)
            .map(|i| {
                let serve = &serve;
                s.spawn(move || {
                    (0..5)
                        .map(|j| invoke(serve, "echo", &format!("[{i}, {j}]")))
                        .filter(|r| {
                            r["Result"]["RetMsg"]
                                .as_str()
                                .is_some_and(|m| m.starts_with("Echoing request: '["))
                        })
                        .count()
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).sum::<usize>()
    });
    assert_eq!(ok, 20);
    drop(serve);
    assert_no_process_in(scratch.path());
}

/// A created function's name and code.
type Acked = (String, Vec<u8>);

/// SIGKILL while four clients create functions: every acknowledged create is there after a
/// restart, with its configuration and its exact code.
#[test]
fn acknowledged_creates_survive_sigkill() {
    let scratch = Scratch::new();
    let state = scratch.path().join("state");
    let mut serve = Serve::start(&state, &[]);
    let addr = serve.addr.clone();
    // (name, zip) of every create the server answered.
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();
    let killed = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let (addr, acked, killed) = (addr.clone(), acked.clone(), killed.clone());
            std::thread::spawn(move || {
                for i in 0.. {
                    if killed.load(Ordering::Acquire) {
                        break;
                    }
                    let name = format!("f{t}-{i}");
                    // Distinct code, with some bulk so writes take a moment.
                    let filler: Vec<u8> = (0..200_000u32)
                        .map(|n| (n * 31 + i * 7 + t) as u8)
                        .collect();
                    let zip = zip_of(&[
                        ("bootstrap", name.as_bytes(), 0o755),
                        ("data", &filler, 0o644),
                    ]);
                    let body = json!({
                        "FunctionName": name, "Runtime": "CustomRuntime",
                        "Code": {"ZipFile": b64(&zip)}, "Timeout": 7, "Description": name,
                    })
                    .to_string();
                    let headers = signed_headers(&addr, "CreateFunction", body.as_bytes(), now());
                    let Ok((200, _, reply)) =
                        exchange(&addr, "POST", "/", &headers, body.as_bytes())
                    else {
                        break; // the server is gone
                    };
                    let Ok(v) = serde_json::from_str::<Value>(&reply) else {
                        break;
                    };
                    assert!(v["Response"]["Error"].is_null(), "{reply}");
                    acked.lock().unwrap().push((name, zip));
                }
            })
        })
        .collect();
    let until = Instant::now() + Duration::from_secs(60);
    while acked.lock().unwrap().len() < 40 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(5));
    }
    serve.kill();
    killed.store(true, Ordering::Release);
    for w in writers {
        w.join().unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 40,
        "only {} creates acknowledged",
        acked.len()
    );

    let serve = Serve::start(&state, &[]);
    let store = scf_local::serve::store::Store::open(&state).unwrap();
    for (name, zip) in &acked {
        let f = serve.call("GetFunction", &json!({"FunctionName": name}));
        assert_eq!(f["FunctionName"], name.as_str(), "{f}");
        assert_eq!(f["Timeout"], 7);
        assert_eq!(f["Description"], name.as_str());
        assert_eq!(f["CodeSize"], zip.len());
        let code = store.code("default", name).unwrap().expect("code");
        assert!(code == *zip, "the code of {name} changed");
    }
    let listed = serve.call("ListFunctions", &json!({"Limit": 10_000}));
    let total = listed["TotalCount"].as_u64().unwrap() as usize;
    eprintln!(
        "{} creates acknowledged before SIGKILL, {total} stored",
        acked.len()
    );
    // Unacknowledged creates may or may not have landed: at most one per writer.
    assert!(
        total >= acked.len() && total <= acked.len() + 4,
        "{total} for {} acknowledged",
        acked.len()
    );
    // The database itself is sound.
    let conn = rusqlite::Connection::open(state.join(scf_local::serve::store::DB_FILE)).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// `--tls` makes its certificate once (the key 0600) and serves it again after a restart;
/// files of the user's that are not a certificate and its key are refused in one line.
#[test]
fn tls_certificate_is_kept_and_bad_files_are_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let scratch = Scratch::new();
    let state = scratch.path().join("state");
    let mut serve = Serve::start(&state, &["--tls"]);
    assert_eq!(serve.scheme, "https");
    let cert = std::fs::read(serve.tls_cert()).unwrap();
    let key = state.join("tls/key.pem");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(serve.stop());
    let serve = Serve::start(&state, &["--tls"]);
    assert_eq!(std::fs::read(serve.tls_cert()).unwrap(), cert);
    drop(serve);

    let junk = scratch.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let serve_with = |extra: &[&std::ffi::OsStr]| {
        let mut cmd = scratch.cmd();
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--state-dir"])
            .arg(scratch.path().join("other-state"))
            .args(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY])
            .args(extra);
        run_bounded(cmd, Duration::from_secs(60))
    };
    let (junk, key) = (junk.as_os_str(), key.as_os_str());
    let out = serve_with(&[
        "--tls".as_ref(),
        "--tls-cert".as_ref(),
        junk,
        "--tls-key".as_ref(),
        key,
    ]);
    assert_bad_input(&scratch, &out, "no certificate");
    // The user's files are checked before anything is made in the state directory.
    assert!(!scratch.path().join("other-state").exists());
    // A certificate without its key, or either without --tls: clap's usage error.
    for extra in [
        &["--tls".as_ref(), "--tls-cert".as_ref(), junk][..],
        &["--tls-cert".as_ref(), junk, "--tls-key".as_ref(), key][..],
    ] {
        let out = serve_with(extra);
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--tls"), "{err}");
    }
}
