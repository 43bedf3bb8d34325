//! `scf-bench webserver` end to end in its quick mode: it builds the floor, our zip-shape echo
//! and the WebServer-shape echo, measures the three interleaved (every WebServer answer is
//! checked: status 200, the request id sent back, the echo reply), and prints a table whose
//! rows all hold figures, with the zip shape as the ratios' base. Needs musl-gcc (the floor;
//! `scripts/setup.sh` installs it).

use std::process::{Command, Stdio};
use std::time::Duration;

#[test]
fn quick_run_prints_the_three_shapes() {
    let output = scf_testkit::process::run_bounded(
        Command::new(env!("CARGO_BIN_EXE_scf-bench"))
            .args(["webserver", "--quick", "--runs", "1", "--window-ms", "20"])
            .stdin(Stdio::null()),
        Duration::from_secs(600),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "scf-bench webserver failed\n{stdout}\n{stderr}"
    );
    let rows: Vec<&str> = stdout.lines().filter(|l| l.starts_with("| ")).collect();
    assert_eq!(rows.len(), 4, "a header and three shapes:\n{stdout}");
    for (row, name) in rows[1..].iter().zip([
        "floor (C, zip shape)",
        "ours, zip shape",
        "ours, WebServer shape",
    ]) {
        assert!(row.starts_with(&format!("| {name} |")), "{row}");
        assert!(!row.contains("failed"), "{row}");
        // Five figures, each with its ratio to the zip shape.
        assert_eq!(row.matches(" (×").count(), 5, "{row}");
    }
    assert_eq!(rows[2].matches("(×1.00)").count(), 5, "{}", rows[2]);
}

#[test]
fn a_bad_size_is_refused() {
    let output = Command::new(env!("CARGO_BIN_EXE_scf-bench"))
        .args(["webserver", "--size", "8"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--size"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
