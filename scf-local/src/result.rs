//! The result of one invocation, in the shape the platform's `Invoke` API returns it.
//!
//! ```json
//! {"Result": {"RetMsg": "…", "ErrMsg": "", "Log": "…", "MemUsage": 7417856, "Duration": 1.25,
//!             "BillDuration": 2, "FunctionRequestId": "…", "InvokeResult": 0},
//!  "RequestId": "…"}
//! ```
//!
//! The status codes are the platform's (docs/protocol.md section 6, documentation 583/42611);
//! which failure gets which code is listed on [`Status`].

use std::fmt;

use serde::Serialize;

/// The platform's status code of an invocation.
///
/// `InvokeResult` in the result JSON is `0` on success and this code otherwise.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// 200: the runtime posted `/runtime/invocation/response`.
    Success,
    /// 406 `RequestTooLarge`: the event is over the synchronous limit (6 MB).
    RequestTooLarge,
    /// 407: the runtime posted a response over 6 MB.
    ResponseTooLarge,
    /// 430: the runtime posted `/runtime/invocation/error` (user code exception).
    UserCodeException,
    /// 432: every instance allowed by the concurrency limit is busy.
    ConcurrencyLimitReached,
    /// 433 `TimeLimitReached`: the event was not fetched, or not answered, within `Timeout`.
    /// The instance is recycled. `ErrMsg` tells the two cases apart.
    TimeLimitReached,
    /// 434 `MemoryLimitReached`: the instance's processes went over `MemorySize` (only when
    /// the memory limit is enforced). The instance is recycled.
    MemoryLimitReached,
    /// 437 `HandlerNotFound`: the package has no `bootstrap` at its root.
    HandlerNotFound,
    /// 439: the runtime's process exited during the invocation. The instance is recycled.
    ProcessExited,
    /// 445 `ContainerInitError`: `bootstrap` could not be started, or exited before posting
    /// `/runtime/init/ready`.
    ContainerInitError,
    /// 450 `InitContainerTimeout`: no `/runtime/init/ready` within `InitTimeout`.
    InitTimeout,
    /// 500 `InternalError`: the emulator itself failed (for example it could not open a port).
    InternalError,
}

impl Status {
    /// The numeric code, as the platform reports it.
    pub const fn code(self) -> u16 {
        match self {
            Status::Success => 200,
            Status::RequestTooLarge => 406,
            Status::ResponseTooLarge => 407,
            Status::UserCodeException => 430,
            Status::ConcurrencyLimitReached => 432,
            Status::TimeLimitReached => 433,
            Status::MemoryLimitReached => 434,
            Status::HandlerNotFound => 437,
            Status::ProcessExited => 439,
            Status::ContainerInitError => 445,
            Status::InitTimeout => 450,
            Status::InternalError => 500,
        }
    }

    /// The platform's name for the code.
    pub const fn name(self) -> &'static str {
        match self {
            Status::Success => "Success",
            Status::RequestTooLarge => "RequestTooLarge",
            Status::ResponseTooLarge => "ResponseSizeLimitExceeded",
            Status::UserCodeException => "UserCodeException",
            Status::ConcurrencyLimitReached => "ConcurrencyLimitReached",
            Status::TimeLimitReached => "TimeLimitReached",
            Status::MemoryLimitReached => "MemoryLimitReached",
            Status::HandlerNotFound => "HandlerNotFound",
            Status::ProcessExited => "UserProcessExited",
            Status::ContainerInitError => "ContainerInitError",
            Status::InitTimeout => "InitContainerTimeout",
            Status::InternalError => "InternalError",
        }
    }

    /// Whether the instance that produced this status is recycled (not reused warm).
    pub const fn recycles_instance(self) -> bool {
        !matches!(
            self,
            Status::Success
                | Status::UserCodeException
                | Status::ResponseTooLarge
                | Status::RequestTooLarge
                | Status::ConcurrencyLimitReached
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

/// What one invocation produced: the fields of the platform's `Result`.
#[derive(Clone, Debug, PartialEq)]
pub struct InvocationResult {
    /// How the invocation ended.
    pub status: Status,
    /// The request id (`FunctionRequestId` and `RequestId`), also sent to the runtime.
    pub request_id: String,
    /// `RetMsg`: the body the runtime posted to `/runtime/invocation/response`.
    pub ret_msg: String,
    /// `ErrMsg`: the error the runtime posted, or the platform's reason for a failure.
    pub err_msg: String,
    /// `Log`: the platform's lines and the instance's output, cut to the configured tail.
    pub log: String,
    /// `MemUsage`: the peak resident memory of the instance's processes, in bytes.
    pub mem_usage: u64,
    /// `Duration`: milliseconds from event delivery to the result (0 when none was delivered).
    pub duration_ms: f64,
    /// `BillDuration`: `Duration` rounded up to whole milliseconds.
    pub bill_duration_ms: u64,
}

#[derive(Serialize)]
struct Envelope<'a> {
    #[serde(rename = "Result")]
    result: Fields<'a>,
    #[serde(rename = "RequestId")]
    request_id: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Fields<'a> {
    ret_msg: &'a str,
    err_msg: &'a str,
    log: &'a str,
    mem_usage: u64,
    duration: f64,
    bill_duration: u64,
    function_request_id: &'a str,
    invoke_result: u16,
}

impl InvocationResult {
    /// A result for an invocation that ended before any event reached the runtime.
    pub fn failed(status: Status, request_id: String, err_msg: String, log: String) -> Self {
        InvocationResult {
            status,
            request_id,
            ret_msg: String::new(),
            err_msg,
            log,
            mem_usage: 0,
            duration_ms: 0.0,
            bill_duration_ms: 0,
        }
    }

    /// Whether the runtime answered with `/runtime/invocation/response`.
    pub fn succeeded(&self) -> bool {
        self.status == Status::Success
    }

    /// `InvokeResult`: 0 on success, the status code otherwise.
    pub fn invoke_result(&self) -> u16 {
        if self.succeeded() {
            0
        } else {
            self.status.code()
        }
    }

    fn envelope(&self) -> Envelope<'_> {
        Envelope {
            result: Fields {
                ret_msg: &self.ret_msg,
                err_msg: &self.err_msg,
                log: &self.log,
                mem_usage: self.mem_usage,
                duration: self.duration_ms,
                bill_duration: self.bill_duration_ms,
                function_request_id: &self.request_id,
                invoke_result: self.invoke_result(),
            },
            request_id: &self.request_id,
        }
    }

    /// The result as the platform's JSON, on one line.
    pub fn to_json(&self) -> String {
        // Serializing plain strings and numbers into a String cannot fail.
        serde_json::to_string(&self.envelope()).unwrap_or_default()
    }

    /// The result as indented JSON, for people.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(&self.envelope()).unwrap_or_default()
    }
}

/// Milliseconds as the platform reports `Duration`: a float, here to the microsecond.
pub(crate) fn duration_ms(d: std::time::Duration) -> f64 {
    (d.as_nanos() as f64 / 1_000.0).round() / 1_000.0
}

/// `BillDuration`: whole milliseconds, rounded up, at least 1 once an event was delivered.
pub(crate) fn bill_duration_ms(d: std::time::Duration) -> u64 {
    let ms = d.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_has_the_platform_shape() {
        let r = InvocationResult {
            status: Status::Success,
            request_id: "id-1".into(),
            ret_msg: "Echoing request: '{}'".into(),
            err_msg: String::new(),
            log: "START RequestId:id-1\n".into(),
            mem_usage: 7417856,
            duration_ms: 1.5,
            bill_duration_ms: 2,
        };
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["RequestId"], "id-1");
        assert_eq!(v["Result"]["FunctionRequestId"], "id-1");
        assert_eq!(v["Result"]["RetMsg"], "Echoing request: '{}'");
        assert_eq!(v["Result"]["InvokeResult"], 0);
        assert_eq!(v["Result"]["MemUsage"], 7417856);
        assert_eq!(v["Result"]["BillDuration"], 2);
        assert_eq!(v["Result"]["Duration"], 1.5);
    }

    #[test]
    fn failures_report_their_code() {
        let r = InvocationResult::failed(Status::InitTimeout, "x".into(), "m".into(), "".into());
        assert_eq!(r.invoke_result(), 450);
        assert!(!r.succeeded());
    }

    #[test]
    fn bill_duration_rounds_up() {
        use std::time::Duration;
        assert_eq!(bill_duration_ms(Duration::from_micros(1)), 1);
        assert_eq!(bill_duration_ms(Duration::from_micros(1001)), 2);
        assert_eq!(bill_duration_ms(Duration::from_millis(3)), 3);
        assert_eq!(duration_ms(Duration::from_micros(1234)), 1.234);
    }
}
