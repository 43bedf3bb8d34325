//! API Gateway events as [`http::Request`]s, and [`http::Response`]s as integration
//! responses: a handler shaped `fn(Request<Body>, &Context) -> Response<B>` for
//! `scf_bootstrap::main!`, without any change to the runtime.
//!
//! ```no_run
//! use http::{Request, Response, StatusCode};
//! use scf_bootstrap::Context;
//! use scf_events::apigw_http::Body;
//!
//! fn hello(req: Request<Body>, _ctx: &Context) -> Response<String> {
//!     let name = req.uri().path().trim_start_matches('/');
//!     Response::builder()
//!         .status(StatusCode::OK)
//!         .header("content-type", "text/plain")
//!         .body(format!("Hello, {name}!"))
//!         .unwrap()
//! }
//!
//! scf_bootstrap::main!(scf_events::apigw_http::handler(hello));
//! ```
//!
//! # The request
//!
//! - Method: `httpMethod`. URI: `path` (characters a URI cannot hold percent-encoded, `%`
//!   kept as is) and `queryString` form-encoded, keys in sorted order, a repeated key once
//!   per value, a bare key (`true`) without `=`. The URI has no scheme or authority: the
//!   `Host` header has the host.
//! - Headers: `headers`, a list value becoming repeated headers.
//! - Body: `body`'s bytes, borrowed from the event when the JSON did not escape them,
//!   decoded from base64 when `isBase64Encoded`. Empty when there is none.
//! - Extensions: a [`Gateway`] with the path parameters, the stage variables, the declared
//!   query and header parameters and the request context ([`gateway`] reads it).
//!
//! # The response
//!
//! `statusCode` and `headers` (several values of one name joined with `", "`: the
//! integration response has one value per header). The body is sent as text when it is
//! UTF-8 and its `Content-Type` is textual (`text/*`, JSON, XML, JavaScript, form data) or
//! absent; otherwise as base64 with `isBase64Encoded: true`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::fmt;

use base64::Engine as _;
use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, Uri};
use scf_bootstrap::{Context, Outcome, Reply};

use crate::apigw::{self, IntegrationResponse, Values};
use crate::{parse, EventError, Handled, Str};

/// The body of a request: borrowed from the event where it can be.
pub type Body<'e> = Cow<'e, [u8]>;

const TRIGGER: &str = "apigw";

/// What API Gateway says about a request beyond HTTP, in the request's extensions (read it
/// with [`gateway`]). Owned: extensions hold `'static` values.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gateway {
    /// `pathParameters`: the API path template's parameters.
    pub path_parameters: BTreeMap<String, String>,
    /// `stageVariables`.
    pub stage_variables: BTreeMap<String, String>,
    /// `queryStringParameters`: query parameters the API declares.
    pub query_string_parameters: BTreeMap<String, String>,
    /// `headerParameters`: header parameters the API declares.
    pub header_parameters: BTreeMap<String, String>,
    /// `requestContext.serviceId`.
    pub service_id: Option<String>,
    /// `requestContext.path`: the API's path template (`/test/{path}`).
    pub resource_path: Option<String>,
    /// `requestContext.requestId`.
    pub request_id: Option<String>,
    /// `requestContext.sourceIp`.
    pub source_ip: Option<String>,
    /// `requestContext.stage`.
    pub stage: Option<String>,
    /// `requestContext.identity.secretId`.
    pub secret_id: Option<String>,
}

/// The [`Gateway`] facts of a request made by [`request`] (`None` for another request).
pub fn gateway<B>(req: &Request<B>) -> Option<&Gateway> {
    req.extensions().get::<Gateway>()
}

fn owned(map: &BTreeMap<Str<'_>, Str<'_>>) -> BTreeMap<String, String> {
    map.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn owned_opt(s: &Option<Str<'_>>) -> Option<String> {
    s.as_ref().map(|s| s.to_string())
}

/// Whether a byte may stand in a URI path as it is (RFC 3986 `pchar`, `/`, and `%`, taken as
/// the start of an escape the path already has).
fn path_byte_ok(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b)
}

fn path_and_query(event: &apigw::Request<'_>) -> Result<PathAndQuery, EventError> {
    let mut out = String::with_capacity(event.path.len() + 1);
    if !event.path.starts_with('/') {
        out.push('/');
    }
    for &b in event.path.as_bytes() {
        if path_byte_ok(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (key, values) in &event.query_string {
        match values {
            Values::Bare(true) => {
                query.append_key_only(key);
            }
            _ => {
                for v in values.iter() {
                    query.append_pair(key, v);
                }
            }
        }
    }
    let query = query.finish();
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    PathAndQuery::try_from(out).map_err(|e| EventError::new(TRIGGER, "path", e))
}

fn body<'e>(text: Option<Str<'e>>, base64: bool) -> Result<Body<'e>, EventError> {
    let Some(Str(text)) = text else {
        return Ok(Cow::Borrowed(&[]));
    };
    if base64 {
        return base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Cow::Owned)
            .map_err(|e| EventError::new(TRIGGER, "body", format!("not base64: {e}")));
    }
    Ok(match text {
        Cow::Borrowed(s) => Cow::Borrowed(s.as_bytes()),
        Cow::Owned(s) => Cow::Owned(s.into_bytes()),
    })
}

/// The event as an HTTP request. Fails, naming the field, on a method, path, header name or
/// value that HTTP does not allow, a body flagged base64 that is not, or more headers than
/// an `http::HeaderMap` holds.
pub fn request(mut event: apigw::Request<'_>) -> Result<Request<Body<'_>>, EventError> {
    let method = Method::from_bytes(event.http_method.as_bytes())
        .map_err(|e| EventError::new(TRIGGER, "httpMethod", e))?;
    let uri = Uri::from(path_and_query(&event)?);
    let mut req = Request::new(body(event.body.take(), event.is_base64_encoded)?);
    *req.method_mut() = method;
    *req.uri_mut() = uri;
    let headers = req.headers_mut();
    for (name, values) in &event.headers {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| EventError::new(TRIGGER, &format!("headers.{name}"), e))?;
        for v in values.iter() {
            let value = HeaderValue::from_str(v)
                .map_err(|e| EventError::new(TRIGGER, &format!("headers.{name}"), e))?;
            headers
                .try_append(header.clone(), value)
                .map_err(|e| EventError::new(TRIGGER, "headers", e))?;
        }
    }
    let ctx = event.request_context.as_ref();
    req.extensions_mut().insert(Gateway {
        path_parameters: owned(&event.path_parameters),
        stage_variables: owned(&event.stage_variables),
        query_string_parameters: owned(&event.query_string_parameters),
        header_parameters: owned(&event.header_parameters),
        service_id: ctx.and_then(|c| owned_opt(&c.service_id)),
        resource_path: ctx.and_then(|c| owned_opt(&c.path)),
        request_id: ctx.and_then(|c| owned_opt(&c.request_id)),
        source_ip: ctx.and_then(|c| owned_opt(&c.source_ip)),
        stage: ctx.and_then(|c| owned_opt(&c.stage)),
        secret_id: ctx
            .and_then(|c| c.identity.as_ref())
            .and_then(|i| owned_opt(&i.secret_id)),
    });
    Ok(req)
}

/// Whether a body of this `Content-Type` is text (sent as is when it is UTF-8).
fn textual(content_type: Option<&HeaderValue>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let ct = String::from_utf8_lossy(ct.as_bytes()).to_ascii_lowercase();
    let essence = ct.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || essence.ends_with("json")
        || essence.ends_with("xml")
        || essence.ends_with("javascript")
        || essence == "application/x-www-form-urlencoded"
}

/// The integration response for `resp`; see the module's documentation for the body rule.
pub fn integration_response<B: AsRef<[u8]>>(resp: &Response<B>) -> IntegrationResponse<'_> {
    let mut headers: BTreeMap<Str<'_>, Str<'_>> = BTreeMap::new();
    for name in resp.headers().keys() {
        let mut joined = String::new();
        for (i, v) in resp.headers().get_all(name).iter().enumerate() {
            if i > 0 {
                joined.push_str(", ");
            }
            joined.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        headers.insert(Str::from(name.as_str()), Str::from(joined));
    }
    let bytes = resp.body().as_ref();
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|_| textual(resp.headers().get(CONTENT_TYPE)));
    let (is_base64_encoded, body) = match text {
        Some(t) => (false, Str::from(t)),
        None => (
            true,
            Str::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
        ),
    };
    IntegrationResponse {
        is_base64_encoded,
        status_code: resp.status().as_u16(),
        headers,
        body,
    }
}

/// What an HTTP handler may return: a response, or `Result<Response<B>, E>` where `E`'s
/// `Display` text fails the invocation.
pub trait IntoResponse {
    /// The response body.
    type Body: AsRef<[u8]>;
    /// The error.
    type Error: fmt::Display;
    /// The response, or the error.
    fn into_response(self) -> Result<Response<Self::Body>, Self::Error>;
}

impl<B: AsRef<[u8]>> IntoResponse for Response<B> {
    type Body = B;
    type Error = Infallible;
    fn into_response(self) -> Result<Response<B>, Infallible> {
        Ok(self)
    }
}

impl<B: AsRef<[u8]>, E: fmt::Display> IntoResponse for Result<Response<B>, E> {
    type Body = B;
    type Error = E;
    fn into_response(self) -> Result<Response<B>, E> {
        self
    }
}

/// Wraps an HTTP handler as a handler for `scf_bootstrap::main!`: the API Gateway event
/// becomes a [`Request`] (see [`request`]), the [`Response`] becomes the integration
/// response (see [`integration_response`]). An event that is not an API Gateway request,
/// or that HTTP cannot express, fails the invocation with an [`EventError`] naming the
/// field, and `f` is not called.
pub fn handler<F, R>(mut f: F) -> impl FnMut(&[u8], &Context<'_>, &mut Reply) -> Handled
where
    F: for<'e> FnMut(Request<Body<'e>>, &Context<'_>) -> R,
    R: IntoResponse,
{
    move |event, ctx, reply| {
        let req = match parse::<apigw::Request<'static>>(event).and_then(request) {
            Ok(req) => req,
            Err(e) => return Handled::failed(reply, &e),
        };
        match f(req, ctx).into_response() {
            Ok(resp) => match serde_json::to_writer(&mut *reply, &integration_response(&resp)) {
                Ok(()) => Handled(Outcome::Success),
                Err(e) => Handled::failed(reply, &e),
            },
            Err(e) => Handled::failed(reply, &e),
        }
    }
}
