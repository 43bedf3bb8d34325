//! `scf-bench emulators --quick` end to end: scf-local (both runtime APIs) and AWS's RIE on
//! the echo example, one short run each, and a Markdown table with the ratios.
//!
//! RIE comes from the `aws-sam-cli` wheel on PyPI as in `tests/rie.rs` (python3 with pip;
//! `scripts/setup.sh` installs it); CI reaches PyPI, so the RIE rows are required here.

use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn quick_mode_prints_the_table_with_ratios() {
    let out = scf_testkit::process::run_bounded(
        Command::new(env!("CARGO_BIN_EXE_scf-bench"))
            .args(["emulators", "--quick"])
            .stdin(Stdio::null()),
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let row = |label: &str| -> Vec<f64> {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no row `{label}`:\n{stdout}\n{stderr}"));
        line.split('|')
            .filter_map(|c| c.trim().trim_end_matches('×').parse().ok())
            .collect()
    };
    for label in [
        "scf-local run",
        "scf-local run --api aws",
        "RIE (aws-lambda-rie)",
    ] {
        let cells = row(label);
        // cold ms, invocations/s, CPU µs per invocation, RSS MiB: all measured, all positive.
        assert_eq!(cells.len(), 4, "{label}: {cells:?}\n{stdout}");
        assert!(
            cells.iter().all(|&v| v > 0.0),
            "{label}: {cells:?}\n{stdout}"
        );
    }
    for label in ["scf-local run ÷ RIE", "scf-local run --api aws ÷ RIE"] {
        let cells = row(label);
        assert_eq!(cells.len(), 4, "{label}: {cells:?}\n{stdout}");
        assert!(
            cells.iter().all(|&v| v > 0.0),
            "{label}: {cells:?}\n{stdout}"
        );
    }
}
