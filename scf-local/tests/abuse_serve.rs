//! `scf-local serve` under attack, one test per class: a parameter tree too deep, bodies sent
//! to exhaust memory, idle and slow connections, `--no-auth` reached from the network or
//! through DNS rebinding, state files readable by others, a panicking action, logs that
//! grow without bound, and the same limits and checks over `--tls` (slow handshakes, plain
//! HTTP to the TLS port). Each is bounded in count and time, on loopback only; memory is read
//! from the server's `/proc/PID/status` (`VmRSS` before, `VmHWM`, the peak, after).

mod common;
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::fs::PermissionsExt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tokio_rustls::rustls;

use common::*;
use serve_support::*;

/// The platform's request limit, the size of each attacking body.
const TEN_MB: usize = 10 * 1024 * 1024;

/// How many connections send a body at once: 40 × 10 MB raised RSS by 400 MB before.
const ATTACKERS: usize = 40;

fn assert_error(r: &Value, code: &str) {
    assert_eq!(error_code(r), Some(code), "{r}");
}

/// The headers of an unsigned call.
fn unsigned(action: &str, content_type: &str) -> Vec<(String, String)> {
    vec![
        ("Content-Type".to_owned(), content_type.to_owned()),
        ("X-TC-Action".to_owned(), action.to_owned()),
        ("X-TC-Version".to_owned(), "2018-04-16".to_owned()),
    ]
}

/// Creates the function `name` whose `bootstrap` is `script`.
fn create(serve: &Serve, name: &str, script: &str) {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().unix_permissions(0o755);
    zip.start_file("bootstrap", options).unwrap();
    zip.write_all(script.as_bytes()).unwrap();
    let zip = zip.finish().unwrap().into_inner();
    let code = base64::engine::general_purpose::STANDARD.encode(zip);
    let r = serve.call(
        "CreateFunction",
        &json!({"FunctionName": name, "Code": {"ZipFile": code}, "Runtime": "CustomRuntime",
                "Timeout": 10, "InitTimeout": 10}),
    );
    assert_eq!(error_code(&r), None, "{r}");
}

/// Sends `body` from `ATTACKERS` connections at once; returns each one's `Response`.
fn attack(addr: &str, headers: &[(String, String)], body: Vec<u8>) -> Vec<Value> {
    let body = Arc::new(body);
    let threads: Vec<_> = (0..ATTACKERS)
        .map(|_| {
            let (addr, headers, body) = (addr.to_owned(), headers.to_vec(), body.clone());
            std::thread::spawn(move || {
                response(exchange(&addr, "POST", "/", &headers, &body).expect("an attacker"))
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// How much the server's peak RSS grew past its RSS at `before_kb`, in MB.
fn growth_mb(serve: &Serve, before_kb: u64) -> u64 {
    serve.status_kb("VmHWM").saturating_sub(before_kb) / 1024
}

#[test]
fn a_deep_parameter_tree_is_refused_and_the_server_lives() {
    let scratch = Scratch::new();
    let mut serve = Serve::start(&scratch.path().join("state"), &["--no-auth"]);
    let form = "application/x-www-form-urlencoded";
    // 15,000 levels fit in a GET query (30 KB); this overflowed the stack before.
    let deep = format!("{}=1", vec!["a"; 15_000].join("."));
    let r = response(
        exchange(
            &serve.addr,
            "GET",
            &format!("/?{deep}"),
            &unsigned("ListFunctions", form),
            b"",
        )
        .unwrap(),
    );
    assert_error(&r, "InvalidParameter");
    // A million levels in a form body, thousands of parameters, a huge index, a long name.
    let bodies = [
        format!("{}=1", vec!["a"; 1_000_000].join(".")),
        (0..5000).map(|i| format!("P{i}=1&")).collect::<String>(),
        format!("{}=1", "k".repeat(100_000)),
    ];
    for body in &bodies {
        let r = response(
            exchange(
                &serve.addr,
                "POST",
                "/",
                &unsigned("ListFunctions", form),
                body.as_bytes(),
            )
            .unwrap(),
        );
        assert_error(&r, "InvalidParameter");
    }
    // An index is no length, and JSON nests 128 levels at most.
    let r = response(
        exchange(
            &serve.addr,
            "POST",
            "/",
            &unsigned("ListFunctions", form),
            b"Filters.99999999999.Name=x",
        )
        .unwrap(),
    );
    assert_eq!(error_code(&r), None, "{r}");
    let json = format!("{{\"a\":{}{}}}", "[".repeat(500_000), "]".repeat(500_000));
    let r = response(
        exchange(
            &serve.addr,
            "POST",
            "/",
            &unsigned("ListFunctions", "application/json"),
            json.as_bytes(),
        )
        .unwrap(),
    );
    assert_error(&r, "InvalidParameter.Payload");
    assert!(serve.running(), "the server died");
    let r = response(
        exchange(
            &serve.addr,
            "POST",
            "/",
            &unsigned("ListFunctions", "application/json"),
            b"{}",
        )
        .unwrap(),
    );
    assert_eq!(r["TotalCount"], 0, "{r}");
}

#[test]
fn unsigned_bodies_are_refused_before_they_are_read() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &[]);
    let before = serve.status_kb("VmRSS");
    let headers = unsigned("ListFunctions", "application/json");
    for r in attack(&serve.addr, &headers, vec![b' '; TEN_MB]) {
        assert_error(&r, "AuthFailure.SignatureFailure");
    }
    // Over the limit: refused by its Content-Length alone.
    let signed = signed_headers(&serve.addr, "ListFunctions", b"", now());
    let r = response(exchange(&serve.addr, "POST", "/", &signed, &vec![b' '; TEN_MB + 1]).unwrap());
    assert_error(&r, "RequestSizeLimitExceeded");
    let grown = growth_mb(&serve, before);
    eprintln!("{ATTACKERS} unsigned connections × 10 MB: peak RSS +{grown} MB");
    assert!(grown < 32, "peak RSS grew by {grown} MB");
}

#[test]
fn bodies_in_flight_are_capped_without_a_signature_check() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &["--no-auth"]);
    let before = serve.status_kb("VmRSS");
    let mut body = vec![b' '; TEN_MB];
    body[0] = b'{';
    body[TEN_MB - 1] = b'}';
    let headers = unsigned("ListFunctions", "application/json");
    let mut answered = 0;
    for r in attack(&serve.addr, &headers, body) {
        match error_code(&r) {
            None => answered += 1,
            Some(code) => assert_eq!(code, "RequestLimitExceeded", "{r}"),
        }
    }
    let grown = growth_mb(&serve, before);
    eprintln!(
        "{ATTACKERS} --no-auth connections × 10 MB: {answered} answered, peak RSS +{grown} MB"
    );
    assert!(answered > 0);
    // The default room is 32 MB of bodies; the rest is the allocator's slack.
    assert!(grown < 96, "peak RSS grew by {grown} MB");
}

#[test]
fn a_body_without_room_waits_then_is_refused() {
    let scratch = Scratch::new();
    let serve = Serve::start(
        &scratch.path().join("state"),
        &[
            "--max-request-size",
            "100000",
            "--max-bodies-in-flight",
            "100000",
            "--body-timeout",
            "1",
        ],
    );
    // An Invoke holds its body's room until it is answered: once the test releases it (or,
    // should the test fail first, after a bound).
    let (taken, release) = (scratch.path().join("taken"), scratch.path().join("release"));
    create(
        &serve,
        "slow",
        &format!(
            "#!/bin/bash\n\
             api=\"http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime\"\n\
             curl -s -d ' ' -X POST \"$api/init/ready\" >/dev/null\n\
             while true; do\n\
             \x20 curl -sS \"$api/invocation/next\" >/dev/null\n\
             \x20 touch '{}'\n\
             \x20 for _ in $(seq 1 160); do [ -e '{}' ] && break; sleep 0.05; done\n\
             \x20 curl -s -X POST \"$api/invocation/response\" -d done >/dev/null\n\
             done\n",
            taken.display(),
            release.display()
        ),
    );
    let (addr, event) = (serve.addr.clone(), json!({"Padding": "x".repeat(90_000)}));
    let slow = std::thread::spawn(move || {
        let body = json!({"FunctionName": "slow", "ClientContext": event.to_string()}).to_string();
        call(&addr, "Invoke", body.as_bytes())
    });
    // The bootstrap has the event: the Invoke's body was read and holds its room.
    let until = Instant::now() + Duration::from_secs(60);
    while !taken.exists() {
        assert!(
            Instant::now() < until,
            "the Invoke never reached its bootstrap"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let body = format!("{{\"Padding\": \"{}\"}}", "x".repeat(20_000));
    let r = response(
        exchange(
            &serve.addr,
            "POST",
            "/",
            &signed_headers(&serve.addr, "ListFunctions", body.as_bytes(), now()),
            body.as_bytes(),
        )
        .unwrap(),
    );
    assert_error(&r, "RequestLimitExceeded");
    std::fs::write(&release, b"").unwrap();
    let r = slow.join().unwrap();
    assert_eq!(r["Result"]["RetMsg"], "done", "{r}");
    // The room came back.
    assert_eq!(serve.call("ListFunctions", &json!({}))["TotalCount"], 1);
}

#[test]
fn idle_and_slow_connections_are_closed() {
    let scratch = Scratch::new();
    let serve = Serve::start(
        &scratch.path().join("state"),
        &[
            "--max-connections",
            "16",
            "--head-timeout",
            "1",
            "--body-timeout",
            "1",
        ],
    );
    let base = serve.open_fds();
    // 100 connections, half of them with half a head: 16 held, the rest closed at once. The
    // server's descriptors are counted all along, from before the first connection until
    // the server has closed the last one: never more than the 16 held (and a margin).
    let sampling = std::sync::atomic::AtomicBool::new(true);
    let most = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let mut most = serve.open_fds();
            while sampling.load(std::sync::atomic::Ordering::Acquire) {
                most = most.max(serve.open_fds());
                std::thread::sleep(Duration::from_millis(2));
            }
            most.max(serve.open_fds())
        });
        // Sampling stops once the connections are closed, or when an assertion fails.
        struct Stop<'a>(&'a std::sync::atomic::AtomicBool);
        impl Drop for Stop<'_> {
            fn drop(&mut self) {
                self.0.store(false, std::sync::atomic::Ordering::Release);
            }
        }
        let stop = Stop(&sampling);
        let mut held = Vec::new();
        for i in 0..100 {
            let mut s = TcpStream::connect(&serve.addr).unwrap();
            if i % 2 == 0 {
                s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n").unwrap();
            }
            held.push(s);
        }
        // Every one of them is closed by the server, within the head timeout and a margin.
        let started = Instant::now();
        for mut s in held {
            s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
            // Until the server closes it (whatever it wrote before).
            match s.read_to_end(&mut Vec::new()) {
                Ok(_) => {}
                Err(e) => assert!(
                    e.kind() == std::io::ErrorKind::ConnectionReset,
                    "a connection stayed open: {e}"
                ),
            }
        }
        assert!(started.elapsed() < Duration::from_secs(15));
        drop(stop);
        sampler.join().unwrap()
    });
    assert!(
        most <= base + 16 + 4,
        "{most} descriptors at most, {base} before"
    );
    // A body that stops halfway is answered once the body timeout has passed.
    let body = br#"{"FunctionName": "x"}"#;
    let mut s = TcpStream::connect(&serve.addr).unwrap();
    let mut head = String::from("POST / HTTP/1.1\r\n");
    for (k, v) in signed_headers(&serve.addr, "GetFunction", body, now()) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes()).unwrap();
    s.write_all(&body[..5]).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut answer = vec![0u8; 4096];
    let n = s.read(&mut answer).expect("no answer to a stalled body");
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.contains("InvalidParameter"), "{answer}");
    // And the server still serves.
    assert_error(
        &serve.call("GetFunction", &json!({"FunctionName": "x"})),
        "ResourceNotFound.Function",
    );
}

#[test]
fn no_auth_stays_on_loopback_and_checks_the_host() {
    let scratch = Scratch::new();
    let mut cmd = scratch.cmd();
    cmd.args(["serve", "--no-auth", "--listen", "0.0.0.0:0", "--state-dir"])
        .arg(scratch.path().join("refused"));
    let out = run_bounded(cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("--no-auth-on-network-unsafe"), "{stderr}");

    let serve = Serve::start(&scratch.path().join("state"), &["--no-auth"]);
    let port = serve.addr.rsplit(':').next().unwrap();
    let call = |host: &str| {
        let mut headers = unsigned("ListFunctions", "application/json");
        headers.push(("Host".to_owned(), host.to_owned()));
        response(exchange(&serve.addr, "POST", "/", &headers, b"{}").unwrap())
    };
    // What a page served from evil.example sends once its name points at 127.0.0.1.
    assert_error(
        &call(&format!("evil.example:{port}")),
        "AuthFailure.UnauthorizedOperation",
    );
    assert_error(&call("localhost:1"), "AuthFailure.UnauthorizedOperation");
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        assert_eq!(call(&host)["TotalCount"], 0);
    }
}

#[test]
fn state_files_are_private_under_a_permissive_umask() {
    use std::os::unix::process::CommandExt;
    let scratch = Scratch::new();
    let state = scratch.path().join("state");
    let serve = Serve::start_with(&state, &[], |cmd| {
        // SAFETY: umask is async-signal-safe and touches nothing but the child's mask.
        unsafe {
            cmd.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
    });
    let r = serve.call("ListFunctions", &json!({}));
    assert_eq!(r["TotalCount"], 0, "{r}");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&state), 0o700);
    let mut files = 0;
    for entry in std::fs::read_dir(&state).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        files += 1;
    }
    // The database and its -wal and -shm.
    assert!(files >= 3, "{files} files");
}

#[test]
fn a_panicking_action_is_answered_internal_error() {
    use scf_local::serve::{ServeOptions, Server};
    let scratch = Scratch::new();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut options = ServeOptions::new(scratch.path().join("state"));
    options.no_auth = true;
    options.panic_on_action = Some("ListFunctions".to_owned());
    let server = Server::open(options).unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = rt.spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let call = |action: &str, body: &[u8]| {
        let headers = unsigned(action, "application/json");
        response(exchange(&addr, "POST", "/", &headers, body).unwrap())
    };
    for _ in 0..3 {
        assert_error(&call("ListFunctions", b"{}"), "InternalError");
        assert_error(
            &call("GetFunction", br#"{"FunctionName": "x"}"#),
            "ResourceNotFound.Function",
        );
    }
    stop.send(()).unwrap();
    rt.block_on(serving).unwrap();
}

#[test]
fn function_logs_are_bounded() {
    let scratch = Scratch::new();
    let serve = Serve::start(&scratch.path().join("state"), &[]);
    // A function whose result is 100 KB.
    let script = "#!/bin/bash\n\
         api=\"http://$SCF_RUNTIME_API:$SCF_RUNTIME_API_PORT/runtime\"\n\
         curl -s -d ' ' -X POST \"$api/init/ready\" >/dev/null\n\
         while true; do\n\
         \x20 curl -sS \"$api/invocation/next\" >/dev/null\n\
         \x20 head -c 100000 /dev/zero | tr '\\0' x \
              | curl -s -X POST \"$api/invocation/response\" --data-binary @- >/dev/null\n\
         done\n";
    create(&serve, "big", script);
    let r = serve.call("Invoke", &json!({"FunctionName": "big"}));
    assert_eq!(
        r["Result"]["RetMsg"].as_str().map(str::len),
        Some(100_000),
        "{r}"
    );
    // The log is written after the answer: wait for it, bounded.
    let logs = json!({"FunctionName": "big", "Limit": 10});
    let mut data = Value::Null;
    for _ in 0..100 {
        let r = serve.call("GetFunctionLogs", &logs);
        if r["TotalCount"] == 1 {
            data = r["Data"][0].clone();
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let ret_msg = data["RetMsg"].as_str().expect("the invocation's log");
    assert!(
        ret_msg.len() <= 4096 && ret_msg.starts_with("xxx"),
        "{}",
        ret_msg.len()
    );
    assert!(data["Log"].as_str().unwrap().len() <= 4096);
    // Offset + Limit: at most 10,000, and no wrap on huge values.
    for (offset, limit) in [(i64::MAX, i64::MAX), (0, 10_001), (9_999, 2), (-1, 1)] {
        let r = serve.call(
            "GetFunctionLogs",
            &json!({"FunctionName": "big", "Offset": offset, "Limit": limit}),
        );
        assert_error(&r, "InvalidParameterValue.Limit");
    }
    let r = serve.call(
        "GetFunctionLogs",
        &json!({"FunctionName": "big", "Offset": 0, "Limit": 10_000}),
    );
    assert_eq!(r["TotalCount"], 1, "{r}");
}

/// A TLS client trusting only `ca` (PEM), through rustls with ring as the server.
fn tls_client(ca: &std::path::Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{pem::PemObject as _, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

/// A TLS connection to `addr` (server name `127.0.0.1`); the handshake runs on first use.
fn tls_connect(
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

/// One exchange over TLS with `headers` and `body`.
fn tls_exchange(
    addr: &str,
    config: &Arc<rustls::ClientConfig>,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<Exchange> {
    exchange_over(
        &mut tls_connect(addr, config),
        addr,
        "POST",
        "/",
        headers,
        body,
    )
}

#[test]
fn over_tls_the_same_limits_and_checks_hold() {
    let scratch = Scratch::new();
    let mut serve = Serve::start(
        &scratch.path().join("state"),
        &["--tls", "--max-connections", "4", "--head-timeout", "5"],
    );
    assert_eq!(serve.scheme, "https");
    let config = tls_client(&serve.tls_cert());
    let body = br#"{"FunctionName": "x"}"#;

    // Signed calls work; the checks of plain HTTP hold: no signature, a wrong key, a body
    // over the limit announced by its Content-Length.
    let signed = signed_headers(&serve.addr, "GetFunction", body, now());
    let r = response(tls_exchange(&serve.addr, &config, &signed, body).unwrap());
    assert_error(&r, "ResourceNotFound.Function");
    let r = response(
        tls_exchange(
            &serve.addr,
            &config,
            &unsigned("GetFunction", "application/json"),
            body,
        )
        .unwrap(),
    );
    assert_error(&r, "AuthFailure.SignatureFailure");
    let mut wrong = signed.clone();
    for (k, v) in &mut wrong {
        if k == "Authorization" {
            *v = v.replace("Signature=", "Signature=0");
        }
    }
    let r = response(tls_exchange(&serve.addr, &config, &wrong, body).unwrap());
    assert_error(&r, "AuthFailure.SignatureFailure");
    let mut too_large = signed_headers(&serve.addr, "GetFunction", b"", now());
    too_large.push(("Content-Length".to_owned(), (TEN_MB + 1).to_string()));
    let mut tls = tls_connect(&serve.addr, &config);
    let mut head = "POST / HTTP/1.1\r\nHost: x\r\n".to_owned();
    for (k, v) in &too_large {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    tls.write_all(head.as_bytes()).unwrap();
    let mut answer = [0u8; 4096];
    let n = tls.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.contains("RequestSizeLimitExceeded"), "{answer}");

    // Plain HTTP to the TLS port: a plain 400 saying to use https, not a hang.
    let (status, _, text) = exchange(&serve.addr, "POST", "/", &signed, body).unwrap();
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("HTTPS only"), "{text}");

    // Handshakes that never end hold the connection slots: silent ones and one stopped in
    // the middle of its ClientHello (a record header announcing 512 bytes, then 3 of them).
    let mut held = Vec::new();
    for i in 0..4 {
        let mut s = TcpStream::connect(&serve.addr).unwrap();
        if i == 0 {
            s.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01])
                .unwrap();
        }
        held.push(s);
    }
    // A fifth connection, over the cap, is closed before its handshake.
    let mut refused = tls_connect(&serve.addr, &config);
    assert!(
        refused.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err()
            || refused.read(&mut [0u8; 64]).map_or(true, |n| n == 0),
        "a connection over the cap was served"
    );
    // The stalled handshakes are ended by the server, once the head timeout has passed.
    let started = Instant::now();
    for mut s in held {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        match s.read_to_end(&mut Vec::new()) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60));
    // Their slots are free again.
    let r = response(
        tls_exchange(
            &serve.addr,
            &config,
            &signed_headers(&serve.addr, "GetFunction", body, now()),
            body,
        )
        .unwrap(),
    );
    assert_error(&r, "ResourceNotFound.Function");
    assert!(serve.running());
}
