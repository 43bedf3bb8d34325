//! `cargo scf bench`: builds the crate's bootstrap as `cargo scf build` does and measures it
//! against the floor (a minimal C bootstrap) and the runtime's own echo bootstrap, with the
//! project's benchmark harness, `scf-bench`.
//!
//! `scf-bench` is not published: it needs the runtime's source tree, where the floor and the
//! echo are built from. cargo-scf finds it, in this order:
//!
//! 1. `SCF_BENCH`: the path of an `scf-bench` binary (built in a checkout that still exists);
//! 2. the checkout cargo-scf was built from (`cargo install --path cargo-scf` in a clone, the
//!    same checkout `cargo scf new` records): `cargo run -p scf-bench` there (`--release`
//!    unless `--quick`);
//! 3. `scf-bench` on the `PATH`.
//!
//! The stable build always runs; the `--min-size` build too when the nightly toolchain has
//! what it needs (and not with `--quick` or `--no-min-size`). Each is an outside contender of
//! the harness (`--contender NAME=PATH`); the report (`<date>.md` and `<date>.svg`) is
//! written to `<target-dir>/scf/<package>/bench/`, the table printed on stdout, progress
//! on stderr.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use clap::Args;

use crate::build::{self, BuildOptions};
use crate::cli::ApiChoice;
use crate::{progress, toolchain, Error};

/// Where this cargo-scf was built from: the runtime's checkout is the folder above its
/// manifest (as `cargo scf new` assumes too).
const CHECKOUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// `cargo scf bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// A short run (2 samples, 50 ms windows, small events): checks that it works; the
    /// figures are not a benchmark.
    #[arg(long)]
    pub quick: bool,
    /// Samples per contender (the harness's default: 20, or 2 with --quick).
    #[arg(long, value_name = "N")]
    pub runs: Option<usize>,
    /// The runtime API the bootstrap speaks (and so the floor and echo it is compared with).
    #[arg(long, value_enum, default_value_t = ApiChoice::Scf)]
    pub api: ApiChoice,
    /// The event every contender gets: a JSON file (default: the harness's 1 KB and 1 MB
    /// events).
    #[arg(long, value_name = "FILE", conflicts_with = "event_example")]
    pub event: Option<PathBuf>,
    /// The event every contender gets: a trigger's sample (apigw, timer, cos, …).
    #[arg(long, value_name = "NAME")]
    pub event_example: Option<String>,
    /// Change a field of the event: PATH=VALUE; repeatable.
    #[arg(long, value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// Do not build and measure the nightly `--min-size` bootstrap.
    #[arg(long)]
    pub no_min_size: bool,
    /// Measure under `scf-local run` too (longer).
    #[arg(long)]
    pub emulator: bool,
    /// The binary to build, when the package has several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// The crate's Cargo.toml (default: found from the current folder).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

/// How the harness is run: the program and its first arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Harness {
    /// The program.
    pub program: PathBuf,
    /// Arguments before the harness's own.
    pub args: Vec<String>,
    /// Where it was found, for the progress line.
    pub origin: String,
}

/// Finds the harness: `SCF_BENCH`, the checkout at `checkout`, or `scf-bench` on the `PATH`.
pub fn find_harness(
    scf_bench: Option<PathBuf>,
    checkout: &Path,
    release: bool,
) -> Result<Harness, Error> {
    if let Some(bin) = scf_bench {
        if !bin.is_file() {
            return Err(Error::new(format!(
                "SCF_BENCH={}: no such file",
                bin.display()
            )));
        }
        return Ok(Harness {
            origin: format!("{} (SCF_BENCH)", bin.display()),
            program: bin,
            args: Vec::new(),
        });
    }
    let manifest = checkout.join("Cargo.toml");
    if checkout.join("bench/Cargo.toml").is_file() && manifest.is_file() {
        let mut args = vec!["run".to_owned(), "-q".to_owned()];
        if release {
            args.push("--release".into());
        }
        args.extend([
            "--manifest-path".into(),
            manifest.display().to_string(),
            "-p".into(),
            "scf-bench".into(),
            "--".into(),
        ]);
        return Ok(Harness {
            program: std::env::var_os("CARGO")
                .map(PathBuf::from)
                .unwrap_or_else(|| "cargo".into()),
            args,
            origin: format!(
                "the checkout cargo-scf was built from, {}",
                checkout.display()
            ),
        });
    }
    let on_path = Command::new("scf-bench")
        .arg("--help")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if on_path {
        return Ok(Harness {
            program: "scf-bench".into(),
            args: Vec::new(),
            origin: "scf-bench on the PATH".into(),
        });
    }
    Err(Error::new(format!(
        "cannot find the benchmark harness: cargo-scf was not built in a scf-bootstrap \
         checkout (none at {}), SCF_BENCH is not set and there is no scf-bench on the PATH. \
         Clone the runtime's repository and run `cargo install --path cargo-scf` there, or \
         set SCF_BENCH to an scf-bench built in a clone",
        checkout.display()
    )))
}

/// A contender name from the package name: at most 28 characters (the harness takes 32;
/// `-min` is added for the min-size build).
pub fn contender_name(package: &str) -> String {
    let name: String = package
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(28)
        .collect();
    // The harness keeps its own contenders' names.
    match name.as_str() {
        "ours" | "floor" | "bash" | "tencent_scf" | "lambda_runtime" => format!("{name}-fn"),
        _ => name,
    }
}

/// The harness's arguments for one run.
pub fn harness_args(a: &BenchArgs, contenders: &[(String, PathBuf)], out: &Path) -> Vec<String> {
    let aws = a.api == ApiChoice::Aws;
    let mut args = vec![
        "--only".to_owned(),
        if aws { "ours-aws" } else { "ours" }.to_owned(),
        "--out".to_owned(),
        out.display().to_string(),
    ];
    if a.quick {
        args.push("--quick".into());
    }
    if let Some(n) = a.runs {
        args.extend(["--runs".into(), n.to_string()]);
    }
    if !a.emulator {
        args.push("--no-emulator".into());
    }
    for (name, path) in contenders {
        let api = if aws { ",api=aws" } else { "" };
        args.push(format!("--contender={name}={}{api}", path.display()));
    }
    if let Some(e) = &a.event {
        args.extend(["--event".into(), e.display().to_string()]);
    }
    if let Some(e) = &a.event_example {
        args.extend(["--event-example".into(), e.clone()]);
    }
    for s in &a.set {
        args.extend(["--set".into(), s.clone()]);
    }
    args
}

/// Copies a built bootstrap to `dir/<name>` (the next build overwrites the original).
fn keep(bootstrap: &Path, dir: &Path, name: &str) -> Result<PathBuf, Error> {
    let to = dir.join(name);
    fs::copy(bootstrap, &to).map_err(|e| {
        Error::new(format!(
            "copy {} to {}: {e}",
            bootstrap.display(),
            to.display()
        ))
    })?;
    Ok(to)
}

/// `cargo scf bench`.
pub fn bench(a: BenchArgs) -> Result<ExitCode, Error> {
    let harness = find_harness(
        std::env::var_os("SCF_BENCH").map(PathBuf::from),
        Path::new(CHECKOUT),
        !a.quick,
    )?;
    progress("Building", "the stable bootstrap (cargo scf build)");
    let built = build::build(&BuildOptions {
        manifest_path: a.manifest_path.clone(),
        min_size: false,
        bin: a.bin.clone(),
        stopper: None,
        image: None,
    })?;
    let scf_dir = built
        .bootstrap
        .parent()
        .ok_or_else(|| Error::new("the bootstrap has no folder"))?
        .to_path_buf();
    let bins = scf_dir.join("bench/bootstraps");
    fs::create_dir_all(&bins).map_err(|e| Error::new(format!("{}: {e}", bins.display())))?;
    let name = contender_name(&built.project.package);
    let mut contenders = vec![(name.clone(), keep(&built.bootstrap, &bins, "stable")?)];
    progress(
        "Built",
        &format!(
            "{} ({})",
            built.bootstrap.display(),
            crate::human_size(built.size)
        ),
    );

    let min_size_skipped = if a.quick {
        Some("left out with --quick".to_owned())
    } else if a.no_min_size {
        Some("left out with --no-min-size".to_owned())
    } else {
        let dir = built
            .project
            .manifest_path
            .parent()
            .unwrap_or(Path::new("."));
        let nightly = toolchain::nightly(dir).ok().flatten();
        toolchain::min_size_problem(nightly.as_ref())
    };
    match min_size_skipped {
        Some(why) => progress("Skipping", &format!("the --min-size bootstrap: {why}")),
        None => {
            progress("Building", "the --min-size bootstrap (nightly)");
            let min = build::build(&BuildOptions {
                manifest_path: a.manifest_path.clone(),
                min_size: true,
                bin: a.bin.clone(),
                stopper: None,
                image: None,
            })?;
            contenders.push((
                format!("{name}-min"),
                keep(&min.bootstrap, &bins, "min-size")?,
            ));
        }
    }

    let out = scf_dir.join("bench");
    progress(
        "Benchmarking",
        &format!("against the floor and our echo with {}", harness.origin),
    );
    let status = Command::new(&harness.program)
        .args(&harness.args)
        .args(harness_args(&a, &contenders, &out))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| Error::new(format!("cannot run {}: {e}", harness.program.display())))?;
    if !status.success() {
        return Err(Error::new(format!(
            "the benchmark failed ({status}); its report, if it got that far, is in {}",
            out.display()
        )));
    }
    progress(
        "Wrote",
        &format!("the report and chart in {}", out.display()),
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> BenchArgs {
        use clap::Parser;
        #[derive(Parser)]
        struct P {
            #[command(flatten)]
            a: BenchArgs,
        }
        P::try_parse_from(std::iter::once("bench").chain(extra.iter().copied()))
            .unwrap()
            .a
    }

    #[test]
    fn harness_arguments() {
        let c = vec![("hello".to_owned(), PathBuf::from("t/stable"))];
        let a = args(&["--quick"]);
        assert_eq!(
            harness_args(&a, &c, Path::new("o")),
            [
                "--only",
                "ours",
                "--out",
                "o",
                "--quick",
                "--no-emulator",
                "--contender=hello=t/stable"
            ]
        );
        let a = args(&[
            "--api",
            "aws",
            "--runs",
            "3",
            "--emulator",
            "--event-example",
            "apigw",
            "--set",
            "path=/x",
        ]);
        assert_eq!(
            harness_args(&a, &c, Path::new("o")),
            [
                "--only",
                "ours-aws",
                "--out",
                "o",
                "--runs",
                "3",
                "--contender=hello=t/stable,api=aws",
                "--event-example",
                "apigw",
                "--set",
                "path=/x"
            ]
        );
    }

    #[test]
    fn contender_names() {
        assert_eq!(contender_name("hello-scf"), "hello-scf");
        assert_eq!(contender_name("ours"), "ours-fn");
        assert_eq!(contender_name(&"x".repeat(40)).len(), 28);
    }

    #[test]
    fn the_harness_is_found_in_order() {
        let checkout = Path::new(CHECKOUT);
        let h = find_harness(None, checkout, false).unwrap();
        assert!(h.args.contains(&"scf-bench".to_owned()), "{h:?}");
        assert!(!h.args.contains(&"--release".to_owned()));
        assert!(find_harness(None, checkout, true)
            .unwrap()
            .args
            .contains(&"--release".to_owned()));
        let err = find_harness(Some("/nonexistent/scf-bench".into()), checkout, true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("SCF_BENCH"), "{err}");
        let own = std::env::current_exe().unwrap();
        let h = find_harness(Some(own.clone()), checkout, true).unwrap();
        assert_eq!((h.program, h.args.len()), (own, 0));
    }
}
