//! SCF's runtime API: the HTTP server one instance's `bootstrap` talks to.
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /runtime/init/ready` (any body) | `200`; the first one counts |
//! | `GET /runtime/invocation/next` | long poll; `200` with the event and the request headers |
//! | `POST /runtime/invocation/response` | `200`; over the response limit `413` (result 407) |
//! | `POST /runtime/invocation/error` | `200` (result 430) |
//! | a post after the first result | `409` with a JSON error; changes nothing |
//! | a post before the current event was fetched | `409` if it follows an earlier invocation (a late post for that one), else `400`; JSON error |
//! | a known path with another method | `405` with a JSON error |
//! | any other path | `404` with a JSON error |
//!
//! Everything specific to SCF's dialect (paths, header names, answers) is in this file; the
//! lifecycle behind it is `invocation::Exchange`. Another dialect (AWS Lambda's
//! runtime API) is another module serving the same `Exchange`.

use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::HeaderStyle;
use crate::http_server::{Admit, Limits};
use crate::invocation::{Exchange, Posted, Refused};

/// `POST`: the runtime finished its init.
pub const READY: &str = "/runtime/init/ready";
/// `GET`: long poll for the next event.
pub const NEXT: &str = "/runtime/invocation/next";
/// `POST`: the result of the current invocation.
pub const RESPONSE: &str = "/runtime/invocation/response";
/// `POST`: the error of the current invocation, as plain text.
pub const ERROR: &str = "/runtime/invocation/error";

/// The three `/next` headers, in one spelling.
struct HeaderNames {
    request_id: HeaderName,
    memory_limit: HeaderName,
    time_limit: HeaderName,
}

impl HeaderNames {
    fn new(style: HeaderStyle) -> Self {
        // HTTP/1 header names are case-insensitive; hyper writes them in lowercase, so the
        // walkthrough's `Scf_Runtime_Request_Id` goes on the wire as `scf_runtime_request_id`.
        let (a, b, c) = match style {
            HeaderStyle::Doc => ("request_id", "memory_limit_in_mb", "time_limit_in_ms"),
            HeaderStyle::Walkthrough => (
                "scf_runtime_request_id",
                "scf_runtime_memory_limit_in_mb",
                "scf_runtime_time_limit_in_ms",
            ),
        };
        HeaderNames {
            request_id: HeaderName::from_static(a),
            memory_limit: HeaderName::from_static(b),
            time_limit: HeaderName::from_static(c),
        }
    }
}

/// What the server needs besides the exchange.
pub(crate) struct Settings {
    names: HeaderNames,
    memory_limit: HeaderValue,
    time_limit: HeaderValue,
    response_limit: usize,
}

impl Settings {
    pub(crate) fn new(
        style: HeaderStyle,
        memory_mb: u32,
        timeout_ms: u128,
        response_limit: usize,
    ) -> Self {
        Settings {
            names: HeaderNames::new(style),
            memory_limit: HeaderValue::from(memory_mb),
            time_limit: HeaderValue::from_str(&timeout_ms.to_string())
                .unwrap_or(HeaderValue::from_static("0")),
            response_limit,
        }
    }
}

/// The variables that tell a bootstrap where this API is: `SCF_RUNTIME_API` (the address)
/// and `SCF_RUNTIME_API_PORT`.
pub(crate) fn runtime_env(addr: SocketAddr) -> [(String, String); 2] {
    [
        ("SCF_RUNTIME_API".to_owned(), addr.ip().to_string()),
        ("SCF_RUNTIME_API_PORT".to_owned(), addr.port().to_string()),
    ]
}

/// Binds the instance's listener on loopback; port 0 lets the OS choose.
pub(crate) async fn bind(port: Option<u16>) -> io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, port.unwrap_or(0)))).await
}

/// Serves the runtime API on `listener`, within `limits` and to the connections `admit`
/// accepts, until the returned task is aborted (which also ends every open connection).
pub(crate) fn serve(
    listener: TcpListener,
    limits: Limits,
    admit: Admit,
    exchange: Arc<Exchange>,
    settings: Arc<Settings>,
) -> JoinHandle<()> {
    crate::http_server::spawn(listener, limits, Some(admit), move |req| {
        let exchange = exchange.clone();
        let settings = settings.clone();
        async move { handle(req, &exchange, &settings).await }
    })
}

use crate::http_server::Answer;

fn json_error(status: StatusCode, code: &str, message: &str) -> Answer {
    let body = serde_json::json!({ "errorCode": code, "errorMessage": message }).to_string();
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

fn empty(status: StatusCode) -> Answer {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = status;
    res
}

async fn handle(req: Request<Incoming>, exchange: &Exchange, settings: &Settings) -> Answer {
    let path = req.uri().path();
    match (req.method(), path) {
        (&Method::POST, READY) => {
            // Any body is accepted (the cloud wants one, clients send " "); read and drop it.
            let _ = Limited::new(req.into_body(), settings.response_limit)
                .collect()
                .await;
            exchange.ready();
            empty(StatusCode::OK)
        }
        (&Method::GET, NEXT) => {
            let delivery = exchange.next().await;
            let mut res = Response::new(Full::new(delivery.event));
            let h = res.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&delivery.request_id) {
                h.insert(settings.names.request_id.clone(), v);
            }
            h.insert(
                settings.names.memory_limit.clone(),
                settings.memory_limit.clone(),
            );
            h.insert(
                settings.names.time_limit.clone(),
                settings.time_limit.clone(),
            );
            h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            res
        }
        (&Method::POST, RESPONSE | ERROR) => {
            let is_error = path == ERROR;
            let limit = settings.response_limit;
            let posted = match Limited::new(req.into_body(), limit).collect().await {
                Ok(body) if is_error => Posted::Error(body.to_bytes()),
                Ok(body) => Posted::Response(body.to_bytes()),
                Err(e) if e.is::<http_body_util::LengthLimitError>() => Posted::ResponseTooLarge,
                // The connection broke mid-body: nothing was posted.
                Err(_) => {
                    return json_error(
                        StatusCode::BAD_REQUEST,
                        "BodyReadFailed",
                        "the request body could not be read",
                    )
                }
            };
            let too_large = matches!(posted, Posted::ResponseTooLarge);
            match exchange.post(posted) {
                Ok(()) if too_large => json_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "ResponseSizeTooLarge",
                    "the result is over the 6 MB limit; the invocation ends with 407",
                ),
                Ok(()) => empty(StatusCode::OK),
                Err(Refused::AlreadyFinal) => json_error(
                    StatusCode::CONFLICT,
                    "InvocationAlreadyFinal",
                    "this invocation already has its result; the first response or error is final",
                ),
                Err(Refused::NoInvocation) => json_error(
                    StatusCode::BAD_REQUEST,
                    "NoInvocation",
                    "no invocation is in progress: fetch an event from /runtime/invocation/next first",
                ),
            }
        }
        (_, READY | NEXT | RESPONSE | ERROR) => json_error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "wrong method for this path",
        ),
        _ => json_error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "no such runtime API path",
        ),
    }
}
