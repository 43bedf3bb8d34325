//! The CLS trigger's event.
//!
//! "Trigger Event Message Structure Summary", section "Event Message Structure for CLS
//! Trigger" (<https://www.tencentcloud.com/document/product/583/31439>), and "CLS Trigger
//! Description" (583/38845): the logs travel as `clslogs.data`, base64 of a gzip document
//! whose JSON is [`LogData`].
//!
//! Decompressing is left to the handler (with `flate2`, say), and so is its bound: gzip
//! inflates, so read at most as much as the function is ready to hold (`Read::take`).

use crate::Str;

use serde::{Deserialize, Serialize};

/// Logs delivered from a CLS log topic: sample `cls`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Cls<'a> {
    /// The logs.
    #[serde(borrow)]
    pub clslogs: ClsLogs<'a>,
}

/// [`Cls::clslogs`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct ClsLogs<'a> {
    /// Base64 of a gzip document holding a [`LogData`] as JSON.
    #[serde(borrow)]
    pub data: Str<'a>,
}

/// The JSON inside [`ClsLogs::data`], once decoded and decompressed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct LogData<'a> {
    /// The log topic's ID.
    #[serde(borrow)]
    pub topic_id: Str<'a>,
    /// The log topic's name.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<Str<'a>>,
    /// The log records.
    #[serde(borrow)]
    pub records: Vec<LogRecord<'a>>,
}

/// One log record of [`LogData`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct LogRecord<'a> {
    /// When it was logged, Unix microseconds, as a string (`"1605578090000000"`).
    #[serde(borrow)]
    pub timestamp: Str<'a>,
    /// The log line.
    #[serde(borrow)]
    pub content: Str<'a>,
}

impl crate::Trigger for Cls<'static> {
    const NAME: &'static str = "cls";
    type Event<'e> = Cls<'e>;
}

impl crate::Trigger for LogData<'static> {
    const NAME: &'static str = "cls log data";
    type Event<'e> = LogData<'e>;
}
