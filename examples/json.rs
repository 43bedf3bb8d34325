//! Parses the event as JSON with serde_json and answers JSON.
//!
//! `{"name": "SCF"}` → `{"message":"Hello, SCF!","request_id":"…","keys":1,"remaining_ms":…}`
//! (plus the AWS-only context fields, `null` under SCF).
//! An event that is not JSON is an error (posted to `/runtime/invocation/error`). serde_json
//! is linked only into this bootstrap: a handler pays only for what it uses.

use scf_bootstrap::{Context, Reply};
use serde_json::{json, Value};

fn handle(event: &[u8], ctx: &Context, reply: &mut Reply) -> Result<(), String> {
    let event: Value =
        serde_json::from_slice(event).map_err(|e| format!("the event is not JSON: {e}"))?;
    let name = event.get("name").and_then(Value::as_str).unwrap_or("world");
    let keys = event.as_object().map_or(0, |o| o.len());
    let answer = json!({
        "message": format!("Hello, {name}!"),
        "request_id": ctx.request_id(),
        "function": ctx.function_name(),
        "keys": keys,
        "function_arn": ctx.invoked_function_arn(),
        "trace_id": ctx.trace_id(),
        "trace_env": std::env::var("_X_AMZN_TRACE_ID").ok(),
        "remaining_ms": ctx.remaining().as_millis() as u64,
    });
    serde_json::to_writer(reply, &answer).map_err(|e| e.to_string())
}

scf_bootstrap::main!(handle);
