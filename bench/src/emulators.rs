//! `scf-bench emulators [--runs N] [--window-ms MS] [--quick]`: the local emulators side by
//! side on the same bootstrap, the runtime's `echo` example.
//!
//! Three setups: `scf-local run` (SCF's runtime API), `scf-local run --api aws` (AWS's), and
//! AWS's Runtime Interface Emulator (RIE, AWS's runtime API). RIE is the binary inside the
//! `aws-sam-cli` wheel on PyPI, obtained as `tests/rie.rs` obtains it (`python3 -m pip
//! download --no-deps aws-sam-cli==VERSION`, one member taken out) and shared with that test
//! through Cargo's target directory (`target/tmp/rie-VERSION/`). When it cannot be obtained
//! (no pip, no network) the RIE row is left out with the reason, and the rest is measured.
//!
//! Per setup and run, on a freshly started emulator and one keep-alive connection from this
//! process (a plain HTTP/1.1 client that parses only what it needs, so that the client is not
//! what is measured):
//! - **cold invoke**: the first `POST` → its answer, which includes the emulator starting the
//!   bootstrap (both emulators start it on the first invocation);
//! - **warm invocations per second**: back-to-back invocations of a 1 KiB event for one window;
//! - **emulator CPU per warm invocation**: user + system time of the emulator process over the
//!   window (`/proc/PID/stat`; the bootstrap is a separate process and not counted);
//! - **emulator RSS**: its peak resident set (`VmHWM`) after the window.
//!
//! The setups are interleaved run by run, and each figure is the median over the runs.

use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use scf_local::{Dialect, HeaderStyle};
use scf_testkit::http::{Conn, Start};
use scf_testkit::procfs::{self, Cpu};
use scf_testkit::rie;

use crate::emulator::{self, Emulator};
use crate::measure::Running;
use crate::Workspace;

/// Bound on starting an emulator, on one invocation and on the RIE download.
const WAIT: Duration = Duration::from_secs(60);
/// The largest answer body read from an emulator.
const MAX_BODY: usize = 64 * 1024;

/// The arguments of `scf-bench emulators`.
#[derive(clap::Args)]
pub struct Args {
    /// Fresh starts per emulator (default 5; 1 with --quick).
    #[arg(long, value_name = "N", value_parser = crate::at_least_one)]
    pub(crate) runs: Option<usize>,
    /// Length of each warm window in milliseconds (default 2000; 200 with --quick).
    #[arg(long = "window-ms", value_name = "MS")]
    pub(crate) window_ms: Option<u64>,
    /// One short run per emulator, to check that the harness works (CI).
    #[arg(long)]
    pub(crate) quick: bool,
}

/// The emulator of one setup.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Kind {
    ScfLocal(Dialect),
    Rie,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::ScfLocal(Dialect::Aws) => "scf-local run --api aws",
            Kind::ScfLocal(_) => "scf-local run",
            Kind::Rie => "RIE (aws-lambda-rie)",
        }
    }

    fn api(self) -> &'static str {
        match self {
            Kind::ScfLocal(Dialect::Aws) | Kind::Rie => "AWS",
            Kind::ScfLocal(_) => "SCF",
        }
    }
}

/// One run of one setup.
#[derive(Clone, Copy, Debug)]
struct Run {
    cold: Duration,
    per_second: f64,
    cpu_per_invocation: Duration,
    rss: u64,
}

/// A started emulator with its bootstrap (once the first invocation started it).
struct Started {
    /// The emulator process.
    proc: Running,
    addr: String,
    path: &'static str,
    kind: Kind,
    /// Only for RIE: its directory (log), removed at the end.
    dir: Option<PathBuf>,
}

impl Started {
    fn launch(kind: Kind, scf_local: &Path, rie: &Path, code: &Path) -> Result<Started, String> {
        match kind {
            Kind::ScfLocal(dialect) => {
                let Emulator { proc, addr } = Emulator::start(scf_local, code, dialect)?;
                Ok(Started {
                    proc,
                    addr,
                    path: "/invoke",
                    kind,
                    dir: None,
                })
            }
            Kind::Rie => start_rie(rie, &code.join("bootstrap")),
        }
    }

    /// The bootstrap process: under scf-local's keeper, or RIE's child.
    fn bootstrap(&self) -> Option<u32> {
        let pid = self.proc.pid();
        match self.kind {
            Kind::ScfLocal(_) => procfs::children(pid)
                .first()
                .and_then(|&keeper| procfs::children(keeper).first().copied()),
            Kind::Rie => procfs::children(pid).first().copied(),
        }
    }

    fn stop(self) {
        let bootstrap = self.bootstrap();
        match self.kind {
            Kind::ScfLocal(_) => Emulator {
                proc: self.proc,
                addr: self.addr,
            }
            .stop(bootstrap),
            Kind::Rie => {
                drop(self.proc);
                if let Some(pid) = bootstrap.filter(|&p| procfs::alive(p)) {
                    // SAFETY: kill has no memory-safety preconditions; the pid was RIE's
                    // child a moment ago and RIE started it in RIE's own process group.
                    unsafe {
                        libc::kill(pid as libc::pid_t, libc::SIGKILL);
                    }
                }
                if let Some(dir) = &self.dir {
                    let _ = std::fs::remove_dir_all(dir);
                }
            }
        }
    }
}

/// Starts RIE on loopback with `bootstrap`, and waits (bounded) until it takes connections.
fn start_rie(rie: &Path, bootstrap: &Path) -> Result<Started, String> {
    let dir = std::env::temp_dir().join(format!("scf-bench-rie-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let free = || {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.to_string())
            .map_err(|e| format!("no free port: {e}"))
    };
    let (addr, api) = (free()?, free()?);
    let log = std::fs::File::create(dir.join("rie.log")).map_err(|e| e.to_string())?;
    let child = Command::new(rie)
        .arg("--runtime-interface-emulator-address")
        .arg(&addr)
        .arg("--runtime-api-address")
        .arg(&api)
        .arg(bootstrap)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AWS_LAMBDA_FUNCTION_NAME", "echo")
        .env("AWS_LAMBDA_FUNCTION_TIMEOUT", "60")
        .stdin(Stdio::null())
        .stdout(log.try_clone().map_err(|e| e.to_string())?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", rie.display()))?;
    let mut proc = Running::new(child, true);
    let until = Instant::now() + WAIT;
    while TcpStream::connect(&addr).is_err() {
        let log = || std::fs::read_to_string(dir.join("rie.log")).unwrap_or_default();
        if !proc.alive() {
            return Err(format!("RIE exited before listening:\n{}", log()));
        }
        if Instant::now() > until {
            return Err(format!("RIE does not listen within {WAIT:?}:\n{}", log()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(Started {
        proc,
        addr,
        path: rie::INVOKE,
        kind: Kind::Rie,
        dir: Some(dir),
    })
}

/// Posts `request` on `conn` and checks the answer: 200 and, from scf-local, a successful
/// `Result` (`full`: with the echo compared); from RIE, the echo itself (`full`) or any body.
fn invoke(
    conn: &mut Conn,
    kind: Kind,
    request: &[u8],
    echo: &str,
    full: bool,
) -> Result<(), String> {
    conn.write_all_vectored(&[request])
        .map_err(|e| format!("POST: {e}"))?;
    let msg = conn
        .read_message()
        .map_err(|e| format!("POST: {e}"))?
        .ok_or("the emulator closed the connection")?;
    let body = conn.body(&msg);
    let outcome = if body.len() > MAX_BODY {
        Err(format!("an answer of {} bytes", body.len()))
    } else {
        match kind {
            Kind::ScfLocal(_) => emulator::check_result(&msg.start, body, Some(echo), full),
            Kind::Rie if msg.start != Start::Response(200) => Err(format!(
                "RIE answered {:?}: {}",
                msg.start,
                String::from_utf8_lossy(body)
            )),
            Kind::Rie if full && body != echo.as_bytes() => Err(format!(
                "RIE answered {}",
                String::from_utf8_lossy(&body[..body.len().min(300)])
            )),
            Kind::Rie => Ok(()),
        }
    };
    conn.consume(msg);
    outcome
}

/// One run of one setup: start, cold invocation, warm-up, one warm window, stop.
fn measure(
    kind: Kind,
    scf_local: &Path,
    rie: &Path,
    code: &Path,
    event: &[u8],
    window: Duration,
) -> Result<Run, String> {
    let started = Started::launch(kind, scf_local, rie, code)?;
    let outcome = measure_started(&started, event, window);
    started.stop();
    outcome
}

fn measure_started(started: &Started, event: &[u8], window: Duration) -> Result<Run, String> {
    let request = emulator::post_request(started.path, event);
    let echo = String::from_utf8_lossy(&scf_testkit::runtime_api::echo_reply(event)).into_owned();
    let stream =
        TcpStream::connect(&started.addr).map_err(|e| format!("connect {}: {e}", started.addr))?;
    stream
        .set_read_timeout(Some(WAIT))
        .map_err(|e| e.to_string())?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let mut conn = Conn::new(stream);
    let kind = started.kind;
    let t0 = Instant::now();
    invoke(&mut conn, kind, &request, &echo, true)?;
    let cold = t0.elapsed();
    for _ in 0..50 {
        invoke(&mut conn, kind, &request, &echo, false)?;
    }
    let pid = started.proc.pid();
    let gone = || format!("{} is gone", kind.label());
    let c0 = Cpu::read(pid).ok_or_else(gone)?;
    let start = Instant::now();
    let mut count = 0u64;
    while count < 1 || start.elapsed() < window {
        invoke(&mut conn, kind, &request, &echo, false)?;
        count += 1;
    }
    let elapsed = start.elapsed();
    let c1 = Cpu::read(pid).ok_or_else(gone)?;
    // The last answer is checked in full: the window ran the echo all along.
    invoke(&mut conn, kind, &request, &echo, true)?;
    Ok(Run {
        cold,
        per_second: count as f64 / elapsed.as_secs_f64(),
        cpu_per_invocation: c1.since(&c0) / count as u32,
        rss: procfs::peak_rss(pid).ok_or_else(gone)?,
    })
}

/// RIE from the `aws-sam-cli` wheel, downloaded once into `target/tmp/rie-VERSION/` (where
/// `tests/rie.rs` keeps it too); the reason when it cannot be obtained.
fn rie_binary(ws: &Workspace) -> Result<PathBuf, String> {
    let cache = ws.target.join("tmp");
    if !rie::path(&cache).is_file() {
        eprintln!(
            "== downloading RIE (aws-sam-cli {} from PyPI)",
            rie::SAM_CLI_VERSION
        );
    }
    rie::binary(&cache)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The medians of one setup's runs: cold ms, invocations/s, CPU µs/invocation, RSS MiB.
fn medians(runs: &[Run]) -> [f64; 4] {
    let m = |f: fn(&Run) -> f64| median(runs.iter().map(f).collect());
    [
        m(|r| r.cold.as_secs_f64() * 1e3),
        m(|r| r.per_second),
        m(|r| r.cpu_per_invocation.as_secs_f64() * 1e6),
        m(|r| r.rss as f64 / (1 << 20) as f64),
    ]
}

/// The Markdown table: one row per measured setup, then scf-local ÷ RIE for each scf-local
/// setup when RIE was measured.
fn table(rows: &[(Kind, [f64; 4])], runs: usize) -> String {
    let mut t = String::from(
        "| emulator | runtime API | cold invoke (ms) | warm invocations/s | emulator CPU per \
         invocation (µs) | emulator peak RSS (MiB) |\n|---|---|--:|--:|--:|--:|\n",
    );
    for (kind, m) in rows {
        t += &format!(
            "| {} | {} | {:.2} | {:.0} | {:.1} | {:.1} |\n",
            kind.label(),
            kind.api(),
            m[0],
            m[1],
            m[2],
            m[3]
        );
    }
    if let Some((_, rie)) = rows.iter().find(|(k, _)| *k == Kind::Rie) {
        for (kind, m) in rows.iter().filter(|(k, _)| *k != Kind::Rie) {
            t += &format!(
                "| {} ÷ RIE | | {:.2}× | {:.2}× | {:.2}× | {:.2}× |\n",
                kind.label(),
                m[0] / rie[0],
                m[1] / rie[1],
                m[2] / rie[2],
                m[3] / rie[3]
            );
        }
    }
    t + &format!(
        "\nMedians of {runs} run(s); echo example, 1 KiB event, one keep-alive connection.\n"
    )
}

/// Runs `scf-bench emulators`: prints the table on stdout, progress on stderr.
pub fn main(args: Args) -> Result<ExitCode, String> {
    let runs = args.runs.unwrap_or(if args.quick { 1 } else { 5 });
    let window =
        Duration::from_millis(
            args.window_ms
                .unwrap_or(if args.quick { 200 } else { 2000 }),
        );
    let ws = Workspace::find()?;
    let code = crate::contenders::build_one(&ws, "ours")?.dir;
    let scf_local = emulator::build(&ws)?;
    let mut kinds = vec![
        Kind::ScfLocal(Dialect::Scf {
            headers: HeaderStyle::default(),
        }),
        Kind::ScfLocal(Dialect::Aws),
    ];
    let rie = match rie_binary(&ws) {
        Ok(rie) => {
            kinds.push(Kind::Rie);
            rie
        }
        Err(why) => {
            eprintln!("   RIE: not measured: {why}");
            PathBuf::new()
        }
    };
    let event = crate::event(1024);
    let mut results = vec![Vec::new(); kinds.len()];
    for run in 0..runs {
        for (i, &kind) in kinds.iter().enumerate() {
            eprintln!("== run {}/{runs}: {}", run + 1, kind.label());
            let r = measure(kind, &scf_local, &rie, &code, &event, window)
                .map_err(|e| format!("{}: {e}", kind.label()))?;
            results[i].push(r);
        }
    }
    let rows: Vec<(Kind, [f64; 4])> = kinds
        .iter()
        .zip(&results)
        .map(|(&k, r)| (k, medians(r)))
        .collect();
    print!("{}", table(&rows, runs));
    if !kinds.contains(&Kind::Rie) {
        println!("\nRIE was not measured (see above): no ratios.");
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_and_ratios() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        let r = |ms: u64, ps: f64| Run {
            cold: Duration::from_millis(ms),
            per_second: ps,
            cpu_per_invocation: Duration::from_micros(20),
            rss: 4 << 20,
        };
        let ours = medians(&[r(2, 10_000.0), r(4, 30_000.0), r(3, 20_000.0)]);
        assert_eq!(ours, [3.0, 20_000.0, 20.0, 4.0]);
        let rie = medians(&[r(6, 5_000.0)]);
        let t = table(&[(Kind::ScfLocal(Dialect::Aws), ours), (Kind::Rie, rie)], 3);
        assert!(
            t.contains("| scf-local run --api aws ÷ RIE | | 0.50× | 4.00× | 1.00× | 1.00× |"),
            "{t}"
        );
        // Without RIE, no ratio rows.
        let t = table(&[(Kind::ScfLocal(Dialect::Aws), ours)], 3);
        assert!(!t.contains("÷"), "{t}");
    }
}
