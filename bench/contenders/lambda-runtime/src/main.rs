//! The echo function on `lambda_runtime`: answers `Echoing request: '<event>'`.
//!
//! Written like the example function of the runtime's README: a `#[tokio::main]` entry point,
//! `service_fn`, and a handler that takes `LambdaEvent<serde_json::Value>`. `#[tokio::main]`
//! starts tokio's multi-threaded scheduler (a worker per CPU); with the `current-thread`
//! feature the entry point is `#[tokio::main(flavor = "current_thread")]` instead, the one line
//! a user can change to run everything on the main thread. The event arrives
//! parsed (lambda_runtime always deserialises it with serde_json); writing the `Value` back
//! gives the event's bytes again, since the benchmark's events are compact JSON objects with
//! one key.
//!
//! lambda_runtime posts a buffered response as `serde_json::to_vec(&reply)`, so a `String`
//! would arrive as a JSON string, quoted and with the event's quotes escaped. The echo
//! contract wants the text as it is, so the handler returns [`Verbatim`], which serde_json
//! writes without quoting or escaping.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::Value;

const PREFIX: &str = "Echoing request: '";

/// Text that serde_json writes into its output as it is.
///
/// This is how serde_json's own `RawValue` serialises: a struct with this name and one field
/// of this name, which its serializer copies out verbatim. `RawValue` itself cannot carry the
/// reply, because its constructor accepts valid JSON only.
struct Verbatim(String);

/// The struct and field name serde_json's serializer treats as raw text (the `raw_value`
/// feature).
const RAW_TOKEN: &str = "$serde_json::private::RawValue";

impl Serialize for Verbatim {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut raw = serializer.serialize_struct(RAW_TOKEN, 1)?;
        raw.serialize_field(RAW_TOKEN, self.0.as_str())?;
        raw.end()
    }
}

async fn echo(event: LambdaEvent<Value>) -> Result<Verbatim, Error> {
    let (payload, _context) = event.into_parts();
    let mut reply = String::from(PREFIX);
    reply.push_str(&serde_json::to_string(&payload)?);
    reply.push('\'');
    Ok(Verbatim(reply))
}

#[cfg_attr(not(feature = "current-thread"), tokio::main)]
#[cfg_attr(feature = "current-thread", tokio::main(flavor = "current_thread"))]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(echo)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reply_is_written_as_it_is() {
        let text = "Echoing request: '{\"data\":\"x\"}'";
        let bytes = serde_json::to_vec(&Verbatim(text.into())).unwrap();
        assert_eq!(bytes, text.as_bytes());
    }

    #[test]
    fn the_event_comes_back_as_it_was() {
        let event = br#"{"data":"abcdefghijklmnopqrstuvwxyz0123456789"}"#;
        let value: Value = serde_json::from_slice(event).unwrap();
        assert_eq!(serde_json::to_vec(&value).unwrap(), event);
    }
}
