//! Which deployment shape the process runs in, read from the environment at start.
//!
//! The first rule that matches (docs/protocol.md, "Image shapes (runtime side)"):
//!
//! 1. `SCF_BOOTSTRAP_MODE`: `custom`, `aws`, `webserver` or `job`;
//! 2. `SCF_RUNTIME_API` set: the Custom Runtime (zip);
//! 3. `AWS_LAMBDA_RUNTIME_API` set: AWS Lambda's runtime API;
//! 4. `SCF_EVENT_BODY` set: a Job image function;
//! 5. otherwise the Custom Runtime, whose address check then says what is missing.

use crate::sys::with_env;

/// How the process gets its events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// A runtime API (SCF's or AWS Lambda's, as `address.rs` finds it).
    RuntimeApi,
    /// A WebServer image function: an HTTP server on port 9000.
    WebServer,
    /// A Job image function: one event from the environment, then exit.
    Job,
}

/// The message for an unknown `SCF_BOOTSTRAP_MODE`.
const BAD_MODE: &[u8] = b"SCF_BOOTSTRAP_MODE is not one of custom, aws, webserver, job";

impl Shape {
    /// The shape the environment asks for, or the one-line reason it is not understood.
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    pub fn from_env() -> Result<Shape, &'static [u8]> {
        let set = |name| with_env(name, |v| v.is_some());
        with_env(c"SCF_BOOTSTRAP_MODE", |mode| {
            Shape::choose(
                mode,
                set(c"SCF_RUNTIME_API") || set(c"AWS_LAMBDA_RUNTIME_API"),
                set(c"SCF_EVENT_BODY"),
            )
        })
    }

    /// The rules, on what the environment holds: the mode variable's value, whether a runtime
    /// API address is set, whether the Job event variable is set.
    #[inline(always)]
    fn choose(mode: Option<&[u8]>, api: bool, event: bool) -> Result<Shape, &'static [u8]> {
        match mode {
            // `custom` and `aws` both mean a runtime API; `address.rs` reads whichever is set.
            Some(b"custom" | b"aws") => Ok(Shape::RuntimeApi),
            Some(b"webserver") => Ok(Shape::WebServer),
            Some(b"job") => Ok(Shape::Job),
            Some(_) => Err(BAD_MODE),
            None if !api && event => Ok(Shape::Job),
            None => Ok(Shape::RuntimeApi),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_matching_rule_wins() {
        use Shape::*;
        type Case = (
            Option<&'static [u8]>,
            bool,
            bool,
            Result<Shape, &'static [u8]>,
        );
        let cases: &[Case] = &[
            (None, true, false, Ok(RuntimeApi)),
            (None, false, false, Ok(RuntimeApi)),
            // A runtime API address beats the Job variable.
            (None, true, true, Ok(RuntimeApi)),
            (None, false, true, Ok(Job)),
            // The mode beats everything.
            (Some(b"webserver"), true, true, Ok(WebServer)),
            (Some(b"job"), true, false, Ok(Job)),
            (Some(b"custom"), false, true, Ok(RuntimeApi)),
            (Some(b"aws"), false, false, Ok(RuntimeApi)),
            (Some(b""), true, false, Err(BAD_MODE)),
            (Some(b"WebServer"), false, false, Err(BAD_MODE)),
            (Some(b"webserver "), false, false, Err(BAD_MODE)),
        ];
        for &(mode, api, event, want) in cases {
            assert_eq!(
                Shape::choose(mode, api, event),
                want,
                "{mode:?} {api} {event}"
            );
        }
    }
}
