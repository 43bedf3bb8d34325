//! The Job image shape: one event from the environment, one handler call, then exit.
//!
//! The platform runs a Job image function's command once with the event in an environment
//! variable, and the run ends the invocation (docs/protocol.md, "Image shapes (runtime
//! side)"). Here:
//!
//! - the event is `SCF_EVENT_BODY` (empty when unset), the request id `SCF_REQUEST_ID`, the
//!   memory limit `SCF_FUNCTION_MEMORY_SIZE` (MB) and the time limit `SCF_FUNCTION_TIMEOUT`
//!   (seconds, 900 when unset), all read before the init phase;
//! - `Ok`: the reply is written to standard output as is, exit code 0; standard output is
//!   set aside for it at start, and descriptor 1 points at standard error meanwhile, so what
//!   the init phase and the handler print goes to the log, not into the result;
//! - `Err` (or a caught panic): `scf-bootstrap: invocation failed: <text>` on standard
//!   error, exit code 1; an init failure also exits with 1.
//!
//! One run is one invocation, so this path may allocate: it copies the variables out of the
//! environment (the handler may change it) into owned buffers.
//!
//! Compiled always (so that tests can drive it in-process), linked into a bootstrap only with
//! the `image` feature, which lets `lifecycle::start` reach it.

#![cfg_attr(not(feature = "image"), allow(dead_code))]

use crate::diag::say;
use crate::function::{Linked, Outcome};
use crate::http::response::parse_decimal;
use crate::lifecycle::{call, EXIT_FAILURE};
use crate::sys::with_env;
use crate::{Context, Reply};

/// The time limit when the platform gives none: 900 s, the longest synchronous `Timeout`.
pub(crate) const DEFAULT_TIMEOUT_S: u64 = 900;

/// Runs the Job shape; never returns.
pub(crate) fn start(link: fn() -> Linked) -> ! {
    let owned = |name| with_env(name, |v| v.map(<[u8]>::to_vec));
    let event = owned(c"SCF_EVENT_BODY").unwrap_or_default();
    let id = owned(c"SCF_REQUEST_ID").unwrap_or_default();
    let memory = with_env(c"SCF_FUNCTION_MEMORY_SIZE", |v| {
        v.and_then(parse_decimal)
            .and_then(|m| u32::try_from(m).ok())
    });
    let timeout_s = with_env(c"SCF_FUNCTION_TIMEOUT", |v| v.and_then(parse_decimal))
        .map_or(DEFAULT_TIMEOUT_S, |s| s as u64);

    // Standard output is the result: what init and the handler print goes to the log.
    let out = crate::sys::set_stdout_aside();
    let mut function = crate::lifecycle::init_standalone(link);
    // A request id that is not UTF-8 is dropped, as a missing one.
    let id = core::str::from_utf8(&id).unwrap_or("");
    let arrival = crate::clock::monotonic_ns(crate::clock::Via::Vdso);
    let limit_ms = timeout_s.saturating_mul(1000);
    let deadline = arrival.saturating_add(limit_ms.saturating_mul(1_000_000));
    let ctx = Context::of_process(id, memory, limit_ms, deadline);
    let mut reply = Reply::default();
    let (outcome, _) = call(&mut *function, &event, &ctx, &mut reply);
    match outcome {
        Outcome::Success => {
            // What std buffered for the old descriptor 1 goes to the log first.
            let _ = std::io::Write::flush(&mut std::io::stdout());
            if crate::sys::write_result(out.as_ref(), reply.as_bytes()).is_err() {
                say(&[b"cannot write the result to standard output"]);
                std::process::exit(EXIT_FAILURE);
            }
            std::process::exit(0)
        }
        Outcome::Failure => {
            say(&[b"invocation failed: ", reply.as_bytes()]);
            std::process::exit(EXIT_FAILURE)
        }
    }
}
