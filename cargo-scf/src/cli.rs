//! The command line: `cargo scf new|build|pack|deploy|invoke|watch`.
//!
//! Cargo runs `cargo-scf scf <args>` for `cargo scf <args>`; the leading `scf` is dropped, so
//! `cargo-scf <args>` works too. Exit status: 0 done, 1 failed (one `error:` line on stderr;
//! for `invoke`, the function failed), 2 bad arguments.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use base64::Engine as _;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::api::{self, Client, Endpoint};
use crate::build::{self, BuildOptions};
use crate::deploy::{self, Deployment, Settings};
use crate::image::{self, ImageOutcome, ImageShape};
use crate::invoke;
use crate::project::Project;
use crate::scaffold::{self, RuntimeSource, Template};
use crate::settings;
use crate::watch::{self, WatchOptions};
use crate::{human_size, progress, Error};

/// `cargo scf`: build, pack, deploy and invoke a Tencent Cloud SCF function written with the
/// scf-bootstrap runtime.
#[derive(Debug, Parser)]
#[command(name = "cargo scf", bin_name = "cargo scf", version)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a handler crate depending on scf-bootstrap.
    New(NewArgs),
    /// Build the crate's binary as a static x86_64-unknown-linux-musl bootstrap.
    Build(BuildArgs),
    /// Zip the last build: bootstrap (0755) at the root, plus the files named.
    Pack(PackArgs),
    /// Create the function, or update its code (and settings) when it exists; on update, the
    /// environment given replaces the function's.
    Deploy(DeployArgs),
    /// Invoke the last build locally, or the deployed function with --remote (the settings
    /// options are for a local run only).
    Invoke(InvokeArgs),
    /// Build, serve the function on 127.0.0.1, rebuild and swap it in on every change; with
    /// an event (--event, --event-file, --event-example), invoke each new build with it.
    Watch(WatchArgs),
    /// Build, then measure the bootstrap against the floor and the runtime's echo.
    Bench(crate::bench::BenchArgs),
}

/// The runtime API the bootstrap speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ApiChoice {
    /// SCF's runtime API (`SCF_RUNTIME_API`).
    Scf,
    /// AWS Lambda's runtime API (`AWS_LAMBDA_RUNTIME_API`).
    Aws,
}

/// `cargo scf watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// The port on 127.0.0.1 (0: the OS picks one; the address is printed).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// FunctionName (default: the package's name).
    #[arg(long)]
    pub name: Option<String>,
    /// The function's settings, over the crate's `[package.metadata.scf]`.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// The runtime API the instances serve.
    #[arg(long, value_enum, default_value_t = ApiChoice::Scf)]
    pub api: ApiChoice,
    /// The binary to build, when the package has several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// The crate's Cargo.toml (default: found from the current folder).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Invoke every build that starts serving once with this event (none by default); the
    /// Result JSON goes to stdout.
    #[command(flatten)]
    pub event: EventArgs,
}

/// `cargo scf new`.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// The folder to create.
    pub path: PathBuf,
    /// The package name (default: the folder's name).
    #[arg(long)]
    pub name: Option<String>,
    /// Depend on a local checkout of scf-bootstrap.
    #[arg(long, group = "runtime", value_name = "PATH")]
    pub runtime_path: Option<PathBuf>,
    /// Depend on scf-bootstrap from a git repository.
    #[arg(long, group = "runtime", value_name = "URL")]
    pub runtime_git: Option<String>,
    /// Depend on this crates.io version of scf-bootstrap.
    #[arg(long, group = "runtime", value_name = "VERSION")]
    pub runtime_version: Option<String>,
    /// What src/main.rs starts from: echo (the raw event, an init phase), apigw (an API
    /// Gateway router on `http` types), timer (a typed Timer event); apigw and timer also
    /// depend on scf-events, from the runtime's source.
    #[arg(long, value_name = "NAME", default_value = "echo", value_parser = template)]
    pub template: Template,
}

/// `--template`'s value.
fn template(name: &str) -> Result<Template, String> {
    Template::from_name(name).map_err(|e| e.to_string())
}

/// `cargo scf build`.
#[derive(Debug, Args)]
pub struct BuildArgs {
    /// The crate's Cargo.toml (default: found from the current folder).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// The smallest binary: nightly with -Zbuild-std and immediate-abort panics.
    #[arg(long)]
    pub min_size: bool,
    /// The binary to build, when the package has several.
    #[arg(long, value_name = "NAME")]
    pub bin: Option<String>,
    /// Build for an SCF image function instead (webserver: an HTTP server on port 9000, the
    /// default; job: one run per event): the runtime's `image` feature, a Dockerfile beside
    /// the bootstrap in target/scf/<package>/image/, and the image itself when docker or
    /// podman is on the PATH.
    #[arg(
        long,
        value_name = "SHAPE",
        num_args = 0..=1,
        default_missing_value = "webserver",
        value_parser = ImageShape::from_name
    )]
    pub image: Option<ImageShape>,
}

/// `cargo scf pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The crate's Cargo.toml (default: found from the current folder).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// A file or folder to add at the root of the zip (repeatable).
    #[arg(long, value_name = "FILE")]
    pub include: Vec<PathBuf>,
    /// The zip to write (default: `target/scf/<package>/function.zip`).
    #[arg(short, long, value_name = "ZIP")]
    pub output: Option<PathBuf>,
    /// The executable to pack (default: the last `cargo scf build`).
    #[arg(long, value_name = "FILE")]
    pub bootstrap: Option<PathBuf>,
}

/// Where and as whom the TencentCloud API is called.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The region (default: $TENCENTCLOUD_REGION, else ap-guangzhou).
    #[arg(long)]
    pub region: Option<String>,
    /// The API endpoint; http://127.0.0.1:PORT or https://127.0.0.1:PORT for `scf-local serve`.
    #[arg(long, default_value = api::DEFAULT_ENDPOINT)]
    pub endpoint: String,
    /// Trust the certificates of this PEM file for an https endpoint, besides the platform's
    /// trust store (or $SSL_CERT_FILE): the one `scf-local serve --tls` prints.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// The function's namespace.
    #[arg(long, default_value = "default")]
    pub namespace: String,
}

/// `cargo scf deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// FunctionName.
    #[arg(long)]
    pub name: String,
    /// Where and how to call the API.
    #[command(flatten)]
    pub api: ApiArgs,
    /// The function's settings, over the crate's `[package.metadata.scf]`; on update, the
    /// environment given replaces the function's.
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// The zip to upload (default: the last `cargo scf pack`).
    #[arg(long, value_name = "ZIP")]
    pub zip: Option<PathBuf>,
    /// The crate's Cargo.toml (default: found from the current folder).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
}

/// `cargo scf invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// Call the deployed function through the API instead of running the last build here.
    #[arg(long)]
    pub remote: bool,
    /// FunctionName (required with --remote).
    #[arg(long)]
    pub name: Option<String>,
    /// The event (default: {}).
    #[command(flatten)]
    pub event: EventArgs,
    /// Where and how to call the API (with --remote).
    #[command(flatten)]
    pub api: ApiArgs,
    /// Local run: the function's settings, over the crate's `[package.metadata.scf]` (a
    /// deployed function's are `cargo scf deploy`'s).
    #[command(flatten)]
    pub settings: SettingsArgs,
    /// Local run: the code to run, a zip or a folder (default: the last build).
    #[arg(long, value_name = "ZIP")]
    pub zip: Option<PathBuf>,
    /// The crate's Cargo.toml (default: found from the current folder).
    #[arg(long, value_name = "PATH")]
    pub manifest_path: Option<PathBuf>,
    /// Print the Result indented.
    #[arg(long)]
    pub pretty: bool,
}

/// The event of `invoke`, and of `watch`'s invocation after every build.
#[derive(Debug, Args)]
pub struct EventArgs {
    /// The event, JSON (`invoke`'s default: {}).
    #[arg(long, value_name = "JSON", conflicts_with_all = ["event_file", "event_example"])]
    pub event: Option<String>,
    /// Read the event from a file.
    #[arg(long, value_name = "FILE", conflicts_with = "event_example")]
    pub event_file: Option<PathBuf>,
    /// A trigger's documented sample event: apigw, timer, cos, cls, ckafka, cmq-topic,
    /// cmq-queue, … (`scf-local event --list` describes them).
    #[arg(long, value_name = "NAME")]
    pub event_example: Option<String>,
    /// Change a field of the event: `path=value` (`path=/hello/SCF`,
    /// `Records[0].CMQ.msgBody=hi`); the value is JSON when it parses, a string otherwise;
    /// repeatable.
    #[arg(long, value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

impl EventArgs {
    /// Whether any of the event flags is given.
    pub fn given(&self) -> bool {
        self.event.is_some()
            || self.event_file.is_some()
            || self.event_example.is_some()
            || !self.set.is_empty()
    }

    /// The event of `--event`, `--event-file`, `--event-example`, or `{}`, changed by
    /// `--set`; checked to be JSON.
    pub fn text(&self) -> Result<String, Error> {
        let text = match (&self.event, &self.event_file, &self.event_example) {
            (Some(e), _, _) => e.clone(),
            (None, Some(f), _) => std::fs::read_to_string(f)
                .map_err(|e| Error::new(format!("cannot read {}: {e}", f.display())))?,
            (None, None, Some(name)) => invoke::example_event(name)?.to_owned(),
            (None, None, None) => invoke::DEFAULT_EVENT.to_owned(),
        };
        invoke::check_event(&text)?;
        invoke::edit_event(text, &self.set)
    }
}

/// The function settings `watch`, `deploy` and a local `invoke` take, over the crate's
/// `[package.metadata.scf]`.
#[derive(Debug, Args)]
pub struct SettingsArgs {
    /// Timeout in seconds.
    #[arg(long, value_name = "S")]
    pub timeout: Option<u32>,
    /// InitTimeout in seconds.
    #[arg(long, value_name = "S")]
    pub init_timeout: Option<u32>,
    /// MemorySize in MB.
    #[arg(long, value_name = "MB")]
    pub memory: Option<u32>,
    /// An environment variable K=V (repeatable; over --env-file).
    #[arg(long, value_name = "K=V", value_parser = parse_env)]
    pub env: Vec<(String, String)>,
    /// Variables from a file of KEY=VALUE lines (under --env, over the crate's metadata).
    #[arg(long, value_name = "FILE")]
    pub env_file: Option<PathBuf>,
}

impl SettingsArgs {
    /// The env file, and the settings the flags give.
    pub fn split(self) -> (Option<PathBuf>, Settings) {
        let flags = Settings {
            timeout: self.timeout,
            init_timeout: self.init_timeout,
            memory_mb: self.memory,
            env: self.env,
        };
        (self.env_file, flags)
    }

    /// The first setting flag given, if any.
    fn first_given(&self) -> Option<&'static str> {
        [
            ("--timeout", self.timeout.is_some()),
            ("--init-timeout", self.init_timeout.is_some()),
            ("--memory", self.memory.is_some()),
            ("--env", !self.env.is_empty()),
            ("--env-file", self.env_file.is_some()),
        ]
        .into_iter()
        .find_map(|(flag, given)| given.then_some(flag))
    }
}

/// Parses `K=V`.
pub fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => {
            settings::check_variable(k, v)?;
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(format!("expected K=V, got {s:?}")),
    }
}

/// The arguments without the `scf` that Cargo passes first.
pub fn strip_subcommand_name(mut args: Vec<OsString>) -> Vec<OsString> {
    if args.get(1).is_some_and(|a| a == "scf") {
        args.remove(1);
    }
    args
}

/// Runs `cargo scf` with the process's arguments and returns its exit status.
pub fn main() -> ExitCode {
    let args = strip_subcommand_name(std::env::args_os().collect());
    let cli = Cli::parse_from(args);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs one parsed command.
pub fn run(cli: Cli) -> Result<ExitCode, Error> {
    match cli.command {
        Command::New(a) => new(a),
        Command::Build(a) => build_cmd(a),
        Command::Pack(a) => pack(a),
        Command::Deploy(a) => deploy_cmd(a),
        Command::Invoke(a) => invoke_cmd(a),
        Command::Watch(a) => watch_cmd(a),
        Command::Bench(a) => crate::bench::bench(a),
    }
}

fn watch_cmd(a: WatchArgs) -> Result<ExitCode, Error> {
    // The event is read and checked before anything is built.
    let event = a.event.given().then(|| a.event.text()).transpose()?;
    let (env_file, flags) = a.settings.split();
    watch::watch(WatchOptions {
        manifest_path: a.manifest_path,
        bin: a.bin,
        port: a.port,
        name: a.name,
        dialect: match a.api {
            ApiChoice::Scf => scf_local::Dialect::default(),
            ApiChoice::Aws => scf_local::Dialect::Aws,
        },
        env_file,
        flags,
        event,
    })
}

fn out(text: &str) {
    // A closed stdout (`| head`) is not worth a panic.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

fn new(a: NewArgs) -> Result<ExitCode, Error> {
    let runtime = if let Some(p) = &a.runtime_path {
        RuntimeSource::Path(scaffold::runtime_path(p)?)
    } else if let Some(url) = a.runtime_git {
        RuntimeSource::Git(url)
    } else if let Some(v) = a.runtime_version {
        RuntimeSource::Version(v)
    } else {
        let (source, why) = scaffold::default_source();
        progress("Runtime", &why);
        source
    };
    let name = scaffold::create(&a.path, a.name.as_deref(), &runtime, a.template)?;
    progress(
        "Created",
        &format!(
            "function crate `{name}` ({} template) in {}",
            a.template.name(),
            a.path.display()
        ),
    );
    let first = match a.template {
        Template::Echo => {
            "cargo scf watch      # serve on 127.0.0.1:9000, rebuilt on save\n  cargo scf build"
                .to_owned()
        }
        t => format!(
            "cargo scf build\n  cargo scf invoke --event-example {}   # its sample event",
            t.name()
        ),
    };
    out(&format!(
        "next:\n  cd {}\n  {first}\n  cargo scf pack\n  cargo scf deploy --name {name}",
        a.path.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn build_cmd(a: BuildArgs) -> Result<ExitCode, Error> {
    let built = build::build(&BuildOptions {
        manifest_path: a.manifest_path,
        min_size: a.min_size,
        bin: a.bin,
        image: a.image,
        stopper: None,
    })?;
    progress("Built", &format!("{}", built.artifact.display()));
    out(&format!(
        "bootstrap: {}\nsize: {}\nlinkage: {}",
        built.bootstrap.display(),
        human_size(built.size),
        built.linkage
    ));
    if !built.linkage.is_static() {
        progress(
            "Warning",
            "the bootstrap is not static: SCF's CentOS 7.6 may lack its loader or libraries",
        );
    }
    if let Some(shape) = a.image {
        image_cmd(&built, shape)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The image half of `build --image`: the definition beside the bootstrap, then the image
/// when a container tool is there.
fn image_cmd(built: &build::Built, shape: ImageShape) -> Result<(), Error> {
    let dir = built.bootstrap.parent().unwrap_or(Path::new("."));
    let dockerfile = image::write_definition(dir, shape)?;
    out(&format!(
        "image shape: {}\ndockerfile: {}",
        shape.name(),
        dockerfile.display()
    ));
    let tag = image::tag(&built.project.package);
    match image::build_image(dir, &tag)? {
        ImageOutcome::Built { tool, tag } => {
            out(&format!("image: {tag} (built with {})", tool.display()));
        }
        ImageOutcome::Failed { tool, status } => {
            out(&format!(
                "image: not built ({} build failed: {status})",
                tool.display()
            ));
            image_hint(dir, shape, &tag);
        }
        ImageOutcome::NoTool => {
            out("image: not built (neither docker nor podman is on the PATH)");
            image_hint(dir, shape, &tag);
        }
    }
    Ok(())
}

/// How to build the image elsewhere, and run its directory here.
fn image_hint(dir: &Path, shape: ImageShape, tag: &str) {
    let local_shape = match shape {
        ImageShape::WebServer => "image",
        ImageShape::Job => "job",
    };
    progress(
        "Note",
        &format!(
            "build the image where docker runs with `docker build -t {tag} {dir}`; \
             `scf-local invoke --shape {local_shape} {dir}` runs it here",
            dir = dir.display()
        ),
    );
}

fn pack(a: PackArgs) -> Result<ExitCode, Error> {
    // The crate is looked up only for what the command line leaves out.
    let project = if a.bootstrap.is_none() || a.output.is_none() {
        Some(Project::locate(a.manifest_path.as_deref())?)
    } else {
        None
    };
    let bootstrap = a
        .bootstrap
        .clone()
        .or_else(|| project.as_ref().map(Project::bootstrap))
        .unwrap_or_default();
    if !bootstrap.is_file() {
        return Err(Error::new(format!(
            "no bootstrap at {}: run `cargo scf build` first",
            bootstrap.display()
        )));
    }
    let output = a
        .output
        .clone()
        .or_else(|| project.as_ref().map(Project::zip))
        .unwrap_or_default();
    let size = scf_local::package::pack(&bootstrap, &a.include, &output)
        .map_err(|e| Error::new(e.to_string()))?;
    let included = match a.include.len() {
        0 => String::new(),
        1 => " and 1 included path".to_owned(),
        n => format!(" and {n} included paths"),
    };
    progress("Packed", &format!("{}{included}", bootstrap.display()));
    out(&format!(
        "zip: {}\nsize: {}",
        output.display(),
        human_size(size)
    ));
    Ok(ExitCode::SUCCESS)
}

/// The API client of `--endpoint`/`--region` with the key from the environment.
fn client(a: &ApiArgs) -> Result<Client, Error> {
    let credential =
        api::credential_from(|k| std::env::var(k).ok()).map_err(|e| Error::new(e.to_string()))?;
    let endpoint = Endpoint::parse(&a.endpoint).map_err(Error::new)?;
    let region = api::region_from(a.region.as_deref(), |k| std::env::var(k).ok());
    Client::new(endpoint, region, credential, a.ca_file.as_deref()).map_err(Error::new)
}

/// The zip `deploy` uploads: `--zip`, else the last pack of `project`, which must exist.
fn zip_to_upload(a: &DeployArgs, project: Option<&Project>) -> Result<PathBuf, Error> {
    if let Some(z) = &a.zip {
        return Ok(z.clone());
    }
    let project = match project {
        Some(p) => p,
        None => &Project::locate(a.manifest_path.as_deref())?,
    };
    let zip = project.zip();
    if !zip.is_file() {
        return Err(Error::new(format!(
            "no {}: run `cargo scf build` and `cargo scf pack` first, or give --zip",
            zip.display()
        )));
    }
    if newer(&project.bootstrap(), &zip) {
        progress(
            "Warning",
            "the last build is newer than the zip: run `cargo scf pack` to upload it",
        );
    }
    Ok(zip)
}

/// Whether `a` was modified after `b`.
fn newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    matches!((modified(a), modified(b)), (Some(x), Some(y)) if x > y)
}

/// The settings of a crate's `[package.metadata.scf]` (none without a crate), under the
/// env file and the flags.
fn crate_settings(
    project: Option<&Project>,
    env_file: Option<&Path>,
    flags: Settings,
) -> Result<Settings, Error> {
    let metadata = project.map(|p| p.scf_metadata.clone()).unwrap_or_default();
    Settings::gather(&metadata, env_file, flags)
}

fn deploy_cmd(a: DeployArgs) -> Result<ExitCode, Error> {
    let client = client(&a.api)?;
    // With --zip, the crate is optional: its metadata is used when there is one.
    let project = match Project::locate(a.manifest_path.as_deref()) {
        Ok(p) => Some(p),
        Err(_) if a.zip.is_some() && a.manifest_path.is_none() => None,
        Err(e) => return Err(e),
    };
    let zip = zip_to_upload(&a, project.as_ref())?;
    let (env_file, flags) = a.settings.split();
    let settings = crate_settings(project.as_ref(), env_file.as_deref(), flags)?;
    let bytes = std::fs::read(&zip)
        .map_err(|e| Error::new(format!("cannot read {}: {e}", zip.display())))?;
    let deployment = Deployment {
        name: a.name,
        namespace: a.api.namespace,
        zip_base64: base64::engine::general_purpose::STANDARD.encode(&bytes),
        settings,
    };
    progress(
        "Deploying",
        &format!(
            "{}, {}, to {}, region {}, namespace {}",
            zip.display(),
            human_size(bytes.len() as u64),
            client.endpoint(),
            client.region(),
            deployment.namespace
        ),
    );
    let outcome = deploy::deploy(&client, &deployment, &mut progress, &std::thread::sleep)?;
    let what = match outcome {
        deploy::DeployOutcome::Created => "created",
        deploy::DeployOutcome::Updated => "updated",
    };
    progress("Deployed", &format!("function {} {what}", deployment.name));
    out(&format!("{what} {}", deployment.name));
    Ok(ExitCode::SUCCESS)
}

/// Refuses local-run options with `--remote`, and `--remote` without `--name`.
pub fn check_invoke_args(a: &InvokeArgs) -> Result<(), Error> {
    if !a.remote {
        return Ok(());
    }
    if a.name.is_none() {
        return Err(Error::new("--remote needs --name FUNCTION"));
    }
    let local_only = a
        .settings
        .first_given()
        .or(a.zip.is_some().then_some("--zip"));
    if let Some(flag) = local_only {
        return Err(Error::new(format!(
            "{flag} is for a local run; a deployed function's settings are given to `cargo scf deploy`"
        )));
    }
    Ok(())
}

fn invoke_cmd(a: InvokeArgs) -> Result<ExitCode, Error> {
    check_invoke_args(&a)?;
    let event = a.event.text()?;
    if a.remote {
        let client = client(&a.api)?;
        let name = a.name.as_deref().unwrap_or_default();
        progress(
            "Invoking",
            &format!(
                "{name} at {}, region {}",
                client.endpoint(),
                client.region()
            ),
        );
        let response = invoke::remote(&client, name, &a.api.namespace, &event)?;
        let text = if a.pretty {
            serde_json::to_string_pretty(&response).unwrap_or_default()
        } else {
            response.to_string()
        };
        out(&text);
        return Ok(if invoke::succeeded(&response) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let (code, project) = match &a.zip {
        Some(z) => (z.clone(), None),
        None => {
            let project = Project::locate(a.manifest_path.as_deref())?;
            let bootstrap = project.bootstrap();
            if !bootstrap.is_file() {
                return Err(Error::new(format!(
                    "no bootstrap at {}: run `cargo scf build` first",
                    bootstrap.display()
                )));
            }
            (project.out_dir(), Some(project))
        }
    };
    let (env_file, flags) = a.settings.split();
    let settings = crate_settings(project.as_ref(), env_file.as_deref(), flags)?;
    let mut config = settings.function_config();
    if let Some(n) = &a.name {
        config.function_name = n.clone();
    }
    if let Some(r) = &a.api.region {
        config.region = r.clone();
    }
    progress("Invoking", &format!("{} locally", code.display()));
    let Some(result) = invoke::local(&code, config, &event)? else {
        eprintln!("interrupted");
        return Ok(ExitCode::from(130));
    };
    out(&if a.pretty {
        result.to_json_pretty()
    } else {
        result.to_json()
    });
    Ok(if result.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        Cli::try_parse_from(strip_subcommand_name(args))
    }

    #[test]
    fn cargo_passes_the_subcommand_name_first() {
        for args in [
            &["cargo-scf", "scf", "build", "--min-size"][..],
            &["cargo-scf", "build", "--min-size"][..],
        ] {
            match parse(args).unwrap().command {
                Command::Build(b) => assert!(b.min_size && b.bin.is_none()),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn build_image_defaults_to_the_webserver_shape_and_refuses_others() {
        let image = |args: &[&str]| match parse(args).unwrap().command {
            Command::Build(b) => b.image,
            other => panic!("{other:?}"),
        };
        assert_eq!(image(&["cargo-scf", "build"]), None);
        assert_eq!(
            image(&["cargo-scf", "build", "--image"]),
            Some(ImageShape::WebServer)
        );
        assert_eq!(
            image(&["cargo-scf", "build", "--image", "job"]),
            Some(ImageShape::Job)
        );
        let err = parse(&["cargo-scf", "build", "--image", "zip"]).unwrap_err();
        assert!(err.to_string().contains("webserver or job"), "{err}");
    }

    #[test]
    fn deploy_arguments() {
        let cli = parse(&[
            "cargo-scf",
            "scf",
            "deploy",
            "--name",
            "hello",
            "--endpoint",
            "http://127.0.0.1:9100",
            "--memory",
            "256",
            "--env",
            "A=1",
            "--env",
            "B=x=y",
            "--init-timeout",
            "20",
        ])
        .unwrap();
        let Command::Deploy(d) = cli.command else {
            panic!("not deploy")
        };
        assert_eq!(d.name, "hello");
        assert_eq!(d.api.endpoint, "http://127.0.0.1:9100");
        assert_eq!(d.api.namespace, "default");
        assert_eq!(d.api.region, None);
        assert_eq!(
            (
                d.settings.memory,
                d.settings.init_timeout,
                d.settings.timeout
            ),
            (Some(256), Some(20), None)
        );
        assert_eq!(
            d.settings.env,
            [
                ("A".to_owned(), "1".to_owned()),
                ("B".to_owned(), "x=y".to_owned())
            ]
        );

        let cli = parse(&["cargo-scf", "scf", "deploy", "--name", "f"]).unwrap();
        let Command::Deploy(d) = cli.command else {
            panic!("not deploy")
        };
        assert_eq!(d.api.endpoint, "https://scf.tencentcloudapi.com");

        let err = parse(&["cargo-scf", "scf", "deploy"]).unwrap_err();
        assert!(err.to_string().contains("--name <NAME>"), "{err}");
        let err = parse(&["cargo-scf", "scf", "deploy", "--name", "f", "--env", "=1"]).unwrap_err();
        assert!(err.to_string().contains("expected K=V"), "{err}");
        let err = parse(&[
            "cargo-scf",
            "scf",
            "deploy",
            "--name",
            "f",
            "--memory",
            "lots",
        ])
        .unwrap_err();
        assert!(err.to_string().contains("--memory"), "{err}");
    }

    #[test]
    fn new_arguments() {
        let cli = parse(&[
            "cargo-scf",
            "scf",
            "new",
            "hello",
            "--runtime-path",
            "../rt",
        ])
        .unwrap();
        let Command::New(n) = cli.command else {
            panic!("not new")
        };
        assert_eq!(n.path, Path::new("hello"));
        assert_eq!(n.runtime_path.as_deref(), Some(Path::new("../rt")));
        assert_eq!(n.template, Template::Echo);
        let new = |template: &str| parse(&["cargo-scf", "scf", "new", "x", "--template", template]);
        let Command::New(n) = new("apigw").unwrap().command else {
            panic!("not new")
        };
        assert_eq!(n.template, Template::Apigw);
        let err = new("flask").unwrap_err().to_string();
        assert!(
            err.contains("no template called `flask`; there are: echo, apigw, timer"),
            "{err}"
        );
        // One source of the runtime at most.
        let err = parse(&[
            "cargo-scf",
            "scf",
            "new",
            "x",
            "--runtime-path",
            "a",
            "--runtime-git",
            "b",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn pack_arguments() {
        let cli = parse(&[
            "cargo-scf",
            "scf",
            "pack",
            "--include",
            "a.json",
            "--include",
            "static",
            "-o",
            "f.zip",
        ])
        .unwrap();
        let Command::Pack(p) = cli.command else {
            panic!("not pack")
        };
        assert_eq!(
            p.include,
            [PathBuf::from("a.json"), PathBuf::from("static")]
        );
        assert_eq!(p.output.as_deref(), Some(Path::new("f.zip")));
    }

    #[test]
    fn invoke_arguments() {
        let invoke = |args: &[&str]| match parse(args).unwrap().command {
            Command::Invoke(i) => i,
            other => panic!("{other:?}"),
        };
        let i = invoke(&[
            "cargo-scf",
            "scf",
            "invoke",
            "--remote",
            "--name",
            "f",
            "--event",
            "{}",
        ]);
        assert!(check_invoke_args(&i).is_ok());

        let i = invoke(&["cargo-scf", "scf", "invoke", "--remote"]);
        assert_eq!(
            check_invoke_args(&i).unwrap_err().to_string(),
            "--remote needs --name FUNCTION"
        );
        let i = invoke(&[
            "cargo-scf",
            "scf",
            "invoke",
            "--remote",
            "--name",
            "f",
            "--memory",
            "256",
        ]);
        assert_eq!(
            check_invoke_args(&i).unwrap_err().to_string(),
            "--memory is for a local run; a deployed function's settings are given to `cargo scf deploy`"
        );
        let i = invoke(&[
            "cargo-scf",
            "scf",
            "invoke",
            "--memory",
            "256",
            "--env",
            "K=V",
        ]);
        assert!(check_invoke_args(&i).is_ok());

        let err = parse(&[
            "cargo-scf",
            "invoke",
            "--event",
            "{}",
            "--event-file",
            "e.json",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn event_examples_by_name_with_changes() {
        let invoke = |args: &[&str]| match parse(args).unwrap().command {
            Command::Invoke(i) => i,
            other => panic!("{other:?}"),
        };
        let i = invoke(&["cargo-scf", "scf", "invoke", "--event-example", "timer"]);
        let v: serde_json::Value = serde_json::from_str(&i.event.text().unwrap()).unwrap();
        assert_eq!(v["TriggerName"], "EveryDay");

        let i = invoke(&[
            "cargo-scf",
            "scf",
            "invoke",
            "--event-example",
            "apigw",
            "--set",
            "path=/hello/SCF",
        ]);
        let v: serde_json::Value = serde_json::from_str(&i.event.text().unwrap()).unwrap();
        assert_eq!(v["path"], "/hello/SCF");
        assert_eq!(v["httpMethod"], "POST");

        let i = invoke(&["cargo-scf", "scf", "invoke", "--event-example", "sqs"]);
        let err = i.event.text().unwrap_err().to_string();
        assert!(
            err.starts_with("--event-example: no sample event called `sqs`; there are: apigw,"),
            "{err}"
        );
        let i = invoke(&["cargo-scf", "scf", "invoke", "--set", "a[1]=2"]);
        assert_eq!(
            i.event.text().unwrap_err().to_string(),
            "--set `a[1]`: cannot take index 1 of null"
        );

        let err = parse(&[
            "cargo-scf",
            "invoke",
            "--event",
            "{}",
            "--event-example",
            "apigw",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn watch_arguments() {
        let watch = |args: &[&str]| match parse(args).unwrap().command {
            Command::Watch(w) => w,
            other => panic!("{other:?}"),
        };
        let w = watch(&["cargo-scf", "scf", "watch"]);
        assert_eq!(
            (w.port, w.api, w.settings.env_file),
            (9000, ApiChoice::Scf, None)
        );
        let w = watch(&[
            "cargo-scf",
            "scf",
            "watch",
            "--port",
            "0",
            "--env",
            "A=1",
            "--env-file",
            ".env",
            "--memory",
            "256",
            "--api",
            "aws",
        ]);
        assert_eq!(
            (w.port, w.api, w.settings.memory),
            (0, ApiChoice::Aws, Some(256))
        );
        assert_eq!(w.settings.env, [("A".to_owned(), "1".to_owned())]);
        assert_eq!(w.settings.env_file.as_deref(), Some(Path::new(".env")));
        let err = parse(&["cargo-scf", "watch", "--api", "gcp"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);

        // No event flag: no invocation after a build. A sample with a change: that event.
        assert!(!w.event.given());
        let w = watch(&[
            "cargo-scf",
            "watch",
            "--event-example",
            "timer",
            "--set",
            "Message=hi",
        ]);
        assert!(w.event.given());
        let v: serde_json::Value = serde_json::from_str(&w.event.text().unwrap()).unwrap();
        assert_eq!((&v["Type"], &v["Message"]), (&"Timer".into(), &"hi".into()));
        let err = parse(&[
            "cargo-scf",
            "watch",
            "--event",
            "{}",
            "--event-file",
            "e.json",
        ])
        .unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ArgumentConflict);
    }

    #[test]
    fn env_pairs() {
        assert_eq!(parse_env("K=V"), Ok(("K".into(), "V".into())));
        assert_eq!(parse_env("K="), Ok(("K".into(), String::new())));
        assert!(parse_env("K").is_err());
        assert!(parse_env("=V").is_err());
        assert!(parse_env("K=a\0b").is_err());
    }
}
