//! The contenders: how each `bootstrap` is built, where its code directory is, how big its
//! binary and its deploy zip are.
//!
//! Every contender ends up as a code directory `<target>/bench/<id>/` holding an executable
//! `bootstrap` (plus `index.sh` for bash), which is what both the in-harness server and
//! `scf-local run` start, and a deploy zip `<target>/bench/<id>.zip` made like the
//! platform wants it (`bootstrap` at the root, mode 0755).
//!
//! Each contender speaks one runtime API ([`Dialect`]). Ours and the floor speak both (the
//! same binary picks AWS's when started with `AWS_LAMBDA_RUNTIME_API`), so each appears twice:
//! `ours` and `ours-aws`, `floor` and `floor-aws`. `lambda_runtime` speaks AWS's only; it is
//! measured as its README writes a function (`lambda_runtime`) and with tokio's
//! single-threaded scheduler (`lambda_runtime-ct`).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use scf_local::Dialect;

use crate::Workspace;
use scf_testkit::{is_aws, SCF};

/// The musl target every compiled contender is built for.
const MUSL: &str = "x86_64-unknown-linux-musl";

/// What `cargo lambda build --release` adds for x86_64 besides its release profile (which the
/// contender's Cargo.toml spells out): Lambda's x86_64 CPU, as a rustflag.
const LAMBDA_RUSTFLAGS: &str = "-C target-cpu=haswell";

/// One runtime in the comparison.
pub struct Contender {
    /// Short name, used in progress lines, file names and the chart.
    pub id: &'static str,
    /// Name in the report.
    pub name: &'static str,
    /// The runtime API it speaks.
    pub dialect: Dialect,
    /// How it is built, for the report.
    pub how: String,
    /// Its answers are checked against the echo contract (`Echoing request: '<event>'`);
    /// otherwise any response is accepted (an outside contender's, by default).
    pub echo: bool,
    /// Built or skipped.
    pub state: State,
}

/// Whether a contender can be measured.
pub enum State {
    /// Built and ready to run.
    Ready(Built),
    /// Could not be built here; the reason is printed and written in the report.
    Skipped(String),
}

/// A built contender.
pub struct Built {
    /// The code directory (`bootstrap` at its root).
    pub dir: PathBuf,
    /// Stripped size of the bootstrap binary, or of the scripts for bash.
    pub size: u64,
    /// Size of the deploy zip.
    pub zip_size: u64,
    /// The unpacked package an outside contender runs from (its temporary directory lives
    /// as long as this).
    pub package: Option<scf_local::Package>,
}

/// The id of the floor that contenders of `dialect` are compared with: the same C bootstrap,
/// started for that dialect.
pub fn floor_id(dialect: Dialect) -> &'static str {
    if is_aws(dialect) {
        "floor-aws"
    } else {
        "floor"
    }
}

/// Every contender: id, name in the report, dialect. SCF's first, then AWS's.
pub const ALL: &[(&str, &str, Dialect)] = &[
    ("ours", "ours (stable)", SCF),
    ("ours-min", "ours (nightly min-size)", SCF),
    ("floor", "floor (C, musl-gcc -Os)", SCF),
    ("tencent_scf", "tencent_scf 0.1.3", SCF),
    ("bash", "bash + curl", SCF),
    ("ours-aws", "ours (stable, AWS mode)", Dialect::Aws),
    ("floor-aws", "floor (C, AWS mode)", Dialect::Aws),
    ("lambda_runtime", "lambda_runtime 1.5", Dialect::Aws),
    (
        "lambda_runtime-ct",
        "lambda_runtime 1.5 (current_thread)",
        Dialect::Aws,
    ),
];

impl Contender {
    /// The built contender, if it is ready.
    pub fn built(&self) -> Option<&Built> {
        match &self.state {
            State::Ready(b) => Some(b),
            _ => None,
        }
    }
}

/// Builds every contender, printing what it runs. Only a missing floor is an error: without
/// it no ratio means anything.
///
/// `keep` decides which of them are built (the others are left out of the run and its
/// report); the floors of the dialects in `need_floors` are built whatever `keep` says.
pub fn build_all(
    ws: &Workspace,
    keep: &dyn Fn(&str) -> bool,
    need_floors: &[Dialect],
) -> Result<Vec<Contender>, String> {
    let bench_dir = ws.target.join("bench");
    fs::create_dir_all(&bench_dir).map_err(|e| format!("{}: {e}", bench_dir.display()))?;
    let mut all = Vec::new();
    for &(id, name, dialect) in ALL {
        let floor_needed = id == "floor" || need_floors.iter().any(|&d| floor_id(d) == id);
        // Left out with --skip or --only: not in the run, nor in its report.
        if !keep(id) && !floor_needed {
            eprintln!("   {id}: left out");
            continue;
        }
        let (how, state) = {
            eprintln!("== building {name}");
            let (how, result) = build(ws, id);
            let state = match result {
                Ok(files) => State::Ready(finish(ws, id, &files)?),
                Err(NotBuilt::Skipped(why)) => {
                    if id == "floor" {
                        return Err(format!("the floor could not be built: {why}"));
                    }
                    State::Skipped(why)
                }
            };
            (how, state)
        };
        match &state {
            State::Ready(b) => eprintln!(
                "   {id}: bootstrap {} bytes, zip {} bytes",
                b.size, b.zip_size
            ),
            State::Skipped(why) => eprintln!("   {id}: skipped: {why}"),
        }
        all.push(Contender {
            id,
            name,
            dialect,
            how,
            echo: true,
            state,
        });
    }
    Ok(all)
}

/// Builds the contender `id`: how, and its files or why not.
fn build(ws: &Workspace, id: &str) -> (String, Result<Files, NotBuilt>) {
    match id {
        // The AWS modes are the same binaries, started with AWS_LAMBDA_RUNTIME_API.
        "ours" | "ours-aws" => build_ours(ws),
        "ours-min" => build_ours_min(ws),
        "floor" | "floor-aws" => build_floor(ws),
        "tencent_scf" => build_tencent_scf(ws),
        "bash" => build_bash(ws),
        "lambda_runtime" => build_lambda_runtime(ws, false),
        _ => build_lambda_runtime(ws, true),
    }
}

/// Builds the one contender `id` (one of [`ALL`]'s) into its code directory.
pub fn build_one(ws: &Workspace, id: &str) -> Result<Built, String> {
    let (_, name, _) = ALL
        .iter()
        .find(|c| c.0 == id)
        .ok_or_else(|| format!("no contender {id}"))?;
    eprintln!("== building {name}");
    match build(ws, id).1 {
        Ok(files) => finish(ws, id, &files),
        Err(NotBuilt::Skipped(why)) => Err(format!("{id} could not be built: {why}")),
    }
}

/// Why a contender is not built.
enum NotBuilt {
    Skipped(String),
}

/// Files of a built contender: `(name in the code directory, source path, executable)`.
type Files = Vec<(&'static str, PathBuf, bool)>;

/// Runs a build command, its output going to our stderr.
fn run(cmd: &mut Command) -> Result<(), NotBuilt> {
    eprintln!("   $ {}", show(cmd));
    let status = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::inherit())
        .stderr(Stdio::inherit())
        .status()
        .map_err(|e| NotBuilt::Skipped(format!("cannot run {:?}: {e}", cmd.get_program())))?;
    if status.success() {
        Ok(())
    } else {
        Err(NotBuilt::Skipped(format!(
            "`{}` failed ({status})",
            show(cmd)
        )))
    }
}

fn show(cmd: &Command) -> String {
    let mut s = String::new();
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            s += &format!("{}=\"{}\" ", k.to_string_lossy(), v.to_string_lossy());
        }
    }
    s += &cmd.get_program().to_string_lossy();
    for a in cmd.get_args() {
        s.push(' ');
        s += &a.to_string_lossy();
    }
    s
}

/// `cargo` through rustup's proxy (so `+nightly` works), without flags from the caller's
/// environment: the contenders' flags come from `.cargo/config.toml` or are given here.
fn cargo(ws: &Workspace) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&ws.root)
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .env_remove("RUSTC")
        .env_remove("RUSTC_WRAPPER")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

fn build_ours(ws: &Workspace) -> (String, Result<Files, NotBuilt>) {
    let how =
        format!("cargo bootstrap --example echo (cargo build --profile bootstrap --target {MUSL})");
    let result = run(cargo(ws)
        .args([
            "build",
            "--profile",
            "bootstrap",
            "--target",
            MUSL,
            "--example",
            "echo",
            // Where `cargo metadata` said (CARGO_TARGET_DIR is taken out of the environment).
            "--target-dir",
        ])
        .arg(&ws.target))
    .map(|()| {
        let bin = ws.target.join(MUSL).join("bootstrap/examples/echo");
        vec![("bootstrap", bin, true)]
    });
    (how, result)
}

fn build_ours_min(ws: &Workspace) -> (String, Result<Files, NotBuilt>) {
    // The project's documented min-size build: the `min-size` alias of the root
    // `.cargo/config.toml` (build-std, immediate-abort panics, no unwind tables, opt-level z;
    // its own target dir, target/min-size).
    let how = "cargo +nightly min-size --example echo".to_string();
    let result = nightly_ready().and_then(|()| {
        let dir = ws.root.join("target/min-size");
        run(cargo(ws).args(["+nightly", "min-size", "--example", "echo"]))?;
        Ok(vec![(
            "bootstrap",
            dir.join(MUSL).join("bootstrap/examples/echo"),
            true,
        )])
    });
    (how, result)
}

/// The min-size build needs the nightly toolchain with `rust-src` and musl's `rust-std`.
fn nightly_ready() -> Result<(), NotBuilt> {
    let out = Command::new("rustup")
        .args(["run", "nightly", "rustc", "--print", "sysroot"])
        .stderr(Stdio::null())
        .output()
        .map_err(|e| NotBuilt::Skipped(format!("no rustup ({e}), so no nightly toolchain")))?;
    if !out.status.success() {
        return Err(NotBuilt::Skipped(
            "the nightly toolchain is not installed (rustup toolchain install nightly)".into(),
        ));
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let lib = sysroot.join("lib/rustlib");
    if !lib.join("src/rust/library/std").is_dir() {
        return Err(NotBuilt::Skipped(
            "nightly has no rust-src (rustup component add rust-src --toolchain nightly)".into(),
        ));
    }
    if !lib.join(MUSL).is_dir() {
        return Err(NotBuilt::Skipped(format!(
            "nightly has no {MUSL} target (rustup target add {MUSL} --toolchain nightly)"
        )));
    }
    Ok(())
}

fn build_floor(ws: &Workspace) -> (String, Result<Files, NotBuilt>) {
    let how = "musl-gcc -static -Os -s bench/contenders/floor/bootstrap.c (one binary for \
               both runtime APIs)"
        .to_string();
    let out_dir = ws.target.join("bench/build");
    let bin = out_dir.join("floor");
    let result = fs::create_dir_all(&out_dir)
        .map_err(|e| NotBuilt::Skipped(format!("{}: {e}", out_dir.display())))
        .and_then(|()| {
            run(Command::new("musl-gcc")
                .args(["-static", "-Os", "-s", "-o"])
                .arg(&bin)
                .arg(ws.root.join("bench/contenders/floor/bootstrap.c")))
            .map_err(|NotBuilt::Skipped(why)| {
                NotBuilt::Skipped(format!(
                    "{why} (musl-gcc comes with `apt-get install -y musl-tools`)"
                ))
            })
        })
        .map(|()| vec![("bootstrap", bin.clone(), true)]);
    (how, result)
}

fn build_tencent_scf(ws: &Workspace) -> (String, Result<Files, NotBuilt>) {
    let how = format!(
        "cargo build --release --target {MUSL} --manifest-path \
         bench/contenders/tencent-scf/Cargo.toml (opt-level s, lto, codegen-units 1, \
         panic abort, strip; default features off)"
    );
    let dir = ws.target.join("bench/cargo");
    let result = run(cargo(ws)
        .args(["build", "--release", "--target", MUSL, "--manifest-path"])
        .arg(ws.root.join("bench/contenders/tencent-scf/Cargo.toml"))
        .arg("--target-dir")
        .arg(&dir))
    .map(|()| vec![("bootstrap", dir.join(MUSL).join("release/bootstrap"), true)]);
    (how, result)
}

/// The `lambda_runtime` echo crate, as its README writes it or (`current_thread`) with tokio's
/// single-threaded scheduler.
fn build_lambda_runtime(ws: &Workspace, current_thread: bool) -> (String, Result<Files, NotBuilt>) {
    let features: &[&str] = if current_thread {
        &["--features", "current-thread"]
    } else {
        &[]
    };
    let how = format!(
        "RUSTFLAGS=\"{LAMBDA_RUSTFLAGS}\" cargo build --release --target {MUSL} --manifest-path \
         bench/contenders/lambda-runtime/Cargo.toml{}{} (cargo lambda's release profile: strip, \
         thin LTO, codegen-units 1, panic abort; opt-level 3; musl's default static PIE)",
        if current_thread { " " } else { "" },
        features.join(" ")
    );
    // One target directory each, so that neither build undoes the other's.
    let dir = ws.target.join(if current_thread {
        "bench/cargo-lambda-runtime-ct"
    } else {
        "bench/cargo-lambda-runtime"
    });
    // RUSTFLAGS replaces the root's musl rustflags (static non-PIE, -z noseparate-code): this
    // contender is built the way `cargo lambda build --release` builds it, not like ours.
    let result = run(cargo(ws)
        .env("RUSTFLAGS", LAMBDA_RUSTFLAGS)
        .args(["build", "--release", "--target", MUSL, "--manifest-path"])
        .arg(ws.root.join("bench/contenders/lambda-runtime/Cargo.toml"))
        .args(features)
        .arg("--target-dir")
        .arg(&dir))
    .map(|()| vec![("bootstrap", dir.join(MUSL).join("release/bootstrap"), true)]);
    (how, result)
}

fn build_bash(ws: &Workspace) -> (String, Result<Files, NotBuilt>) {
    let how =
        "bench/contenders/bash/{bootstrap,index.sh}; needs bash and curl on the image".to_string();
    let have = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    };
    let result = if !have("bash") || !have("curl") {
        Err(NotBuilt::Skipped("bash or curl is not installed".into()))
    } else {
        let src = ws.root.join("bench/contenders/bash");
        Ok(vec![
            ("bootstrap", src.join("bootstrap"), true),
            ("index.sh", src.join("index.sh"), true),
        ])
    };
    (how, result)
}

/// Copies the files into the code directory, measures them and writes the deploy zip.
fn finish(ws: &Workspace, id: &str, files: &Files) -> Result<Built, String> {
    let dir = ws.target.join("bench").join(id);
    // A fresh directory: nothing left from an older layout ends up in the zip.
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut size = 0;
    for (name, src, _) in files {
        let dst = dir.join(name);
        fs::copy(src, &dst).map_err(|e| format!("copy {}: {e}", src.display()))?;
        size += if src.extension().is_some_and(|e| e == "sh") || id == "bash" {
            file_size(&dst)?
        } else {
            stripped_size(&dst)?
        };
    }
    let zip = ws.target.join("bench").join(format!("{id}.zip"));
    package(files, &dir, &zip)?;
    Ok(Built {
        dir,
        size,
        zip_size: file_size(&zip)?,
        package: None,
    })
}

pub fn file_size(path: &Path) -> Result<u64, String> {
    fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Size after `strip --strip-all` of a copy (the size of the file if `strip` is missing;
/// every compiled contender is built stripped anyway).
pub fn stripped_size(bin: &Path) -> Result<u64, String> {
    let copy = bin.with_extension("stripped");
    let ok = Command::new("strip")
        .arg("--strip-all")
        .arg("-o")
        .arg(&copy)
        .arg(bin)
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let size = if ok { file_size(&copy) } else { file_size(bin) };
    let _ = fs::remove_file(&copy);
    size
}

/// Writes the deploy zip: each file at the root, deflated, `bootstrap` with mode 0755.
fn package(files: &Files, dir: &Path, out: &Path) -> Result<(), String> {
    let err = |e: &dyn std::fmt::Display| format!("{}: {e}", out.display());
    let file = fs::File::create(out).map_err(|e| err(&e))?;
    let mut zip = zip::ZipWriter::new(file);
    for (name, _, executable) in files {
        let mode = if *executable { 0o755 } else { 0o644 };
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .unix_permissions(mode);
        let data = fs::read(dir.join(name)).map_err(|e| err(&e))?;
        zip.start_file(*name, options).map_err(|e| err(&e))?;
        zip.write_all(&data).map_err(|e| err(&e))?;
    }
    zip.finish().map_err(|e| err(&e))?;
    Ok(())
}
