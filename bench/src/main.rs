//! `scf-bench`: cold-start and warm-cost benchmarks of SCF Custom Runtime bootstraps.
//!
//! One command builds every contender (ours stable and nightly min-size, the C floor,
//! `tencent_scf`, bash + curl under SCF's runtime API; ours and the floor again, and
//! `lambda_runtime`, under AWS Lambda's), measures each against a minimal in-harness runtime
//! API server of its dialect and against `scf-local run` (`--api aws` for AWS's), contenders
//! interleaved run by run, prints progress and a table, and writes `<out>/<date>.md` and
//! `<out>/<date>.svg`.
//!
//! ```text
//! cargo run -p scf-bench --release -- [--quick] [--runs N] [--window-ms MS]
//!                                      [--out DIR] [--skip ID[,ID...]] [--only ID[,ID...]]
//!                                      [--contender NAME=PATH[,api=scf|aws][,check=any|echo]]...
//!                                      [--event FILE | --event-example NAME] [--set PATH=VALUE]...
//!                                      [--timeout SECS] [--no-emulator] [--no-nice]
//! cargo run -p scf-bench --release -- profile [--api scf|aws] [--events N] [--size BYTES]
//!                                              -- COMMAND ...
//! cargo run -p scf-bench --release -- pool [--api scf|aws] [--iterations N] [--warmup N]
//!                                           [--size BYTES] [CODE]
//! cargo run -p scf-bench --release -- webserver [--quick] [--runs N] [--window-ms MS]
//!                                                [--size BYTES]
//! ```
//!
//! See `bench/README.md` for what each figure means and how it is taken.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod chart;
mod contenders;
mod emulator;
mod emulators;
mod measure;
mod outside;
mod pool;
mod profile;
mod report;
mod stats;
mod webserver;

use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::time::Duration;

use clap::{Parser, Subcommand};

use contenders::Contender;
use measure::{Config, Live, Sample, Warm, Windows};

/// Where the workspace is: found with `cargo metadata`, so no path is written in the code.
pub struct Workspace {
    /// The workspace root.
    pub root: PathBuf,
    /// Cargo's target directory.
    pub target: PathBuf,
}

impl Workspace {
    fn find() -> Result<Workspace, String> {
        let out = Command::new("cargo")
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let meta: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
        let path = |key: &str| {
            meta[key]
                .as_str()
                .map(PathBuf::from)
                .ok_or(format!("cargo metadata has no {key}"))
        };
        Ok(Workspace {
            root: path("workspace_root")?,
            target: path("target_directory")?,
        })
    }
}

/// A JSON event of exactly `size` bytes (at least 16): `{"data":"abc…"}`.
fn event(size: usize) -> Vec<u8> {
    let mut v = b"{\"data\":\"".to_vec();
    let filler = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let n = size.saturating_sub(v.len() + 2);
    v.extend(filler.iter().cycle().take(n));
    v.extend_from_slice(b"\"}");
    v
}

/// Cold-start and warm-cost benchmarks of SCF Custom Runtime bootstraps: builds every
/// contender, measures each against the in-harness runtime API and under `scf-local run`,
/// and writes `<out>/<date>.md` and `<out>/<date>.svg`.
#[derive(Parser)]
#[command(name = "scf-bench", args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    #[command(flatten)]
    options: Options,
}

#[derive(Subcommand)]
enum Sub {
    /// Runs one bootstrap (under strace, perf or valgrind) against the in-harness runtime API.
    Profile(profile::Args),
    /// Measures the emulator's own cost per warm invocation through scf-local's Pool, in
    /// this process: latency and CPU time per invocation.
    Pool(pool::Args),
    /// scf-local (`run`, `run --api aws`) against AWS's RIE on our echo: cold invoke, warm
    /// invocations per second, the emulator's CPU per invocation and RSS (Markdown table).
    Emulators(emulators::Args),
    /// The echo in the WebServer image shape beside the zip shape and the floor: exec →
    /// listening, exec → first response, warm CPU, peak RSS (ratios to the zip shape).
    Webserver(webserver::Args),
}

/// Command-line options of the benchmark.
#[derive(clap::Args)]
struct Options {
    /// A few short runs with small events, to check the harness works (CI); results go to
    /// <target>/bench/quick unless --out is given.
    #[arg(long)]
    quick: bool,
    /// Samples per contender and server (default 20; 2 with --quick).
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    runs: Option<usize>,
    /// Length of each warm window (default 1000; 50 with --quick).
    #[arg(long = "window-ms", value_name = "MS")]
    window_ms: Option<u64>,
    /// Where <date>.md and <date>.svg are written (default bench/results).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Leave contenders out: ours, ours-min, tencent_scf, bash, ours-aws, floor-aws,
    /// lambda_runtime, lambda_runtime-ct (never floor).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    skip: Vec<String>,
    /// Measure only these built-in contenders (and the floors, always measured); outside
    /// contenders given with --contender are measured either way.
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    only: Vec<String>,
    /// An outside contender: NAME=PATH[,api=scf|aws][,check=any|echo]. PATH is a bootstrap
    /// file, a code directory or a deploy zip (unpacked as the platform would); api: the
    /// runtime API it speaks (default scf); check=echo holds its answers to the echo
    /// contract, check=any (default) accepts any response. Repeatable, at most 8.
    #[arg(long = "contender", value_name = "NAME=PATH[,..]", value_parser = outside::parse)]
    contenders: Vec<outside::Spec>,
    /// The event every contender gets (cold start and both warm windows), a JSON file of at
    /// most 6 MiB, instead of the built-in 1 KB and 1 MB ones.
    #[arg(long, value_name = "FILE", conflicts_with = "event_example")]
    event: Option<PathBuf>,
    /// The event every contender gets: a trigger's sample event (apigw, timer, cos, …), as
    /// `scf-local invoke --event-example` sends it.
    #[arg(long, value_name = "NAME")]
    event_example: Option<String>,
    /// Change a field of the event: PATH=VALUE (as `scf-local event --set`); repeatable.
    #[arg(long, value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Longest wait for a cold start's first response, in seconds (default 30); warm
    /// windows wait at most four times as long. A contender that does not answer in time
    /// is reported as failed.
    #[arg(long, value_name = "SECS", value_parser = at_least_one)]
    timeout: Option<usize>,
    /// Measure against the in-harness server only.
    #[arg(long)]
    no_emulator: bool,
    /// Do not raise the priority of the measurement (nice -10 when permitted).
    #[arg(long)]
    no_nice: bool,
}

fn at_least_one(v: &str) -> Result<usize, String> {
    match v.parse() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!("bad number {v}")),
    }
}

impl Options {
    /// Samples per contender and server.
    fn runs(&self) -> usize {
        self.runs.unwrap_or(if self.quick { 2 } else { 20 })
    }

    /// The length of each warm window.
    fn window(&self) -> Duration {
        Duration::from_millis(
            self.window_ms
                .unwrap_or(if self.quick { 50 } else { 1000 })
                .max(1),
        )
    }
}

/// Everything a report needs.
pub struct RunResults {
    /// The contenders, built or not.
    pub contenders: Vec<Contender>,
    /// Samples against the in-harness server, per contender.
    pub harness: Vec<Vec<Sample>>,
    /// Samples under `scf-local run`, per contender; or why there are none.
    pub emulator: Result<Vec<Vec<Sample>>, String>,
    /// Failed samples, per contender.
    pub failures: Vec<Vec<String>>,
    /// The configuration.
    pub config: Config,
    /// `--quick` was given.
    pub quick: bool,
    /// The date (YYYY-MM-DD, UTC).
    pub date: String,
    /// Machine and toolchain facts for the report.
    pub machine: Vec<(String, String)>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Sub::Profile(args)) => {
            return match profile::main(args) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("scf-bench profile: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Sub::Pool(args)) => {
            return pool::main(args).unwrap_or_else(|e| {
                eprintln!("scf-bench pool: {e}");
                ExitCode::FAILURE
            })
        }
        Some(Sub::Emulators(args)) => {
            return emulators::main(args).unwrap_or_else(|e| {
                eprintln!("scf-bench emulators: {e}");
                ExitCode::FAILURE
            })
        }
        Some(Sub::Webserver(args)) => {
            return webserver::main(args).unwrap_or_else(|e| {
                eprintln!("scf-bench webserver: {e}");
                ExitCode::FAILURE
            })
        }
        None => {}
    }
    match run(cli.options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("scf-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: Options) -> Result<(), String> {
    let ws = Workspace::find()?;
    // Before the builds: the commit measured is the one the bootstraps are built from, even
    // if someone commits while the run goes on.
    let mut machine = report::machine(&ws.root);
    outside::check_all(&opts.contenders)?;
    let user_event = outside::load_event(
        opts.event.as_deref(),
        opts.event_example.as_deref(),
        &opts.set,
    )?;
    let keep = |id: &str| {
        !opts.skip.iter().any(|s| s == id)
            && (opts.only.is_empty() || opts.only.iter().any(|s| s == id))
    };
    for id in opts.skip.iter().chain(&opts.only) {
        if !contenders::ALL.iter().any(|c| c.0 == id) {
            return Err(format!("--skip/--only: no built-in contender `{id}`"));
        }
    }
    // The outside contenders first: a wrong path is reported before minutes of builds.
    if !opts.contenders.is_empty() {
        eprintln!("== preparing the outside contenders");
    }
    let mut yours = Vec::new();
    for spec in &opts.contenders {
        yours.push(outside::prepare(&ws, spec)?);
    }
    let dialects: Vec<scf_local::Dialect> = opts.contenders.iter().map(|s| s.dialect).collect();
    let mut contenders = contenders::build_all(&ws, &keep, &dialects)?;
    contenders.extend(yours);
    let emulator_bin = if !opts.no_emulator {
        emulator::build(&ws)
    } else {
        Err("left out with --no-emulator".into())
    };
    if let Err(why) = &emulator_bin {
        eprintln!("   scf-local: not measured: {why}");
    }

    let (small, large) = if opts.quick {
        (1024, 16 * 1024)
    } else {
        (1024, 1024 * 1024)
    };
    let (small, large) = match &user_event {
        Some(e) => (e.clone(), e.clone()),
        None => (event(small), event(large)),
    };
    let config = Config {
        timeout: Duration::from_secs(opts.timeout.unwrap_or(30) as u64),
        runs: opts.runs(),
        cold_extra: if opts.quick { 0 } else { 4 },
        slices: if opts.quick { 2 } else { 10 },
        window: opts.window(),
        small,
        large,
        warmup_small: if opts.quick { 5 } else { 50 },
        warmup_large: 2,
    };
    let priority = if !opts.no_nice {
        raise_priority()
    } else {
        "normal (--no-nice)".to_string()
    };
    eprintln!("== priority of the measurement: {priority}");
    let logs = ws.target.join("bench/logs");
    std::fs::create_dir_all(&logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    // One server per contender: all contenders' bootstraps are up together during the warm
    // windows, each waiting in its own `/next` until its slice comes.
    let mut servers = Vec::new();
    for c in &contenders {
        servers.push(match c.built() {
            Some(_) => Some(
                scf_testkit::runtime_api::ApiServer::start(c.dialect)
                    .map_err(|e| format!("runtime API server: {e}"))?,
            ),
            None => None,
        });
    }

    let n = contenders.len();
    let mut harness = vec![Vec::new(); n];
    let mut under_emulator = vec![Vec::new(); n];
    let mut failures = vec![Vec::new(); n];
    eprintln!(
        "== measuring: {} runs, {} ms warm windows in {} slices, events {} B and {} B, against \
         the in-harness server{}",
        config.runs,
        config.window.as_millis(),
        config.slices,
        config.small.len(),
        config.large.len(),
        if emulator_bin.is_ok() {
            " and scf-local run"
        } else {
            ""
        }
    );
    // Every step goes through the contenders in turn (A B C … A B C …), so that drift of
    // the machine hits all alike: the cold-only starts, the cold start of the warm round,
    // and each slice of the warm windows.
    for run in 1..=config.runs {
        // The order turns by one contender every run, so that no contender always follows
        // the same one (bash's slice, say, leaves curls and mktemps finishing behind it).
        let order: Vec<usize> = (0..n).map(|k| (k + run) % n).collect();
        let mut lives: Vec<Option<Box<dyn Live + '_>>> = Vec::new();
        for round in 0..=config.cold_extra {
            let warm = round == config.cold_extra;
            lives.clear();
            lives.resize_with(n, || None);
            for &i in &order {
                let c = &contenders[i];
                let (Some(built), Some(server)) = (c.built(), &servers[i]) else {
                    continue;
                };
                let log = logs.join(format!("{}.log", c.id));
                match measure::start(server, &built.dir, &config, &log, c.echo) {
                    Ok((s, instance)) => {
                        if !warm {
                            progress(run, config.runs, "api", c.id, &s);
                        }
                        harness[i].push(s);
                        lives[i] = warm.then(|| Box::new(instance) as Box<dyn Live>);
                    }
                    Err(e) => {
                        eprintln!(
                            "[{run}/{}] api       {:<14} FAILED: {e} (log: {})",
                            config.runs,
                            c.id,
                            log.display()
                        );
                        failures[i].push(with_tail(format!("in-harness server: {e}"), &log));
                    }
                }
            }
        }
        finish_round(
            run,
            &config,
            "api",
            &contenders,
            &order,
            lives,
            &mut harness,
            &mut failures,
            Some(&logs),
        );

        let Ok(bin) = &emulator_bin else { continue };
        let mut lives: Vec<Option<Box<dyn Live + '_>>> = Vec::new();
        for round in 0..=config.cold_extra {
            let warm = round == config.cold_extra;
            lives.clear();
            lives.resize_with(n, || None);
            for &i in &order {
                let c = &contenders[i];
                let Some(built) = c.built() else {
                    continue;
                };
                match emulator::start(bin, &built.dir, &config, c.dialect, c.echo) {
                    Ok((s, instance)) => {
                        if !warm {
                            progress(run, config.runs, "scf-local", c.id, &s);
                        }
                        under_emulator[i].push(s);
                        lives[i] = warm.then(|| Box::new(instance) as Box<dyn Live>);
                    }
                    Err(e) => {
                        eprintln!("[{run}/{}] scf-local {:<14} FAILED: {e}", config.runs, c.id);
                        failures[i].push(format!("scf-local: {e}"));
                    }
                }
            }
        }
        finish_round(
            run,
            &config,
            "scf-local",
            &contenders,
            &order,
            lives,
            &mut under_emulator,
            &mut failures,
            None,
        );
    }

    let outcome = RunResults {
        contenders,
        harness,
        emulator: emulator_bin.map(|_| under_emulator),
        failures,
        config,
        quick: opts.quick,
        date: report::today(),
        machine: {
            machine.push(("priority".into(), priority));
            machine
        },
    };
    let out_dir = match opts.out {
        Some(d) => d,
        None if opts.quick => ws.target.join("bench/quick"),
        None => ws.root.join("bench/results"),
    };
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    let md_path = out_dir.join(format!("{}.md", outcome.date));
    let svg_path = out_dir.join(format!("{}.svg", outcome.date));
    let svg_name = svg_path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let markdown = report::markdown(&outcome, &svg_name);
    chart::draw(&outcome, &svg_path)?;
    std::fs::write(&md_path, &markdown).map_err(|e| format!("{}: {e}", md_path.display()))?;
    println!("{}", report::summary_table(&outcome));
    eprintln!("== wrote {} and {}", md_path.display(), svg_path.display());
    let failed: usize = outcome.failures.iter().map(Vec::len).sum();
    let measured = outcome.harness.iter().any(|s| !s.is_empty());
    if !measured {
        return Err("no contender could be measured".into());
    }
    if failed > 0 {
        return Err(format!(
            "{failed} samples failed (see above and the report)"
        ));
    }
    Ok(())
}

/// The warm windows of one run: all live bootstraps get their slices in turn. Each one's
/// totals go into the last sample of its contender (the cold start of this round).
// The run's context, the live bootstraps and the two outputs, all used; bundling them in a
// struct for one private call would only move the list.
#[allow(clippy::too_many_arguments)]
fn finish_round(
    run: usize,
    config: &Config,
    server: &str,
    contenders: &[Contender],
    order: &[usize],
    mut lives: Vec<Option<Box<dyn Live + '_>>>,
    samples: &mut [Vec<Sample>],
    failures: &mut [Vec<String>],
    logs: Option<&std::path::Path>,
) {
    let n = lives.len();
    let mut errors: Vec<Option<String>> = vec![None; n];
    let mut small: Vec<Option<Warm>> = vec![None; n];
    let mut large: Vec<Option<Warm>> = vec![None; n];
    let mut rss_small = vec![0u64; n];
    let mut rss_large = vec![0u64; n];
    // Runs `f` on every live bootstrap; one that fails is ended and its error kept.
    let mut each =
        |lives: &mut Vec<Option<Box<dyn Live + '_>>>,
         f: &mut dyn FnMut(usize, &mut dyn Live) -> Result<(), String>| {
            for (i, slot) in lives.iter_mut().enumerate() {
                if let Some(live) = slot.as_mut() {
                    if let Err(e) = f(i, live.as_mut()) {
                        errors[i] = Some(e);
                        *slot = None;
                    }
                }
            }
        };
    let slice = config.window / config.slices.max(1);
    for (large_event, warmup, acc, rss) in [
        (false, config.warmup_small, &mut small, &mut rss_small),
        (true, config.warmup_large, &mut large, &mut rss_large),
    ] {
        each(&mut lives, &mut |_, l| l.warmup(large_event, warmup));
        for _ in 0..config.slices.max(1) {
            each(&mut lives, &mut |i, l| {
                let w = l.window(large_event, slice)?;
                match &mut acc[i] {
                    Some(total) => total.add(&w),
                    None => acc[i] = Some(w),
                }
                Ok(())
            });
        }
        each(&mut lives, &mut |i, l| {
            rss[i] = l.peak_rss().ok_or("the bootstrap is gone")?;
            Ok(())
        });
    }
    drop(lives);
    for &i in order {
        let id = contenders[i].id;
        if let Some(e) = errors[i].take() {
            eprintln!("[{run}/{}] {server:<9} {id:<14} FAILED: {e}", config.runs);
            let failure = format!("{server}: {e}");
            failures[i].push(match logs {
                Some(dir) => with_tail(failure, &dir.join(format!("{id}.log"))),
                None => failure,
            });
            continue;
        }
        let (Some(s), Some(l)) = (small[i], large[i]) else {
            continue;
        };
        if let Some(sample) = samples[i].last_mut() {
            sample.warm = Some(Windows {
                small: s,
                large: l,
                rss_small: rss_small[i],
                rss_large: rss_large[i],
            });
            progress(run, config.runs, server, id, sample);
        }
    }
}

/// A failure, with the last lines of the bootstrap's log when there are any.
fn with_tail(failure: String, log: &std::path::Path) -> String {
    match outside::log_tail(log) {
        t if t.is_empty() => failure,
        t => format!("{failure}; log tail: {t}"),
    }
}

/// Raises the priority of this thread, and so of every thread and process it starts from
/// now on (Linux keeps a nice value per thread; new ones inherit it), so that the machine's
/// other load disturbs the measurement less. Says what it did.
fn raise_priority() -> String {
    const NICE: libc::c_int = -10;
    // SAFETY: setpriority has no memory-safety preconditions; `who = 0` is the calling thread.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, NICE) };
    if rc == 0 {
        format!("nice {NICE} (harness, servers and bootstraps)")
    } else {
        format!(
            "normal: raising it was refused ({})",
            std::io::Error::last_os_error()
        )
    }
}

/// One progress line per sample.
fn progress(run: usize, runs: usize, server: &str, id: &str, s: &Sample) {
    use stats::{format as f, Unit};
    let t = |d: Option<Duration>| {
        d.map(|d| f(Unit::Seconds, d.as_secs_f64()))
            .unwrap_or_else(|| "—".into())
    };
    let mut line = format!(
        "[{run}/{runs}] {server:<9} {id:<14} ready {:>9}  first {:>9}  cold cpu {:>9}",
        t(s.ready),
        t(Some(s.first)),
        t(s.cold_cpu),
    );
    if let Some(w) = &s.warm {
        line += &format!(
            "  small {:>8} {:>9} cpu  large {:>7} {:>9} cpu  rss {}",
            f(Unit::PerSecond, w.small.per_second()),
            f(Unit::Seconds, w.small.cpu().as_secs_f64()),
            f(Unit::PerSecond, w.large.per_second()),
            f(Unit::Seconds, w.large.cpu().as_secs_f64()),
            f(Unit::Bytes, w.rss_small as f64),
        );
    }
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_asked_size_and_are_json() {
        for size in [16, 1024, 1024 * 1024] {
            let e = event(size);
            assert_eq!(e.len(), size);
            let v: serde_json::Value = serde_json::from_slice(&e).unwrap();
            assert!(v["data"].is_string());
        }
    }

    #[test]
    fn options() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("scf-bench").chain(args.iter().copied()))
        };
        let o = parse(&[]).unwrap().options;
        assert_eq!((o.runs(), o.window()), (20, Duration::from_millis(1000)));
        assert!(!o.quick && !o.no_emulator && !o.no_nice && o.skip.is_empty() && o.out.is_none());
        let o = parse(&["--quick"]).unwrap().options;
        assert_eq!((o.runs(), o.window()), (2, Duration::from_millis(50)));
        let o = parse(&[
            "--quick",
            "--runs",
            "3",
            "--window-ms",
            "0",
            "--skip",
            "bash,ours-min",
            "--skip",
            "ours",
            "--out",
            "x",
            "--no-emulator",
            "--no-nice",
        ])
        .unwrap()
        .options;
        assert_eq!((o.runs(), o.window()), (3, Duration::from_millis(1)));
        assert_eq!(o.skip, ["bash", "ours-min", "ours"]);
        assert_eq!(o.out, Some(PathBuf::from("x")));
        assert!(o.no_emulator && o.no_nice);
        let o = parse(&[
            "--only",
            "ours,floor",
            "--contender",
            "a=x",
            "--contender=b=y.zip,api=aws,check=echo",
            "--event-example",
            "apigw",
            "--set",
            "path=/x",
            "--timeout",
            "5",
        ])
        .unwrap()
        .options;
        assert_eq!(o.only, ["ours", "floor"]);
        assert_eq!(
            o.contenders
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(o.contenders[1].dialect, scf_local::Dialect::Aws);
        assert_eq!(
            (o.event_example.as_deref(), o.set.len(), o.timeout),
            (Some("apigw"), 1, Some(5))
        );
        for bad in [
            &["--runs", "0"][..],
            &["--runs", "x"],
            &["--bogus"],
            &["--runs"],
            &["--event", "e.json", "--event-example", "apigw"],
            &["--contender", "ours=x"],
            &["--timeout", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let Some(Sub::Profile(p)) = parse(&["profile", "--", "strace", "-c", "./bootstrap"])
            .unwrap()
            .command
        else {
            panic!("profile expected");
        };
        assert_eq!(p.command, ["strace", "-c", "./bootstrap"]);
        assert_eq!(
            (p.dialect, p.events, p.size),
            (scf_testkit::SCF, 1000, 1024)
        );
        let Some(Sub::Profile(p)) = parse(&[
            "profile", "--api", "aws", "--events", "1", "--size", "16", "--", "x",
        ])
        .unwrap()
        .command
        else {
            panic!("profile expected");
        };
        assert_eq!(
            (p.dialect, p.events, p.size),
            (scf_local::Dialect::Aws, 1, 16)
        );
        let Some(Sub::Pool(p)) = parse(&["pool"]).unwrap().command else {
            panic!("pool expected");
        };
        assert_eq!(
            (p.dialect, p.iterations, p.warmup, p.size),
            (scf_testkit::SCF, 10_000, 200, 1024)
        );
        assert!(p.code.is_none());
        let Some(Sub::Pool(p)) = parse(&[
            "pool",
            "--api",
            "aws",
            "--iterations",
            "5",
            "--warmup",
            "1",
            "--size",
            "64",
            "f.zip",
        ])
        .unwrap()
        .command
        else {
            panic!("pool expected");
        };
        assert_eq!(
            (p.dialect, p.iterations, p.warmup, p.size),
            (scf_local::Dialect::Aws, 5, 1, 64)
        );
        assert_eq!(p.code, Some(PathBuf::from("f.zip")));
        for bad in [
            &["pool", "--iterations", "0"][..],
            &["pool", "--warmup", "0"],
            &["pool", "a", "b"],
            &["profile"],
            &["profile", "x"],
            &["profile", "--api", "gcp", "--", "x"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
