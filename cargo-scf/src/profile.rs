//! The build settings of a bootstrap, applied to a user's crate from outside.
//!
//! Cargo does not inherit profiles or target flags from a dependency, so a crate that depends
//! on `scf-bootstrap` would build a large, dynamically linked binary unless its author copied
//! the runtime's settings. `cargo scf build` passes them through Cargo's environment
//! variables instead (`CARGO_PROFILE_RELEASE_*`, `CARGO_TARGET_<TRIPLE>_RUSTFLAGS`), which
//! take precedence over the crate's own `[profile.release]` and leave its files untouched.
//!
//! **One source of truth.** These constants restate the repository's root `Cargo.toml`
//! (`[profile.bootstrap]`, which the repository's own bootstraps are built with; its
//! `[profile.release]` is the tools' and unwinds) and `.cargo/config.toml` (`[target.x86_64-unknown-linux-musl]`
//! `rustflags` and the `min-size` alias); a test reads those two files and fails when they
//! and this module disagree.

/// The target of every bootstrap: static musl binaries run on SCF's CentOS 7.6 whatever its
/// glibc.
pub const TARGET: &str = "x86_64-unknown-linux-musl";

/// `[profile.bootstrap]` of the root `Cargo.toml` (without its `inherits`), as
/// `(key, value)`: each becomes `CARGO_PROFILE_RELEASE_<KEY>=<value>` for the user's crate,
/// whose release profile is the one `cargo scf build` builds with.
pub const RELEASE_PROFILE: &[(&str, &str)] = &[
    ("OPT_LEVEL", "s"),
    ("LTO", "true"),
    ("CODEGEN_UNITS", "1"),
    ("PANIC", "abort"),
    ("STRIP", "true"),
    ("DEBUG", "false"),
    ("INCREMENTAL", "false"),
];

/// `rustflags` of `[target.x86_64-unknown-linux-musl]` in the root `.cargo/config.toml`:
/// static, non-PIE code (no self-relocation at start) linked with `-z noseparate-code`.
pub const TARGET_RUSTFLAGS: &[&str] = &[
    "-C",
    "target-feature=+crt-static",
    "-C",
    "relocation-model=static",
    "-C",
    "link-arg=-Wl,-z,noseparate-code",
];

/// The toolchain of the `min-size` recipe.
pub const MIN_SIZE_TOOLCHAIN: &str = "nightly";

/// The `-Z` flag of the `min-size` alias that rebuilds std for size.
pub const MIN_SIZE_BUILD_STD: &str = "-Zbuild-std=std,panic_abort";

/// The rustflags the `min-size` alias adds to [`TARGET_RUSTFLAGS`]: panics abort at once, no
/// unwind tables, no file/line locations, no `Debug` formatting.
pub const MIN_SIZE_RUSTFLAGS: &[&str] = &[
    "-Zunstable-options",
    "-Cpanic=immediate-abort",
    "-Cforce-unwind-tables=no",
    "-Zlocation-detail=none",
    "-Zfmt-debug=none",
];

/// The `opt-level` of the `min-size` alias.
pub const MIN_SIZE_OPT_LEVEL: &str = "z";

/// The folder of the target directory the `min-size` alias builds in (std rebuilt with other
/// flags must not mix with the stable build's artifacts).
pub const MIN_SIZE_TARGET_SUBDIR: &str = "min-size";

/// Which recipe to build with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipe {
    /// Stable Rust: the release profile and target flags above.
    Release,
    /// Nightly with `-Zbuild-std`: the smallest binary.
    MinSize,
}

/// The name of the environment variable that sets the target's rustflags for Cargo.
pub fn target_rustflags_var() -> String {
    format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        TARGET.to_ascii_uppercase().replace('-', "_")
    )
}

/// The environment a build of `recipe` runs with, as `(name, value)`.
pub fn build_env(recipe: Recipe) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = RELEASE_PROFILE
        .iter()
        .map(|(k, v)| (format!("CARGO_PROFILE_RELEASE_{k}"), (*v).to_owned()))
        .collect();
    let mut flags: Vec<&str> = TARGET_RUSTFLAGS.to_vec();
    if recipe == Recipe::MinSize {
        for (name, value) in &mut env {
            if name == "CARGO_PROFILE_RELEASE_OPT_LEVEL" {
                *value = MIN_SIZE_OPT_LEVEL.to_owned();
            }
        }
        flags.extend_from_slice(MIN_SIZE_RUSTFLAGS);
    }
    // Cargo splits this variable on spaces; no flag above contains one.
    env.push((target_rustflags_var(), flags.join(" ")));
    env
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn repo_file(name: &str) -> Option<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(name);
        std::fs::read_to_string(path).ok()
    }

    /// The lines of one `[section]` of a TOML file, up to the next section.
    fn section<'a>(text: &'a str, header: &str) -> Vec<&'a str> {
        text.lines()
            .skip_while(|l| l.trim() != header)
            .skip(1)
            .take_while(|l| !l.trim_start().starts_with('['))
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    #[test]
    fn release_profile_matches_the_root_bootstrap_profile() {
        let Some(text) = repo_file("Cargo.toml") else {
            return; // Built outside the repository: nothing to compare with.
        };
        let lines = section(&text, "[profile.bootstrap]");
        assert!(
            !lines.is_empty(),
            "the root Cargo.toml has no [profile.bootstrap]"
        );
        let mut keys: Vec<String> = Vec::new();
        for line in &lines {
            let (key, value) = line.split_once('=').expect("key = value");
            let key = key.trim().replace('-', "_").to_ascii_uppercase();
            let value = value.trim().trim_matches('"');
            if key == "INHERITS" {
                assert_eq!(value, "release", "profile.bootstrap inherits");
                continue;
            }
            let ours = RELEASE_PROFILE.iter().find(|(k, _)| *k == key);
            assert_eq!(
                ours.map(|(_, v)| *v),
                Some(value),
                "profile.bootstrap {key}"
            );
            keys.push(key);
        }
        for (k, _) in RELEASE_PROFILE {
            assert!(
                keys.iter().any(|x| x == k),
                "{k} is not in the root profile"
            );
        }
    }

    #[test]
    fn flags_match_the_root_cargo_config() {
        let Some(text) = repo_file(".cargo/config.toml") else {
            return;
        };
        let target = section(&text, &format!("[target.{TARGET}]")).join(" ");
        let quoted: Vec<String> = TARGET_RUSTFLAGS
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect();
        assert!(
            target.contains(&quoted.join(", ")),
            "target rustflags differ: {target}"
        );
        let alias = section(&text, "[alias]").join(" ");
        let min_size = alias
            .split("min-size = [")
            .nth(1)
            .expect("a min-size alias");
        let quoted: Vec<String> = MIN_SIZE_RUSTFLAGS
            .iter()
            .map(|f| format!("'{f}'"))
            .collect();
        assert!(min_size.contains(&quoted.join(", ")), "{min_size}");
        assert!(min_size.contains(&format!("\"{MIN_SIZE_BUILD_STD}\"")));
        assert!(min_size.contains(&format!("opt-level='{MIN_SIZE_OPT_LEVEL}'")));
        assert!(min_size.contains(&format!("\"target/{MIN_SIZE_TARGET_SUBDIR}\"")));
        assert!(min_size.contains(&format!("\"{TARGET}\"")));
    }

    #[test]
    fn build_env_of_each_recipe() {
        let release = build_env(Recipe::Release);
        let get = |env: &[(String, String)], k: &str| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        };
        assert_eq!(
            get(&release, "CARGO_PROFILE_RELEASE_OPT_LEVEL").as_deref(),
            Some("s")
        );
        assert_eq!(
            get(&release, "CARGO_PROFILE_RELEASE_PANIC").as_deref(),
            Some("abort")
        );
        assert_eq!(
            get(&release, "CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS").as_deref(),
            Some("-C target-feature=+crt-static -C relocation-model=static -C link-arg=-Wl,-z,noseparate-code")
        );
        let min = build_env(Recipe::MinSize);
        assert_eq!(
            get(&min, "CARGO_PROFILE_RELEASE_OPT_LEVEL").as_deref(),
            Some("z")
        );
        let flags = get(&min, "CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS").unwrap();
        assert!(flags.starts_with("-C target-feature=+crt-static"));
        assert!(flags.ends_with("-Zlocation-detail=none -Zfmt-debug=none"));
    }
}
