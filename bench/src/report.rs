//! The Markdown report: contenders, both servers' tables (medians with ratios to the floor
//! of the contender's runtime API, then min – max), the cold-start and warm-cost targets with
//! the runtime's size and memory budgets, and the AWS-mode comparison.

use std::fmt::Write as _;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::contenders::{floor_id, Contender, State};
use crate::measure::Sample;
use crate::stats::{format, ratio, Figure, Summary};
use crate::RunResults;
use scf_testkit::is_aws;

/// Today's date, UTC, as `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    scf_local::tc3::utc_date(secs)
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().next().map(str::to_string)
        })
        .unwrap_or_else(|| "not found".into())
}

/// The commit measured, and whether the runtime's files differ from it.
fn revision(root: &std::path::Path) -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match git(&["rev-parse", "--short", "HEAD"]) {
        Some(rev) => {
            let dirty = git(&[
                "status",
                "--porcelain",
                "--",
                "src",
                "examples",
                "Cargo.toml",
            ])
            .is_some_and(|s| !s.is_empty());
            if dirty {
                format!("{rev}, with uncommitted changes in src/, examples/ or Cargo.toml")
            } else {
                rev
            }
        }
        None => "unknown (not a git checkout)".into(),
    }
}

/// Facts about the machine and the tools, for the report.
pub fn machine(root: &std::path::Path) -> Vec<(String, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get().to_string())
        .unwrap_or_else(|_| "?".into());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into());
    vec![
        ("source".into(), revision(root)),
        ("CPU".into(), format!("{cpu}, {cores} cores")),
        ("kernel".into(), format!("Linux {kernel}")),
        ("rustc".into(), first_line("rustc", &["-V"])),
        ("nightly".into(), first_line("rustc", &["+nightly", "-V"])),
        ("musl-gcc".into(), first_line("musl-gcc", &["--version"])),
        ("bash".into(), first_line("bash", &["--version"])),
        ("curl".into(), first_line("curl", &["--version"])),
    ]
}

/// "1 KB", "1 MB" or "16 KB" for an event size.
pub fn size_label(bytes: usize) -> String {
    if bytes >= 1024 * 1024 && bytes % (1024 * 1024) == 0 {
        format!("{} MB", bytes / 1024 / 1024)
    } else if bytes >= 1024 && bytes % 1024 == 0 {
        format!("{} KB", bytes / 1024)
    } else {
        format!("{bytes} B")
    }
}

/// A size in KiB with one decimal.
fn kib(bytes: u64) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Index of the floor that contender `i` is compared with: the floor started for its
/// runtime API.
pub fn floor_of(o: &RunResults, i: usize) -> Option<usize> {
    let id = floor_id(o.contenders[i].dialect);
    o.contenders.iter().position(|c| c.id == id)
}

/// The columns of a server's table: figure and its header.
fn columns(o: &RunResults, emulator: bool) -> Vec<(Figure, String)> {
    let s = size_label(o.config.small.len());
    let l = size_label(o.config.large.len());
    let mut cols = Vec::new();
    if emulator {
        cols.push((Figure::First, "cold invoke".to_string()));
    } else {
        cols.push((Figure::Ready, "exec → ready".to_string()));
        cols.push((Figure::First, "exec → first response".to_string()));
    }
    cols.push((Figure::ColdCpu, "cold CPU".to_string()));
    cols.push((Figure::ColdWait, "cold run-queue wait".to_string()));
    cols.push((Figure::SmallRate, format!("{s}: inv/s")));
    cols.push((Figure::SmallCpu, format!("{s}: CPU/inv")));
    if emulator {
        cols.push((Figure::EmulatorSmallCpu, format!("{s}: scf-local CPU/inv")));
    }
    cols.push((Figure::LargeRate, format!("{l}: inv/s")));
    cols.push((Figure::LargeCpu, format!("{l}: CPU/inv")));
    if emulator {
        cols.push((Figure::EmulatorLargeCpu, format!("{l}: scf-local CPU/inv")));
    }
    cols.push((Figure::RssSmall, format!("peak RSS ({s})")));
    cols.push((Figure::RssLarge, format!("peak RSS ({l})")));
    cols
}

fn table_head(out: &mut String, cols: &[(Figure, String)]) {
    out.push_str("| contender |");
    for (_, h) in cols {
        let _ = write!(out, " {h} |");
    }
    out.push_str("\n|---|");
    for _ in cols {
        out.push_str("---:|");
    }
    out.push('\n');
}

/// Why a contender has no figures.
fn not_measured(c: &Contender, failures: &[String]) -> Option<String> {
    match &c.state {
        State::Ready(_) if failures.is_empty() => None,
        State::Ready(_) => Some(format!("failed: {}", failures[0].replace('|', "\\|"))),
        State::Skipped(why) => Some(format!("skipped: {why}")),
    }
}

/// Medians with ratios, then min – max, for one server's samples.
fn server_tables(out: &mut String, o: &RunResults, samples: &[Vec<Sample>], emulator: bool) {
    let cols = columns(o, emulator);
    let floor_summary = |i: usize, fig: Figure| {
        floor_of(o, i).and_then(|f| fig.summary(&samples[f]).map(|s| s.median))
    };
    out.push_str(
        "Medians, and the ratio of medians to the floor of the same runtime API (`floor` for \
         SCF's, `floor-aws` for AWS's; for inv/s, higher is better; for everything else, \
         lower is better):\n\n",
    );
    table_head(out, &cols);
    for (i, c) in o.contenders.iter().enumerate() {
        let _ = write!(out, "| {} |", c.name);
        if samples[i].is_empty() {
            let why = not_measured(c, &o.failures[i]).unwrap_or_else(|| "no samples".into());
            let _ = write!(out, " {why} |");
            for _ in 1..cols.len() {
                out.push_str(" |");
            }
            out.push('\n');
            continue;
        }
        for (fig, _) in &cols {
            match fig.summary(&samples[i]) {
                Some(s) => {
                    let r = floor_summary(i, *fig)
                        .map(|f| format!(" {}", ratio(s.median, f)))
                        .unwrap_or_default();
                    let _ = write!(out, " {}{r} |", format(fig.unit(), s.median));
                }
                None => out.push_str(" — |"),
            }
        }
        out.push('\n');
    }
    out.push_str("\nSpread, min – max:\n\n");
    table_head(out, &cols);
    for (i, c) in o.contenders.iter().enumerate() {
        if samples[i].is_empty() {
            continue;
        }
        let _ = write!(out, "| {} |", c.name);
        for (fig, _) in &cols {
            match fig.summary(&samples[i]) {
                Some(s) => {
                    let _ = write!(
                        out,
                        " {} – {} |",
                        format(fig.unit(), s.min),
                        format(fig.unit(), s.max)
                    );
                }
                None => out.push_str(" — |"),
            }
        }
        out.push('\n');
    }
    out.push_str("\nSamples per contender (cold / warm): ");
    let counts: Vec<String> = o
        .contenders
        .iter()
        .zip(samples)
        .filter(|(c, _)| c.built().is_some())
        .map(|(c, s)| {
            let warm = s.iter().filter(|s| s.warm.is_some()).count();
            format!("{} {} / {warm}", c.id, s.len())
        })
        .collect();
    out.push_str(&counts.join(", "));
    out.push_str(".\n");
}

/// One target's line: what, the measured ratio, whether it is met.
pub struct Target {
    /// The target as the project states it (bench/README.md, "Targets").
    pub what: String,
    /// What was measured.
    pub measured: String,
    /// Met, missed, or not evaluated (`None`, with the reason in `measured`).
    pub met: Option<bool>,
}

fn median(o: &RunResults, id: &str, fig: Figure) -> Option<f64> {
    let i = o.contenders.iter().position(|c| c.id == id)?;
    fig.summary(&o.harness[i]).map(|s: Summary| s.median)
}

fn built_size(o: &RunResults, id: &str) -> Option<(u64, u64)> {
    o.contenders
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.built())
        .map(|b| (b.size, b.zip_size))
}

/// The cold-start and warm-cost targets (ratios, in-harness server) and the runtime's size and
/// memory budgets.
pub fn targets(o: &RunResults) -> Vec<Target> {
    let mut t = Vec::new();
    let versus = |fig: Figure, a: &str, b: &str| -> Option<f64> {
        Some(median(o, a, fig)? / median(o, b, fig)?)
    };
    let mut ratio_target = |what: &str, r: Option<f64>, ok: &dyn Fn(f64) -> bool| {
        t.push(match r {
            Some(r) => Target {
                what: what.into(),
                measured: format!("×{r:.3}"),
                met: Some(ok(r)),
            },
            None => Target {
                what: what.into(),
                measured: "not measured".into(),
                met: None,
            },
        });
    };
    ratio_target(
        "exec → ready ≤ 1.10 × floor",
        versus(Figure::Ready, "ours", "floor"),
        &|r| r <= 1.10,
    );
    ratio_target(
        "exec → first response ≤ 1.10 × floor",
        versus(Figure::First, "ours", "floor"),
        &|r| r <= 1.10,
    );
    let small = size_label(o.config.small.len());
    ratio_target(
        &format!("warm CPU per {small} invocation ≤ 1.15 × floor"),
        versus(Figure::SmallCpu, "ours", "floor"),
        &|r| r <= 1.15,
    );
    ratio_target(
        &format!("warm CPU per {small} invocation: tencent_scf ≥ 1.5 × ours"),
        versus(Figure::SmallCpu, "tencent_scf", "ours"),
        &|r| r >= 1.5,
    );
    let large = size_label(o.config.large.len());
    if o.config.large.len() >= 1024 * 1024 {
        ratio_target(
            &format!("throughput with {large} events ≥ 0.9 × floor"),
            versus(Figure::LargeRate, "ours", "floor"),
            &|r| r >= 0.9,
        );
    } else {
        t.push(Target {
            what: "throughput with 1 MB events ≥ 0.9 × floor".into(),
            measured: format!("not evaluated: --quick uses {large} events"),
            met: None,
        });
    }
    let kb = |b: u64| format!("{:.1} KiB", b as f64 / 1024.0);
    let mut budget = |what: &str, value: Option<u64>, limit: u64| {
        t.push(match value {
            Some(v) => Target {
                what: what.into(),
                measured: kb(v),
                met: Some(v <= limit),
            },
            None => Target {
                what: what.into(),
                measured: "not measured".into(),
                met: None,
            },
        });
    };
    budget(
        "stable echo bootstrap, stripped ≤ 420 KB",
        built_size(o, "ours").map(|s| s.0),
        420 * 1024,
    );
    budget(
        "nightly min-size echo ≤ 64 KB",
        built_size(o, "ours-min").map(|s| s.0),
        64 * 1024,
    );
    budget(
        &format!("peak RSS after the {small} warm window ≤ 400 KB"),
        median(o, "ours", Figure::RssSmall).map(|v| v as u64),
        400 * 1024,
    );
    t
}

fn targets_table(out: &mut String, o: &RunResults) {
    out.push_str("| target (ours, stable) | measured | met |\n|---|---:|:---:|\n");
    for t in targets(o) {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "—",
        };
        let _ = writeln!(out, "| {} | {} | {met} |", t.what, t.measured);
    }
}

/// One line of the AWS-mode comparison: `a` against `b` in one figure.
pub struct Versus {
    /// What is compared.
    pub what: String,
    /// `a`'s median, written in its unit; "—" when not measured.
    pub a: String,
    /// `b`'s median.
    pub b: String,
    /// `a / b`, or "—".
    pub ratio: String,
}

/// The comparison under AWS's runtime API (in-harness server; no targets are set):
/// ours in AWS mode against the floor in AWS mode, `lambda_runtime` against ours in AWS mode,
/// and what AWS's dialect costs ours against its SCF mode.
pub fn aws_comparison(o: &RunResults) -> Vec<Versus> {
    let s = size_label(o.config.small.len());
    let l = size_label(o.config.large.len());
    let figures = [
        (
            Figure::Ready,
            "exec → ready (AWS: first `/next`)".to_string(),
        ),
        (Figure::First, "exec → first response".to_string()),
        (Figure::ColdCpu, "cold CPU".to_string()),
        (Figure::SmallCpu, format!("warm CPU per {s} invocation")),
        (Figure::SmallRate, format!("{s} inv/s")),
        (Figure::LargeCpu, format!("warm CPU per {l} invocation")),
        (Figure::LargeRate, format!("{l} inv/s")),
        (Figure::RssSmall, format!("peak RSS after the {s} window")),
    ];
    let mut rows = Vec::new();
    let mut versus = |a: &str, b: &str, only: &[Figure]| {
        for (fig, name) in &figures {
            if !only.is_empty() && !only.contains(fig) {
                continue;
            }
            let (ma, mb) = (median(o, a, *fig), median(o, b, *fig));
            let show = |m: Option<f64>| m.map_or("—".into(), |v| format(fig.unit(), v));
            rows.push(Versus {
                what: format!("{name}: {a} / {b}"),
                a: show(ma),
                b: show(mb),
                ratio: match (ma, mb) {
                    (Some(x), Some(y)) => ratio(x, y),
                    _ => "—".into(),
                },
            });
        }
    };
    versus("ours-aws", "floor-aws", &[]);
    versus("lambda_runtime", "ours-aws", &[]);
    versus(
        "lambda_runtime-ct",
        "ours-aws",
        &[
            Figure::First,
            Figure::ColdCpu,
            Figure::SmallCpu,
            Figure::LargeCpu,
            Figure::LargeRate,
        ],
    );
    versus(
        "ours-aws",
        "ours",
        &[
            Figure::First,
            Figure::ColdCpu,
            Figure::SmallCpu,
            Figure::LargeRate,
        ],
    );
    let size = |id: &str| built_size(o, id).map(|(size, _)| size as f64);
    let (a, b) = (size("lambda_runtime"), size("ours-aws"));
    rows.push(Versus {
        what: "stripped bootstrap: lambda_runtime / ours-aws".into(),
        a: a.map_or("—".into(), |v| kib(v as u64)),
        b: b.map_or("—".into(), |v| kib(v as u64)),
        ratio: match (a, b) {
            (Some(x), Some(y)) => ratio(x, y),
            _ => "—".into(),
        },
    });
    rows
}

fn aws_table(out: &mut String, o: &RunResults) {
    // A comparison one side of which was not measured (left out with --only or --skip, or
    // failed) is left out.
    let rows: Vec<Versus> = aws_comparison(o)
        .into_iter()
        .filter(|v| v.ratio != "—")
        .collect();
    if rows.is_empty() {
        out.push_str("Not measured: no contender of AWS's runtime API in this run.\n");
        return;
    }
    out.push_str("| figure: a / b | a | b | a / b |\n|---|---:|---:|---:|\n");
    for v in rows {
        let _ = writeln!(out, "| {} | {} | {} | {} |", v.what, v.a, v.b, v.ratio);
    }
}

/// "Your function's own cost": for each outside contender, its cold and warm figures next to
/// our echo's of the same runtime API (`ours` or `ours-aws`) and the floor's, against the
/// in-harness server; what the handler added is the difference to our echo. Empty when
/// there is no outside contender.
fn own_cost(out: &mut String, o: &RunResults) {
    use crate::stats::Unit;
    let outside: Vec<usize> = (0..o.contenders.len())
        .filter(|&i| crate::outside::is_outside(o.contenders[i].id))
        .collect();
    if outside.is_empty() {
        return;
    }
    let med = |i: Option<usize>, fig: Figure| {
        i.and_then(|i| fig.summary(&o.harness[i]).map(|s| s.median))
    };
    let secs = |v: Option<f64>| v.map(|v| format(Unit::Seconds, v)).unwrap_or("—".into());
    let added = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if a >= b => format!("+{}", format(Unit::Seconds, a - b)),
        (Some(a), Some(b)) => format!("−{}", format(Unit::Seconds, b - a)),
        _ => "—".into(),
    };
    let x_floor = |a: Option<f64>, f: Option<f64>| match (a, f) {
        (Some(a), Some(f)) => ratio(a, f),
        _ => "—".into(),
    };
    out.push_str(
        "| contender | vs | exec → ready | exec → first response | handler added (first − \
         echo's) | warm CPU/inv | handler added (CPU − echo's) | CPU × floor |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for i in outside {
        let c = &o.contenders[i];
        let echo_id = if is_aws(c.dialect) {
            "ours-aws"
        } else {
            "ours"
        };
        let echo = o.contenders.iter().position(|x| x.id == echo_id);
        let floor = floor_of(o, i);
        if o.harness[i].is_empty() {
            let why = not_measured(c, &o.failures[i]).unwrap_or_else(|| "no samples".into());
            let _ = writeln!(out, "| {} | | {why} | | | | | |", c.name);
            continue;
        }
        let echo_first = med(echo, Figure::First);
        let first = med(Some(i), Figure::First);
        let cpu = med(Some(i), Figure::SmallCpu);
        let echo_cpu = med(echo, Figure::SmallCpu);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            c.name,
            if echo_first.is_some() {
                echo_id
            } else {
                "— (echo not measured)"
            },
            secs(med(Some(i), Figure::Ready)),
            secs(first),
            added(first, echo_first),
            secs(cpu),
            added(cpu, echo_cpu),
            x_floor(cpu, med(floor, Figure::SmallCpu)),
        );
    }
}

/// The in-harness table and the targets, for the terminal.
pub fn summary_table(o: &RunResults) -> String {
    let mut out = String::new();
    out.push_str("\nIn-harness runtime API server:\n\n");
    server_tables(&mut out, o, &o.harness, false);
    let mut own = String::new();
    own_cost(&mut own, o);
    if !own.is_empty() {
        out.push_str("\nYour function's own cost (in-harness server):\n\n");
        out.push_str(&own);
    }
    if let Ok(emu) = &o.emulator {
        out.push_str("\nUnder scf-local run:\n\n");
        server_tables(&mut out, o, emu, true);
    }
    out.push('\n');
    targets_table(&mut out, o);
    out.push_str("\nAWS mode (in-harness server):\n\n");
    aws_table(&mut out, o);
    out
}

/// The whole report.
pub fn markdown(o: &RunResults, svg_name: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# SCF Custom Runtime bootstraps, side by side: {}\n",
        o.date
    );
    let args: Vec<String> = std::env::args().skip(1).collect();
    let _ = writeln!(
        out,
        "Command: `cargo run -p scf-bench --release --{}{}` (see `bench/README.md` for how \
         each figure is taken).\n",
        if args.is_empty() { "" } else { " " },
        args.join(" ")
    );
    if o.quick {
        out.push_str(
            "**Quick mode**: few runs, short windows and small events, to check that the \
             harness works. These figures are not the benchmark.\n\n",
        );
    }
    let _ = writeln!(
        out,
        "{} runs per server; each run starts every contender {} times cold (the cold figures) \
         and measures the warm windows in the last of them; contenders interleaved \
         (A B C … A B C …). Warm windows of {} ms after {} (small) and {} (large) unmeasured \
         invocations; events are JSON of {} and {} bytes.\n",
        o.config.runs,
        o.config.cold_extra + 1,
        o.config.window.as_millis(),
        o.config.warmup_small,
        o.config.warmup_large,
        o.config.small.len(),
        o.config.large.len()
    );
    out.push_str("| machine | |\n|---|---|\n");
    for (k, v) in &o.machine {
        let _ = writeln!(out, "| {k} | {v} |");
    }
    let _ = writeln!(out, "\n![chart]({svg_name})\n");

    out.push_str("## Contenders\n\n");
    out.push_str(
        "| contender | runtime API | built with | bootstrap (stripped) | × floor | deploy zip | \
         × floor |\n",
    );
    out.push_str("|---|---|---|---:|---:|---:|---:|\n");
    for c in &o.contenders {
        let api = if is_aws(c.dialect) { "AWS" } else { "SCF" };
        match c.built() {
            Some(b) => {
                let (fs, fz) = built_size(o, floor_id(c.dialect)).unwrap_or((0, 0));
                let note = if c.id == "bash" {
                    " (scripts; bash and curl come with the image)"
                } else {
                    ""
                };
                let _ = writeln!(
                    out,
                    "| {} | {api} | `{}` | {}{note} | {} | {} | {} |",
                    c.name,
                    c.how,
                    kib(b.size),
                    ratio(b.size as f64, fs as f64),
                    kib(b.zip_size),
                    ratio(b.zip_size as f64, fz as f64)
                );
            }
            None => {
                let why = not_measured(c, &[]).unwrap_or_default();
                let how = if c.how.is_empty() {
                    String::new()
                } else {
                    format!("`{}`", c.how)
                };
                let _ = writeln!(out, "| {} | {api} | {how} | {why} | | | |", c.name);
            }
        }
    }
    out.push_str("\nSizes in KiB of 1024 bytes; exact byte counts are printed while building.\n");

    out.push_str("\n## Against the in-harness runtime API server\n\n");
    out.push_str(
        "The bootstrap talks to a minimal runtime API inside the harness (std threads, the \
         `/next` answer prebuilt, a constant answer to every POST), so its own cost \
         dominates; SCF's runtime API or AWS Lambda's, whichever the contender speaks. \
         exec → ready: from just before the harness spawns the process to the moment the \
         whole `POST /runtime/init/ready` is read (AWS has no ready call: to the first \
         `GET /2018-06-01/runtime/invocation/next`); exec → first response: to the whole \
         first posted response (the event was queued before the spawn). CPU/inv: the \
         bootstrap's utime + stime (plus its reaped children's, for bash's curls) over a \
         window, divided by the invocations in it.\n\n",
    );
    server_tables(&mut out, o, &o.harness, false);

    let mut own = String::new();
    own_cost(&mut own, o);
    if !own.is_empty() {
        out.push_str("\n## Your function's own cost\n\n");
        out.push_str(
            "Each outside contender against our echo bootstrap of the same runtime API, \
             on the same event, in the same run (medians, in-harness server). Our echo does \
             nothing but copy the event into its answer, so the difference is what the \
             function itself adds: its handler, its parsing and its size's load time. \
             A negative difference is within the noise or a function that does less than \
             an echo (a short answer to a large event).\n\n",
        );
        out.push_str(&own);
    }

    out.push_str("\n## Under `scf-local run`\n\n");
    match &o.emulator {
        Ok(emu) => {
            out.push_str(
                "The same bootstraps driven through the emulator's `POST /invoke` on one \
                 keep-alive connection, one call at a time; `scf-local run --api aws` for \
                 the contenders of AWS's runtime API. Cold invoke: `POST /invoke` → \
                 result on a freshly started `scf-local run` (the emulator starts the \
                 instance). scf-local CPU/inv: the emulator process's own CPU time per \
                 invocation, the overhead it adds on top of the bootstrap's.\n\n",
            );
            server_tables(&mut out, o, emu, true);
        }
        Err(why) => {
            let _ = writeln!(out, "Not measured: {why}.");
        }
    }

    out.push_str(
        "\n## Targets (ratios to the floor against the in-harness server; the runtime's size \
         and memory budgets)\n\n",
    );
    targets_table(&mut out, o);

    out.push_str("\n## AWS mode (AWS Lambda's runtime API, in-harness server; no targets set)\n\n");
    out.push_str(
        "Our bootstrap started with `AWS_LAMBDA_RUNTIME_API` against the floor started the \
         same way, `lambda_runtime` against ours, and ours in AWS mode against ours in SCF \
         mode. Medians of the in-harness tables above. Under AWS's runtime API there is no \
         ready call: exec → ready is to the first `GET /2018-06-01/runtime/invocation/next` \
         read in full.\n\n",
    );
    aws_table(&mut out, o);

    let failed: Vec<String> = o
        .contenders
        .iter()
        .zip(&o.failures)
        .flat_map(|(c, f)| f.iter().map(move |e| format!("- {}: {e}", c.id)))
        .collect();
    if !failed.is_empty() {
        out.push_str("\n## Failed samples\n\n");
        out.push_str(&failed.join("\n"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn today_is_a_date() {
        let today = today();
        let parts: Vec<&str> = today.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [4, 2, 2],
            "{today}"
        );
        assert!(
            today.bytes().all(|b| b.is_ascii_digit() || b == b'-'),
            "{today}"
        );
    }

    #[test]
    fn size_labels() {
        assert_eq!(size_label(1024), "1 KB");
        assert_eq!(size_label(1024 * 1024), "1 MB");
        assert_eq!(size_label(16 * 1024), "16 KB");
        assert_eq!(size_label(100), "100 B");
    }
}
