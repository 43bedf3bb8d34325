//! `scf-local`: see `scf_local::cli`.

fn main() -> std::process::ExitCode {
    scf_local::cli::main()
}
