//! The local endpoint of `scf-local run`: events in over HTTP, results out.
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /invoke` (body: the event) | `200` with the result JSON, whatever its status code |
//! | `POST /invoke` with a body that is not JSON | `400` with `{"Response": {"Error": {"Code": "InvalidParameterValue", …}, "RequestId": …}}` |
//! | anything else | `404` in the same envelope (`ResourceNotFound`) |
//!
//! Each invocation runs in its own task, so a client that hangs up does not take a warm
//! instance down with it.

use std::future::Future;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::event;
use crate::pool::{new_request_id, Pool};
use crate::result::{InvocationResult, Status};

/// The path events are posted to.
pub const INVOKE: &str = "/invoke";

/// Serves `POST /invoke` on `listener` for `pool` until `shutdown` completes. With
/// `print_logs`, each invocation's `Log` is written to stderr.
pub async fn serve(
    listener: TcpListener,
    pool: Pool,
    print_logs: bool,
    shutdown: impl Future<Output = ()>,
) {
    crate::http_server::serve_until(listener, Default::default(), None, shutdown, move |req| {
        handle(req, pool.clone(), print_logs)
    })
    .await;
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

async fn handle(req: Request<Incoming>, pool: Pool, print_logs: bool) -> Response<Full<Bytes>> {
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
    let event = match Limited::new(req.into_body(), limit).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            let result = InvocationResult::failed(
                Status::RequestTooLarge,
                new_request_id(),
                format!("the event is over the {limit} byte limit"),
                String::new(),
            );
            return json(StatusCode::OK, result.to_json());
        }
    };
    if let Err(e) = event::check_json(&event) {
        return json(
            StatusCode::BAD_REQUEST,
            api_error(event::InvalidEvent::CODE, &e.message()),
        );
    }
    let task = tokio::spawn(async move { pool.invoke(event).await });
    match task.await {
        Ok(result) => {
            if print_logs {
                use std::io::Write as _;
                let _ = write!(std::io::stderr().lock(), "{}", result.log);
            }
            json(StatusCode::OK, result.to_json())
        }
        Err(_) => json(
            StatusCode::INTERNAL_SERVER_ERROR,
            api_error("InternalError", "the invocation failed"),
        ),
    }
}
