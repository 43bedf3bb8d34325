//! The invocation log: the platform's framing lines around the instance's output.
//!
//! The lines follow the cloud's log service (documentation 583/60336):
//!
//! ```text
//! START RequestId:<id>
//! <output of init, on a cold start only>
//! Init Report RequestId: <id> Coldstart: 12ms (PullCode: 0ms InitRuntime: 1ms InitFunction: 11ms) Memory: 128MB MemUsage: 3.25MB
//! <output of the invocation>
//! Response RequestId:<id> RetMsg:"<result>"        (or: ERROR RequestId:<id> Result:<error>)
//! END RequestId:<id>
//! Report RequestId:<id> Duration:1ms Memory:128MB MemUsage:3.25MB
//! ```
//!
//! The cloud returns at most the last 4 KB of it with the result; [`tail`] does that cut.

use std::fmt::Write as _;
use std::time::Duration;

/// The size of the log tail the cloud returns with a result.
pub const CLOUD_LOG_LIMIT: usize = 4 * 1024;

/// Timings of a cold start, for the `Init Report` line.
#[derive(Clone, Copy, Debug, Default)]
pub struct InitReport {
    /// Time spent unpacking the code package (0 for a directory, or once it is unpacked).
    pub pull_code: Duration,
    /// Time to prepare the instance: its runtime API listener and the process start.
    pub init_runtime: Duration,
    /// Time from the process start to `/runtime/init/ready`.
    pub init_function: Duration,
    /// Peak memory of the instance at the end of init, in bytes.
    pub mem_usage: u64,
}

impl InitReport {
    /// The whole cold start.
    pub fn coldstart(&self) -> Duration {
        self.pull_code + self.init_runtime + self.init_function
    }
}

/// Builds one invocation's log text.
#[derive(Debug, Default)]
pub(crate) struct LogText {
    text: String,
}

fn ms(d: Duration) -> u128 {
    d.as_nanos().div_ceil(1_000_000)
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

impl LogText {
    pub(crate) fn start(request_id: &str) -> Self {
        let mut text = String::with_capacity(256);
        let _ = writeln!(text, "START RequestId:{request_id}");
        LogText { text }
    }

    /// Appends output of the instance, as text (invalid UTF-8 is replaced).
    pub(crate) fn output(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.text.push_str(&String::from_utf8_lossy(bytes));
        if !self.text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    pub(crate) fn init_report(&mut self, request_id: &str, r: &InitReport, memory_mb: u32) {
        let _ = writeln!(
            self.text,
            "Init Report RequestId: {request_id} Coldstart: {}ms (PullCode: {}ms InitRuntime: {}ms InitFunction: {}ms) Memory: {memory_mb}MB MemUsage: {}MB",
            ms(r.coldstart()),
            ms(r.pull_code),
            ms(r.init_runtime),
            ms(r.init_function),
            mb(r.mem_usage),
        );
    }

    pub(crate) fn response(&mut self, request_id: &str, ret_msg: &str) {
        let _ = writeln!(
            self.text,
            "Response RequestId:{request_id} RetMsg:\"{ret_msg}\""
        );
    }

    pub(crate) fn error(&mut self, request_id: &str, err_msg: &str) {
        let _ = writeln!(self.text, "ERROR RequestId:{request_id} Result:{err_msg}");
    }

    pub(crate) fn end(
        mut self,
        request_id: &str,
        duration: Duration,
        memory_mb: u32,
        mem_usage: u64,
        limit: usize,
    ) -> String {
        let _ = writeln!(self.text, "END RequestId:{request_id}");
        let _ = writeln!(
            self.text,
            "Report RequestId:{request_id} Duration:{}ms Memory:{memory_mb}MB MemUsage:{}MB",
            ms(duration),
            mb(mem_usage),
        );
        let start = self.text.len() - tail(&self.text, limit).len();
        self.text.split_off(start).to_owned()
    }
}

/// The last `limit` bytes of `text`, cut forward to a character boundary; all of it when
/// `limit` is 0.
pub fn tail(text: &str, limit: usize) -> &str {
    if limit == 0 || text.len() <= limit {
        return text;
    }
    let mut start = text.len() - limit;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_the_end_on_a_char_boundary() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("abc", 0), "abc");
        assert_eq!(tail("abc", 10), "abc");
        assert_eq!(tail("aé", 1), "");
        assert_eq!(tail("aéb", 2), "b");
    }

    #[test]
    fn framing_lines() {
        let mut log = LogText::start("r1");
        log.output(b"hello");
        log.response("r1", "ok");
        let text = log.end("r1", Duration::from_micros(1500), 128, 3 * 1024 * 1024, 0);
        assert_eq!(
            text,
            "START RequestId:r1\nhello\nResponse RequestId:r1 RetMsg:\"ok\"\nEND RequestId:r1\n\
             Report RequestId:r1 Duration:2ms Memory:128MB MemUsage:3MB\n"
        );
    }

    #[test]
    fn cut_to_limit() {
        let mut log = LogText::start("r1");
        log.output(&vec![b'x'; 10_000]);
        let text = log.end("r1", Duration::ZERO, 128, 0, CLOUD_LOG_LIMIT);
        assert_eq!(text.len(), CLOUD_LOG_LIMIT);
        assert!(text.ends_with("MemUsage:0MB\n"));
    }
}
