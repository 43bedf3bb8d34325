//! The CMQ triggers' event (topic and queue).
//!
//! "Trigger Event Message Structure Summary", section "Event Message Structure for CMQ Topic
//! Trigger" (<https://www.tencentcloud.com/document/product/583/31439>), and "CMQ Topic
//! Trigger" (583/11517), whose table documents `type` as "topic or queue". No page shows a
//! queue's event: the `cmq-queue` sample is the topic's structure with `type: "queue"` and
//! without the topic's fields (`topicOwner`, `topicName`, `subscriptionName`), which are
//! therefore optional here.

use crate::Str;

use serde::{Deserialize, Serialize};

/// Messages from a CMQ topic or queue, one record each: samples `cmq-topic`, `cmq-queue`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Cmq<'a> {
    /// The messages; several may be merged in one event.
    #[serde(rename = "Records", borrow)]
    pub records: Vec<Record<'a>>,
}

/// One record of [`Cmq`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Record<'a> {
    /// The message.
    #[serde(rename = "CMQ", borrow)]
    pub cmq: Message<'a>,
}

/// One CMQ message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message<'a> {
    /// Where it came from: `"topic"` or `"queue"`.
    #[serde(borrow)]
    pub r#type: Str<'a>,
    /// The topic owner's account ID (topics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_owner: Option<u64>,
    /// The topic's name (topics).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub topic_name: Option<Str<'a>>,
    /// The function's subscription name in the topic (topics).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub subscription_name: Option<Str<'a>>,
    /// When it was published (`1970-01-01T00:00:00.000Z`).
    #[serde(borrow)]
    pub publish_time: Str<'a>,
    /// Its unique ID.
    #[serde(borrow)]
    pub msg_id: Str<'a>,
    /// The ID of the push request that delivered it.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str<'a>>,
    /// Its content.
    #[serde(borrow)]
    pub msg_body: Str<'a>,
    /// Its tags: the pages show both a list (`["tag1","tag2"]`) and one comma-separated
    /// string (`"tag1,tag2"`); both are accepted and kept as they came.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub msg_tag: Option<Tags<'a>>,
}

/// [`Message::msg_tag`]: a list of tags, or one string of comma-separated tags.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Tags<'a> {
    /// `["tag1", "tag2"]`.
    List(#[serde(borrow)] Vec<Str<'a>>),
    /// `"tag1,tag2"`.
    Joined(#[serde(borrow)] Str<'a>),
}

impl Tags<'_> {
    /// The tags, one by one (a joined string split at commas, blanks trimmed).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (list, joined): (&[Str<'_>], Option<&str>) = match self {
            Tags::List(l) => (l, None),
            Tags::Joined(s) => (&[], Some(s)),
        };
        list.iter().map(|t| &**t).chain(
            joined
                .into_iter()
                .flat_map(|s| s.split(','))
                .map(str::trim)
                .filter(|t| !t.is_empty()),
        )
    }
}

impl crate::Trigger for Cmq<'static> {
    const NAME: &'static str = "cmq";
    type Event<'e> = Cmq<'e>;
}
