//! A function of a typed event as a handler for `scf_bootstrap::main!`.

use core::fmt::{self, Write as _};

use scf_bootstrap::{Context, IntoOutcome, Outcome, Reply};

use crate::{parse, Trigger};

/// What the handlers of this crate return to the runtime: the outcome, with the reply (the
/// result, or the error message) already written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handled(pub Outcome);

impl Handled {
    /// A failure whose message is `error`'s `Display` text.
    pub fn failed(reply: &mut Reply, error: &dyn fmt::Display) -> Handled {
        reply.clear();
        // Writing into a `Reply` cannot fail.
        let _ = write!(reply, "{error}");
        Handled(Outcome::Failure)
    }
}

impl IntoOutcome for Handled {
    #[inline]
    fn into_outcome(self, _: &mut Reply) -> Outcome {
        self.0
    }
}

/// Wraps `f`, a function of `T`'s event, as a handler for `scf_bootstrap::main!`: the event
/// is parsed as `T` (borrowing from the runtime's buffer) and handed to `f`; an event that
/// does not fit fails the invocation with an [`EventError`](crate::EventError) naming the
/// trigger and the field, and `f` is not called.
///
/// `f` returns what a plain handler returns: `()` or `Result<(), E>` with `E: Display`.
///
/// ```no_run
/// use scf_bootstrap::{Context, Reply};
/// use scf_events::ckafka::Ckafka;
///
/// fn count(event: Ckafka, _ctx: &Context, reply: &mut Reply) {
///     let n = event.records.len();
///     reply.push_str(if n == 1 { "one message" } else { "messages" });
/// }
///
/// scf_bootstrap::main!(scf_events::handler::<Ckafka, _, _>(count));
/// ```
pub fn handler<T, F, R>(mut f: F) -> impl FnMut(&[u8], &Context<'_>, &mut Reply) -> Handled
where
    T: Trigger,
    F: for<'e> FnMut(T::Event<'e>, &Context<'_>, &mut Reply) -> R,
    R: IntoOutcome,
{
    move |event, ctx, reply| match parse::<T>(event) {
        Ok(event) => Handled(f(event, ctx, reply).into_outcome(reply)),
        Err(e) => Handled::failed(reply, &e),
    }
}
