//! `cargo-scf`: run as `cargo scf new|build|pack|deploy|invoke|watch` (see the library's docs).

// `cargo scf invoke` runs scf-local's library in-process, whose servers answer a panic in one
// request instead of ending; that needs unwinding (the root Cargo.toml's `release` profile).
#[cfg(panic = "abort")]
compile_error!("cargo-scf must be built with panic = \"unwind\" (cargo build --release -p cargo-scf), not with the bootstrap profile");

fn main() -> std::process::ExitCode {
    cargo_scf::cli::main()
}
