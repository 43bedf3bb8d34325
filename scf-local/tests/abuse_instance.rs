//! Attacks on an instance's containment: processes that try to
//! outlive their instance, a scf-local that dies or is stopped, a local process that talks to
//! another function's runtime API, and a function that floods its own runtime API.
//!
//! Every bootstrap is a bash script written here; each test is bounded in time and uses
//! loopback only.

mod common;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::*;

const BOUND: Duration = Duration::from_secs(20);

/// The start of every bootstrap: the API address, `$OUT` (a directory of the test), and
/// `escape`, which starts a child in a session of its own and a grandchild whose parent exits
/// at once and that leads a process group of its own, both away from the code directory,
/// and writes their pids to `$OUT`.
const PRELUDE: &str = r#"#!/bin/bash
set -u
API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT"
escape() {
  (cd / && exec setsid sleep 300) &
  echo $! > "$OUT/setsid.pid"
  ( set -m; cd /; sleep 300 & echo $! > "$OUT/grandchild.pid" )
  echo $$ > "$OUT/bootstrap.pid"
}
wait_for() { for _ in $(seq 1 400); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
"#;

/// A function directory `<scratch>/<name>` whose bootstrap is [`PRELUDE`] then `body`, and the
/// `--env OUT=…` argument for it (`<scratch>/out`).
fn function(scratch: &Scratch, name: &str, body: &str) -> (PathBuf, String) {
    let dir = scratch.path().join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("bootstrap"), format!("{PRELUDE}{body}")).unwrap();
    std::fs::set_permissions(
        dir.join("bootstrap"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = scratch.path().join("out");
    let _ = std::fs::create_dir(&out);
    (dir, format!("OUT={}", out.display()))
}

/// The pid a bootstrap wrote to `<scratch>/out/<name>.pid`, waiting for it (bounded).
fn pid_written(scratch: &Scratch, name: &str) -> u32 {
    let path = scratch.path().join("out").join(format!("{name}.pid"));
    let until = Instant::now() + BOUND;
    loop {
        if let Some(pid) = std::fs::read_to_string(&path)
            .ok()
            .and_then(|s| s.trim().parse().ok())
        {
            return pid;
        }
        assert!(Instant::now() < until, "{} never written", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Asserts that the bootstrap and both of its escapees are gone.
fn assert_escapees_gone(scratch: &Scratch, when: &str) {
    for name in ["bootstrap", "setsid", "grandchild"] {
        let pid = pid_written(scratch, name);
        assert!(gone_soon(pid), "the {name} process {pid} outlived {when}");
    }
    assert_no_process_in(scratch.path());
}

fn invoke(scratch: &Scratch, code: &Path, args: &[&str]) -> serde_json::Value {
    let mut cmd = scratch.cmd();
    cmd.arg("invoke").arg(code).args(args);
    result_of(&run_bounded(cmd, BOUND))
}

/// One way an instance ends: the bootstrap's body after [`PRELUDE`] (every one calls
/// `escape` first), the extra arguments of `invoke`, the `InvokeResult` and a part of `ErrMsg`
/// (or of `RetMsg` on success) expected, and what ended it, for messages.
struct Ending {
    body: &'static str,
    args: &'static [&'static str],
    code: u64,
    says: &'static str,
    when: &'static str,
}

#[test]
fn escaped_processes_die_with_their_instance_however_it_ends() {
    let endings = [
        Ending {
            body: r#"escape
curl -sS -d " " "$API/runtime/init/ready"
curl -sS "$API/runtime/invocation/next" > /dev/null
sleep 300
"#,
            args: &["--timeout", "1"],
            code: 433,
            says: "execution timeout",
            when: "the timeout",
        },
        Ending {
            body: r#"escape
curl -sS -d " " "$API/runtime/init/ready"
curl -sS "$API/runtime/invocation/next" > /dev/null
exit 3
"#,
            args: &[],
            code: 439,
            says: "exit code 3",
            when: "the bootstrap's exit",
        },
        Ending {
            // The bootstrap's parent is its keeper, run as the same user: a function can
            // kill it.
            body: r#"escape
curl -sS -d " " "$API/runtime/init/ready"
curl -sS "$API/runtime/invocation/next" > /dev/null
kill -9 "$PPID"
sleep 300
"#,
            args: &[],
            code: 439,
            says: "",
            when: "the kill of their keeper",
        },
        Ending {
            // The keeper exits the way the bootstrap did, so the status names its signal.
            body: r#"escape
curl -sS -d " " "$API/runtime/init/ready"
curl -sS "$API/runtime/invocation/next" > /dev/null
kill -SEGV $$
"#,
            args: &[],
            code: 439,
            says: "killed by signal 11",
            when: "the bootstrap's crash",
        },
        Ending {
            body: r#"escape
curl -sS -d " " "$API/runtime/init/ready"
while true; do
  EVENT=$(curl -sS "$API/runtime/invocation/next")
  curl -sS -d "ok $EVENT" "$API/runtime/invocation/response"
done
"#,
            args: &["--event", "{}"],
            code: 0,
            says: "ok {}",
            when: "the end of scf-local invoke",
        },
    ];
    for ending in endings {
        let s = Scratch::new();
        let (code, out) = function(&s, "f", ending.body);
        let mut args = vec!["--env", out.as_str()];
        args.extend(ending.args);
        let r = invoke(&s, &code, &args);
        let when = ending.when;
        assert_eq!(r["Result"]["InvokeResult"], ending.code, "{when}: {r}");
        let said = if ending.code == 0 { "RetMsg" } else { "ErrMsg" };
        let text = r["Result"][said].as_str().unwrap_or("");
        assert!(text.contains(ending.says), "{when}: {said} {text:?}");
        assert_escapees_gone(&s, when);
        s.assert_tmp_clean();
    }
}

/// A bootstrap that escapes, writes its `TMPDIR` to `$OUT/tmpdir` and leaves a read-only
/// directory with a file in it there, then echoes.
const ESCAPING_ECHO: &str = r#"escape
mkdir -p "$TMPDIR/ro" && echo x > "$TMPDIR/ro/f" && chmod 500 "$TMPDIR/ro"
echo "$TMPDIR" > "$OUT/tmpdir"
curl -sS -d " " "$API/runtime/init/ready"
while true; do
  EVENT=$(curl -sS "$API/runtime/invocation/next")
  curl -sS -d "ok $EVENT" "$API/runtime/invocation/response"
done
"#;

/// A `scf-local` child, killed if the test ends (or fails) while it runs.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `scf-local run` on an OS-chosen port through `sh -c` with `prefix` (`exec` keeps the
/// pid); returns the child and the address.
fn start_run(s: &Scratch, code: &Path, prefix: &str, args: &[&str]) -> (Running, String) {
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{prefix} exec \"$0\" \"$@\""))
        .arg(bin())
        .arg("run")
        .arg(code)
        .args(["--port", "0"])
        .args(args)
        .env("TMPDIR", s.tmp())
        .stdin(Stdio::null());
    let (child, addr) = spawn_server(cmd);
    (Running(child), addr)
}

#[test]
fn kill_9_of_run_leaves_no_process_of_the_function() {
    let s = Scratch::new();
    let (code, out) = function(&s, "f", ESCAPING_ECHO);
    let (mut run, addr) = start_run(&s, &code, "", &["--env", &out]);
    let (status, body) = http(&addr, "POST", "/invoke", b"{}");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""RetMsg":"ok {}""#), "{body}");
    pid_written(&s, "grandchild");
    signal_and_wait(&mut run.0, libc::SIGKILL);
    assert_escapees_gone(&s, "a kill -9 of scf-local run");
}

#[test]
fn sigterm_of_run_leaves_no_process_and_no_tmpdir() {
    let s = Scratch::new();
    let (code, out) = function(&s, "f", ESCAPING_ECHO);
    let (mut run, addr) = start_run(&s, &code, "", &["--env", &out]);
    let (status, body) = http(&addr, "POST", "/invoke", b"{}");
    assert_eq!(status, 200, "{body}");
    let tmpdir = std::fs::read_to_string(s.path().join("out/tmpdir")).unwrap();
    let tmpdir = PathBuf::from(tmpdir.trim());
    assert!(tmpdir.starts_with(s.tmp()), "{}", tmpdir.display());
    assert!(signal_and_wait(&mut run.0, libc::SIGTERM).success());
    assert_escapees_gone(&s, "a SIGTERM of scf-local run");
    assert!(!tmpdir.exists(), "{} is left", tmpdir.display());
    s.assert_tmp_clean();
}

#[test]
fn sigint_of_invoke_leaves_no_process_and_no_tmpdir() {
    let s = Scratch::new();
    let (code, out) = function(
        &s,
        "f",
        r#"escape
mkdir -p "$TMPDIR/ro" && echo x > "$TMPDIR/ro/f" && chmod 500 "$TMPDIR/ro"
echo "$TMPDIR" > "$OUT/tmpdir"
curl -sS -d " " "$API/runtime/init/ready"
curl -sS "$API/runtime/invocation/next" > /dev/null
touch "$OUT/fetched"
sleep 300
"#,
    );
    let mut cmd = s.cmd();
    cmd.arg("invoke")
        .arg(&code)
        .args(["--timeout", "60", "--env", &out])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut run = Running(cmd.spawn().unwrap());
    let fetched = s.path().join("out/fetched");
    let until = Instant::now() + BOUND;
    while !fetched.exists() {
        assert!(
            Instant::now() < until,
            "the bootstrap never fetched its event"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let tmpdir = std::fs::read_to_string(s.path().join("out/tmpdir")).unwrap();
    let tmpdir = PathBuf::from(tmpdir.trim());
    assert_eq!(signal_and_wait(&mut run.0, libc::SIGINT).code(), Some(130));
    assert_escapees_gone(&s, "a SIGINT of scf-local invoke");
    assert!(!tmpdir.exists(), "{} is left", tmpdir.display());
    s.assert_tmp_clean();
}

/// Sends `request` on a new connection to the runtime API and returns what comes back
/// before the server closes (bounded).
fn outsider(port: &str, request: &str) -> std::io::Result<Vec<u8>> {
    let mut conn = TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap()))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    // The server may close before the request is written: that is a refusal too.
    let _ = conn.write_all(request.as_bytes());
    let mut got = Vec::new();
    match conn.read_to_end(&mut got) {
        Ok(_) => Ok(got),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(got),
        Err(e) => Err(e),
    }
}

#[test]
fn another_process_gets_no_answer_from_an_instances_runtime_api() {
    let s = Scratch::new();
    let (code, out) = function(
        &s,
        "f",
        r#"echo "$SCF_RUNTIME_API_PORT" > "$OUT/port"
curl -sS -d " " "$API/runtime/init/ready"
EVENT=$(curl -sS "$API/runtime/invocation/next")
touch "$OUT/fetched"
wait_for "$OUT/go"
curl -sS -d "genuine $EVENT" "$API/runtime/invocation/response"
sleep 300
"#,
    );
    let outdir = s.path().join("out");
    let mut cmd = s.cmd();
    cmd.arg("invoke")
        .arg(&code)
        .args(["--timeout", "30", "--env", &out, "--event", "{}"]);
    let invocation = std::thread::spawn(move || run_bounded(cmd, BOUND));
    let until = Instant::now() + BOUND;
    while !outdir.join("fetched").exists() {
        assert!(
            Instant::now() < until,
            "the bootstrap never fetched its event"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let port = std::fs::read_to_string(outdir.join("port")).unwrap();
    let port = port.trim();

    let forged = "forged";
    let post = format!(
        "POST /runtime/invocation/response HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{forged}",
        forged.len()
    );
    let get = "GET /runtime/invocation/next HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    for request in [post.as_str(), get] {
        let answer =
            outsider(port, request).expect("the connection was neither answered nor closed");
        assert!(
            answer.is_empty(),
            "an outsider got an answer: {}",
            String::from_utf8_lossy(&answer)
        );
    }

    std::fs::write(outdir.join("go"), b"").unwrap();
    let r = result_of(&invocation.join().unwrap());
    assert_eq!(r["Result"]["InvokeResult"], 0, "{r}");
    assert_eq!(r["Result"]["RetMsg"], "genuine {}", "{r}");
    assert_no_process_in(s.path());
}

/// The descriptors a process holds.
fn fd_count(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_function_flooding_its_runtime_api_starves_no_other() {
    // One scf-local with room for 256 descriptors and two instances: the first opens 1,000
    // connections to its runtime API and holds them; the second must still start and answer.
    let s = Scratch::new();
    let (code, out) = function(
        &s,
        "f",
        r#"curl -sS -d " " "$API/runtime/init/ready"
if mkdir "$OUT/flooder" 2>/dev/null; then
  EVENT=$(curl -sS "$API/runtime/invocation/next")
  ulimit -Sn 2048 2>/dev/null || ulimit -Sn "$(ulimit -Hn)"
  n=$(( $(ulimit -Sn) - 24 )); [ "$n" -gt 1000 ] && n=1000
  fds=()
  for _ in $(seq 1 "$n"); do
    exec {fd}<>"/dev/tcp/$SCF_RUNTIME_API/$SCF_RUNTIME_API_PORT" && fds+=("$fd")
  done
  echo "${#fds[@]}" > "$OUT/count" && mv "$OUT/count" "$OUT/flooded"
  wait_for "$OUT/go"
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  curl -sS -d "flooded ${#fds[@]}" "$API/runtime/invocation/response"
fi
while true; do
  EVENT=$(curl -sS "$API/runtime/invocation/next")
  curl -sS -d "ok $EVENT" "$API/runtime/invocation/response"
done
"#,
    );
    let outdir = s.path().join("out");
    let (mut run, addr) = start_run(
        &s,
        &code,
        "ulimit -Sn 256 &&",
        &["--env", &out, "--max-instances", "2", "--timeout", "30"],
    );
    let scf_local = run.0.id();
    let baseline = fd_count(scf_local);

    let first = {
        let addr = addr.clone();
        std::thread::spawn(move || http(&addr, "POST", "/invoke", b"{}"))
    };
    let until = Instant::now() + BOUND;
    while !outdir.join("flooded").exists() {
        assert!(
            Instant::now() < until,
            "the flood never finished: scf-local holds {} descriptors",
            fd_count(scf_local)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let opened: usize = std::fs::read_to_string(outdir.join("flooded"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(opened >= 200, "the flood opened only {opened} connections");
    let during = fd_count(scf_local);

    let (status, body) = http(&addr, "POST", "/invoke", br#"{"second":1}"#);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""InvokeResult":0"#), "{body}");
    assert!(body.contains(r#"ok {\"second\":1}"#), "{body}");

    std::fs::write(outdir.join("go"), b"").unwrap();
    let (status, body) = first.join().unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(signal_and_wait(&mut run.0, libc::SIGTERM).success());
    eprintln!(
        "scf-local's descriptors: {baseline} before, {during} during a flood of {opened} connections"
    );
    assert!(
        during < baseline + 64,
        "scf-local held {during} descriptors during a flood of {opened} connections (baseline {baseline})"
    );
    assert_no_process_in(s.path());
    s.assert_tmp_clean();
}
