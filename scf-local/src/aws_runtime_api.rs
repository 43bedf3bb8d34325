//! AWS Lambda's runtime API (`--api aws`): the HTTP server one instance's `bootstrap` talks
//! to when it speaks AWS's dialect, over the same lifecycle as SCF's ([`crate::runtime_api`]).
//!
//! | method and path | answer |
//! |---|---|
//! | `GET /2018-06-01/runtime/invocation/next` | the first one is the ready (no ready call); long poll; `200` with the event and the `Lambda-Runtime-*` headers; the same event again if asked twice within one invocation |
//! | `POST /2018-06-01/runtime/invocation/{id}/response` | `202 {"status":"OK"}`; over the response limit `413` (result 407) |
//! | `POST /2018-06-01/runtime/invocation/{id}/error` | `202 {"status":"OK"}` (result 430, the body as `ErrMsg`) |
//! | a post while the runtime holds an invocation under another id | `400` `InvalidRequestID` |
//! | a post while it holds none (before its first event, or after the result: a second response for the same id) | `403` `InvalidStateTransition` |
//! | `POST /2018-06-01/runtime/init/error` before the first `/next` | `202`; the instance ends as an init failure (result 445, the body as `ErrMsg`) |
//! | `POST /2018-06-01/runtime/init/error` later | `403` `InvalidStateTransition` |
//! | a known path with another method | `405` |
//! | any other path | `404` |
//!
//! Every error answer is AWS's JSON, `{"errorMessage": …, "errorType": …}`, with the codes,
//! types and messages of AWS's Runtime Interface Emulator (the `rapi` server of
//! `aws-lambda-runtime-interface-emulator`).
//!
//! `/next` sends `Lambda-Runtime-Aws-Request-Id`, `Lambda-Runtime-Deadline-Ms` (the absolute
//! deadline in Unix epoch milliseconds: the time the event was queued plus `Timeout`),
//! `Lambda-Runtime-Invoked-Function-Arn` (`arn:aws:lambda:<region>:123456789012:function:<name>`,
//! AWS's documentation account), `Lambda-Runtime-Trace-Id` (an X-Ray header made from the
//! request id) and, when the caller gave one, `Lambda-Runtime-Client-Context`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::FunctionConfig;
use crate::http_server::{Admit, Limits};
use crate::invocation::{Delivery, Exchange, Phase, Posted, RefusedFor};

/// `GET`: long poll for the next event; the first one also means ready.
pub const NEXT: &str = "/2018-06-01/runtime/invocation/next";
/// The prefix of `POST …/{id}/response` and `POST …/{id}/error`.
pub const INVOCATION: &str = "/2018-06-01/runtime/invocation/";
/// `POST`: init failed; the body is the error.
pub const INIT_ERROR: &str = "/2018-06-01/runtime/init/error";

/// The account in the made-up function ARN: the one AWS's documentation uses in examples.
pub const ACCOUNT_ID: &str = "123456789012";

/// The header that carries a posted error's type.
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";

const REQUEST_ID: HeaderName = HeaderName::from_static("lambda-runtime-aws-request-id");
const DEADLINE_MS: HeaderName = HeaderName::from_static("lambda-runtime-deadline-ms");
const FUNCTION_ARN: HeaderName = HeaderName::from_static("lambda-runtime-invoked-function-arn");
const TRACE_ID: HeaderName = HeaderName::from_static("lambda-runtime-trace-id");
const CLIENT_CONTEXT: HeaderName = HeaderName::from_static("lambda-runtime-client-context");

/// The function's ARN as the runtime is told it.
pub fn function_arn(region: &str, function_name: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function_name}")
}

/// What the server needs besides the exchange.
pub(crate) struct Settings {
    function_arn: HeaderValue,
    timeout: Duration,
    response_limit: usize,
}

impl Settings {
    pub(crate) fn new(cfg: &FunctionConfig) -> Self {
        let arn = function_arn(&cfg.region, &cfg.function_name);
        Settings {
            function_arn: HeaderValue::from_str(&arn)
                .unwrap_or(HeaderValue::from_static("arn:aws:lambda:local")),
            timeout: cfg.timeout,
            response_limit: cfg.response_limit,
        }
    }
}

/// The environment AWS gives a custom runtime (`provided.al2023`), for an instance whose API
/// is at `addr`: the API address, the function's settings, the code root, and the host's
/// `PATH` with a private `TMPDIR` as in SCF's dialect. AWS's role credentials
/// (`AWS_ACCESS_KEY_ID`, …) are not set unless given as user variables.
pub(crate) fn environment(
    cfg: &FunctionConfig,
    addr: SocketAddr,
    root: &Path,
    tmp: &Path,
) -> Vec<(String, String)> {
    let path = std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".into());
    let name = &cfg.function_name;
    let stream = format!(
        "{}/[$LATEST]{}",
        utc_date(SystemTime::now()),
        uuid::Uuid::new_v4().simple()
    );
    vec![
        ("AWS_LAMBDA_RUNTIME_API".into(), addr.to_string()),
        ("_HANDLER".into(), cfg.handler.clone()),
        ("AWS_LAMBDA_FUNCTION_NAME".into(), name.clone()),
        ("AWS_LAMBDA_FUNCTION_VERSION".into(), "$LATEST".into()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE".into(),
            cfg.memory_mb.to_string(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME".into(),
            format!("/aws/lambda/{name}"),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME".into(), stream),
        ("AWS_LAMBDA_INITIALIZATION_TYPE".into(), "on-demand".into()),
        ("AWS_REGION".into(), cfg.region.clone()),
        ("AWS_DEFAULT_REGION".into(), cfg.region.clone()),
        (
            "LAMBDA_TASK_ROOT".into(),
            root.to_string_lossy().into_owned(),
        ),
        ("TZ".into(), ":UTC".into()),
        ("LANG".into(), "en_US.UTF-8".into()),
        ("PATH".into(), path),
        ("TMPDIR".into(), tmp.to_string_lossy().into_owned()),
    ]
}

/// `YYYY/MM/DD` of a time, in UTC (the date part of AWS's log stream names).
fn utc_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    crate::tc3::utc_date(secs).replace('-', "/")
}

/// An X-Ray trace header for an invocation: `Root=1-<queued, epoch seconds in hex>-<24 hex>;
/// Parent=<16 hex>;Sampled=0`, the hex digits derived from the request id, so asking for the
/// same event twice gives the same header.
fn trace_id(delivery: &Delivery) -> String {
    use std::hash::{Hash as _, Hasher as _};
    let hash = |salt: u8| {
        let mut h = std::hash::DefaultHasher::new();
        salt.hash(&mut h);
        delivery.request_id.hash(&mut h);
        h.finish()
    };
    let secs = delivery
        .queued_at
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    format!(
        "Root=1-{:08x}-{:016x}{:08x};Parent={:016x};Sampled=0",
        secs as u32,
        hash(0),
        hash(1) as u32,
        hash(2)
    )
}

/// `Lambda-Runtime-Deadline-Ms`: when `Timeout` runs out, in Unix epoch milliseconds.
fn deadline_ms(delivery: &Delivery, timeout: Duration) -> u128 {
    (delivery.queued_at + timeout)
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

/// Serves AWS's runtime API on `listener`, within `limits` and to the connections `admit`
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

fn json(status: StatusCode, body: String) -> Answer {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// AWS's error body.
fn error(status: StatusCode, error_type: &str, message: &str) -> Answer {
    let body = serde_json::json!({ "errorMessage": message, "errorType": error_type });
    json(status, body.to_string())
}

fn accepted() -> Answer {
    json(StatusCode::ACCEPTED, r#"{"status":"OK"}"#.to_owned())
}

/// AWS's 403 for a step the runtime may not take in its phase.
fn invalid_transition(from: Phase, to: &str) -> Answer {
    let from = match from {
        Phase::Started => "Started",
        Phase::InitError => "InitError",
        Phase::Ready => "Ready",
        Phase::Running => "Running",
        Phase::ResponseSent => "RuntimeResponseSentState",
    };
    error(
        StatusCode::FORBIDDEN,
        "InvalidStateTransition",
        &format!(
            "State transition from {from} to {to} failed for runtime. Error: State transition is not allowed"
        ),
    )
}

fn too_large(limit: usize) -> Answer {
    error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "RequestEntityTooLarge",
        &format!("Exceeded maximum allowed payload size ({limit} bytes)."),
    )
}

/// What a `POST …/{id}/<step>` path names.
#[derive(Debug, PartialEq, Eq)]
enum Step<'a> {
    Response(&'a str),
    Error(&'a str),
}

fn invocation_step(path: &str) -> Option<Step<'_>> {
    let (id, step) = path.strip_prefix(INVOCATION)?.split_once('/')?;
    if id.is_empty() {
        return None;
    }
    match step {
        "response" => Some(Step::Response(id)),
        "error" => Some(Step::Error(id)),
        _ => None,
    }
}

/// A posted error: its body, or, when the body is empty, its `Lambda-Runtime-Function-Error-Type`.
fn error_text(req_type: Option<&HeaderValue>, body: Bytes) -> Bytes {
    match req_type {
        Some(t) if body.is_empty() => Bytes::copy_from_slice(t.as_bytes()),
        _ => body,
    }
}

enum Body {
    Read(Bytes),
    TooLarge,
    Broken,
}

async fn read_body(req: Request<Incoming>, limit: usize) -> Body {
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(body) => Body::Read(body.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Body::TooLarge,
        Err(_) => Body::Broken,
    }
}

fn broken() -> Answer {
    error(
        StatusCode::BAD_REQUEST,
        "InvalidRequestFormat",
        "the request body could not be read",
    )
}

async fn handle(req: Request<Incoming>, exchange: &Exchange, settings: &Settings) -> Answer {
    let path = req.uri().path();
    let method = req.method().clone();
    if path == NEXT {
        if method != Method::GET {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "use GET",
            );
        }
        exchange.ready();
        let delivery = exchange.next().await;
        return event(&delivery, settings);
    }
    if path == INIT_ERROR {
        if method != Method::POST {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "MethodNotAllowed",
                "use POST",
            );
        }
        let error_type = req.headers().get(ERROR_TYPE).cloned();
        return match read_body(req, settings.response_limit).await {
            Body::Read(body) => match exchange.init_error(error_text(error_type.as_ref(), body)) {
                Ok(()) => accepted(),
                Err(phase) => invalid_transition(phase, "InitError"),
            },
            Body::TooLarge => too_large(settings.response_limit),
            Body::Broken => broken(),
        };
    }
    let Some(step) = invocation_step(path) else {
        return error(
            StatusCode::NOT_FOUND,
            "NotFound",
            "no such runtime API path",
        );
    };
    if method != Method::POST {
        return error(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "use POST",
        );
    }
    let (request_id, to) = match step {
        Step::Response(id) => (id.to_owned(), "InvocationResponse"),
        Step::Error(id) => (id.to_owned(), "InvocationErrorResponse"),
    };
    let is_error = to == "InvocationErrorResponse";
    let error_type = req.headers().get(ERROR_TYPE).cloned();
    let posted = match read_body(req, settings.response_limit).await {
        Body::Read(body) if is_error => Posted::Error(error_text(error_type.as_ref(), body)),
        Body::Read(body) => Posted::Response(body),
        Body::TooLarge => Posted::ResponseTooLarge,
        Body::Broken => return broken(),
    };
    let too_big = matches!(posted, Posted::ResponseTooLarge);
    match exchange.post_for(&request_id, posted) {
        Ok(()) if too_big => too_large(settings.response_limit),
        Ok(()) => accepted(),
        Err(RefusedFor::UnknownRequestId) => error(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        ),
        Err(RefusedFor::NotRunning(phase)) => invalid_transition(phase, to),
    }
}

/// The `/next` answer: the event with its headers.
fn event(delivery: &Delivery, settings: &Settings) -> Answer {
    let mut res = Response::new(Full::new(delivery.event.clone()));
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&delivery.request_id) {
        h.insert(REQUEST_ID, v);
    }
    h.insert(
        DEADLINE_MS,
        HeaderValue::from(deadline_ms(delivery, settings.timeout) as u64),
    );
    h.insert(FUNCTION_ARN, settings.function_arn.clone());
    if let Ok(v) = HeaderValue::from_str(&trace_id(delivery)) {
        h.insert(TRACE_ID, v);
    }
    if let Some(Ok(v)) = delivery
        .client_context
        .as_deref()
        .map(HeaderValue::from_str)
    {
        h.insert(CLIENT_CONTEXT, v);
    }
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        let p = invocation_step;
        assert_eq!(
            p("/2018-06-01/runtime/invocation/abc/response"),
            Some(Step::Response("abc"))
        );
        assert_eq!(
            p("/2018-06-01/runtime/invocation/abc/error"),
            Some(Step::Error("abc"))
        );
        assert_eq!(p("/2018-06-01/runtime/invocation//response"), None);
        assert_eq!(p("/2018-06-01/runtime/invocation/abc/other"), None);
        assert_eq!(p("/2018-06-01/runtime/invocation/a/b/response"), None);
        assert_eq!(p("/runtime/invocation/abc/response"), None);
    }

    #[test]
    fn dates() {
        let at = |secs| utc_date(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970/01/01");
        assert_eq!(at(951_782_400), "2000/02/29");
        assert_eq!(at(1_709_164_800), "2024/02/29");
        assert_eq!(at(1_735_689_599), "2024/12/31");
        assert_eq!(at(1_735_689_600), "2025/01/01");
    }

    #[test]
    fn headers_of_an_event() {
        let cfg = FunctionConfig {
            function_name: "hello".into(),
            region: "us-east-1".into(),
            ..Default::default()
        };
        let settings = Settings::new(&cfg);
        let delivery = Delivery {
            request_id: "req-1".into(),
            event: Bytes::from_static(b"{}"),
            queued_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            client_context: Some(r#"{"custom":{"a":"b"}}"#.into()),
        };
        let res = event(&delivery, &settings);
        let h = res.headers();
        assert_eq!(h["lambda-runtime-aws-request-id"], "req-1");
        assert_eq!(h["lambda-runtime-deadline-ms"], "1700000003123");
        assert_eq!(
            h["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:hello"
        );
        assert_eq!(
            h["lambda-runtime-client-context"],
            r#"{"custom":{"a":"b"}}"#
        );
        let trace = h["lambda-runtime-trace-id"].to_str().unwrap();
        assert!(trace.starts_with("Root=1-6553f100-"), "{trace}");
        assert_eq!(trace.len(), "Root=1-6553f100-".len() + 24 + 8 + 16 + 10);
        assert!(trace.ends_with(";Sampled=0"), "{trace}");
        // The same event asked for twice: the same trace.
        assert_eq!(trace, trace_id(&delivery));
    }

    #[test]
    fn empty_error_bodies_take_the_type() {
        let t = HeaderValue::from_static("Runtime.Unknown");
        assert_eq!(&error_text(Some(&t), Bytes::new())[..], b"Runtime.Unknown");
        assert_eq!(&error_text(Some(&t), Bytes::from_static(b"x"))[..], b"x");
        assert_eq!(&error_text(None, Bytes::new())[..], b"");
    }
}
