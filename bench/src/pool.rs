//! `scf-bench pool [--api scf|aws] [--iterations N] [--warmup N] [--size BYTES] [CODE]`: the
//! emulator's own cost per warm invocation, in this process.
//!
//! Warm invocations go through `scf_local::Pool` (the library `scf-local run`, `invoke` and
//! `serve` are built on) with one instance and the same event each time, without the HTTP
//! front of `scf-local run` that the main benchmark's `scf-local` rows include. Printed:
//! the latency per invocation (event queued → `/next` answered → the bootstrap's response
//! received → result built; median, p90, p99 and mean) and this process's CPU time per
//! invocation (user + system of all its threads, from `getrusage(RUSAGE_SELF)`): the
//! emulator's cost over the two runtime API round trips. The bootstrap is a child process
//! and is not counted.
//!
//! `CODE` is a directory or zip with `bootstrap` at its root; without it the `ours` contender
//! (the runtime's `echo` example) is built and used.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bytes::Bytes;
use scf_local::{Dialect, FunctionConfig, Package, Pool};
use scf_testkit::runtime_api::echo_reply;
use scf_testkit::SCF;

/// The arguments of `scf-bench pool`.
#[derive(clap::Args)]
pub struct Args {
    /// The runtime API served to the bootstrap: scf or aws.
    #[arg(long = "api", value_name = "scf|aws", default_value = "scf", value_parser = crate::profile::dialect)]
    pub(crate) dialect: Dialect,
    /// Warm invocations measured.
    #[arg(long, value_name = "N", default_value_t = 10_000, value_parser = crate::at_least_one)]
    pub(crate) iterations: usize,
    /// Warm invocations run first and not measured (the first one starts the instance).
    #[arg(long, value_name = "N", default_value_t = 200, value_parser = crate::at_least_one)]
    pub(crate) warmup: usize,
    /// Bytes of the event, a JSON object (at least 16).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    pub(crate) size: usize,
    /// The code: a directory or zip with an executable `bootstrap` at its root that answers
    /// each event with `Echoing request: '<event>'` (default: the runtime's `echo` example,
    /// built).
    pub(crate) code: Option<PathBuf>,
}

/// What one run measured.
pub struct Measured {
    /// Latency of each measured invocation, sorted.
    pub times: Vec<Duration>,
    /// Wall-clock time of all measured invocations.
    pub wall: Duration,
    /// This process's CPU time over the measured invocations.
    pub cpu: Duration,
    /// Invocations (warm-up included) that did not succeed with the echo.
    pub failures: usize,
    /// The first failure, if any.
    pub first_failure: Option<String>,
}

impl Measured {
    /// The `p`th percentile of the latencies, in µs.
    fn percentile_us(&self, p: usize) -> f64 {
        let n = self.times.len();
        self.times[(n * p / 100).min(n - 1)].as_secs_f64() * 1e6
    }

    /// Per-invocation mean of `total`, in µs.
    fn per_invocation_us(&self, total: Duration) -> f64 {
        total.as_secs_f64() * 1e6 / self.times.len() as f64
    }
}

/// The emulator's configuration for `dialect`: one instance, the platform's defaults
/// otherwise, and the variables `tencent_scf` needs under SCF's dialect.
fn config(dialect: Dialect) -> FunctionConfig {
    let mut config = FunctionConfig {
        dialect,
        max_instances: 1,
        ..FunctionConfig::default()
    };
    if dialect == Dialect::Aws {
        config.region = "us-east-1".into();
    } else {
        for (k, v) in [
            ("SCF_NAMESPACE", "default"),
            ("TENCENTCLOUD_APPID", "1250000000"),
            ("TENCENTCLOUD_UIN", "100000000001"),
        ] {
            config.env.push((k.into(), v.into()));
        }
    }
    config
}

/// Runs `warmup` then `iterations` invocations of `event` through a pool on `code`.
pub fn measure(
    code: &std::path::Path,
    dialect: Dialect,
    event: &[u8],
    warmup: usize,
    iterations: usize,
) -> Result<Measured, String> {
    let package = Package::open(code).map_err(|e| format!("{}: {e}", code.display()))?;
    let expected = String::from_utf8_lossy(&echo_reply(event)).into_owned();
    let event = Bytes::copy_from_slice(event);
    // One thread, as `scf-local run` has: a warm invocation without cross-thread wake-ups.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    rt.block_on(async {
        let pool = Pool::new(config(dialect), package).map_err(|e| e.0)?;
        let mut failures = 0;
        let mut first_failure = None;
        let mut check = |r: scf_local::InvocationResult| {
            if !r.succeeded() || r.ret_msg != expected {
                failures += 1;
                first_failure.get_or_insert_with(|| format!("{:?}: {}", r.status, r.to_json()));
            }
        };
        for _ in 0..warmup {
            check(pool.invoke(event.clone()).await);
        }
        let mut times = Vec::with_capacity(iterations);
        let cpu0 = cpu_time();
        let wall0 = Instant::now();
        for _ in 0..iterations {
            let t = Instant::now();
            let r = pool.invoke(event.clone()).await;
            times.push(t.elapsed());
            check(r);
        }
        let wall = wall0.elapsed();
        let cpu = cpu_time().saturating_sub(cpu0);
        pool.shutdown().await;
        times.sort();
        Ok(Measured {
            times,
            wall,
            cpu,
            failures,
            first_failure,
        })
    })
}

/// User + system CPU time of this process, all threads.
fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the zeroed struct we pass; RUSAGE_SELF is always valid.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs the `pool` subcommand; exit status 1 if any invocation failed.
pub fn main(args: Args) -> Result<ExitCode, String> {
    let code = match args.code {
        Some(code) => code,
        None => crate::contenders::build_one(&crate::Workspace::find()?, "ours")?.dir,
    };
    let event = crate::event(args.size.max(16));
    let api = if args.dialect == SCF { "SCF" } else { "AWS" };
    eprintln!(
        "== {} warm invocations ({} to warm up) of {} B through scf_local::Pool, {api}'s runtime API, code {}",
        args.iterations,
        args.warmup,
        event.len(),
        code.display()
    );
    let m = measure(&code, args.dialect, &event, args.warmup, args.iterations)?;
    println!(
        "invocations: {} warm ({} failed)",
        m.times.len(),
        m.failures
    );
    println!(
        "latency per invocation (us): median {:.1}  p90 {:.1}  p99 {:.1}  mean {:.1}",
        m.percentile_us(50),
        m.percentile_us(90),
        m.percentile_us(99),
        m.per_invocation_us(m.wall)
    );
    println!(
        "scf-local CPU time per invocation (us): {:.1}",
        m.per_invocation_us(m.cpu)
    );
    if let Some(first) = &m.first_failure {
        eprintln!("scf-bench pool: first failure: {first}");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The bash contender (bash and curl, the walkthrough's echo) through the pool, in both
    /// dialects' configurations: every invocation is checked, the figures are counted.
    #[test]
    fn measures_the_bash_contender_through_the_pool() {
        let code = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contenders/bash");
        let m = measure(&code, SCF, br#"{"a":1}"#, 2, 5).unwrap();
        assert_eq!((m.times.len(), m.failures), (5, 0), "{:?}", m.first_failure);
        assert!(m.times.windows(2).all(|w| w[0] <= w[1]), "sorted");
        assert!(m.percentile_us(50) <= m.percentile_us(99));
    }

    #[test]
    fn a_bootstrap_of_the_other_dialect_fails_every_invocation() {
        let code = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("contenders/bash");
        // The bash contender speaks SCF's API only: under AWS's every invocation fails.
        let m = measure(&code, Dialect::Aws, b"{}", 1, 2).unwrap();
        assert_eq!(m.failures, 3);
        assert!(m.first_failure.is_some());
    }
}
