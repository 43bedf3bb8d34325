//! The COS trigger's event.
//!
//! "Trigger Event Message Structure Summary", section "Event Message Structure for COS
//! Trigger" (<https://www.tencentcloud.com/document/product/583/31439>); the trigger and its
//! event names (`cos:ObjectCreated:Put`, …): "COS Trigger" (583/9707).

use crate::Str;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Object creations and deletions in a bucket, one record each: sample `cos`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Cos<'a> {
    /// The records.
    #[serde(rename = "Records", borrow)]
    pub records: Vec<Record<'a>>,
}

/// One record of [`Cos`]: the object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Record<'a> {
    /// The bucket and the object.
    #[serde(borrow)]
    pub cos: Entity<'a>,
    /// What happened.
    #[serde(borrow)]
    pub event: EventInfo<'a>,
}

/// [`Record::cos`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entity<'a> {
    /// The version of this structure (`"1.0"`).
    #[serde(borrow)]
    pub cos_schema_version: Str<'a>,
    /// The object.
    #[serde(borrow)]
    pub cos_object: Object<'a>,
    /// Its bucket.
    #[serde(borrow)]
    pub cos_bucket: Bucket<'a>,
    /// The ID of the bucket notification that fired.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub cos_notification_id: Option<Str<'a>>,
}

/// The object of a COS event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Object<'a> {
    /// Its URL.
    #[serde(borrow)]
    pub url: Str<'a>,
    /// Its metadata (`x-cos-request-id`, `Content-Type`, user `x-cos-meta-*`).
    #[serde(borrow, default)]
    pub meta: BTreeMap<Str<'a>, Str<'a>>,
    /// Its version ID (empty without versioning).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub vid: Option<Str<'a>>,
    /// Its key: `/<appid>/<bucket>/<name>`.
    #[serde(borrow)]
    pub key: Str<'a>,
    /// Its size in bytes.
    pub size: u64,
}

/// The bucket of a COS event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct Bucket<'a> {
    /// Its region (a short name, `cd` for Chengdu in the sample).
    #[serde(borrow)]
    pub region: Str<'a>,
    /// Its name, without the appid.
    #[serde(borrow)]
    pub name: Str<'a>,
    /// The owner's appid.
    #[serde(borrow)]
    pub appid: Str<'a>,
}

/// [`Record::event`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventInfo<'a> {
    /// The event type, `cos:ObjectCreated:*`, `cos:ObjectRemove:Delete`, …
    #[serde(borrow)]
    pub event_name: Str<'a>,
    /// The version of this structure (`"1.0"`).
    #[serde(borrow)]
    pub event_version: Str<'a>,
    /// When it happened, Unix seconds.
    pub event_time: i64,
    /// `qcs::cos`.
    #[serde(borrow)]
    pub event_source: Str<'a>,
    /// The request that caused it.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub request_parameters: Option<RequestParameters<'a>>,
    /// The function the event was queued for (`qcs:0:scf:<region>:appid/<appid>:…`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub event_queue: Option<Str<'a>>,
    /// Reserved.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub reserved_info: Option<Str<'a>>,
    /// The request's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reqid: Option<u64>,
}

/// The request that caused a COS event.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct RequestParameters<'a> {
    /// The client's IP address.
    #[serde(rename = "requestSourceIP", borrow)]
    pub request_source_ip: Str<'a>,
    /// Its headers (the sample shows `Authorization`).
    #[serde(rename = "requestHeaders", borrow, default)]
    pub request_headers: BTreeMap<Str<'a>, Str<'a>>,
}

impl crate::Trigger for Cos<'static> {
    const NAME: &'static str = "cos";
    type Event<'e> = Cos<'e>;
}
