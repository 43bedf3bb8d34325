//! The API Gateway ⇄ `http` adapter against a matrix of events and responses, and its
//! handler wrapper end to end in-process (event bytes in, integration response JSON out).

use std::borrow::Cow;
use std::time::Instant;

use base64::Engine as _;
use http::{Method, Request, Response, StatusCode};
use scf_bootstrap::{Context, Environment, IntoOutcome as _, Outcome, Reply};
use scf_events::apigw::{self, IntegrationResponse};
use scf_events::apigw_http::{self, gateway, Body};
use scf_events::{parse, samples};
use serde_json::{json, Value};

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// The request the adapter makes of `event` (JSON).
fn req(event: &Value) -> Request<Vec<u8>> {
    let text = event.to_string();
    let parsed = parse::<apigw::Request>(text.as_bytes()).unwrap();
    apigw_http::request(parsed).unwrap().map(Cow::into_owned)
}

fn req_err(event: &Value) -> String {
    let text = event.to_string();
    // Not `unwrap_err`: a request of 40,000 headers is no message to print.
    match parse::<apigw::Request>(text.as_bytes()).and_then(apigw_http::request) {
        Ok(_) => panic!("the event should be refused"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn the_documented_sample_becomes_a_post_with_query_headers_body_and_gateway_facts() {
    let event: Value = serde_json::from_str(samples::find("apigw").unwrap().json).unwrap();
    let r = req(&event);
    assert_eq!(r.method(), Method::POST);
    assert_eq!(r.uri().path(), "/test/value");
    assert_eq!(r.uri().query(), Some("bob=alice&foo=bar"));
    assert_eq!(r.headers()["user-agent"], "User Agent String");
    assert_eq!(r.headers()["accept-language"], "en-US,en,cn");
    assert_eq!(r.body(), br#"{"test":"body"}"#);
    let g = gateway(&r).unwrap();
    assert_eq!(g.path_parameters["path"], "value");
    assert_eq!(g.stage_variables["stage"], "release");
    assert_eq!(g.query_string_parameters["foo"], "bar");
    assert_eq!(g.header_parameters["Refer"], "10.0.2.14");
    assert_eq!(g.resource_path.as_deref(), Some("/test/{path}"));
    assert_eq!(g.stage.as_deref(), Some("release"));
    assert_eq!(g.secret_id.as_deref(), Some("abdcdxxxxxxxsdfs"));
    assert_eq!(g.source_ip.as_deref(), Some("10.0.2.14"));
}

#[test]
fn every_method_is_carried() {
    for m in [
        "GET",
        "HEAD",
        "POST",
        "PUT",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "ANY-CUSTOM",
    ] {
        let r = req(&json!({"httpMethod": m, "path": "/"}));
        assert_eq!(r.method().as_str(), m);
    }
}

#[test]
fn an_event_with_only_method_and_path_is_an_empty_request() {
    let r = req(&json!({"httpMethod": "GET", "path": "/x"}));
    assert_eq!(r.uri(), "/x");
    assert!(r.headers().is_empty());
    assert!(r.body().is_empty());
    assert_eq!(gateway(&r).unwrap(), &apigw_http::Gateway::default());
}

#[test]
fn repeated_query_keys_bare_keys_and_escapes_make_the_query_string() {
    let r = req(&json!({
        "httpMethod": "GET",
        "path": "/q",
        "queryString": {"id": ["1", "2"], "debug": true, "off": false, "q": "a b&c=d", "名": "值"}
    }));
    assert_eq!(
        r.uri().query(),
        Some("debug&id=1&id=2&q=a+b%26c%3Dd&%E5%90%8D=%E5%80%BC")
    );
}

#[test]
fn a_path_with_characters_a_uri_cannot_hold_is_percent_encoded() {
    let r = req(&json!({"httpMethod": "GET", "path": "/a b/ü/%41\"<>"}));
    assert_eq!(r.uri().path(), "/a%20b/%C3%BC/%41%22%3C%3E");
    let r = req(&json!({"httpMethod": "GET", "path": "no-slash"}));
    assert_eq!(r.uri().path(), "/no-slash");
}

#[test]
fn a_list_header_value_becomes_repeated_headers() {
    let r = req(&json!({
        "httpMethod": "GET", "path": "/",
        "headers": {"X-Many": ["a", "b"], "Cookie": "k=v; k2=v2"}
    }));
    let many: Vec<_> = r.headers().get_all("x-many").iter().collect();
    assert_eq!(many, ["a", "b"]);
    assert_eq!(r.headers()["cookie"], "k=v; k2=v2");
}

#[test]
fn a_base64_body_is_decoded_and_binary_bytes_survive() {
    let bytes: Vec<u8> = (0..=255).collect();
    let r = req(&json!({
        "httpMethod": "POST", "path": "/bin",
        "isBase64Encoded": true, "body": B64.encode(&bytes)
    }));
    assert_eq!(r.body(), &bytes);
}

#[test]
fn an_unescaped_body_is_borrowed_from_the_event() {
    let text = r#"{"httpMethod":"POST","path":"/","body":"plain text"}"#;
    let event = parse::<apigw::Request>(text.as_bytes()).unwrap();
    let r = apigw_http::request(event).unwrap();
    assert!(matches!(r.body(), Cow::Borrowed(b"plain text")));
}

#[test]
fn what_http_cannot_express_is_an_error_naming_the_field() {
    let cases = [
        (json!({"httpMethod": "G T", "path": "/"}), "at `httpMethod`"),
        (
            json!({"httpMethod": "GET", "path": "/", "headers": {"bad name": "v"}}),
            "at `headers.bad name`",
        ),
        (
            json!({"httpMethod": "GET", "path": "/", "headers": {"x": "line\nbreak"}}),
            "at `headers.x`",
        ),
        (
            json!({"httpMethod": "POST", "path": "/", "isBase64Encoded": true, "body": "***"}),
            "at `body`: not base64",
        ),
        (
            json!({"httpMethod": 5, "path": "/"}),
            "at `httpMethod`: invalid type",
        ),
        (json!({"path": "/"}), "missing field `httpMethod`"),
        (
            json!({"httpMethod": "GET", "path": "/", "queryString": {"a": 1}}),
            "at `queryString.a`",
        ),
    ];
    for (event, needle) in cases {
        let e = req_err(&event);
        assert!(e.starts_with("bad apigw event"), "{e}");
        assert!(e.contains(needle), "{event}: {e}");
    }
}

#[test]
fn more_headers_than_a_header_map_holds_is_an_error_not_a_panic() {
    // http::HeaderMap holds at most 32,768 names.
    let headers: serde_json::Map<String, Value> =
        (0..40_000).map(|i| (format!("x{i}"), json!("v"))).collect();
    let e = req_err(&json!({"httpMethod": "GET", "path": "/", "headers": headers}));
    assert!(e.starts_with("bad apigw event at `headers`"), "{e}");
}

fn response<B: AsRef<[u8]>>(r: &Response<B>) -> Value {
    serde_json::to_value(apigw_http::integration_response(r)).unwrap()
}

#[test]
fn a_text_response_is_sent_as_text_with_its_status_and_headers() {
    let r = Response::builder()
        .status(StatusCode::CREATED)
        .header("content-type", "application/json; charset=utf-8")
        .header("set-cookie", "a=1")
        .header("set-cookie", "b=2")
        .body(r#"{"ok":true}"#)
        .unwrap();
    assert_eq!(
        response(&r),
        json!({
            "isBase64Encoded": false,
            "statusCode": 201,
            "headers": {"content-type": "application/json; charset=utf-8", "set-cookie": "a=1, b=2"},
            "body": r#"{"ok":true}"#
        })
    );
}

#[test]
fn binary_bodies_and_binary_content_types_are_sent_as_base64() {
    let bytes = vec![0u8, 159, 146, 150, 255];
    let r = Response::new(bytes.clone());
    let v = response(&r);
    assert_eq!(v["isBase64Encoded"], true);
    assert_eq!(B64.decode(v["body"].as_str().unwrap()).unwrap(), bytes);
    // UTF-8 bytes, but an image: base64 all the same.
    let r = Response::builder()
        .header("content-type", "image/png")
        .body(b"PNG".to_vec())
        .unwrap();
    let v = response(&r);
    assert_eq!(v["isBase64Encoded"], true);
    assert_eq!(v["body"], "UE5H");
}

#[test]
fn an_empty_response_has_an_empty_text_body() {
    let v = response(&Response::new(Vec::<u8>::new()));
    assert_eq!(
        v,
        json!({"isBase64Encoded": false, "statusCode": 200, "headers": {}, "body": ""})
    );
}

/// Runs `f` through the `main!`-ready wrapper on `event` and returns the outcome and reply.
fn call<R>(f: fn(Request<Body<'_>>, &Context<'_>) -> R, event: &[u8]) -> (Outcome, String)
where
    R: apigw_http::IntoResponse,
{
    let env = Environment::default();
    let ctx = Context::new("req-1", 128, 3000, Instant::now(), &env);
    let mut reply = Reply::default();
    let mut h = apigw_http::handler(f);
    let outcome = h(event, &ctx, &mut reply).into_outcome(&mut reply);
    (
        outcome,
        String::from_utf8(reply.as_bytes().to_vec()).unwrap(),
    )
}

fn echo(req: Request<Body<'_>>, _: &Context<'_>) -> Response<Vec<u8>> {
    Response::builder()
        .header("x-method", req.method().as_str())
        .header("content-type", "application/octet-stream")
        .body(req.into_body().into_owned())
        .unwrap()
}

fn refuse(_: Request<Body<'_>>, ctx: &Context<'_>) -> Result<Response<String>, String> {
    Err(format!("refused {}", ctx.request_id()))
}

#[test]
fn the_wrapper_answers_the_integration_response_of_the_handler() {
    let body = B64.encode([1u8, 2, 3]);
    let event = json!({"httpMethod": "PUT", "path": "/e", "isBase64Encoded": true, "body": body});
    let (outcome, reply) = call(echo, event.to_string().as_bytes());
    assert_eq!(outcome, Outcome::Success);
    let v: Value = serde_json::from_str(&reply).unwrap();
    let r = parse::<IntegrationResponse>(reply.as_bytes()).unwrap();
    assert_eq!(r.status_code, 200);
    assert!(r.is_base64_encoded);
    assert_eq!(r.body, body.as_str());
    assert_eq!(v["headers"]["x-method"], "PUT");
}

#[test]
fn the_wrappers_errors_are_failures_with_the_message() {
    let (outcome, reply) = call(refuse, br#"{"httpMethod":"GET","path":"/"}"#);
    assert_eq!(outcome, Outcome::Failure);
    assert_eq!(reply, "refused req-1");
    let (outcome, reply) = call(echo, br#"{"httpMethod":"GET","path":[]}"#);
    assert_eq!(outcome, Outcome::Failure);
    assert!(
        reply.starts_with("bad apigw event at `path`: invalid type"),
        "{reply}"
    );
}
