//! `cargo scf bench --quick` on a crate made by `cargo scf new`: it builds the crate, runs the
//! harness of this checkout against the floor and our echo, and writes the report and chart
//! into the crate's target directory, with the crate as a measured contender.
//!
//! Builds go to the shared `cargo-scf-e2e` target directory (under the e2e tests' lock), so
//! the runtime, the harness and the echo are compiled once for all of these tests.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn cargo_scf_in(dir: &Path, target: &Path, args: &[&str]) -> Command {
    let mut cmd = cargo_scf();
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("SCF_BENCH");
    cmd
}

#[test]
fn bench_quick_on_a_new_crate() {
    let target = e2e_target_dir();
    std::fs::create_dir_all(&target).unwrap();
    let lock = std::fs::File::create(target.join("e2e.lock")).unwrap();
    lock.lock().unwrap();
    let work = tempfile::tempdir().unwrap();
    let krate = work.path().join("bench-me");
    let out = run(
        cargo_scf_in(work.path(), &target, &["new"])
            .arg(&krate)
            .arg("--runtime-path")
            .arg(workspace_root()),
        STEP_LIMIT,
    );
    assert!(out.status.success(), "new: {}", text(&out.stderr));

    let out = run(
        &mut cargo_scf_in(&krate, &target, &["bench", "--quick", "--runs", "1"]),
        BUILD_LIMIT,
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "bench: {stderr}");
    // Progress on stderr, one line per step.
    for step in ["Building", "Skipping", "Benchmarking", "Wrote"] {
        assert!(stderr.contains(step), "no {step} line: {stderr}");
    }
    // The table on stdout, with the crate as a measured contender next to the echo.
    let stdout = text(&out.stdout);
    let own = stdout
        .split("Your function's own cost")
        .nth(1)
        .unwrap_or_else(|| panic!("no own-cost table: {stdout}"));
    let row = own
        .lines()
        .find(|l| l.starts_with("| bench-me |"))
        .unwrap_or_else(|| panic!("no row for the crate: {own}"));
    assert!(row.contains("| ours |") && !row.contains("failed"), "{row}");
    // The report and the chart in the crate's target directory.
    let reports = target.join("scf/bench-me/bench");
    let names: Vec<String> = std::fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(".md")), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(".svg")), "{names:?}");
}
