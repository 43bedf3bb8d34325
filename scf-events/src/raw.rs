//! [`Raw`]: a part of an event kept as its JSON text, borrowed, not parsed.

use core::fmt;
use core::ops::Deref;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A part of an event whose structure depends on something the type cannot know (the kind
/// of an MPS task, the body a client sent through CLB): the JSON text as it stands in the
/// event, borrowed from the event's buffer and not parsed. Read it with [`Raw::get`], or parse
/// it into a type of your own: `serde_json::from_str::<T>(raw.get())`.
///
/// Two `Raw`s are equal when their texts are.
#[derive(Clone, Copy, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Raw<'a>(#[serde(borrow)] pub &'a RawValue);

impl<'a> Raw<'a> {
    /// The JSON text (`{"key1":"123"}`, `"text"`, `null` …), as in the event.
    pub fn get(&self) -> &'a str {
        self.0.get()
    }
}

impl Deref for Raw<'_> {
    type Target = RawValue;
    fn deref(&self) -> &RawValue {
        self.0
    }
}

impl PartialEq for Raw<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Raw<'_> {}

impl fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}
