//! An API Gateway function written as HTTP: a small router on `http::Request` and
//! `http::Response`, wrapped for the runtime by `scf_events::apigw_http::handler`.
//!
//! - `GET /hello/{name}` → `200` `{"message":"Hello, {name}!"}`
//! - `POST /echo` → `200` with the request's body and `Content-Type`
//! - anything else → `404` `{"error":"no route for <METHOD> <path>"}`
//!
//! Run it on the documented API Gateway sample (a `POST /test/value`, so a 404):
//! `scf-local invoke target/x86_64-unknown-linux-musl/bootstrap/examples/apigw --event-example apigw`
//! after `cargo bootstrap --example apigw` (the code argument is a directory or zip with a
//! `bootstrap`; `scf-local pack --bootstrap … -o apigw.zip` makes one). serde_json and
//! `http` are linked only into this bootstrap.

use http::header::CONTENT_TYPE;
use http::{Method, Request, Response, StatusCode};
use scf_bootstrap::Context;
use scf_events::apigw_http::Body;
use serde_json::json;

fn json_response(status: StatusCode, body: serde_json::Value) -> Response<Vec<u8>> {
    let mut resp = Response::new(body.to_string().into_bytes());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, "application/json".parse().unwrap());
    resp
}

fn route(req: Request<Body<'_>>, _ctx: &Context) -> Response<Vec<u8>> {
    let path = req.uri().path();
    match (req.method(), path.strip_prefix("/hello/")) {
        (&Method::GET, Some(name)) if !name.is_empty() && !name.contains('/') => json_response(
            StatusCode::OK,
            json!({ "message": format!("Hello, {name}!") }),
        ),
        _ if req.method() == Method::POST && path == "/echo" => {
            let mut resp = Response::new(Vec::new());
            if let Some(ct) = req.headers().get(CONTENT_TYPE) {
                resp.headers_mut().insert(CONTENT_TYPE, ct.clone());
            }
            *resp.body_mut() = req.into_body().into_owned();
            resp
        }
        _ => json_response(
            StatusCode::NOT_FOUND,
            json!({ "error": format!("no route for {} {path}", req.method()) }),
        ),
    }
}

scf_bootstrap::main!(scf_events::apigw_http::handler(route));
