//! Is the toolchain able to build a bootstrap? Checked before building, so a missing piece
//! is one clear line with the command that installs it, not a page of linker errors.
//!
//! Both checks look into the toolchain's sysroot (`rustc --print sysroot`): a target's
//! standard library is `lib/rustlib/<target>/lib`, and `rust-src` (needed by `-Zbuild-std`)
//! is `lib/rustlib/src/rust/library`. That works with and without rustup.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::profile::{MIN_SIZE_TOOLCHAIN, TARGET};
use crate::Error;

/// A Rust toolchain, known by its sysroot.
#[derive(Clone, Debug)]
pub struct Toolchain {
    /// `rustc --print sysroot`.
    pub sysroot: PathBuf,
}

impl Toolchain {
    /// Whether the standard library of `target` is installed.
    pub fn has_target(&self, target: &str) -> bool {
        self.sysroot
            .join("lib/rustlib")
            .join(target)
            .join("lib")
            .is_dir()
    }

    /// Whether the `rust-src` component is installed.
    pub fn has_rust_src(&self) -> bool {
        self.sysroot
            .join("lib/rustlib/src/rust/library/std")
            .is_dir()
    }
}

fn sysroot_of(mut rustc: Command, dir: &Path) -> Option<Toolchain> {
    let out = rustc
        .args(["--print", "sysroot"])
        .current_dir(dir)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let path = String::from_utf8(out.stdout).ok()?;
    Some(Toolchain {
        sysroot: PathBuf::from(path.trim()),
    })
}

/// The toolchain Cargo builds with in `dir` (`$RUSTC`, else `rustc`, which rustup resolves
/// for that directory).
pub fn active(dir: &Path) -> Result<Toolchain, Error> {
    let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()));
    sysroot_of(rustc, dir)
        .ok_or_else(|| Error::new("cannot run `rustc --print sysroot`: is Rust installed?"))
}

/// The nightly toolchain through rustup, if rustup and nightly are there.
pub fn nightly(dir: &Path) -> Result<Option<Toolchain>, Error> {
    let mut probe = Command::new("rustup");
    probe.arg("--version");
    if probe.output().is_err() {
        return Err(Error::new(
            "--min-size needs rustup, to run the nightly toolchain (https://rustup.rs)",
        ));
    }
    let mut rustc = Command::new("rustup");
    rustc.args(["run", MIN_SIZE_TOOLCHAIN, "rustc"]);
    Ok(sysroot_of(rustc, dir))
}

/// What the stable build lacks, as a message with its remedy.
pub fn release_problem(toolchain: &Toolchain) -> Option<String> {
    (!toolchain.has_target(TARGET)).then(|| {
        format!(
            "the {TARGET} target is not installed for this toolchain ({}): rustup target add {TARGET}",
            toolchain.sysroot.display()
        )
    })
}

/// What the `--min-size` build lacks, as one message listing every missing piece and its
/// command; `None` when nothing is missing.
pub fn min_size_problem(nightly: Option<&Toolchain>) -> Option<String> {
    let n = MIN_SIZE_TOOLCHAIN;
    let mut missing = Vec::new();
    match nightly {
        None => {
            missing.push(format!("the {n} toolchain: rustup toolchain install {n}"));
            missing.push(format!(
                "rust-src: rustup component add rust-src --toolchain {n}"
            ));
            missing.push(format!(
                "the {TARGET} target: rustup target add {TARGET} --toolchain {n}"
            ));
        }
        Some(tc) => {
            if !tc.has_rust_src() {
                missing.push(format!(
                    "rust-src: rustup component add rust-src --toolchain {n}"
                ));
            }
            if !tc.has_target(TARGET) {
                missing.push(format!(
                    "the {TARGET} target: rustup target add {TARGET} --toolchain {n}"
                ));
            }
        }
    }
    if missing.is_empty() {
        return None;
    }
    let mut message = format!(
        "--min-size needs the {n} toolchain with rust-src and the {TARGET} target; missing:"
    );
    for m in missing {
        message.push_str("\n  ");
        message.push_str(&m);
    }
    message.push_str("\n(or build without --min-size: stable Rust, a few KB larger)");
    Some(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake sysroot with the given pieces.
    fn sysroot(target: bool, src: bool) -> (tempfile::TempDir, Toolchain) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::create_dir_all(root.join("lib/rustlib/x86_64-unknown-linux-gnu/lib")).unwrap();
        if target {
            std::fs::create_dir_all(root.join("lib/rustlib").join(TARGET).join("lib")).unwrap();
        }
        if src {
            std::fs::create_dir_all(root.join("lib/rustlib/src/rust/library/std")).unwrap();
        }
        (dir, Toolchain { sysroot: root })
    }

    #[test]
    fn release_needs_the_musl_target() {
        let (_d, tc) = sysroot(true, false);
        assert_eq!(release_problem(&tc), None);
        let (_d, tc) = sysroot(false, false);
        let msg = release_problem(&tc).unwrap();
        assert!(msg.starts_with("the x86_64-unknown-linux-musl target is not installed"));
        assert!(
            msg.ends_with(": rustup target add x86_64-unknown-linux-musl"),
            "{msg}"
        );
    }

    #[test]
    fn min_size_lists_what_is_missing() {
        let (_d, tc) = sysroot(true, true);
        assert_eq!(min_size_problem(Some(&tc)), None);

        let (_d, tc) = sysroot(true, false);
        let msg = min_size_problem(Some(&tc)).unwrap();
        assert!(msg.contains("rustup component add rust-src --toolchain nightly"));
        assert!(!msg.contains("rustup target add"), "{msg}");

        let (_d, tc) = sysroot(false, true);
        let msg = min_size_problem(Some(&tc)).unwrap();
        assert!(msg.contains("rustup target add x86_64-unknown-linux-musl --toolchain nightly"));
        assert!(!msg.contains("rust-src:"), "{msg}");

        let msg = min_size_problem(None).unwrap();
        assert!(msg.contains("rustup toolchain install nightly"), "{msg}");
        assert!(msg.contains("rust-src --toolchain nightly"));
        assert!(msg.contains("--toolchain nightly\n(or build without --min-size"));
    }

    #[test]
    fn the_active_toolchain_has_a_sysroot() {
        let tc = active(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        assert!(tc.sysroot.join("lib/rustlib").is_dir(), "{:?}", tc.sysroot);
    }
}
