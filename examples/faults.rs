//! The error and panic paths: the event chooses what happens. The event is its text, or the
//! string it holds when it is a JSON string (the platform's Invoke takes only JSON, so
//! `"error:boom"` with the quotes works through `scf-local invoke`):
//!
//! - `error:<text>`: returns an error; `<text>` is posted to `/runtime/invocation/error`;
//! - `panic:<text>`: panics with `<text>` (reported to `/runtime/invocation/error` before the
//!   process aborts under `panic = "abort"`; under `panic = "unwind"` the instance lives on);
//! - `sleep:<ms>`: a slow handler: sleeps, then answers `slept <ms> ms`;
//! - anything else: answers `ok: <event>`.

use scf_bootstrap::{Context, Reply};

fn handle(event: &[u8], _ctx: &Context, reply: &mut Reply) -> Result<(), String> {
    let text = match serde_json::from_slice::<String>(event) {
        Ok(s) => s,
        Err(_) => String::from_utf8_lossy(event).into_owned(),
    };
    if let Some(msg) = text.strip_prefix("error:") {
        return Err(msg.to_string());
    }
    if let Some(msg) = text.strip_prefix("panic:") {
        panic!("{msg}");
    }
    if let Some(ms) = text.strip_prefix("sleep:") {
        let ms: u64 = ms
            .parse()
            .map_err(|_| format!("not a number of milliseconds: {ms}"))?;
        std::thread::sleep(std::time::Duration::from_millis(ms));
        reply.push_str(&format!("slept {ms} ms"));
        return Ok(());
    }
    reply.push_str("ok: ");
    reply.extend_from_slice(event);
    Ok(())
}

scf_bootstrap::main!(handle);
