//! `cargo scf build`: the crate's binary as a static musl `bootstrap`.
//!
//! Runs `cargo rustc --release --target x86_64-unknown-linux-musl --bin <bin>` on the user's
//! manifest with the runtime's profile and flags in the environment ([`crate::profile`]) and
//! the linker arguments the runtime declares ([`crate::project::LINK_ARGS_KEY`]) for the
//! binary alone, reads the executable's path from Cargo's JSON messages, copies it to
//! `<target-dir>/scf/<package>/bootstrap` (mode 0755) and reports its size and linkage.
//! Cargo's own progress and diagnostics go to the terminal as usual.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::elf::{self, Linkage};
use crate::image::{ImageShape, IMAGE_DIR, RUNTIME_FEATURE};
use crate::profile::{self, Recipe, MIN_SIZE_BUILD_STD, MIN_SIZE_TARGET_SUBDIR, TARGET};
use crate::project::{self, Project};
use crate::{progress, toolchain, Error};

/// What to build.
#[derive(Clone, Debug, Default)]
pub struct BuildOptions {
    /// The crate's `Cargo.toml`; by default Cargo's search from the current directory.
    pub manifest_path: Option<PathBuf>,
    /// Use the nightly `min-size` recipe.
    pub min_size: bool,
    /// The binary target; by default the package's only one.
    pub bin: Option<String>,
    /// Build for an image function of this shape ([`crate::image`]): the runtime's `image`
    /// feature on, the bootstrap installed in `<target-dir>/scf/<package>/image/`.
    pub image: Option<ImageShape>,
    /// Lets another thread stop the build (`watch` on Ctrl-C): cargo then runs in a process
    /// group of its own, which [`Stopper::stop`] ends.
    pub stopper: Option<Stopper>,
}

/// Stops a running build, and any later one, from another thread: the cargo process group
/// of the build under way gets `SIGTERM` (cargo and the compilers it started), and a build
/// asked for afterwards fails at once. Cheap to clone (a handle).
#[derive(Clone, Debug, Default)]
pub struct Stopper(Arc<Mutex<StopState>>);

#[derive(Debug, Default)]
struct StopState {
    /// The process group of the cargo running now.
    group: Option<u32>,
    stopped: bool,
}

impl Stopper {
    /// Ends the build under way, and refuses later ones.
    pub fn stop(&self) {
        let mut state = self.lock();
        state.stopped = true;
        if let Some(group) = state.group.take() {
            signal_group(group);
        }
    }

    /// Whether [`Stopper::stop`] was called.
    pub fn stopped(&self) -> bool {
        self.lock().stopped
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, StopState> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts `cmd` in a process group of its own and records it, unless stopped already
    /// (under the lock, so a stop cannot fall between the start and the record).
    fn spawn(&self, cmd: &mut Command) -> Result<Child, Error> {
        let mut state = self.lock();
        if state.stopped {
            return Err(Error::new("the build was stopped"));
        }
        let child = cmd
            .process_group(0)
            .spawn()
            .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?;
        state.group = Some(child.id());
        Ok(child)
    }

    /// Forgets the process group once its cargo has been waited for. When the build was
    /// stopped, waits (at most [`STOP_GRACE`]) until no process of the group is left: the
    /// compilers cargo started outlive it by the time they take to handle the signal.
    fn finished(&self, group: u32) {
        let stopped = {
            let mut state = self.lock();
            state.group = None;
            state.stopped
        };
        let Ok(group) = libc::pid_t::try_from(group) else {
            return;
        };
        let give_up = std::time::Instant::now() + STOP_GRACE;
        while stopped && group_alive(group) && std::time::Instant::now() < give_up {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

/// Whether the process group `group` has a process left.
fn group_alive(group: libc::pid_t) -> bool {
    // SAFETY: kill(2) with signal 0 sends nothing: it only asks whether the group has a
    // process left. Plain integers, no memory of this process touched.
    unsafe { libc::kill(-group, 0) == 0 }
}

/// How long a stopped build may take to be gone.
pub const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// `SIGTERM` to the process group `group`.
fn signal_group(group: u32) {
    let Ok(group) = libc::pid_t::try_from(group) else {
        return;
    };
    // SAFETY: kill(2) takes plain integers and touches no memory of this process. The group
    // is the one `Stopper::spawn` made for the build's cargo; the record is cleared right
    // after cargo is reaped, and until then the group id cannot be reused (the leader's pid
    // is not free). In the few instructions between the reap and the clear, the group is
    // still the build's compilers, or gone (ESRCH).
    unsafe {
        libc::kill(-group, libc::SIGTERM);
    }
}

/// A finished build.
#[derive(Clone, Debug)]
pub struct Built {
    /// The package built.
    pub project: Project,
    /// Cargo's executable.
    pub artifact: PathBuf,
    /// Its copy that `pack` takes: `<target-dir>/scf/<package>/bootstrap`.
    pub bootstrap: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// How it is linked.
    pub linkage: Linkage,
}

/// The Cargo command line of a recipe, without the program: `cargo rustc` for the one
/// binary, so `link_args` (the runtime's declared linker arguments) reach its link alone and
/// the dependencies' fingerprints stay the same; `features` (e.g.
/// [`RUNTIME_FEATURE`]) are turned on.
pub fn cargo_args(
    recipe: Recipe,
    manifest: &Path,
    bin: &str,
    target_dir: &Path,
    link_args: &[String],
    features: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "rustc",
        "--release",
        "--target",
        TARGET,
        "--message-format=json-render-diagnostics",
        "--bin",
        bin,
        "--manifest-path",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(manifest.display().to_string());
    if !features.is_empty() {
        args.push("--features".to_owned());
        args.push(features.join(","));
    }
    if recipe == Recipe::MinSize {
        args.push(MIN_SIZE_BUILD_STD.to_owned());
        args.push("--target-dir".to_owned());
        args.push(
            target_dir
                .join(MIN_SIZE_TARGET_SUBDIR)
                .display()
                .to_string(),
        );
    }
    if !link_args.is_empty() {
        args.push("--".to_owned());
        for arg in link_args {
            args.push("-C".to_owned());
            args.push(format!("link-arg={arg}"));
        }
    }
    args
}

/// The executable of binary `bin` among Cargo's JSON messages (one per line).
pub fn executable_from_messages(stdout: &str, bin: &str) -> Option<PathBuf> {
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == bin)
        .filter(|m| {
            m["target"]["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"))
        })
        .filter_map(|m| m["executable"].as_str().map(PathBuf::from))
        .next_back()
}

/// Builds the bootstrap, printing progress on stderr.
pub fn build(options: &BuildOptions) -> Result<Built, Error> {
    let project = Project::locate(options.manifest_path.as_deref())?;
    let bin = project.pick_bin(options.bin.as_deref())?;
    let dir = project
        .manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let recipe = if options.min_size {
        Recipe::MinSize
    } else {
        Recipe::Release
    };
    let mut cmd = match recipe {
        Recipe::Release => {
            if let Some(problem) = toolchain::release_problem(&toolchain::active(&dir)?) {
                return Err(Error::new(problem));
            }
            project::cargo()
        }
        Recipe::MinSize => {
            let nightly = toolchain::nightly(&dir)?;
            if let Some(problem) = toolchain::min_size_problem(nightly.as_ref()) {
                return Err(Error::new(problem));
            }
            let mut c = Command::new("rustup");
            c.args(["run", profile::MIN_SIZE_TOOLCHAIN, "cargo"]);
            c
        }
    };
    for var in ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"] {
        if std::env::var_os(var).is_some_and(|v| !v.is_empty()) {
            progress(
                "Warning",
                &format!("{var} is set: Cargo then ignores the target's static, non-PIE flags"),
            );
        }
    }
    let link_args = project.runtime_link_args()?;
    cmd.args(cargo_args(
        recipe,
        &project.manifest_path,
        &bin,
        &project.target_dir,
        &link_args,
        if options.image.is_some() {
            &[RUNTIME_FEATURE]
        } else {
            &[]
        },
    ))
    .envs(profile::build_env(recipe))
    .current_dir(&dir)
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::inherit());
    progress(
        "Building",
        &format!(
            "{bin} ({}) for {TARGET}, {}",
            project.package,
            match recipe {
                Recipe::Release => "bootstrap profile of scf-bootstrap (opt-level s, LTO, static)",
                Recipe::MinSize => "min-size (nightly, build-std, opt-level z, immediate abort)",
            }
        ),
    );
    let mut child = match &options.stopper {
        Some(stopper) => stopper.spawn(&mut cmd)?,
        None => cmd
            .spawn()
            .map_err(|e| Error::new(format!("cannot run cargo: {e}")))?,
    };
    let mut messages = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line.map_err(|e| Error::new(format!("cannot read cargo's output: {e}")))?;
            messages.push_str(&line);
            messages.push('\n');
        }
    }
    let status = child.wait();
    if let Some(stopper) = &options.stopper {
        stopper.finished(child.id());
        if stopper.stopped() {
            return Err(Error::new("the build was stopped"));
        }
    }
    let status = status.map_err(|e| Error::new(format!("cargo did not finish: {e}")))?;
    if !status.success() {
        return Err(Error::new(format!(
            "cargo build failed ({status}); its messages are above"
        )));
    }
    let artifact = executable_from_messages(&messages, &bin)
        .ok_or_else(|| Error::new(format!("cargo built no executable named {bin}")))?;
    let bootstrap = match options.image {
        Some(_) => project.out_dir().join(IMAGE_DIR).join("bootstrap"),
        None => project.bootstrap(),
    };
    install(&artifact, &bootstrap)?;
    let bytes = std::fs::read(&bootstrap)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", bootstrap.display())))?;
    let linkage =
        elf::linkage(&bytes).map_err(|e| Error::new(format!("{}: {e}", bootstrap.display())))?;
    Ok(Built {
        project,
        artifact,
        bootstrap,
        size: bytes.len() as u64,
        linkage,
    })
}

/// Copies the executable to `dest` with mode 0755, through a temporary file so `dest` is
/// never half written.
fn install(artifact: &Path, dest: &Path) -> Result<(), Error> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)
        .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    let tmp = dir.join(".bootstrap.tmp");
    std::fs::copy(artifact, &tmp)
        .and_then(|_| std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755)))
        .and_then(|_| std::fs::rename(&tmp, dest))
        .map_err(|e| {
            Error::new(format!(
                "cannot copy {} to {}: {e}",
                artifact.display(),
                dest.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_of_each_recipe() {
        let m = Path::new("/w/f/Cargo.toml");
        let t = Path::new("/w/target");
        let release = cargo_args(Recipe::Release, m, "f", t, &[], &[]).join(" ");
        assert_eq!(
            release,
            "rustc --release --target x86_64-unknown-linux-musl --message-format=json-render-diagnostics --bin f --manifest-path /w/f/Cargo.toml"
        );
        let wrapped = cargo_args(
            Recipe::Release,
            m,
            "f",
            t,
            &["-Wl,--wrap=main".to_owned()],
            &[],
        );
        assert!(
            wrapped
                .join(" ")
                .ends_with("/w/f/Cargo.toml -- -C link-arg=-Wl,--wrap=main"),
            "{wrapped:?}"
        );
        let image = cargo_args(
            Recipe::Release,
            m,
            "f",
            t,
            &["-Wl,--wrap=main".to_owned()],
            &[RUNTIME_FEATURE],
        )
        .join(" ");
        assert!(
            image.ends_with(
                "/w/f/Cargo.toml --features scf-bootstrap/image -- -C link-arg=-Wl,--wrap=main"
            ),
            "{image}"
        );
        let min = cargo_args(Recipe::MinSize, m, "f", t, &[], &[]).join(" ");
        assert!(
            min.ends_with(" -Zbuild-std=std,panic_abort --target-dir /w/target/min-size"),
            "{min}"
        );
    }

    #[test]
    fn the_executable_among_cargo_messages() {
        let messages = concat!(
            r#"{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"itoa"},"executable":null}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["custom-build"],"name":"build-script-build"},"executable":null}"#,
            "\n",
            "not json\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"other"},"executable":"/t/other"}"#,
            "\n",
            r#"{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"f"},"executable":"/t/release/f"}"#,
            "\n",
            r#"{"reason":"build-finished","success":true}"#,
            "\n",
        );
        assert_eq!(
            executable_from_messages(messages, "f"),
            Some(PathBuf::from("/t/release/f"))
        );
        assert_eq!(executable_from_messages(messages, "g"), None);
    }
}
