//! TC3-HMAC-SHA256, the request signature of TencentCloud API 3.0: signing (for a client such
//! as `deploy`) and verification (for `scf-local serve`). Pure functions, no I/O, no clock:
//! the caller passes the timestamp.
//!
//! The steps, as the platform documents them (docs/protocol.md section 8):
//!
//! 1. canonical request: `METHOD\nPATH\nQUERY\n` + one `name:value\n` per signed header +
//!    `\nSIGNED-HEADERS\nhex(sha256(payload))`;
//! 2. string to sign: `TC3-HMAC-SHA256\nTIMESTAMP\nDATE/SERVICE/tc3_request\nhex(sha256(canonical request))`;
//! 3. key: `HMAC(HMAC(HMAC("TC3" + SecretKey, DATE), SERVICE), "tc3_request")`;
//! 4. `Authorization: TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=…, Signature=hex(HMAC(key, string to sign))`.
//!
//! `DATE` is the UTC date (`YYYY-MM-DD`) of the timestamp. A POST request's query is empty; a
//! GET request's query is the URL-encoded query string as sent, and its payload is empty. With
//! the header `X-TC-Content-SHA256: UNSIGNED-PAYLOAD` the hashed payload is the SHA-256 of
//! that literal string (what the official SDKs do).
//!
//! Signing a JSON call, as the official SDKs do (`content-type` and `host` signed):
//!
//! ```
//! use scf_api::tc3::{self, Credential};
//!
//! let cred = Credential::new("AKIDEXAMPLE", "secret");
//! let body = br#"{"FunctionName":"hello"}"#;
//! let headers = tc3::api_headers(&cred, "scf", "127.0.0.1:9100", "GetFunction",
//!                                "2018-04-16", Some("ap-guangzhou"), 1_700_000_000, body);
//! let auth = &headers.iter().find(|(k, _)| k == "Authorization").unwrap().1;
//! assert!(auth.starts_with("TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/scf/tc3_request, SignedHeaders=content-type;host, Signature="));
//! ```
//!
//! Verifying what a server received:
//!
//! ```
//! use scf_api::tc3::{self, Credential, Request};
//!
//! let cred = Credential::new("AKIDEXAMPLE", "secret");
//! let body = br#"{"FunctionName":"hello"}"#;
//! let sent = tc3::api_headers(&cred, "scf", "127.0.0.1:9100", "GetFunction",
//!                             "2018-04-16", None, 1_700_000_000, body);
//! let headers: Vec<(&str, &str)> = sent.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
//! let request = Request { method: "POST", path: "/", query: "", headers: &headers, payload: body };
//! let lookup = |id: &str| (id == "AKIDEXAMPLE").then(|| "secret".to_owned());
//! assert_eq!(tc3::verify(&request, "scf", 1_700_000_100, lookup).unwrap(), "AKIDEXAMPLE");
//! assert_eq!(tc3::verify(&request, "scf", 1_700_000_400, lookup).unwrap_err().code(),
//!            "AuthFailure.SignatureExpire");
//! ```

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use time::{Date, OffsetDateTime};

/// The algorithm name, first word of the `Authorization` header.
pub const ALGORITHM: &str = "TC3-HMAC-SHA256";

/// The last part of the credential scope.
pub const TERMINATOR: &str = "tc3_request";

/// How far a request's `X-TC-Timestamp` may be from the server's clock: five minutes, as the
/// platform allows (beyond: `AuthFailure.SignatureExpire`).
pub const MAX_CLOCK_SKEW_SECS: u64 = 300;

/// The value of `X-TC-Content-SHA256` that leaves the payload out of the signature.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// A TencentCloud API key: `SecretId`, `SecretKey`, and the session token of temporary
/// credentials (sent as `X-TC-Token`, not signed).
#[derive(Clone, PartialEq, Eq)]
pub struct Credential {
    /// `SecretId`: names the key; sent in the clear.
    pub secret_id: String,
    /// `SecretKey`: never sent.
    pub secret_key: String,
    /// The session token of temporary credentials.
    pub token: Option<String>,
}

impl Credential {
    /// A permanent key (no token).
    pub fn new(secret_id: impl Into<String>, secret_key: impl Into<String>) -> Credential {
        Credential {
            secret_id: secret_id.into(),
            secret_key: secret_key.into(),
            token: None,
        }
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key stays out of logs and panic messages.
        f.debug_struct("Credential")
            .field("secret_id", &self.secret_id)
            .field("secret_key", &"…")
            .field("token", &self.token.as_ref().map(|_| "…"))
            .finish()
    }
}

/// The parts of an HTTP request that a signature covers.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `POST` or `GET`.
    pub method: &'a str,
    /// The path, `/` for the API.
    pub path: &'a str,
    /// The query string as sent, without `?` (empty for POST).
    pub query: &'a str,
    /// Headers as `(name, value)`. For [`sign`]: exactly the headers to sign. For [`verify`]:
    /// every header received (the signed ones are looked up by name, case-insensitively).
    pub headers: &'a [(&'a str, &'a str)],
    /// The body.
    pub payload: &'a [u8],
}

/// Lowercase hex of the SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length: this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// The UTC date of a Unix timestamp, `YYYY-MM-DD` (the `DATE` of the credential scope).
/// Past the calendar's last day, 9999-12-31 (timestamp 253 402 300 799), the date stays there.
pub fn utc_date(timestamp: u64) -> String {
    let date = i64::try_from(timestamp)
        .ok()
        .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok())
        .map_or(Date::MAX, OffsetDateTime::date);
    date.format(time::macros::format_description!("[year]-[month]-[day]"))
        .expect("a date of years 1970 to 9999 has a four-digit year")
}

/// `DATE/SERVICE/tc3_request`.
pub fn credential_scope(date: &str, service: &str) -> String {
    format!("{date}/{service}/{TERMINATOR}")
}

/// The hashed payload of the canonical request: the SHA-256 of the body, or of
/// `UNSIGNED-PAYLOAD` when the request says so with `X-TC-Content-SHA256`.
pub fn hashed_payload(payload: &[u8], unsigned: bool) -> String {
    if unsigned {
        sha256_hex(UNSIGNED_PAYLOAD.as_bytes())
    } else {
        sha256_hex(payload)
    }
}

/// How header values enter the canonical request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Trimmed and lowercased, as the documentation says.
    Lowercase,
    /// Trimmed only, as some SDKs do (the Python SDK uses the value as sent).
    AsSent,
}

fn canonical_request_with(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    hashed_payload: &str,
    values: Values,
) -> String {
    let mut out = String::with_capacity(256);
    out.push_str(method);
    out.push('\n');
    out.push_str(path);
    out.push('\n');
    out.push_str(query);
    out.push('\n');
    for (name, value) in headers {
        out.push_str(&name.trim().to_ascii_lowercase());
        out.push(':');
        match values {
            Values::Lowercase => out.push_str(&value.trim().to_ascii_lowercase()),
            Values::AsSent => out.push_str(value.trim()),
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers(headers));
    out.push('\n');
    out.push_str(hashed_payload);
    out
}

/// `content-type;host`: the lowercase names of `headers`, in their order, joined by `;`.
pub fn signed_headers(headers: &[(&str, &str)]) -> String {
    let names: Vec<String> = headers
        .iter()
        .map(|(n, _)| n.trim().to_ascii_lowercase())
        .collect();
    names.join(";")
}

/// The canonical request (step 1). `headers` are the signed headers, in the order given
/// (the documentation sorts them by name); values are trimmed and lowercased.
pub fn canonical_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &[(&str, &str)],
    hashed_payload: &str,
) -> String {
    canonical_request_with(
        method,
        path,
        query,
        headers,
        hashed_payload,
        Values::Lowercase,
    )
}

/// The string to sign (step 2).
pub fn string_to_sign(timestamp: u64, scope: &str, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{timestamp}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// The signing key (step 3).
pub fn signing_key(secret_key: &str, date: &str, service: &str) -> [u8; 32] {
    let k_date = hmac_sha256(format!("TC3{secret_key}").as_bytes(), date.as_bytes());
    let k_service = hmac_sha256(&k_date, service.as_bytes());
    hmac_sha256(&k_service, TERMINATOR.as_bytes())
}

/// The signature: hex of HMAC-SHA256 of the string to sign under the signing key.
pub fn signature(secret_key: &str, date: &str, service: &str, string_to_sign: &str) -> String {
    hex::encode(hmac_sha256(
        &signing_key(secret_key, date, service),
        string_to_sign.as_bytes(),
    ))
}

/// The `Authorization` header value (step 4).
pub fn authorization(
    secret_id: &str,
    date: &str,
    service: &str,
    signed_headers: &str,
    signature: &str,
) -> String {
    format!(
        "{ALGORITHM} Credential={secret_id}/{}, SignedHeaders={signed_headers}, Signature={signature}",
        credential_scope(date, service)
    )
}

/// Signs `request` (whose `headers` are exactly the headers to sign, such as `content-type`
/// and `host`) for `service` at `timestamp`, and returns the `Authorization` header value.
/// The request must also carry `X-TC-Timestamp: timestamp`.
pub fn sign(credential: &Credential, service: &str, timestamp: u64, request: &Request) -> String {
    let date = utc_date(timestamp);
    let unsigned = header(request.headers, "x-tc-content-sha256")
        .is_some_and(|v| v.trim() == UNSIGNED_PAYLOAD);
    let canonical = canonical_request(
        request.method,
        request.path,
        request.query,
        request.headers,
        &hashed_payload(request.payload, unsigned),
    );
    let to_sign = string_to_sign(timestamp, &credential_scope(&date, service), &canonical);
    authorization(
        &credential.secret_id,
        &date,
        service,
        &signed_headers(request.headers),
        &signature(&credential.secret_key, &date, service, &to_sign),
    )
}

/// Every header of a signed `POST /` call with a JSON body, as the official SDKs send it:
/// `Authorization`, `Content-Type: application/json`, `Host`, `X-TC-Action`,
/// `X-TC-Timestamp`, `X-TC-Version`, and `X-TC-Region` and `X-TC-Token` when given.
/// `content-type` and `host` are signed.
#[allow(clippy::too_many_arguments)]
pub fn api_headers(
    credential: &Credential,
    service: &str,
    host: &str,
    action: &str,
    version: &str,
    region: Option<&str>,
    timestamp: u64,
    body: &[u8],
) -> Vec<(String, String)> {
    let content_type = "application/json";
    let signed = [("content-type", content_type), ("host", host)];
    let request = Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &signed,
        payload: body,
    };
    let mut headers = vec![
        (
            "Authorization".to_owned(),
            sign(credential, service, timestamp, &request),
        ),
        ("Content-Type".to_owned(), content_type.to_owned()),
        ("Host".to_owned(), host.to_owned()),
        ("X-TC-Action".to_owned(), action.to_owned()),
        ("X-TC-Timestamp".to_owned(), timestamp.to_string()),
        ("X-TC-Version".to_owned(), version.to_owned()),
    ];
    if let Some(region) = region {
        headers.push(("X-TC-Region".to_owned(), region.to_owned()));
    }
    if let Some(token) = &credential.token {
        headers.push(("X-TC-Token".to_owned(), token.clone()));
    }
    headers
}

/// A parsed `Authorization: TC3-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorization {
    /// The `SecretId`.
    pub secret_id: String,
    /// The date of the credential scope.
    pub date: String,
    /// The service of the credential scope.
    pub service: String,
    /// Lowercase names of the signed headers, in the order given.
    pub signed_headers: Vec<String>,
    /// The signature, hex.
    pub signature: String,
}

impl Authorization {
    /// Parses the header value. Fails with [`VerifyError::InvalidAuthorization`].
    pub fn parse(value: &str) -> Result<Authorization, VerifyError> {
        let invalid = VerifyError::InvalidAuthorization;
        let rest = value
            .trim()
            .strip_prefix(ALGORITHM)
            .filter(|r| r.starts_with(' '))
            .ok_or(invalid)?;
        let (mut credential, mut signed, mut sig) = (None, None, None);
        for part in rest.split(',') {
            let (k, v) = part.trim().split_once('=').ok_or(invalid)?;
            match k.trim() {
                "Credential" => credential = Some(v.trim()),
                "SignedHeaders" => signed = Some(v.trim()),
                "Signature" => sig = Some(v.trim()),
                _ => return Err(invalid),
            }
        }
        let (credential, signed, sig) = (
            credential.ok_or(invalid)?,
            signed.ok_or(invalid)?,
            sig.ok_or(invalid)?,
        );
        let mut scope = credential.split('/');
        let (id, date, service, terminator) = (
            scope.next().ok_or(invalid)?,
            scope.next().ok_or(invalid)?,
            scope.next().ok_or(invalid)?,
            scope.next().ok_or(invalid)?,
        );
        if scope.next().is_some() || terminator != TERMINATOR || id.is_empty() || signed.is_empty()
        {
            return Err(invalid);
        }
        Ok(Authorization {
            secret_id: id.to_owned(),
            date: date.to_owned(),
            service: service.to_owned(),
            signed_headers: signed
                .split(';')
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            signature: sig.to_ascii_lowercase(),
        })
    }
}

/// Why a request's signature is refused, with the platform's error code ([`VerifyError::code`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `Authorization` header (`AuthFailure.SignatureFailure`, as the cloud answers an
    /// unsigned call).
    MissingAuthorization,
    /// The `Authorization` header is not a TC3-HMAC-SHA256 one, or `content-type` or `host`
    /// is not signed (`AuthFailure.InvalidAuthorization`).
    InvalidAuthorization,
    /// `X-TC-Timestamp` is missing or not a number (`MissingParameter`).
    MissingTimestamp,
    /// `X-TC-Timestamp` is more than five minutes away (`AuthFailure.SignatureExpire`).
    SignatureExpire,
    /// The `SecretId` is unknown (`AuthFailure.SecretIdNotFound`).
    SecretIdNotFound,
    /// The signature does not match, or the credential scope is not the timestamp's date and
    /// a service the server accepts ([`service_accepted`]), or a signed header is missing
    /// (`AuthFailure.SignatureFailure`).
    SignatureFailure,
}

impl VerifyError {
    /// The platform's error code.
    pub const fn code(self) -> &'static str {
        match self {
            VerifyError::MissingAuthorization | VerifyError::SignatureFailure => {
                "AuthFailure.SignatureFailure"
            }
            VerifyError::InvalidAuthorization => "AuthFailure.InvalidAuthorization",
            VerifyError::MissingTimestamp => "MissingParameter",
            VerifyError::SignatureExpire => "AuthFailure.SignatureExpire",
            VerifyError::SecretIdNotFound => "AuthFailure.SecretIdNotFound",
        }
    }

    /// What went wrong, in a sentence.
    pub const fn message(self) -> &'static str {
        match self {
            VerifyError::MissingAuthorization => {
                "the request is not signed: no Authorization header"
            }
            VerifyError::InvalidAuthorization => {
                "the Authorization header is not TC3-HMAC-SHA256 Credential=ID/DATE/SERVICE/tc3_request, SignedHeaders=…, Signature=… with content-type and host signed"
            }
            VerifyError::MissingTimestamp => {
                "the request lacks X-TC-Timestamp (Unix time in seconds)"
            }
            VerifyError::SignatureExpire => {
                "signature expired: X-TC-Timestamp is more than five minutes away from the server's time"
            }
            VerifyError::SecretIdNotFound => "the SecretId is not known to this server",
            VerifyError::SignatureFailure => {
                "the signature does not match: check the SecretKey and the signing steps"
            }
        }
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code(), self.message())
    }
}

impl std::error::Error for VerifyError {}

/// The first header named `name` (case-insensitive).
fn header<'a>(headers: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| *v)
}

/// The checks of a received request that need no body: an `Authorization` header that
/// parses, with `content-type` and `host` among the signed headers; `X-TC-Timestamp` within
/// five minutes of `now`; a credential scope of the timestamp's date and `service` (or the
/// first label of `Host`: [`service_accepted`]); a
/// `SecretId` that `known` accepts. A server runs them before it reads the body, so an
/// unsigned or stale request costs it no body bytes; [`verify`] runs them again with the
/// signature. `headers` holds every header received. Returns the `SecretId`.
pub fn check_head(
    headers: &[(&str, &str)],
    service: &str,
    now: u64,
    known: impl Fn(&str) -> bool,
) -> Result<String, VerifyError> {
    let (auth, _) = parse_head(headers, service, now)?;
    if !known(&auth.secret_id) {
        return Err(VerifyError::SecretIdNotFound);
    }
    Ok(auth.secret_id)
}

/// The `Authorization` and timestamp of a request, checked as [`check_head`] says (all but
/// the `SecretId`).
fn parse_head(
    headers: &[(&str, &str)],
    service: &str,
    now: u64,
) -> Result<(Authorization, u64), VerifyError> {
    let auth = header(headers, "authorization").ok_or(VerifyError::MissingAuthorization)?;
    let auth = Authorization::parse(auth)?;
    if !auth.signed_headers.iter().any(|h| h == "content-type")
        || !auth.signed_headers.iter().any(|h| h == "host")
    {
        return Err(VerifyError::InvalidAuthorization);
    }
    let timestamp: u64 = header(headers, "x-tc-timestamp")
        .and_then(|t| t.trim().parse().ok())
        .ok_or(VerifyError::MissingTimestamp)?;
    if now.abs_diff(timestamp) > MAX_CLOCK_SKEW_SECS {
        return Err(VerifyError::SignatureExpire);
    }
    let host = header(headers, "host").unwrap_or("");
    if !service_accepted(&auth.service, service, host) || auth.date != utc_date(timestamp) {
        return Err(VerifyError::SignatureFailure);
    }
    Ok((auth, timestamp))
}

/// Whether a credential scope naming `signed` is accepted by a server of `service` reached
/// as `host` (the `Host` header, itself signed): `service` itself, or the part of `host`
/// before its first `.`, with or without the port. The official Node SDK (and the clients
/// built on it) derive the service from the endpoint that way (`endpoint.split(".")[0]`):
/// `scf` for `scf.tencentcloudapi.com`, but `127` for `127.0.0.1:9100` and `localhost:9100`
/// for `localhost:9100`.
pub fn service_accepted(signed: &str, service: &str, host: &str) -> bool {
    fn label(host: &str) -> &str {
        host.split('.').next().unwrap_or("")
    }
    signed == service
        || (!signed.is_empty() && (signed == label(host) || signed == label(without_port(host))))
}

/// `host` (a `Host` value) without its `:port`: `127.0.0.1` for `127.0.0.1:9100`, `[::1]` for
/// `[::1]:9100`; `host` itself when it names no port.
fn without_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Verifies the signature of a received request for `service`, at server time `now`
/// (Unix seconds). `request.headers` holds every header received; `secret_key` looks a
/// `SecretId` up. Returns the `SecretId` the request was signed with.
///
/// Checked in this order: what [`check_head`] checks (an `Authorization` header that
/// parses, with `content-type` and `host` among the signed headers; `X-TC-Timestamp` within
/// five minutes; a credential scope of the timestamp's date and `service` or the first label
/// of `Host` ([`service_accepted`]); a known
/// `SecretId`), then the signature. The signed headers are taken in the order the client
/// declared them; their values are compared lowercased (the documentation) or as sent (what
/// the Python SDK signs), either matching.
pub fn verify(
    request: &Request,
    service: &str,
    now: u64,
    secret_key: impl Fn(&str) -> Option<String>,
) -> Result<String, VerifyError> {
    let (auth, timestamp) = parse_head(request.headers, service, now)?;
    let key = secret_key(&auth.secret_id).ok_or(VerifyError::SecretIdNotFound)?;
    let mut signed = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let value = header(request.headers, name).ok_or(VerifyError::SignatureFailure)?;
        signed.push((name.as_str(), value));
    }
    let unsigned = header(request.headers, "x-tc-content-sha256")
        .is_some_and(|v| v.trim() == UNSIGNED_PAYLOAD);
    let hashed = hashed_payload(request.payload, unsigned);
    let scope = credential_scope(&auth.date, &auth.service);
    // `host` as sent, or without its port (the Node SDK signs the URL's hostname but sends
    // the port in `Host`).
    let host = header(request.headers, "host").unwrap_or("").trim();
    let hosts = if without_port(host) == host {
        &[host][..]
    } else {
        &[host, without_port(host)][..]
    };
    for (&host, values) in hosts
        .iter()
        .flat_map(|h| [(h, Values::Lowercase), (h, Values::AsSent)])
    {
        for entry in signed.iter_mut().filter(|(name, _)| *name == "host") {
            entry.1 = host;
        }
        let canonical = canonical_request_with(
            request.method,
            request.path,
            request.query,
            &signed,
            &hashed,
            values,
        );
        let expected = signature(
            &key,
            &auth.date,
            &auth.service,
            &string_to_sign(timestamp, &scope, &canonical),
        );
        // In time independent of where the signatures differ (their lengths are public).
        if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
            return Ok(auth.secret_id);
        }
    }
    Err(VerifyError::SignatureFailure)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors computed independently with the official Python SDK
    // (tencentcloud-sdk-python-common 3.1.195): `ScfClient._build_req_with_tc3_signature`
    // with `time.time` fixed at 1551113065, region ap-guangzhou.
    const ID: &str = "AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE";
    const KEY: &str = "Gu5t9xGARNpq86cd98joQYCN3EXAMPLE";
    const TS: u64 = 1_551_113_065;

    fn cred() -> Credential {
        Credential::new(ID, KEY)
    }

    #[test]
    fn dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(TS), "2019-02-25");
        assert_eq!(utc_date(951_782_400), "2000-02-29");
        assert_eq!(utc_date(951_868_799), "2000-02-29");
        assert_eq!(utc_date(951_868_800), "2000-03-01");
        assert_eq!(utc_date(4_107_542_400), "2100-03-01");
        assert_eq!(utc_date(1_700_000_000), "2023-11-14");
        // Year boundaries, and a leap day of a year divisible by 400.
        assert_eq!(utc_date(1_704_067_199), "2023-12-31");
        assert_eq!(utc_date(1_704_067_200), "2024-01-01");
        assert_eq!(utc_date(1_709_164_800), "2024-02-29");
        assert_eq!(utc_date(253_402_300_799), "9999-12-31");
        assert_eq!(utc_date(u64::MAX), "9999-12-31");
    }

    #[test]
    fn dates_of_days() {
        // Table: (days since 1970-01-01, date): leap days of 2000 (divisible by 400) and not
        // of 2100.
        let cases = [
            (0, "1970-01-01"),
            (59, "1970-03-01"),
            (11_016, "2000-02-29"),
            (19_722, "2023-12-31"),
            (19_723, "2024-01-01"),
            (47_541, "2100-03-01"),
        ];
        for (days, date) in cases {
            assert_eq!(utc_date(days * 86_400), date, "day {days}");
        }
    }

    #[test]
    fn constant_time_comparison_refuses_other_lengths() {
        // What `verify` relies on: a prefix of the right signature is not equal to it.
        assert!(!bool::from(b"abcd"[..].ct_eq(&b"abc"[..])));
        assert!(bool::from(b"abcd"[..].ct_eq(&b"abcd"[..])));
    }

    #[test]
    fn signing_key_and_signature_match_python_hmac() {
        // hmac.new chain in Python, and Sign.sign_tc3 of the SDK.
        assert_eq!(
            hex::encode(signing_key(KEY, "2019-02-25", "scf")),
            "4878705bcc1c2b421004a7736ec41d2c453060e2be96d5c868fa82ccd238df68"
        );
        let to_sign = format!(
            "TC3-HMAC-SHA256\n1551113065\n2019-02-25/scf/tc3_request\n{}",
            sha256_hex(b"x")
        );
        assert_eq!(
            signature(KEY, "2019-02-25", "scf", &to_sign),
            "77e3988b24e5370531589bfbe6de66072865417fc0d33620fa34722c17927595"
        );
    }

    const POST_BODY: &str = r#"{"FunctionName": "CustomRuntime-Bash", "ClientContext": "{\"key1\": \"test value 1\"}"}"#;
    const POST_AUTH: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/scf/tc3_request, SignedHeaders=content-type;host, Signature=db7eb54ac6481cec5e4c3ab1fe1c49bd2f794a3eef75fcf9d94de2ced9c7f700";
    const GET_QUERY: &str = "FunctionName=CustomRuntime-Bash&Environment.Variables.0.Key=A&Environment.Variables.0.Value=b+c";
    const GET_AUTH: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/scf/tc3_request, SignedHeaders=content-type;host, Signature=eb42ec717c7a65a509f13d959e5698461826b0905eb9b10258e7ac65671d7a48";
    const UNSIGNED_AUTH: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/scf/tc3_request, SignedHeaders=content-type;host, Signature=05578c58b4e5e691081b1e87b80c572dea579d81d82d0da35fd4b64862920f5f";

    #[test]
    fn sign_matches_the_python_sdk() {
        let post = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &[
                ("content-type", "application/json"),
                ("host", "scf.tencentcloudapi.com"),
            ],
            payload: POST_BODY.as_bytes(),
        };
        assert_eq!(sign(&cred(), "scf", TS, &post), POST_AUTH);

        let get = Request {
            method: "GET",
            path: "/",
            query: GET_QUERY,
            headers: &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("host", "scf.tencentcloudapi.com"),
            ],
            payload: b"",
        };
        assert_eq!(sign(&cred(), "scf", TS, &get), GET_AUTH);
    }

    #[test]
    fn api_headers_match_the_python_sdk() {
        let headers = api_headers(
            &cred(),
            "scf",
            "scf.tencentcloudapi.com",
            "Invoke",
            "2018-04-16",
            Some("ap-guangzhou"),
            TS,
            POST_BODY.as_bytes(),
        );
        let get = |k: &str| {
            headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Authorization"), Some(POST_AUTH));
        assert_eq!(get("X-TC-Timestamp"), Some("1551113065"));
        assert_eq!(get("X-TC-Region"), Some("ap-guangzhou"));
        assert_eq!(get("X-TC-Token"), None);
    }

    fn lookup(id: &str) -> Option<String> {
        (id == ID).then(|| KEY.to_owned())
    }

    /// The headers the Python SDK sends (its POST vector), plus the Authorization given.
    fn received<'a>(
        auth: &'a str,
        ts: &'a str,
        ct: &'a str,
        host: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        vec![
            ("Host", host),
            ("Content-Type", ct),
            ("X-TC-Action", "Invoke"),
            ("X-TC-Timestamp", ts),
            ("X-TC-Version", "2018-04-16"),
            ("X-TC-Region", "ap-guangzhou"),
            ("X-TC-Language", "zh-CN"),
            ("Authorization", auth),
        ]
    }

    fn verify_post(headers: &[(&str, &str)], body: &str, now: u64) -> Result<String, VerifyError> {
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers,
            payload: body.as_bytes(),
        };
        verify(&req, "scf", now, lookup)
    }

    #[test]
    fn verify_accepts_the_python_sdk() {
        let h = received(
            POST_AUTH,
            "1551113065",
            "application/json",
            "scf.tencentcloudapi.com",
        );
        assert_eq!(verify_post(&h, POST_BODY, TS).as_deref(), Ok(ID));
        // Within five minutes either way.
        assert!(verify_post(&h, POST_BODY, TS + 300).is_ok());
        assert!(verify_post(&h, POST_BODY, TS - 300).is_ok());

        let get_headers = [
            ("host", "scf.tencentcloudapi.com"),
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-tc-timestamp", "1551113065"),
            ("authorization", GET_AUTH),
        ];
        let get = Request {
            method: "GET",
            path: "/",
            query: GET_QUERY,
            headers: &get_headers,
            payload: b"",
        };
        assert_eq!(verify(&get, "scf", TS, lookup).as_deref(), Ok(ID));

        let mut unsigned = received(
            UNSIGNED_AUTH,
            "1551113065",
            "application/json",
            "127.0.0.1:9100",
        );
        unsigned.push(("X-TC-Content-SHA256", "UNSIGNED-PAYLOAD"));
        // The body is not covered: any body verifies.
        assert!(verify_post(&unsigned, r#"{"FunctionName": "f"}"#, TS).is_ok());
        assert!(verify_post(&unsigned, r#"{"FunctionName": "g"}"#, TS).is_ok());
    }

    /// (headers received, body, server time, expected error).
    type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, u64, VerifyError);

    #[test]
    fn verify_refuses() {
        use VerifyError::*;
        let ts = "1551113065";
        let ok = |auth| received(auth, ts, "application/json", "scf.tencentcloudapi.com");
        // Table: (headers, body, now, expected error).
        let wrong_sig = POST_AUTH.replace("Signature=db7e", "Signature=db7f");
        let other_id = POST_AUTH.replace(ID, "AKIDother");
        let other_service = POST_AUTH.replace("/scf/", "/cvm/");
        let other_date = POST_AUTH.replace("2019-02-25", "2019-02-26");
        let only_host = POST_AUTH.replace("content-type;host", "host");
        let basic = "Basic dXNlcjpwYXNz".to_owned();
        let cases: Vec<Case> = vec![
            (ok(&wrong_sig), POST_BODY, TS, SignatureFailure),
            (
                ok(POST_AUTH),
                r#"{"FunctionName": "x"}"#,
                TS,
                SignatureFailure,
            ),
            (
                received(POST_AUTH, ts, "application/json", "127.0.0.1:1"),
                POST_BODY,
                TS,
                SignatureFailure,
            ),
            (ok(POST_AUTH), POST_BODY, TS + 301, SignatureExpire),
            (ok(POST_AUTH), POST_BODY, TS - 301, SignatureExpire),
            (ok(&other_id), POST_BODY, TS, SecretIdNotFound),
            (ok(&other_service), POST_BODY, TS, SignatureFailure),
            (ok(&other_date), POST_BODY, TS, SignatureFailure),
            (ok(&only_host), POST_BODY, TS, InvalidAuthorization),
            (ok(&basic), POST_BODY, TS, InvalidAuthorization),
            (
                received(POST_AUTH, "soon", "application/json", "h"),
                POST_BODY,
                TS,
                MissingTimestamp,
            ),
            (
                vec![("Host", "scf.tencentcloudapi.com")],
                POST_BODY,
                TS,
                MissingAuthorization,
            ),
        ];
        for (i, (headers, body, now, expected)) in cases.into_iter().enumerate() {
            assert_eq!(verify_post(&headers, body, now), Err(expected), "case {i}");
            // The head check refuses the same requests, except the first three, whose
            // signature alone is wrong.
            let head = check_head(&headers, "scf", now, |id| lookup(id).is_some());
            if i < 3 {
                assert_eq!(head.as_deref(), Ok(ID), "case {i}");
            } else {
                assert_eq!(head, Err(expected), "case {i}");
            }
        }
        assert_eq!(SignatureFailure.code(), "AuthFailure.SignatureFailure");
        assert_eq!(SignatureExpire.code(), "AuthFailure.SignatureExpire");
        assert_eq!(SecretIdNotFound.code(), "AuthFailure.SecretIdNotFound");
    }

    // Vectors computed independently with the official Node SDK
    // (tencentcloud-sdk-nodejs-common 4.1): `Sign.sign3` as `doRequestWithSign3` calls it for
    // a client whose endpoint is the host below, over http, the body `{"FunctionName":"hello"}`.
    // The SDK signs for the service `endpoint.split(".")[0]` and signs `host` as the URL's
    // hostname, without the port it sends in `Host`.
    const NODE_BODY: &str = r#"{"FunctionName":"hello"}"#;
    const NODE_AUTH_IP: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/127/tc3_request, SignedHeaders=content-type;host, Signature=4f03672b791f884111719df3e391d5b6b6613f27aa8f1aafe43b299077e47b52";
    const NODE_AUTH_NAME: &str = "TC3-HMAC-SHA256 Credential=AKIDz8krbsJ5yKBZQpn74WFkmLPx3EXAMPLE/2019-02-25/localhost:9100/tc3_request, SignedHeaders=content-type;host, Signature=fd5a83151f97e6235c4ba8eda25337f2c04b83623f52a6176178ee0c5a3a0969";

    #[test]
    fn verify_accepts_the_node_sdk_service_and_host() {
        for (auth, host) in [
            (NODE_AUTH_IP, "127.0.0.1:9100"),
            (NODE_AUTH_NAME, "localhost:9100"),
        ] {
            let h = received(auth, "1551113065", "application/json", host);
            assert_eq!(verify_post(&h, NODE_BODY, TS).as_deref(), Ok(ID), "{host}");
            assert_eq!(
                check_head(&h, "scf", TS, |id| id == ID).as_deref(),
                Ok(ID),
                "{host}"
            );
        }
        // Another Host: the service is no longer its first label.
        let h = received(
            NODE_AUTH_IP,
            "1551113065",
            "application/json",
            "10.0.0.1:9100",
        );
        assert_eq!(
            verify_post(&h, NODE_BODY, TS),
            Err(VerifyError::SignatureFailure)
        );
        // The right service, another port in Host: the signed hostname still matches, the
        // service no longer does.
        let h = received(
            NODE_AUTH_NAME,
            "1551113065",
            "application/json",
            "localhost:9101",
        );
        assert_eq!(
            verify_post(&h, NODE_BODY, TS),
            Err(VerifyError::SignatureFailure)
        );
    }

    #[test]
    fn services_accepted() {
        // Table: (service in the scope, server's service, Host, accepted).
        let cases = [
            ("scf", "scf", "scf.tencentcloudapi.com", true),
            ("scf", "scf", "127.0.0.1:9100", true),
            ("127", "scf", "127.0.0.1:9100", true),
            ("127", "scf", "127.0.0.1", true),
            ("localhost:9100", "scf", "localhost:9100", true),
            ("localhost", "scf", "localhost:9100", true),
            ("[::1]:9100", "scf", "[::1]:9100", true),
            ("[::1]", "scf", "[::1]:9100", true),
            ("cvm", "scf", "scf.tencentcloudapi.com", false),
            ("cvm", "scf", "127.0.0.1:9100", false),
            ("127.0", "scf", "127.0.0.1:9100", false),
            ("10", "scf", "127.0.0.1:9100", false),
            ("localhost:9101", "scf", "localhost:9100", false),
            ("", "scf", "", false),
            ("", "scf", ":9100", false),
        ];
        for (signed, service, host, accepted) in cases {
            assert_eq!(
                service_accepted(signed, service, host),
                accepted,
                "{signed} for {host}"
            );
        }
    }

    #[test]
    fn host_without_port() {
        for (host, name) in [
            ("127.0.0.1:9100", "127.0.0.1"),
            ("127.0.0.1", "127.0.0.1"),
            ("localhost:80", "localhost"),
            ("[::1]:9100", "[::1]"),
            ("[::1]", "[::1]"),
            ("h:", "h:"),
            ("h:x", "h:x"),
        ] {
            assert_eq!(without_port(host), name, "{host}");
        }
    }

    #[test]
    fn header_values_lowercased_or_as_sent() {
        // A client that signs `x-tc-action` with its value lowercased (the documentation's
        // example) and one that signs it as sent both verify.
        let headers = [
            ("content-type", "application/json"),
            ("host", "h:1"),
            ("x-tc-action", "GetFunction"),
        ];
        let req = Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &headers,
            payload: b"{}",
        };
        let lowered = sign(&cred(), "scf", TS, &req);
        let date = utc_date(TS);
        let as_sent = {
            let canonical = canonical_request_with(
                "POST",
                "/",
                "",
                &headers,
                &sha256_hex(b"{}"),
                Values::AsSent,
            );
            let to_sign = string_to_sign(TS, &credential_scope(&date, "scf"), &canonical);
            authorization(
                ID,
                &date,
                "scf",
                "content-type;host;x-tc-action",
                &signature(KEY, &date, "scf", &to_sign),
            )
        };
        assert_ne!(lowered, as_sent);
        for auth in [&lowered, &as_sent] {
            let mut received = headers.to_vec();
            received.push(("X-TC-Timestamp", "1551113065"));
            received.push(("Authorization", auth));
            let req = Request {
                headers: &received,
                ..req
            };
            assert_eq!(verify(&req, "scf", TS, lookup).as_deref(), Ok(ID));
        }
    }

    #[test]
    fn parse_authorization() {
        let a = Authorization::parse(POST_AUTH).unwrap();
        assert_eq!(a.secret_id, ID);
        assert_eq!(a.date, "2019-02-25");
        assert_eq!(a.service, "scf");
        assert_eq!(a.signed_headers, ["content-type", "host"]);
        for bad in [
            "",
            "TC3-HMAC-SHA256",
            "TC3-HMAC-SHA256Credential=a/b/c/tc3_request, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=a/b/c/tc4_request, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request/x, SignedHeaders=host, Signature=00",
            "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request, Signature=00",
            "TC3-HMAC-SHA256 Credential=a/b/c/tc3_request, SignedHeaders=host, Signature=00, Extra=1",
        ] {
            assert_eq!(
                Authorization::parse(bad),
                Err(VerifyError::InvalidAuthorization),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn credential_debug_hides_the_key() {
        let shown = format!("{:?}", cred());
        assert!(shown.contains(ID) && !shown.contains(KEY), "{shown}");
    }
}
