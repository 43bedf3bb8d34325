//! Typed [Tencent Cloud SCF] trigger events for [`scf_bootstrap`] handlers, an API Gateway ⇄
//! [`http`](https://docs.rs/http) adapter, and the documented sample of each event.
//!
//! [Tencent Cloud SCF]: https://cloud.tencent.com/product/scf
//!
//! A function on SCF is fired by a trigger, and each trigger hands it a JSON event whose
//! structure Tencent documents on "Trigger Event Message Structure Summary" (SCF product
//! documentation 583/31439, <https://www.tencentcloud.com/document/product/583/31439>) and
//! on each trigger's own page. This crate has a serde type for each:
//!
//! | trigger | type | sample |
//! |---|---|---|
//! | API Gateway, integration request | [`apigw::Request`] | `apigw` |
//! | API Gateway, integration response | [`apigw::IntegrationResponse`] | `apigw-response` |
//! | Timer | [`timer::Timer`] | `timer` |
//! | COS | [`cos::Cos`] | `cos` |
//! | CLS | [`cls::Cls`] (and [`cls::LogData`] inside) | `cls` |
//! | CKafka | [`ckafka::Ckafka`] | `ckafka` |
//! | CMQ topic and queue | [`cmq::Cmq`] | `cmq-topic`, `cmq-queue` |
//! | MPS (media processing) | [`mps::Mps`] | `mps` |
//! | CLB, request | [`clb::Request`] | `clb` |
//! | CLB, integration response | [`clb::IntegrationResponse`] | `clb-response` |
//! | EventBridge (any source; `data` as the source's) | [`eventbridge::EventBridge`] | `eventbridge` |
//!
//! The TencentCloud API trigger (the `Invoke` call) has no structure of its own: its event is
//! the caller's `ClientContext`, JSON of the caller's choosing. The MQTT and Apache Kafka
//! triggers have pages of their own but no section on the summary page, and no type here (the
//! crate's README says why).
//!
//! The types borrow their strings from the event ([`Str`]: borrowed unless the JSON escapes
//! something), keep what depends on more than the trigger (an MPS task's output, a CLB
//! payload) as the event's JSON text ([`Raw`]), tolerate fields they do not know, and make
//! optional what the documentation's samples do not always carry.
//!
//! # A handler of a typed event
//!
//! ```no_run
//! use scf_bootstrap::{Context, Reply};
//! use scf_events::timer::Timer;
//!
//! fn tick(event: Timer, _ctx: &Context, reply: &mut Reply) {
//!     reply.push_str(&event.trigger_name);
//! }
//!
//! scf_bootstrap::main!(scf_events::handler::<Timer, _, _>(tick));
//! ```
//!
//! An event that does not fit the type is not a panic: the invocation fails (posted to
//! `/runtime/invocation/error`) with a message naming the trigger and the JSON path of the
//! bad field: the API Gateway event `{"httpMethod":"GET","path":7}` fails with ``bad apigw
//! event at `path`: invalid type: integer `7`, expected a string at line 1 column 28``.
//!
//! # API Gateway as HTTP
//!
//! [`apigw_http::handler`] turns an `fn(http::Request<Body>, &Context) -> http::Response<B>`
//! (or `-> Result<http::Response<B>, E>`) into a handler for `main!`: the event becomes the
//! request (method, path, query string with repeated keys, headers, base64 bodies decoded,
//! path parameters and stage variables in the request's extensions) and the response
//! becomes the integration response (binary bodies in base64). See `examples/apigw.rs` in
//! the repository.
//!
//! # Sample events
//!
//! [`samples`] has the documented sample of each event by name; it needs no dependency and
//! is all there is with `default-features = false`.
//!
//! # Bounds
//!
//! The event is at most what the runtime accepts (`scf_bootstrap::MAX_BODY`), and every
//! structure here is as large as the JSON it came from, at most: a base64 body decodes to
//! less than its text. serde_json's recursion limit (128 levels) stays on, so a hostile,
//! deeply nested event is an error, not a stack overflow, in known and unknown fields alike.
//!
//! # Features
//!
//! - `types` (default): the serde types and [`parse`].
//! - `handler` (default): [`handler`], a function of a typed event as an `scf_bootstrap`
//!   handler.
//! - `http` (default): [`apigw_http`], with the `http`, `base64` and `form_urlencoded` crates.

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod samples;

#[cfg(feature = "types")]
pub mod apigw;
#[cfg(feature = "types")]
pub mod ckafka;
#[cfg(feature = "types")]
pub mod clb;
#[cfg(feature = "types")]
pub mod cls;
#[cfg(feature = "types")]
pub mod cmq;
#[cfg(feature = "types")]
pub mod cos;
#[cfg(feature = "types")]
pub mod eventbridge;
#[cfg(feature = "types")]
pub mod mps;
#[cfg(feature = "types")]
mod parse;
#[cfg(feature = "types")]
mod raw;
#[cfg(feature = "types")]
mod str;
#[cfg(feature = "types")]
pub mod timer;

#[cfg(feature = "http")]
pub mod apigw_http;
#[cfg(feature = "handler")]
mod handler;

#[cfg(feature = "handler")]
pub use handler::{handler, Handled};
#[cfg(feature = "types")]
pub use parse::{parse, EventError, Trigger};
#[cfg(feature = "types")]
pub use raw::Raw;
#[cfg(feature = "types")]
pub use str::Str;
