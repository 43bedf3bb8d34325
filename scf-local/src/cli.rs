//! The `scf-local` command line: `invoke`, `run`, `pack`, `serve` and `event`.
//!
//! Exit status: 0 when the invocation succeeded (or the command did its job), 1 when an
//! invocation ran and failed (the result JSON says why), 2 for bad input (one line on
//! stderr), 130 when interrupted.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use clap::{Args, Parser, Subcommand, ValueEnum};
use scf_events::samples;

use crate::config::{Dialect, FunctionConfig, HeaderStyle, Shape, IMAGE_LISTEN_TIMEOUT};
use crate::event;
use crate::local_api;
use crate::package::{self, Package};
use crate::pool::Pool;
use crate::scratch;

/// Run a Tencent Cloud SCF Custom Runtime function locally.
#[derive(Debug, Parser)]
#[command(name = "scf-local", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Invoke the function once and print the result JSON.
    Invoke(InvokeArgs),
    /// Keep the function up and take events on `POST http://127.0.0.1:PORT/invoke`.
    Run(RunArgs),
    /// Write a deployable zip: `bootstrap` (mode 0755) at the root, plus extra files.
    Pack(PackArgs),
    /// Serve the TencentCloud API of SCF (CreateFunction, Invoke, …) for the official SDKs.
    Serve(ServeArgs),
    /// Print a trigger's documented sample event (`--list` names them).
    Event(EventArgs),
}

/// `scf-local event`.
#[derive(Debug, Args)]
pub struct EventArgs {
    /// The sample: `apigw`, `timer`, `cos`, `cls`, `ckafka`, `cmq-topic`, … (see --list).
    #[arg(required_unless_present = "list")]
    pub name: Option<String>,
    /// Name the samples, one a line, with their trigger.
    #[arg(long, conflicts_with_all = ["name", "set"])]
    pub list: bool,
    /// Change a field: `path=value` (`path=/hello/SCF`, `Records[0].CMQ.msgBody=hi`); the
    /// value is JSON when it parses as JSON, a string otherwise; repeatable.
    #[arg(long, value_name = "PATH=VALUE")]
    pub set: Vec<String>,
}

/// `--headers`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Headers {
    /// `request_id`, `memory_limit_in_mb`, `time_limit_in_ms` (the documentation).
    Doc,
    /// `Scf_Runtime_Request_Id`, … (the walkthrough; `seed` is an older name for it).
    #[value(alias = "seed")]
    Walkthrough,
}

/// `--api`: the runtime API the bootstrap speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RuntimeApiChoice {
    /// SCF's runtime API (`SCF_RUNTIME_API`, `/runtime/init/ready`, …).
    Scf,
    /// AWS Lambda's runtime API (`AWS_LAMBDA_RUNTIME_API`, `/2018-06-01/runtime/…`).
    Aws,
}

/// `--shape`: how the code runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ShapeChoice {
    /// A Custom Runtime zip: `bootstrap` speaks the runtime API (--api).
    Zip,
    /// A WebServer image function: the command starts an HTTP server on the port in $PORT
    /// (9000 on the platform); each event is a POST to it.
    Image,
    /// A Job image function: the command runs once per event, the event in $SCF_EVENT_BODY;
    /// exit 0 is a success whose result is its stdout.
    Job,
}

/// The function: its code and its configuration.
#[derive(Debug, Args)]
pub struct FunctionArgs {
    /// The code: a directory or a zip with an executable `bootstrap` at its root (with
    /// --shape image or job: `scf_bootstrap` or `bootstrap`, or none with --command).
    pub code: PathBuf,
    /// How the code runs: a Custom Runtime zip, a WebServer image or a Job image.
    #[arg(long, value_enum, default_value_t = ShapeChoice::Zip)]
    pub shape: ShapeChoice,
    /// With --shape image or job: the command to run instead of the code's `scf_bootstrap`
    /// or `bootstrap` (the image's Command), run in the code directory; repeat for its
    /// arguments (`--command python3 --command app.py`).
    #[arg(long, value_name = "PROGRAM|ARG", allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// With --shape image: a fixed port for the function's server (one instance only); by
    /// default a free port, given to the function in $PORT.
    #[arg(long)]
    pub image_port: Option<u16>,
    /// `Timeout` in seconds, from event delivery to the result.
    #[arg(long, default_value_t = 3.0)]
    pub timeout: f64,
    /// `InitTimeout` in seconds, from starting `bootstrap` to its ready [default: 65; with
    /// --shape image the platform's 30 s for the server to listen].
    #[arg(long)]
    pub init_timeout: Option<f64>,
    /// `MemorySize` in MB.
    #[arg(long, default_value_t = 128)]
    pub memory: u32,
    /// Kill an instance whose processes use more than `--memory` (result 434).
    #[arg(long)]
    pub enforce_memory: bool,
    /// `Handler` (given to the runtime as `_HANDLER`).
    #[arg(long, default_value = "index.main_handler")]
    pub handler: String,
    /// A user environment variable, `KEY=VALUE`; repeatable.
    #[arg(long = "env", value_name = "KEY=VALUE")]
    pub env: Vec<String>,
    /// Spelling of the `/runtime/invocation/next` headers (SCF's API).
    #[arg(long, value_enum, default_value_t = Headers::Doc)]
    pub headers: Headers,
    /// The runtime API served to the bootstrap: SCF's, or AWS Lambda's with AWS's
    /// environment.
    #[arg(long, value_enum, default_value_t = RuntimeApiChoice::Scf)]
    pub api: RuntimeApiChoice,
    /// `FunctionName` (`SCF_FUNCTIONNAME`; `AWS_LAMBDA_FUNCTION_NAME` with --api aws).
    #[arg(long, default_value = "scf-local-function")]
    pub function_name: String,
    /// `TENCENTCLOUD_REGION` (`AWS_REGION` with --api aws) [default: ap-guangzhou, or
    /// us-east-1 with --api aws].
    #[arg(long)]
    pub region: Option<String>,
    /// Bytes of log returned with a result (its tail, like the cloud's 4 KB); 0 for all.
    #[arg(long, default_value_t = crate::log::CLOUD_LOG_LIMIT)]
    pub log_limit: usize,
    /// A fixed port for the runtime API (one instance only); by default the OS picks one per
    /// instance.
    #[arg(long)]
    pub api_port: Option<u16>,
}

/// `scf-local invoke`.
#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The function.
    #[command(flatten)]
    pub function: FunctionArgs,
    /// The event, as JSON text. Without --event, --event-file or --event-example the event
    /// is read from stdin; it is `{}` when stdin is a terminal or empty.
    #[arg(long, conflicts_with_all = ["event_file", "event_example"])]
    pub event: Option<String>,
    /// A file holding the event.
    #[arg(long, conflicts_with = "event_example")]
    pub event_file: Option<PathBuf>,
    /// A trigger's documented sample event, by name (`apigw`, `timer`, `cos`, …;
    /// `scf-local event --list` names them all).
    #[arg(long, value_name = "NAME")]
    pub event_example: Option<String>,
    /// Change a field of the event: `path=value` (as `scf-local event --set`); repeatable.
    #[arg(long, value_name = "PATH=VALUE")]
    pub set: Vec<String>,
    /// A client context, as JSON text, sent as `Lambda-Runtime-Client-Context` (--api aws
    /// only; SCF's runtime API has no such header).
    #[arg(long)]
    pub client_context: Option<String>,
    /// Indent the result JSON.
    #[arg(long)]
    pub pretty: bool,
}

/// `scf-local run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The function.
    #[command(flatten)]
    pub function: FunctionArgs,
    /// Port of the local `POST /invoke` endpoint, on 127.0.0.1 (0: the OS picks one).
    #[arg(long, default_value_t = 9000)]
    pub port: u16,
    /// Most instances at once; calls beyond get 432.
    #[arg(long, default_value_t = 8)]
    pub max_instances: usize,
    /// Seconds an idle instance stays warm.
    #[arg(long, default_value_t = 300.0)]
    pub idle_timeout: f64,
    /// Write each invocation's log to stderr.
    #[arg(long)]
    pub print_logs: bool,
}

/// `scf-local pack`.
#[derive(Debug, Args)]
pub struct PackArgs {
    /// The built bootstrap executable (stored as `bootstrap`, mode 0755).
    #[arg(long)]
    pub bootstrap: PathBuf,
    /// Another file or directory to put at the root of the zip, keeping its mode; repeatable.
    #[arg(long)]
    pub include: Vec<PathBuf>,
    /// The zip to write.
    #[arg(short, long, default_value = "function.zip")]
    pub output: PathBuf,
}

/// `scf-local serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: the OS picks one; the address is printed on stderr).
    #[arg(long, default_value = "127.0.0.1:9100")]
    pub listen: SocketAddr,
    /// Directory of the state database (functions, code, invocation logs).
    #[arg(long, default_value = ".scf-local")]
    pub state_dir: PathBuf,
    /// The SecretId requests must be signed with (default: $TENCENTCLOUD_SECRETID).
    #[arg(long)]
    pub secret_id: Option<String>,
    /// The SecretKey requests must be signed with (default: $TENCENTCLOUD_SECRETKEY).
    #[arg(long)]
    pub secret_key: Option<String>,
    /// Accept requests without checking their signature (on a loopback address only, and
    /// only for a Host of localhost or a loopback IP with the server's port).
    #[arg(long)]
    pub no_auth: bool,
    /// With --no-auth, listen on a non-loopback address anyway: anyone who can reach it can
    /// create and run code as you.
    #[arg(long, requires = "no_auth")]
    pub no_auth_on_network_unsafe: bool,
    /// Most instances of one function at once; synchronous calls beyond get 432.
    #[arg(long, default_value_t = 8)]
    pub max_instances: usize,
    /// Seconds an idle instance stays warm.
    #[arg(long, default_value_t = 300.0)]
    pub idle_timeout: f64,
    /// Kill an instance whose processes use more than its MemorySize (result 434).
    #[arg(long)]
    pub enforce_memory: bool,
    /// Largest request body accepted, bytes (the platform's 10 MB by default).
    #[arg(long, default_value_t = crate::serve::REQUEST_LIMIT)]
    pub max_request_size: usize,
    /// Region of functions created without X-TC-Region.
    #[arg(long, default_value = "ap-guangzhou")]
    pub region: String,
    /// Write each invocation's log to stderr.
    #[arg(long)]
    pub print_logs: bool,
    /// Most API connections held at once; one more is closed at once.
    #[arg(long, default_value_t = crate::serve::MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Seconds a request head may take to arrive (also the idle time of a keep-alive
    /// connection, and how long a client may leave its answer unread).
    #[arg(long, default_value_t = crate::serve::HEAD_TIMEOUT.as_secs_f64())]
    pub head_timeout: f64,
    /// Seconds a request body may take to arrive, a wait for room among the bodies in
    /// flight included.
    #[arg(long, default_value_t = crate::serve::BODY_TIMEOUT.as_secs_f64())]
    pub body_timeout: f64,
    /// Bytes of request bodies held at once over all connections (at least
    /// --max-request-size); beyond, a request waits, then gets RequestLimitExceeded.
    #[arg(long, default_value_t = crate::serve::BODIES_IN_FLIGHT)]
    pub max_bodies_in_flight: usize,
    /// Serve HTTPS (what tccli and the SDKs' defaults speak), with a self-signed certificate
    /// for localhost, 127.0.0.1 and ::1 made once in the state directory's tls/ (or --tls-cert and
    /// --tls-key); its path is printed at start.
    #[arg(long)]
    pub tls: bool,
    /// With --tls: the certificate chain to serve (PEM) instead of the self-signed one.
    #[arg(long, requires = "tls_key", requires = "tls")]
    pub tls_cert: Option<PathBuf>,
    /// With --tls: the private key of --tls-cert (PEM).
    #[arg(long, requires = "tls_cert", requires = "tls")]
    pub tls_key: Option<PathBuf>,
}

/// Bad input: reported as one line, exit status 2.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn seconds(what: &str, s: f64) -> Result<Duration, Fatal> {
    Duration::try_from_secs_f64(s)
        .map_err(|_| Fatal(format!("{what} must be a number of seconds, not {s}")))
}

impl FunctionArgs {
    fn config(&self) -> Result<FunctionConfig, Fatal> {
        let mut env = Vec::new();
        for kv in &self.env {
            let (k, v) = kv
                .split_once('=')
                .ok_or_else(|| Fatal(format!("--env takes KEY=VALUE, not {kv:?}")))?;
            env.push((k.to_owned(), v.to_owned()));
        }
        let headers = match self.headers {
            Headers::Doc => HeaderStyle::Doc,
            Headers::Walkthrough => HeaderStyle::Walkthrough,
        };
        let (dialect, default_region) = match self.api {
            RuntimeApiChoice::Scf => (Dialect::Scf { headers }, "ap-guangzhou"),
            RuntimeApiChoice::Aws => (Dialect::Aws, "us-east-1"),
        };
        let shape = match self.shape {
            ShapeChoice::Zip => Shape::Zip,
            ShapeChoice::Image => Shape::Image,
            ShapeChoice::Job => Shape::Job,
        };
        if shape == Shape::Zip && (!self.command.is_empty() || self.image_port.is_some()) {
            return Err(Fatal(
                "--command and --image-port need --shape image (or job for --command)".to_owned(),
            ));
        }
        if shape == Shape::Job && self.image_port.is_some() {
            return Err(Fatal(
                "--image-port needs --shape image: a job listens on no port".to_owned(),
            ));
        }
        let default_init = match shape {
            Shape::Image => IMAGE_LISTEN_TIMEOUT.as_secs_f64(),
            _ => 65.0,
        };
        let config = FunctionConfig {
            shape,
            command: self.command.clone(),
            image_port: self.image_port,
            function_name: self.function_name.clone(),
            handler: self.handler.clone(),
            timeout: seconds("--timeout", self.timeout)?,
            init_timeout: seconds("--init-timeout", self.init_timeout.unwrap_or(default_init))?,
            memory_mb: self.memory,
            enforce_memory: self.enforce_memory,
            env,
            region: self
                .region
                .clone()
                .unwrap_or_else(|| default_region.to_owned()),
            dialect,
            log_limit: self.log_limit,
            runtime_api_port: self.api_port,
            max_instances: 1,
            ..FunctionConfig::default()
        };
        Ok(config)
    }

    fn package(&self) -> Result<Package, Fatal> {
        let package = match self.shape {
            ShapeChoice::Zip => Package::open(&self.code),
            ShapeChoice::Image | ShapeChoice::Job => Package::open_image(&self.code),
        };
        package.map_err(|e| Fatal(format!("{}: {e}", self.code.display())))
    }

    /// Fails early, with one line, when a fixed runtime API port is taken.
    fn check_api_port(&self) -> Result<(), Fatal> {
        if let Some(port) = self.api_port {
            std::net::TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
                .map_err(|e| Fatal(format!("cannot use runtime API port 127.0.0.1:{port}: {e}")))?;
        }
        Ok(())
    }
}

/// Runs the command line and returns the process's exit status.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Directories of scf-local processes that were killed before they could clean up.
    scratch::reclaim_stale();
    // This process's only children are keepers: it may adopt and kill the orphans of one that
    // was killed (see `keeper`). Without it, such orphans go to init.
    let _ = crate::keeper::adopt_orphans();
    let outcome = match cli.command {
        Command::Invoke(args) => invoke(args),
        Command::Run(args) => run(args),
        Command::Pack(args) => pack(args),
        Command::Serve(args) => serve(args),
        Command::Event(args) => print_event(args),
    };
    match outcome {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("scf-local: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Fatal> {
    // One thread: the emulator waits on I/O, and one thread keeps a warm invocation free of
    // cross-thread wake-ups.
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Completes on Ctrl-C, SIGTERM or SIGHUP. The handlers are installed when this is called
/// (within `rt`), not when the future is first polled: a signal that comes while the code is
/// unpacked or the first instance starts is then seen, and every destructor (instances,
/// their `TMPDIR`s, the unpacked code) still runs, instead of the default action ending the
/// process on the spot.
fn interrupted(rt: &tokio::runtime::Runtime) -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{signal, SignalKind};
    let _in_runtime = rt.enter();
    let mut term = signal(SignalKind::terminate()).ok();
    let mut int = signal(SignalKind::interrupt()).ok();
    let mut hup = signal(SignalKind::hangup()).ok();
    async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
        match s {
            Some(s) => {
                s.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    async move {
        tokio::select! {
            _ = recv(&mut term) => {}
            _ = recv(&mut int) => {}
            _ = recv(&mut hup) => {}
        }
    }
}

/// `scf-local event`: the sample, changed by `--set`, on stdout.
fn print_event(args: EventArgs) -> Result<ExitCode, Fatal> {
    let text = match &args.name {
        Some(name) => {
            let sample = samples::lookup(name).map_err(Fatal)?;
            if args.set.is_empty() {
                sample.json.to_owned()
            } else {
                samples::edit(sample.json, &args.set).map_err(|e| Fatal(format!("--set {e}")))?
            }
        }
        None => samples::listing(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        out.write_all(b"\n")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn read_event(args: &InvokeArgs) -> Result<Vec<u8>, Fatal> {
    let bytes = read_event_source(args)?;
    if args.set.is_empty() {
        return Ok(bytes);
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| Fatal("the event is not UTF-8".to_owned()))?;
    let edited = samples::edit(text, &args.set).map_err(|e| Fatal(format!("--set {e}")))?;
    Ok(edited.into_bytes())
}

fn read_event_source(args: &InvokeArgs) -> Result<Vec<u8>, Fatal> {
    let bytes = if let Some(name) = &args.event_example {
        samples::lookup(name)
            .map_err(|e| Fatal(format!("--event-example: {e}")))?
            .json
            .as_bytes()
            .to_vec()
    } else if let Some(e) = &args.event {
        e.clone().into_bytes()
    } else if let Some(path) = &args.event_file {
        std::fs::read(path).map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?
    } else if std::io::stdin().is_terminal() {
        b"{}".to_vec()
    } else {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Fatal(format!("cannot read the event from stdin: {e}")))?;
        // No input at all (stdin closed or /dev/null): the platform's default event.
        if buf.iter().all(u8::is_ascii_whitespace) {
            buf = b"{}".to_vec();
        }
        buf
    };
    event::check_json(&bytes)?;
    Ok(bytes)
}

/// `--client-context`: JSON, on one line (it travels as a header).
fn client_context(args: &InvokeArgs) -> Result<Option<String>, Fatal> {
    let Some(text) = &args.client_context else {
        return Ok(None);
    };
    if args.function.api != RuntimeApiChoice::Aws {
        return Err(Fatal(
            "--client-context needs --api aws: SCF's runtime API has no client context".to_owned(),
        ));
    }
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Fatal(format!("--client-context is not JSON: {e}")))?;
    Ok(Some(value.to_string()))
}

fn invoke(args: InvokeArgs) -> Result<ExitCode, Fatal> {
    let config = args.function.config()?;
    config.validate()?;
    let event = read_event(&args)?;
    let client_context = client_context(&args)?;
    args.function.check_api_port()?;
    let rt = runtime()?;
    let stop = interrupted(&rt);
    let package = args.function.package()?;
    let result = rt.block_on(async {
        let pool = Pool::new(config, package)?;
        let id = crate::pool::new_request_id();
        let result = tokio::select! {
            biased;
            _ = stop => None,
            r = pool.invoke_with_context(id, Bytes::from(event), client_context) => Some(r),
        };
        pool.shutdown().await;
        Ok::<_, Fatal>(result)
    })?;
    drop(rt);
    let Some(result) = result else {
        eprintln!("scf-local: interrupted");
        return Ok(ExitCode::from(130));
    };
    let json = if args.pretty {
        result.to_json_pretty()
    } else {
        result.to_json()
    };
    // A closed stdout (`| head`) is not worth a panic; the exit status still tells.
    let _ = writeln!(std::io::stdout().lock(), "{json}");
    Ok(if result.succeeded() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn run(args: RunArgs) -> Result<ExitCode, Fatal> {
    let mut config = args.function.config()?;
    config.max_instances = args.max_instances;
    config.idle_timeout = seconds("--idle-timeout", args.idle_timeout)?;
    config.validate()?;
    args.function.check_api_port()?;
    let rt = runtime()?;
    let stop = interrupted(&rt);
    let package = args.function.package()?;
    rt.block_on(async {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Fatal(format!("cannot listen on {addr}: {e}")))?;
        let addr = listener.local_addr()?;
        let pool = Pool::new(config, package)?;
        eprintln!(
            "scf-local: {} from {} on http://{addr}{} (Ctrl-C to stop)",
            pool.config().function_name,
            args.function.code.display(),
            local_api::INVOKE
        );
        local_api::serve(listener, pool.clone(), args.print_logs, stop).await;
        pool.shutdown().await;
        Ok::<_, Fatal>(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn pack(args: PackArgs) -> Result<ExitCode, Fatal> {
    let size = package::pack(&args.bootstrap, &args.include, &args.output)?;
    let _ = writeln!(
        std::io::stdout().lock(),
        "{} {size} bytes",
        args.output.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn serve(args: ServeArgs) -> Result<ExitCode, Fatal> {
    use crate::serve::{registry::PoolSettings, tls::TlsFiles, ServeOptions, Server};
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let id = args
        .secret_id
        .clone()
        .or_else(|| env("TENCENTCLOUD_SECRETID"));
    let key = args
        .secret_key
        .clone()
        .or_else(|| env("TENCENTCLOUD_SECRETKEY"));
    let credentials = match (id, key) {
        (Some(id), Some(key)) => vec![crate::tc3::Credential::new(id, key)],
        (None, None) if args.no_auth => Vec::new(),
        (None, None) => {
            return Err(Fatal(
                "give the key requests are signed with (--secret-id and --secret-key, or \
                 TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY), or --no-auth"
                    .to_owned(),
            ))
        }
        _ => return Err(Fatal("--secret-id and --secret-key go together".to_owned())),
    };
    if args.max_instances == 0 {
        return Err(Fatal("--max-instances must be at least 1".to_owned()));
    }
    if args.max_connections == 0 {
        return Err(Fatal("--max-connections must be at least 1".to_owned()));
    }
    if args.no_auth && !args.listen.ip().is_loopback() && !args.no_auth_on_network_unsafe {
        return Err(Fatal(format!(
            "--no-auth serves anyone who can connect: it listens on a loopback address only \
             (such as --listen 127.0.0.1:{port}), not {}; to serve the network unsigned \
             anyway, add --no-auth-on-network-unsafe",
            args.listen,
            port = args.listen.port()
        )));
    }
    let mut options = ServeOptions::new(args.state_dir.clone());
    options.credentials = credentials;
    options.no_auth = args.no_auth;
    options.pools = PoolSettings {
        max_instances: args.max_instances,
        idle_timeout: seconds("--idle-timeout", args.idle_timeout)?,
        enforce_memory: args.enforce_memory,
    };
    options.request_limit = args.max_request_size;
    options.default_region = args.region.clone();
    options.print_logs = args.print_logs;
    options.max_connections = args.max_connections;
    options.head_timeout = seconds("--head-timeout", args.head_timeout)?;
    options.body_timeout = seconds("--body-timeout", args.body_timeout)?;
    if options.head_timeout.is_zero() || options.body_timeout.is_zero() {
        return Err(Fatal(
            "--head-timeout and --body-timeout must be more than 0".to_owned(),
        ));
    }
    options.bodies_in_flight = args.max_bodies_in_flight;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let stop = interrupted(&rt);
    rt.block_on(async {
        // The user's files are checked before the state is opened; the self-signed ones are
        // made (or reused) in the state directory once Server::open has made it private.
        let given = match (&args.tls_cert, &args.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        };
        let mut tls = match &given {
            Some(files) => Some(files.server_config().map_err(Fatal)?),
            None => None,
        };
        let server = Server::open(options)
            .map_err(|e| Fatal(format!("{}: {}", args.state_dir.display(), e.message)))?;
        if args.tls && given.is_none() {
            let files = TlsFiles::self_signed(&args.state_dir).map_err(Fatal)?;
            tls = Some(files.server_config().map_err(Fatal)?);
            // The lines a user pastes, with the path absolute so they work from anywhere.
            let cert = std::fs::canonicalize(&files.cert).unwrap_or(files.cert);
            let cert = cert.display();
            eprintln!(
                "scf-local: TLS with the self-signed certificate {cert}; to trust it:\n  \
                 export NODE_EXTRA_CA_CERTS={cert} SSL_CERT_FILE={cert}    \
                 # Node; cargo scf, Go (curl: --cacert)\n  \
                 cat {cert} >> \"$(python3 -m certifi)\"    \
                 # once, in tccli's (or the Python SDK's) Python: they trust certifi's bundle only"
            );
        }
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| Fatal(format!("cannot listen on {}: {e}", args.listen)))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "scf-local: TencentCloud API ({} {}) on {}://{addr}/ with {} function(s) in {}{} (Ctrl-C to stop)",
            crate::serve::SERVICE,
            crate::serve::VERSION,
            if args.tls { "https" } else { "http" },
            server.registry().len(),
            args.state_dir.display(),
            match (args.no_auth, args.no_auth_on_network_unsafe) {
                (false, _) => "",
                (true, false) => ", no signature check",
                (true, true) => ", no signature check, UNSAFE: open to the network",
            },
        );
        server.serve_with(listener, tls, stop).await;
        Ok::<_, Fatal>(())
    })?;
    Ok(ExitCode::SUCCESS)
}
