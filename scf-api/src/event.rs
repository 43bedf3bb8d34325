//! The event of an invocation, checked as the platform's `Invoke` checks it.
//!
//! The cloud API takes the event as a JSON string (`ClientContext` of `Invoke`, `Event` of
//! `InvokeFunction`) and refuses anything that is not JSON with `InvalidParameterValue`,
//! before any instance sees it. The bytes handed to the runtime are the event exactly as
//! given: no re-encoding.

use std::fmt;

/// An event that is not JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidEvent(pub String);

impl InvalidEvent {
    /// The platform's error code for it.
    pub const CODE: &'static str = "InvalidParameterValue";

    /// The message without the code, for an API error envelope.
    pub fn message(&self) -> String {
        format!("the event must be JSON: {}", self.0)
    }
}

impl fmt::Display for InvalidEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", Self::CODE, self.message())
    }
}

impl std::error::Error for InvalidEvent {}

/// Checks that `event` is one JSON value (any kind: object, array, string, number, …).
pub fn check_json(event: &[u8]) -> Result<(), InvalidEvent> {
    serde_json::from_slice::<serde::de::IgnoredAny>(event)
        .map(|_| ())
        .map_err(|e| InvalidEvent(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_or_not() {
        assert!(check_json(br#"{"key1": "test value 1"}"#).is_ok());
        assert!(check_json(b" [1, 2] ").is_ok());
        assert!(check_json(b"\"s\"").is_ok());
        assert!(check_json(b"not json").is_err());
        assert!(check_json(b"").is_err());
        assert!(check_json(b"{} {}").is_err());
    }
}
