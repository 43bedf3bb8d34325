#!/usr/bin/env bash
# Installs what a fresh machine lacks to build, run and test this project. Idempotent; quiet
# when everything is there. Sourced or run by demo.sh, test.sh and .ci/run.
set -euo pipefail

say() { echo "setup: $*" >&2; }

if ! command -v rustup >/dev/null 2>&1; then
    say "rustup is required (the musl target is installed through it): https://rustup.rs"
    exit 1
fi
if ! rustup target list --installed | grep -qx x86_64-unknown-linux-musl; then
    say "installing the Rust target x86_64-unknown-linux-musl (static binaries for SCF's CentOS 7.6)"
    rustup target add x86_64-unknown-linux-musl >&2 || {
        say "could not install x86_64-unknown-linux-musl; run: rustup target add x86_64-unknown-linux-musl"
        exit 1
    }
fi

# Optional: the nightly min-size build (README, bench) needs nightly's rust-src and musl target.
# Without them that build is skipped with its reason; nothing else depends on it.
if rustup toolchain list | grep -q '^nightly'; then
    rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src' ||
        rustup component add rust-src --toolchain nightly >&2 2>/dev/null ||
        say "no rust-src for nightly: the min-size build will be skipped"
    rustup +nightly target list --installed 2>/dev/null | grep -qx x86_64-unknown-linux-musl ||
        rustup target add x86_64-unknown-linux-musl --toolchain nightly >&2 2>/dev/null ||
        say "no musl target for nightly: the min-size build will be skipped"
fi

# Debian packages: musl-gcc (the benchmark's C floor), curl (the bash bootstraps), unzip,
# python3-venv (the SDK test of scf-local serve), python3-pip (the RIE test), nodejs and npm
# (the Node SDK test of scf-local serve).
missing=()
command -v musl-gcc >/dev/null 2>&1 || missing+=(musl-tools)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v unzip >/dev/null 2>&1 || missing+=(unzip)
# python3 with venv: scf-local's SDK test installs the TencentCloud Python SDK into a virtualenv.
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3 python3-venv)
# node and npm: scf-local's SDK test installs the TencentCloud Node SDK from npm.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# pip: the RIE test (tests/rie.rs) downloads AWS's emulator inside the aws-sam-cli wheel.
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
if [ ${#missing[@]} -gt 0 ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
        say "installing ${missing[*]}"
        apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
    else
        say "missing ${missing[*]}: install them with your package manager"
        exit 1
    fi
fi
