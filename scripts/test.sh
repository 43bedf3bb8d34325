#!/usr/bin/env bash
# Every check CI runs: set-up, formatting, lints, the whole workspace's tests, and the
# benchmark harness in quick mode.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
rustup component add rustfmt clippy >&2 2>/dev/null || true

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
cargo test --workspace
# The benchmark harness in quick mode (a few short runs; no timing is asserted anywhere).
cargo run -q -p scf-bench -- --quick
