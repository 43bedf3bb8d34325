//! The instance pool of one function: what every front end (`invoke`, `run`, and later the
//! cloud API) calls.
//!
//! - A call takes a warm idle instance (the most recently used) or starts a new one.
//! - One invocation per instance at a time; instances running or starting count against
//!   `max_instances`, and a call beyond it gets 432 at once (the platform does not queue
//!   synchronous calls).
//! - After a result the instance goes back to the idle list, unless the status recycles it
//!   (timeout, exit, memory) — then every process of it is killed and the next call starts
//!   cold.
//! - Instances idle longer than `idle_timeout` are stopped by a background task.
//! - [`Pool::shutdown`] stops everything; dropping the last [`Pool`] handle kills every
//!   instance as well, so no path leaves a process or a temporary directory behind.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::watch;

use crate::config::{ConfigError, FunctionConfig, Shape, JOB_EVENT_ENV};
use crate::instance::{Instance, ENV_STRING_LIMIT};
use crate::log::LogText;
use crate::package::Package;
use crate::result::{bill_duration_ms, duration_ms, InvocationResult, Status};

/// Counts live instances; a slot is given back when its instance is dropped.
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// An instance and its place in the count.
struct Leased {
    instance: Instance,
    _slot: Slot,
}

#[derive(Default)]
struct State {
    idle: Vec<Leased>,
    closed: bool,
}

struct Inner {
    config: FunctionConfig,
    package: Package,
    state: Mutex<State>,
    live: Arc<AtomicUsize>,
    /// The package's unpack time is reported once, on the first cold start.
    code_pulled: AtomicBool,
    /// Turns true on shutdown: busy instances stop at once.
    stop: watch::Sender<bool>,
}

/// Instances of one function, started on demand and kept warm. Cheap to clone (a handle).
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

/// A snapshot of a pool's instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolStats {
    /// Instances alive: idle, busy or starting.
    pub live: usize,
    /// Instances idle and warm.
    pub idle: usize,
}

enum Acquired {
    Warm(Leased),
    Cold(Slot),
    Busy,
    Closed,
}

/// A [`Pool`] that a front end can replace while it serves: each call takes the pool that
/// is current when it starts and finishes on it, so replacing one (new code) drops no
/// invocation. Cheap to clone (a handle).
///
/// The replaced pool stops its instances when its last handle goes: at once when idle, when
/// its last invocation ends otherwise.
#[derive(Clone)]
pub struct ReplaceablePool(Arc<Mutex<Pool>>);

impl ReplaceablePool {
    /// Serves `pool` until it is replaced.
    pub fn new(pool: Pool) -> ReplaceablePool {
        ReplaceablePool(Arc::new(Mutex::new(pool)))
    }

    /// The pool new calls go to.
    pub fn current(&self) -> Pool {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Sends new calls to `pool` and returns the one it replaces.
    pub fn replace(&self, pool: Pool) -> Pool {
        std::mem::replace(
            &mut *self.0.lock().unwrap_or_else(PoisonError::into_inner),
            pool,
        )
    }
}

/// A new request id (a UUID, as the platform's).
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Pool {
    /// A pool for `package` run with `config`. Must be called within a tokio runtime (it
    /// starts the idle reaper). No instance starts before the first call.
    pub fn new(config: FunctionConfig, package: Package) -> Result<Pool, ConfigError> {
        config.validate()?;
        let inner = Arc::new(Inner {
            config,
            package,
            state: Mutex::new(State::default()),
            live: Arc::new(AtomicUsize::new(0)),
            code_pulled: AtomicBool::new(false),
            stop: watch::Sender::new(false),
        });
        tokio::spawn(reap_idle(Arc::downgrade(&inner)));
        Ok(Pool { inner })
    }

    /// The function's configuration.
    pub fn config(&self) -> &FunctionConfig {
        &self.inner.config
    }

    /// The function's code.
    pub fn package(&self) -> &Package {
        &self.inner.package
    }

    /// How many instances are alive and idle now.
    pub fn stats(&self) -> PoolStats {
        let idle = self.inner.lock().idle.len();
        PoolStats {
            live: self.inner.live.load(Ordering::Acquire),
            idle,
        }
    }

    /// Runs one synchronous invocation of `event` (the bytes handed to the runtime) and
    /// returns its result. Never fails: every failure is a result with its status code.
    ///
    /// The event is not checked for being JSON: that is the job of the API in front
    /// (the platform's `Invoke` answers `InvalidParameterValue`), see [`crate::event`].
    /// Dropping the returned future mid-way kills the instance it was using.
    pub async fn invoke(&self, event: Bytes) -> InvocationResult {
        self.invoke_with_id(new_request_id(), event).await
    }

    /// [`Pool::invoke`] with a request id chosen by the caller.
    pub async fn invoke_with_id(&self, request_id: String, event: Bytes) -> InvocationResult {
        self.invoke_with_context(request_id, event, None).await
    }

    /// [`Pool::invoke_with_id`] with a client context: JSON text the AWS dialect hands the
    /// runtime as `Lambda-Runtime-Client-Context` (SCF's runtime API has no such header and
    /// ignores it).
    pub async fn invoke_with_context(
        &self,
        request_id: String,
        event: Bytes,
        client_context: Option<String>,
    ) -> InvocationResult {
        let cfg = &self.inner.config;
        if event.len() > cfg.event_limit {
            let msg = format!(
                "the event is {} bytes, over the {} byte limit",
                event.len(),
                cfg.event_limit
            );
            return InvocationResult::failed(
                Status::RequestTooLarge,
                request_id,
                msg,
                String::new(),
            );
        }
        // A job's event travels as one environment string, which Linux bounds.
        let env_string = event.len() + JOB_EVENT_ENV.len() + 2;
        if cfg.shape == Shape::Job && env_string > ENV_STRING_LIMIT {
            let msg = format!(
                "the event is {} bytes: a Job function's event travels in {JOB_EVENT_ENV}, which Linux bounds to {} bytes",
                event.len(),
                ENV_STRING_LIMIT - JOB_EVENT_ENV.len() - 2
            );
            return InvocationResult::failed(
                Status::RequestTooLarge,
                request_id,
                msg,
                String::new(),
            );
        }
        let mut log = LogText::start(&request_id);
        let mut stop = self.inner.stop.subscribe();
        let mut leased = match self.inner.acquire() {
            Acquired::Warm(leased) => leased,
            Acquired::Cold(slot) => {
                let job = (cfg.shape == Shape::Job).then_some((&request_id[..], &event[..]));
                match self
                    .start(slot, &request_id, &mut log, &mut stop, job)
                    .await
                {
                    Ok(leased) => leased,
                    Err(result) => return result,
                }
            }
            Acquired::Busy => {
                let msg = format!(
                    "concurrency limit reached: all {} instances are busy",
                    cfg.max_instances
                );
                return InvocationResult::failed(
                    Status::ConcurrencyLimitReached,
                    request_id,
                    msg,
                    String::new(),
                );
            }
            Acquired::Closed => {
                return InvocationResult::failed(
                    Status::InternalError,
                    request_id,
                    "the function is shutting down".to_owned(),
                    String::new(),
                )
            }
        };

        let id: Arc<str> = Arc::from(request_id.as_str());
        let client_context = client_context.map(Arc::from);
        let ran = leased
            .instance
            .invoke(cfg, id, event, client_context, &mut stop)
            .await;
        log.output(&ran.output);
        if ran.status == Status::Success {
            log.response(&request_id, &ran.ret_msg);
        } else {
            log.error(&request_id, &ran.err_msg);
        }
        let log = log.end(
            &request_id,
            ran.duration,
            cfg.memory_mb,
            ran.mem_usage,
            cfg.log_limit,
        );
        self.release(leased, ran.status).await;
        InvocationResult {
            status: ran.status,
            request_id,
            ret_msg: ran.ret_msg,
            err_msg: ran.err_msg,
            log,
            mem_usage: ran.mem_usage,
            duration_ms: duration_ms(ran.duration),
            bill_duration_ms: bill_duration_ms(ran.duration),
        }
    }

    async fn start(
        &self,
        slot: Slot,
        request_id: &str,
        log: &mut LogText,
        stop: &mut watch::Receiver<bool>,
        job: Option<(&str, &[u8])>,
    ) -> Result<Leased, InvocationResult> {
        let cfg = &self.inner.config;
        match Instance::start(cfg, &self.inner.package, stop, job).await {
            Ok((instance, mut report)) => {
                if self.inner.code_pulled.swap(true, Ordering::AcqRel) {
                    report.pull_code = Duration::ZERO;
                }
                log.output(&instance.take_output());
                log.init_report(request_id, &report, cfg.memory_mb);
                Ok(Leased {
                    instance,
                    _slot: slot,
                })
            }
            Err(failure) => {
                drop(slot);
                let mut log = std::mem::take(log);
                log.output(&failure.output);
                log.error(request_id, &failure.message);
                let text = log.end(
                    request_id,
                    Duration::ZERO,
                    cfg.memory_mb,
                    failure.mem_usage,
                    cfg.log_limit,
                );
                let mut result = InvocationResult::failed(
                    failure.status,
                    request_id.to_owned(),
                    failure.message,
                    text,
                );
                result.mem_usage = failure.mem_usage;
                Err(result)
            }
        }
    }

    async fn release(&self, leased: Leased, status: Status) {
        if status.recycles_instance() || leased.instance.spent() {
            leased.instance.discard().await;
            return;
        }
        let closed = {
            let mut state = self.inner.lock();
            if state.closed {
                Some(leased)
            } else {
                state.idle.push(leased);
                None
            }
        };
        if let Some(leased) = closed {
            leased.instance.discard().await;
        }
    }

    /// Stops every instance, idle or busy (a busy one's invocation ends with 500). Later
    /// calls get 500. Returns when no instance is left (bounded: 5 s past `Timeout`).
    pub async fn shutdown(&self) {
        let idle = {
            let mut state = self.inner.lock();
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        self.inner.stop.send_replace(true);
        for leased in idle {
            leased.instance.discard().await;
        }
        let give_up = Instant::now() + self.inner.config.timeout + Duration::from_secs(5);
        while self.inner.live.load(Ordering::Acquire) > 0 && Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn acquire(&self) -> Acquired {
        let mut state = self.lock();
        if state.closed {
            return Acquired::Closed;
        }
        // Most recently used first: it is the warmest, and the others can age out.
        while let Some(leased) = state.idle.pop() {
            if !leased.instance.spent() {
                return Acquired::Warm(leased);
            }
            // Died while idle: drop it (its processes are already killed) and look further.
        }
        if self.live.load(Ordering::Acquire) >= self.config.max_instances {
            return Acquired::Busy;
        }
        // Under the state lock: nobody else adds, so the check above still holds.
        self.live.fetch_add(1, Ordering::AcqRel);
        Acquired::Cold(Slot(self.live.clone()))
    }
}

/// Stops instances idle for longer than `idle_timeout`, and those whose process died.
async fn reap_idle(pool: Weak<Inner>) {
    let period = match pool.upgrade() {
        Some(inner) => {
            (inner.config.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1))
        }
        None => return,
    };
    loop {
        tokio::time::sleep(period).await;
        let Some(inner) = pool.upgrade() else { return };
        let expired: Vec<Leased> = {
            let mut state = inner.lock();
            if state.closed {
                return;
            }
            let now = Instant::now();
            let timeout = inner.config.idle_timeout;
            let (old, keep) =
                std::mem::take(&mut state.idle)
                    .into_iter()
                    .partition(|l: &Leased| {
                        l.instance.is_exited()
                            || now.duration_since(l.instance.last_used) >= timeout
                    });
            state.idle = keep;
            old
        };
        drop(inner);
        for leased in expired {
            leased.instance.discard().await;
        }
    }
}
