//! The user's crate as Cargo sees it, and where `cargo scf` keeps what it makes.
//!
//! `build` copies the bootstrap to `<target-dir>/scf/<package>/bootstrap`; `pack` writes
//! `<target-dir>/scf/<package>/function.zip` next to it; `deploy` and `invoke` read those. One
//! folder per package, so crates sharing a `CARGO_TARGET_DIR` do not pack each other's builds.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::Error;

/// The file name of the last build's executable.
pub const BOOTSTRAP: &str = scf_local::package::BOOTSTRAP;

/// The file name of the last pack's zip.
pub const ZIP: &str = "function.zip";

/// A package with binaries, located through `cargo locate-project` and `cargo metadata`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    /// The package's `Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The package's name.
    pub package: String,
    /// The names of its binary targets.
    pub bins: Vec<String>,
    /// Cargo's target directory for it (`CARGO_TARGET_DIR`, `build.target-dir` or
    /// `<workspace>/target`).
    pub target_dir: PathBuf,
    /// Its `[package.metadata.scf]` table as JSON (`null` when it has none): the function's
    /// settings, read by [`crate::settings::from_metadata`].
    pub scf_metadata: Value,
}

/// The `cargo` to run: the one that started this subcommand (`$CARGO`), else the one on the
/// `PATH`.
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

fn run_cargo(args: &[&str], manifest_path: Option<&Path>) -> Result<String, Error> {
    let mut cmd = cargo();
    cmd.args(args);
    if let Some(p) = manifest_path {
        cmd.arg("--manifest-path").arg(p);
    }
    let out = cmd
        .output()
        .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        return Err(Error::new(format!(
            "`cargo {}` failed: {}",
            args.first().copied().unwrap_or_default(),
            stderr.trim()
        )));
    }
    String::from_utf8(out.stdout).map_err(|_| Error::new("cargo printed something not UTF-8"))
}

impl Project {
    /// Finds the package of `manifest_path`, or of the current directory as Cargo would.
    pub fn locate(manifest_path: Option<&Path>) -> Result<Project, Error> {
        let manifest = run_cargo(
            &["locate-project", "--message-format", "plain"],
            manifest_path,
        )?;
        let manifest = PathBuf::from(manifest.trim());
        let metadata = run_cargo(
            &["metadata", "--no-deps", "--format-version", "1"],
            Some(&manifest),
        )?;
        let metadata: Value = serde_json::from_str(&metadata)
            .map_err(|e| Error::new(format!("cannot read cargo metadata: {e}")))?;
        Project::from_metadata(&metadata, &manifest)
    }

    /// Picks the package of `manifest` out of `cargo metadata --no-deps` output. A virtual
    /// workspace manifest stands for its one package with binaries, if there is only one.
    pub fn from_metadata(metadata: &Value, manifest: &Path) -> Result<Project, Error> {
        let target_dir = metadata["target_directory"]
            .as_str()
            .ok_or_else(|| Error::new("cargo metadata has no target_directory"))?;
        let packages = metadata["packages"].as_array().cloned().unwrap_or_default();
        let with_bins: Vec<(String, PathBuf, Vec<String>, Value)> = packages
            .iter()
            .map(|p| {
                let bins = p["targets"]
                    .as_array()
                    .map(|ts| {
                        ts.iter()
                            .filter(|t| {
                                t["kind"]
                                    .as_array()
                                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
                            })
                            .filter_map(|t| t["name"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (
                    p["name"].as_str().unwrap_or_default().to_owned(),
                    PathBuf::from(p["manifest_path"].as_str().unwrap_or_default()),
                    bins,
                    p["metadata"]["scf"].clone(),
                )
            })
            .collect();
        let same = |a: &Path, b: &Path| {
            a == b || matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
        };
        let chosen = match with_bins.iter().find(|(_, m, _, _)| same(m, manifest)) {
            Some(p) => p.clone(),
            None => {
                let mut candidates = with_bins.iter().filter(|(_, _, b, _)| !b.is_empty());
                match (candidates.next(), candidates.next()) {
                    (Some(p), None) => p.clone(),
                    (None, _) => {
                        return Err(Error::new(format!(
                            "{} has no package with a binary",
                            manifest.display()
                        )))
                    }
                    (Some(_), Some(_)) => {
                        return Err(Error::new(format!(
                            "{} is a workspace with several packages: pass --manifest-path with the Cargo.toml of the function's package",
                            manifest.display()
                        )))
                    }
                }
            }
        };
        let (package, manifest_path, bins, scf_metadata) = chosen;
        Ok(Project {
            manifest_path,
            package,
            bins,
            target_dir: PathBuf::from(target_dir),
            scf_metadata,
        })
    }

    /// The binary to build: `wanted`, or the package's only one.
    pub fn pick_bin(&self, wanted: Option<&str>) -> Result<String, Error> {
        match wanted {
            Some(name) if self.bins.iter().any(|b| b == name) => Ok(name.to_owned()),
            Some(name) => Err(Error::new(format!(
                "package {} has no binary {name:?} (it has: {})",
                self.package,
                list(&self.bins)
            ))),
            None => match self.bins.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(Error::new(format!(
                    "package {} has no binary: add src/main.rs with scf_bootstrap::main!(handler)",
                    self.package
                ))),
                many => Err(Error::new(format!(
                    "package {} has several binaries ({}): choose one with --bin",
                    self.package,
                    list(many)
                ))),
            },
        }
    }

    /// `<target-dir>/scf/<package>`: where `build` and `pack` put their output.
    pub fn out_dir(&self) -> PathBuf {
        self.target_dir.join("scf").join(&self.package)
    }

    /// The last build's bootstrap.
    pub fn bootstrap(&self) -> PathBuf {
        self.out_dir().join(BOOTSTRAP)
    }

    /// The last pack's zip.
    pub fn zip(&self) -> PathBuf {
        self.out_dir().join(ZIP)
    }
}

/// The key of `[package.metadata.scf-bootstrap]` in the runtime's `Cargo.toml` that lists
/// linker arguments for a bootstrap binary (e.g. `-Wl,--wrap=main`, whose `__wrap_main` the
/// runtime's `main!` defines). Cargo gives a dependency's build script no way to pass link
/// arguments to its dependent's binary, so the runtime declares them here and `build`
/// passes them to the binary alone (`cargo rustc -- -C link-arg=…`).
pub const LINK_ARGS_KEY: &str = "bootstrap-link-args";

/// The linker arguments the `scf-bootstrap` packages of a full `cargo metadata` declare
/// under [`LINK_ARGS_KEY`], in order, without repeats. None for a runtime that declares none.
pub fn runtime_link_args(metadata: &Value) -> Vec<String> {
    let mut args: Vec<String> = Vec::new();
    let packages = metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for p in packages
        .iter()
        .filter(|p| p["name"] == crate::scaffold::RUNTIME_PACKAGE)
    {
        let declared = p["metadata"][crate::scaffold::RUNTIME_PACKAGE][LINK_ARGS_KEY].as_array();
        for arg in declared.into_iter().flatten().filter_map(Value::as_str) {
            if !args.iter().any(|a| a == arg) {
                args.push(arg.to_owned());
            }
        }
    }
    args
}

impl Project {
    /// Resolves the package's dependencies for the bootstrap's target (`cargo metadata`,
    /// which may fetch them, as the build would) and returns the runtime's declared linker
    /// arguments.
    pub fn runtime_link_args(&self) -> Result<Vec<String>, Error> {
        let text = run_cargo(
            &[
                "metadata",
                "--format-version",
                "1",
                "--filter-platform",
                crate::profile::TARGET,
            ],
            Some(&self.manifest_path),
        )?;
        let metadata: Value = serde_json::from_str(&text)
            .map_err(|e| Error::new(format!("cannot read cargo metadata: {e}")))?;
        Ok(runtime_link_args(&metadata))
    }
}

/// The folders of the local packages (path dependencies and workspace members, this
/// package included) in a full `cargo metadata`: those without a registry or git `source`.
pub fn local_package_dirs(metadata: &Value) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = metadata["packages"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter(|p| p["source"].is_null())
        .filter_map(|p| p["manifest_path"].as_str())
        .filter_map(|m| Path::new(m).parent().map(Path::to_path_buf))
        .collect();
    dirs.sort();
    dirs.dedup();
    dirs
}

impl Project {
    /// The folders of the package's local packages (see [`local_package_dirs`]), from the
    /// full `cargo metadata` of its manifest.
    pub fn local_package_dirs(&self) -> Result<Vec<PathBuf>, Error> {
        let text = run_cargo(
            &["metadata", "--format-version", "1"],
            Some(&self.manifest_path),
        )?;
        let metadata: Value = serde_json::from_str(&text)
            .map_err(|e| Error::new(format!("cannot read cargo metadata: {e}")))?;
        Ok(local_package_dirs(&metadata))
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "none".to_owned()
    } else {
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(name: &str, manifest: &str, targets: &[(&str, &str)]) -> Value {
        let targets: Vec<Value> = targets
            .iter()
            .map(|(kind, name)| json!({"kind": [kind], "name": name}))
            .collect();
        json!({"name": name, "manifest_path": manifest, "targets": targets,
               "metadata": {"scf": {"memory": 64}}})
    }

    fn metadata(packages: Vec<Value>) -> Value {
        json!({"packages": packages, "target_directory": "/w/target"})
    }

    #[test]
    fn the_package_of_the_manifest() {
        let m = metadata(vec![
            package("a", "/w/a/Cargo.toml", &[("bin", "a"), ("lib", "a")]),
            package("b", "/w/b/Cargo.toml", &[("bin", "b"), ("bin", "b2")]),
        ]);
        let p = Project::from_metadata(&m, Path::new("/w/b/Cargo.toml")).unwrap();
        assert_eq!(p.package, "b");
        assert_eq!(p.bins, ["b", "b2"]);
        assert_eq!(p.scf_metadata, json!({"memory": 64}));
        assert_eq!(p.bootstrap(), Path::new("/w/target/scf/b/bootstrap"));
        assert_eq!(p.zip(), Path::new("/w/target/scf/b/function.zip"));
        assert_eq!(p.pick_bin(Some("b2")).unwrap(), "b2");
        let err = p.pick_bin(None).unwrap_err().to_string();
        assert_eq!(
            err,
            "package b has several binaries (b, b2): choose one with --bin"
        );
        let err = p.pick_bin(Some("c")).unwrap_err().to_string();
        assert_eq!(err, "package b has no binary \"c\" (it has: b, b2)");
    }

    #[test]
    fn a_virtual_workspace() {
        let one = metadata(vec![
            package("lib", "/w/lib/Cargo.toml", &[("lib", "lib")]),
            package("f", "/w/f/Cargo.toml", &[("bin", "f")]),
        ]);
        let p = Project::from_metadata(&one, Path::new("/w/Cargo.toml")).unwrap();
        assert_eq!(
            (p.package.as_str(), p.pick_bin(None).unwrap().as_str()),
            ("f", "f")
        );

        let two = metadata(vec![
            package("f", "/w/f/Cargo.toml", &[("bin", "f")]),
            package("g", "/w/g/Cargo.toml", &[("bin", "g")]),
        ]);
        let err = Project::from_metadata(&two, Path::new("/w/Cargo.toml")).unwrap_err();
        assert!(err.to_string().contains("pass --manifest-path"), "{err}");

        let none = metadata(vec![package("lib", "/w/lib/Cargo.toml", &[("lib", "lib")])]);
        let err = Project::from_metadata(&none, Path::new("/w/Cargo.toml")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "/w/Cargo.toml has no package with a binary"
        );
    }

    #[test]
    fn link_args_declared_by_the_runtime() {
        let runtime = |version: &str, args: Value| {
            json!({"name": "scf-bootstrap", "version": version,
                   "metadata": {"scf-bootstrap": {"bootstrap-link-args": args}}})
        };
        let m = json!({"packages": [
            {"name": "user", "metadata": null},
            runtime("0.1.0", json!(["-Wl,--wrap=main", "-Wl,-z,x"])),
            runtime("0.2.0", json!(["-Wl,-z,x", 7])),
            {"name": "other", "metadata": {"scf-bootstrap": {"bootstrap-link-args": ["-no"]}}},
        ]});
        assert_eq!(runtime_link_args(&m), ["-Wl,--wrap=main", "-Wl,-z,x"]);
        // A runtime that declares nothing (or no runtime at all).
        let none = json!({"packages": [{"name": "scf-bootstrap", "metadata": null}]});
        assert!(runtime_link_args(&none).is_empty());
        assert!(runtime_link_args(&json!({})).is_empty());
    }

    #[test]
    fn local_packages() {
        let m = json!({"packages": [
            {"name": "f", "source": null, "manifest_path": "/w/f/Cargo.toml"},
            {"name": "scf-bootstrap", "source": null, "manifest_path": "/rt/Cargo.toml"},
            {"name": "itoa", "source": "registry+https://github.com/rust-lang/crates.io-index",
             "manifest_path": "/reg/itoa/Cargo.toml"},
        ]});
        assert_eq!(
            local_package_dirs(&m),
            [PathBuf::from("/rt"), PathBuf::from("/w/f")]
        );
    }

    #[test]
    fn a_package_without_binary() {
        let m = metadata(vec![package("l", "/w/Cargo.toml", &[("lib", "l")])]);
        let p = Project::from_metadata(&m, Path::new("/w/Cargo.toml")).unwrap();
        let err = p.pick_bin(None).unwrap_err().to_string();
        assert!(
            err.starts_with("package l has no binary: add src/main.rs"),
            "{err}"
        );
    }
}
