//! `cargo-scf`: run as `cargo scf new|build|pack|deploy|invoke` (see the library's docs).

fn main() -> std::process::ExitCode {
    cargo_scf::cli::main()
}
