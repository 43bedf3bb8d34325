//! What a handler knows about its invocation and its function.

use std::time::{Duration, Instant};

/// The function's environment, read once at start. Every value is optional: regions and
/// platform versions differ in what they set, and a missing one is never an error.
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
}

impl Environment {
    /// Reads the variables from the process environment. Values that are not UTF-8 count as
    /// missing.
    pub fn from_env() -> Environment {
        let var = |name: &str| std::env::var_os(name).and_then(|v| v.into_string().ok());
        Environment {
            handler: var("_HANDLER"),
            function_name: var("SCF_FUNCTIONNAME"),
            function_version: var("SCF_FUNCTIONVERSION"),
            namespace: var("SCF_NAMESPACE"),
            region: var("TENCENTCLOUD_REGION"),
            appid: var("TENCENTCLOUD_APPID"),
            uin: var("TENCENTCLOUD_UIN"),
        }
    }
}

/// One invocation's context, borrowed from the runtime for the duration of the handler call.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) memory_limit_in_mb: u32,
    pub(crate) time_limit_in_ms: u64,
    pub(crate) deadline: Instant,
    pub(crate) env: &'a Environment,
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
            memory_limit_in_mb,
            time_limit_in_ms,
            deadline: arrival + Duration::from_millis(time_limit_in_ms),
            env,
        }
    }

    /// The invocation's request id (`request_id` header).
    pub fn request_id(&self) -> &'a str {
        self.request_id
    }

    /// The function's memory limit in MB (`memory_limit_in_mb` header).
    pub fn memory_limit_in_mb(&self) -> u32 {
        self.memory_limit_in_mb
    }

    /// The function's `Timeout` in milliseconds (`time_limit_in_ms` header): a duration.
    pub fn time_limit_in_ms(&self) -> u64 {
        self.time_limit_in_ms
    }

    /// When the platform will stop this invocation: the event's arrival plus the time limit.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Time left before [`deadline`](Self::deadline), zero once it has passed.
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// `_HANDLER`.
    pub fn handler(&self) -> Option<&'a str> {
        self.env.handler.as_deref()
    }

    /// `SCF_FUNCTIONNAME`.
    pub fn function_name(&self) -> Option<&'a str> {
        self.env.function_name.as_deref()
    }

    /// `SCF_FUNCTIONVERSION`.
    pub fn function_version(&self) -> Option<&'a str> {
        self.env.function_version.as_deref()
    }

    /// `SCF_NAMESPACE`.
    pub fn namespace(&self) -> Option<&'a str> {
        self.env.namespace.as_deref()
    }

    /// `TENCENTCLOUD_REGION`.
    pub fn region(&self) -> Option<&'a str> {
        self.env.region.as_deref()
    }

    /// `TENCENTCLOUD_APPID`.
    pub fn appid(&self) -> Option<&'a str> {
        self.env.appid.as_deref()
    }

    /// `TENCENTCLOUD_UIN`.
    pub fn uin(&self) -> Option<&'a str> {
        self.env.uin.as_deref()
    }

    /// The whole environment read at start.
    pub fn environment(&self) -> &'a Environment {
        self.env
    }
}
