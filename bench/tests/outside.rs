//! Outside contenders end to end through the `scf-bench` binary: a bootstrap given as a
//! file, a code directory and a zip is measured like the built-in ones; one that never
//! reports ready, one that crashes and one that answers wrongly are reported as failed, with
//! their log tails, and the run ends (every wait is bounded by `--timeout`).
//!
//! Kept short: `--quick --runs 1`, the in-harness server only, `--only floor`. Needs
//! musl-gcc (the floor), bash and curl (`scripts/setup.sh` installs them).

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("outside-{name}"));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The floor, compiled here: an echo bootstrap that speaks both runtime APIs.
fn floor(dir: &Path) -> PathBuf {
    let bin = dir.join("floor-bin");
    let status = Command::new("musl-gcc")
        .args(["-static", "-Os", "-s", "-o"])
        .arg(&bin)
        .arg(root().join("bench/contenders/floor/bootstrap.c"))
        .status()
        .expect("musl-gcc (apt-get install -y musl-tools; scripts/setup.sh does)");
    assert!(status.success());
    bin
}

fn executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt as _;
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `scf-bench --quick --runs 1 --no-emulator --only floor --out <dir>/out ARGS…`; fails
/// the test if it has not ended within three minutes. Exit success, and the report.
fn bench(dir: &Path, args: &[String]) -> (bool, String, String) {
    let out = dir.join("out");
    let output = scf_testkit::process::run_bounded(
        Command::new(env!("CARGO_BIN_EXE_scf-bench"))
            .args(["--quick", "--runs", "1", "--no-emulator", "--no-nice"])
            .args(["--only", "floor", "--out"])
            .arg(&out)
            .args(args)
            .stdin(Stdio::null()),
        Duration::from_secs(180),
    );
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let report = fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .find(|e| e.path().extension().is_some_and(|x| x == "md"))
        .map(|e| fs::read_to_string(e.path()).unwrap())
        .unwrap_or_else(|| panic!("no report written; stderr:\n{stderr}"));
    assert!(out.read_dir().unwrap().any(|e| e
        .unwrap()
        .path()
        .extension()
        .is_some_and(|x| x == "svg")));
    (output.status.success(), report, stderr)
}

/// The report's row of `name` in its first table that has one.
fn row<'a>(report: &'a str, name: &str) -> &'a str {
    let start = format!("| {name} |");
    report
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no row for {name} in:\n{report}"))
}

#[test]
fn file_directory_and_zip_are_measured_like_the_built_in_ones() {
    let dir = scratch("kinds");
    let bin = floor(&dir);
    let code = dir.join("code");
    fs::create_dir_all(&code).unwrap();
    fs::copy(&bin, code.join("bootstrap")).unwrap();
    let zip = dir.join("fn.zip");
    {
        use zip::write::SimpleFileOptions;
        let mut w = zip::ZipWriter::new(fs::File::create(&zip).unwrap());
        w.start_file(
            "bootstrap",
            SimpleFileOptions::default().unix_permissions(0o755),
        )
        .unwrap();
        w.write_all(&fs::read(&bin).unwrap()).unwrap();
        w.finish().unwrap();
    }
    let (ok, report, stderr) = bench(
        &dir,
        &[
            format!("--contender=as-file={},check=echo", bin.display()),
            format!("--contender=as-dir={},check=echo", code.display()),
            format!("--contender=as-zip={},api=aws,check=echo", zip.display()),
        ],
    );
    assert!(ok, "{stderr}");
    for (name, kind, api) in [
        ("as-file", "bootstrap file", "SCF"),
        ("as-dir", "code directory", "SCF"),
        ("as-zip", "deploy zip", "AWS"),
    ] {
        let r = row(&report, name);
        assert!(r.contains(kind) && r.contains(&format!("| {api} |")), "{r}");
        // Measured: a row of the "own cost" table with a first response in it.
        let own = report
            .split("## Your function's own cost")
            .nth(1)
            .expect("own cost section");
        let line = row(own, name);
        assert!(!line.contains("failed"), "{line}");
        assert!(line.contains('s'), "{line}");
    }
    // The AWS contender brought its floor along.
    assert!(report.contains("| floor (C, AWS mode) | AWS |"), "{report}");
}

#[test]
fn misbehaving_contenders_are_reported_not_hung() {
    let dir = scratch("bad");
    let no_ready = dir.join("no-ready");
    executable(
        &no_ready,
        "#!/bin/sh\necho waiting for nothing\nexec sleep 600\n",
    );
    let crash = dir.join("crash");
    executable(&crash, "#!/bin/sh\necho about to fall over >&2\nexit 3\n");
    // The bash bootstrap with a handler that answers something else than the echo.
    let wrong = dir.join("wrong");
    fs::create_dir_all(&wrong).unwrap();
    fs::copy(
        root().join("bench/contenders/bash/bootstrap"),
        wrong.join("bootstrap"),
    )
    .unwrap();
    executable(
        &wrong.join("index.sh"),
        "function main_handler () {\n  echo 'not an echo' 1>&2\n  echo 'something else'\n}\n",
    );
    let (ok, report, stderr) = bench(
        &dir,
        &[
            "--timeout".into(),
            "2".into(),
            format!("--contender=no-ready={}", no_ready.display()),
            format!("--contender=crash={}", crash.display()),
            format!("--contender=wrong={},check=echo", wrong.display()),
        ],
    );
    assert!(!ok, "failures must fail the run:\n{stderr}");
    let own = report
        .split("## Your function's own cost")
        .nth(1)
        .expect("own cost section");
    let cases = [
        ("no-ready", "timed out after 2s", "waiting for nothing"),
        ("crash", "the bootstrap exited", "about to fall over"),
        ("wrong", "wrong result", "not an echo"),
    ];
    for (name, why, tail) in cases {
        let line = row(own, name);
        assert!(line.contains(why) && line.contains(tail), "{line}");
    }
    // The floor was measured all the same.
    assert!(!row(&report, "floor (C, musl-gcc -Os)").contains("failed"));
}

#[test]
fn bad_contender_arguments_are_refused_before_anything_runs() {
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_scf-bench"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    for (args, says) in [
        (&["--contender", "ours=x"][..], "built-in"),
        (&["--contender", "x"], "NAME=PATH"),
        (&["--contender", "a=x,api=gcp"], "unknown option"),
        (&["--contender", "a=/nonexistent/bootstrap"], "nonexistent"),
        (&["--event-example", "nope"], "no sample event"),
        (&["--only", "nope"], "no built-in contender"),
    ] {
        let out = run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(says),
            "{args:?}: {err}"
        );
    }
}
