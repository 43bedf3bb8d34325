//! The local endpoint of `scf-local run`: events in over HTTP, results out.
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /invoke` (body: the event) | `200` with the result JSON, whatever its status code |
//! | `POST /invoke` with a body that is not JSON | `400` with `{"Response": {"Error": {"Code": "InvalidParameterValue", …}, "RequestId": …}}` |
//! | a `Host` other than `localhost` or an IP address (a DNS name: rebinding) | `403` in the same envelope (`AuthFailure.UnauthorizedOperation`) |
//! | a body that has not all arrived within [`BODY_TIMEOUT`] | `408` in the same envelope (`InvalidParameter`; the `Invoke` action answers `200` with it, as the API does) |
//! | a body for which there is no room among [`BODIES_IN_FLIGHT`] bytes now | `503` in the same envelope (`RequestLimitExceeded`; `200` for the `Invoke` action), before any body byte is read |
//! | `POST /` with `X-TC-Action: Invoke` ([`serve_replaceable`] only) | the TencentCloud API's `Invoke` for SDK callers: `{"Response": {"Result": {…}, "RequestId": …}}` |
//! | anything else | `404` in the same envelope (`ResourceNotFound`) |
//!
//! Each invocation runs in its own task, so a client that hangs up does not take a warm
//! instance down with it.
//!
//! The `Invoke` action takes `FunctionName` (the function's own name, else
//! `ResourceNotFound.Function`), `ClientContext` (the event, default `{}`),
//! `InvocationType` (`RequestResponse`, or `Event`: answered at once, run in the background)
//! and `LogType` (`Tail` returns the log's tail in `Log`); `Namespace` and `Qualifier` are
//! accepted and not used (one function). Like `POST /invoke`, it has no authentication
//! (the signature is not checked, any key works) and answers only `Host` names of this
//! machine; `scf-local serve` is the emulator that checks TC3 signatures.

use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::event;
use crate::pool::{new_request_id, Pool, ReplaceablePool};
use crate::result::{InvocationResult, Status};

/// The path events are posted to.
pub const INVOKE: &str = "/invoke";

/// Serves `POST /invoke` on `listener` for `pool` until `shutdown` completes. With
/// `print_logs`, each invocation's `Log` is written to stderr.
///
/// The endpoint has no authentication, so it answers only requests whose `Host` is
/// `localhost` or an IP address (any port, or none): a page in a browser that reaches the
/// port through a DNS name it controls (DNS rebinding) sends that name, and is refused with
/// 403.
pub async fn serve(
    listener: TcpListener,
    pool: Pool,
    print_logs: bool,
    shutdown: impl Future<Output = ()>,
) {
    crate::http_server::serve_until(listener, Default::default(), None, shutdown, move |req| {
        handle(req, pool.clone(), print_logs, false)
    })
    .await;
}

/// [`serve`] for the pool current in `pools` at each call (one replaced meanwhile finishes
/// the calls it has), and the TencentCloud `Invoke` action on `POST /` besides
/// `POST /invoke`. What `cargo scf watch` serves while it swaps in new builds.
pub async fn serve_replaceable(
    listener: TcpListener,
    pools: ReplaceablePool,
    print_logs: bool,
    shutdown: impl Future<Output = ()>,
) {
    crate::http_server::serve_until(listener, Default::default(), None, shutdown, move |req| {
        handle(req, pools.current(), print_logs, true)
    })
    .await;
}

/// Whether `host` (a `Host` header) is `localhost` or an IP address, with or without a port:
/// names a DNS rebinding cannot produce.
fn names_this_machine(host: &str) -> bool {
    match crate::http_server::split_host(host) {
        Some((Ok(_ip), _)) => true,
        Some((Err(name), _)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

fn json(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(body)));
    *res.status_mut() = status;
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    res
}

/// The cloud API's error envelope.
pub fn api_error(code: &str, message: &str) -> String {
    serde_json::json!({
        "Response": {"Error": {"Code": code, "Message": message}, "RequestId": new_request_id()}
    })
    .to_string()
}

async fn handle(
    req: Request<Incoming>,
    pool: Pool,
    print_logs: bool,
    cloud_api: bool,
) -> Response<Full<Bytes>> {
    let host = req
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !names_this_machine(host) {
        let message = format!(
            "this endpoint answers requests for localhost or an IP address only, not Host \
             {host:?} (a page in a browser may reach a local server through a DNS name it \
             controls)",
            host = host.chars().take(64).collect::<String>(),
        );
        return json(
            StatusCode::FORBIDDEN,
            api_error("AuthFailure.UnauthorizedOperation", &message),
        );
    }
    if cloud_api && req.uri().path() == "/" && req.headers().contains_key(ACTION) {
        return cloud_invoke(req, pool, print_logs).await;
    }
    if req.uri().path() != INVOKE {
        return json(
            StatusCode::NOT_FOUND,
            api_error("ResourceNotFound", "POST the event to /invoke"),
        );
    }
    if req.method() != Method::POST {
        return json(
            StatusCode::METHOD_NOT_ALLOWED,
            api_error("UnsupportedOperation", "POST the event to /invoke"),
        );
    }
    let limit = pool.config().event_limit;
    let event = match read_body(req, limit).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            let result = InvocationResult::failed(
                Status::RequestTooLarge,
                new_request_id(),
                format!("the event is over the {limit} byte limit"),
                String::new(),
            );
            return json(StatusCode::OK, result.to_json());
        }
        Err(BodyError::TimedOut) => {
            return json(
                StatusCode::REQUEST_TIMEOUT,
                api_error("InvalidParameter", &body_timed_out()),
            )
        }
        Err(BodyError::Busy) => {
            return json(
                StatusCode::SERVICE_UNAVAILABLE,
                api_error("RequestLimitExceeded", &busy()),
            )
        }
    };
    if let Err(e) = event::check_json(&event) {
        return json(
            StatusCode::BAD_REQUEST,
            api_error(event::InvalidEvent::CODE, &e.message()),
        );
    }
    match run(pool, new_request_id(), event, print_logs).await {
        Some(result) => json(StatusCode::OK, result.to_json()),
        None => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            api_error("InternalError", "the invocation failed"),
        ),
    }
}

/// How long a request body may take to arrive once its head has: 60 s, as `serve`'s
/// default (a client that promises a body and stalls does not hold its connection longer).
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Bytes of request bodies this process reads at once, over every connection: 32 MB, as
/// `serve`'s default. A request that would go over is refused before its body is read, so
/// many clients that each announce a large body cannot make the server hold them all.
pub const BODIES_IN_FLIGHT: usize = 32 << 20;

/// Room for request bodies, one permit a byte ([`BODIES_IN_FLIGHT`]).
static BODIES: Semaphore = Semaphore::const_new(BODIES_IN_FLIGHT);

/// Why a request body was not read.
enum BodyError {
    /// Over the limit (announced or sent), or cut short (the client went away: nobody reads
    /// the answer).
    TooLarge,
    /// Not all there within [`BODY_TIMEOUT`].
    TimedOut,
    /// No room among [`BODIES_IN_FLIGHT`] bytes now.
    Busy,
}

/// Reads the body of `req`, at most `limit` bytes within [`BODY_TIMEOUT`], holding room for
/// it among [`BODIES_IN_FLIGHT`] bytes while it arrives: as many bytes as its
/// `Content-Length` announces (refused at once when over `limit`), else `limit`.
async fn read_body(req: Request<Incoming>, limit: usize) -> Result<Bytes, BodyError> {
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let room = match announced {
        Some(n) if n > limit as u64 => None,
        Some(n) => Some(n as usize),
        None => Some(limit),
    };
    let held = room.filter(|&n| n <= BODIES_IN_FLIGHT).map(|n| {
        // `n` <= 32 MB fits a u32.
        (n, BODIES.try_acquire_many(n as u32))
    });
    let (room, _held) = match held {
        Some((room, Ok(permit))) => (room, permit),
        refused => {
            // Answered without the body: drained, not kept, so that a client that writes it
            // all before reading reads the answer.
            let (parts, body) = req.into_parts();
            crate::http_server::drain(body, &parts.headers, 2 * limit as u64, BODY_TIMEOUT);
            return Err(match refused {
                Some((_, Err(_))) => BodyError::Busy,
                _ => BodyError::TooLarge,
            });
        }
    };
    match tokio::time::timeout(BODY_TIMEOUT, Limited::new(req.into_body(), room).collect()).await {
        Ok(Ok(body)) => Ok(body.to_bytes()),
        Ok(Err(_)) => Err(BodyError::TooLarge),
        Err(_) => Err(BodyError::TimedOut),
    }
}

/// The message of [`BodyError::Busy`].
fn busy() -> String {
    format!(
        "this server is reading {BODIES_IN_FLIGHT} bytes of request bodies already; try again \
         when one has arrived"
    )
}

fn body_timed_out() -> String {
    format!(
        "the request body did not arrive within {} s",
        BODY_TIMEOUT.as_secs()
    )
}

/// Runs one invocation in a task of its own and writes its log to stderr with `print_logs`.
/// `None` if the task failed.
async fn run(
    pool: Pool,
    request_id: String,
    event: Bytes,
    print_logs: bool,
) -> Option<InvocationResult> {
    let task = tokio::spawn(async move { pool.invoke_with_id(request_id, event).await });
    let result = task.await.ok()?;
    if print_logs {
        use std::io::Write as _;
        let _ = write!(std::io::stderr().lock(), "{}", result.log);
    }
    Some(result)
}

/// The header naming a TencentCloud API action.
const ACTION: &str = "x-tc-action";

/// The TencentCloud API's answer: `fields` in `Response`, with a `RequestId`.
fn cloud_answer(fields: serde_json::Value) -> Response<Full<Bytes>> {
    json(
        StatusCode::OK,
        serde_json::json!({ "Response": fields }).to_string(),
    )
}

/// The API's error envelope, sent with status 200 as the API does.
fn cloud_error(code: &str, message: &str) -> Response<Full<Bytes>> {
    json(StatusCode::OK, api_error(code, message))
}

/// `Invoke` of the TencentCloud API, for the function `pool` runs.
async fn cloud_invoke(
    req: Request<Incoming>,
    pool: Pool,
    print_logs: bool,
) -> Response<Full<Bytes>> {
    let action = req.headers().get(ACTION).and_then(|v| v.to_str().ok());
    if action != Some("Invoke") {
        let action: String = action.unwrap_or("").chars().take(64).collect();
        return cloud_error(
            "InvalidAction",
            &format!("this endpoint runs one function: it has the action Invoke, not {action:?}"),
        );
    }
    let limit = pool.config().event_limit;
    // The event is a JSON string inside the parameters: escaping can double it.
    let body = match read_body(req, 2 * limit + 64 * 1024).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => {
            return cloud_error(
                "InvalidParameter.RequestTooLarge",
                &format!("the request is over {} bytes", 2 * limit + 64 * 1024),
            )
        }
        Err(BodyError::TimedOut) => return cloud_error("InvalidParameter", &body_timed_out()),
        Err(BodyError::Busy) => return cloud_error("RequestLimitExceeded", &busy()),
    };
    let params: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            return cloud_error(
                "InvalidParameter",
                "the request body must be a JSON object of parameters",
            )
        }
    };
    let (asynchronous, tail, event) = match invoke_params(&params, pool.config()) {
        Ok(checked) => checked,
        Err((code, message)) => return cloud_error(code, &message),
    };
    let request_id = new_request_id();
    if asynchronous {
        tokio::spawn(run(pool, request_id.clone(), event, print_logs));
        let queued =
            InvocationResult::failed(Status::Success, request_id, String::new(), String::new());
        return cloud_answer(result_value(&queued, false));
    }
    match run(pool, request_id, event, print_logs).await {
        Some(result) => cloud_answer(result_value(&result, tail)),
        None => cloud_error("InternalError", "the invocation failed"),
    }
}

/// The checked parameters of `Invoke` for the function of `config`: whether it is an
/// `Event` invocation, whether the log's tail is wanted, and the event. An error is the
/// API's code and message.
fn invoke_params(
    params: &serde_json::Value,
    config: &crate::FunctionConfig,
) -> Result<(bool, bool, Bytes), (&'static str, String)> {
    let text = |key: &str| match &params[key] {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::String(s) => Ok(Some(s.as_str())),
        _ => Err(("InvalidParameterValue", format!("{key} must be a string"))),
    };
    let name = text("FunctionName")?.unwrap_or("");
    if name != config.function_name {
        let name: String = name.chars().take(64).collect();
        return Err((
            "ResourceNotFound.Function",
            format!(
                "Function not found: {name:?} (this endpoint runs {})",
                config.function_name
            ),
        ));
    }
    let asynchronous = match text("InvocationType")?.unwrap_or("RequestResponse") {
        "RequestResponse" | "" => false,
        "Event" => true,
        _ => {
            return Err((
                "InvalidParameterValue.InvokeType",
                "InvocationType is RequestResponse or Event".to_owned(),
            ))
        }
    };
    let tail = match text("LogType")?.unwrap_or("None") {
        "None" | "" => false,
        "Tail" => true,
        _ => {
            return Err((
                "InvalidParameterValue",
                "LogType is None or Tail".to_owned(),
            ))
        }
    };
    let event = text("ClientContext")?.unwrap_or("{}");
    if event.len() > config.event_limit {
        return Err((
            "InvalidParameter.RequestTooLarge",
            format!(
                "the event is {} bytes, over the {} byte limit",
                event.len(),
                config.event_limit
            ),
        ));
    }
    if let Err(e) = event::check_json(event.as_bytes()) {
        return Err((
            "InvalidParameterValue.ClientContext",
            format!("ClientContext: {}", e.message()),
        ));
    }
    Ok((asynchronous, tail, Bytes::copy_from_slice(event.as_bytes())))
}

/// `{"Result": {…}, "RequestId": …}` of a result, `Log` emptied unless `tail`.
fn result_value(result: &InvocationResult, tail: bool) -> serde_json::Value {
    let mut value: serde_json::Value = serde_json::from_str(&result.to_json()).unwrap_or_default();
    if !tail {
        value["Result"]["Log"] = "".into();
    }
    value
}

#[cfg(test)]
mod tests {
    use super::{invoke_params, names_this_machine};

    #[test]
    fn invoke_parameters() {
        let config = crate::FunctionConfig {
            function_name: "f".into(),
            event_limit: 16,
            ..Default::default()
        };
        let check = |params: serde_json::Value| invoke_params(&params, &config);
        let (asynchronous, tail, event) = check(serde_json::json!({
            "FunctionName": "f", "ClientContext": "{\"a\":1}", "LogType": "Tail"
        }))
        .unwrap();
        assert_eq!(
            (asynchronous, tail, &event[..]),
            (false, true, &b"{\"a\":1}"[..])
        );
        let (asynchronous, tail, event) =
            check(serde_json::json!({"FunctionName": "f", "InvocationType": "Event"})).unwrap();
        assert_eq!((asynchronous, tail, &event[..]), (true, false, &b"{}"[..]));
        // Table: (parameters, the error's code).
        let cases = [
            (serde_json::json!({}), "ResourceNotFound.Function"),
            (
                serde_json::json!({"FunctionName": "g"}),
                "ResourceNotFound.Function",
            ),
            (
                serde_json::json!({"FunctionName": 1}),
                "InvalidParameterValue",
            ),
            (
                serde_json::json!({"FunctionName": "f", "InvocationType": "Later"}),
                "InvalidParameterValue.InvokeType",
            ),
            (
                serde_json::json!({"FunctionName": "f", "LogType": "All"}),
                "InvalidParameterValue",
            ),
            (
                serde_json::json!({"FunctionName": "f", "ClientContext": "{not json"}),
                "InvalidParameterValue.ClientContext",
            ),
            (
                serde_json::json!({"FunctionName": "f", "ClientContext": "[1,2,3,4,5,6,7,8,9]"}),
                "InvalidParameter.RequestTooLarge",
            ),
        ];
        for (params, code) in cases {
            let err = check(params.clone()).unwrap_err();
            assert_eq!(err.0, code, "{params}: {}", err.1);
        }
    }

    #[test]
    fn hosts() {
        // Table: (Host header, answered?).
        let cases = [
            ("127.0.0.1:9000", true),
            ("127.0.0.1", true),
            ("localhost:9000", true),
            ("LOCALHOST", true),
            ("[::1]:9000", true),
            ("[::1]", true),
            ("10.0.0.2:9000", true),
            ("rebind.example:9000", false),
            ("rebind.example", false),
            ("localhost.rebind.example:9000", false),
            ("127.0.0.1:x", false),
            ("[::1]x", false),
            ("[nope]:1", false),
            ("", false),
        ];
        for (host, ok) in cases {
            assert_eq!(names_this_machine(host), ok, "{host:?}");
        }
    }
}
