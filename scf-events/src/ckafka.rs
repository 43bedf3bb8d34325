//! The CKafka trigger's event.
//!
//! "Trigger Event Message Structure Summary", section "Event Message Structure for CKafka
//! Trigger" (<https://www.tencentcloud.com/document/product/583/31439>); the trigger:
//! "CKafka Trigger" (583/17530).

use crate::Str;

use serde::{Deserialize, Serialize};

/// Messages consumed from a CKafka topic, one record each: sample `ckafka`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Ckafka<'a> {
    /// The messages; several may be batched in one event.
    #[serde(rename = "Records", borrow)]
    pub records: Vec<Record<'a>>,
}

/// One record of [`Ckafka`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Record<'a> {
    /// The message.
    #[serde(rename = "Ckafka", borrow)]
    pub ckafka: Message<'a>,
}

/// One Kafka message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message<'a> {
    /// The topic it was consumed from.
    #[serde(borrow)]
    pub topic: Str<'a>,
    /// Its partition.
    pub partition: i64,
    /// Its offset in the partition.
    pub offset: i64,
    /// Its key (the sample shows `"None"` for a message without one).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub msg_key: Option<Str<'a>>,
    /// Its content.
    #[serde(borrow)]
    pub msg_body: Str<'a>,
}

impl crate::Trigger for Ckafka<'static> {
    const NAME: &'static str = "ckafka";
    type Event<'e> = Ckafka<'e>;
}
