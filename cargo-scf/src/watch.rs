//! `cargo scf watch`: the edit–run loop. Build, serve, and on every saved change rebuild and
//! swap the new code in between invocations.
//!
//! - **Serving**: `scf_local::local_api::serve_replaceable` on `127.0.0.1:PORT`, the same
//!   server as `scf-local run` (its connection limits and `Host` check): `POST /invoke`
//!   answers the `Result` JSON, and `POST /` with `X-TC-Action: Invoke` is the TencentCloud
//!   API's `Invoke` for SDK callers. Each invocation's log (`START`, the function's output,
//!   `END`, `Report`) is written to stderr as it ends.
//! - **Watching**: the `notify` crate (inotify) on every local package of the crate (itself
//!   and its path dependencies, the runtime's checkout included): their `src/` trees,
//!   `Cargo.toml` and `build.rs`. Events are debounced: a build starts once the files have
//!   been quiet for [`QUIET`] (an editor's save is several events), or after
//!   [`MAX_DEBOUNCE`] of continuous changes.
//! - **Swapping**: each build is packed and opened as a code package of its own (a private
//!   copy, so the next build cannot change the code an instance runs), a new
//!   [`scf_local::Pool`] is made for it and put in place of the old one. A call takes the
//!   pool current when it starts: an invocation in flight finishes on the old code, the next
//!   one runs the new; the old pool's instances stop when its last invocation ends.
//! - **Settings**: `[package.metadata.scf]`, the env file and the flags
//!   ([`function_config`]), read again for every build.
//! - **Build errors**: cargo's diagnostics go to the terminal as usual, and the previous
//!   build keeps serving until a build succeeds. When the first build fails, the watch
//!   waits for the next change all the same; until a build succeeds nothing is served (the
//!   port is taken, and a client's connection waits).
//! - **An event after every build** (`--event`, `--event-file`, `--event-example`,
//!   `--set`): each build that starts serving is invoked once with it; the `Result` JSON
//!   goes to stdout, as `cargo scf invoke` prints it, and the log to stderr.
//! - **Stopping**: `SIGINT` (Ctrl-C), `SIGTERM` or `SIGHUP` stops the server, ends a build
//!   under way (cargo runs in a process group of its own, which gets `SIGTERM`) and stops
//!   every instance (scf-local's keepers take each instance's whole process tree down).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use notify::{EventKind, RecursiveMode, Watcher as _};
use scf_local::{Dialect, FunctionConfig, Package, Pool, ReplaceablePool};
use tokio::sync::mpsc;

use crate::build::{self, BuildOptions, Built, Stopper};
use crate::deploy::Settings;
use crate::project::Project;
use crate::{progress, Error};

/// How long the watched files must be quiet before a build starts.
pub const QUIET: Duration = Duration::from_millis(300);

/// The longest a build waits for the files to be quiet.
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(3);

/// What `watch` needs.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// The crate's `Cargo.toml`; by default Cargo's search from the current directory.
    pub manifest_path: Option<PathBuf>,
    /// The binary target; by default the package's only one.
    pub bin: Option<String>,
    /// The port on 127.0.0.1 (0: the OS picks one; the address is printed).
    pub port: u16,
    /// `FunctionName`; by default the package's name.
    pub name: Option<String>,
    /// The runtime API the instances serve.
    pub dialect: Dialect,
    /// An env file, read again for every build (over the crate's metadata).
    pub env_file: Option<PathBuf>,
    /// The settings of the command line (over the env file).
    pub flags: Settings,
    /// The event to invoke each new build with, if any.
    pub event: Option<String>,
}

/// The function as the emulator runs it, for the crate as it is now: its
/// `[package.metadata.scf]`, the env file, then the flags. Read again for every build, so
/// an edit of the settings takes effect with the next swap.
pub fn function_config(options: &WatchOptions) -> Result<FunctionConfig, Error> {
    let project = Project::locate(options.manifest_path.as_deref())?;
    let settings = Settings::gather(
        &project.scf_metadata,
        options.env_file.as_deref(),
        options.flags.clone(),
    )?;
    let mut config = settings.function_config();
    config.function_name = options.name.clone().unwrap_or(project.package);
    config.dialect = options.dialect;
    if options.dialect == Dialect::Aws {
        // As `scf-local run --api aws`: AWS's default region.
        config.region = "us-east-1".to_owned();
    }
    config.validate().map_err(|e| Error::new(e.to_string()))?;
    Ok(config)
}

/// Whether a changed `path` is a source of one of the local packages in `dirs`: anything
/// under its `src/`, its `Cargo.toml` or `build.rs`, except hidden files and editors'
/// backups (`x~`).
pub fn is_source(path: &Path, dirs: &[PathBuf]) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') || name.ends_with('~') {
        return false;
    }
    dirs.iter().any(|dir| {
        path.starts_with(dir.join("src"))
            || path == dir.join("Cargo.toml")
            || path == dir.join("build.rs")
    })
}

/// Waits for a change to a source among `events`, then for the files to be quiet (at most
/// [`MAX_DEBOUNCE`]). Returns the first changed source, or `None` when the watcher is gone.
pub fn next_change(
    events: &Receiver<notify::Result<notify::Event>>,
    dirs: &[PathBuf],
) -> Option<PathBuf> {
    let relevant = |event: notify::Result<notify::Event>| -> Option<PathBuf> {
        let event = event.ok()?;
        if matches!(event.kind, EventKind::Access(_)) {
            return None;
        }
        event.paths.into_iter().find(|p| is_source(p, dirs))
    };
    let first = loop {
        if let Some(path) = relevant(events.recv().ok()?) {
            break path;
        }
    };
    let give_up = Instant::now() + MAX_DEBOUNCE;
    let mut quiet_until = Instant::now() + QUIET;
    loop {
        let now = Instant::now();
        if now >= quiet_until || now >= give_up {
            return Some(first);
        }
        match events.recv_timeout(quiet_until.min(give_up) - now) {
            Ok(event) => {
                if relevant(event).is_some() {
                    quiet_until = Instant::now() + QUIET;
                }
            }
            Err(RecvTimeoutError::Timeout) => return Some(first),
            Err(RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Packs the build's bootstrap and opens the zip as a code package: its own unpacked copy,
/// removed when the package is dropped.
fn package_of(built: &Built) -> Result<Package, Error> {
    let zip = built.project.out_dir().join("watch.zip");
    scf_local::package::pack(&built.bootstrap, &[], &zip).map_err(|e| Error::new(e.to_string()))?;
    Package::open(&zip).map_err(|e| Error::new(e.to_string()))
}

/// Builds, packs and opens, and reads the settings again; the error is printed by the
/// caller.
fn build_package(
    options: &BuildOptions,
    watch: &WatchOptions,
) -> Result<(Package, FunctionConfig), Error> {
    let built = build::build(options)?;
    let package = package_of(&built)?;
    Ok((package, function_config(watch)?))
}

/// Starts watching the sources of `dirs`; events go to the returned channel.
fn start_watcher(
    dirs: &[PathBuf],
) -> Result<
    (
        notify::RecommendedWatcher,
        Receiver<notify::Result<notify::Event>>,
    ),
    Error,
> {
    let (tx, rx) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(tx)
        .map_err(|e| Error::new(format!("cannot watch files: {e}")))?;
    for dir in dirs {
        // The folder itself (not recursively) for Cargo.toml and build.rs, which editors
        // often replace rather than write; src/ with everything below it.
        watcher
            .watch(dir, RecursiveMode::NonRecursive)
            .map_err(|e| Error::new(format!("cannot watch {}: {e}", dir.display())))?;
        let src = dir.join("src");
        if src.is_dir() {
            watcher
                .watch(&src, RecursiveMode::Recursive)
                .map_err(|e| Error::new(format!("cannot watch {}: {e}", src.display())))?;
        }
    }
    Ok((watcher, rx))
}

/// Runs `cargo scf watch` until a signal stops it.
pub fn watch(options: WatchOptions) -> Result<ExitCode, Error> {
    // Settings first: a mistake in them is reported before anything is built.
    function_config(&options)?;
    let stopper = Stopper::default();
    let build_options = BuildOptions {
        manifest_path: options.manifest_path.clone(),
        min_size: false,
        bin: options.bin.clone(),
        image: None,
        stopper: Some(stopper.clone()),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the local runtime: {e}")))?;
    // Signals are caught from here on: a Ctrl-C during the first build stops it cleanly.
    let signalled = rt.block_on(async { signals() })?;
    // The port first: a busy one is reported before a build, not after.
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", options.port)))
        .map_err(|e| Error::new(format!("cannot listen on 127.0.0.1:{}: {e}", options.port)))?;
    // The watcher first: a save during the first build is a change like any other.
    let project = Project::locate(options.manifest_path.as_deref())?;
    let dirs = project.local_package_dirs()?;
    let (watcher, mut events) = start_watcher(&dirs)?;
    // Until a build succeeds there is nothing to serve: a failed first build waits for the
    // next change, as a failed rebuild does.
    let (package, config) = loop {
        let (build_options, options) = (build_options.clone(), options.clone());
        let build = rt.spawn_blocking(move || build_package(&build_options, &options));
        let built = unless_signalled(&rt, &signalled, build);
        match built {
            None => {
                stopper.stop();
                progress("Stopped", "interrupted during the first build");
                return Ok(ExitCode::from(130));
            }
            Some(Err(_)) => return Err(Error::new("the first build did not finish")),
            Some(Ok(Ok(result))) => break result,
            Some(Ok(Err(e))) => progress(
                "Failed",
                &format!("{e}; nothing is served until a build succeeds: fix and save"),
            ),
        }
        let waiting = {
            let dirs = dirs.clone();
            rt.spawn_blocking(move || {
                let changed = next_change(&events, &dirs);
                (changed, events)
            })
        };
        let changed = unless_signalled(&rt, &signalled, waiting);
        match changed {
            // Dropping the watcher ends the wait.
            None => {
                drop(watcher);
                progress("Stopped", "no build succeeded");
                return Ok(ExitCode::from(130));
            }
            Some(Err(_)) => return Err(Error::new("the wait for a change did not finish")),
            Some(Ok((None, _))) => return Err(Error::new("the file watcher stopped")),
            Some(Ok((Some(changed), back))) => {
                events = back;
                progress("Changed", &changed.display().to_string());
            }
        }
    };

    rt.block_on(async move {
        let addr = listener
            .local_addr()
            .map_err(|e| Error::new(e.to_string()))?;
        let pool = Pool::new(config.clone(), package).map_err(|e| Error::new(e.to_string()))?;
        let pools = ReplaceablePool::new(pool);
        let (stop_serving, serving_stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(scf_local::local_api::serve_replaceable(
            listener,
            pools.clone(),
            true,
            async move {
                let _ = serving_stopped.await;
            },
        ));

        let after_build = options.event.clone().map(Bytes::from);
        // Builds run on a thread of their own; each new package comes back here.
        let (built_tx, mut built_rx) = mpsc::channel::<(Package, FunctionConfig)>(1);
        let builder = {
            let dirs = dirs.clone();
            let stopper = stopper.clone();
            std::thread::spawn(move || {
                while let Some(changed) = next_change(&events, &dirs) {
                    progress("Changed", &changed.display().to_string());
                    match build_package(&build_options, &options) {
                        Ok(built) => {
                            if built_tx.blocking_send(built).is_err() {
                                return;
                            }
                        }
                        Err(_) if stopper.stopped() => return,
                        Err(e) => {
                            progress("Failed", &format!("{e}; the previous build keeps serving"))
                        }
                    }
                }
            })
        };

        progress(
            "Watching",
            &dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        );
        progress(
            "Serving",
            &format!(
                "{} on http://{addr}/invoke (POST the event) and http://{addr}/ (TencentCloud \
                 Invoke, FunctionName {}); Ctrl-C to stop",
                config.function_name, config.function_name
            ),
        );
        let mut generation = 1u64;
        if let Some(event) = &after_build {
            tokio::spawn(invoke_build(pools.current(), event.clone(), generation));
        }
        loop {
            tokio::select! {
                _ = signalled.notified() => break,
                built = built_rx.recv() => {
                    let Some((package, config)) = built else { break };
                    match Pool::new(config, package) {
                        Ok(pool) => {
                            generation += 1;
                            // The old pool ends when its last call does.
                            drop(pools.replace(pool));
                            progress(
                                "Swapped",
                                &format!("build {generation} serves the next invocation"),
                            );
                            if let Some(event) = &after_build {
                                tokio::spawn(invoke_build(pools.current(), event.clone(), generation));
                            }
                        }
                        Err(e) => progress("Failed", &e.to_string()),
                    }
                }
            }
        }
        // Stop: no new connections, no new build, then every instance.
        let _ = stop_serving.send(());
        stopper.stop();
        drop(watcher);
        drop(built_rx);
        let _ = server.await;
        pools.current().shutdown().await;
        let _ = tokio::task::spawn_blocking(move || builder.join()).await;
        progress("Stopped", "no instance or build left running");
        Ok(ExitCode::from(130))
    })
}

/// Runs `task` on `rt` to its end, or until a stop signal (`None`).
fn unless_signalled<T>(
    rt: &tokio::runtime::Runtime,
    signalled: &tokio::sync::Notify,
    task: impl std::future::Future<Output = T>,
) -> Option<T> {
    rt.block_on(async {
        tokio::select! {
            done = task => Some(done),
            _ = signalled.notified() => None,
        }
    })
}

/// Invokes build `generation` once with `event`: the log to stderr, the `Result` JSON (one
/// line) to stdout.
async fn invoke_build(pool: Pool, event: Bytes, generation: u64) {
    let result = pool.invoke(event).await;
    {
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), "{}", result.log);
    }
    let outcome = if result.succeeded() {
        "succeeded"
    } else {
        "failed"
    };
    progress(
        "Invoked",
        &format!("build {generation} with the event: {outcome}"),
    );
    println!("{}", result.to_json());
}

/// A notification for the first `SIGINT`, `SIGTERM` or `SIGHUP`.
fn signals() -> Result<std::sync::Arc<tokio::sync::Notify>, Error> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut streams = Vec::new();
    for kind in [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
    ] {
        streams.push(signal(kind).map_err(|e| Error::new(format!("cannot catch signals: {e}")))?);
    }
    let notify = std::sync::Arc::new(tokio::sync::Notify::new());
    for mut stream in streams {
        let notify = notify.clone();
        tokio::spawn(async move {
            stream.recv().await;
            // `notify_one` keeps a permit when nobody waits yet.
            notify.notify_one();
            notify.notify_waiters();
        });
    }
    Ok(notify)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources() {
        let dirs = [PathBuf::from("/w/f"), PathBuf::from("/rt")];
        // Table: (path, a source?).
        let cases = [
            ("/w/f/src/main.rs", true),
            ("/w/f/src/a/b.rs", true),
            ("/w/f/src/data.json", true),
            ("/w/f/Cargo.toml", true),
            ("/w/f/build.rs", true),
            ("/rt/src/lib.rs", true),
            ("/w/f/src/.main.rs.swp", false),
            ("/w/f/src/main.rs~", false),
            ("/w/f/Cargo.lock", false),
            ("/w/f/README.md", false),
            ("/w/f/target/debug/f", false),
            ("/w/g/src/main.rs", false),
        ];
        for (path, want) in cases {
            assert_eq!(is_source(Path::new(path), &dirs), want, "{path}");
        }
    }

    #[test]
    fn changes_are_debounced() {
        let dirs = [PathBuf::from("/w/f")];
        let (tx, rx) = std::sync::mpsc::channel();
        let event = |path: &str, kind: EventKind| {
            Ok(notify::Event::new(kind).add_path(PathBuf::from(path)))
        };
        let modify = EventKind::Modify(notify::event::ModifyKind::Any);
        tx.send(event("/w/f/target/x", modify)).unwrap();
        tx.send(event(
            "/w/f/src/main.rs",
            EventKind::Access(notify::event::AccessKind::Any),
        ))
        .unwrap();
        tx.send(event("/w/f/src/main.rs", modify)).unwrap();
        tx.send(event("/w/f/src/lib.rs", modify)).unwrap();
        // One change for the burst, the first source named.
        assert_eq!(
            next_change(&rx, &dirs),
            Some(PathBuf::from("/w/f/src/main.rs"))
        );
        drop(tx);
        assert_eq!(next_change(&rx, &dirs), None);
    }
}
