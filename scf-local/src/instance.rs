//! One instance: a `bootstrap` and every process it starts, its runtime API server and its
//! output.
//!
//! - started with the code root as working directory, stdin closed, the environment of
//!   docs/protocol.md section 3 plus the user's variables, in its own process group, under a
//!   [`keeper`](crate::keeper) that holds every descendant (`setsid` and double-forked ones
//!   included), with a private `TMPDIR` (mode 0700) removed with the instance;
//! - `InitTimeout` runs from the start to the first `/runtime/init/ready`, `Timeout` from
//!   the event's delivery to its result; past either every process of the instance is killed;
//! - the bootstrap's exit is noticed at once, in any phase, and ends the instance: the keeper
//!   kills every other process of it and exits with the bootstrap's status;
//! - dropping an [`Instance`] stops its keeper and waits (briefly) until it is gone, so no
//!   path leaves a process or its `TMPDIR` behind; if scf-local itself dies, even by
//!   `SIGKILL`, the keeper sees it (`PR_SET_PDEATHSIG`) and kills the instance;
//! - its runtime API admits only connections made by the instance's own processes (the peer
//!   socket's owner, found in `/proc`), at most [`API_CONNECTIONS`] at once, so a function
//!   can neither be driven by another local process nor exhaust scf-local's descriptors.

use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::sleep_until;

use crate::config::{
    Dialect, FunctionConfig, Shape, BOOTSTRAP_MODE_ENV, IMAGE_PORT_ENVS, JOB_EVENT_ENV,
};
use crate::http_server::{Admit, Limits};
use crate::invocation::{Delivery, Exchange, Posted, WaitOutcome};
use crate::keeper::{self, Keeper};
use crate::log::InitReport;
use crate::memory;
use crate::output::{self, Output};
use crate::package::Package;
use crate::result::Status;
use crate::webserver::{self, Answer, Client};
use crate::{aws_runtime_api, runtime_api, tree};

/// `TENCENTCLOUD_APPID` and `X-Scf-Appid`: a made-up account.
pub(crate) const APPID: &str = "1250000000";
/// `TENCENTCLOUD_UIN` and `X-Scf-Uin`: a made-up account.
pub(crate) const UIN: &str = "100000000001";

/// Linux's limit on one `NAME=value` string of the environment (`MAX_ARG_STRLEN`, 32 pages):
/// a Job event past it cannot be handed over.
pub(crate) const ENV_STRING_LIMIT: usize = 32 * 4096;

/// How long a WebServer that dropped a connection unanswered is given to be seen exiting,
/// which tells "it died" (439) from "it broke the connection" (430).
const EXIT_GRACE: Duration = Duration::from_secs(1);

/// How events reach the instance, by [`Shape`].
enum Transport {
    /// The runtime API server's task.
    RuntimeApi(JoinHandle<()>),
    /// The client of the function's own HTTP server.
    WebServer(Arc<Client>),
    /// The job's standard output (its result) and the task reading it.
    Job(Arc<Output>, JoinHandle<()>),
}

/// How an invocation ended, before it is turned into a result.
enum Ended {
    Posted(Posted, Instant),
    Exited,
    /// The WebServer answered with a status that is not 2xx: the message.
    Failed(String),
    /// The WebServer gave no answer while its process lives on: the reason.
    Unanswered(String),
}

/// Connections an instance's runtime API holds at once: a runtime uses one or two; beyond
/// the cap a connection is closed at once, so one function cannot use up the descriptors
/// every other function needs.
pub(crate) const API_CONNECTIONS: usize = 16;

/// The runtime API's bounds for `cfg`: a runtime may keep a connection idle from `/next` to
/// its result (up to `Timeout`) or through its init, so the idle timeout covers both, with a
/// margin.
fn api_limits(cfg: &FunctionConfig) -> Limits {
    Limits {
        max_connections: API_CONNECTIONS,
        head_timeout: cfg.timeout.max(cfg.init_timeout) + Duration::from_secs(10),
        ..Limits::default()
    }
}

/// Admits a connection to the runtime API when its client end is held by a process of the
/// instance (a descendant of the keeper `root`; the bootstrap `main` is looked at first); see
/// [`crate::tree`].
fn admit_instance(root: u32, main: u32) -> Admit {
    Arc::new(
        move |stream| match (stream.peer_addr(), stream.local_addr()) {
            (Ok(peer), Ok(local)) => tree::holds_client_socket(root, main, peer, local),
            _ => false,
        },
    )
}

/// How an instance failed to start; the instance is gone.
#[derive(Debug)]
pub(crate) struct StartFailure {
    pub(crate) status: Status,
    pub(crate) message: String,
    pub(crate) output: Vec<u8>,
    pub(crate) mem_usage: u64,
}

/// What one invocation on an instance produced.
#[derive(Debug)]
pub(crate) struct Ran {
    pub(crate) status: Status,
    pub(crate) ret_msg: String,
    pub(crate) err_msg: String,
    pub(crate) output: Vec<u8>,
    pub(crate) duration: Duration,
    pub(crate) mem_usage: u64,
}

/// A running instance. See the module documentation.
pub(crate) struct Instance {
    keeper: Keeper,
    exchange: Arc<Exchange>,
    output: Arc<Output>,
    exit: Arc<Mutex<Option<ExitStatus>>>,
    transport: Transport,
    reader_task: JoinHandle<()>,
    /// The instance cannot take another event (a WebServer dropped a connection unanswered).
    broken: bool,
    wait_task: Option<JoinHandle<()>>,
    peak_rss: u64,
    hwm_read: Option<Instant>,
    invocations: u64,
    /// When it last finished an invocation (or its init).
    pub(crate) last_used: Instant,
    _tmp: TempDir,
}

/// "exit code 1", "killed by signal 9".
pub(crate) fn describe_exit(status: Option<ExitStatus>) -> String {
    match status {
        Some(s) => match (s.code(), s.signal()) {
            (Some(code), _) => format!("exit code {code}"),
            (None, Some(sig)) => format!("killed by signal {sig}"),
            _ => "exited".to_owned(),
        },
        None => "exited".to_owned(),
    }
}

/// The step that ends init, for messages: SCF's ready call, or AWS's first `/next`, as
/// (verb, its -ing form, path).
fn ready_step(dialect: Dialect) -> (&'static str, &'static str, &'static str) {
    match dialect {
        Dialect::Scf { .. } => ("post", "posting", runtime_api::READY),
        Dialect::Aws => ("ask for", "asking for", aws_runtime_api::NEXT),
    }
}

/// The path events are fetched from, for messages.
fn next_path(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Scf { .. } => runtime_api::NEXT,
        Dialect::Aws => aws_runtime_api::NEXT,
    }
}

/// The platform's variables (section 3), without the runtime API address.
fn platform_env(cfg: &FunctionConfig, root: &Path, tmp: &Path) -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let mut root = root.to_string_lossy().into_owned();
    root.push('/');
    vec![
        ("_HANDLER".into(), cfg.handler.clone()),
        ("SCF_FUNCTIONNAME".into(), cfg.function_name.clone()),
        ("SCF_FUNCTIONVERSION".into(), "$LATEST".into()),
        ("SCF_RUNTIME".into(), "CustomRuntime".into()),
        ("TENCENTCLOUD_REGION".into(), cfg.region.clone()),
        ("TENCENTCLOUD_APPID".into(), APPID.into()),
        ("TENCENTCLOUD_UIN".into(), UIN.into()),
        ("TENCENTCLOUD_TZ".into(), "UTC".into()),
        ("TENCENTCLOUD_RUNENV".into(), "SCF".into()),
        ("USER_CODE_ROOT".into(), root),
        ("PATH".into(), path),
        ("TMPDIR".into(), tmp.to_string_lossy().into_owned()),
    ]
}

impl Instance {
    /// Starts `bootstrap` (or the image's command) and waits for its ready (the runtime
    /// API's, or the WebServer's listen), within `InitTimeout`. A Job instance is ready once
    /// started, with `job` (its request id and event) in its environment. `stop` turning
    /// true (the pool shuts down) ends the wait with 500.
    pub(crate) async fn start(
        cfg: &FunctionConfig,
        package: &Package,
        stop: &mut watch::Receiver<bool>,
        job: Option<(&str, &[u8])>,
    ) -> Result<(Instance, InitReport), StartFailure> {
        let begun = Instant::now();
        let fail = |status, message: String| StartFailure {
            status,
            message,
            output: Vec::new(),
            mem_usage: 0,
        };
        let internal =
            |what: &str, e: std::io::Error| fail(Status::InternalError, format!("{what}: {e}"));

        let listener = match cfg.shape {
            Shape::Zip => Some(
                runtime_api::bind(cfg.runtime_api_port)
                    .await
                    .map_err(|e| internal("cannot open the runtime API port", e))?,
            ),
            Shape::Image | Shape::Job => None,
        };
        let addr = match &listener {
            Some(l) => Some(
                l.local_addr()
                    .map_err(|e| internal("runtime API port", e))?,
            ),
            None => None,
        };
        let client = match (cfg.shape, cfg.image_port) {
            (Shape::Image, Some(port)) => Some(Arc::new(Client::new(port))),
            (Shape::Image, None) => {
                let port = webserver::free_port()
                    .map_err(|e| internal("cannot find a free port for the server", e))?;
                Some(Arc::new(Client::new(port)))
            }
            _ => None,
        };
        let tmp = crate::scratch::tempdir("tmp")
            .map_err(|e| internal("cannot create the instance's TMPDIR", e))?;
        let (read, write) = output::pipe().map_err(|e| internal("cannot create a pipe", e))?;
        // A job's standard output is its result, in a pipe of its own; its stderr is the log.
        let (stdout, stderr, job_result) = if cfg.shape == Shape::Job {
            let (read, result) = output::pipe().map_err(|e| internal("cannot create a pipe", e))?;
            (result, write, Some(read))
        } else {
            let write2 = write
                .try_clone()
                .map_err(|e| internal("cannot create a pipe", e))?;
            (write, write2, None)
        };

        let (program, args, platform) = match (cfg.shape, addr) {
            (Shape::Zip, Some(addr)) => {
                let env = match cfg.dialect {
                    Dialect::Scf { .. } => {
                        let mut env = platform_env(cfg, package.root(), tmp.path());
                        env.extend(runtime_api::runtime_env(addr));
                        env
                    }
                    Dialect::Aws => {
                        aws_runtime_api::environment(cfg, addr, package.root(), tmp.path())
                    }
                };
                (package.bootstrap(), &[][..], env)
            }
            _ => {
                let mut env = platform_env(cfg, package.root(), tmp.path());
                if let Some(client) = &client {
                    env.push((BOOTSTRAP_MODE_ENV.into(), "webserver".into()));
                    for name in IMAGE_PORT_ENVS {
                        env.push((name.into(), client.port().to_string()));
                    }
                }
                if let Some((request_id, event)) = job {
                    // Tencent's local runner (scf-cli) names these for a local run.
                    env.push((BOOTSTRAP_MODE_ENV.into(), "job".into()));
                    env.push(("SCF_REQUEST_ID".into(), request_id.into()));
                    env.push(("SCF_FUNCTION_MEMORY_SIZE".into(), cfg.memory_mb.to_string()));
                    env.push(("SCF_FUNCTION_TIMEOUT".into(), timeout_secs(cfg).to_string()));
                    let event = std::str::from_utf8(event)
                        .ok()
                        .filter(|e| !e.contains('\0'))
                        .ok_or_else(|| {
                            fail(
                                Status::InternalError,
                                "a Job event must be UTF-8 text without NUL bytes: it travels in an environment variable".to_owned(),
                            )
                        })?;
                    env.push((JOB_EVENT_ENV.into(), event.to_owned()));
                }
                match cfg.command.split_first() {
                    Some((program, args)) => (program.into(), args, env),
                    None => (package.image_command(), &[][..], env),
                }
            }
        };
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(args)
            .current_dir(package.root())
            .env_clear()
            .envs(platform)
            .envs(cfg.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::from(stdout))
            .stderr(Stdio::from(stderr))
            // The keeper's own group: a Ctrl-C at the terminal is scf-local's to handle.
            .process_group(0);
        let pid_pipe =
            keeper::prepare(&mut cmd).map_err(|e| internal("cannot create a pipe", e))?;
        let spawned_at = Instant::now();
        let spawning = keeper::spawning();
        let child = cmd.spawn();
        drop(cmd); // closes our copies of the pipe's write end
        let mut child = child.map_err(|e| {
            let hint = match e.raw_os_error() {
                Some(libc::EACCES) => " (is it executable? chmod 755 bootstrap)",
                Some(libc::ENOEXEC) => " (not a program for this machine, or a script without #!)",
                Some(libc::ENOENT) if cfg.shape != Shape::Zip && cfg.command.is_empty() => {
                    " (the code has no scf_bootstrap or bootstrap: name the command with --command, or ImageConfig.Command)"
                }
                Some(libc::ENOENT) => " (missing, or its #! interpreter is missing)",
                _ => "",
            };
            fail(
                Status::ContainerInitError,
                match cfg.shape {
                    Shape::Zip => format!("cannot start bootstrap: {e}{hint}"),
                    _ => format!("cannot start {}: {e}{hint}", program.display()),
                },
            )
        })?;
        let keeper_pid = child.id().unwrap_or(0);
        let keeper = match Keeper::started(keeper_pid, pid_pipe, spawning) {
            Ok(keeper) => keeper,
            Err(e) => {
                let _ = child.start_kill();
                return Err(internal("cannot start the instance's keeper", e));
            }
        };

        let exchange = Arc::new(Exchange::default());
        let exit = Arc::new(Mutex::new(None));
        let wait_task = {
            let exchange = exchange.clone();
            let exit = exit.clone();
            tokio::spawn(async move {
                // The keeper exits once the bootstrap has, after killing every other
                // process of the instance, with the bootstrap's status.
                let status = child.wait().await.ok();
                // If the keeper was killed, the instance's processes came to scf-local.
                keeper::reaped(keeper_pid);
                *exit.lock().unwrap_or_else(PoisonError::into_inner) = status;
                exchange.mark_exited();
            })
        };
        let (output, reader_task) = match Output::start(read, cfg.log_limit) {
            Ok(x) => x,
            Err(e) => {
                keeper.stop();
                return Err(internal("cannot read the instance's output", e));
            }
        };
        let limits = api_limits(cfg);
        let admit = admit_instance(keeper.pid(), keeper.main_pid());
        let transport = match (listener, &client, job_result) {
            (_, Some(client), _) => Transport::WebServer(client.clone()),
            (_, _, Some(read)) => match Output::start(read, cfg.response_limit + 1) {
                Ok((out, task)) => Transport::Job(out, task),
                Err(e) => {
                    keeper.stop();
                    return Err(internal("cannot read the job's output", e));
                }
            },
            (Some(listener), _, _) => Transport::RuntimeApi(match cfg.dialect {
                Dialect::Scf { headers } => {
                    let settings = Arc::new(runtime_api::Settings::new(
                        headers,
                        cfg.memory_mb,
                        cfg.timeout_ms(),
                        cfg.response_limit,
                    ));
                    runtime_api::serve(listener, limits, admit, exchange.clone(), settings)
                }
                Dialect::Aws => {
                    let settings = Arc::new(aws_runtime_api::Settings::new(cfg));
                    aws_runtime_api::serve(listener, limits, admit, exchange.clone(), settings)
                }
            }),
            (None, None, None) => unreachable!("every shape has a transport"),
        };
        let mut instance = Instance {
            keeper,
            exchange,
            output,
            exit,
            transport,
            reader_task,
            broken: false,
            wait_task: Some(wait_task),
            peak_rss: 0,
            hwm_read: None,
            invocations: 0,
            last_used: Instant::now(),
            _tmp: tmp,
        };

        // Init: until the first ready (the runtime API's, or the server's listen; a job is
        // ready once started), the process's exit, or InitTimeout.
        let deadline = tokio::time::Instant::from_std(spawned_at + cfg.init_timeout);
        let became_ready = {
            let exchange = instance.exchange.clone();
            let client = client.clone();
            let shape = cfg.shape;
            let (root, main) = (instance.keeper.pid(), instance.keeper.main_pid());
            async move {
                match (shape, client) {
                    (Shape::Job, _) => Ok(Instant::now()),
                    (_, Some(client)) => tokio::select! {
                        listening = client.wait_listening(root, main) => match listening {
                            Ok(()) => Ok(Instant::now()),
                            Err(message) => Err(Some(message)),
                        },
                        exited = exchange.wait_ready() => exited.ok_or(None),
                    },
                    _ => exchange.wait_ready().await.ok_or(None),
                }
            }
        };
        tokio::pin!(became_ready);
        // Why a WebServer's listen was refused, if it was.
        let mut init_refusal: Option<String> = None;
        let mut next_sample = tokio::time::Instant::now() + cfg.memory_sample_interval;
        let ready = loop {
            tokio::select! {
                ready = &mut became_ready => break ready.map_err(|refused| {
                    init_refusal = refused;
                    Status::ContainerInitError
                }),
                _ = sleep_until(deadline) => break Err(Status::InitTimeout),
                Ok(_) = stop.wait_for(|stop| *stop) => break Err(Status::InternalError),
                _ = sleep_until(next_sample) => {
                    next_sample += cfg.memory_sample_interval;
                    if instance.sample_memory(cfg) {
                        break Err(Status::MemoryLimitReached);
                    }
                }
            }
        };
        match ready {
            Ok(ready_at) => {
                instance.last_used = Instant::now();
                let mem_usage = instance.mem_usage(cfg);
                let report = InitReport {
                    pull_code: package.unpack_time(),
                    init_runtime: spawned_at.duration_since(begun),
                    init_function: ready_at.saturating_duration_since(spawned_at),
                    mem_usage,
                };
                Ok((instance, report))
            }
            Err(status) => {
                let mem_usage = instance.mem_usage(cfg);
                let (verb, verb_ing, path) = ready_step(cfg.dialect);
                let message = match (status, &client) {
                    (Status::ContainerInitError, Some(_)) if init_refusal.is_some() => {
                        init_refusal.take().unwrap_or_default()
                    }
                    (Status::InitTimeout, Some(client)) => {
                        webserver::listen_timeout_message(cfg.init_timeout, client.port())
                    }
                    (Status::ContainerInitError, Some(client)) => format!(
                        "the server exited during init ({}) before listening on port {}",
                        describe_exit(instance.exit_status()),
                        client.port()
                    ),
                    (status, _) => match status {
                        Status::InitTimeout => format!(
                            "init timeout: bootstrap did not {verb} {path} within InitTimeout {}",
                            secs(cfg.init_timeout)
                        ),
                        Status::MemoryLimitReached => instance.memory_message(cfg),
                        Status::InternalError => {
                            "the function was shut down during init".to_owned()
                        }
                        // AWS's /runtime/init/error: the posted error is the message.
                        _ => match instance.exchange.init_failure() {
                            Some(error) => String::from_utf8_lossy(&error).into_owned(),
                            None => format!(
                                "bootstrap exited during init ({}) before {verb_ing} {path}",
                                describe_exit(instance.exit_status()),
                            ),
                        },
                    },
                };
                let output = instance.discard().await;
                Err(StartFailure {
                    status,
                    message,
                    output,
                    mem_usage,
                })
            }
        }
    }

    fn exit_status(&self) -> Option<ExitStatus> {
        *self.exit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether the main process has exited (the instance cannot be used).
    pub(crate) fn is_exited(&self) -> bool {
        self.exchange.is_exited()
    }

    /// Samples the memory of the instance's processes; returns whether the limit is enforced
    /// and exceeded (the instance is then killed).
    fn sample_memory(&mut self, cfg: &FunctionConfig) -> bool {
        let rss = memory::tree_rss(self.keeper.pid());
        self.peak_rss = self.peak_rss.max(rss);
        if cfg.enforce_memory && rss > u64::from(cfg.memory_mb) * 1024 * 1024 {
            self.kill();
            return true;
        }
        false
    }

    /// Has the keeper kill every process of the instance (it then exits, which the wait task
    /// sees). Once the keeper is reaped nothing is left to kill.
    fn kill(&self) {
        if !self.exchange.is_exited() {
            self.keeper.stop();
        }
    }

    fn memory_message(&self, cfg: &FunctionConfig) -> String {
        format!(
            "memory limit reached: the instance's processes used {:.2}MB, over MemorySize {}MB",
            self.peak_rss as f64 / (1024.0 * 1024.0),
            cfg.memory_mb
        )
    }

    /// The peak memory seen so far: sampled RSS of the tree, or the main process's high-water mark.
    /// The mark is read at most once per sampling interval: reading `/proc/<pid>/status`
    /// costs about 10 µs, a large share of a warm invocation.
    fn mem_usage(&mut self, cfg: &FunctionConfig) -> u64 {
        let now = Instant::now();
        let due = self
            .hwm_read
            .is_none_or(|at| now.duration_since(at) >= cfg.memory_sample_interval);
        // Always on the first invocation, which a single `invoke` reports.
        if due || self.invocations <= 1 {
            self.hwm_read = Some(now);
            self.peak_rss = self
                .peak_rss
                .max(memory::high_water_mark(self.keeper.main_pid()));
        }
        self.peak_rss
    }

    /// Output written since the last call.
    pub(crate) fn take_output(&self) -> Vec<u8> {
        self.output.take()
    }

    /// Runs one invocation: delivers the event and waits for its result within `Timeout`.
    /// `stop` turning true (the pool shuts down) kills the instance and ends it with 500.
    pub(crate) async fn invoke(
        &mut self,
        cfg: &FunctionConfig,
        request_id: Arc<str>,
        event: Bytes,
        client_context: Option<Arc<str>>,
        stop: &mut watch::Receiver<bool>,
    ) -> Ran {
        let delivered = Instant::now();
        self.invocations += 1;
        let ended = {
            let exchange = self.exchange.clone();
            let client = match &self.transport {
                Transport::WebServer(client) => Some((
                    client.clone(),
                    webserver::event_headers(cfg, &request_id),
                    event.clone(),
                )),
                _ => None,
            };
            let limit = cfg.response_limit;
            async move {
                match client {
                    Some((client, headers, event)) => tokio::select! {
                        answer = client.post(&headers, event, limit) => match answer {
                            Answer::Ok(body) => Ended::Posted(Posted::Response(body), Instant::now()),
                            Answer::TooLarge => Ended::Posted(Posted::ResponseTooLarge, Instant::now()),
                            Answer::Failed(code, body) => Ended::Failed(format!(
                                "the function's HTTP server answered status {code}: {}",
                                String::from_utf8_lossy(&body)
                            )),
                            // A process closes its sockets before its exit is seen: an
                            // exit that follows at once is why the answer never came.
                            Answer::Unanswered(reason) => {
                                match tokio::time::timeout(EXIT_GRACE, exchange.wait_exited()).await {
                                    Ok(()) => Ended::Exited,
                                    Err(_) => Ended::Unanswered(reason),
                                }
                            }
                        },
                        () = exchange.wait_exited() => Ended::Exited,
                    },
                    // The runtime API's result; a job's (and anyone's) exit.
                    None => match exchange.wait_outcome().await {
                        WaitOutcome::Posted(posted, at) => Ended::Posted(posted, at),
                        WaitOutcome::Exited => Ended::Exited,
                    },
                }
            }
        };
        tokio::pin!(ended);
        self.exchange.begin(Delivery {
            request_id,
            event,
            queued_at: SystemTime::now(),
            client_context,
        });
        let deadline = tokio::time::Instant::from_std(delivered + cfg.timeout);
        let mut next_sample =
            tokio::time::Instant::from_std(delivered) + cfg.memory_sample_interval;
        let mut memory_exceeded = false;
        let (status, ret_msg, err_msg, ended) = loop {
            tokio::select! {
                biased;
                outcome = &mut ended => break match outcome {
                    Ended::Posted(Posted::Response(body), at) => {
                        (Status::Success, String::from_utf8_lossy(&body).into_owned(), String::new(), at)
                    }
                    Ended::Posted(Posted::Error(body), at) => {
                        (Status::UserCodeException, String::new(), String::from_utf8_lossy(&body).into_owned(), at)
                    }
                    Ended::Failed(message) => (Status::UserCodeException, String::new(), message, Instant::now()),
                    Ended::Unanswered(reason) => {
                        // A server that drops an event unanswered is in no state for another.
                        self.broken = true;
                        self.kill();
                        let message = format!("the function's HTTP server gave no answer ({reason}); the instance is recycled");
                        (Status::UserCodeException, String::new(), message, Instant::now())
                    }
                    Ended::Posted(Posted::ResponseTooLarge, at) => (
                        Status::ResponseTooLarge,
                        String::new(),
                        format!("the response is over the {} byte limit", cfg.response_limit),
                        at,
                    ),
                    Ended::Exited if memory_exceeded => {
                        (Status::MemoryLimitReached, String::new(), self.memory_message(cfg), Instant::now())
                    }
                    Ended::Exited if cfg.shape == Shape::Job => self.job_result(cfg),
                    Ended::Exited => (
                        Status::ProcessExited,
                        String::new(),
                        format!(
                            "the runtime process exited during the invocation ({}); the instance is recycled",
                            describe_exit(self.exit_status())
                        ),
                        Instant::now(),
                    ),
                },
                _ = sleep_until(deadline) => {
                    self.kill();
                    self.exchange.finish();
                    let message = if cfg.shape == Shape::Image {
                        format!(
                            "execution timeout: the function's HTTP server did not answer within Timeout {}",
                            secs(cfg.timeout)
                        )
                    } else if cfg.shape == Shape::Job {
                        format!("execution timeout: the job did not exit within Timeout {}", secs(cfg.timeout))
                    } else if self.exchange.fetched() {
                        format!(
                            "execution timeout: the runtime fetched the event but posted no result within Timeout {}",
                            secs(cfg.timeout)
                        )
                    } else {
                        format!(
                            "timeout waiting for the event: the runtime did not fetch it from {} within Timeout {}",
                            next_path(cfg.dialect),
                            secs(cfg.timeout)
                        )
                    };
                    break (Status::TimeLimitReached, String::new(), message, Instant::now());
                }
                Ok(_) = stop.wait_for(|stop| *stop) => {
                    self.kill();
                    self.exchange.finish();
                    let message = "the function was shut down during the invocation".to_owned();
                    break (Status::InternalError, String::new(), message, Instant::now());
                }
                _ = sleep_until(next_sample), if !memory_exceeded => {
                    next_sample += cfg.memory_sample_interval;
                    // On a kill the next loop turn sees the exit and reports 434.
                    memory_exceeded = self.sample_memory(cfg);
                }
            }
        };
        let duration = ended.saturating_duration_since(delivered);
        let output = self.output.take();
        self.last_used = Instant::now();
        Ran {
            status,
            ret_msg,
            err_msg,
            output,
            duration,
            mem_usage: self.mem_usage(cfg),
        }
    }

    /// The result of a job that exited: exit code 0 is a success whose `RetMsg` is what it
    /// wrote to stdout; any other end is a failure.
    fn job_result(&self, cfg: &FunctionConfig) -> (Status, String, String, Instant) {
        let now = Instant::now();
        let Transport::Job(stdout, _) = &self.transport else {
            return (
                Status::InternalError,
                String::new(),
                "not a job".to_owned(),
                now,
            );
        };
        let status = self.exit_status();
        if status.and_then(|s| s.code()) != Some(0) {
            let message = format!("the job failed: {}", describe_exit(status));
            return (Status::UserCodeException, String::new(), message, now);
        }
        let result = stdout.take();
        if result.len() > cfg.response_limit {
            let message = format!(
                "the job's output (its result) is over the {} byte limit",
                cfg.response_limit
            );
            return (Status::ResponseTooLarge, String::new(), message, now);
        }
        let text = String::from_utf8_lossy(&result).into_owned();
        (Status::Success, text, String::new(), now)
    }

    /// Whether the instance can take no further event: its process exited, or it is a job
    /// (one event each), or its server dropped an event unanswered.
    pub(crate) fn spent(&self) -> bool {
        self.is_exited() || self.broken || matches!(self.transport, Transport::Job(..))
    }

    /// Kills every process of the instance, waits for the keeper to be reaped, and returns
    /// the output not yet taken.
    pub(crate) async fn discard(mut self) -> Vec<u8> {
        self.kill();
        if let Some(task) = self.wait_task.as_mut() {
            // SIGKILL cannot be ignored: this ends promptly. The bound only guards against a
            // process stuck in the kernel.
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
        self.wait_task = None;
        self.output.take()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if !self.exchange.is_exited() {
            self.keeper.stop();
            // Dropped without `discard` (a cancelled call, an interrupted `invoke`): wait for
            // the processes to be gone, so none still writes in the TMPDIR removed below. The
            // keeper needs a scan of /proc and a few milliseconds.
            self.keeper.wait_gone(Duration::from_secs(2));
        }
        // The function may have left read-only directories in its TMPDIR.
        crate::scratch::make_writable(self._tmp.path());
        match &self.transport {
            Transport::RuntimeApi(task) | Transport::Job(_, task) => task.abort(),
            Transport::WebServer(_) => {}
        }
        self.reader_task.abort();
        if let Some(task) = self.wait_task.take() {
            // Still running: the kill above makes the child exit; tokio reaps it.
            task.abort();
        }
    }
}

/// `Timeout` in whole seconds, rounded up (the unit of the function's setting), at least 1.
pub(crate) fn timeout_secs(cfg: &FunctionConfig) -> u64 {
    cfg.timeout.as_millis().div_ceil(1000).max(1) as u64
}

/// "3s", "0.5s".
fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}
