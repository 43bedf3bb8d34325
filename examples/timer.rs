//! A Timer-triggered function: the event parsed as `scf_events::timer::Timer` (its strings
//! borrowed from the runtime's buffer), answered with one line.
//!
//! `EveryDay fired at 2019-02-21T11:49:00Z: user define msg body` on the documented sample:
//! `scf-local invoke <code> --event-example timer` after `cargo bootstrap --example timer`.
//! An event that is not a timer's fails the invocation with the bad field's JSON path.

use scf_bootstrap::{Context, Reply};
use scf_events::timer::Timer;

fn tick(event: Timer, _ctx: &Context, reply: &mut Reply) {
    reply.push_str(&event.trigger_name);
    reply.push_str(" fired at ");
    reply.push_str(&event.time);
    if let Some(message) = &event.message {
        reply.push_str(": ");
        reply.push_str(message);
    }
}

scf_bootstrap::main!(scf_events::handler::<Timer, _, _>(tick));
