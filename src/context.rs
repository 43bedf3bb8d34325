//! What a handler knows about its invocation and its function.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The process's environment, read once: the first time a handler asks for it, so a handler
/// that never does pays nothing at start (reading it means scanning the whole environment per
/// variable and a first heap allocation, a measurable part of a cold start).
static PROCESS: OnceLock<Environment> = OnceLock::new();
/// Which variables to read: AWS Lambda's (set at start by the runtime) or SCF's.
static AWS: AtomicBool = AtomicBool::new(false);

/// Chooses AWS Lambda's variables for [`process_environment`].
pub(crate) fn use_aws_environment() {
    AWS.store(true, Ordering::Relaxed);
}

/// The process's environment, read on first use.
fn process_environment() -> &'static Environment {
    PROCESS.get_or_init(|| {
        if AWS.load(Ordering::Relaxed) {
            Environment::from_aws_env()
        } else {
            Environment::from_env()
        }
    })
}

/// The function's environment. Every value is optional: regions and platform versions differ
/// in what they set, and a missing one is never an error. The runtime reads it once, the
/// first time a handler asks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Environment {
    /// `_HANDLER`, free-form for a Custom Runtime (e.g. `index.main_handler`).
    pub handler: Option<String>,
    /// `SCF_FUNCTIONNAME`.
    pub function_name: Option<String>,
    /// `SCF_FUNCTIONVERSION`.
    pub function_version: Option<String>,
    /// `SCF_NAMESPACE` (no longer set by the platform; kept for older regions).
    pub namespace: Option<String>,
    /// `TENCENTCLOUD_REGION`.
    pub region: Option<String>,
    /// `TENCENTCLOUD_APPID`.
    pub appid: Option<String>,
    /// `TENCENTCLOUD_UIN`.
    pub uin: Option<String>,
    /// AWS: `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, the memory limit in MB (SCF sends it with
    /// every event instead).
    pub memory_size_mb: Option<u32>,
}

impl Environment {
    /// Reads SCF's variables from the process environment. Values that are not UTF-8 count
    /// as missing.
    pub fn from_env() -> Environment {
        Environment {
            handler: var("_HANDLER"),
            function_name: var("SCF_FUNCTIONNAME"),
            function_version: var("SCF_FUNCTIONVERSION"),
            namespace: var("SCF_NAMESPACE"),
            region: var("TENCENTCLOUD_REGION"),
            appid: var("TENCENTCLOUD_APPID"),
            uin: var("TENCENTCLOUD_UIN"),
            memory_size_mb: None,
        }
    }

    /// Reads AWS Lambda's equivalents: `AWS_LAMBDA_FUNCTION_NAME`,
    /// `AWS_LAMBDA_FUNCTION_VERSION`, `AWS_REGION`, `AWS_LAMBDA_FUNCTION_MEMORY_SIZE` and
    /// `_HANDLER`.
    pub fn from_aws_env() -> Environment {
        Environment {
            handler: var("_HANDLER"),
            function_name: var("AWS_LAMBDA_FUNCTION_NAME"),
            function_version: var("AWS_LAMBDA_FUNCTION_VERSION"),
            region: var("AWS_REGION"),
            memory_size_mb: var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|m| m.parse().ok()),
            ..Environment::default()
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var_os(name).and_then(|v| v.into_string().ok())
}

/// One invocation's context, borrowed from the runtime for the duration of the handler call.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub(crate) request_id: &'a str,
    /// `None` under AWS: the memory limit is then an environment variable.
    pub(crate) memory_limit_in_mb: Option<u32>,
    pub(crate) time_limit_in_ms: u64,
    pub(crate) deadline: Deadline,
    /// `None`: the process's environment, read on first use.
    pub(crate) env: Option<&'a Environment>,
    pub(crate) aws: Option<AwsInvocation<'a>>,
    /// WebServer image functions: the function's facts from the `X-Scf-*` headers, each
    /// overriding the environment's.
    pub(crate) facts: Facts<'a>,
}

/// A WebServer image function's facts from its request's `X-Scf-*` headers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Facts<'a> {
    pub name: Option<&'a str>,
    pub version: Option<&'a str>,
    pub namespace: Option<&'a str>,
    pub region: Option<&'a str>,
    pub appid: Option<&'a str>,
    pub uin: Option<&'a str>,
}

/// When the invocation ends: an `Instant`, or nanoseconds on the monotonic clock (the
/// runtime's own, turned into an `Instant` only when asked; see `clock.rs`).
#[derive(Clone, Copy, Debug)]
pub(crate) enum Deadline {
    Instant(Instant),
    MonotonicNs(u64),
}

/// What AWS Lambda's runtime API adds to an invocation.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AwsInvocation<'a> {
    pub function_arn: Option<&'a str>,
    pub trace_id: Option<&'a str>,
    pub client_context: Option<&'a str>,
}

impl<'a> Context<'a> {
    /// Builds a context; `deadline` is `arrival + time_limit_in_ms`.
    ///
    /// The runtime makes these itself; this constructor exists for testing handlers.
    pub fn new(
        request_id: &'a str,
        memory_limit_in_mb: u32,
        time_limit_in_ms: u64,
        arrival: Instant,
        env: &'a Environment,
    ) -> Context<'a> {
        Context {
            request_id,
            memory_limit_in_mb: Some(memory_limit_in_mb),
            time_limit_in_ms,
            deadline: Deadline::Instant(arrival + Duration::from_millis(time_limit_in_ms)),
            env: Some(env),
            aws: None,
            facts: Facts::default(),
        }
    }

    /// A context on the process's environment (read on first use); `deadline_ns` on the
    /// monotonic clock of `clock.rs`.
    pub(crate) fn of_process(
        request_id: &'a str,
        memory_limit_in_mb: Option<u32>,
        time_limit_in_ms: u64,
        deadline_ns: u64,
    ) -> Context<'a> {
        Context {
            request_id,
            memory_limit_in_mb,
            time_limit_in_ms,
            deadline: Deadline::MonotonicNs(deadline_ns),
            env: None,
            aws: None,
            facts: Facts::default(),
        }
    }

    fn env(&self) -> &'a Environment {
        match self.env {
            Some(e) => e,
            None => process_environment(),
        }
    }

    /// The invocation's request id (`request_id` header; a WebServer image function's
    /// `X-Scf-Request-Id`, empty when not sent).
    pub fn request_id(&self) -> &'a str {
        self.request_id
    }

    /// The function's memory limit in MB (`memory_limit_in_mb` header; under AWS Lambda,
    /// `AWS_LAMBDA_FUNCTION_MEMORY_SIZE`, 0 when unset).
    pub fn memory_limit_in_mb(&self) -> u32 {
        self.memory_limit_in_mb
            .unwrap_or_else(|| self.env().memory_size_mb.unwrap_or(0))
    }

    /// The function's `Timeout` in milliseconds (`time_limit_in_ms` header): a duration.
    /// Under AWS Lambda, the time that was left when the event arrived.
    pub fn time_limit_in_ms(&self) -> u64 {
        self.time_limit_in_ms
    }

    /// When the platform will stop this invocation: the event's arrival plus the time limit.
    pub fn deadline(&self) -> Instant {
        match self.deadline {
            Deadline::Instant(i) => i,
            Deadline::MonotonicNs(ns) => crate::clock::instant_at(ns),
        }
    }

    /// Time left before [`deadline`](Self::deadline), zero once it has passed.
    pub fn remaining(&self) -> Duration {
        match self.deadline {
            Deadline::Instant(i) => i.saturating_duration_since(Instant::now()),
            Deadline::MonotonicNs(ns) => Duration::from_nanos(
                ns.saturating_sub(crate::clock::monotonic_ns(crate::clock::Via::Vdso)),
            ),
        }
    }

    /// `_HANDLER`.
    pub fn handler(&self) -> Option<&'a str> {
        self.env().handler.as_deref()
    }

    /// `SCF_FUNCTIONNAME` (a WebServer image function: the `X-Scf-Name` header when sent).
    pub fn function_name(&self) -> Option<&'a str> {
        self.facts
            .name
            .or_else(|| self.env().function_name.as_deref())
    }

    /// `SCF_FUNCTIONVERSION` (a WebServer image function: the `X-Scf-Version` header when sent).
    pub fn function_version(&self) -> Option<&'a str> {
        self.facts
            .version
            .or_else(|| self.env().function_version.as_deref())
    }

    /// `SCF_NAMESPACE` (a WebServer image function: the `X-Scf-Namespace` header when sent).
    pub fn namespace(&self) -> Option<&'a str> {
        self.facts
            .namespace
            .or_else(|| self.env().namespace.as_deref())
    }

    /// `TENCENTCLOUD_REGION` (a WebServer image function: the `X-Scf-Region` header when sent).
    pub fn region(&self) -> Option<&'a str> {
        self.facts.region.or_else(|| self.env().region.as_deref())
    }

    /// `TENCENTCLOUD_APPID` (a WebServer image function: the `X-Scf-Appid` header when sent).
    pub fn appid(&self) -> Option<&'a str> {
        self.facts.appid.or_else(|| self.env().appid.as_deref())
    }

    /// `TENCENTCLOUD_UIN` (a WebServer image function: the `X-Scf-Uin` header when sent).
    pub fn uin(&self) -> Option<&'a str> {
        self.facts.uin.or_else(|| self.env().uin.as_deref())
    }

    /// AWS Lambda: the invoked function's ARN (`Lambda-Runtime-Invoked-Function-Arn`).
    /// `None` under SCF, which sends no such header.
    pub fn invoked_function_arn(&self) -> Option<&'a str> {
        self.aws.and_then(|a| a.function_arn)
    }

    /// AWS Lambda: the X-Ray trace header (`Lambda-Runtime-Trace-Id`), also exported as
    /// `_X_AMZN_TRACE_ID` for the invocation (removed when the event has none). `None` under
    /// SCF.
    ///
    /// The variable is one fixed environment entry that the runtime rewrites in place, without
    /// a lock, before each handler call: read it during the invocation. A thread that outlives
    /// its invocation may see it half rewritten when the next event arrives.
    pub fn trace_id(&self) -> Option<&'a str> {
        self.aws.and_then(|a| a.trace_id)
    }

    /// AWS Lambda: the client context (`Lambda-Runtime-Client-Context`), JSON as sent.
    /// `None` under SCF.
    pub fn client_context(&self) -> Option<&'a str> {
        self.aws.and_then(|a| a.client_context)
    }

    /// The whole environment (read once, on first use, unless the context was built with one).
    pub fn environment(&self) -> &'a Environment {
        self.env()
    }
}
