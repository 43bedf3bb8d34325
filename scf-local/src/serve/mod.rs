//! `scf-local serve`: the TencentCloud API 3.0 of service `scf` (version `2018-04-16`), so the
//! official SDKs (and `tccli`) work against the emulator with only their endpoint changed.
//!
//! One HTTP/1.1 endpoint, `POST /` (or `GET /?…`), as the cloud's, over plain HTTP or, with
//! [`Server::serve_with`] and a [`tls`] configuration, HTTPS (the only transport of the cloud,
//! `tccli` and the SDKs' defaults):
//!
//! - headers `X-TC-Action`, `X-TC-Version` (`2018-04-16`), `X-TC-Timestamp`, `X-TC-Region`
//!   (optional here), `Authorization` (TC3-HMAC-SHA256, checked by [`crate::tc3::verify`]
//!   unless the server runs with `--no-auth`);
//! - parameters as a JSON object (`Content-Type: application/json`), or form-encoded in the
//!   query of a GET or the body of a form POST;
//! - every answer is HTTP 200 with `Content-Type: application/json` and
//!   `{"Response": {…, "RequestId": …}}`, errors included
//!   (`{"Response": {"Error": {"Code", "Message"}, "RequestId"}}`): the SDKs read the code
//!   from the body, and treat any other status as a network failure.
//!
//! A request is bounded before its body is read: the head within `head_timeout` and 64 KB
//! (also the idle time of a keep-alive connection), at most `max_connections` at once; then,
//! with no body byte read, the `Content-Length` within `request_limit`, the `Host` (under
//! `--no-auth`: `localhost` or an IP address with the server's port, so a page in a browser
//! cannot reach the API through DNS rebinding), and the signature's head
//! ([`crate::tc3::check_head`]: well-formed, a known `SecretId`, a timestamp in the window).
//! The body is then read within `body_timeout`, holding room among `bodies_in_flight` bytes
//! shared by every connection until the answer is built (`RequestLimitExceeded` when no room
//! comes in time). A body refused unread is read and thrown away in the background, at most
//! twice `request_limit` within `body_timeout`, so the client can read the answer.
//!
//! | file | concern |
//! |---|---|
//! | `mod.rs` | HTTP: size caps, headers, signature, parameters, the envelope |
//! | [`dispatch`] | which action runs a call; what an action answers |
//! | [`validation`] | the checks of parameters several actions share, with the platform's rules |
//! | [`code`] | a function's code: the base64 zip of `ZipFile` |
//! | [`functions`] | `CreateFunction`, `UpdateFunction…`, `GetFunction`, `ListFunctions`, `DeleteFunction` |
//! | [`invoke`] | `Invoke`, `InvokeFunction`: running an event, recording its result |
//! | [`logs`] | `GetFunctionLogs` |
//! | [`datetime`] | the API's `YYYY-MM-DD HH:MM:SS` UTC times |
//! | [`registry`] | functions in memory, their pools, draining on change |
//! | [`store`] | SQLite: functions, code, invocation logs, durable before the answer |
//! | [`params`] | JSON or form parameters as one tree |
//! | [`error`] | the error envelope |
//! | [`tls`] | `--tls`: the certificate (made once, or the user's) and its rustls configuration |

pub mod code;
pub mod datetime;
pub mod dispatch;
pub mod error;
pub mod functions;
pub mod invoke;
pub mod logs;
pub mod params;
pub mod registry;
pub mod store;
pub mod tls;
pub mod validation;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE, HOST};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};

use crate::http_server::Transport;
use crate::pool::new_request_id;
use crate::tc3::{self, Credential};
use error::ApiError;
use params::Params;
use registry::{PoolSettings, Registry};
use store::Store;

/// The service name in the credential scope.
pub const SERVICE: &str = "scf";

/// The API version served.
pub const VERSION: &str = "2018-04-16";

/// The platform's cap on a TC3-signed POST body: 10 MB.
pub const REQUEST_LIMIT: usize = 10 * 1024 * 1024;

/// The platform's cap on a GET request's query: 32 KB.
pub const QUERY_LIMIT: usize = 32 * 1024;

/// Default of [`ServeOptions::max_connections`].
pub const MAX_CONNECTIONS: usize = 256;

/// Default of [`ServeOptions::head_timeout`]: 30 s.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(30);

/// Default of [`ServeOptions::body_timeout`]: 60 s, 10 MB at 170 KB/s.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);

/// Default of [`ServeOptions::bodies_in_flight`]: 32 MB, three bodies of the platform's
/// largest size.
pub const BODIES_IN_FLIGHT: usize = 32 * 1024 * 1024;

/// The largest request head, bytes: twice [`QUERY_LIMIT`], so a GET at the limit fits.
const MAX_HEAD_BYTES: usize = 2 * QUERY_LIMIT;

/// How `serve` runs.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Where the state database lives.
    pub state_dir: PathBuf,
    /// The keys a request may be signed with.
    pub credentials: Vec<Credential>,
    /// Accept requests without checking their signature.
    pub no_auth: bool,
    /// Settings of every function's instance pool.
    pub pools: PoolSettings,
    /// Largest request body accepted (`RequestSizeLimitExceeded` beyond).
    pub request_limit: usize,
    /// `TENCENTCLOUD_REGION` for functions created without `X-TC-Region`.
    pub default_region: String,
    /// Write each invocation's log to stderr.
    pub print_logs: bool,
    /// Connections held at once; one more is accepted and closed at once.
    pub max_connections: usize,
    /// How long a request head may take to arrive, which is also how long a keep-alive
    /// connection may sit idle and how long a write of an answer may wait for the client to
    /// read.
    pub head_timeout: Duration,
    /// How long a request body may take to arrive in all, counted from the end of its head
    /// (a wait for room among [`bodies_in_flight`](Self::bodies_in_flight) included).
    pub body_timeout: Duration,
    /// Bytes of request bodies held at once, over all connections, from the start of their
    /// reading to the end of their answer (at least `request_limit`).
    pub bodies_in_flight: usize,
    /// A fault for tests: the action of this name panics.
    #[doc(hidden)]
    pub panic_on_action: Option<String>,
}

impl ServeOptions {
    /// Options with the platform's limits, a state directory and no key (set `credentials`
    /// or `no_auth`).
    pub fn new(state_dir: PathBuf) -> ServeOptions {
        ServeOptions {
            state_dir,
            credentials: Vec::new(),
            no_auth: false,
            pools: PoolSettings::default(),
            request_limit: REQUEST_LIMIT,
            default_region: "ap-guangzhou".to_owned(),
            print_logs: false,
            max_connections: MAX_CONNECTIONS,
            head_timeout: HEAD_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            bodies_in_flight: BODIES_IN_FLIGHT,
            panic_on_action: None,
        }
    }
}

/// The API server's state: its options and functions.
pub struct Server {
    options: ServeOptions,
    registry: Registry,
    /// Room for request bodies, one permit a byte ([`ServeOptions::bodies_in_flight`]).
    bodies: Arc<Semaphore>,
}

/// A request body read within the server's bounds, holding its room among the bodies in
/// flight until dropped.
struct Body {
    bytes: Bytes,
    _room: Option<OwnedSemaphorePermit>,
}

/// Now, Unix seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Now, Unix milliseconds.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl Server {
    /// Opens the state directory and loads its functions. Must be called within a tokio
    /// runtime only when invoked later (pools are built on first use).
    pub fn open(mut options: ServeOptions) -> Result<Arc<Server>, ApiError> {
        // One body is counted in permits of a u32; a budget smaller than one body would
        // never admit it.
        options.request_limit = options.request_limit.min(u32::MAX as usize);
        options.bodies_in_flight = options
            .bodies_in_flight
            .clamp(options.request_limit, Semaphore::MAX_PERMITS);
        let store = Arc::new(Store::open(&options.state_dir)?);
        let registry = Registry::open(store, options.pools.clone())?;
        let bodies = Arc::new(Semaphore::new(options.bodies_in_flight));
        Ok(Arc::new(Server {
            options,
            registry,
            bodies,
        }))
    }

    /// The functions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The options.
    pub fn options(&self) -> &ServeOptions {
        &self.options
    }

    /// Serves the API over plain HTTP on `listener` until `shutdown` completes, then stops
    /// every instance.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        self.serve_with(listener, None, shutdown).await
    }

    /// Serves the API on `listener`, over HTTPS with `tls` ([`tls::TlsFiles::server_config`])
    /// or else plain HTTP, until `shutdown` completes, then stops every instance. Every
    /// check and limit is the same either way.
    pub async fn serve_with(
        self: Arc<Self>,
        listener: TcpListener,
        tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
        shutdown: impl Future<Output = ()>,
    ) {
        let local = listener
            .local_addr()
            .unwrap_or(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)));
        let limits = crate::http_server::Limits {
            max_connections: self.options.max_connections,
            head_timeout: self.options.head_timeout,
            max_head_bytes: MAX_HEAD_BYTES,
        };
        let transport = match tls {
            Some(config) => Transport::Tls(config.into()),
            None => Transport::Plain,
        };
        let server = self.clone();
        crate::http_server::serve_over(listener, transport, limits, None, shutdown, move |req| {
            server.clone().handle(req, local)
        })
        .await;
        self.registry.shutdown().await;
    }

    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        local: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let fallback_id = new_request_id();
        // Each call runs in its own task: a panic becomes InternalError, not a dropped
        // connection, and a client hanging up does not cancel a half-done write.
        let task = tokio::spawn(async move {
            let (parts, body) = req.into_parts();
            let mut body = Some(body);
            let reply = self.call(&parts, &mut body, local).await;
            if let Some(unread) = body {
                self.discard(unread, &parts.headers);
            }
            reply
        });
        let body = match task.await {
            Ok(Ok(reply)) => {
                let id = reply.request_id.unwrap_or(fallback_id);
                let mut fields = reply.fields;
                fields.insert("RequestId".to_owned(), id.into());
                serde_json::json!({ "Response": fields }).to_string()
            }
            Ok(Err(e)) => e.envelope(&fallback_id),
            Err(_) => {
                ApiError::internal("the request failed inside scf-local").envelope(&fallback_id)
            }
        };
        let mut res = Response::new(Full::new(Bytes::from(body)));
        *res.status_mut() = StatusCode::OK;
        // Exactly `application/json`: the Python SDK reads errors only with that value.
        res.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        res
    }

    /// Answers one request. Everything that needs no body is checked before `body` is taken.
    async fn call(
        self: &Arc<Self>,
        parts: &Parts,
        body: &mut Option<Incoming>,
        local: SocketAddr,
    ) -> Result<dispatch::Reply, ApiError> {
        let deadline = Instant::now() + self.options.body_timeout;
        if self.options.no_auth {
            check_host(&parts.headers, local)?;
        }
        if parts.uri.path() != "/" {
            return Err(ApiError::new(
                "InvalidAction",
                format!("the API is at /, not {}", shown(parts.uri.path())),
            ));
        }
        let get = match parts.method {
            Method::POST => false,
            Method::GET => true,
            ref m => {
                return Err(ApiError::new(
                    "UnsupportedProtocol",
                    format!("the API takes GET and POST, not {}", shown(m.as_str())),
                ))
            }
        };
        let query = parts.uri.query().unwrap_or("");
        if get && query.len() > QUERY_LIMIT {
            return Err(too_large(query.len() as u64, QUERY_LIMIT, "a GET query"));
        }
        let limit = self.options.request_limit;
        // hyper has checked that a Content-Length is one number.
        let content_length: Option<u64> = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.trim().parse().ok());
        if let Some(n) = content_length.filter(|&n| n > limit as u64) {
            return Err(too_large(n, limit, "the request body"));
        }
        let headers: Vec<(&str, &str)> = parts
            .headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
            .collect();
        let header = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let content_type = header("content-type").unwrap_or("").to_ascii_lowercase();
        let form = content_type.starts_with("application/x-www-form-urlencoded");
        let Some(action) = header("x-tc-action") else {
            // The SDKs' legacy signature (signMethod HmacSHA1/HmacSHA256) puts Action and
            // Signature among the parameters instead: looked for in a query, or in a form
            // body as small as a query may be.
            let small_form =
                !get && form && content_length.is_some_and(|n| n <= QUERY_LIMIT as u64);
            let read = if small_form {
                Some(self.read_body(body, content_length, deadline).await?)
            } else {
                None
            };
            let params: &[u8] = match &read {
                Some(b) => &b.bytes,
                None if get => query.as_bytes(),
                None => b"",
            };
            let legacy = |p: &[u8]| params.windows(p.len()).any(|w| w == p);
            if legacy(b"SignatureMethod=") && legacy(b"Signature=") {
                return Err(ApiError::new(
                    "AuthFailure.SignatureFailure",
                    "HmacSHA1/HmacSHA256 signatures are not accepted here: sign with \
                     TC3-HMAC-SHA256 (the SDKs' default signMethod)",
                ));
            }
            return Err(ApiError::missing("X-TC-Action"));
        };
        let version = header("x-tc-version").ok_or_else(|| ApiError::missing("X-TC-Version"))?;
        if version != VERSION {
            return Err(ApiError::new(
                "NoSuchVersion",
                format!(
                    "scf has no API version {} here: use {VERSION}",
                    shown(version)
                ),
            ));
        }
        let keys = &self.options.credentials;
        if !self.options.no_auth {
            tc3::check_head(&headers, SERVICE, now_secs(), |id| {
                keys.iter().any(|c| c.secret_id == id)
            })
            .map_err(|e| ApiError::new(e.code(), e.message()))?;
        }
        let body = self.read_body(body, content_length, deadline).await?;
        if !self.options.no_auth {
            let signed = tc3::Request {
                method: parts.method.as_str(),
                path: "/",
                // POST signs an empty query; GET its query as sent.
                query: if get { query } else { "" },
                headers: &headers,
                payload: &body.bytes,
            };
            tc3::verify(&signed, SERVICE, now_secs(), |id| {
                keys.iter()
                    .find(|c| c.secret_id == id)
                    .map(|c| c.secret_key.clone())
            })
            .map_err(|e| ApiError::new(e.code(), e.message()))?;
        }
        let params = if get {
            Params::from_form(query)?
        } else if content_type.starts_with("application/json") {
            Params::from_json(&body.bytes)?
        } else if form {
            let text = std::str::from_utf8(&body.bytes)
                .map_err(|_| ApiError::new("InvalidParameter", "parameters must be UTF-8"))?;
            Params::from_form(text)?
        } else {
            return Err(ApiError::new(
                "InvalidParameter",
                format!(
                    "Content-Type {:?} is not taken here: send application/json",
                    shown(&content_type)
                ),
            ));
        };
        if self.options.panic_on_action.as_deref() == Some(action) {
            panic!("a fault injected in {action}");
        }
        let region = header("x-tc-region").unwrap_or(&self.options.default_region);
        // The body's room is held until the answer is built: the parameters and what the
        // action makes of them (a decoded zip) are the body's size again.
        let reply = dispatch::dispatch(self, action, params, region).await;
        drop(body);
        reply
    }

    /// Reads the body (taking it from `slot`) within `request_limit`, the room among the
    /// bodies in flight and `deadline`. Room for a `Content-Length` is taken before the
    /// first byte is read; a chunked body takes it chunk by chunk.
    async fn read_body(
        &self,
        slot: &mut Option<Incoming>,
        content_length: Option<u64>,
        deadline: Instant,
    ) -> Result<Body, ApiError> {
        let limit = self.options.request_limit;
        let mut room: Option<OwnedSemaphorePermit> = None;
        let mut bytes = BytesMut::new();
        if let Some(n) = content_length.filter(|&n| n > 0 && slot.is_some()) {
            // Within `limit`, checked by the caller. Without room the body stays unread in
            // `slot`, for the caller to discard.
            self.take_room(&mut room, n as usize, deadline).await?;
            bytes.reserve(n as usize);
        }
        let Some(mut body) = slot.take() else {
            return Ok(Body {
                bytes: Bytes::new(),
                _room: None,
            });
        };
        loop {
            let frame = match timeout_at(deadline, body.frame()).await {
                Err(_) => {
                    return Err(ApiError::new(
                        "InvalidParameter",
                        format!(
                            "the request body did not arrive within {} s",
                            self.options.body_timeout.as_secs_f64()
                        ),
                    ))
                }
                Ok(None) => break,
                Ok(Some(Err(e))) => {
                    return Err(ApiError::new(
                        "InvalidParameter",
                        format!("cannot read the request body: {e}"),
                    ))
                }
                Ok(Some(Ok(frame))) => frame,
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            if bytes.len() + data.len() > limit {
                return Err(too_large(
                    (bytes.len() + data.len()) as u64,
                    limit,
                    "the request body",
                ));
            }
            if content_length.is_none() && !data.is_empty() {
                self.take_room(&mut room, data.len(), deadline).await?;
            }
            bytes.extend_from_slice(&data);
        }
        Ok(Body {
            bytes: bytes.freeze(),
            _room: room,
        })
    }

    /// Adds room for `n` more bytes to `room`, waiting for it until `deadline`
    /// (`RequestLimitExceeded` then).
    async fn take_room(
        &self,
        room: &mut Option<OwnedSemaphorePermit>,
        n: usize,
        deadline: Instant,
    ) -> Result<(), ApiError> {
        let wait = self.bodies.clone().acquire_many_owned(n as u32);
        let permit = match timeout_at(deadline, wait).await {
            Ok(Ok(p)) => p,
            Ok(Err(_)) => return Err(ApiError::internal("the server is stopping")),
            Err(_) => {
                return Err(ApiError::new(
                    "RequestLimitExceeded",
                    format!(
                        "the server holds {} bytes of request bodies already; try again later",
                        self.options.bodies_in_flight
                    ),
                ))
            }
        };
        match room {
            Some(held) => held.merge(permit),
            None => *room = Some(permit),
        }
        Ok(())
    }

    /// Drains the body of a request answered without it ([`crate::http_server::drain`]): at
    /// most twice `request_limit` bytes within `body_timeout`.
    fn discard(&self, body: Incoming, headers: &HeaderMap) {
        crate::http_server::drain(
            body,
            headers,
            2 * self.options.request_limit as u64,
            self.options.body_timeout,
        );
    }
}

/// Under `--no-auth`, the `Host` a request names must be this server by a name no other site
/// can point at it (DNS rebinding): `localhost` or an IP address, with the listening port;
/// on a loopback address, a loopback one.
fn check_host(headers: &HeaderMap, local: SocketAddr) -> Result<(), ApiError> {
    let host = headers
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if host_names_server(host, local) {
        return Ok(());
    }
    Err(ApiError::new(
        "AuthFailure.UnauthorizedOperation",
        format!(
            "under --no-auth this server answers requests for localhost:{port} or an IP \
             address with port {port} only, not Host {:?} (a page in a browser may reach a \
             local server through a DNS name it controls)",
            shown(host),
            port = local.port()
        ),
    ))
}

/// Whether `host` (a `Host` header) is `localhost` or an IP address (a loopback one when
/// `local` is), with the port of `local` (80 when it has none).
fn host_names_server(host: &str, local: SocketAddr) -> bool {
    let Some((name, port)) = crate::http_server::split_host(host) else {
        return false;
    };
    let name_ok = match name {
        Ok(ip) => ip.is_loopback() || !local.ip().is_loopback(),
        Err(name) => name.eq_ignore_ascii_case("localhost"),
    };
    name_ok && port.unwrap_or(80) == local.port()
}

/// The start of `s`, for an error message: at most 64 bytes, cut at a character.
fn shown(s: &str) -> &str {
    let mut end = s.len().min(64);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn too_large(size: u64, limit: usize, what: &str) -> ApiError {
    ApiError::new(
        "RequestSizeLimitExceeded",
        format!("{what} is over the limit of {limit} bytes ({size} bytes or more)"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_under_no_auth() {
        let loopback: SocketAddr = "127.0.0.1:9100".parse().unwrap();
        let network: SocketAddr = "0.0.0.0:9100".parse().unwrap();
        let on_80: SocketAddr = "127.0.0.1:80".parse().unwrap();
        // (Host, listening on, accepted)
        let table = [
            ("127.0.0.1:9100", loopback, true),
            ("localhost:9100", loopback, true),
            ("LOCALHOST:9100", loopback, true),
            ("[::1]:9100", loopback, true),
            ("127.1.2.3:9100", loopback, true),
            ("127.0.0.1:9101", loopback, false),
            ("127.0.0.1", loopback, false),
            ("127.0.0.1", on_80, true),
            ("localhost", on_80, true),
            ("evil.example:9100", loopback, false),
            ("localhost.evil.example:9100", loopback, false),
            ("10.0.0.5:9100", loopback, false),
            ("10.0.0.5:9100", network, true),
            ("evil.example:9100", network, false),
            ("[::1]", loopback, false),
            ("[::1]x", loopback, false),
            ("[::1:9100", loopback, false),
            ("[127.0.0.1]:9100", loopback, false),
            ("::1:9100", loopback, false),
            ("", loopback, false),
            (":9100", loopback, false),
        ];
        for (host, local, accepted) in table {
            assert_eq!(
                host_names_server(host, local),
                accepted,
                "{host} on {local}"
            );
        }
    }
}
