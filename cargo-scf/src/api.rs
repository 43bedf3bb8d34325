//! The TencentCloud API 3.0 of SCF (service `scf`, version `2018-04-16`), as a client.
//!
//! Each call is `POST /` with a JSON body, signed with TC3-HMAC-SHA256 by
//! [`scf_api::tc3::api_headers`] (docs/protocol.md section 8). The answer is
//! `{"Response": {…, "RequestId": …}}`, or `{"Response": {"Error": {"Code", "Message"}, …}}`,
//! which becomes [`ApiError::Platform`] with the code and message exactly as sent.
//!
//! [`CloudApi`] is the one method deploy and invoke need, so their logic is tested against a fake.

use std::fmt;
use std::io::Read as _;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scf_api::tc3::{self, Credential};
use serde_json::Value;
use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig};

/// The public endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://scf.tencentcloudapi.com";

/// The service name in the signature's credential scope.
pub const SERVICE: &str = "scf";

/// The API version of SCF.
pub const VERSION: &str = "2018-04-16";

/// The region when neither `--region` nor `TENCENTCLOUD_REGION` gives one.
pub const DEFAULT_REGION: &str = "ap-guangzhou";

/// Largest request body the API takes when signed with TC3-HMAC-SHA256 (a POST).
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;

/// Largest answer read (an `Invoke` result is at most 6 MB, plus its log).
const MAX_REPLY_BYTES: u64 = 16 * 1024 * 1024;

/// The largest `--ca-file` read: 1 MB of PEM.
pub const MAX_CA_FILE_BYTES: u64 = 1024 * 1024;

/// Time allowed to connect.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// Time allowed for one call, answer included. A synchronous `Invoke` may run for the
/// function's whole `Timeout` (at most 900 s), so the bound is above that.
const CALL_TIMEOUT: Duration = Duration::from_secs(960);

/// The environment variables holding the key, as the official SDKs and tools read them.
pub const SECRET_ID_VAR: &str = "TENCENTCLOUD_SECRETID";
/// See [`SECRET_ID_VAR`].
pub const SECRET_KEY_VAR: &str = "TENCENTCLOUD_SECRETKEY";
/// The session token of temporary credentials, sent as `X-TC-Token`.
pub const TOKEN_VAR: &str = "TENCENTCLOUD_SESSIONTOKEN";
/// The region variable.
pub const REGION_VAR: &str = "TENCENTCLOUD_REGION";

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// The platform answered with an error.
    Platform {
        /// The action called.
        action: String,
        /// `Response.Error.Code`, e.g. `ResourceNotFound.Function`.
        code: String,
        /// `Response.Error.Message`.
        message: String,
        /// `Response.RequestId`.
        request_id: String,
    },
    /// No answer: connection, TLS or timeout.
    Transport {
        /// The action called.
        action: String,
        /// What went wrong.
        message: String,
    },
    /// An answer that is not the API's JSON.
    BadReply {
        /// The action called.
        action: String,
        /// What was wrong with it.
        message: String,
    },
}

impl ApiError {
    /// The platform's error code, if the platform answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Platform { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiError::Platform {
                action,
                code,
                message,
                request_id,
            } => write!(
                f,
                "{action} failed: {code}: {message} (RequestId {request_id})"
            ),
            ApiError::Transport { action, message } => write!(f, "{action}: {message}"),
            ApiError::BadReply { action, message } => {
                write!(f, "{action}: unexpected answer: {message}")
            }
        }
    }
}

impl std::error::Error for ApiError {}

/// One API action with its parameters, answering the `Response` object.
pub trait CloudApi {
    /// Calls `action` with `params` (a JSON object); `Ok` is the `Response` object.
    fn call(&self, action: &str, params: &Value) -> Result<Value, ApiError>;
}

/// Reads the `Response` of an answer's body.
pub fn parse_reply(action: &str, body: &str) -> Result<Value, ApiError> {
    let bad = |message: String| ApiError::BadReply {
        action: action.to_owned(),
        message,
    };
    let mut value: Value = serde_json::from_str(body).map_err(|e| {
        let start: String = body.chars().take(200).collect();
        bad(format!("not JSON ({e}): {start}"))
    })?;
    let response = value
        .get_mut("Response")
        .map(Value::take)
        .filter(Value::is_object)
        .ok_or_else(|| bad("no Response object".to_owned()))?;
    if let Some(error) = response.get("Error") {
        let text = |k: &str| error[k].as_str().unwrap_or_default().to_owned();
        return Err(ApiError::Platform {
            action: action.to_owned(),
            code: text("Code"),
            message: text("Message"),
            request_id: response["RequestId"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        });
    }
    Ok(response)
}

/// Where the API is: scheme and `host[:port]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// `https` or `http`.
    pub scheme: &'static str,
    /// `host` or `host:port`, without the scheme's default port; sent as `Host` and signed.
    pub authority: String,
}

impl Endpoint {
    /// Parses `https://host[:port][/]`, `http://…`, or a bare `host[:port]` (HTTPS).
    pub fn parse(text: &str) -> Result<Endpoint, String> {
        let (scheme, rest) = if let Some(r) = text.strip_prefix("https://") {
            ("https", r)
        } else if let Some(r) = text.strip_prefix("http://") {
            ("http", r)
        } else if text.contains("://") {
            return Err(format!(
                "endpoint {text:?}: only http:// and https:// are supported"
            ));
        } else {
            ("https", text)
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.is_empty() || authority.contains(['/', '?', '#', '@', ' ']) {
            return Err(format!(
                "endpoint {text:?}: expected a scheme and host[:port] only, like {DEFAULT_ENDPOINT} or http://127.0.0.1:9100"
            ));
        }
        let default_port = if scheme == "https" { ":443" } else { ":80" };
        let authority = authority.strip_suffix(default_port).unwrap_or(authority);
        Ok(Endpoint {
            scheme,
            authority: authority.to_owned(),
        })
    }

    /// The URL every call is posted to.
    pub fn url(&self) -> String {
        format!("{}://{}/", self.scheme, self.authority)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.scheme, self.authority)
    }
}

/// Why credentials could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MissingCredentials(pub Vec<&'static str>);

impl fmt::Display for MissingCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "missing credentials: {} not set (export {SECRET_ID_VAR} and {SECRET_KEY_VAR}, and {TOKEN_VAR} for temporary keys)",
            self.0.join(" and ")
        )
    }
}

impl std::error::Error for MissingCredentials {}

/// The key from `TENCENTCLOUD_SECRETID`, `TENCENTCLOUD_SECRETKEY` and optionally
/// `TENCENTCLOUD_SESSIONTOKEN`, read through `var` (the process environment in use).
pub fn credential_from(
    var: impl Fn(&str) -> Option<String>,
) -> Result<Credential, MissingCredentials> {
    let get = |name: &str| var(name).filter(|v| !v.is_empty());
    let id = get(SECRET_ID_VAR);
    let key = get(SECRET_KEY_VAR);
    match (id, key) {
        (Some(id), Some(key)) => {
            let mut credential = Credential::new(id, key);
            credential.token = get(TOKEN_VAR);
            Ok(credential)
        }
        (id, key) => {
            let mut missing = Vec::new();
            if id.is_none() {
                missing.push(SECRET_ID_VAR);
            }
            if key.is_none() {
                missing.push(SECRET_KEY_VAR);
            }
            Err(MissingCredentials(missing))
        }
    }
}

/// The region: `--region`, else `TENCENTCLOUD_REGION`, else [`DEFAULT_REGION`].
pub fn region_from(flag: Option<&str>, var: impl Fn(&str) -> Option<String>) -> String {
    flag.map(str::to_owned)
        .or_else(|| var(REGION_VAR).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| DEFAULT_REGION.to_owned())
}

/// The certificates an `https` endpoint is trusted with: the platform's trust store (or, when
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` is set, the PEM certificates they name instead, as
/// OpenSSL reads them) plus every certificate of `ca_file` (PEM), such as the one
/// `scf-local serve --tls` prints. When that finds none at all (a machine without a trust
/// store), Mozilla's roots bundled with ureq. Fails when `ca_file` cannot be read, is over
/// [`MAX_CA_FILE_BYTES`] or holds no certificate.
pub fn trusted_roots(ca_file: Option<&Path>) -> Result<RootCerts, String> {
    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = ca_file {
        let failed = |e: &dyn fmt::Display| format!("--ca-file {}: {e}", path.display());
        let mut pem = Vec::new();
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_CA_FILE_BYTES + 1).read_to_end(&mut pem))
            .map_err(|e| failed(&e))?;
        if pem.len() as u64 > MAX_CA_FILE_BYTES {
            return Err(failed(&format!(
                "over {MAX_CA_FILE_BYTES} bytes, too large for a PEM bundle"
            )));
        }
        let before = roots.len();
        for item in ureq::tls::parse_pem(&pem) {
            if let PemItem::Certificate(cert) = item.map_err(|e| failed(&e))? {
                roots.push(cert);
            }
        }
        if roots.len() == before {
            return Err(failed(&"no PEM certificate (BEGIN CERTIFICATE) in it"));
        }
    }
    if roots.is_empty() {
        return Ok(RootCerts::WebPki);
    }
    Ok(RootCerts::from(roots))
}

/// A client of one endpoint, region and key.
pub struct Client {
    endpoint: Endpoint,
    region: String,
    credential: Credential,
    agent: ureq::Agent,
}

impl Client {
    /// A client trusting the certificates of [`trusted_roots`] for an `https` endpoint
    /// (`ca_file` added to them); nothing is sent until [`CloudApi::call`]. Fails as
    /// [`trusted_roots`] does.
    pub fn new(
        endpoint: Endpoint,
        region: String,
        credential: Credential,
        ca_file: Option<&Path>,
    ) -> Result<Client, String> {
        // An http endpoint needs no roots (and a --ca-file with it is still checked).
        let roots = if endpoint.scheme == "https" || ca_file.is_some() {
            trusted_roots(ca_file)?
        } else {
            RootCerts::WebPki
        };
        let agent = ureq::Agent::config_builder()
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            // The API answers 200 even for its errors; anything else is read as a bad reply.
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(CALL_TIMEOUT))
            .user_agent(concat!("cargo-scf/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client {
            endpoint,
            region,
            credential,
            agent,
        })
    }

    /// The endpoint called.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// The region sent as `X-TC-Region`.
    pub fn region(&self) -> &str {
        &self.region
    }
}

impl CloudApi for Client {
    fn call(&self, action: &str, params: &Value) -> Result<Value, ApiError> {
        let body = params.to_string();
        if body.len() > MAX_REQUEST_BYTES {
            return Err(ApiError::Transport {
                action: action.to_owned(),
                message: format!(
                    "the request is {} bytes, over the API's 10 MB: make the code package smaller",
                    body.len()
                ),
            });
        }
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or_default();
        let headers = tc3::api_headers(
            &self.credential,
            SERVICE,
            &self.endpoint.authority,
            action,
            VERSION,
            Some(&self.region),
            timestamp,
            body.as_bytes(),
        );
        let mut request = self.agent.post(self.endpoint.url());
        // `Host` included: ureq sends the one given, so what is signed is what is sent.
        for (name, value) in &headers {
            request = request.header(name, value);
        }
        let transport = |e: ureq::Error| ApiError::Transport {
            action: action.to_owned(),
            message: format!("cannot reach {}: {e}", self.endpoint),
        };
        let mut response = request.send(body.as_bytes()).map_err(transport)?;
        let status = response.status();
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_REPLY_BYTES)
            .read_to_string()
            .map_err(transport)?;
        if !status.is_success() {
            let start: String = text.chars().take(200).collect();
            return Err(ApiError::BadReply {
                action: action.to_owned(),
                message: format!("HTTP {status} from {}: {start}", self.endpoint),
            });
        }
        parse_reply(action, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn credentials() {
        let c = credential_from(env(&[(SECRET_ID_VAR, "AKID"), (SECRET_KEY_VAR, "k")])).unwrap();
        assert_eq!(
            (c.secret_id.as_str(), c.secret_key.as_str(), c.token),
            ("AKID", "k", None)
        );
        let c = credential_from(env(&[
            (SECRET_ID_VAR, "AKID"),
            (SECRET_KEY_VAR, "k"),
            (TOKEN_VAR, "tok"),
        ]))
        .unwrap();
        assert_eq!(c.token.as_deref(), Some("tok"));

        let err = credential_from(env(&[])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "missing credentials: TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY not set \
             (export TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY, and \
             TENCENTCLOUD_SESSIONTOKEN for temporary keys)"
        );
        let err =
            credential_from(env(&[(SECRET_ID_VAR, "AKID"), (SECRET_KEY_VAR, "")])).unwrap_err();
        assert_eq!(err.0, [SECRET_KEY_VAR]);
    }

    #[test]
    fn regions() {
        assert_eq!(
            region_from(Some("ap-shanghai"), env(&[(REGION_VAR, "x")])),
            "ap-shanghai"
        );
        assert_eq!(
            region_from(None, env(&[(REGION_VAR, "na-toronto")])),
            "na-toronto"
        );
        assert_eq!(region_from(None, env(&[])), "ap-guangzhou");
    }

    #[test]
    fn endpoints() {
        // (text, Some((scheme, authority))) or (text, None) for a refusal.
        type Row<'a> = (&'a str, Option<(&'a str, &'a str)>);
        let table: &[Row] = &[
            (
                "https://scf.tencentcloudapi.com",
                Some(("https", "scf.tencentcloudapi.com")),
            ),
            (
                "https://scf.tencentcloudapi.com/",
                Some(("https", "scf.tencentcloudapi.com")),
            ),
            (
                "https://scf.tencentcloudapi.com:443",
                Some(("https", "scf.tencentcloudapi.com")),
            ),
            (
                "scf.ap-shanghai.tencentcloudapi.com",
                Some(("https", "scf.ap-shanghai.tencentcloudapi.com")),
            ),
            ("http://127.0.0.1:9100", Some(("http", "127.0.0.1:9100"))),
            ("http://localhost:80/", Some(("http", "localhost"))),
            ("ftp://x", None),
            ("http://", None),
            ("http://host/path", None),
            ("http://user@host", None),
        ];
        for (text, want) in table {
            let got = Endpoint::parse(text);
            match want {
                Some((scheme, authority)) => {
                    let e = got.unwrap_or_else(|e| panic!("{text}: {e}"));
                    assert_eq!(
                        (e.scheme, e.authority.as_str()),
                        (*scheme, *authority),
                        "{text}"
                    );
                }
                None => assert!(got.is_err(), "{text}"),
            }
        }
        assert_eq!(
            Endpoint::parse(DEFAULT_ENDPOINT).unwrap().url(),
            "https://scf.tencentcloudapi.com/"
        );
    }

    #[test]
    fn replies() {
        let ok = parse_reply(
            "GetFunction",
            r#"{"Response":{"Status":"Active","RequestId":"r1"}}"#,
        )
        .unwrap();
        assert_eq!(ok["Status"], "Active");

        let err = parse_reply(
            "CreateFunction",
            r#"{"Response":{"Error":{"Code":"InvalidParameterValue.MemorySize","Message":"MemorySize 100 is not valid."},"RequestId":"r2"}}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterValue.MemorySize"));
        assert_eq!(
            err.to_string(),
            "CreateFunction failed: InvalidParameterValue.MemorySize: MemorySize 100 is not valid. (RequestId r2)"
        );

        let err = parse_reply("Invoke", "<html>bad gateway</html>").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invoke: unexpected answer: not JSON"),
            "{err}"
        );
        assert_eq!(err.code(), None);
        let err = parse_reply("Invoke", r#"{"Result":{}}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invoke: unexpected answer: no Response object"
        );
    }

    #[test]
    fn ca_files_are_checked() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.pem");
        std::fs::write(&junk, "not a certificate").unwrap();
        let big = dir.path().join("big.pem");
        std::fs::write(&big, vec![b'a'; MAX_CA_FILE_BYTES as usize + 1]).unwrap();
        let missing = dir.path().join("missing.pem");
        // Table: (file, words of the error).
        for (file, words) in [
            (&junk, "no PEM certificate"),
            (&big, "too large"),
            (&missing, "No such file"),
        ] {
            let Err(err) = trusted_roots(Some(file)) else {
                panic!("{} accepted", file.display())
            };
            assert!(
                err.starts_with(&format!("--ca-file {}: ", file.display())),
                "{err}"
            );
            assert!(err.contains(words), "{err}");
            // The client refuses it too, whatever the endpoint's scheme.
            let endpoint = Endpoint::parse("http://127.0.0.1:9").unwrap();
            let client = Client::new(endpoint, "r".into(), Credential::new("a", "k"), Some(file));
            assert!(client.is_err());
        }
    }

    #[test]
    fn an_unreachable_endpoint_is_a_transport_error() {
        // A port just closed: nothing listens there.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = Client::new(
            Endpoint::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            DEFAULT_REGION.to_owned(),
            Credential::new("AKID", "k"),
            None,
        )
        .unwrap();
        let err = client
            .call("GetFunction", &serde_json::json!({"FunctionName": "f"}))
            .unwrap_err();
        assert!(matches!(&err, ApiError::Transport { .. }), "{err:?}");
        assert!(err.to_string().starts_with(&format!(
            "GetFunction: cannot reach http://127.0.0.1:{port}: "
        )));
    }
}
