//! An init phase that runs once before ready and keeps its state for every invocation.
//!
//! Init reads `GREETING` (default `Hello`) and fails, printing its reason and exiting without
//! reporting ready, when `INIT_FAIL` is set: its value is the reason. Each invocation answers
//! `<greeting> #<n>: <event>`, where `n` counts invocations served by this instance.

use scf_bootstrap::{Context, Reply};
use std::io::Write;

struct State {
    greeting: String,
    served: u64,
}

fn init() -> Result<State, String> {
    if let Ok(reason) = std::env::var("INIT_FAIL") {
        return Err(format!("INIT_FAIL is set: {reason}"));
    }
    // Init output is collected by the platform and joined to the first invocation's log.
    println!("init: ready to greet");
    Ok(State {
        greeting: std::env::var("GREETING").unwrap_or_else(|_| "Hello".into()),
        served: 0,
    })
}

fn handle(state: &mut State, event: &[u8], _ctx: &Context, reply: &mut Reply) {
    state.served += 1;
    let _ = write!(reply, "{} #{}: ", state.greeting, state.served);
    reply.extend_from_slice(event);
}

scf_bootstrap::main!(init = init, handler = handle);
