//! The actions of service `scf`, version `2018-04-16`: parameters in, `Response` fields out.
//!
//! | action | what it does here |
//! |---|---|
//! | `CreateFunction` | stores a `CustomRuntime` function from `Code.ZipFile` (base64 zip) |
//! | `UpdateFunctionCode` | replaces the zip (`ZipFile` or `Code.ZipFile`), and `Handler` if given |
//! | `UpdateFunctionConfiguration` | `Description`, `MemorySize`, `Timeout`, `InitTimeout`, `Environment` |
//! | `GetFunction`, `ListFunctions`, `DeleteFunction` | as named |
//! | `Invoke` | `RequestResponse` (waits for the result) or `Event` (answers at once, runs in the background); `ClientContext` is the event |
//! | `InvokeFunction` | synchronous; `Event` is the event |
//! | `GetFunctionLogs` | the results and logs of past invocations, synchronous and `Event` ones |

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::error::ApiError;
use super::registry::{Deployed, Slot};
use super::params::Params;
use super::store::{FunctionRecord, InvocationLog, LogQuery};
use super::{now_ms, now_secs, Server};
use crate::config::{ENV_LIMIT, RESERVED_ENV_PREFIXES, SIX_MB};
use crate::pool::new_request_id;
use crate::result::{InvocationResult, Status};

/// The one runtime the emulator runs.
pub const CUSTOM_RUNTIME: &str = "CustomRuntime";

/// The platform's limit on an asynchronous (`Event`) event: 128 KB.
pub const ASYNC_EVENT_LIMIT: usize = 128 * 1024;

/// How long an `Event` invocation waits for a free instance (retrying) before it gives up
/// with 432. The platform queues asynchronous events; so does the emulator, within this.
pub const ASYNC_QUEUE_TIME: Duration = Duration::from_secs(600);

/// What an action answers: the fields of `Response` (without `RequestId`), and the request
/// id to use when the action made one (an invocation's).
pub struct Reply {
    /// Fields of `Response`.
    pub fields: Map<String, Value>,
    /// The `RequestId`, when it must be a particular one.
    pub request_id: Option<String>,
}

impl Reply {
    fn empty() -> Reply {
        Reply {
            fields: Map::new(),
            request_id: None,
        }
    }

    fn of(value: Value) -> Reply {
        match value {
            Value::Object(fields) => Reply {
                fields,
                request_id: None,
            },
            _ => Reply::empty(),
        }
    }
}

/// Runs `action`.
pub async fn dispatch(
    server: &Arc<Server>,
    action: &str,
    params: Params,
    region: &str,
) -> Result<Reply, ApiError> {
    match action {
        "CreateFunction" => create_function(server, params, region).await,
        "UpdateFunctionCode" => update_function_code(server, params).await,
        "UpdateFunctionConfiguration" => update_function_configuration(server, params).await,
        "GetFunction" => get_function(server, params),
        "ListFunctions" => list_functions(server, params),
        "DeleteFunction" => delete_function(server, params).await,
        "Invoke" => invoke(server, params, Api::Invoke).await,
        "InvokeFunction" => invoke(server, params, Api::InvokeFunction).await,
        "GetFunctionLogs" => get_function_logs(server, params).await,
        _ => Err(ApiError::new(
            "InvalidAction",
            format!(
                "the action {action} does not exist in scf 2018-04-16, or scf-local does not \
                 emulate it (it has CreateFunction, UpdateFunctionCode, \
                 UpdateFunctionConfiguration, GetFunction, ListFunctions, DeleteFunction, \
                 Invoke, InvokeFunction, GetFunctionLogs)"
            ),
        )),
    }
}

// ---------------------------------------------------------------------------------------
// Parameters shared by several actions.

fn namespace(p: &Params) -> Result<String, ApiError> {
    let ns = p.str("Namespace")?.unwrap_or("default");
    let ns = if ns.is_empty() { "default" } else { ns };
    let valid = ns.len() <= 30
        && ns
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(ApiError::new(
            "InvalidParameterValue.Namespace",
            format!("the namespace {ns:?} is not 1-30 letters, digits, - and _"),
        ));
    }
    Ok(ns.to_owned())
}

/// The platform's rule: 2-60 characters, letters, digits, `-` and `_`, starting with a
/// letter and not ending with `-` or `_`.
fn check_function_name(name: &str) -> Result<(), ApiError> {
    let b = name.as_bytes();
    let valid = (2..=60).contains(&b.len())
        && b[0].is_ascii_alphabetic()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_')
        && b[b.len() - 1].is_ascii_alphanumeric();
    if valid {
        Ok(())
    } else {
        Err(ApiError::new(
            "InvalidParameter.FunctionName",
            format!(
                "the function name {name:?} must be 2-60 letters, digits, - and _, start with a \
                 letter and end with a letter or digit"
            ),
        ))
    }
}

fn memory_size(p: &Params) -> Result<Option<u32>, ApiError> {
    let Some(mb) = p.int("MemorySize")? else {
        return Ok(None);
    };
    // 64, or 128 to 3072 in steps of 128 (SCF-PROTOCOL.md section 5).
    if mb == 64 || ((128..=3072).contains(&mb) && mb % 128 == 0) {
        Ok(Some(mb as u32))
    } else {
        Err(ApiError::new(
            "InvalidParameterValue.MemorySize",
            format!("MemorySize must be 64, or 128 to 3072 in steps of 128 (MB), not {mb}"),
        ))
    }
}

fn timeout(p: &Params) -> Result<Option<u32>, ApiError> {
    match p.int("Timeout")? {
        None => Ok(None),
        Some(s) if s > 900 => Err(ApiError::new(
            "LimitExceeded.Timeout",
            format!("Timeout must be at most 900 seconds, not {s}"),
        )),
        Some(s) if s < 1 => Err(ApiError::new(
            "InvalidParameterValue",
            format!("Timeout must be 1 to 900 seconds, not {s}"),
        )),
        Some(s) => Ok(Some(s as u32)),
    }
}

fn init_timeout(p: &Params) -> Result<Option<u32>, ApiError> {
    match p.int("InitTimeout")? {
        None => Ok(None),
        Some(s) if s > 86_400 => Err(ApiError::new(
            "LimitExceeded.InitTimeout",
            format!("InitTimeout must be at most a day, not {s} seconds"),
        )),
        Some(s) if s < 1 => Err(ApiError::new(
            "InvalidParameterValue",
            format!("InitTimeout must be at least 1 second, not {s}"),
        )),
        Some(s) => Ok(Some(s as u32)),
    }
}

fn description(p: &Params) -> Result<Option<String>, ApiError> {
    match p.str("Description")? {
        Some(d) if d.chars().count() > 1000 => Err(ApiError::new(
            "InvalidParameterValue.Description",
            "Description is at most 1000 characters",
        )),
        d => Ok(d.map(str::to_owned)),
    }
}

/// `Environment.Variables`: `[{Key, Value}]`. User variables may not use the platform's
/// reserved prefixes and take at most 4 KB in all, as in the cloud.
fn environment(p: &Params) -> Result<Option<Vec<(String, String)>>, ApiError> {
    let Some(env) = p.object("Environment")? else {
        return Ok(None);
    };
    let invalid = |m: String| ApiError::new("InvalidParameterValue.Environment", m);
    let mut vars: Vec<(String, String)> = Vec::new();
    let mut total = 0;
    for var in env.objects("Variables")? {
        let k = var.str("Key")?.unwrap_or("");
        let v = var.str("Value")?.unwrap_or("");
        if k.is_empty() || k.contains(['=', '\0']) || v.contains('\0') {
            return Err(invalid(format!("invalid variable name {k:?}")));
        }
        if vars.iter().any(|(name, _)| name == k) {
            return Err(invalid(format!("the variable {k} is given twice")));
        }
        if RESERVED_ENV_PREFIXES.iter().any(|p| k.starts_with(p)) {
            return Err(ApiError::new(
                "InvalidParameterValue.EnvironmentSystemProtect",
                format!(
                    "the variable {k} uses a prefix the platform reserves ({})",
                    RESERVED_ENV_PREFIXES.join(", ")
                ),
            ));
        }
        total += k.len() + v.len();
        vars.push((k.to_owned(), v.to_owned()));
    }
    if total > ENV_LIMIT {
        return Err(ApiError::new(
            "InvalidParameterValue.EnvironmentExceededLimit",
            format!("the variables take {total} bytes, over the platform's 4 KB"),
        ));
    }
    Ok(Some(vars))
}

fn runtime(p: &Params, required: bool) -> Result<(), ApiError> {
    match p.str("Runtime")? {
        None if required => Err(ApiError::new(
            "MissingParameter.Runtime",
            "Runtime is required: scf-local runs \"CustomRuntime\" functions",
        )),
        Some(r) if r != CUSTOM_RUNTIME => Err(ApiError::new(
            "InvalidParameterValue.Runtime",
            format!(
                "the runtime {r:?} is not emulated: scf-local runs \"CustomRuntime\" functions \
                 (an executable `bootstrap` in the zip)"
            ),
        )),
        _ => Ok(()),
    }
}

fn code_source(p: &Params) -> Result<(), ApiError> {
    match p.str("CodeSource")? {
        None | Some("ZipFile") | Some("") => Ok(()),
        Some(other) => Err(ApiError::new(
            "UnsupportedOperation",
            format!("CodeSource {other} is not emulated: send the code as a base64 ZipFile"),
        )),
    }
}

/// The zip of `ZipFile` (base64), checked to be a zip archive. Runs on a blocking thread:
/// decoding megabytes is not for the event loop.
async fn zip_file(b64: String) -> Result<Vec<u8>, ApiError> {
    tokio::task::spawn_blocking(move || {
        let cleaned: String = b64.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let zip = base64::engine::general_purpose::STANDARD
            .decode(cleaned.as_bytes())
            .map_err(|e| {
                ApiError::new(
                    "InvalidParameterValue.ZipFileBase64BinasciiError",
                    format!("ZipFile is not base64: {e}"),
                )
            })?;
        zip::ZipArchive::new(std::io::Cursor::new(&zip)).map_err(|e| {
            ApiError::new(
                "InvalidParameterValue.ZipFile",
                format!("ZipFile is not a zip archive: {e}"),
            )
        })?;
        Ok(zip)
    })
    .await
    .unwrap_or_else(|e| Err(ApiError::internal(e)))
}

/// The code of `CreateFunction`/`UpdateFunctionCode`: `ZipFile` at the top (the latter) or
/// in `Code`.
async fn code(p: &Params, top_level: bool) -> Result<Option<Vec<u8>>, ApiError> {
    code_source(p)?;
    let nested = p.object("Code")?;
    let mut b64 = if top_level {
        p.str("ZipFile")?.map(str::to_owned)
    } else {
        None
    };
    if let Some(code) = &nested {
        code_source(code)?;
        if b64.is_none() {
            b64 = code.str("ZipFile")?.map(str::to_owned);
        }
    }
    let cos = [
        "CosBucketName",
        "CosObjectName",
        "DemoId",
        "TempCosObjectName",
        "ImageConfig",
    ];
    let other = cos
        .iter()
        .find(|k| p.has(k) || nested.as_ref().is_some_and(|c| c.has(k)));
    match (b64, other) {
        (Some(b64), _) if !b64.is_empty() => zip_file(b64).await.map(Some),
        (_, Some(k)) => Err(ApiError::new(
            "UnsupportedOperation",
            format!("code from {k} is not emulated: send the zip as base64 in ZipFile"),
        )),
        _ => Ok(None),
    }
}

fn sha256_hex(data: &[u8]) -> String {
    crate::tc3::sha256_hex(data)
}

/// `YYYY-MM-DD HH:MM:SS` in UTC.
pub fn datetime(secs: u64) -> String {
    let (y, mo, d) = crate::tc3::civil_from_days((secs / 86_400) as i64);
    let s = secs % 86_400;
    format!(
        "{y:04}-{mo:02}-{d:02} {:02}:{:02}:{:02}",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// Parses `YYYY-MM-DD HH:MM:SS` (UTC) to Unix seconds.
pub fn parse_datetime(s: &str) -> Option<u64> {
    let (date, time) = s.trim().split_once(' ')?;
    let mut d = date.split('-').map(|x| x.parse::<i64>().ok());
    let (y, mo, day) = (d.next()??, d.next()??, d.next()??);
    let mut t = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, sec) = (t.next()??, t.next()??, t.next()??);
    if d.next().is_some()
        || t.next().is_some()
        || !(1..=12).contains(&mo)
        || !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&sec)
    {
        return None;
    }
    // Days from civil (the inverse of tc3::civil_from_days).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + h * 3600 + mi * 60 + sec).ok()
}

// ---------------------------------------------------------------------------------------
// Functions.

async fn create_function(server: &Arc<Server>, p: Params, region: &str) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    check_function_name(&name)?;
    let namespace = namespace(&p)?;
    runtime(&p, true)?;
    if let Some(t) = p.str("Type")? {
        if !t.is_empty() && t != "Event" {
            return Err(ApiError::new(
                "UnsupportedOperation",
                format!("function Type {t} is not emulated: scf-local runs event functions"),
            ));
        }
    }
    let memory = memory_size(&p)?;
    let timeout = timeout(&p)?;
    let init_timeout = init_timeout(&p)?;
    let env = environment(&p)?;
    let description = description(&p)?;
    let handler = p.str("Handler")?.filter(|h| !h.is_empty());
    if !p.has("Code") {
        return Err(ApiError::new(
            "MissingParameter.Code",
            "Code is required: {\"ZipFile\": \"<base64 zip>\"}",
        ));
    }
    let zip = code(&p, false).await?.ok_or_else(|| {
        ApiError::new(
            "MissingParameter.Code",
            "Code.ZipFile (a base64 zip) is required",
        )
    })?;
    let now = now_secs();
    let defaults = crate::config::FunctionConfig::default();
    let record = FunctionRecord {
        namespace,
        name,
        function_id: format!("lam-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        description: description.unwrap_or_default(),
        handler: handler.unwrap_or(&defaults.handler).to_owned(),
        runtime: CUSTOM_RUNTIME.to_owned(),
        timeout: timeout.unwrap_or(defaults.timeout.as_secs() as u32),
        init_timeout: init_timeout.unwrap_or(defaults.init_timeout.as_secs() as u32),
        memory_size: memory.unwrap_or(defaults.memory_mb),
        environment: env.unwrap_or_default(),
        region: region.to_owned(),
        code_size: zip.len() as u64,
        code_sha256: sha256_hex(&zip),
        add_time: now,
        mod_time: now,
        revision: 1,
    };
    validate(server, &record)?;
    server.registry.create(record, zip).await?;
    Ok(Reply::empty())
}

/// The library's own check of the limits, as a last word.
fn validate(server: &Server, record: &FunctionRecord) -> Result<(), ApiError> {
    server
        .registry
        .config(record)
        .validate()
        .map_err(|e| ApiError::new("InvalidParameterValue", e.to_string()))
}

async fn update_function_code(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    let namespace = namespace(&p)?;
    let handler = p
        .str("Handler")?
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    server.registry.get(&namespace, &name)?;
    let zip = code(&p, true).await?.ok_or_else(|| {
        ApiError::new(
            "MissingParameter.Code",
            "ZipFile (a base64 zip) is required, at the top or in Code",
        )
    })?;
    let (size, sha) = (zip.len() as u64, sha256_hex(&zip));
    server
        .registry
        .update(&namespace, &name, Some(zip), |r| {
            r.code_size = size;
            r.code_sha256 = sha;
            if let Some(h) = handler {
                r.handler = h;
            }
            Ok(())
        })
        .await?;
    Ok(Reply::empty())
}

async fn update_function_configuration(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    let namespace = namespace(&p)?;
    runtime(&p, false)?;
    let memory = memory_size(&p)?;
    let timeout = timeout(&p)?;
    let init_timeout = init_timeout(&p)?;
    let env = environment(&p)?;
    let description = description(&p)?;
    let check = server.clone();
    server
        .registry
        .update(&namespace, &name, None, move |r| {
            if let Some(m) = memory {
                r.memory_size = m;
            }
            if let Some(t) = timeout {
                r.timeout = t;
            }
            if let Some(t) = init_timeout {
                r.init_timeout = t;
            }
            if let Some(e) = env {
                r.environment = e;
            }
            if let Some(d) = description {
                r.description = d;
            }
            validate(&check, r)
        })
        .await?;
    Ok(Reply::empty())
}

fn qualifier(p: &Params, also: &str) -> Result<(), ApiError> {
    match p.str("Qualifier")? {
        None | Some("") | Some("$LATEST") => Ok(()),
        Some(q) if q == also => Ok(()),
        Some(q) => Err(ApiError::new(
            "InvalidParameterValue.Qualifier",
            format!("the version {q} does not exist: scf-local has $LATEST only"),
        )),
    }
}

fn variables(r: &FunctionRecord) -> Value {
    json!({
        "Variables": r.environment.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect::<Vec<_>>()
    })
}

fn get_function(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?;
    let namespace = namespace(&p)?;
    qualifier(&p, "$LATEST")?;
    let r = server.registry.get(&namespace, name)?;
    Ok(Reply::of(json!({
        "FunctionName": r.name,
        "FunctionId": r.function_id,
        "Namespace": r.namespace,
        "Runtime": r.runtime,
        "Handler": r.handler,
        "Description": r.description,
        "MemorySize": r.memory_size,
        "Timeout": r.timeout,
        "InitTimeout": r.init_timeout,
        "Environment": variables(&r),
        "CodeSize": r.code_size,
        "CodeInfo": "",
        "CodeResult": "success",
        "CodeError": "",
        "ErrNo": 0,
        "ModTime": datetime(r.mod_time),
        "AddTime": datetime(r.add_time),
        "FunctionVersion": "$LATEST",
        "Qualifier": "$LATEST",
        "Status": "Active",
        "StatusDesc": "",
        "StatusReasons": [],
        "AvailableStatus": "Available",
        "Type": "Event",
        "Triggers": [],
        "Tags": [],
        "Layers": [],
        "Role": "",
        "InstallDependency": "FALSE",
        "AsyncRunEnable": "FALSE",
        "TraceEnable": "FALSE",
        "L5Enable": "FALSE",
        "UseGpu": "FALSE",
        "DnsCache": "FALSE",
        "ClsLogsetId": "",
        "ClsTopicId": "",
    })))
}

fn list_functions(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let namespace = namespace(&p)?;
    let offset = p.int("Offset")?.unwrap_or(0);
    let limit = p.int("Limit")?.unwrap_or(20);
    if offset < 0 {
        return Err(ApiError::new(
            "InvalidParameterValue.Offset",
            "Offset must be 0 or more",
        ));
    }
    if limit < 0 {
        return Err(ApiError::new(
            "InvalidParameterValue.Limit",
            "Limit must be 0 or more",
        ));
    }
    let descending = match p
        .str("Order")?
        .unwrap_or("DESC")
        .to_ascii_uppercase()
        .as_str()
    {
        "ASC" => false,
        "DESC" => true,
        other => {
            return Err(ApiError::new(
                "InvalidParameterValue.Order",
                format!("Order is ASC or DESC, not {other}"),
            ))
        }
    };
    let order_by = p.str("Orderby")?.unwrap_or("AddTime");
    let search = p.str("SearchKey")?.unwrap_or("");
    let description = p.str("Description")?.unwrap_or("");
    let mut functions: Vec<Arc<FunctionRecord>> = server
        .registry
        .list(&namespace)
        .into_iter()
        .filter(|r| r.name.contains(search) && r.description.contains(description))
        .collect();
    match order_by {
        "AddTime" => functions.sort_by(|a, b| (a.add_time, &a.name).cmp(&(b.add_time, &b.name))),
        "ModTime" => functions.sort_by(|a, b| (a.mod_time, &a.name).cmp(&(b.mod_time, &b.name))),
        "FunctionName" => functions.sort_by(|a, b| a.name.cmp(&b.name)),
        other => {
            return Err(ApiError::new(
                "InvalidParameterValue.OrderBy",
                format!("Orderby is AddTime, ModTime or FunctionName, not {other}"),
            ))
        }
    }
    if descending {
        functions.reverse();
    }
    let total = functions.len();
    let page: Vec<Value> = functions
        .iter()
        .skip(offset as usize)
        .take(limit as usize)
        .map(|r| {
            json!({
                "FunctionName": r.name,
                "FunctionId": r.function_id,
                "Namespace": r.namespace,
                "Runtime": r.runtime,
                "Description": r.description,
                "ModTime": datetime(r.mod_time),
                "AddTime": datetime(r.add_time),
                "Status": "Active",
                "StatusDesc": "",
                "StatusReasons": [],
                "Tags": [],
                "Type": "Event",
                "AsyncRunEnable": "FALSE",
                "TraceEnable": "FALSE",
            })
        })
        .collect();
    Ok(Reply::of(json!({"Functions": page, "TotalCount": total})))
}

async fn delete_function(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?;
    let namespace = namespace(&p)?;
    qualifier(&p, "$LATEST")?;
    server.registry.delete(&namespace, name).await?;
    Ok(Reply::empty())
}

// ---------------------------------------------------------------------------------------
// Invocations.

#[derive(Clone, Copy, PartialEq, Eq)]
enum Api {
    /// `Invoke`: `ClientContext`, `InvocationType`.
    Invoke,
    /// `InvokeFunction`: `Event`, synchronous only.
    InvokeFunction,
}

/// The `Result` object of an invocation. `Log` is there only with `LogType: Tail`.
fn result_fields(r: &InvocationResult, tail: bool) -> Value {
    json!({
        "RetMsg": r.ret_msg,
        "ErrMsg": r.err_msg,
        "Log": if tail { r.log.as_str() } else { "" },
        "MemUsage": r.mem_usage,
        "Duration": r.duration_ms,
        "BillDuration": r.bill_duration_ms,
        "FunctionRequestId": r.request_id,
        "InvokeResult": r.invoke_result(),
    })
}

async fn invoke(server: &Arc<Server>, p: Params, api: Api) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    let namespace = namespace(&p)?;
    let (event_key, asynchronous) = match api {
        Api::InvokeFunction => ("Event", false),
        Api::Invoke => match p.str("InvocationType")?.unwrap_or("RequestResponse") {
            "RequestResponse" | "" => ("ClientContext", false),
            "Event" => ("ClientContext", true),
            other => {
                return Err(ApiError::new(
                    "InvalidParameterValue.InvokeType",
                    format!("InvocationType is RequestResponse or Event, not {other}"),
                ))
            }
        },
    };
    // InvokeFunction's default qualifier is the alias $DEFAULT, which points at $LATEST here.
    qualifier(&p, "$DEFAULT")?;
    let tail = match p.str("LogType")?.unwrap_or("None") {
        "None" | "" => false,
        "Tail" => true,
        other => {
            return Err(ApiError::new(
                "InvalidParameterValue",
                format!("LogType is None or Tail, not {other}"),
            ))
        }
    };
    let event = p.str(event_key)?.unwrap_or("{}");
    let limit = if asynchronous {
        ASYNC_EVENT_LIMIT
    } else {
        SIX_MB
    };
    if event.len() > limit {
        return Err(ApiError::new(
            "InvalidParameter.RequestTooLarge",
            format!(
                "the event is {} bytes, over the {} limit of {} bytes (406 RequestTooLarge)",
                event.len(),
                if asynchronous {
                    "asynchronous"
                } else {
                    "synchronous"
                },
                limit
            ),
        ));
    }
    if let Err(e) = crate::event::check_json(event.as_bytes()) {
        let code = match api {
            Api::Invoke => "InvalidParameterValue.ClientContext",
            Api::InvokeFunction => "InvalidParameterValue.Param",
        };
        return Err(ApiError::new(code, format!("{event_key}: {}", e.message())));
    }
    let event = Bytes::copy_from_slice(event.as_bytes());
    let request_id = new_request_id();
    let (_, slot) = server.registry.deployed(&namespace, &name).await?;
    if asynchronous {
        drop(slot);
        // Logged as running before the answer: GetFunctionLogs knows the id at once.
        let started = now_ms();
        server
            .record_running(&namespace, &name, started, &request_id)
            .await;
        let server = server.clone();
        let id = request_id.clone();
        tokio::spawn(async move { run_async(server, namespace, name, id, event, started).await });
        let queued = InvocationResult::failed(
            Status::Success,
            request_id.clone(),
            String::new(),
            String::new(),
        );
        return Ok(Reply {
            fields: Map::from_iter([("Result".to_owned(), result_fields(&queued, false))]),
            request_id: Some(request_id),
        });
    }
    let started = now_ms();
    let result = run(slot, request_id.clone(), event).await;
    server.record(&namespace, &name, started, &result, "RequestResponse");
    Ok(Reply {
        fields: Map::from_iter([("Result".to_owned(), result_fields(&result, tail))]),
        request_id: Some(request_id),
    })
}

/// Runs one invocation on a deployment, in its own task (a client that hangs up does not
/// take the instance down), holding the slot so a drain waits for it.
async fn run(slot: Slot, request_id: String, event: Bytes) -> InvocationResult {
    let failed =
        |status, id, msg: &str| InvocationResult::failed(status, id, msg.to_owned(), String::new());
    match slot.get() {
        Some(Deployed::Ready(pool)) => {
            let pool = pool.clone();
            let id = request_id.clone();
            let task = tokio::spawn(async move {
                let _held = slot;
                pool.invoke_with_id(id, event).await
            });
            task.await.unwrap_or_else(|_| {
                failed(Status::InternalError, request_id, "the invocation failed")
            })
        }
        Some(Deployed::Broken { status, message }) => failed(*status, request_id, message),
        None => failed(
            Status::InternalError,
            request_id,
            "the function is not deployed",
        ),
    }
}

/// An `Event` invocation (already logged as running): retried while every instance is busy
/// (the platform queues asynchronous events), then logged with its result.
async fn run_async(
    server: Arc<Server>,
    namespace: String,
    name: String,
    request_id: String,
    event: Bytes,
    started: u64,
) {
    let deadline = Instant::now() + ASYNC_QUEUE_TIME;
    let mut pause = Duration::from_millis(10);
    let result = loop {
        let result = match server.registry.deployed(&namespace, &name).await {
            Ok((_, slot)) => run(slot, request_id.clone(), event.clone()).await,
            Err(e) => InvocationResult::failed(
                Status::InternalError,
                request_id.clone(),
                e.to_string(),
                String::new(),
            ),
        };
        if result.status != Status::ConcurrencyLimitReached || Instant::now() >= deadline {
            break result;
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
    };
    server.record(&namespace, &name, started, &result, "Event");
}

impl Server {
    fn print_log(&self, result: &InvocationResult) {
        if self.options.print_logs {
            use std::io::Write as _;
            let _ = write!(std::io::stderr().lock(), "{}", result.log);
        }
    }

    async fn record_running(&self, namespace: &str, name: &str, started: u64, request_id: &str) {
        let log = InvocationLog {
            namespace: namespace.to_owned(),
            function_name: name.to_owned(),
            request_id: request_id.to_owned(),
            start_ms: started,
            finished: false,
            ret_code: 2,
            ret_msg: String::new(),
            log: String::new(),
            duration: 0.0,
            bill_duration: 0,
            mem_usage: 0,
            invocation_type: "Event".to_owned(),
        };
        let store = self.registry.store().clone();
        let written = tokio::task::spawn_blocking(move || store.record_invocation(&log)).await;
        if let Ok(Err(e)) = written {
            eprintln!("scf-local: cannot record the invocation log: {e}");
        }
    }

    /// Keeps an invocation's result for `GetFunctionLogs`.
    fn record(&self, namespace: &str, name: &str, started: u64, r: &InvocationResult, kind: &str) {
        self.print_log(r);
        let log = InvocationLog {
            namespace: namespace.to_owned(),
            function_name: name.to_owned(),
            request_id: r.request_id.clone(),
            start_ms: started,
            finished: true,
            ret_code: i64::from(r.invoke_result()),
            ret_msg: if r.succeeded() {
                r.ret_msg.clone()
            } else {
                r.err_msg.clone()
            },
            log: r.log.clone(),
            duration: r.duration_ms,
            bill_duration: r.bill_duration_ms,
            mem_usage: r.mem_usage,
            invocation_type: kind.to_owned(),
        };
        let store = self.registry.store().clone();
        tokio::task::spawn_blocking(move || {
            if let Err(e) = store.record_invocation(&log) {
                eprintln!("scf-local: cannot record the invocation log: {e}");
            }
        });
    }
}

// ---------------------------------------------------------------------------------------
// Logs.

/// `GetFunctionLogs`' bound on `Offset + Limit`, as the platform documents it.
pub const MAX_LOG_ROWS: i64 = 10_000;

/// The most bytes of `Data` in one `GetFunctionLogs` answer: rows past it are left for the
/// next page (`TotalCount` still counts them). A stored row is at most about 9 KB of text,
/// which JSON escapes may make six times larger, so this keeps at least 70 rows a page.
pub const LOGS_ANSWER_LIMIT: usize = 4 * 1024 * 1024;

/// Counts the bytes written to it, keeping none.
struct ByteCount(usize);

impl std::io::Write for ByteCount {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

async fn get_function_logs(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let namespace = namespace(&p)?;
    let function_name = p.str("FunctionName")?.filter(|n| !n.is_empty());
    if let Some(name) = function_name {
        server.registry.get(&namespace, name)?;
    }
    qualifier(&p, "$LATEST")?;
    let offset = p.int("Offset")?.unwrap_or(0);
    let limit = p.int("Limit")?.unwrap_or(20);
    if offset < 0
        || limit < 0
        || offset
            .checked_add(limit)
            .is_none_or(|end| end > MAX_LOG_ROWS)
    {
        return Err(ApiError::new(
            "InvalidParameterValue.Limit",
            "Offset and Limit must be 0 or more, with Offset + Limit at most 10000",
        ));
    }
    let ascending = match p
        .str("Order")?
        .unwrap_or("desc")
        .to_ascii_lowercase()
        .as_str()
    {
        "asc" => true,
        "desc" => false,
        other => {
            return Err(ApiError::new(
                "InvalidParameterValue.Order",
                format!("Order is asc or desc, not {other}"),
            ))
        }
    };
    let order_by = match p.str("OrderBy")?.unwrap_or("start_time") {
        "start_time" => "start_ms",
        "duration" => "duration",
        "mem_usage" => "mem_usage",
        "function_name" => "function_name",
        other => {
            return Err(ApiError::new(
                "InvalidParameterValue.OrderBy",
                format!("OrderBy is function_name, duration, mem_usage or start_time, not {other}"),
            ))
        }
    };
    let (mut succeeded, mut ret_code) = (None, None);
    if let Some(filter) = p.object("Filter")? {
        match filter.str("RetCode")?.unwrap_or("") {
            "" => {}
            "is0" => succeeded = Some(true),
            "not0" => succeeded = Some(false),
            "TimeLimitExceeded" => ret_code = Some(433),
            "ResourceLimitExceeded" => ret_code = Some(434),
            "UserCodeException" => ret_code = Some(430),
            other => {
                return Err(ApiError::new(
                    "InvalidParameterValue.RetCode",
                    format!(
                        "Filter.RetCode is is0, not0, TimeLimitExceeded, ResourceLimitExceeded \
                         or UserCodeException, not {other}"
                    ),
                ))
            }
        }
    }
    let time = |key: &str| -> Result<Option<u64>, ApiError> {
        match p.str(key)?.filter(|s| !s.is_empty()) {
            None => Ok(None),
            Some(s) => parse_datetime(s).map(|t| Some(t * 1000)).ok_or_else(|| {
                ApiError::new(
                    "InvalidParameterValue.StartTime",
                    format!("{key} is YYYY-MM-DD HH:MM:SS (UTC), not {s:?}"),
                )
            }),
        }
    };
    let (start_ms, end_ms) = (time("StartTime")?, time("EndTime")?);
    let query = LogQuery {
        namespace,
        function_name: function_name.map(str::to_owned),
        request_id: p
            .str("FunctionRequestId")?
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        succeeded,
        ret_code,
        start_ms,
        end_ms: end_ms.map(|e| e + 999),
        order_by,
        ascending,
        offset: offset as u64,
        limit: limit as u64,
        // The text of a row is never more than its JSON: no row the answer keeps is cut.
        max_bytes: Some(LOGS_ANSWER_LIMIT),
    };
    let store = server.registry.store().clone();
    let (total, logs) = tokio::task::spawn_blocking(move || store.invocations(&query))
        .await
        .map_err(ApiError::internal)??;
    let mut bytes = 0usize;
    let mut data: Vec<Value> = Vec::new();
    for row in logs.iter().map(|l| {
        json!({
            "FunctionName": l.function_name,
            "RetMsg": l.ret_msg,
            "RequestId": l.request_id,
            "StartTime": datetime(l.start_ms / 1000),
            "RetCode": l.ret_code,
            "InvokeFinished": i64::from(l.finished),
            "Duration": l.duration,
            "BillDuration": l.bill_duration,
            "MemUsage": l.mem_usage,
            "Log": l.log,
            "Level": if l.finished && l.ret_code != 0 { "ERROR" } else { "INFO" },
            "Source": l.invocation_type,
            "RetryNum": 0,
        })
    }) {
        let mut count = ByteCount(0);
        serde_json::to_writer(&mut count, &row).map_err(ApiError::internal)?;
        bytes = bytes.saturating_add(count.0);
        if bytes > LOGS_ANSWER_LIMIT && !data.is_empty() {
            break;
        }
        data.push(row);
    }
    Ok(Reply::of(json!({"TotalCount": total, "Data": data})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        for ok in [
            "ab",
            "CustomRuntime-Bash",
            "a_1",
            &format!("a{}", "b".repeat(59)),
        ] {
            assert!(check_function_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "1abc",
            "ab-",
            "ab_",
            "a b",
            "",
            &format!("a{}", "b".repeat(60)),
        ] {
            assert_eq!(
                check_function_name(bad).unwrap_err().code,
                "InvalidParameter.FunctionName",
                "{bad}"
            );
        }
    }

    #[test]
    fn datetimes_round_trip() {
        for t in [0u64, 1_551_113_065, 951_782_400, 4_107_542_399] {
            assert_eq!(parse_datetime(&datetime(t)), Some(t), "{t}");
        }
        assert_eq!(datetime(1_551_113_065), "2019-02-25 16:44:25");
        assert_eq!(parse_datetime("2019-02-25"), None);
        assert_eq!(parse_datetime("2019-13-25 00:00:00"), None);
    }

    #[test]
    fn memory_sizes() {
        let m = |v: i64| memory_size(&Params(Map::from_iter([("MemorySize".into(), json!(v))])));
        assert_eq!(m(64).unwrap(), Some(64));
        assert_eq!(m(3072).unwrap(), Some(3072));
        assert!(m(100).is_err());
        assert!(m(3200).is_err());
    }

    #[test]
    fn environment_rules() {
        let env = |vars: Value| {
            environment(&Params(Map::from_iter([(
                "Environment".into(),
                json!({ "Variables": vars }),
            )])))
        };
        assert_eq!(
            env(json!([{"Key": "A", "Value": "1"}])).unwrap(),
            Some(vec![("A".into(), "1".into())])
        );
        assert_eq!(
            env(json!([{"Key": "SCF_X", "Value": "1"}]))
                .unwrap_err()
                .code,
            "InvalidParameterValue.EnvironmentSystemProtect"
        );
        assert_eq!(
            env(json!([{"Key": "A", "Value": "x".repeat(5000)}]))
                .unwrap_err()
                .code,
            "InvalidParameterValue.EnvironmentExceededLimit"
        );
        assert_eq!(
            env(json!([{"Value": "1"}])).unwrap_err().code,
            "InvalidParameterValue.Environment"
        );
    }
}
