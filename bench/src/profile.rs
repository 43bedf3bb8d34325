//! `scf-bench profile [--api scf|aws] [--events N] [--size BYTES] -- COMMAND ...`: one
//! bootstrap against the in-harness runtime API (SCF's by default, AWS Lambda's with
//! `--api aws`), under whatever tool `COMMAND` starts (`strace -c`, `perf stat`,
//! `valgrind --tool=callgrind`), to see where its time goes.
//!
//! The command runs in the current directory with the platform's environment pointing at the
//! server, gets `N` events of `BYTES` bytes back to back, and once it has asked for one more
//! it is sent SIGTERM (the bootstrap only, not the tool, which then writes its summary).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use scf_local::Dialect;

use crate::measure::{platform_env, Running};
use scf_testkit::procfs;
use scf_testkit::runtime_api::{ApiServer, Plan};
use scf_testkit::SCF;

/// The arguments of `scf-bench profile`.
#[derive(clap::Args)]
pub struct Args {
    /// The runtime API the bootstrap is started for: scf or aws.
    #[arg(long = "api", value_name = "scf|aws", default_value = "scf", value_parser = dialect)]
    pub(crate) dialect: Dialect,
    /// Events sent back to back.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) events: u64,
    /// Bytes of each event (at least 16).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub(crate) size: usize,
    /// The command that starts the bootstrap, after `--`.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub(crate) command: Vec<String>,
}

/// `--api`: `scf` (SCF's runtime API, the documentation's header spelling) or `aws`.
pub(crate) fn dialect(name: &str) -> Result<Dialect, String> {
    match name {
        "scf" => Ok(SCF),
        "aws" => Ok(Dialect::Aws),
        other => Err(format!("scf or aws, not {other}")),
    }
}

/// Runs the `profile` subcommand.
pub fn main(args: Args) -> Result<(), String> {
    use std::os::unix::process::CommandExt;

    let Args {
        dialect,
        events,
        size,
        command,
    } = args;
    let program = &command[0];
    let server = ApiServer::start(dialect).map_err(|e| format!("runtime API server: {e}"))?;
    let event = crate::event(size.max(16));
    server.begin(Arc::new(Plan::new(&event, dialect)), events);
    let cwd = std::env::current_dir().map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let child = Command::new(program)
        .args(&command[1..])
        .envs(platform_env(&cwd, server.port(), dialect))
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {program}: {e}"))?;
    let mut proc = Running::new(child, true);
    let timeout = Duration::from_secs(3600);
    let t = server.wait_until(
        timeout,
        || proc.alive(),
        |t| t.results >= events && t.polls > events,
    )?;
    if let Some(f) = t.failure {
        return Err(f);
    }
    let elapsed = t0.elapsed();
    // The bootstrap is the innermost process of the chain the command started (perf and
    // strace start it as their child; valgrind runs it in its own process): end only it,
    // so that the tool outlives it and writes its summary.
    let mut target = proc.pid();
    while let Some(&child) = procfs::children(target).first() {
        target = child;
    }
    // What the bootstrap has cost so far: with `--events 1`, its cold start.
    let cpu = procfs::Cpu::read(target).map(|c| c.total());
    let faults = procfs::minor_faults(target);
    let rss = procfs::peak_rss(target);
    // SAFETY: kill has no memory-safety preconditions; `target` is our child or one of its
    // descendants, alive a moment ago.
    unsafe {
        libc::kill(target as libc::pid_t, libc::SIGTERM);
    }
    if !proc.wait_for(Duration::from_secs(60)) {
        return Err("the command did not end within 60 s of SIGTERM".into());
    }
    let ready = t
        .ready_at
        .map(|r| format!("{:?}", r.saturating_duration_since(t0)))
        .unwrap_or_else(|| "never".into());
    eprintln!(
        "scf-bench profile: {} events of {} bytes answered correctly in {elapsed:?} (ready after {ready})",
        t.results,
        event.len()
    );
    if let (Some(cpu), Some(faults), Some(rss)) = (cpu, faults, rss) {
        eprintln!(
            "scf-bench profile: pid {target}: cpu_ns {} minor_faults {faults} peak_rss_kb {}",
            cpu.as_nanos(),
            rss / 1024
        );
    }
    Ok(())
}
