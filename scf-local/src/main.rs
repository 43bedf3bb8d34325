//! `scf-local`: see `scf_local::cli`.

// `serve` answers a panic in one request with `InternalError` and lives on; that needs
// unwinding. The root Cargo.toml's `release` profile (what `cargo install --path scf-local`
// uses) unwinds; the `bootstrap` profile, for deployable bootstraps, aborts.
#[cfg(panic = "abort")]
compile_error!("scf-local must be built with panic = \"unwind\" (cargo build --release -p scf-local), not with the bootstrap profile");

fn main() -> std::process::ExitCode {
    scf_local::cli::main()
}
