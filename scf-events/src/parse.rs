//! Parsing an event into its type, with the JSON path of the field that did not fit.

use core::fmt;

use serde::Deserialize;

/// A trigger: its name (as in the samples) and the type of its event.
pub trait Trigger {
    /// The trigger's name in error messages and [`samples`](crate::samples): `apigw`,
    /// `timer`, …
    const NAME: &'static str;
    /// The event, borrowing from the buffer it was parsed from.
    type Event<'e>: Deserialize<'e>;
}

/// An event that is not JSON, or does not fit its trigger's type.
#[derive(Debug)]
pub struct EventError {
    trigger: &'static str,
    path: String,
    inner: serde_json::Error,
}

impl EventError {
    /// The trigger whose event it was (`apigw`, `timer`, …).
    pub fn trigger(&self) -> &'static str {
        self.trigger
    }

    /// The JSON path of the field that did not fit (`Records[0].cos.cosObject.size`), `.`
    /// for the event itself.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Builds the error for a field of `trigger`'s event: for adapters that check more than
    /// the type does (an HTTP method, a base64 body).
    pub fn new(trigger: &'static str, path: &str, message: impl fmt::Display) -> EventError {
        EventError {
            trigger,
            path: path.to_owned(),
            inner: serde::de::Error::custom(message),
        }
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "bad {} event at `{}`: {}",
            self.trigger, self.path, self.inner
        )
    }
}

impl std::error::Error for EventError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.inner)
    }
}

/// Parses `event` as `T`'s event, borrowing from it where the JSON allows.
///
/// serde_json's recursion limit stays on: nesting deeper than 128 levels is an error.
pub fn parse<'e, T: Trigger>(event: &'e [u8]) -> Result<T::Event<'e>, EventError> {
    let mut de = serde_json::Deserializer::from_slice(event);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| EventError {
        trigger: T::NAME,
        path: e.path().to_string(),
        inner: e.into_inner(),
    })?;
    de.end().map_err(|inner| EventError {
        trigger: T::NAME,
        path: ".".to_owned(),
        inner,
    })?;
    Ok(value)
}
