//! The runtime's example bootstraps, built for musl as they are deployed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The target a deployed bootstrap is built for.
pub const MUSL: &str = "x86_64-unknown-linux-musl";

/// Builds the examples `names` of the runtime package at `root` for musl with the
/// `bootstrap` profile (as deployed: static, panics abort) into `target_dir`, a directory of
/// the caller's own (the outer `cargo test` may hold the lock of the main one). Returns the
/// directory holding them. Fails the test, with Cargo's errors, if the build fails.
pub fn build_musl_examples(root: &Path, target_dir: &Path, names: &[&str]) -> PathBuf {
    build_musl_examples_with(root, target_dir, names, &[])
}

/// [`build_musl_examples`] with the runtime's cargo `features` turned on (for instance
/// `image`, the WebServer and Job image shapes). Use a target directory per feature set, so
/// builds with and without a feature do not overwrite each other's bootstraps.
pub fn build_musl_examples_with(
    root: &Path,
    target_dir: &Path,
    names: &[&str],
    features: &[&str],
) -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .env("CARGO_TARGET_DIR", target_dir)
        .args(["build", "--profile", "bootstrap", "--target", MUSL]);
    if !features.is_empty() {
        cmd.args(["--features", &features.join(",")]);
    }
    for name in names {
        cmd.args(["--example", name]);
    }
    let out = cmd.output().expect("run cargo");
    assert!(
        out.status.success(),
        "building the examples {names:?} (features {features:?}) for {MUSL} failed (is the target installed? \
         `rustup target add {MUSL}`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    target_dir.join(MUSL).join("bootstrap/examples")
}
