//! The walkthrough's `index.sh` in Rust: answers `Echoing request: '<event>'`.
//!
//! The event goes back with `extend_from_event`: a large event is written straight from the
//! runtime's receive buffer, not copied into the reply.
//!
//! Build the deployable bootstrap with
//! `cargo bootstrap --example echo`.

use scf_bootstrap::{Context, Reply};

fn echo(event: &[u8], _ctx: &Context, reply: &mut Reply) {
    reply.push_str("Echoing request: '");
    reply.extend_from_event(event);
    reply.push_str("'");
}

scf_bootstrap::main!(echo);
