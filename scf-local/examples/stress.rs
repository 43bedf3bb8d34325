//! Load on `scf-local run` and `scf-local serve`: sequential and concurrent invocations of
//! the Rust `echo` bootstrap, every answer checked, with the emulator's RSS and descriptor
//! count before and after (the figures of scf-local/README.md, "Under load and under attack").
//!
//! ```sh
//! cargo build --release -p scf-local && cargo bootstrap --example echo
//! cargo run --release -p scf-local --example stress             # [-- --quick]
//! ```
//!
//! It runs `target/release/scf-local` (or `$SCF_LOCAL`) with the bootstrap
//! `target/x86_64-unknown-linux-musl/bootstrap/examples/echo` (or `$ECHO_BOOTSTRAP`), on
//! loopback ports the OS picks, and prints one Markdown table. It exits 1 if any answer was
//! lost or wrong.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use scf_local::tc3::{self, Credential};
use serde_json::Value;

const SECRET_ID: &str = "AKIDstress";
const SECRET_KEY: &str = "stress-key";

/// A running scf-local, killed when dropped.
struct Emulator {
    child: Child,
    addr: String,
}

impl Emulator {
    fn start(bin: &Path, args: &[&str]) -> Emulator {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = std::sync::mpsc::channel();
        thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("http://").nth(1) {
                        let _ = tx.send(rest.split('/').next().unwrap_or("").to_owned());
                        sent = true;
                    }
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("scf-local did not print its address");
        Emulator { child, addr }
    }

    /// `scf-local serve` on a loopback port, state in `state`, signed with the test key.
    fn serve(bin: &Path, state: &Path, extra: &[&str]) -> Emulator {
        let mut args = vec!["serve", "--listen", "127.0.0.1:0", "--state-dir"];
        args.push(state.to_str().expect("a UTF-8 path"));
        args.extend(["--secret-id", SECRET_ID, "--secret-key", SECRET_KEY]);
        args.extend(extra);
        Emulator::start(bin, &args)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

/// `CreateFunction` of `name` from the zip at `zip` (with `extra` parameters), then waits
/// until it is `Active`.
fn create_function(conn: &mut Conn, name: &str, zip: &Path, extra: Value) {
    let zip = base64::engine::general_purpose::STANDARD.encode(std::fs::read(zip).unwrap());
    let mut params = serde_json::json!({
        "FunctionName": name, "Runtime": "CustomRuntime", "Code": {"ZipFile": zip},
    });
    if let (Some(p), Value::Object(extra)) = (params.as_object_mut(), extra) {
        p.extend(extra);
    }
    let created = api(conn, "CreateFunction", &params);
    assert!(
        created.get("Error").is_none(),
        "CreateFunction {name}: {created}"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let name = serde_json::json!({ "FunctionName": name });
    while api(conn, "GetFunction", &name)["Status"] != "Active" {
        assert!(Instant::now() < deadline, "{name} did not become Active");
        thread::sleep(Duration::from_millis(50));
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        // SIGTERM: the emulator stops its instances and removes its directories.
        // SAFETY: kill has no memory preconditions; the pid is our unreaped child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let _ = self.child.wait();
    }
}

/// `VmRSS` and `VmHWM` of `pid`, in KB.
fn rss_kb(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Open descriptors of `pid`.
fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

/// Processes whose parent is `pid`.
fn children(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let rest = &s[s.rfind(')')? + 1..];
                    rest.split_whitespace().nth(1)?.parse::<u32>().ok()
                })
                == Some(pid)
        })
        .count()
}

/// One keep-alive HTTP/1.1 connection.
struct Conn {
    stream: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    fn open(addr: &str) -> Conn {
        Conn::try_open(addr).expect("connect")
    }

    fn try_open(addr: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true).ok();
        stream.set_read_timeout(Some(Duration::from_secs(60))).ok();
        Ok(Conn {
            stream: BufReader::new(stream),
            host: addr.to_owned(),
        })
    }

    /// Sends one request and reads its answer: (status, body). Panics on an I/O error.
    fn call(&mut self, path: &str, headers: &[(String, String)], body: &[u8]) -> (u16, Vec<u8>) {
        self.try_call(path, headers, body)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Sends one request and reads its answer: (status, body).
    fn try_call(
        &mut self,
        path: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> std::io::Result<(u16, Vec<u8>)> {
        let mut head = format!("POST {path} HTTP/1.1\r\nHost: {}\r\n", self.host);
        for (k, v) in headers {
            if !k.eq_ignore_ascii_case("host") {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let s = self.stream.get_mut();
        s.write_all(head.as_bytes())?;
        s.write_all(body)?;
        let mut status = 0;
        let mut length = 0;
        let mut line = String::new();
        loop {
            line.clear();
            if self.stream.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some(rest) = l.strip_prefix("HTTP/1.1 ") {
                status = rest.get(..3).and_then(|c| c.parse().ok()).unwrap_or(0);
            } else if let Some((k, v)) = l.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut out = vec![0; length];
        self.stream.read_exact(&mut out)?;
        Ok((status, out))
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A signed TencentCloud API call on `conn`; the `Response` object.
fn api(conn: &mut Conn, action: &str, params: &Value) -> Value {
    try_api(conn, action, params).unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// [`api`], with an I/O error returned.
fn try_api(conn: &mut Conn, action: &str, params: &Value) -> std::io::Result<Value> {
    let body = params.to_string();
    let cred = Credential::new(SECRET_ID, SECRET_KEY);
    let headers = tc3::api_headers(
        &cred,
        "scf",
        &conn.host,
        action,
        "2018-04-16",
        Some("ap-guangzhou"),
        now(),
        body.as_bytes(),
    );
    let (status, answer) = conn.try_call("/", &headers, body.as_bytes())?;
    if status != 200 {
        return Err(std::io::Error::other(format!("HTTP {status}")));
    }
    let v: Value = serde_json::from_slice(&answer).map_err(std::io::Error::other)?;
    Ok(v["Response"].clone())
}

/// Samples the peak RSS of `pid` while alive.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Sampler {
    fn start(pid: u32) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let thread = thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kb(pid).0, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(10));
            }
        });
        Sampler {
            stop,
            peak,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

/// One row of the table.
struct Row {
    what: String,
    ok: u64,
    total: u64,
    secs: f64,
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    fds_before: usize,
    fds_after: usize,
}

impl Row {
    fn print(&self) {
        println!(
            "| {} | {}/{} | {:.0}/s | {} | {} | {} | {} → {} |",
            self.what,
            self.ok,
            self.total,
            self.total as f64 / self.secs,
            self.rss_before,
            self.rss_peak,
            self.rss_after,
            self.fds_before,
            self.fds_after
        );
    }
}

/// Runs `threads` × `each` calls of `one` (given the thread's connection and a counter) and
/// measures the emulator meanwhile.
fn measure<C>(
    what: &str,
    pid: u32,
    threads: usize,
    each: u64,
    open: impl Fn() -> C + Sync,
    one: impl Fn(&mut C, u64) -> bool + Sync,
) -> Row {
    let (rss_before, _) = rss_kb(pid);
    let fds_before = fds(pid);
    let sampler = Sampler::start(pid);
    let ok = AtomicU64::new(0);
    let started = Instant::now();
    thread::scope(|s| {
        for t in 0..threads {
            let (ok, open, one) = (&ok, &open, &one);
            s.spawn(move || {
                let mut conn = open();
                for i in 0..each {
                    if one(&mut conn, t as u64 * each + i) {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    let rss_peak = sampler.finish();
    Row {
        what: what.to_owned(),
        ok: ok.load(Ordering::Relaxed),
        total: threads as u64 * each,
        secs,
        rss_before,
        rss_peak,
        rss_after: rss_kb(pid).0,
        fds_before,
        fds_after: fds(pid),
    }
}

fn echoed(ret_msg: &str, event: &str) -> bool {
    ret_msg == format!("Echoing request: '{event}'")
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let bin = std::env::var_os("SCF_LOCAL")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/release/scf-local"));
    let echo = std::env::var_os("ECHO_BOOTSTRAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target/x86_64-unknown-linux-musl/bootstrap/examples/echo"));
    for (path, how) in [
        (&bin, "cargo build --release -p scf-local"),
        (&echo, "cargo bootstrap --example echo"),
    ] {
        if !path.exists() {
            eprintln!("stress: {} is missing: run `{how}`", path.display());
            std::process::exit(2);
        }
    }
    let work = tempfile::tempdir().expect("temporary directory");
    let code = work.path().join("code");
    std::fs::create_dir(&code).unwrap();
    std::fs::copy(&echo, code.join("bootstrap")).unwrap();
    let zip = work.path().join("echo.zip");
    scf_local::package::pack(&echo, &[], &zip).expect("pack");
    let (seq, conc) = if quick { (200, 50) } else { (5000, 1000) };

    println!("| workload | answered right | rate | RSS before (KB) | RSS peak (KB) | RSS after (KB) | descriptors |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let mut lost = 0;

    // `run`: POST /invoke, the `Result` JSON.
    {
        let code = code.to_str().unwrap();
        let run = Emulator::start(&bin, &["run", code, "--port", "0", "--max-instances", "8"]);
        let invoke = |conn: &mut Conn, i: u64| {
            let event = format!("{{\"n\":{i}}}");
            let (status, body) = conn.call("/invoke", &[], event.as_bytes());
            let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            status == 200 && echoed(v["Result"]["RetMsg"].as_str().unwrap_or(""), &event)
        };
        let open = || Conn::open(&run.addr);
        for row in [
            measure("`run`, sequential", run.pid(), 1, seq, open, invoke),
            measure("`run`, 8 at once", run.pid(), 8, conc, open, invoke),
        ] {
            lost += row.total - row.ok;
            row.print();
        }
        println!(
            "| `run`: instances warm after | {} | | | | | |",
            children(run.pid())
        );
    }

    // `serve`: CreateFunction, then Invoke (RequestResponse), signed.
    {
        let serve = Emulator::serve(&bin, &work.path().join("state"), &[]);
        let mut conn = Conn::open(&serve.addr);
        create_function(
            &mut conn,
            "echo",
            &zip,
            serde_json::json!({"Handler": "index.main"}),
        );
        let invoke = |conn: &mut Conn, i: u64| {
            let event = format!("{{\"n\":{i}}}");
            let r = api(
                conn,
                "Invoke",
                &serde_json::json!({"FunctionName": "echo", "ClientContext": event}),
            );
            r["Result"]["InvokeResult"] == 0
                && echoed(r["Result"]["RetMsg"].as_str().unwrap_or(""), &event)
        };
        let open = || Conn::open(&serve.addr);
        let (seq, conc) = (seq / 5, conc / 5);
        for row in [
            measure("`serve`, sequential", serve.pid(), 1, seq, open, invoke),
            measure("`serve`, 8 at once", serve.pid(), 8, conc, open, invoke),
        ] {
            lost += row.total - row.ok;
            row.print();
        }
        // Logs are written after the answer: wait (a bounded time) until every one is there.
        let invoked = seq + 8 * conc;
        let deadline = Instant::now() + Duration::from_secs(10);
        let logged = loop {
            let logs = api(
                &mut conn,
                "GetFunctionLogs",
                &serde_json::json!({"FunctionName": "echo", "Limit": 1}),
            );
            let count = logs["TotalCount"].as_u64().unwrap_or(0);
            if count >= invoked || Instant::now() >= deadline {
                break count;
            }
            thread::sleep(Duration::from_millis(100));
        };
        lost += invoked.saturating_sub(logged);
        println!("| `serve`: invocations in GetFunctionLogs | {logged}/{invoked} | | | | | |");
    }
    let failed = attacks(&bin, work.path(), &zip);
    if lost > 0 || failed > 0 {
        eprintln!("stress: {lost} answers lost or wrong, {failed} attacks not held");
        std::process::exit(1);
    }
}

/// One row of the attack table: what was tried, what happened, whether the emulator held.
struct Held {
    what: &'static str,
    outcome: String,
    rss_before: u64,
    rss_peak: u64,
    fds_peak: usize,
    held: bool,
}

impl Held {
    fn print(&self) {
        println!(
            "| {} | {} | {} → {} | {} | {} |",
            self.what,
            self.outcome,
            self.rss_before,
            self.rss_peak,
            self.fds_peak,
            if self.held { "yes" } else { "**no**" }
        );
    }
}

/// Runs `attack` against the process `pid`, sampling its RSS and descriptors meanwhile.
fn under_attack(what: &'static str, pid: u32, attack: impl FnOnce() -> (String, bool)) -> Held {
    let rss_before = rss_kb(pid).0;
    let stop = Arc::new(AtomicBool::new(false));
    let fds_peak = Arc::new(AtomicU64::new(0));
    let sampler = Sampler::start(pid);
    let watcher = {
        let (stop, fds_peak) = (stop.clone(), fds_peak.clone());
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                fds_peak.fetch_max(fds(pid) as u64, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(10));
            }
        })
    };
    let (outcome, held) = attack();
    stop.store(true, Ordering::Relaxed);
    let _ = watcher.join();
    Held {
        what,
        outcome,
        rss_before,
        rss_peak: sampler.finish(),
        fds_peak: fds_peak.load(Ordering::Relaxed) as usize,
        held,
    }
}

/// Sends `bytes` on a new connection and reads until the server closes it or `wait` passes;
/// the answer's first line, or what happened.
fn raw(addr: &str, bytes: &[u8], wait: Duration) -> String {
    let Ok(mut s) = TcpStream::connect(addr) else {
        return "refused".to_owned();
    };
    s.set_read_timeout(Some(wait)).ok();
    if s.write_all(bytes).is_err() {
        return "closed while sending".to_owned();
    }
    let mut answer = Vec::new();
    match s.read_to_end(&mut answer) {
        Ok(_) if answer.is_empty() => "closed without an answer".to_owned(),
        Ok(_) => String::from_utf8_lossy(&answer).into_owned(),
        Err(e) if answer.is_empty() => format!("no answer ({})", e.kind()),
        Err(_) => String::from_utf8_lossy(&answer).into_owned(),
    }
}

/// 40 unsigned `ListFunctions` calls with `body` on 40 connections at once; the error code
/// of each answer (`none` for a success).
fn unsigned_bodies(addr: &str, body: &[u8]) -> Vec<String> {
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         X-TC-Action: ListFunctions\r\nX-TC-Version: 2018-04-16\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let request = [head.as_bytes(), body].concat();
    thread::scope(|s| {
        let calls: Vec<_> = (0..40)
            .map(|_| s.spawn(|| code_in(&raw(addr, &request, Duration::from_secs(90)))))
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

/// The error code of a TencentCloud API answer held in `text` (headers and body).
fn code_in(text: &str) -> String {
    text.split("\"Code\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap_or("none")
        .to_owned()
}

/// A code directory holding one bash `bootstrap`.
fn bash_function(dir: &Path, script: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("bootstrap");
    std::fs::write(&path, format!("#!/bin/bash\n{script}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    dir.to_owned()
}

/// The attack classes scf-local is built to hold, against release builds; prints one table and returns how
/// many were not held.
fn attacks(bin: &Path, work: &Path, echo_zip: &Path) -> usize {
    println!();
    println!("| attack | outcome | RSS before → peak (KB) | descriptors at most | held |");
    println!("|---|---|---:|---:|:---:|");
    let mut rows = Vec::new();
    let serve = Emulator::serve(bin, &work.join("attack-state"), &["--head-timeout", "2"]);
    let addr = serve.addr.clone();
    // Whether a signed call on a new connection is answered.
    let alive = |addr: &str| {
        Conn::try_open(addr)
            .and_then(|mut c| try_api(&mut c, "ListFunctions", &serde_json::json!({})))
            .is_ok_and(|r| r["TotalCount"].is_number())
    };

    rows.push(under_attack("a query 5,000 levels deep (`a.a.a…=1`), signed", serve.pid(), || {
        let query = format!("{}=1", vec!["a"; 5000].join("."));
        let cred = Credential::new(SECRET_ID, SECRET_KEY);
        let signed = [("content-type", "application/x-www-form-urlencoded"), ("host", addr.as_str())];
        let request = tc3::Request { method: "GET", path: "/", query: &query, headers: &signed, payload: b"" };
        let ts = now();
        let auth = tc3::sign(&cred, "scf", ts, &request);
        let head = format!(
            "GET /?{query} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
             Authorization: {auth}\r\nX-TC-Action: ListFunctions\r\nX-TC-Version: 2018-04-16\r\n\
             X-TC-Timestamp: {ts}\r\nConnection: close\r\n\r\n"
        );
        let code = code_in(&raw(&addr, head.as_bytes(), Duration::from_secs(10)));
        let ok = alive(&addr);
        (format!("`{code}`; server {}", if ok { "alive" } else { "dead" }), ok && code == "InvalidParameter")
    }));

    rows.push(under_attack(
        "40 unsigned connections sending 10 MB each",
        serve.pid(),
        || {
            // 10 MB that is not even JSON: refused before it is read.
            let codes = unsigned_bodies(&addr, &vec![b'x'; 10 * 1024 * 1024]);
            let refused = codes
                .iter()
                .filter(|c| c.starts_with("AuthFailure"))
                .count();
            (
                format!("{refused}/40 answered `AuthFailure…` before the body"),
                refused == 40,
            )
        },
    ));

    rows.push(under_attack(
        "1,100 idle connections, then a signed call",
        serve.pid(),
        || {
            let idle: Vec<TcpStream> = (0..1100)
                .filter_map(|_| TcpStream::connect(&addr).ok())
                .collect();
            thread::sleep(Duration::from_millis(300));
            // Over the cap the server closes at once; within it, after the head timeout (2 s).
            let started = Instant::now();
            let ok = loop {
                let answered = alive(&addr);
                if answered || started.elapsed() > Duration::from_secs(20) {
                    break answered;
                }
                thread::sleep(Duration::from_millis(200));
            };
            let waited = started.elapsed();
            drop(idle);
            (
                format!("signed call answered after {:.1} s", waited.as_secs_f64()),
                ok,
            )
        },
    ));

    rows.push(under_attack("a zip whose `bootstrap` is reached through `l -> .` links leading out", serve.pid(), || {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        zip.add_symlink("l", ".", options).unwrap();
        zip.add_symlink("bootstrap", "l/l/l/../../../../../../../../bin/true", options).unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let zip = base64::engine::general_purpose::STANDARD.encode(bytes);
        let mut conn = Conn::open(&addr);
        let r = api(
            &mut conn,
            "CreateFunction",
            &serde_json::json!({"FunctionName": "links", "Runtime": "CustomRuntime", "Code": {"ZipFile": zip}}),
        );
        // Code is unpacked when the function first runs, as the platform reports a broken
        // package: by the invocation's result.
        let r = match r["Error"]["Code"].as_str() {
            Some(code) => return (format!("CreateFunction: `{code}`"), true),
            None => api(&mut conn, "Invoke", &serde_json::json!({"FunctionName": "links"})),
        };
        let code = r["Result"]["InvokeResult"].as_i64().unwrap_or(0);
        let message = r["Result"]["ErrMsg"].as_str().unwrap_or("");
        let message: String = message.chars().take(70).collect();
        (format!("Invoke: `InvokeResult` {code}, \"{message}…\""), code != 0)
    }));

    rows.push(under_attack("40 invocations answering 6 MB each, then `GetFunctionLogs` `Limit` 100", serve.pid(), || {
        let dir = bash_function(
            &work.join("big"),
            r#"API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime"
curl -s -X POST -d ' ' "$API/init/ready" >/dev/null
while true; do
  curl -s "$API/invocation/next" >/dev/null
  head -c 6000000 /dev/zero | tr '\0' a | curl -s -X POST --data-binary @- "$API/invocation/response" >/dev/null
done
"#,
        );
        let zip_path = work.join("big.zip");
        scf_local::package::pack(&dir.join("bootstrap"), &[], &zip_path).unwrap();
        let mut conn = Conn::open(&addr);
        create_function(&mut conn, "big", &zip_path, serde_json::json!({"Timeout": 30}));
        let mut answered = 0;
        for _ in 0..40 {
            let r = api(&mut conn, "Invoke", &serde_json::json!({"FunctionName": "big"}));
            answered += usize::from(r["Result"]["RetMsg"].as_str().is_some_and(|m| m.len() == 6_000_000));
        }
        thread::sleep(Duration::from_millis(500));
        let body = serde_json::json!({"FunctionName": "big", "Limit": 100}).to_string();
        let headers = tc3::api_headers(
            &Credential::new(SECRET_ID, SECRET_KEY), "scf", &addr, "GetFunctionLogs",
            "2018-04-16", None, now(), body.as_bytes(),
        );
        let (_, logs) = conn.call("/", &headers, body.as_bytes());
        let rows = serde_json::from_slice::<Value>(&logs).ok().and_then(|v| v["Response"]["Data"].as_array().map(Vec::len)).unwrap_or(0);
        (
            format!("{answered}/40 answered in full; logs: {rows} rows in {} KB", logs.len() / 1024),
            answered == 40 && rows == 40 && logs.len() < 8 * 1024 * 1024,
        )
    }));
    drop(serve);

    let state = work.join("no-auth-state");
    let open = Emulator::start(
        bin,
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--state-dir",
            state.to_str().unwrap(),
            "--no-auth",
        ],
    );
    let addr = open.addr.clone();
    rows.push(under_attack(
        "40 connections sending 10 MB each, `--no-auth`",
        open.pid(),
        || {
            // `{}` and spaces up to just under the 10 MB limit: a valid call.
            let mut body = b"{}".to_vec();
            body.resize(10 * 1024 * 1024 - 64, b' ');
            let codes = unsigned_bodies(&addr, &body);
            let listed = codes.iter().filter(|c| *c == "none").count();
            let limited = codes
                .iter()
                .filter(|c| *c == "RequestLimitExceeded")
                .count();
            (
                format!("{listed} answered, {limited} `RequestLimitExceeded`"),
                listed + limited == 40,
            )
        },
    ));
    drop(open);
    rows.extend(instance_attacks(bin, work, echo_zip));
    for row in &rows {
        row.print();
    }
    let failed = rows.iter().filter(|r| !r.held).count();
    failed
}

/// Processes whose command line is exactly `words` (NUL-separated in `/proc/<pid>/cmdline`).
fn processes_running(words: &[&str]) -> usize {
    let wanted: Vec<u8> = words.iter().flat_map(|w| w.bytes().chain([0])).collect();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter(|e| std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c == wanted))
        .count()
}

/// Waits up to `limit` for `done`.
fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(50));
    }
    true
}

/// The bash lines every test bootstrap starts with: the API's address and ready.
const READY: &str = r#"API="http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime"
curl -s -X POST -d ' ' "$API/init/ready" >/dev/null
"#;

/// The attack classes on an instance: escaping processes, foreign clients of the runtime API,
/// a function flooding its own API.
fn instance_attacks(bin: &Path, work: &Path, echo_zip: &Path) -> Vec<Held> {
    let mut rows = Vec::new();
    // Processes that leave the process group: a new session, and a double fork.
    let escape = format!(
        r#"setsid sleep 3017 </dev/null >/dev/null 2>&1 &
( sleep 3018 </dev/null >/dev/null 2>&1 & )
{READY}while true; do
  curl -s "$API/invocation/next" >/dev/null
  sleep 100
done
"#
    );
    let dir = bash_function(&work.join("escape"), &escape);
    let invoker = Command::new(bin)
        .args([
            "invoke",
            dir.to_str().unwrap(),
            "--timeout",
            "1",
            "--event",
            "{}",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("scf-local invoke");
    let pid = invoker.id();
    rows.push(under_attack(
        "`setsid` and double-forked children, then a timeout (`invoke`)",
        pid,
        || {
            let mut invoker = invoker;
            let seen = wait_for(Duration::from_secs(10), || {
                processes_running(&["sleep", "3017"]) + processes_running(&["sleep", "3018"]) == 2
            });
            let _ = invoker.wait();
            let left =
                processes_running(&["sleep", "3017"]) + processes_running(&["sleep", "3018"]);
            (
                format!(
                    "{} escaped children seen; {left} left once `invoke` returned",
                    if seen { 2 } else { 0 }
                ),
                seen && left == 0,
            )
        },
    ));

    // kill -9 of scf-local with such children alive.
    let escape = format!(
        r#"setsid sleep 3019 </dev/null >/dev/null 2>&1 &
( sleep 3020 </dev/null >/dev/null 2>&1 & )
{READY}while true; do
  EVENT=$(curl -s "$API/invocation/next")
  curl -s -X POST -d "$EVENT" "$API/invocation/response" >/dev/null
done
"#
    );
    let dir = bash_function(&work.join("killed"), &escape);
    let run = Emulator::start(bin, &["run", dir.to_str().unwrap(), "--port", "0"]);
    let pid = run.pid();
    rows.push(under_attack(
        "`kill -9` of `scf-local run` while those children live",
        pid,
        || {
            let mut run = run;
            let answered = Conn::try_open(&run.addr)
                .and_then(|mut c| c.try_call("/invoke", &[], b"{}"))
                .is_ok_and(|(status, _)| status == 200);
            let seen = wait_for(Duration::from_secs(10), || {
                processes_running(&["sleep", "3019"]) + processes_running(&["sleep", "3020"]) == 2
            });
            let _ = run.child.kill();
            let _ = run.child.wait();
            let gone = wait_for(Duration::from_secs(5), || {
                processes_running(&["sleep", "3019"]) + processes_running(&["sleep", "3020"]) == 0
            });
            let left =
                processes_running(&["sleep", "3019"]) + processes_running(&["sleep", "3020"]);
            (
                format!(
                    "{} children seen; {left} left after the kill",
                    if seen { 2 } else { 0 }
                ),
                answered && seen && gone,
            )
        },
    ));

    // A process outside the instance asks its runtime API for the event.
    let port_file = work.join("port");
    let spy = format!(
        r#"echo "$SCF_RUNTIME_API_PORT" > {port}
{READY}while true; do
  EVENT=$(curl -s "$API/invocation/next")
  curl -s -X POST -d "$EVENT" "$API/invocation/response" >/dev/null
done
"#,
        port = port_file.display()
    );
    let dir = bash_function(&work.join("spied"), &spy);
    let run = Emulator::start(bin, &["run", dir.to_str().unwrap(), "--port", "0"]);
    rows.push(under_attack(
        "a process outside the instance: `GET /runtime/invocation/next` on its port",
        run.pid(),
        || {
            let mut conn = Conn::open(&run.addr);
            let first = conn
                .try_call("/invoke", &[], b"{\"n\":1}")
                .is_ok_and(|(s, _)| s == 200);
            let port = std::fs::read_to_string(&port_file).unwrap_or_default();
            let answer = raw(
                &format!("127.0.0.1:{}", port.trim()),
                b"GET /runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
                Duration::from_secs(3),
            );
            let second = conn
                .try_call("/invoke", &[], b"{\"n\":2}")
                .is_ok_and(|(s, body)| {
                    s == 200
                        && serde_json::from_slice::<Value>(&body)
                            .is_ok_and(|v| v["Result"]["RetMsg"] == r#"{"n":2}"#)
                });
            // Closed unanswered (a reset when the request was still unread); without the
            // check the outsider waits for the next event, and the read times out.
            let refused = answer == "closed without an answer"
                || answer.contains(&std::io::ErrorKind::ConnectionReset.to_string());
            (
                format!(
                    "the outsider: {}; the next invocation {}",
                    answer.lines().next().unwrap_or(""),
                    if second { "answered" } else { "lost" }
                ),
                first && refused && second,
            )
        },
    ));
    drop(run);

    // A function holding 1,000 connections to its own runtime API, beside another function.
    let flood = r#"for i in $(seq 1000); do exec {fd}<>"/dev/tcp/$SCF_RUNTIME_API/$SCF_RUNTIME_API_PORT" || true; done
sleep 300
"#;
    let flood_dir = bash_function(&work.join("flood"), flood);
    let flood_zip = work.join("flood.zip");
    scf_local::package::pack(&flood_dir.join("bootstrap"), &[], &flood_zip).unwrap();
    let serve = Emulator::serve(bin, &work.join("flood-state"), &[]);
    let addr = serve.addr.clone();
    rows.push(under_attack(
        "a function holding 1,000 connections to its own runtime API, beside another",
        serve.pid(),
        || {
            let mut conn = Conn::open(&addr);
            for (name, zip) in [("flood", flood_zip.as_path()), ("echo", echo_zip)] {
                create_function(
                    &mut conn,
                    name,
                    zip,
                    serde_json::json!({"Timeout": 3, "InitTimeout": 5}),
                );
            }
            // The flood runs in the background (asynchronous invocation) while echo is called.
            let _ = api(
                &mut conn,
                "Invoke",
                &serde_json::json!({"FunctionName": "flood", "InvocationType": "Event"}),
            );
            thread::sleep(Duration::from_secs(2));
            let mut answered = 0;
            for i in 0..20 {
                let event = format!("{{\"n\":{i}}}");
                let r = api(
                    &mut conn,
                    "Invoke",
                    &serde_json::json!({"FunctionName": "echo", "ClientContext": event}),
                );
                answered +=
                    usize::from(echoed(r["Result"]["RetMsg"].as_str().unwrap_or(""), &event));
            }
            (
                format!("the other function: {answered}/20 answered"),
                answered == 20,
            )
        },
    ));
    rows
}
