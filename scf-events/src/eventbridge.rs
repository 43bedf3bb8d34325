//! Events that reach a function through Tencent Cloud EventBridge (事件总线): one envelope for
//! every event source, whose `data` the source decides.
//!
//! "Trigger Event Message Structure Summary", section "Event structure passed by the
//! EventBridge trigger" of the Chinese original (触发器事件消息结构汇总, "通过事件总线触发器传递的
//! 事件结构"; SCF docs 583/31439), which shows the envelope around a TDMQ message. Batch
//! delivery, when a rule enables it, sends several envelopes as one JSON array: EventBridge's
//! "SCF Target" (<https://www.tencentcloud.com/document/product/1108/46254>). Parse that
//! with `Vec<EventBridge>` as the trigger.
//!
//! The page's sample spells the subject field `subjuect`; the envelope follows CloudEvents,
//! whose attribute is `subject`, so both spellings are read and `subject` is written. The
//! page's sample also lacks its closing brace; the `eventbridge` sample is the same event as
//! valid JSON.

use serde::{Deserialize, Serialize};

use crate::{Raw, Str};

/// One event delivered by EventBridge: sample `eventbridge` (a TDMQ message; its `data`
/// reads as [`Tdmq`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct EventBridge<'a> {
    /// The envelope's version (`"0"` on the page).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub specversion: Option<Str<'a>>,
    /// The event's id, unique per event.
    #[serde(borrow)]
    pub id: Str<'a>,
    /// What happened, as the source names it (`connector:tdmq`).
    #[serde(borrow)]
    pub r#type: Str<'a>,
    /// Where it happened (`tdmq.cloud.tencent`).
    #[serde(borrow)]
    pub source: Str<'a>,
    /// The resource it concerns, a `qcs::` six-part name. The page spells it `subjuect`.
    #[serde(
        borrow,
        alias = "subjuect",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub subject: Option<Str<'a>>,
    /// When, Unix milliseconds as a string (`"1615430559146"`); see [`EventBridge::millis`].
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub time: Option<Str<'a>>,
    /// The region (`ap-guangzhou`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub region: Option<Str<'a>>,
    /// The media type of `data` (`application/json;charset=utf-8`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub datacontenttype: Option<Str<'a>>,
    /// The event itself, as the event's JSON text: its structure is the source's. Parse it
    /// with [`EventBridge::data_as`] (for TDMQ, [`Tdmq`]) or `serde_json::from_str`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Raw<'a>>,
}

impl<'a> EventBridge<'a> {
    /// [`time`](Self::time) as a number of Unix milliseconds, if it is one.
    pub fn millis(&self) -> Option<u64> {
        self.time.as_ref()?.parse().ok()
    }

    /// Parses [`data`](Self::data) as `T`, borrowing from the event; `T`'s errors name the
    /// path inside `data` (`data.msgBody`). A missing `data` parses as JSON `null`.
    pub fn data_as<T: Deserialize<'a>>(&self) -> Result<T, crate::EventError> {
        let text = self.data.map_or("null", |d| d.get());
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let path = if path == "." {
                "data".to_owned()
            } else {
                format!("data.{path}")
            };
            crate::EventError::new("eventbridge", &path, e.into_inner())
        })
    }
}

/// A TDMQ (Pulsar) message as the `data` of an [`EventBridge`] event from the TDMQ connector
/// (`type` `connector:tdmq`), the page's example. Every value is a string on the page,
/// numbers included.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tdmq<'a> {
    /// The topic, in full (`persistent://appid/namespace/topic-1`).
    #[serde(borrow)]
    pub topic: Str<'a>,
    /// The message's tags.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Str<'a>>,
    /// The topic's type (`"0"`); the page writes this one key in PascalCase.
    #[serde(
        rename = "TopicType",
        borrow,
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub topic_type: Option<Str<'a>>,
    /// The subscription that consumed it.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<Str<'a>>,
    /// A Unix time in milliseconds, as a string.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub to_timestamp: Option<Str<'a>>,
    /// The partitions, as a string (`"0"`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub partitions: Option<Str<'a>>,
    /// The message's id.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<Str<'a>>,
    /// The message.
    #[serde(borrow)]
    pub msg_body: Str<'a>,
}

impl crate::Trigger for EventBridge<'static> {
    const NAME: &'static str = "eventbridge";
    type Event<'e> = EventBridge<'e>;
}

/// Batch delivery: the events as one JSON array.
impl crate::Trigger for Vec<EventBridge<'static>> {
    const NAME: &'static str = "eventbridge";
    type Event<'e> = Vec<EventBridge<'e>>;
}
