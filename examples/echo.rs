//! The walkthrough's `index.sh` in Rust: answers `Echoing request: '<event>'`.
//!
//! Build the deployable bootstrap with
//! `cargo build --release --target x86_64-unknown-linux-musl --example echo`.

use scf_bootstrap::{Context, Reply};

fn echo(event: &[u8], _ctx: &Context, reply: &mut Reply) {
    reply.push_str("Echoing request: '");
    reply.extend_from_slice(event);
    reply.push_str("'");
}

scf_bootstrap::main!(echo);
