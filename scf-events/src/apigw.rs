//! The API Gateway trigger's events: the integration request the function gets and the
//! integration response it returns.
//!
//! "Trigger Event Message Structure Summary", section "Event Message Structure of
//! Integration Request for API Gateway Trigger"
//! (<https://www.tencentcloud.com/document/product/583/31439>), and "API Gateway Trigger"
//! (583/12513), which documents the integration response (`isBase64Encoded`, `statusCode`,
//! `headers`, `body`) and the request's `isBase64Encoded` for binary bodies. For the
//! request as an `http::Request`, see [`apigw_http`](crate::apigw_http).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Str;

/// An HTTP request as API Gateway hands it to the function: sample `apigw`.
///
/// Only `httpMethod` and `path` are required; the rest defaults to empty, so a hand-written
/// test event may leave it out.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<'a> {
    /// The HTTP method (`GET`, `POST`, …).
    #[serde(borrow)]
    pub http_method: Str<'a>,
    /// The path the client asked for (`/test/value`), without the query string.
    #[serde(borrow)]
    pub path: Str<'a>,
    /// The query string: each key with its value, or a list for a key given several times,
    /// or `true` for a key without `=value` (see [`Values`]).
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_string: BTreeMap<Str<'a>, Values<'a>>,
    /// The request headers.
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<Str<'a>, Values<'a>>,
    /// The body, as text; base64 when [`is_base64_encoded`](Self::is_base64_encoded).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Str<'a>>,
    /// Whether `body` is base64 (a binary body passed through).
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_base64_encoded: bool,
    /// Parameters of the API's path template (`{path}` in `/test/{path}`).
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub path_parameters: BTreeMap<Str<'a>, Str<'a>>,
    /// Query parameters the API declares.
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub query_string_parameters: BTreeMap<Str<'a>, Str<'a>>,
    /// Header parameters the API declares.
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub header_parameters: BTreeMap<Str<'a>, Str<'a>>,
    /// The stage's variables.
    #[serde(borrow, default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_variables: BTreeMap<Str<'a>, Str<'a>>,
    /// Which API and stage took the request, and from whom.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub request_context: Option<RequestContext<'a>>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// [`Request::request_context`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContext<'a> {
    /// The API Gateway service (`service-f94sy04v`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub service_id: Option<Str<'a>>,
    /// The API's path template (`/test/{path}`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub path: Option<Str<'a>>,
    /// The API's method.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<Str<'a>>,
    /// API Gateway's ID of the request.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<Str<'a>>,
    /// Who called, when the API authenticates with a key pair.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity<'a>>,
    /// The client's IP address.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<Str<'a>>,
    /// The stage (`test`, `prepub`, `release`).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Str<'a>>,
}

/// [`RequestContext::identity`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity<'a> {
    /// The SecretId of the API key the client signed with.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<Str<'a>>,
}

/// A query key's or a header's value: one string, several (a key repeated), or `true` for
/// a query key without a value (`?debug`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Values<'a> {
    /// `"bar"`.
    One(#[serde(borrow)] Str<'a>),
    /// `["a", "b"]`.
    Many(#[serde(borrow)] Vec<Str<'a>>),
    /// `true`: the key alone; `false`: as if absent.
    Bare(bool),
}

impl Values<'_> {
    /// The values one by one (none for [`Values::Bare`]).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many): (Option<&str>, &[Str<'_>]) = match self {
            Values::One(s) => (Some(s), &[]),
            Values::Many(v) => (None, v),
            Values::Bare(_) => (None, &[]),
        };
        one.into_iter().chain(many.iter().map(|s| &**s))
    }
}

/// What the function returns to API Gateway when the API enables the integration response:
/// sample `apigw-response`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse<'a> {
    /// Whether `body` is base64 (binary content); API Gateway decodes it.
    pub is_base64_encoded: bool,
    /// The HTTP status code.
    pub status_code: u16,
    /// The response headers, one value each.
    #[serde(borrow, default)]
    pub headers: BTreeMap<Str<'a>, Str<'a>>,
    /// The body: text, or base64 when `is_base64_encoded`.
    #[serde(borrow, default)]
    pub body: Str<'a>,
}

impl crate::Trigger for Request<'static> {
    const NAME: &'static str = "apigw";
    type Event<'e> = Request<'e>;
}

impl crate::Trigger for IntegrationResponse<'static> {
    const NAME: &'static str = "apigw-response";
    type Event<'e> = IntegrationResponse<'e>;
}
