//! The local endpoint of `scf-local run`: events in over HTTP, results out.
//!
//! | method and path | answer |
//! |---|---|
//! | `POST /invoke` (body: the event) | `200` with the result JSON, whatever its status code |
//! | `POST /invoke` with a body that is not JSON | `400` with `{"Response": {"Error": {"Code": "InvalidParameterValue", …}, "RequestId": …}}` |
//! | a `Host` other than `localhost` or an IP address (a DNS name: rebinding) | `403` in the same envelope (`AuthFailure.UnauthorizedOperation`) |
//! | anything else | `404` in the same envelope (`ResourceNotFound`) |
//!
//! Each invocation runs in its own task, so a client that hangs up does not take a warm
//! instance down with it.

use std::future::Future;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE, HOST};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::event;
use crate::pool::{new_request_id, Pool};
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
        handle(req, pool.clone(), print_logs)
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

async fn handle(req: Request<Incoming>, pool: Pool, print_logs: bool) -> Response<Full<Bytes>> {
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

#[cfg(test)]
mod tests {
    use super::names_this_machine;

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
