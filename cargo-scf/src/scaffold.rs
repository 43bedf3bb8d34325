//! `cargo scf new`: a handler crate that builds as generated.
//!
//! Four files: `Cargo.toml` (depending on `scf-bootstrap` by registry version, path or git;
//! its own workspace root, so it builds even inside another workspace's folder),
//! `src/main.rs` (an init phase and a commented handler), `.gitignore` and a `README.md`
//! with the next commands.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Error;

/// The version requirement on `scf-bootstrap` a new crate gets by default. A test checks it
/// against the runtime's `Cargo.toml` in this repository.
pub const RUNTIME_VERSION: &str = "0.1";

/// The runtime's package name.
pub const RUNTIME_PACKAGE: &str = "scf-bootstrap";

/// Where the new crate takes `scf-bootstrap` from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuntimeSource {
    /// A crates.io version requirement.
    Version(String),
    /// A local checkout of the runtime (made absolute).
    Path(PathBuf),
    /// A git repository.
    Git(String),
}

impl Default for RuntimeSource {
    fn default() -> Self {
        RuntimeSource::Version(RUNTIME_VERSION.to_owned())
    }
}

/// Where this cargo-scf was built from: the runtime's checkout is the folder above
/// cargo-scf's own package in the repository. A cargo-scf installed from crates.io was built
/// from an unpacked `.crate`, with no runtime next to it.
const BUILT_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

/// The runtime source of a `cargo scf new` without `--runtime-*`, and why it was chosen.
///
/// `scf-bootstrap` is not on crates.io yet, so a dependency on `"0.1"` would not resolve.
/// The checkout cargo-scf was built from (`cargo install --path cargo-scf`) is the runtime
/// this cargo-scf knows, of the same version: when it still exists and holds the
/// `scf-bootstrap` package, the new crate depends on it by path. Otherwise (a cargo-scf
/// installed from crates.io, or a checkout moved since) the crates.io version.
pub fn default_source() -> (RuntimeSource, String) {
    default_source_from(Path::new(BUILT_IN))
}

/// [`default_source`] with the checkout looked for at `checkout`.
pub fn default_source_from(checkout: &Path) -> (RuntimeSource, String) {
    match runtime_path(checkout) {
        Ok(path) => {
            let why = format!(
                "{RUNTIME_PACKAGE} from {} (the checkout cargo-scf was built from; \
                 --runtime-version {RUNTIME_VERSION} for the crates.io release)",
                path.display()
            );
            (RuntimeSource::Path(path), why)
        }
        Err(_) => (
            RuntimeSource::default(),
            format!(
                "{RUNTIME_PACKAGE} {RUNTIME_VERSION} from crates.io (no runtime checkout at {}; \
                 --runtime-path or --runtime-git for another source)",
                checkout.display()
            ),
        ),
    }
}

impl RuntimeSource {
    /// The dependency's value in `Cargo.toml`.
    pub fn toml_value(&self) -> String {
        match self {
            RuntimeSource::Version(v) => toml_string(v),
            RuntimeSource::Path(p) => format!("{{ path = {} }}", toml_string(&p.to_string_lossy())),
            RuntimeSource::Git(url) => format!("{{ git = {} }}", toml_string(url)),
        }
    }
}

/// A TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Checks a package name as Cargo would accept it for a new binary crate: ASCII letters,
/// digits, `-` and `_`, starting with a letter, at most 64 characters.
pub fn check_name(name: &str) -> Result<(), Error> {
    let ok = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(Error::new(format!(
            "{name:?} is not a usable package name: letters, digits, - and _, starting with a letter (choose one with --name)"
        )))
    }
}

/// Checks that `path` holds the runtime's package and returns it absolute.
pub fn runtime_path(path: &Path) -> Result<PathBuf, Error> {
    let abs = path
        .canonicalize()
        .map_err(|e| Error::new(format!("--runtime-path {}: {e}", path.display())))?;
    let manifest = std::fs::read_to_string(abs.join("Cargo.toml")).map_err(|e| {
        Error::new(format!(
            "--runtime-path {}: no Cargo.toml ({e})",
            path.display()
        ))
    })?;
    let named = manifest
        .lines()
        .any(|l| l.replace(' ', "") == format!("name=\"{RUNTIME_PACKAGE}\""));
    if !named {
        return Err(Error::new(format!(
            "--runtime-path {}: its Cargo.toml is not the {RUNTIME_PACKAGE} package",
            path.display()
        )));
    }
    Ok(abs)
}

/// The generated files, as `(relative path, contents)`.
pub fn files(name: &str, runtime: &RuntimeSource) -> Vec<(&'static str, String)> {
    vec![
        ("Cargo.toml", cargo_toml(name, runtime)),
        ("src/main.rs", MAIN_RS.replace("{name}", name)),
        (".gitignore", "/target\n".to_owned()),
        ("README.md", readme(name)),
    ]
}

fn cargo_toml(name: &str, runtime: &RuntimeSource) -> String {
    format!(
        r#"[package]
name = {name}
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
# The runtime: your handler plus this crate make one static `bootstrap`.
{RUNTIME_PACKAGE} = {runtime}

# `cargo scf build` applies the runtime's size profile (opt-level "s", LTO, one codegen
# unit, panic = "abort", strip) and its static, non-PIE musl flags from outside: nothing to
# add here. A [profile.release] of your own is overridden by that build only.

# Its own workspace: the crate builds even when its folder is inside another workspace.
[workspace]
"#,
        name = toml_string(name),
        runtime = runtime.toml_value(),
    )
}

const MAIN_RS: &str = r#"//! {name}: a Tencent Cloud SCF function (Custom Runtime) on the `scf-bootstrap` runtime.
//!
//! `cargo scf build` turns this into one static `bootstrap`; the platform starts it, it runs
//! `init` once, reports ready, then calls `handler` for each event.

use std::io::Write;

use scf_bootstrap::{Context, Reply};

/// What the init phase prepares once per instance; every invocation gets it as `&mut State`.
/// Open clients, read configuration and files here, not in the handler.
struct State {
    greeting: String,
    /// Invocations served by this instance: state lives as long as the instance.
    served: u64,
}

/// The init phase: runs once, before the instance reports ready (within `InitTimeout`).
/// An `Err` ends the instance: its text goes to the log and the platform reports the failed
/// init. What it prints is joined to the first invocation's log.
fn init() -> Result<State, String> {
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "Hello".to_owned());
    println!("init: ready to greet with {greeting:?}");
    Ok(State {
        greeting,
        served: 0,
    })
}

/// One invocation.
///
/// - `event`: the event's bytes (JSON), borrowed from the runtime's buffer;
/// - `ctx`: request id, memory and time limits, deadline, function name, namespace, region;
/// - `reply`: what you write here is the function's result (`RetMsg`); it implements
///   `std::io::Write` and `std::fmt::Write`.
///
/// Returning `Err(text)` reports a failed invocation with `text` as its error message. A
/// panic is reported too, then the instance ends (release builds abort on panic).
fn handler(
    state: &mut State,
    event: &[u8],
    ctx: &Context,
    reply: &mut Reply,
) -> Result<(), String> {
    state.served += 1;
    // Anything printed goes to the invocation's log (`LogType: Tail` returns its end).
    let left = ctx.remaining().as_millis();
    let id = ctx.request_id();
    println!("request {id} #{}: {left} ms left", state.served);
    let function = ctx.function_name().unwrap_or("this function");
    write!(reply, "{} from {function}! event: ", state.greeting).map_err(|e| e.to_string())?;
    reply.extend_from_slice(event);
    Ok(())
}

scf_bootstrap::main!(init = init, handler = handler);
"#;

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

A Tencent Cloud SCF function (Custom Runtime) in Rust, on the `scf-bootstrap` runtime.
The handler is in `src/main.rs`.

Next:

```sh
cargo scf watch                  # serve it on 127.0.0.1:9000, rebuilt on every save:
                                 #   curl -s -XPOST 127.0.0.1:9000/invoke -d '{{"key": "value"}}'
cargo scf build                  # static x86_64-unknown-linux-musl `bootstrap`: path, size, static or not
cargo scf pack                   # the deploy zip: `bootstrap` (0755) at its root
cargo scf deploy --name {name}   # create or update the function (TENCENTCLOUD_SECRETID / _SECRETKEY)
```

Then `cargo scf invoke --remote --name {name} --event '{{"key": "value"}}'` calls it in the cloud;
`cargo scf invoke --event '{{"key": "value"}}'` runs the last build on this machine first.
Add `--endpoint http://127.0.0.1:9100` to `deploy` and `invoke --remote` to use
`scf-local serve` instead of the cloud.

The function's settings can live in `Cargo.toml`, read by `watch`, `deploy` and `invoke`:

```toml
[package.metadata.scf]
timeout = 3        # seconds
memory = 128       # MB

[package.metadata.scf.env]
GREETING = "Hi"
```
"#
    )
}

/// Writes a new crate at `path`; `name` defaults to the folder's name. Refuses a path that
/// exists and is not an empty folder.
pub fn create(path: &Path, name: Option<&str>, runtime: &RuntimeSource) -> Result<String, Error> {
    let name = match name {
        Some(n) => n.to_owned(),
        // Absolute, so `cargo scf new .` takes the current folder's name.
        None => std::path::absolute(path)
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
            .ok_or_else(|| {
                Error::new(format!("{} has no folder name: use --name", path.display()))
            })?,
    };
    if let Ok(mut entries) = std::fs::read_dir(path) {
        if entries.next().is_some() {
            return Err(Error::new(format!(
                "{} already exists and is not empty",
                path.display()
            )));
        }
    } else if path.exists() {
        return Err(Error::new(format!("{} already exists", path.display())));
    }
    check_name(&name)?;
    for (rel, contents) in files(&name, runtime) {
        let file = path.join(rel);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
        }
        std::fs::write(&file, contents)
            .map_err(|e| Error::new(format!("cannot write {}: {e}", file.display())))?;
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["hello", "my-fn", "f_2", "A1"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "1fn", "-x", "a b", "é", "a.b", &"x".repeat(65)] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn runtime_sources_in_toml() {
        assert_eq!(RuntimeSource::default().toml_value(), "\"0.1\"");
        assert_eq!(
            RuntimeSource::Path(PathBuf::from(r#"/a "b"\c"#)).toml_value(),
            r#"{ path = "/a \"b\"\\c" }"#
        );
        assert_eq!(
            RuntimeSource::Git("https://example.com/r.git".into()).toml_value(),
            r#"{ git = "https://example.com/r.git" }"#
        );
    }

    #[test]
    fn default_version_matches_the_runtime() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let Ok(text) = std::fs::read_to_string(root) else {
            return;
        };
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("version = \""))
            .and_then(|v| v.strip_suffix('"'))
            .expect("the runtime's version");
        // A caret requirement "0.1" accepts 0.1.x.
        assert!(
            version.starts_with(&format!("{RUNTIME_VERSION}.")),
            "{version} vs {RUNTIME_VERSION}"
        );
    }

    #[test]
    fn the_default_source_is_the_checkout_when_there_is_one() {
        let (source, why) = default_source_from(Path::new("/nonexistent/checkout"));
        assert_eq!(source, RuntimeSource::default());
        assert!(
            why.starts_with(
                "scf-bootstrap 0.1 from crates.io (no runtime checkout at /nonexistent/checkout;"
            ),
            "{why}"
        );
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if root.join("src/lib.rs").exists() {
            let (source, why) = default_source();
            assert_eq!(source, RuntimeSource::Path(root.canonicalize().unwrap()));
            assert!(
                why.contains("(the checkout cargo-scf was built from;"),
                "{why}"
            );
        }
    }

    #[test]
    fn runtime_path_is_checked() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        if root.join("src/lib.rs").exists() {
            assert!(runtime_path(&root).unwrap().is_absolute());
        }
        let err = runtime_path(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("is not the scf-bootstrap package"),
            "{err}"
        );
        let err = runtime_path(Path::new("/nonexistent/runtime")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("--runtime-path /nonexistent/runtime: "));
    }

    #[test]
    fn the_generated_source_is_rustfmt_clean() {
        let dir = tempfile::tempdir().unwrap();
        create(
            &dir.path().join("a-rather-long-function-name"),
            None,
            &RuntimeSource::default(),
        )
        .unwrap();
        let main = dir.path().join("a-rather-long-function-name/src/main.rs");
        let Ok(out) = std::process::Command::new("rustfmt")
            .args(["--edition", "2021", "--check"])
            .arg(&main)
            .output()
        else {
            return; // No rustfmt here.
        };
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    #[test]
    fn create_writes_the_files_and_refuses_a_full_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my-fn");
        let name = create(&path, None, &RuntimeSource::default()).unwrap();
        assert_eq!(name, "my-fn");
        let toml = std::fs::read_to_string(path.join("Cargo.toml")).unwrap();
        assert!(toml.contains("name = \"my-fn\""));
        assert!(toml.contains("scf-bootstrap = \"0.1\""));
        assert!(toml.trim_end().ends_with("[workspace]"));
        let main = std::fs::read_to_string(path.join("src/main.rs")).unwrap();
        assert!(main.contains("scf_bootstrap::main!(init = init, handler = handler);"));
        assert!(!main.contains("{name}"));
        let readme = std::fs::read_to_string(path.join("README.md")).unwrap();
        assert!(readme.contains("cargo scf deploy --name my-fn"));
        assert_eq!(
            std::fs::read_to_string(path.join(".gitignore")).unwrap(),
            "/target\n"
        );

        let err = create(&path, None, &RuntimeSource::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} already exists and is not empty", path.display())
        );

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(
            create(&empty, Some("other"), &RuntimeSource::default()).unwrap(),
            "other"
        );

        let err = create(&dir.path().join("9lives"), None, &RuntimeSource::default()).unwrap_err();
        assert!(err.to_string().contains("choose one with --name"), "{err}");
    }
}
