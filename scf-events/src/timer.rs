//! The Timer trigger's event.
//!
//! "Trigger Event Message Structure Summary", section "Event Message Structure for Timer
//! Trigger" (<https://www.tencentcloud.com/document/product/583/31439>); the trigger:
//! "Timer Trigger" (583/9708).

use crate::Str;

use serde::{Deserialize, Serialize};

/// What a timer trigger sends when it fires: sample `timer`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Timer<'a> {
    /// Always `"Timer"`.
    #[serde(borrow)]
    pub r#type: Str<'a>,
    /// The trigger's name.
    #[serde(borrow)]
    pub trigger_name: Str<'a>,
    /// When it fired, UTC, RFC 3339 (`2019-02-21T11:49:00Z`).
    #[serde(borrow)]
    pub time: Str<'a>,
    /// The trigger's additional information (set on the trigger; empty when none is set).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Str<'a>>,
}

impl crate::Trigger for Timer<'static> {
    const NAME: &'static str = "timer";
    type Event<'e> = Timer<'e>;
}
