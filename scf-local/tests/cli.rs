//! End-to-end tests of the `scf-local` binary: the walkthrough's bash bootstrap, the Rust
//! `echo` example, bootstraps that misbehave, and bad input.

mod common;

use std::io::{Read as _, Write as _};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use common::*;

const WALKTHROUGH_EVENT: &str = r#"{"key1": "test value 1", "key2": "test value 2"}"#;
const BOUND: Duration = Duration::from_secs(60);

fn invoke(scratch: &Scratch, code: &Path, args: &[&str]) -> Output {
    let mut cmd = scratch.cmd();
    cmd.arg("invoke").arg(code).args(args);
    run_bounded(cmd, BOUND)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Invokes a fixture copied into a scratch dir and checks nothing is left behind.
fn invoke_fixture(name: &str, args: &[&str]) -> (serde_json::Value, Output, Scratch) {
    let scratch = Scratch::new();
    let code = scratch.copy_fixture(name);
    let out = invoke(&scratch, &code, args);
    let result = result_of(&out);
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
    (result, out, scratch)
}

#[test]
fn walkthrough_bash_bootstrap_echoes() {
    let (r, out, _s) = invoke_fixture("bash-echo", &["--event", WALKTHROUGH_EVENT]);
    assert!(out.status.success(), "{}", stderr(&out));
    let res = &r["Result"];
    assert_eq!(
        res["RetMsg"],
        format!("Echoing request: '{WALKTHROUGH_EVENT}'")
    );
    assert_eq!(res["ErrMsg"], "");
    assert_eq!(res["InvokeResult"], 0);
    assert_eq!(res["FunctionRequestId"], r["RequestId"]);
    assert!(res["MemUsage"].as_u64().unwrap() > 0);
    assert!(res["BillDuration"].as_u64().unwrap() >= 1);
    let log = res["Log"].as_str().unwrap();
    let id = r["RequestId"].as_str().unwrap();
    assert!(log.starts_with(&format!("START RequestId:{id}\n")), "{log}");
    assert!(
        log.contains(&format!("Init Report RequestId: {id} Coldstart: ")),
        "{log}"
    );
    // index.sh echoes the event to stderr: it is in the log.
    assert!(log.contains(&format!("\n{WALKTHROUGH_EVENT}\n")), "{log}");
    assert!(log.contains(&format!("END RequestId:{id}\n")), "{log}");
    assert!(
        log.contains(&format!("Report RequestId:{id} Duration:")),
        "{log}"
    );
}

#[test]
fn walkthrough_bash_bootstrap_from_zip_with_seed_headers_and_stdin_event() {
    let scratch = Scratch::new();
    let dir = scratch.copy_fixture("bash-echo");
    let zip = pack(&scratch, &dir.join("bootstrap"), &[&dir.join("index.sh")]);
    let mut cmd = scratch.cmd();
    cmd.arg("invoke")
        .arg(&zip)
        .args(["--headers", "seed", "--pretty"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    cmd.stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(WALKTHROUGH_EVENT.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let r = result_of(&out);
    assert_eq!(
        r["Result"]["RetMsg"],
        format!("Echoing request: '{WALKTHROUGH_EVENT}'")
    );
    assert!(r["Result"]["Log"].as_str().unwrap().contains("PullCode: "));
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
}

#[test]
fn rust_echo_example_echoes_from_a_packed_zip() {
    let scratch = Scratch::new();
    let echo = echo_bootstrap();
    let zip = pack(&scratch, &echo, &[]);
    // The zip holds `bootstrap` at its root, mode 0755.
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    assert_eq!(archive.len(), 1);
    let entry = archive.by_index(0).unwrap();
    assert_eq!(entry.name().unwrap(), "bootstrap");
    assert_eq!(entry.unix_mode().unwrap() & 0o7777, 0o755);
    drop(entry);
    let out = invoke(&scratch, &zip, &["--event", WALKTHROUGH_EVENT]);
    assert!(out.status.success(), "{}", stderr(&out));
    let r = result_of(&out);
    assert_eq!(
        r["Result"]["RetMsg"],
        format!("Echoing request: '{WALKTHROUGH_EVENT}'")
    );
    assert_no_process_in(scratch.path());
    scratch.assert_tmp_clean();
}

fn assert_failed(r: &serde_json::Value, out: &Output, code: u64, err: &str) {
    assert_eq!(out.status.code(), Some(1), "{}", stderr(out));
    assert_eq!(r["Result"]["InvokeResult"], code, "{r}");
    let msg = r["Result"]["ErrMsg"].as_str().unwrap();
    assert!(msg.contains(err), "ErrMsg {msg:?} lacks {err:?}");
}

#[test]
fn never_ready_is_an_init_timeout() {
    let (r, out, _s) = invoke_fixture("never-ready", &["--init-timeout", "1"]);
    assert_failed(&r, &out, 450, "init timeout");
    assert!(r["Result"]["Log"]
        .as_str()
        .unwrap()
        .contains("initializing forever"));
}

#[test]
fn sleeping_past_timeout_is_an_execution_timeout() {
    let (r, out, _s) = invoke_fixture("sleepy", &["--timeout", "1"]);
    assert_failed(&r, &out, 433, "execution timeout");
    assert!(r["Result"]["Log"].as_str().unwrap().contains("sleeping"));
}

#[test]
fn never_fetching_is_an_event_wait_timeout() {
    let (r, out, _s) = invoke_fixture("no-fetch", &["--timeout", "1"]);
    assert_failed(&r, &out, 433, "timeout waiting for the event");
}

#[test]
fn exiting_mid_invocation_is_439() {
    let (r, out, _s) = invoke_fixture("exit-mid", &[]);
    assert_failed(&r, &out, 439, "exit code 3");
    assert!(r["Result"]["Log"]
        .as_str()
        .unwrap()
        .contains("exiting with 3"));
}

#[test]
fn crashing_during_init_is_445_with_its_output() {
    let (r, out, _s) = invoke_fixture("init-crash", &[]);
    assert_failed(&r, &out, 445, "exited during init (exit code 1)");
    assert!(r["Result"]["Log"]
        .as_str()
        .unwrap()
        .contains("missing CONFIG_PATH"));
}

#[test]
fn posted_error_is_430() {
    let (r, out, _s) = invoke_fixture("error", &[]);
    assert_failed(&r, &out, 430, "parse event error");
    assert_eq!(r["Result"]["ErrMsg"], "parse event error");
}

#[test]
fn response_over_6mb_is_407() {
    let (r, out, _s) = invoke_fixture("big-response", &["--timeout", "20"]);
    assert_failed(&r, &out, 407, "limit");
}

#[test]
fn ten_megabytes_of_output_are_cut_to_the_log_tail() {
    let (r, out, _s) = invoke_fixture("flood", &["--timeout", "30", "--event", "{}"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(r["Result"]["RetMsg"], "flooded {}");
    let log = r["Result"]["Log"].as_str().unwrap();
    assert!(log.len() <= 4096, "{}", log.len());
    assert!(log.contains("flood done\n"));
    assert!(log.ends_with("MB\n"), "{log}");
    // The limit is configurable.
    let (r, _, _s) = invoke_fixture("flood", &["--timeout", "30", "--log-limit", "100000"]);
    assert!(r["Result"]["Log"].as_str().unwrap().len() > 90_000);
}

#[test]
fn memory_over_the_limit_is_434_when_enforced() {
    let (r, out, _s) = invoke_fixture(
        "memory-hog",
        &["--timeout", "30", "--memory", "128", "--enforce-memory"],
    );
    assert_failed(&r, &out, 434, "memory limit reached");
}

#[test]
fn a_child_that_would_outlive_the_bootstrap_is_killed() {
    for mode in ["exit", "serve"] {
        let scratch = Scratch::new();
        let code = scratch.copy_fixture("orphan");
        let pid_file = scratch.path().join("child.pid");
        let env1 = format!("PID_FILE={}", pid_file.display());
        let env2 = format!("ORPHAN_MODE={mode}");
        let out = invoke(&scratch, &code, &["--env", &env1, "--env", &env2]);
        let r = result_of(&out);
        if mode == "exit" {
            assert_eq!(r["Result"]["InvokeResult"], 439, "{r}");
        } else {
            assert_eq!(r["Result"]["InvokeResult"], 0, "{r}");
        }
        let child: u32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let bootstrap: u32 = std::fs::read_to_string(scratch.path().join("child.pid.bootstrap"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            gone_soon(child),
            "the bootstrap's child {child} outlived it ({mode})"
        );
        assert!(
            gone_soon(bootstrap),
            "the bootstrap {bootstrap} is still running ({mode})"
        );
        assert_no_process_in(scratch.path());
        scratch.assert_tmp_clean();
    }
}

#[test]
fn next_headers_and_environment() {
    let (r, out, s) = invoke_fixture(
        "headers",
        &[
            "--env",
            "MY_VAR=hello",
            "--handler",
            "main.run",
            "--env",
            "SCF_NAMESPACE=default",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = r["Result"]["RetMsg"].as_str().unwrap().to_ascii_lowercase();
    let id = r["RequestId"].as_str().unwrap();
    assert!(text.contains(&format!("\nrequest_id: {id}\n")), "{text}");
    assert!(text.contains("\nmemory_limit_in_mb: 128\n"), "{text}");
    assert!(text.contains("\ntime_limit_in_ms: 3000\n"), "{text}");
    assert!(text.contains("\n_handler=main.run\n"), "{text}");
    assert!(text.contains("\nmy_var=hello\n"), "{text}");
    assert!(text.contains("\nscf_runtime_api=127.0.0.1\n"), "{text}");
    assert!(text.contains("\nscf_runtime_api_port="), "{text}");
    assert!(text.contains("\ntencentcloud_runenv=scf\n"), "{text}");
    assert!(text.contains("\nscf_namespace=default\n"), "{text}");
    assert!(text.contains("\nstdin=/dev/null\n"), "{text}");
    let code = s.path().join("headers").canonicalize().unwrap();
    let cwd = format!("\ncwd={}\n", code.display()).to_ascii_lowercase();
    assert!(text.contains(&cwd), "{text}");
    // Its own process group: pgid = pid.
    let line = text.lines().find(|l| l.starts_with("pgid=")).unwrap();
    let (pgid, pid) = line.split_once(' ').unwrap();
    assert_eq!(&pgid[5..], &pid[4..], "{line}");

    let (r, _, _s) = invoke_fixture("headers", &["--headers", "seed", "--timeout", "2.5"]);
    let text = r["Result"]["RetMsg"].as_str().unwrap().to_ascii_lowercase();
    assert!(text.contains("\nscf_runtime_request_id: "), "{text}");
    assert!(
        text.contains("\nscf_runtime_memory_limit_in_mb: 128\n"),
        "{text}"
    );
    assert!(
        text.contains("\nscf_runtime_time_limit_in_ms: 2500\n"),
        "{text}"
    );
}

#[test]
fn bad_input_is_one_clear_line() {
    let s = Scratch::new();
    let echo_dir = s.copy_fixture("bash-echo");

    // A file that is not a zip.
    let junk = s.path().join("junk.zip");
    std::fs::write(&junk, b"this is not a zip").unwrap();
    assert_bad_input(&s, &invoke(&s, &junk, &[]), "not a valid zip file");

    // A zip without bootstrap.
    let zip = s.path().join("nobootstrap.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    w.start_file("index.sh", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"echo").unwrap();
    w.finish().unwrap();
    assert_bad_input(&s, &invoke(&s, &zip, &[]), "437");

    // A zip of the folder instead of its files.
    let zip = s.path().join("folder.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let exe = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    w.start_file("demo/bootstrap", exe).unwrap();
    w.write_all(b"#!/bin/sh\n").unwrap();
    w.finish().unwrap();
    assert_bad_input(&s, &invoke(&s, &zip, &[]), "demo/bootstrap");

    // An entry that escapes the directory.
    let zip = s.path().join("escape.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    w.start_file("bootstrap", exe).unwrap();
    w.write_all(b"#!/bin/sh\n").unwrap();
    w.start_file("../escaped", zip::write::SimpleFileOptions::default())
        .unwrap();
    w.write_all(b"x").unwrap();
    w.finish().unwrap();
    assert_bad_input(&s, &invoke(&s, &zip, &[]), "outside the code directory");
    assert!(!s.tmp().join("escaped").exists());

    // bootstrap without its execute bit, in a zip and in a directory.
    let zip = s.path().join("noexec.zip");
    let mut w = zip::ZipWriter::new(std::fs::File::create(&zip).unwrap());
    let plain = zip::write::SimpleFileOptions::default().unix_permissions(0o644);
    w.start_file("bootstrap", plain).unwrap();
    w.write_all(b"#!/bin/sh\n").unwrap();
    w.finish().unwrap();
    assert_bad_input(&s, &invoke(&s, &zip, &[]), "not executable (mode 0644)");
    let dir = s.path().join("noexec");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("bootstrap"), b"#!/bin/sh\n").unwrap();
    assert_bad_input(&s, &invoke(&s, &dir, &[]), "chmod 755 bootstrap");

    // An event that is not JSON, from each source.
    assert_bad_input(
        &s,
        &invoke(&s, &echo_dir, &["--event", "not json"]),
        "InvalidParameterValue",
    );
    let ev = s.path().join("event.txt");
    std::fs::write(&ev, b"{broken").unwrap();
    assert_bad_input(
        &s,
        &invoke(&s, &echo_dir, &["--event-file", ev.to_str().unwrap()]),
        "InvalidParameterValue",
    );

    // Missing files.
    assert_bad_input(
        &s,
        &invoke(&s, &s.path().join("missing.zip"), &[]),
        "missing.zip",
    );
    assert_bad_input(
        &s,
        &invoke(&s, &echo_dir, &["--event-file", "/nonexistent/event.json"]),
        "cannot read",
    );

    // Settings the platform refuses.
    assert_bad_input(
        &s,
        &invoke(&s, &echo_dir, &["--memory", "10"]),
        "MemorySize",
    );
    assert_bad_input(
        &s,
        &invoke(&s, &echo_dir, &["--env", "=1"]),
        "invalid environment variable name",
    );
    let big = format!("BIG={}", "x".repeat(5000));
    assert_bad_input(&s, &invoke(&s, &echo_dir, &["--env", &big]), "4 KB");
    assert_bad_input(
        &s,
        &invoke(&s, &echo_dir, &["--env", "NOEQUALS"]),
        "KEY=VALUE",
    );

    // Ports in use.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    assert_bad_input(&s, &invoke(&s, &echo_dir, &["--api-port", &port]), "in use");
    let mut cmd = s.cmd();
    cmd.arg("run").arg(&echo_dir).args(["--port", &port]);
    assert_bad_input(&s, &run_bounded(cmd, BOUND), "in use");

    // A missing pack input.
    let mut cmd = s.cmd();
    cmd.args(["pack", "--bootstrap"])
        .arg(s.path().join("nope"))
        .arg("-o")
        .arg(s.path().join("o.zip"));
    assert_bad_input(&s, &run_bounded(cmd, BOUND), "nope");
    assert!(!s.path().join("o.zip").exists());
}

#[test]
fn pack_keeps_modes_of_included_files() {
    let s = Scratch::new();
    let dir = s.copy_fixture("bash-echo");
    let data = s.path().join("data.txt");
    std::fs::write(&data, b"hi").unwrap();
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
    let zip = pack(&s, &dir.join("bootstrap"), &[&dir.join("index.sh"), &data]);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let mode = |a: &mut zip::ZipArchive<std::fs::File>, n: &str| {
        a.by_name(n).unwrap().unix_mode().unwrap() & 0o7777
    };
    assert_eq!(mode(&mut archive, "bootstrap"), 0o755);
    // Included files keep their own modes (the checkout's umask decides index.sh's).
    let index_mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.join("index.sh"))
            .unwrap()
            .permissions(),
    ) & 0o7777;
    assert_eq!(mode(&mut archive, "index.sh"), index_mode);
    assert_eq!(mode(&mut archive, "data.txt"), 0o640);
    // `unzip -Z` lists bootstrap as -rwxr-xr-x.
    if let Ok(out) = std::process::Command::new("unzip")
        .arg("-Z")
        .arg(&zip)
        .output()
    {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.lines()
                .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with(" bootstrap")),
            "{text}"
        );
    }
}

/// Starts `scf-local run` on an OS-chosen port; returns the child and the address.
fn start_run(scratch: &Scratch, code: &Path, args: &[&str]) -> (std::process::Child, String) {
    let mut cmd = scratch.cmd();
    cmd.arg("run").arg(code).args(["--port", "0"]).args(args);
    spawn_server(cmd)
}

fn stop_run(mut child: std::process::Child) {
    let status = signal_and_wait(&mut child, libc::SIGTERM);
    assert!(status.success(), "run exited with {status}");
}

#[test]
fn run_keeps_instances_warm_and_refuses_bad_events() {
    let s = Scratch::new();
    let code = s.copy_fixture("two-responses");
    let (child, addr) = start_run(&s, &code, &[]);
    let (status, body) = http(&addr, "POST", "/invoke", br#"{"n":1}"#);
    assert_eq!(status, 200, "{body}");
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["Result"]["RetMsg"], r#"first {"n":1}"#);
    assert!(r["Result"]["Log"].as_str().unwrap().contains("Init Report"));
    assert!(r["Result"]["Log"]
        .as_str()
        .unwrap()
        .contains("next twice: same event"));

    // Warm: no Init Report; the first response stayed final, the later posts got 409.
    let (status, body) = http(&addr, "POST", "/invoke", br#"{"n":2}"#);
    assert_eq!(status, 200, "{body}");
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["Result"]["RetMsg"], r#"first {"n":2}"#);
    let log = r["Result"]["Log"].as_str().unwrap();
    assert!(!log.contains("Init Report"), "{log}");
    assert!(log.contains("InvocationAlreadyFinal"), "{log}");
    assert!(
        log.contains("second response: ") && log.contains(" 409\n"),
        "{log}"
    );

    let (status, body) = http(&addr, "POST", "/invoke", b"not json");
    assert_eq!(status, 400);
    let r: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(r["Response"]["Error"]["Code"], "InvalidParameterValue");

    let (status, _) = http(&addr, "GET", "/elsewhere", b"");
    assert_eq!(status, 404);

    // A request for another name (a browser page through DNS rebinding) is refused.
    let port = addr.rsplit(':').next().unwrap();
    for host in [
        format!("rebind.example:{port}"),
        "rebind.example".to_owned(),
    ] {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let head = format!(
            "POST /invoke HTTP/1.1\r\nHost: {host}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        s.write_all(head.as_bytes()).unwrap();
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 403"), "{host}: {answer}");
        assert!(
            answer.contains("AuthFailure.UnauthorizedOperation"),
            "{answer}"
        );
    }
    let (status, _) = http(&format!("localhost:{port}"), "POST", "/invoke", b"{}");
    assert_eq!(status, 200);

    stop_run(child);
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}

#[test]
fn runtime_api_answers_unknown_paths_with_404_and_early_posts_with_400() {
    // A bootstrap that probes the API before posting ready, and reports what it saw.
    let s = Scratch::new();
    let dir = s.path().join("probe");
    std::fs::create_dir(&dir).unwrap();
    let script = r#"#!/bin/bash
API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT"
a=$(curl -s -o /dev/null -w '%{http_code}' "$API/2018-06-01/runtime/invocation/next")
b=$(curl -s -w ' %{http_code}' -d x "$API/runtime/invocation/response")
c=$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$API/runtime/invocation/next")
curl -s -d " " "$API/runtime/init/ready"
EVENT=$(curl -s "$API/runtime/invocation/next")
curl -s -d "unknown=$a early=$b method=$c" "$API/runtime/invocation/response"
sleep 300
"#;
    std::fs::write(dir.join("bootstrap"), script).unwrap();
    std::fs::set_permissions(
        dir.join("bootstrap"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = invoke(&s, &dir, &[]);
    let r = result_of(&out);
    let ret = r["Result"]["RetMsg"].as_str().unwrap();
    assert!(ret.starts_with("unknown=404 early="), "{ret}");
    assert!(
        ret.contains("NoInvocation") && ret.contains(" 400 method=405"),
        "{ret}"
    );
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}

/// Waits (bounded) until the `sleepy` bootstrap running in `dir` has taken its event: its
/// `sleep`, started once `next` has answered, is in `/proc`.
fn wait_until_the_event_is_taken(dir: &Path) {
    let until = std::time::Instant::now() + BOUND;
    loop {
        let sleeping = processes_in(dir).into_iter().any(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmdline| cmdline.starts_with(b"sleep\0"))
        });
        if sleeping {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "the bootstrap never took its event"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn interrupted_invoke_stops_its_instance() {
    let s = Scratch::new();
    let code = s.copy_fixture("sleepy");
    let mut cmd = s.cmd();
    cmd.arg("invoke").arg(&code).args(["--timeout", "60"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    wait_until_the_event_is_taken(s.path());
    let status = signal_and_wait(&mut child, libc::SIGINT);
    assert_eq!(status.code(), Some(130));
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}

#[test]
fn stopping_run_kills_busy_instances() {
    let s = Scratch::new();
    let code = s.copy_fixture("sleepy");
    let (child, addr) = start_run(&s, &code, &["--timeout", "600"]);
    let client = std::thread::spawn(move || {
        use std::io::Read as _;
        let mut conn = std::net::TcpStream::connect(&addr).unwrap();
        conn.set_read_timeout(Some(BOUND)).unwrap();
        let req = format!("POST /invoke HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\n\r\n{{}}");
        conn.write_all(req.as_bytes()).unwrap();
        let mut sink = Vec::new();
        let _ = conn.read_to_end(&mut sink);
    });
    wait_until_the_event_is_taken(&code);
    stop_run(child);
    client.join().unwrap();
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}

/// Sends the head of `POST /invoke` announcing `length` body bytes and waiting for
/// `100 Continue`; returns the connection and the first answer line the server sent.
fn announce_body(addr: &str, length: usize) -> (std::net::TcpStream, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(BOUND)).unwrap();
    let head = format!(
        "POST /invoke HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n\
         Expect: 100-continue\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if s.read(&mut byte).unwrap() == 0 {
            break;
        }
        line.push(byte[0]);
    }
    (s, String::from_utf8_lossy(&line).trim_end().to_owned())
}

#[test]
fn run_caps_the_request_bodies_it_reads_at_once() {
    let s = Scratch::new();
    let code = s.copy_fixture("bash-echo");
    let (child, addr) = start_run(&s, &code, &[]);
    // Five clients announce 6,000,000 bytes each and are told to send them (the server holds
    // room for 30,000,000 bytes of the 32 MiB it reads at once)...
    let mut held: Vec<_> = (0..5)
        .map(|_| {
            let (conn, line) = announce_body(&addr, 6_000_000);
            assert_eq!(line, "HTTP/1.1 100 Continue");
            conn
        })
        .collect();
    // ...so a sixth is refused before it sends a byte of its body,
    let (mut sixth, line) = announce_body(&addr, 6_000_000);
    assert!(line.starts_with("HTTP/1.1 503"), "{line}");
    let mut rest = String::new();
    let _ = sixth.read_to_string(&mut rest);
    assert!(rest.contains("RequestLimitExceeded"), "{rest}");
    // while a small event still fits and is answered.
    let (status, body) = http(&addr, "POST", "/invoke", br#"{"small":1}"#);
    assert_eq!(status, 200, "{body}");
    // A body announced over the event limit is refused at once, whatever the room.
    let (_over, line) = announce_body(&addr, 6 * 1024 * 1024 + 1);
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    // A client that goes away gives its room back: the next large body is let in.
    held.pop();
    let until = std::time::Instant::now() + BOUND;
    loop {
        let (_conn, line) = announce_body(&addr, 6_000_000);
        if line == "HTTP/1.1 100 Continue" {
            break;
        }
        assert!(line.starts_with("HTTP/1.1 503"), "{line}");
        assert!(
            std::time::Instant::now() < until,
            "the room was never given back"
        );
        std::thread::yield_now();
    }
    drop(held);
    stop_run(child);
}
