//! `scf-local serve`: the TencentCloud API 3.0 of service `scf` (version `2018-04-16`), so the
//! official SDKs (and `tccli`) work against the emulator with only their endpoint changed.
//!
//! One HTTP/1.1 endpoint, `POST /` (or `GET /?…`), as the cloud's:
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
//! | file | concern |
//! |---|---|
//! | `mod.rs` | HTTP: size caps, headers, signature, parameters, the envelope |
//! | [`actions`] | each action: parameters, checks, answer |
//! | [`functions`] | functions in memory, their pools, draining on change |
//! | [`store`] | SQLite: functions, code, invocation logs, durable before the answer |
//! | [`params`] | JSON or form parameters as one tree |
//! | [`error`] | the error envelope |

pub mod actions;
pub mod error;
pub mod functions;
pub mod params;
pub mod store;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use tokio::net::TcpListener;

use crate::pool::new_request_id;
use crate::tc3::{self, Credential};
use error::ApiError;
use functions::{PoolSettings, Registry};
use params::Params;
use store::Store;

/// The service name in the credential scope.
pub const SERVICE: &str = "scf";

/// The API version served.
pub const VERSION: &str = "2018-04-16";

/// The platform's cap on a TC3-signed POST body: 10 MB.
pub const REQUEST_LIMIT: usize = 10 * 1024 * 1024;

/// The platform's cap on a GET request's query: 32 KB.
pub const QUERY_LIMIT: usize = 32 * 1024;

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
        }
    }
}

/// The API server's state: its options and functions.
pub struct Server {
    options: ServeOptions,
    registry: Registry,
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
    pub fn open(options: ServeOptions) -> Result<Arc<Server>, ApiError> {
        let store = Arc::new(Store::open(&options.state_dir)?);
        let registry = Registry::open(store, options.pools.clone())?;
        Ok(Arc::new(Server { options, registry }))
    }

    /// The functions.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The options.
    pub fn options(&self) -> &ServeOptions {
        &self.options
    }

    /// Serves the API on `listener` until `shutdown` completes, then stops every instance.
    pub async fn serve(self: Arc<Self>, listener: TcpListener, shutdown: impl Future<Output = ()>) {
        let server = self.clone();
        crate::http_server::serve_until(listener, Default::default(), None, shutdown, move |req| {
            server.clone().handle(req)
        })
        .await;
        self.registry.shutdown().await;
    }

    async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Full<Bytes>> {
        let fallback_id = new_request_id();
        // Each call runs in its own task: a panic becomes InternalError, not a dropped
        // connection, and a client hanging up does not cancel a half-done write.
        let task = tokio::spawn(async move { self.call(req).await });
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

    async fn call(self: &Arc<Self>, req: Request<Incoming>) -> Result<actions::Reply, ApiError> {
        let (parts, body) = req.into_parts();
        if parts.uri.path() != "/" {
            return Err(ApiError::new(
                "InvalidAction",
                format!("the API is at /, not {}", parts.uri.path()),
            ));
        }
        let get = match parts.method {
            Method::POST => false,
            Method::GET => true,
            ref m => {
                return Err(ApiError::new(
                    "UnsupportedProtocol",
                    format!("the API takes GET and POST, not {m}"),
                ))
            }
        };
        let query = parts.uri.query().unwrap_or("");
        if get && query.len() > QUERY_LIMIT {
            return Err(too_large(query.len(), QUERY_LIMIT, "a GET query"));
        }
        let limit = self.options.request_limit;
        let body = match Limited::new(body, limit).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return Err(too_large(limit + 1, limit, "the request body"))
            }
            Err(e) => {
                return Err(ApiError::new(
                    "InvalidParameter",
                    format!("cannot read the request body: {e}"),
                ))
            }
        };
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
        let Some(action) = header("x-tc-action") else {
            // The SDKs' legacy signature (signMethod HmacSHA1/HmacSHA256) puts Action and
            // Signature among the parameters instead.
            let form = if get { query.as_bytes() } else { &body[..] };
            let legacy = |p: &[u8]| form.windows(p.len()).any(|w| w == p);
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
                format!("scf has no API version {version} here: use {VERSION}"),
            ));
        }
        if !self.options.no_auth {
            let signed = tc3::Request {
                method: parts.method.as_str(),
                path: "/",
                // POST signs an empty query; GET its query as sent.
                query: if get { query } else { "" },
                headers: &headers,
                payload: &body,
            };
            let keys = &self.options.credentials;
            tc3::verify(&signed, SERVICE, now_secs(), |id| {
                keys.iter()
                    .find(|c| c.secret_id == id)
                    .map(|c| c.secret_key.clone())
            })
            .map_err(|e| ApiError::new(e.code(), e.message()))?;
        }
        let content_type = header("content-type").unwrap_or("").to_ascii_lowercase();
        let params = if get {
            Params::from_form(query)?
        } else if content_type.starts_with("application/json") {
            Params::from_json(&body)?
        } else if content_type.starts_with("application/x-www-form-urlencoded") {
            let text = std::str::from_utf8(&body)
                .map_err(|_| ApiError::new("InvalidParameter", "parameters must be UTF-8"))?;
            Params::from_form(text)?
        } else {
            return Err(ApiError::new(
                "InvalidParameter",
                format!("Content-Type {content_type:?} is not taken here: send application/json"),
            ));
        };
        let region = header("x-tc-region").unwrap_or(&self.options.default_region);
        actions::dispatch(self, action, params, region).await
    }
}

fn too_large(size: usize, limit: usize, what: &str) -> ApiError {
    ApiError::new(
        "RequestSizeLimitExceeded",
        format!("{what} is over the limit of {limit} bytes ({size} bytes or more)"),
    )
}
