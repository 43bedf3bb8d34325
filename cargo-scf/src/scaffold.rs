//! `cargo scf new`: a handler crate that builds as generated.
//!
//! Four files: `Cargo.toml` (depending on `scf-bootstrap` by registry version, path or git;
//! its own workspace root, so it builds even inside another workspace's folder),
//! `src/main.rs`, `.gitignore` and a `README.md` with the next commands. `src/main.rs` comes
//! from a [`Template`]: an init phase and a commented handler of the raw event (`echo`), an
//! API Gateway router on `http` types (`apigw`) or a Timer handler (`timer`); the last two
//! also depend on `scf-events`, taken from the same kind of source as the runtime.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::Error;

/// The version requirement on `scf-bootstrap` a new crate gets by default. A test checks it
/// against the runtime's `Cargo.toml` in this repository.
pub const RUNTIME_VERSION: &str = "0.1";

/// The runtime's package name.
pub const RUNTIME_PACKAGE: &str = "scf-bootstrap";

/// The trigger events' package name (a folder of that name in the runtime's checkout).
pub const EVENTS_PACKAGE: &str = "scf-events";

/// The version requirement on `scf-events` when the runtime comes from crates.io. A test
/// checks it against `scf-events/Cargo.toml` in this repository.
pub const EVENTS_VERSION: &str = "0.1";

/// What a new crate's `src/main.rs` starts from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Template {
    /// An init phase with state and a handler that answers with a greeting and the event's
    /// bytes: the runtime alone.
    #[default]
    Echo,
    /// An API Gateway router on `http::Request` and `http::Response` through
    /// `scf_events::apigw_http::handler`: `GET /hello/{name}` answers JSON, `POST /echo` the
    /// body back, anything else 404.
    Apigw,
    /// A Timer trigger's event parsed as `scf_events::timer::Timer`, answered with one line.
    Timer,
}

impl Template {
    /// Every template, the default first.
    pub const ALL: [Template; 3] = [Template::Echo, Template::Apigw, Template::Timer];

    /// The name `--template` takes.
    pub fn name(self) -> &'static str {
        match self {
            Template::Echo => "echo",
            Template::Apigw => "apigw",
            Template::Timer => "timer",
        }
    }

    /// The template called `name`; an unknown name's error lists the known ones.
    pub fn from_name(name: &str) -> Result<Template, Error> {
        Template::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Template::ALL.iter().map(|t| t.name()).collect();
                Error::new(format!(
                    "no template called `{name}`; there are: {}",
                    names.join(", ")
                ))
            })
    }

    /// The `scf-events` features the template's code uses, or `None` when it does not use
    /// the crate.
    fn events_feature(self) -> Option<&'static str> {
        match self {
            Template::Echo => None,
            Template::Apigw => Some("http"),
            Template::Timer => Some("handler"),
        }
    }

    /// The template's `src/main.rs`, with `{package}` for the package name.
    fn main_rs(self) -> &'static str {
        match self {
            Template::Echo => MAIN_RS,
            Template::Apigw => APIGW_RS,
            Template::Timer => TIMER_RS,
        }
    }
}

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

    /// The `scf-events` dependency's value in `Cargo.toml` from the same kind of source,
    /// with only `feature` (and what it implies) on: the checkout's `scf-events/` folder, the
    /// same git repository, or [`EVENTS_VERSION`] from crates.io.
    pub fn events_toml_value(&self, feature: &str) -> String {
        let source = match self {
            RuntimeSource::Version(_) => format!("version = {}", toml_string(EVENTS_VERSION)),
            RuntimeSource::Path(p) => format!(
                "path = {}",
                toml_string(&p.join(EVENTS_PACKAGE).to_string_lossy())
            ),
            RuntimeSource::Git(url) => format!("git = {}", toml_string(url)),
        };
        format!(
            "{{ {source}, default-features = false, features = [{}] }}",
            toml_string(feature)
        )
    }

    /// Where `scf-events` comes from, in a sentence's words.
    fn events_origin(&self) -> String {
        match self {
            RuntimeSource::Version(_) => format!("crates.io, version {EVENTS_VERSION}"),
            RuntimeSource::Path(p) => format!(
                "the `{EVENTS_PACKAGE}/` folder of the runtime's checkout at `{}`",
                p.display()
            ),
            RuntimeSource::Git(url) => format!("the runtime's git repository, `{url}`"),
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
pub fn files(
    name: &str,
    runtime: &RuntimeSource,
    template: Template,
) -> Vec<(&'static str, String)> {
    vec![
        ("Cargo.toml", cargo_toml(name, runtime, template)),
        ("src/main.rs", template.main_rs().replace("{package}", name)),
        (".gitignore", "/target\n".to_owned()),
        ("README.md", readme(name, runtime, template)),
    ]
}

fn cargo_toml(name: &str, runtime: &RuntimeSource, template: Template) -> String {
    let mut deps = String::new();
    if let Some(feature) = template.events_feature() {
        // Typed trigger events, from where the runtime comes from (the runtime's version is
        // the one scf-events was made for).
        let _ = writeln!(
            deps,
            "# Typed trigger events (`{}` template), from the runtime's source.\n{EVENTS_PACKAGE} = {}",
            template.name(),
            runtime.events_toml_value(feature)
        );
    }
    if template == Template::Apigw {
        deps.push_str("http = \"1\"\nserde_json = \"1\"\n");
    }
    format!(
        r#"[package]
name = {name}
version = "0.1.0"
edition = "2021"
publish = false

[dependencies]
# The runtime: your handler plus this crate make one static `bootstrap`.
{RUNTIME_PACKAGE} = {runtime}
{deps}
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

const MAIN_RS: &str = r#"//! {package}: a Tencent Cloud SCF function (Custom Runtime) on the `scf-bootstrap` runtime.
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

const APIGW_RS: &str = r#"//! {package}: a Tencent Cloud SCF function behind an API Gateway trigger, written as HTTP.
//!
//! `scf_events::apigw_http::handler` turns each API Gateway event into an `http::Request`
//! and `route`'s `http::Response` into the integration response API Gateway expects:
//!
//! - `GET /hello/{name}` → `200`, `{"message":"Hello, {name}!"}`
//! - `POST /echo` → `200`, the request's body (and its `Content-Type`) back
//! - anything else → `404`, `{"error":"no route for <METHOD> <path>"}`
//!
//! An event that is not API Gateway's fails the invocation, naming the bad field.

use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use scf_bootstrap::Context;
use scf_events::apigw_http::Body;
use serde_json::json;

/// A response with `body` as JSON.
fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Vec<u8>> {
    let mut resp = Response::new(body.to_string().into_bytes());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    resp
}

/// One request. The body is borrowed from the event when it can be; `ctx` has the request
/// id, the time left and the function's names.
fn route(req: Request<Body<'_>>, _ctx: &Context) -> Response<Vec<u8>> {
    let path = req.uri().path();
    match (req.method(), path.strip_prefix("/hello/")) {
        (&Method::GET, Some(name)) if !name.is_empty() && !name.contains('/') => json_response(
            StatusCode::OK,
            json!({ "message": format!("Hello, {name}!") }),
        ),
        (&Method::POST, _) if path == "/echo" => {
            let mut resp = Response::new(Vec::new());
            if let Some(ct) = req.headers().get(CONTENT_TYPE) {
                resp.headers_mut().insert(CONTENT_TYPE, ct.clone());
            }
            *resp.body_mut() = req.into_body().into_owned();
            resp
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no route for {} {path}", req.method()) }),
        ),
    }
}

scf_bootstrap::main!(scf_events::apigw_http::handler(route));
"#;

const TIMER_RS: &str = r#"//! {package}: a Tencent Cloud SCF function fired by a Timer trigger.
//!
//! `scf_events::handler` parses each event as `scf_events::timer::Timer` (its strings
//! borrowed from the runtime's buffer) before `tick` sees it; an event that is not a
//! timer's fails the invocation, naming the bad field.

use scf_bootstrap::{Context, Reply};
use scf_events::timer::Timer;

/// One firing: the trigger's name, when it fired and its message (the trigger's
/// "additional information"). What is written to `reply` is the function's result.
fn tick(event: Timer, ctx: &Context, reply: &mut Reply) {
    // Anything printed goes to the invocation's log.
    println!("request {}: timer {}", ctx.request_id(), event.trigger_name);
    reply.push_str(&event.trigger_name);
    reply.push_str(" fired at ");
    reply.push_str(&event.time);
    if let Some(message) = &event.message {
        reply.push_str(": ");
        reply.push_str(message);
    }
}

scf_bootstrap::main!(scf_events::handler::<Timer, _, _>(tick));
"#;

/// What the README says of each template: what the handler does, and the commands that try
/// it.
fn readme_parts(template: Template) -> (&'static str, &'static str) {
    match template {
        Template::Echo => (
            "",
            r#"cargo scf watch                  # serve it on 127.0.0.1:9000, rebuilt on every save:
                                 #   curl -s -XPOST 127.0.0.1:9000/invoke -d '{"key": "value"}'
cargo scf build                  # static x86_64-unknown-linux-musl `bootstrap`: path, size, static or not
"#,
        ),
        Template::Apigw => (
            ": a router for an API Gateway trigger, on `http::Request` and `http::Response`.\n\
             `GET /hello/{name}` answers `200` with `{\"message\":\"Hello, {name}!\"}`, `POST /echo`\n\
             answers `200` with the request's body, anything else `404` with a JSON error",
            r#"cargo scf build                  # static x86_64-unknown-linux-musl `bootstrap`: path, size, static or not
cargo scf invoke --event-example apigw --set httpMethod=GET --set path=/hello/SCF
                                 # RetMsg: the integration response, statusCode 200,
                                 #   body {"message":"Hello, SCF!"}
cargo scf invoke --event-example apigw --set path=/echo
                                 # the sample is a POST: its body back
"#,
        ),
        Template::Timer => (
            ": a Timer trigger's event, typed (`scf_events::timer::Timer`), answered\n\
             with the trigger's name, the time it fired and its message",
            r#"cargo scf build                  # static x86_64-unknown-linux-musl `bootstrap`: path, size, static or not
cargo scf invoke --event-example timer
                                 # RetMsg: EveryDay fired at 2019-02-21T11:49:00Z: user define msg body
"#,
        ),
    }
}

fn readme(name: &str, runtime: &RuntimeSource, template: Template) -> String {
    let (what, try_it) = readme_parts(template);
    let events = match template.events_feature() {
        None => String::new(),
        Some(feature) => format!(
            "\nThe event's types come from `{EVENTS_PACKAGE}` (its `{feature}` feature), taken from the same\n\
             source as `{RUNTIME_PACKAGE}`: {}. Change both together.\n",
            runtime.events_origin()
        ),
    };
    let (event, env) = match template {
        Template::Echo => (
            r#"--event '{"key": "value"}'"#.to_owned(),
            r#"GREETING = "Hi"    # read by `init`"#,
        ),
        t => (
            format!("--event-example {}", t.name()),
            r#"MY_SETTING = "on"  # std::env::var("MY_SETTING") in the handler"#,
        ),
    };
    format!(
        r#"# {name}

A Tencent Cloud SCF function (Custom Runtime) in Rust, on the `scf-bootstrap` runtime.
The handler is in `src/main.rs`{what}.
{events}
Next:

```sh
{try_it}cargo scf pack                   # the deploy zip: `bootstrap` (0755) at its root
cargo scf deploy --name {name}   # create or update the function (TENCENTCLOUD_SECRETID / _SECRETKEY)
```

Then `cargo scf invoke --remote --name {name} {event}` calls it in the cloud;
`cargo scf invoke {event}` runs the last build on this machine first.
Add `--endpoint http://127.0.0.1:9100` to `deploy` and `invoke --remote` to use
`scf-local serve` instead of the cloud.

The function's settings can live in `Cargo.toml`, read by `watch`, `deploy` and `invoke`:

```toml
[package.metadata.scf]
timeout = 3        # seconds
memory = 128       # MB

[package.metadata.scf.env]
{env}
```
"#
    )
}

/// Writes a new crate at `path`; `name` defaults to the folder's name. Refuses a path that
/// exists and is not an empty folder.
///
/// A template that uses `scf-events` with a runtime checkout (`RuntimeSource::Path`) needs
/// the checkout's `scf-events/` folder: without it, nothing is written.
pub fn create(
    path: &Path,
    name: Option<&str>,
    runtime: &RuntimeSource,
    template: Template,
) -> Result<String, Error> {
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
    if let (Some(_), RuntimeSource::Path(checkout)) = (template.events_feature(), runtime) {
        let events = checkout.join(EVENTS_PACKAGE);
        if !events.join("Cargo.toml").is_file() {
            return Err(Error::new(format!(
                "--template {}: the runtime checkout {} has no {EVENTS_PACKAGE}/ package \
                 (--runtime-version or --runtime-git for another source)",
                template.name(),
                checkout.display()
            )));
        }
    }
    for (rel, contents) in files(&name, runtime, template) {
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
    fn the_generated_sources_are_rustfmt_clean() {
        let dir = tempfile::tempdir().unwrap();
        for template in Template::ALL {
            let krate = dir
                .path()
                .join(format!("a-rather-long-{}-function-name", template.name()));
            create(&krate, None, &RuntimeSource::default(), template).unwrap();
            let Ok(out) = std::process::Command::new("rustfmt")
                .args(["--edition", "2021", "--check"])
                .arg(krate.join("src/main.rs"))
                .output()
            else {
                return; // No rustfmt here.
            };
            assert!(
                out.status.success(),
                "{}: {}",
                template.name(),
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }

    #[test]
    fn templates_by_name() {
        for template in Template::ALL {
            assert_eq!(Template::from_name(template.name()).unwrap(), template);
        }
        assert_eq!(Template::default(), Template::Echo);
        let err = Template::from_name("Apigw").unwrap_err();
        assert_eq!(
            err.to_string(),
            "no template called `Apigw`; there are: echo, apigw, timer"
        );
    }

    #[test]
    fn events_from_the_runtime_source() {
        assert_eq!(
            RuntimeSource::Version("0.1.3".into()).events_toml_value("http"),
            r#"{ version = "0.1", default-features = false, features = ["http"] }"#
        );
        assert_eq!(
            RuntimeSource::Path(PathBuf::from("/src/scf")).events_toml_value("handler"),
            r#"{ path = "/src/scf/scf-events", default-features = false, features = ["handler"] }"#
        );
        assert_eq!(
            RuntimeSource::Git("https://example.com/r.git".into()).events_toml_value("http"),
            r#"{ git = "https://example.com/r.git", default-features = false, features = ["http"] }"#
        );
    }

    #[test]
    fn events_version_matches_the_crate() {
        let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scf-events/Cargo.toml");
        let Ok(text) = std::fs::read_to_string(manifest) else {
            return;
        };
        let version = text
            .lines()
            .find_map(|l| l.strip_prefix("version = \""))
            .expect("scf-events' version");
        assert!(
            version.starts_with(&format!("{EVENTS_VERSION}.")),
            "{version} vs {EVENTS_VERSION}"
        );
    }

    /// The file called `rel` among `files`.
    fn file<'a>(files: &'a [(&str, String)], rel: &str) -> &'a str {
        &files.iter().find(|(r, _)| *r == rel).expect(rel).1
    }

    #[test]
    fn the_echo_template_has_the_runtime_alone() {
        let files = files("f", &RuntimeSource::default(), Template::Echo);
        let toml = file(&files, "Cargo.toml");
        assert!(!toml.contains(EVENTS_PACKAGE), "{toml}");
        assert!(!toml.contains("http"), "{toml}");
        let readme = file(&files, "README.md");
        assert!(!readme.contains(EVENTS_PACKAGE), "{readme}");
        assert!(readme.contains("cargo scf watch"), "{readme}");
        assert!(
            readme.contains(r#"cargo scf invoke --remote --name f --event '{"key": "value"}'"#),
            "{readme}"
        );
    }

    #[test]
    fn the_apigw_template_routes_as_its_readme_says() {
        let checkout = PathBuf::from("/src/scf");
        let files = files("gw", &RuntimeSource::Path(checkout), Template::Apigw);
        let toml = file(&files, "Cargo.toml");
        for dep in [
            r#"scf-bootstrap = { path = "/src/scf" }"#,
            r#"scf-events = { path = "/src/scf/scf-events", default-features = false, features = ["http"] }"#,
            "http = \"1\"",
            "serde_json = \"1\"",
        ] {
            assert!(toml.lines().any(|l| l == dep), "{dep} in {toml}");
        }
        let main = file(&files, "src/main.rs");
        assert!(main.starts_with("//! gw: "), "{main}");
        for line in [
            "//! - `GET /hello/{name}` → `200`, `{\"message\":\"Hello, {name}!\"}`",
            r#"    match (req.method(), path.strip_prefix("/hello/")) {"#,
            r#"            json!({ "message": format!("Hello, {name}!") }),"#,
            r#"        (&Method::POST, _) if path == "/echo" => {"#,
            "            StatusCode::NOT_FOUND,",
            "scf_bootstrap::main!(scf_events::apigw_http::handler(route));",
        ] {
            assert!(main.lines().any(|l| l == line), "{line} in {main}");
        }
        let readme = file(&files, "README.md");
        for promise in [
            "`GET /hello/{name}` answers `200` with `{\"message\":\"Hello, {name}!\"}`, `POST /echo`",
            "cargo scf invoke --event-example apigw --set httpMethod=GET --set path=/hello/SCF",
            "source as `scf-bootstrap`: the `scf-events/` folder of the runtime's checkout at `/src/scf`. Change both together.",
            "Then `cargo scf invoke --remote --name gw --event-example apigw` calls it in the cloud;",
        ] {
            assert!(readme.contains(promise), "{promise} in {readme}");
        }
    }

    #[test]
    fn the_timer_template_parses_a_timer() {
        let git = RuntimeSource::Git("https://example.com/r.git".into());
        let files = files("tick", &git, Template::Timer);
        let toml = file(&files, "Cargo.toml");
        assert!(
            toml.contains(
                r#"scf-events = { git = "https://example.com/r.git", default-features = false, features = ["handler"] }"#
            ),
            "{toml}"
        );
        assert!(!toml.contains("http ="), "{toml}");
        let main = file(&files, "src/main.rs");
        assert!(main.contains("scf_bootstrap::main!(scf_events::handler::<Timer, _, _>(tick));"));
        let readme = file(&files, "README.md");
        assert!(
            readme.contains("the runtime's git repository, `https://example.com/r.git`"),
            "{readme}"
        );
        assert!(
            readme.contains("cargo scf invoke --event-example timer\n"),
            "{readme}"
        );
        let versioned = super::files("tick", &RuntimeSource::default(), Template::Timer);
        assert!(file(&versioned, "README.md").contains("crates.io, version 0.1."));
    }

    #[test]
    fn a_checkout_without_scf_events_is_refused_for_a_template_that_needs_it() {
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("rt");
        std::fs::create_dir(&checkout).unwrap();
        let runtime = RuntimeSource::Path(checkout.clone());
        let krate = dir.path().join("gw");
        let err = create(&krate, None, &runtime, Template::Apigw).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "--template apigw: the runtime checkout {} has no scf-events/ package \
                 (--runtime-version or --runtime-git for another source)",
                checkout.display()
            )
        );
        assert!(!krate.exists());
        // The echo template does not need it.
        create(&krate, None, &runtime, Template::Echo).unwrap();
    }

    #[test]
    fn create_writes_the_files_and_refuses_a_full_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("my-fn");
        let name = create(&path, None, &RuntimeSource::default(), Template::Echo).unwrap();
        assert_eq!(name, "my-fn");
        let toml = std::fs::read_to_string(path.join("Cargo.toml")).unwrap();
        assert!(toml.contains("name = \"my-fn\""));
        assert!(toml.contains("scf-bootstrap = \"0.1\""));
        assert!(toml.trim_end().ends_with("[workspace]"));
        let main = std::fs::read_to_string(path.join("src/main.rs")).unwrap();
        assert!(main.contains("scf_bootstrap::main!(init = init, handler = handler);"));
        assert!(!main.contains("{package}"));
        let readme = std::fs::read_to_string(path.join("README.md")).unwrap();
        assert!(readme.contains("cargo scf deploy --name my-fn"));
        assert_eq!(
            std::fs::read_to_string(path.join(".gitignore")).unwrap(),
            "/target\n"
        );

        let err = create(&path, None, &RuntimeSource::default(), Template::Echo).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{} already exists and is not empty", path.display())
        );

        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        assert_eq!(
            create(
                &empty,
                Some("other"),
                &RuntimeSource::default(),
                Template::Echo
            )
            .unwrap(),
            "other"
        );

        let err = create(
            &dir.path().join("9lives"),
            None,
            &RuntimeSource::default(),
            Template::Echo,
        )
        .unwrap_err();
        assert!(err.to_string().contains("choose one with --name"), "{err}");
    }
}
