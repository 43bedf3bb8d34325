//! Samples against the in-harness runtime API server: start a bootstrap cold and time ready
//! and the first response ([`start`]); then, through [`Live`], warm windows of small and large
//! events, reading CPU time and peak RSS from `/proc` before the process is ended.

use std::fs::File;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use scf_local::Dialect;

use scf_testkit::is_aws;
use scf_testkit::procfs::{self, Cpu};
use scf_testkit::runtime_api::{ApiServer, Plan, Tally};

/// What the run is asked to do, the same for every contender.
pub struct Config {
    /// Longest wait for a cold start's first response; warm windows wait four times as long.
    pub timeout: Duration,
    /// Samples per contender.
    pub runs: usize,
    /// Extra cold-only starts per contender and run (the cold figures are cheap and the
    /// noisiest).
    pub cold_extra: usize,
    /// Length of each warm window (per contender and event size, in all).
    pub window: Duration,
    /// Slices each window is cut into, interleaved between contenders.
    pub slices: u32,
    /// The small event (1 KB; also the cold start's event).
    pub small: Vec<u8>,
    /// The large event (1 MB; smaller with `--quick`).
    pub large: Vec<u8>,
    /// Unmeasured warm invocations before the small window.
    pub warmup_small: u64,
    /// Unmeasured warm invocations before the large window.
    pub warmup_large: u64,
}

/// A warm window's figures: totals of its slices.
#[derive(Debug, Clone, Copy)]
pub struct Warm {
    /// Invocations.
    pub count: u64,
    /// Time from the start of each slice to its last result, summed.
    pub elapsed: Duration,
    /// The bootstrap's CPU time (with its children's, for bash).
    pub cpu_total: Duration,
    /// The emulator's own CPU time (`scf-local` only).
    pub emulator_total: Option<Duration>,
}

impl Warm {
    /// A slice's totals.
    pub fn new(count: u64, elapsed: Duration, cpu: Duration, emulator: Option<Duration>) -> Warm {
        Warm {
            count,
            elapsed,
            cpu_total: cpu,
            emulator_total: emulator,
        }
    }

    /// Adds another slice.
    pub fn add(&mut self, other: &Warm) {
        self.count += other.count;
        self.elapsed += other.elapsed;
        self.cpu_total += other.cpu_total;
        self.emulator_total = match (self.emulator_total, other.emulator_total) {
            (Some(a), Some(b)) => Some(a + b),
            _ => None,
        };
    }

    /// Invocations per second.
    pub fn per_second(&self) -> f64 {
        self.count as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The bootstrap's CPU time per invocation.
    pub fn cpu(&self) -> Duration {
        self.cpu_total / self.count.max(1) as u32
    }

    /// The emulator's CPU time per invocation.
    pub fn emulator_cpu(&self) -> Option<Duration> {
        self.emulator_total.map(|e| e / self.count.max(1) as u32)
    }
}

/// One sample of one contender.
#[derive(Debug, Clone)]
pub struct Sample {
    /// exec → ready received (in-harness server only): SCF's ready call, or AWS's first
    /// `/next`.
    pub ready: Option<Duration>,
    /// exec → first response received; with `scf-local`, `POST /invoke` → result on a fresh
    /// emulator (its own start of the instance included).
    pub first: Duration,
    /// The bootstrap's CPU time from exec until it asked for the second event.
    pub cold_cpu: Option<Duration>,
    /// How long the bootstrap waited for a CPU in that time (the machine's other load).
    pub cold_wait: Option<Duration>,
    /// The warm windows; `None` in a cold-only sample.
    pub warm: Option<Windows>,
}

/// The warm part of a sample.
#[derive(Debug, Clone)]
pub struct Windows {
    /// The small-event window.
    pub small: Warm,
    /// The large-event window.
    pub large: Warm,
    /// Peak RSS after the small window.
    pub rss_small: u64,
    /// Peak RSS after the large window.
    pub rss_large: u64,
}

/// The environment the platform gives a bootstrap, with the runtime API at
/// 127.0.0.1:`port`.
///
/// SCF (docs/protocol.md section 3): every variable `tencent_scf` insists on is set. AWS: what
/// `scf-local run --api aws` gives (its README), which covers what `lambda_runtime` reads at
/// start; no SCF variable, so that our runtime picks AWS's dialect.
pub fn platform_env(code_dir: &Path, port: u16, dialect: Dialect) -> Vec<(String, String)> {
    let fixed: &[(&str, &str)] = if !is_aws(dialect) {
        &[
            ("SCF_RUNTIME_API", "127.0.0.1"),
            ("_HANDLER", "index.main_handler"),
            ("SCF_NAMESPACE", "default"),
            ("SCF_FUNCTIONNAME", "bench-echo"),
            ("SCF_FUNCTIONVERSION", "$LATEST"),
            ("SCF_RUNTIME", "CustomRuntime"),
            ("TENCENTCLOUD_REGION", "ap-guangzhou"),
            ("TENCENTCLOUD_APPID", "1250000000"),
            ("TENCENTCLOUD_UIN", "100000000001"),
            ("TENCENTCLOUD_TZ", "UTC"),
            ("TENCENTCLOUD_RUNENV", "SCF"),
        ]
    } else {
        &[
            ("_HANDLER", "bootstrap"),
            ("AWS_LAMBDA_FUNCTION_NAME", "bench-echo"),
            ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
            ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench-echo"),
            (
                "AWS_LAMBDA_LOG_STREAM_NAME",
                "2026/11/26/[$LATEST]6d5a1c0e4c1d9e0a6d5a1c0e4c1d9e0a",
            ),
            ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("TZ", ":UTC"),
            ("LANG", "en_US.UTF-8"),
        ]
    };
    let mut env: Vec<(String, String)> = fixed
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    if is_aws(dialect) {
        env.push(("AWS_LAMBDA_RUNTIME_API".into(), format!("127.0.0.1:{port}")));
        env.push(("LAMBDA_TASK_ROOT".into(), code_dir.display().to_string()));
    } else {
        env.push(("SCF_RUNTIME_API_PORT".into(), port.to_string()));
        env.push(("USER_CODE_ROOT".into(), format!("{}/", code_dir.display())));
    }
    // The bash bootstrap finds curl, mktemp and cut on the PATH.
    if let Ok(path) = std::env::var("PATH") {
        env.push(("PATH".into(), path));
    }
    env
}

/// A started process (and its process group), ended with SIGKILL when dropped.
pub struct Running {
    child: Child,
    /// Kill the whole process group (the child leads one).
    group: bool,
}

impl Running {
    /// Wraps a started child; `group` if it was started as the leader of its own group.
    pub fn new(child: Child, group: bool) -> Running {
        Running { child, group }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` to the process (or its group).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = self.child.id() as libc::pid_t;
        let target = if self.group { -pid } else { pid };
        // SAFETY: kill has no memory-safety preconditions; the pid is our own child, not yet
        // reaped (reaping happens only in `wait_for` and `drop`), so it names no other process.
        unsafe {
            libc::kill(target, signal);
        }
    }

    /// Waits up to `timeout` for the process to end; true if it did.
    pub fn wait_for(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if !self.alive() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A warm bootstrap that the run loop can hand windows of events to. The windows of all
/// contenders are interleaved in short slices, so that the machine's drift hits all alike.
pub trait Live {
    /// `count` unmeasured invocations of the small or the large event.
    fn warmup(&mut self, large: bool, count: u64) -> Result<(), String>;
    /// A measured slice of at least `length` and at least one invocation.
    fn window(&mut self, large: bool, length: Duration) -> Result<Warm, String>;
    /// Its peak RSS so far.
    fn peak_rss(&self) -> Option<u64>;
}

/// A bootstrap started cold against the in-harness server and kept running.
pub struct Instance<'a> {
    server: &'a ApiServer,
    proc: Running,
    /// Longest wait in a warm window.
    timeout: Duration,
    small: Arc<Plan>,
    large: Arc<Plan>,
}

/// Starts the bootstrap in `code_dir` cold against `server` (its stdout and stderr go to
/// `log`) and measures the cold figures; the instance stays up for warm windows.
pub fn start<'a>(
    server: &'a ApiServer,
    code_dir: &Path,
    cfg: &Config,
    log: &Path,
    echo: bool,
) -> Result<(Sample, Instance<'a>), String> {
    use std::os::unix::process::CommandExt;

    let plan = |event: &[u8]| {
        Arc::new(if echo {
            Plan::new(event, server.dialect())
        } else {
            Plan::accepting_any(event, server.dialect())
        })
    };
    let small = plan(&cfg.small);
    let large = plan(&cfg.large);
    let log = File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(code_dir.join("bootstrap"));
    cmd.current_dir(code_dir)
        .env_clear()
        .envs(platform_env(code_dir, server.port(), server.dialect()))
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .process_group(0);

    // Cold: the event is queued before the process exists, like a cold call on the platform.
    server.begin(Arc::clone(&small), 1);
    let t0 = Instant::now();
    let child = cmd
        .spawn()
        .map_err(|e| format!("cannot start bootstrap: {e}"))?;
    let mut proc = Running::new(child, true);
    let t = wait(server, &mut proc, cfg.timeout, |t| t.results >= 1)?;
    let ready = t
        .ready_at
        .ok_or("a result arrived before ready")?
        .saturating_duration_since(t0);
    let first = t
        .first_result_at
        .unwrap_or(t0)
        .saturating_duration_since(t0);

    let pid = proc.pid();
    // Its CPU time once it has asked for the second event (for bash: once the curl that
    // posted the first result has been reaped and counts).
    wait(server, &mut proc, cfg.timeout, |t| t.polls >= 2)?;
    let cold_cpu = Cpu::read(pid).map(|c| c.total());
    let cold_wait = procfs::run_delay(pid);
    let sample = Sample {
        ready: Some(ready),
        first,
        cold_cpu,
        cold_wait,
        warm: None,
    };
    Ok((
        sample,
        Instance {
            server,
            proc,
            timeout: cfg.timeout * 4,
            small,
            large,
        },
    ))
}

impl Live for Instance<'_> {
    fn warmup(&mut self, large: bool, count: u64) -> Result<(), String> {
        if count == 0 {
            return Ok(());
        }
        let plan = if large { &self.large } else { &self.small };
        self.server.window(Arc::clone(plan), count);
        wait(self.server, &mut self.proc, self.timeout, |t| {
            t.results >= count
        })?;
        Ok(())
    }

    fn window(&mut self, large: bool, length: Duration) -> Result<Warm, String> {
        let (server, proc) = (self.server, &mut self.proc);
        let plan = if large { &self.large } else { &self.small };
        let timeout = length + self.timeout;
        let pid = proc.pid();
        let c0 = Cpu::read(pid).ok_or("the bootstrap is gone")?;
        let start = Instant::now();
        server.window(Arc::clone(plan), u64::MAX);
        thread::sleep(length);
        wait(server, proc, timeout, |t| t.results >= 1)?;
        server.stop();
        // The invocation in flight when the window closed is finished and counted.
        let t = wait(server, proc, timeout, |t| t.results == t.delivered)?;
        let c1 = Cpu::read(pid).ok_or("the bootstrap is gone")?;
        let end = t.last_result_at.ok_or("no result in the window")?;
        Ok(Warm::new(
            t.results,
            end.saturating_duration_since(start),
            c1.since(&c0),
            None,
        ))
    }

    fn peak_rss(&self) -> Option<u64> {
        procfs::peak_rss(self.proc.pid())
    }
}

/// Waits for `done`, failing on a wrong result, an exited bootstrap or a timeout.
fn wait(
    server: &ApiServer,
    proc: &mut Running,
    timeout: Duration,
    done: impl Fn(&Tally) -> bool,
) -> Result<Tally, String> {
    let t = server.wait_until(timeout, || proc.alive(), done)?;
    match t.failure {
        Some(f) => Err(f),
        None => Ok(t),
    }
}
