#!/usr/bin/env bash
# The main job: build the `echo` bootstrap for SCF (static musl, `bootstrap` profile), package it
# as the deploy zip, and invoke it locally through scf-local, printing the platform's result.
#
#   scripts/demo.sh ['<event JSON>']
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

event=${1:-'{"key1": "test value 1", "key2": "test value 2"}'}
echo "== building the echo bootstrap (x86_64-unknown-linux-musl, bootstrap profile)" >&2
cargo build -q --profile bootstrap --target x86_64-unknown-linux-musl --example echo
echo "== building scf-local" >&2
cargo build -q -p scf-local
mkdir -p dist
echo "== packaging dist/echo.zip" >&2
target/debug/scf-local pack --bootstrap target/x86_64-unknown-linux-musl/bootstrap/examples/echo -o dist/echo.zip
echo "== invoking it through scf-local" >&2
target/debug/scf-local invoke dist/echo.zip --event "$event" --pretty
