//! The edit–run loop through the binary: `cargo scf new` with no flags builds as generated,
//! and `cargo scf watch` serves, rebuilds on an edit, keeps serving through a broken edit
//! and leaves nothing running when interrupted.
//!
//! Builds go to `<workspace target>/cargo-scf-e2e`, the directory the e2e test uses, so
//! the runtime and its dependencies are compiled once for both. Every wait has a bound and
//! ends on a signal (a line printed, an answer); nothing asserts how long anything took.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Bound on a build (the first one compiles the runtime's dependencies).
const BUILD_LIMIT: Duration = Duration::from_secs(900);
/// Bound on any other step.
const STEP_LIMIT: Duration = Duration::from_secs(120);

/// The repository's root: the runtime's checkout, which `new` must find by itself.
fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The shared build directory of cargo-scf's end-to-end tests, as Cargo names the
/// workspace's target directory (`CARGO_TARGET_DIR` included).
fn shared_target() -> PathBuf {
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .arg("--manifest-path")
        .arg(repository().join("Cargo.toml"))
        .output()
        .expect("cargo metadata");
    assert!(out.status.success(), "cargo metadata failed");
    let metadata: Value = serde_json::from_slice(&out.stdout).unwrap();
    PathBuf::from(metadata["target_directory"].as_str().unwrap()).join("cargo-scf-e2e")
}

/// Holds the lock the e2e test takes on the shared build directory: two checkouts' tests
/// sharing a `CARGO_TARGET_DIR` would otherwise pack each other's builds.
fn lock_shared(target: &Path) -> std::fs::File {
    std::fs::create_dir_all(target).unwrap();
    let lock = std::fs::File::create(target.join("e2e.lock")).unwrap();
    lock.lock().unwrap();
    lock
}

/// `cargo-scf scf <args>` in `dir`, building into `target`, in a process group of its own
/// (as a terminal runs a command), without the caller's cloud key or flags.
fn cargo_scf(dir: &Path, target: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cargo-scf"));
    cmd.arg("scf")
        .args(args)
        .current_dir(dir)
        .env("CARGO", env!("CARGO"))
        .env("CARGO_TARGET_DIR", target)
        .stdin(Stdio::null())
        .process_group(0);
    for var in [
        "TENCENTCLOUD_SECRETID",
        "TENCENTCLOUD_SECRETKEY",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` to its end within `limit` (past it, the group is killed and the test fails).
fn finish(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let lines = lines_of(&mut child);
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        out.read_to_string(&mut stdout).unwrap();
    }
    let mut stderr = String::new();
    let deadline = Instant::now() + limit;
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                stderr.push_str(&line);
                stderr.push('\n');
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                kill_group(&child, "-KILL");
                panic!("{cmd:?} took more than {limit:?}:\n{stderr}");
            }
        }
    }
    let status = child.wait().unwrap();
    Output {
        status,
        stdout: stdout.into_bytes(),
        stderr: stderr.into_bytes(),
    }
}

/// The child's stderr, line by line, echoed to the test's log.
fn lines_of(child: &mut Child) -> Receiver<String> {
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[cargo-scf] {line}");
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Sends `signal` (`-INT`, `-KILL`) to the child's process group, as a terminal's Ctrl-C does.
fn kill_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .status();
}

/// A crate made by `cargo scf new` with no flags, in `dir/name`; returns its folder and
/// what `new` printed on stderr.
fn new_crate(dir: &Path, target: &Path, name: &str) -> (PathBuf, String) {
    let out = finish(&mut cargo_scf(dir, target, &["new", name]), STEP_LIMIT);
    assert!(out.status.success());
    (
        dir.join(name),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn new_without_flags_builds() {
    let target = shared_target();
    let _lock = lock_shared(&target);
    let work = tempfile::tempdir().unwrap();
    let (krate, said) = new_crate(work.path(), &target, "scf-new-default");
    let root = repository();
    assert!(
        said.contains(&format!(
            "Runtime scf-bootstrap from {} (the checkout cargo-scf was built from;",
            root.display()
        )),
        "{said}"
    );
    let manifest = std::fs::read_to_string(krate.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains(&format!("scf-bootstrap = {{ path = {:?} }}", root)),
        "{manifest}"
    );
    let out = finish(&mut cargo_scf(&krate, &target, &["build"]), BUILD_LIMIT);
    assert!(out.status.success(), "the generated crate does not build");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("linkage: static\n"), "{stdout}");
}

/// `POST path` with `body` (and `headers`) to `addr`; returns the answer's body as JSON.
fn post(addr: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Value {
    let (status, answer) = post_as(addr, addr, path, headers, body);
    assert_eq!(status, 200, "{answer}");
    answer
}

/// [`post`] with `host` as the `Host` header; returns the status code too. With an
/// `Expect: 100-continue` header only the head is sent: the answer must come before the body.
fn post_as(
    addr: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(STEP_LIMIT)).unwrap();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    if !headers.contains(&("Expect", "100-continue")) {
        request.push_str(body);
    }
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head}"));
    let body = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, body)
}

/// The error code of a TencentCloud API answer.
fn api_error_code(answer: &Value) -> &str {
    answer["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

/// The `RetMsg` of `POST /invoke` with `event`, which must succeed.
fn invoke(addr: &str, event: &str) -> String {
    let answer = post(addr, "/invoke", &[], event);
    assert_eq!(answer["Result"]["InvokeResult"], 0, "{answer}");
    answer["Result"]["RetMsg"].as_str().unwrap().to_owned()
}

/// Reads lines from `lines` until one contains `wanted`; returns every line read, that one
/// included. Fails past `limit`, or when the process closed its stderr first.
fn until(lines: &Receiver<String>, wanted: &str, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        match lines.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(line) => {
                let found = line.contains(wanted);
                seen.push(line);
                if found {
                    return seen;
                }
            }
            Err(e) => panic!("no line with {wanted:?} ({e:?}); saw:\n{}", seen.join("\n")),
        }
    }
}

/// Runs `f` on a thread of its own and returns its result, failing past `limit` (for a call
/// that blocks, such as opening a FIFO).
fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(limit)
        .unwrap_or_else(|e| panic!("no result within {limit:?}: {e}"))
}

/// The processes whose environment has `marker` (started by the watch, or forked from it)
/// or whose executable lies under `dir` (the instances' bootstraps).
fn processes_of(marker: &str, dir: &Path) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let marked = environ.split(|b| *b == 0).any(|v| v == marker.as_bytes());
        let exe = std::fs::read_link(entry.path().join("exe")).unwrap_or_default();
        if marked || exe.starts_with(dir) {
            found.push(pid);
        }
    }
    found
}

/// What the test adds to the generated handler: with `{"hold":…}`, it opens the FIFO
/// `$HOLD_DIR/held` for writing (the test sees it in flight when its read returns), then
/// reads `$HOLD_DIR/release` (it finishes when the test writes it).
const HOLD: &str = r#"    state.served += 1;
    if event.starts_with(b"{\"hold\"") {
        let dir = std::env::var("HOLD_DIR").map_err(|e| e.to_string())?;
        std::fs::write(format!("{dir}/held"), b"in flight").map_err(|e| e.to_string())?;
        std::fs::read(format!("{dir}/release")).map_err(|e| e.to_string())?;
    }
"#;

#[test]
fn watch_rebuilds_swaps_survives_errors_and_stops_clean() {
    let target = shared_target();
    let _lock = lock_shared(&target);
    let work = tempfile::tempdir().unwrap();
    let name = "scf-watch-e2e";
    let (krate, _) = new_crate(work.path(), &target, name);

    // The crate carries its settings: a long Timeout for the held call, and a variable.
    let manifest = krate.join("Cargo.toml");
    let mut toml = std::fs::read_to_string(&manifest).unwrap();
    toml.push_str("\n[package.metadata.scf]\ntimeout = 300\n\n[package.metadata.scf.env]\nGREETING = \"Hi\"\n");
    std::fs::write(&manifest, toml).unwrap();
    let main_rs = krate.join("src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    assert!(source.contains("    state.served += 1;\n"));
    let source = source.replace("    state.served += 1;\n", HOLD);
    std::fs::write(&main_rs, &source).unwrap();

    let hold = work.path().join("hold");
    std::fs::create_dir(&hold).unwrap();
    for fifo in ["held", "release"] {
        let made = Command::new("mkfifo")
            .arg(hold.join(fifo))
            .status()
            .unwrap();
        assert!(made.success());
    }
    let tmp = work.path().join("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let marker = format!("SCF_WATCH_TEST={}", std::process::id());
    let (marker_key, marker_value) = marker.split_once('=').unwrap();

    let mut watch = cargo_scf(
        &krate,
        &target,
        &[
            "watch",
            "--port",
            "0",
            "--env",
            &format!("HOLD_DIR={}", hold.display()),
        ],
    )
    .env("TMPDIR", &tmp)
    .env(marker_key, marker_value)
    .stdout(Stdio::null())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let lines = lines_of(&mut watch);
    let serving = until(&lines, "Serving", BUILD_LIMIT);
    let serving = serving.last().unwrap();
    let addr = serving
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .expect("the address on the Serving line")
        .to_owned();

    // A client that promises a body and stalls: answered 408 once the server's body time
    // bound runs out (checked at the end, so the wait overlaps the builds).
    let mut stalled = TcpStream::connect(&addr).unwrap();
    write!(
        stalled,
        "POST /invoke HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 100\r\n\r\n{{\"n\":"
    )
    .unwrap();

    // The run API and the TencentCloud Invoke action, with the crate's variable.
    assert_eq!(
        invoke(&addr, r#"{"n":1}"#),
        format!(r#"Hi from {name}! event: {{"n":1}}"#)
    );
    let params = serde_json::json!({
        "FunctionName": name, "ClientContext": r#"{"n":2}"#, "LogType": "Tail"
    });
    let answer = post(
        &addr,
        "/",
        &[("X-TC-Action", "Invoke")],
        &params.to_string(),
    );
    let result = &answer["Response"]["Result"];
    assert_eq!(
        result["RetMsg"],
        format!(r#"Hi from {name}! event: {{"n":2}}"#),
        "{answer}"
    );
    assert!(
        result["Log"].as_str().unwrap().contains("START RequestId:"),
        "{answer}"
    );
    // Each invocation's log reaches the terminal.
    until(&lines, "Report RequestId:", STEP_LIMIT);

    // What the endpoint refuses: another function, another action, an event over the 6 MB limit,
    // and a DNS name as Host (a page reaching the port through DNS rebinding).
    let invoke_action = [("X-TC-Action", "Invoke")];
    let other = serde_json::json!({"FunctionName": "other"}).to_string();
    let answer = post(&addr, "/", &invoke_action, &other);
    assert_eq!(
        api_error_code(&answer),
        "ResourceNotFound.Function",
        "{answer}"
    );
    let answer = post(&addr, "/", &[("X-TC-Action", "DeleteFunction")], "{}");
    assert_eq!(api_error_code(&answer), "InvalidAction", "{answer}");
    let huge = format!(
        r#"{{"FunctionName": "{name}", "ClientContext": "{}"}}"#,
        "x".repeat(7 << 20)
    );
    let answer = post(&addr, "/", &invoke_action, &huge);
    assert_eq!(
        api_error_code(&answer),
        "InvalidParameter.RequestTooLarge",
        "{answer}"
    );
    let (status, answer) = post_as(
        &addr,
        "rebind.example",
        "/",
        &invoke_action,
        &params.to_string(),
    );
    assert_eq!(status, 403);
    assert_eq!(
        api_error_code(&answer),
        "AuthFailure.UnauthorizedOperation",
        "{answer}"
    );
    // A request body one byte over the Invoke bound (twice the 6 MB event limit, for
    // escaping, plus 64 KiB) is refused on its Content-Length, before the body is sent.
    let over = "x".repeat(2 * (6 << 20) + (64 << 10) + 1);
    let expect = [("X-TC-Action", "Invoke"), ("Expect", "100-continue")];
    let answer = post(&addr, "/", &expect, &over);
    assert_eq!(
        api_error_code(&answer),
        "InvalidParameter.RequestTooLarge",
        "{answer}"
    );
    // A client that writes the whole body before it reads gets the same answer (the server
    // drains what it does not keep), not a reset.
    let answer = post(&addr, "/", &invoke_action, &over);
    assert_eq!(
        api_error_code(&answer),
        "InvalidParameter.RequestTooLarge",
        "{answer}"
    );

    // A call in flight on the old code.
    let held = {
        let addr = addr.clone();
        std::thread::spawn(move || invoke(&addr, r#"{"hold":1}"#))
    };
    let fifo = hold.join("held");
    within(STEP_LIMIT, move || std::fs::read(fifo).unwrap());

    // Edit the handler: the next invocation runs the new code.
    let edited = source.replace(
        "\"{} from {function}! event: \"",
        "\"{} again from {function}! event: \"",
    );
    assert_ne!(edited, source);
    std::fs::write(&main_rs, &edited).unwrap();
    let rebuilt = until(&lines, "Swapped", BUILD_LIMIT);
    assert!(
        rebuilt.iter().any(|l| l.contains("src/main.rs")),
        "{rebuilt:?}"
    );
    assert_eq!(
        invoke(&addr, r#"{"n":3}"#),
        format!(r#"Hi again from {name}! event: {{"n":3}}"#)
    );
    // The held call finishes, on the code it started with.
    let fifo = hold.join("release");
    within(STEP_LIMIT, move || std::fs::write(fifo, b"go").unwrap());
    assert_eq!(
        held.join().unwrap(),
        format!(r#"Hi from {name}! event: {{"hold":1}}"#)
    );

    // An edit of the crate's settings: Cargo.toml is watched, the settings read again.
    let toml = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        toml.replace("GREETING = \"Hi\"", "GREETING = \"Hey\""),
    )
    .unwrap();
    until(&lines, "Swapped", BUILD_LIMIT);
    assert_eq!(
        invoke(&addr, r#"{"n":4}"#),
        format!(r#"Hey again from {name}! event: {{"n":4}}"#)
    );

    // A broken edit: the compiler's error is shown, the last good build keeps answering.
    std::fs::write(&main_rs, edited.replace("Ok(())\n}", "Ok(()) + 1\n}")).unwrap();
    let failed = until(&lines, "Failed", BUILD_LIMIT);
    assert!(
        failed.iter().any(|l| l.starts_with("error[E")),
        "{failed:?}"
    );
    assert!(failed
        .last()
        .unwrap()
        .contains("the previous build keeps serving"));
    assert_eq!(
        invoke(&addr, r#"{"n":5}"#),
        format!(r#"Hey again from {name}! event: {{"n":5}}"#)
    );

    // The stalled client's answer (bounded by the server's 60 s body bound, and here).
    stalled.set_read_timeout(Some(STEP_LIMIT)).unwrap();
    let mut head = [0; 12];
    stalled.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 408");

    // Ctrl-C while a build runs: the build, the server and the instances stop, nothing is
    // left. (The build gets its own process group; the watch stops it.)
    std::fs::write(&main_rs, &source).unwrap();
    until(&lines, "Compiling", STEP_LIMIT);
    let before = processes_of(&marker, &tmp);
    assert!(
        before.contains(&watch.id()),
        "the scan sees the watch itself"
    );
    assert!(
        before.len() >= 3,
        "the scan sees the build and the instances too: {before:?}"
    );
    kill_group(&watch, "-INT");
    until(&lines, "Stopped", STEP_LIMIT);
    let status = within(STEP_LIMIT, move || watch.wait().unwrap());
    assert_eq!(status.code(), Some(130));
    let left = processes_of(&marker, &tmp);
    assert!(left.is_empty(), "left running: {left:?}");
}

#[test]
fn watch_waits_out_a_broken_first_build_and_invokes_each_build_with_the_event() {
    let target = shared_target();
    let _lock = lock_shared(&target);
    let work = tempfile::tempdir().unwrap();
    let name = "scf-watch-first";
    let (krate, _) = new_crate(work.path(), &target, name);
    let main_rs = krate.join("src/main.rs");
    let source = std::fs::read_to_string(&main_rs).unwrap();
    assert!(source.contains("Ok(())\n}"));
    std::fs::write(&main_rs, source.replace("Ok(())\n}", "Ok(()) + 1\n}")).unwrap();

    let mut watch = cargo_scf(
        &krate,
        &target,
        &["watch", "--port", "0", "--event", r#"{"n":7}"#],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let lines = lines_of(&mut watch);
    let stdout = BufReader::new(watch.stdout.take().unwrap());
    let results = {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        rx
    };

    // The broken first build: the compiler's error, then the watch waits for a change.
    let failed = until(&lines, "Failed", BUILD_LIMIT);
    assert!(
        failed.iter().any(|l| l.starts_with("error[E")),
        "{failed:?}"
    );
    assert!(
        failed
            .last()
            .unwrap()
            .contains("nothing is served until a build succeeds"),
        "{failed:?}"
    );
    std::fs::write(&main_rs, &source).unwrap();
    let fixed = until(&lines, "Serving", BUILD_LIMIT);
    assert!(
        fixed
            .iter()
            .any(|l| l.contains("Changed") && l.contains("src/main.rs")),
        "{fixed:?}"
    );

    // The first build to serve is invoked with the event: its Result on stdout.
    until(&lines, "build 1 with the event: succeeded", STEP_LIMIT);
    let result = results.recv_timeout(STEP_LIMIT).unwrap();
    let result: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(
        result["Result"]["RetMsg"],
        format!(r#"Hello from {name}! event: {{"n":7}}"#),
        "{result}"
    );

    // A rebuild is invoked too, and its failure is reported, not fatal.
    std::fs::write(
        &main_rs,
        source.replace("Ok(())\n}", "Err(\"refused\".to_owned())\n}"),
    )
    .unwrap();
    until(&lines, "build 2 with the event: failed", BUILD_LIMIT);
    let result: Value = serde_json::from_str(&results.recv_timeout(STEP_LIMIT).unwrap()).unwrap();
    assert_ne!(result["Result"]["InvokeResult"], 0, "{result}");
    assert!(
        result["Result"]["ErrMsg"]
            .as_str()
            .unwrap()
            .contains("refused"),
        "{result}"
    );

    kill_group(&watch, "-INT");
    until(&lines, "Stopped", STEP_LIMIT);
    let status = within(STEP_LIMIT, move || watch.wait().unwrap());
    assert_eq!(status.code(), Some(130));
}
