//! The CLB (Cloud Load Balancer) trigger's events: the request the function gets and the
//! integration response it returns.
//!
//! "CLB Trigger Description" (<https://www.tencentcloud.com/document/product/583/39849>),
//! "Request and Response", and the CLB section of "Trigger Event Message Structure Summary"
//! (583/31439). The request is `headers` (the client's, plus CLB's `X-*` headers: the
//! method, the URI, the client's address, the load balancer's VIP and port), `payload` (what
//! the client sent) and `isBase64Encoded`. The page's sample is not valid JSON (missing
//! commas, typographic quotes); the `clb` sample is our valid JSON of the same structure.
//! The integration response is API Gateway's
//! ([`apigw::IntegrationResponse`](crate::apigw::IntegrationResponse)), except that a header
//! may have a list of values (`"Key": ["value1", "value2"]`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::apigw::Values;
use crate::{Raw, Str};

/// An HTTP request as CLB hands it to the function: sample `clb`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Request<'a> {
    /// The request headers, with CLB's own: `X-Method`, `X-Uri`, `X-Real-IP`,
    /// `X-Real-Port`, `X-Forwarded-For`, `X-Forwarded-Proto`, `X-Client-Proto-Ver`,
    /// `X-Stgw-Time` (Unix seconds with milliseconds), `X-Vip`, `X-Vport`. The page marks
    /// `X-Method`, `X-Uri`, `X-Real-Port`, `X-Vip` and `X-Vport` as optional (the load
    /// balancer's settings decide) and promises that fields are only ever added.
    #[serde(borrow, default)]
    pub headers: BTreeMap<Str<'a>, Str<'a>>,
    /// What the client sent, as the event's JSON: the page shows a JSON object. Parse it
    /// with `serde_json::from_str(payload.get())`.
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Raw<'a>>,
    /// Whether the payload is base64: the page's sample writes it as a string (`"false"`);
    /// a JSON boolean is taken too (see [`Flag`]).
    #[serde(borrow, default, skip_serializing_if = "Option::is_none")]
    pub is_base64_encoded: Option<Flag<'a>>,
}

impl Request<'_> {
    /// The header `name`, compared without regard to case (`x-method` finds `X-Method`).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The HTTP method the client used (`X-Method`).
    pub fn method(&self) -> Option<&str> {
        self.header("X-Method")
    }

    /// The path the client asked for (`X-Uri`).
    pub fn uri(&self) -> Option<&str> {
        self.header("X-Uri")
    }

    /// The client's IP address (`X-Real-IP`).
    pub fn client_ip(&self) -> Option<&str> {
        self.header("X-Real-IP")
    }

    /// Whether the payload is base64 (absent: no).
    pub fn is_base64(&self) -> bool {
        self.is_base64_encoded.as_ref().is_some_and(Flag::is_true)
    }
}

/// [`Request::is_base64_encoded`]: a JSON boolean, or a string holding one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Flag<'a> {
    /// `true` or `false`.
    Bool(bool),
    /// `"true"` or `"false"` (any other text counts as false).
    Text(#[serde(borrow)] Str<'a>),
}

impl Flag<'_> {
    /// Whether it says true (`true`, or `"true"` in any case).
    pub fn is_true(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(s) => s.eq_ignore_ascii_case("true"),
        }
    }
}

/// What the function returns to CLB: sample `clb-response`. API Gateway's
/// [`IntegrationResponse`](crate::apigw::IntegrationResponse) with headers of one value or
/// a list of values. CLB answers `{"errno":403,"error":"Analyse scf response failed."}` to
/// the client when the function returns something else.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationResponse<'a> {
    /// Whether `body` is base64 (binary content); CLB decodes it. A JSON boolean.
    pub is_base64_encoded: bool,
    /// The HTTP status code.
    pub status_code: u16,
    /// The response headers: one string, or a list for a header sent several times.
    #[serde(borrow, default)]
    pub headers: BTreeMap<Str<'a>, Values<'a>>,
    /// The body: text, or base64 when `is_base64_encoded`.
    #[serde(borrow, default)]
    pub body: Str<'a>,
}

impl crate::Trigger for Request<'static> {
    const NAME: &'static str = "clb";
    type Event<'e> = Request<'e>;
}

impl crate::Trigger for IntegrationResponse<'static> {
    const NAME: &'static str = "clb-response";
    type Event<'e> = IntegrationResponse<'e>;
}
