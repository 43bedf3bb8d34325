//! `cargo scf`: from an empty directory to a deployed Tencent Cloud SCF function, for a crate
//! of your own on the `scf-bootstrap` runtime.
//!
//! ```sh
//! cargo scf new hello                        # a handler crate that builds as generated
//! cd hello
//! cargo scf build                            # static x86_64-unknown-linux-musl bootstrap
//! cargo scf pack                             # function.zip: bootstrap (0755) at the root
//! cargo scf deploy --name hello              # CreateFunction, or UpdateFunctionCode
//! cargo scf invoke --remote --name hello --event '{"k": "v"}'
//! cargo scf invoke --event '{"k": "v"}'      # the last build, on this machine
//! cargo scf watch                            # serve on 127.0.0.1:9000, rebuild on save
//! ```
//!
//! It is a Cargo subcommand because the user's crate is the unit of work: `cargo` finds the
//! crate, its target directory and its binaries, and `cargo scf build` only adds what Cargo
//! cannot inherit from a dependency (the runtime's profile and static musl flags).
//!
//! Nothing here is written twice: the zip comes from [`scf_local::package::pack`], the
//! signature and the event check from [`scf_api`], local runs from [`scf_local::Pool`]
//! (scf-local without its `serve` feature, so no SQLite is built).
//!
//! | module | step |
//! |---|---|
//! | [`scaffold`] | `new`: the generated crate |
//! | [`profile`] | the build settings, one place (mirrors the repository's own) |
//! | [`toolchain`] | is the musl target / nightly with `rust-src` installed? |
//! | [`build`] | `build`: cargo with those settings, the copy to `target/scf/<package>/` |
//! | [`image`] | `build --image`: the `Dockerfile` of a WebServer or Job image function |
//! | [`elf`] | static or not, from the ELF program headers |
//! | [`project`] | the crate as Cargo sees it; where `build` and `pack` put their output |
//! | [`settings`] | `[package.metadata.scf]`, env files and flags: timeout, memory, variables |
//! | [`api`] | the TencentCloud API client (TC3-signed JSON over HTTPS) |
//! | [`deploy`] | create or update, then wait for `Active` |
//! | [`invoke`] | one event, local or remote |
//! | [`watch`] | `watch`: build, serve, rebuild on change, swap between invocations |
//! | [`bench`] | `bench`: build, then run the benchmark harness against the floor and our echo |
//! | [`cli`] | the command line |

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::fmt;
use std::io::IsTerminal;

pub mod api;
pub mod bench;
pub mod build;
pub mod cli;
pub mod deploy;
pub mod elf;
pub mod image;
pub mod invoke;
pub mod profile;
pub mod project;
pub mod scaffold;
pub mod settings;
pub mod toolchain;
pub mod watch;

/// A failure of a command: one message for the user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error(message.into())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

/// Prints a progress line on stderr the way Cargo does: a right-aligned verb (bold green on
/// a terminal), then the message.
pub fn progress(verb: &str, message: &str) {
    if std::io::stderr().is_terminal() {
        eprintln!("\x1b[1;32m{verb:>12}\x1b[0m {message}");
    } else {
        eprintln!("{verb:>12} {message}");
    }
}

/// A size for people: `301.2 KiB (308456 bytes)`.
pub fn human_size(bytes: u64) -> String {
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if bytes < 1024 * 1024 {
        format!("{:.1} KiB ({bytes} bytes)", bytes as f64 / 1024.0)
    } else {
        format!(
            "{:.1} MiB ({bytes} bytes)",
            bytes as f64 / (1024.0 * 1024.0)
        )
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::human_size(12), "12 bytes");
        assert_eq!(super::human_size(308_456), "301.2 KiB (308456 bytes)");
        assert_eq!(super::human_size(3 << 20), "3.0 MiB (3145728 bytes)");
    }
}
