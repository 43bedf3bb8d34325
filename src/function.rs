//! How a handler plugs into the runtime: the [`Function`] trait and what a handler may return.

use core::fmt::{self, Write as _};

use crate::{Context, Reply};

/// How an invocation ended, as the runtime will report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The reply is the function's result: posted to `/runtime/invocation/response`.
    Success,
    /// The reply is an error message: posted to `/runtime/invocation/error`.
    Failure,
}

/// A function the runtime calls once per event. The [`main!`](crate::main) macro implements it
/// for plain handler functions; implement it by hand only for unusual shapes.
pub trait Function {
    /// Handles one event, writing the result (or the error message) into `reply`, which the
    /// runtime has cleared.
    fn call(&mut self, event: &[u8], ctx: &Context<'_>, reply: &mut Reply) -> Outcome;
}

/// What a handler may return: `()` for success, or `Result<(), E>` where the `Display` text of
/// `E` becomes the error message posted to `/runtime/invocation/error`.
pub trait IntoOutcome {
    /// Converts the handler's return value, writing an error's text into `reply`.
    fn into_outcome(self, reply: &mut Reply) -> Outcome;
}

impl IntoOutcome for () {
    #[inline]
    fn into_outcome(self, _: &mut Reply) -> Outcome {
        Outcome::Success
    }
}

impl<E: fmt::Display> IntoOutcome for Result<(), E> {
    #[inline]
    fn into_outcome(self, reply: &mut Reply) -> Outcome {
        match self {
            Ok(()) => Outcome::Success,
            Err(e) => {
                reply.clear();
                // Writing into a `Reply` cannot fail; a `Display` impl that errors leaves
                // whatever it wrote.
                let _ = write!(reply, "{e}");
                Outcome::Failure
            }
        }
    }
}

/// A handler without state: `fn(&[u8], &Context, &mut Reply) -> R`.
pub struct Stateless<F>(pub F);

impl<F, R> Function for Stateless<F>
where
    F: FnMut(&[u8], &Context<'_>, &mut Reply) -> R,
    R: IntoOutcome,
{
    #[inline]
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    fn call(&mut self, event: &[u8], ctx: &Context<'_>, reply: &mut Reply) -> Outcome {
        (self.0)(event, ctx, reply).into_outcome(reply)
    }
}

/// A handler with the state its init phase built:
/// `fn(&mut S, &[u8], &Context, &mut Reply) -> R`.
pub struct Stateful<S, F> {
    /// What the init phase returned.
    pub state: S,
    /// The handler.
    pub handler: F,
}

impl<S, F, R> Function for Stateful<S, F>
where
    F: FnMut(&mut S, &[u8], &Context<'_>, &mut Reply) -> R,
    R: IntoOutcome,
{
    #[inline]
    #[cfg_attr(target_os = "linux", unsafe(link_section = ".text.hot.scf_bootstrap"))]
    fn call(&mut self, event: &[u8], ctx: &Context<'_>, reply: &mut Reply) -> Outcome {
        (self.handler)(&mut self.state, event, ctx, reply).into_outcome(reply)
    }
}

/// What the one linked symbol returns: the ready function, or the init phase's error text.
pub type Linked = Result<Box<dyn Function>, String>;

/// Runs an init phase and pairs its state with a handler.
pub fn stateful<S, E, I, F, R>(init: I, handler: F) -> Linked
where
    S: 'static,
    E: fmt::Display,
    I: FnOnce() -> Result<S, E>,
    F: FnMut(&mut S, &[u8], &Context<'_>, &mut Reply) -> R + 'static,
    R: IntoOutcome,
{
    match init() {
        Ok(state) => Ok(Box::new(Stateful { state, handler })),
        Err(e) => {
            let mut msg = String::new();
            let _ = write!(msg, "{e}");
            Err(msg)
        }
    }
}

/// Wraps a handler without state.
pub fn stateless<F, R>(handler: F) -> Linked
where
    F: FnMut(&[u8], &Context<'_>, &mut Reply) -> R + 'static,
    R: IntoOutcome,
{
    Ok(Box::new(Stateless(handler)))
}
