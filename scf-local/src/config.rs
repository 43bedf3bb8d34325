//! A function's configuration: the settings `CreateFunction` takes, plus the emulator's own.

use std::fmt;
use std::time::Duration;

pub mod limits;

use limits::{
    memory_size_allowed, ENV_LIMIT, EVENT_LIMIT, INIT_TIMEOUT_MAX_SECS, MEMORY_RULE,
    RESPONSE_LIMIT, TIMEOUT_MAX_SECS,
};

/// How the `/runtime/invocation/next` response spells its headers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HeaderStyle {
    /// The current documentation: `request_id`, `memory_limit_in_mb`, `time_limit_in_ms`.
    #[default]
    Doc,
    /// The walkthrough: `Scf_Runtime_Request_Id`, `Scf_Runtime_Memory_Limit_In_Mb`,
    /// `Scf_Runtime_Time_Limit_In_Ms`.
    Walkthrough,
}

/// The runtime API a bootstrap talks to. Each dialect has its own server module
/// ([`crate::runtime_api`], [`crate::aws_runtime_api`]) over the same lifecycle.
///
/// This is the workspace's one `Dialect`: the benchmark (`scf-bench`) takes it too, for its
/// in-harness server and its runs under the emulator. Only the runtime (`scf-bootstrap`)
/// keeps a private two-variant enum of its own, because a deployed bootstrap depends on
/// nothing but `httparse` and `itoa`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// SCF's runtime API (`/runtime/init/ready`, `/runtime/invocation/next`, …).
    Scf {
        /// The spelling of the `/next` headers.
        headers: HeaderStyle,
    },
    /// AWS Lambda's runtime API (`/2018-06-01/runtime/invocation/next`, the request id in
    /// the paths, no ready call) and AWS's environment (`AWS_LAMBDA_RUNTIME_API`, …), with
    /// the same lifecycle, limits and results as SCF's. See [`crate::aws_runtime_api`].
    Aws,
}

impl Default for Dialect {
    fn default() -> Self {
        Dialect::Scf {
            headers: HeaderStyle::Doc,
        }
    }
}

/// How the platform runs a function's code (docs/protocol.md, "Image shapes (platform side)").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Shape {
    /// The Custom Runtime zip: `bootstrap` speaks the runtime API ([`Dialect`]).
    #[default]
    Zip,
    /// A WebServer image function: the command starts an HTTP server; each event is an HTTP
    /// `POST` to it. The platform's port is 9000; scf-local gives the server a free port
    /// (or [`FunctionConfig::image_port`]) in [`IMAGE_PORT_ENVS`].
    Image,
    /// A Job image function: the command runs once per event, the event in
    /// [`JOB_EVENT_ENV`]; its exit ends the invocation.
    Job,
}

/// The port the platform has a WebServer image function listen on.
pub const PLATFORM_IMAGE_PORT: u16 = 9000;

/// The variables scf-local sets to the port a WebServer image function must listen on: our
/// runtime's `SCF_BOOTSTRAP_PORT`, and `PORT`, which most web frameworks read. The platform
/// sets none (its port is always 9000); a server that reads either with 9000 as the default
/// runs unchanged on both.
pub const IMAGE_PORT_ENVS: [&str; 2] = ["SCF_BOOTSTRAP_PORT", "PORT"];

/// The variable that carries the event to a Job image function.
pub const JOB_EVENT_ENV: &str = "SCF_EVENT_BODY";

/// The variable our runtime reads its shape from (`webserver`, `job`), which an image sets
/// in its `Dockerfile` (`cargo scf build --image` writes it); scf-local sets it in the image
/// shapes as that `ENV` line would. A user variable of the same name replaces it.
pub const BOOTSTRAP_MODE_ENV: &str = "SCF_BOOTSTRAP_MODE";

/// The platform's limit on a WebServer image function's start: it must listen within 30 s.
pub const IMAGE_LISTEN_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything that says how a function runs.
///
/// The defaults are the platform's: `Timeout` 3 s, `InitTimeout` 65 s, `MemorySize` 128 MB,
/// handler `index.main_handler`, 6 MB event and response limits, 4 KB log tail.
#[derive(Clone, Debug)]
pub struct FunctionConfig {
    /// `FunctionName`, given to the runtime as `SCF_FUNCTIONNAME` (`AWS_LAMBDA_FUNCTION_NAME`
    /// and in the function ARN in the AWS dialect).
    pub function_name: String,
    /// `Handler`, given to the runtime as `_HANDLER`.
    pub handler: String,
    /// `Timeout`: from event delivery to the result.
    pub timeout: Duration,
    /// `InitTimeout`: from starting `bootstrap` to `/runtime/init/ready`.
    pub init_timeout: Duration,
    /// `MemorySize` in MB, sent as `memory_limit_in_mb`.
    pub memory_mb: u32,
    /// Kill an instance whose processes' resident memory goes over `MemorySize` (434).
    /// Off by default: the emulator measures, the cloud's cgroup is not there.
    pub enforce_memory: bool,
    /// `Environment.Variables`, after the platform's variables.
    pub env: Vec<(String, String)>,
    /// `TENCENTCLOUD_REGION` (`AWS_REGION` and in the function ARN in the AWS dialect).
    pub region: String,
    /// The runtime API dialect and header spelling.
    pub dialect: Dialect,
    /// Most instances running at once; beyond it an invocation gets 432.
    pub max_instances: usize,
    /// A warm instance idle this long is stopped.
    pub idle_timeout: Duration,
    /// Largest event accepted (406 beyond).
    pub event_limit: usize,
    /// Largest response accepted (407 beyond).
    pub response_limit: usize,
    /// Bytes of log returned with a result (the tail); 0 keeps all of it.
    pub log_limit: usize,
    /// Fixed port for the runtime API; `None` lets the OS choose one per instance.
    /// A fixed port allows one instance only.
    pub runtime_api_port: Option<u16>,
    /// How often the memory of a busy instance's processes is sampled.
    pub memory_sample_interval: Duration,
    /// How the code runs: Custom Runtime zip, WebServer image or Job image.
    pub shape: Shape,
    /// The image shapes' command, program first (`ImageConfig.Command` and `Args`); empty
    /// runs the code root's `scf_bootstrap`, else its `bootstrap`. Unused by the zip shape.
    pub command: Vec<String>,
    /// A fixed port for a WebServer image function (one instance only); `None` picks a free
    /// one per instance. The image shape's wait for the listen is `init_timeout`.
    pub image_port: Option<u16>,
}

impl Default for FunctionConfig {
    fn default() -> Self {
        FunctionConfig {
            function_name: "scf-local-function".to_owned(),
            handler: "index.main_handler".to_owned(),
            timeout: Duration::from_secs(3),
            init_timeout: Duration::from_secs(65),
            memory_mb: 128,
            enforce_memory: false,
            env: Vec::new(),
            region: "ap-guangzhou".to_owned(),
            dialect: Dialect::default(),
            max_instances: 8,
            idle_timeout: Duration::from_secs(300),
            event_limit: EVENT_LIMIT,
            response_limit: RESPONSE_LIMIT,
            log_limit: crate::log::CLOUD_LOG_LIMIT,
            runtime_api_port: None,
            memory_sample_interval: Duration::from_millis(100),
            shape: Shape::Zip,
            command: Vec::new(),
            image_port: None,
        }
    }
}

/// A configuration the platform would refuse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Prefixes of variable names the platform keeps for itself. The cloud refuses user
/// variables with them; the emulator accepts them and lets them replace its own values, so
/// the variables of other regions or older platform versions (`SCF_NAMESPACE`, role
/// credentials, another `TENCENTCLOUD_APPID`) can be reproduced.
pub const RESERVED_ENV_PREFIXES: [&str; 3] = ["SCF_", "QCLOUD_", "TENCENTCLOUD_"];

impl FunctionConfig {
    /// Checks the settings against the platform's limits ([`limits`]; docs/protocol.md
    /// section 5), and the emulator's own knobs for sense. The error is one line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let err = |m: String| Err(ConfigError(m));
        let secs = self.timeout.as_secs_f64();
        if !(0.001..=f64::from(TIMEOUT_MAX_SECS)).contains(&secs) {
            return err(format!(
                "Timeout must be within 1 ms and {TIMEOUT_MAX_SECS} s, not {secs} s"
            ));
        }
        let init_max = Duration::from_secs(INIT_TIMEOUT_MAX_SECS.into());
        if self.init_timeout.is_zero() || self.init_timeout > init_max {
            return err(format!(
                "InitTimeout must be more than 0 and at most {INIT_TIMEOUT_MAX_SECS} s, not {} s",
                self.init_timeout.as_secs_f64()
            ));
        }
        let sample = self.memory_sample_interval;
        if sample < Duration::from_millis(1) || sample > Duration::from_secs(60) {
            return err("the memory sampling interval must be within 1 ms and 60 s".to_owned());
        }
        if !memory_size_allowed(self.memory_mb.into()) {
            return err(format!(
                "MemorySize must be {MEMORY_RULE}, not {}",
                self.memory_mb
            ));
        }
        if self.max_instances == 0 {
            return err("the concurrency limit must be at least 1".to_owned());
        }
        if self.runtime_api_port.is_some() && self.max_instances != 1 {
            return err("a fixed runtime API port allows one instance only".to_owned());
        }
        if self.image_port.is_some() && self.max_instances != 1 {
            return err("a fixed image port allows one instance only".to_owned());
        }
        if self.image_port == Some(0) {
            return err("the image port must be 1-65535".to_owned());
        }
        if self.command.first().is_some_and(|c| c.is_empty())
            || self.command.iter().any(|a| a.contains('\0'))
        {
            return err("the command must name a program, without NUL bytes".to_owned());
        }
        let mut total = 0;
        for (k, v) in &self.env {
            if k.is_empty() || k.contains('=') || k.contains('\0') || v.contains('\0') {
                return err(format!("invalid environment variable name {k:?}"));
            }
            total += k.len() + v.len();
        }
        if total > ENV_LIMIT {
            return err(format!(
                "environment variables take {total} bytes, over the platform's 4 KB"
            ));
        }
        Ok(())
    }

    /// `time_limit_in_ms`.
    pub(crate) fn timeout_ms(&self) -> u128 {
        self.timeout.as_millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        FunctionConfig::default().validate().unwrap();
    }

    #[test]
    fn variables() {
        let mut c = FunctionConfig::default();
        c.env.push(("SCF_NAMESPACE".into(), "default".into()));
        c.validate().unwrap();
        c.env.push(("A=B".into(), "x".into()));
        assert!(c.validate().is_err());
        c.env.pop();
        c.env.push(("BIG".into(), "x".repeat(5000)));
        assert!(c.validate().is_err());
    }

    #[test]
    fn limits() {
        let c = FunctionConfig {
            init_timeout: Duration::from_secs(u64::MAX),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        // The platform's rule: 64, or 128 to 3072 in steps of 128.
        for (memory_mb, valid) in [
            (32, false),
            (64, true),
            (100, false),
            (192, false),
            (3072, true),
        ] {
            let c = FunctionConfig {
                memory_mb,
                ..Default::default()
            };
            assert_eq!(c.validate().is_ok(), valid, "{memory_mb}");
        }
        let c = FunctionConfig {
            memory_mb: 100,
            ..Default::default()
        };
        let message = c.validate().unwrap_err().0;
        assert_eq!(
            message,
            "MemorySize must be 64, or 128 to 3072 in steps of 128 (MB), not 100"
        );
        let c = FunctionConfig {
            timeout: Duration::from_secs(901),
            ..Default::default()
        };
        assert!(c.validate().is_err());
        let c = FunctionConfig {
            runtime_api_port: Some(9001),
            ..Default::default()
        };
        assert!(c.validate().is_err());
    }
}
