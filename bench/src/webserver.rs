//! `scf-bench webserver`: what the WebServer image shape costs beside the zip shape and the
//! floor. The same echo example, built with the `image` feature, started with
//! `SCF_BOOTSTRAP_MODE=webserver` and `SCF_BOOTSTRAP_PORT=0`, against our zip-shape echo and
//! the C floor under the in-harness runtime API; the three interleaved run by run (the order
//! rotates), and each figure's median written with its ratio to the zip shape of the same run.
//!
//! The WebServer figures (docs/protocol.md section 10):
//! - exec → listening: until the bootstrap's `scf-bootstrap: listening on 0.0.0.0:<port>`
//!   line arrives on its stderr (printed once the socket listens, after init); the zip shapes'
//!   column holds exec → ready call.
//! - exec → first response: until the answer to the first `POST /event-invoke` (with
//!   `X-Scf-Request-Id`) is read, connection included.
//! - warm CPU per invocation and invocations per second: a window of requests one after the
//!   other on one keep-alive connection; the bootstrap's CPU time read from `/proc` before and
//!   after, as for the zip shapes.
//! - peak RSS: `VmHWM` after the window.

use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use scf_testkit::http::{Conn, Start};
use scf_testkit::procfs::{self, Cpu};
use scf_testkit::runtime_api::{echo_reply, ApiServer};

use crate::contenders;
use crate::measure::{self, Config, Live, Running};
use crate::stats::{self, Summary, Unit};
use crate::Workspace;

const MUSL: &str = "x86_64-unknown-linux-musl";

/// The line the bootstrap prints on stderr once it listens (with `SCF_BOOTSTRAP_PORT=0`).
const LISTENING: &str = "scf-bootstrap: listening on 0.0.0.0:";

/// Options of `scf-bench webserver`.
#[derive(clap::Args)]
pub struct Args {
    /// A short run to check the harness works (CI): 2 runs, 50 ms windows, unless given.
    #[arg(long)]
    quick: bool,
    /// Samples per shape (default 10; 2 with --quick).
    #[arg(long, value_name = "N", value_parser = crate::at_least_one)]
    runs: Option<usize>,
    /// Length of each warm window (default 1000; 50 with --quick).
    #[arg(long = "window-ms", value_name = "MS", value_parser = crate::at_least_one)]
    window_ms: Option<usize>,
    /// Size of the event, in bytes (16 to 1048576; default 1024).
    #[arg(long, value_name = "BYTES", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(16..=1024 * 1024))]
    size: u32,
}

/// One sample of one shape.
struct Obs {
    /// exec → ready call (zip) or listening line (WebServer).
    ready: Duration,
    /// exec → first response read.
    first: Duration,
    /// Bootstrap CPU time per warm invocation.
    cpu: Duration,
    /// Warm invocations per second.
    rate: f64,
    /// Peak RSS after the warm window.
    rss: u64,
}

/// A shape measured here.
struct Shape {
    name: &'static str,
    /// The bootstrap binary's size in bytes.
    size: u64,
    how: How,
    samples: Vec<Obs>,
    failures: Vec<String>,
}

enum How {
    /// A zip-shape code directory, run against its own in-harness runtime API server.
    Zip(PathBuf, ApiServer),
    /// The WebServer-shape binary.
    Web(PathBuf),
}

/// Runs `scf-bench webserver`.
pub fn main(args: Args) -> Result<ExitCode, String> {
    let ws = Workspace::find()?;
    let runs = args.runs.unwrap_or(if args.quick { 2 } else { 10 });
    let window =
        Duration::from_millis(args.window_ms.unwrap_or(if args.quick { 50 } else { 1000 }) as u64);
    let event = crate::event(args.size as usize);
    let cfg = Config {
        timeout: Duration::from_secs(30),
        runs,
        cold_extra: 0,
        window,
        slices: 1,
        small: event.clone(),
        large: event.clone(),
        warmup_small: if args.quick { 5 } else { 50 },
        warmup_large: 0,
    };

    let mut shapes = Vec::new();
    for (id, name) in [
        ("floor", "floor (C, zip shape)"),
        ("ours", "ours, zip shape"),
    ] {
        let built = contenders::build_one(&ws, id)?;
        let dialect = contenders::ALL
            .iter()
            .find(|c| c.0 == id)
            .map(|c| c.2)
            .unwrap_or_default();
        let server = ApiServer::start(dialect).map_err(|e| format!("{id}: {e}"))?;
        shapes.push(Shape {
            name,
            size: built.size,
            how: How::Zip(built.dir, server),
            samples: Vec::new(),
            failures: Vec::new(),
        });
    }
    let web = build_image(&ws)?;
    shapes.push(Shape {
        name: "ours, WebServer shape",
        size: contenders::stripped_size(&web)?,
        how: How::Web(web),
        samples: Vec::new(),
        failures: Vec::new(),
    });

    let logs = ws.target.join("bench/logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    eprintln!(
        "== measuring: {runs} runs, {} ms warm windows, event {} B",
        window.as_millis(),
        event.len()
    );
    for run in 0..runs {
        for k in 0..shapes.len() {
            let i = (k + run) % shapes.len();
            let shape = &mut shapes[i];
            let log = logs.join(format!("webserver-{i}.log"));
            let result = match &shape.how {
                How::Zip(dir, server) => zip_sample(server, dir, &cfg, &log),
                How::Web(bin) => web_sample(bin, &cfg, &log),
            };
            match result {
                Ok(o) => shape.samples.push(o),
                Err(e) => {
                    eprintln!(
                        "   {}: run {}: {e} (log: {})",
                        shape.name,
                        run + 1,
                        log.display()
                    );
                    shape.failures.push(e);
                }
            }
        }
        eprintln!("   run {}/{runs} done", run + 1);
    }

    let loadavg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "scf-bench webserver, {} UTC: {runs} runs interleaved, {} ms warm windows, event {} B; \
         load average at the end: {}",
        crate::report::today(),
        window.as_millis(),
        event.len(),
        loadavg.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
    println!();
    print!("{}", table(&shapes));
    let failed = shapes.iter().any(|s| s.samples.is_empty());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Builds the echo example with the `image` feature into the bench's own target directory
/// (`<target>/bench/image`), so the zip-shape build is left as it is.
fn build_image(ws: &Workspace) -> Result<PathBuf, String> {
    let dir = ws.target.join("bench/image");
    let args = [
        "build",
        "--profile",
        "bootstrap",
        "--target",
        MUSL,
        "--example",
        "echo",
        "--features",
        "image",
    ];
    eprintln!("== building ours, WebServer shape");
    eprintln!(
        "   $ cargo {} --target-dir {}",
        args.join(" "),
        dir.display()
    );
    let status = Command::new("cargo")
        .current_dir(&ws.root)
        .args(args)
        .arg("--target-dir")
        .arg(&dir)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the WebServer echo failed ({status})"));
    }
    Ok(dir.join(MUSL).join("bootstrap/examples/echo"))
}

/// One zip-shape sample: cold start, warm-up, one warm window, peak RSS.
fn zip_sample(server: &ApiServer, dir: &Path, cfg: &Config, log: &Path) -> Result<Obs, String> {
    let (cold, mut live) = measure::start(server, dir, cfg, log, true)?;
    live.warmup(false, cfg.warmup_small)?;
    let warm = live.window(false, cfg.window)?;
    Ok(Obs {
        ready: cold.ready.ok_or("no ready call")?,
        first: cold.first,
        cpu: warm.cpu(),
        rate: warm.per_second(),
        rss: live.peak_rss().ok_or("the bootstrap is gone")?,
    })
}

/// One WebServer-shape sample: exec → listening and → first response, warm-up, one warm
/// window on the same connection, peak RSS.
fn web_sample(bin: &Path, cfg: &Config, log: &Path) -> Result<Obs, String> {
    use std::os::unix::process::CommandExt as _;

    let mut log = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let mut cmd = Command::new(bin);
    cmd.env_clear()
        .env("SCF_BOOTSTRAP_MODE", "webserver")
        .env("SCF_BOOTSTRAP_PORT", "0")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(Stdio::piped())
        .process_group(0);
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stderr = child.stderr.take().ok_or("stderr is not piped")?;
    let mut proc = Running::new(child, true);
    // The listening line is the readiness signal; the rest goes to the log, drained so the
    // bootstrap never blocks on a full pipe.
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(port) = line.strip_prefix(LISTENING) {
                if let Some(tx) = tx.take() {
                    let _ = tx.send((Instant::now(), port.trim().to_owned()));
                }
            }
            let _ = writeln!(log, "{line}");
        }
    });
    let (listening, port) = rx.recv_timeout(cfg.timeout).map_err(|e| match e {
        mpsc::RecvTimeoutError::Timeout => {
            format!("no `{LISTENING}<port>` line within {:?}", cfg.timeout)
        }
        mpsc::RecvTimeoutError::Disconnected => {
            format!("the bootstrap closed its stderr (exited?) before `{LISTENING}<port>`")
        }
    })?;
    let stream = TcpStream::connect(format!("127.0.0.1:{port}"))
        .map_err(|e| format!("connect to port {port}: {e}"))?;
    stream
        .set_read_timeout(Some(cfg.timeout))
        .map_err(|e| e.to_string())?;
    let mut conn = Conn::new(stream);
    let expected = echo_reply(&cfg.small);
    let mut n = 0u64;
    invoke(&mut conn, &cfg.small, &expected, &mut n)?;
    let first = t0.elapsed();

    let pid = proc.pid();
    for _ in 0..cfg.warmup_small {
        invoke(&mut conn, &cfg.small, &expected, &mut n)?;
    }
    let c0 = Cpu::read(pid).ok_or("the bootstrap is gone")?;
    let start = Instant::now();
    let mut count = 0u64;
    while count == 0 || start.elapsed() < cfg.window {
        invoke(&mut conn, &cfg.small, &expected, &mut n)?;
        count += 1;
    }
    let elapsed = start.elapsed();
    let c1 = Cpu::read(pid).ok_or("the bootstrap is gone")?;
    let rss = procfs::peak_rss(pid).ok_or("the bootstrap is gone")?;
    if !proc.alive() {
        return Err("the bootstrap exited".into());
    }
    Ok(Obs {
        ready: listening.saturating_duration_since(t0),
        first,
        cpu: c1.since(&c0) / count as u32,
        rate: count as f64 / elapsed.as_secs_f64().max(1e-9),
        rss,
    })
}

/// One invocation: `POST /event-invoke` with the next request id; the answer must be `200`,
/// carry the id back and hold the echo reply.
fn invoke(conn: &mut Conn, event: &[u8], expected: &[u8], n: &mut u64) -> Result<(), String> {
    *n += 1;
    let id = format!("bench-{n}");
    let head = format!(
        "POST /event-invoke HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         X-Scf-Request-Id: {id}\r\nContent-Length: {}\r\n\r\n",
        event.len()
    );
    conn.write_all_vectored(&[head.as_bytes(), event])
        .map_err(|e| format!("request {id}: {e}"))?;
    let msg = conn
        .read_message()
        .map_err(|e| format!("answer to {id}: {e}"))?
        .ok_or_else(|| format!("connection closed before the answer to {id}"))?;
    if msg.start != Start::Response(200) {
        return Err(format!("answer to {id}: {:?}, not 200", msg.start));
    }
    let head = String::from_utf8_lossy(conn.head(&msg)).to_ascii_lowercase();
    if !head.contains(&format!("x-scf-request-id: {id}")) {
        return Err(format!(
            "answer to {id} does not carry X-Scf-Request-Id back"
        ));
    }
    if conn.body(&msg) != expected {
        return Err(format!("answer to {id} is not the echo reply"));
    }
    conn.consume(msg);
    Ok(())
}

/// The table: each figure's median, with its ratio to the zip shape's (the second row).
fn table(shapes: &[Shape]) -> String {
    type Pick = fn(&Obs) -> f64;
    let cols: [(&str, Unit, Pick); 5] = [
        ("exec → ready / listening", Unit::Seconds, |o| {
            o.ready.as_secs_f64()
        }),
        ("exec → first response", Unit::Seconds, |o| {
            o.first.as_secs_f64()
        }),
        ("warm CPU / invocation", Unit::Seconds, |o| {
            o.cpu.as_secs_f64()
        }),
        ("invocations/s", Unit::PerSecond, |o| o.rate),
        ("peak RSS", Unit::Bytes, |o| o.rss as f64),
    ];
    let median = |s: &Shape, pick: Pick| {
        let v: Vec<f64> = s.samples.iter().map(pick).collect();
        Summary::of(&v).map(|s| s.median)
    };
    let mut out = String::from("| shape | binary |");
    for (name, ..) in &cols {
        out += &format!(" {name} |");
    }
    out += "\n|---|---:|";
    out += &"---:|".repeat(cols.len());
    out.push('\n');
    let zip = &shapes[1];
    for s in shapes {
        out += &format!(
            "| {} | {} |",
            s.name,
            stats::format(Unit::Bytes, s.size as f64)
        );
        for (_, unit, pick) in &cols {
            out += &match (median(s, *pick), median(zip, *pick)) {
                (Some(v), Some(z)) => {
                    format!(" {} ({}) |", stats::format(*unit, v), stats::ratio(v, z))
                }
                (Some(v), None) => format!(" {} |", stats::format(*unit, v)),
                _ => " failed |".to_string(),
            };
        }
        if !s.failures.is_empty() {
            out += &format!(
                " {} of {} runs failed",
                s.failures.len(),
                s.failures.len() + s.samples.len()
            );
        }
        out.push('\n');
    }
    out
}
