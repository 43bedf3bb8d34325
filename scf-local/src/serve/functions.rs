//! The function actions: `CreateFunction`, `UpdateFunctionCode`,
//! `UpdateFunctionConfiguration`, `GetFunction`, `ListFunctions`, `DeleteFunction`.

use std::sync::Arc;

use serde_json::{json, Value};

use super::code::{code, image_config, sha256_hex, JOB_IMAGE_PORT};
use super::datetime::datetime;
use super::dispatch::Reply;
use super::error::ApiError;
use super::params::Params;
use super::store::FunctionRecord;
use super::validation::{
    check_function_name, description, environment, init_timeout, memory_size, namespace, qualifier,
    runtime, timeout, CUSTOM_RUNTIME,
};
use super::{now_secs, Server};
use crate::config::IMAGE_LISTEN_TIMEOUT;

pub(super) async fn create_function(
    server: &Arc<Server>,
    p: Params,
    region: &str,
) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    check_function_name(&name)?;
    let namespace = namespace(&p)?;
    // An image names its command: no Runtime is needed.
    let image = image_config(&p)?;
    runtime(&p, image.is_none())?;
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
    // An image function's code is its image (a local directory or zip): nothing is stored.
    let zip = match image {
        Some(_) => Vec::new(),
        None => code(&p, false).await?.ok_or_else(|| {
            ApiError::new(
                "MissingParameter.Code",
                "Code.ZipFile (a base64 zip) is required",
            )
        })?,
    };
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
        init_timeout: init_timeout.unwrap_or(match &image {
            // The platform's limit on a WebServer image's listen.
            Some(i) if i.port != JOB_IMAGE_PORT => IMAGE_LISTEN_TIMEOUT.as_secs() as u32,
            _ => defaults.init_timeout.as_secs() as u32,
        }),
        memory_size: memory.unwrap_or(defaults.memory_mb),
        environment: env.unwrap_or_default(),
        region: region.to_owned(),
        code_size: zip.len() as u64,
        code_sha256: sha256_hex(&zip),
        add_time: now,
        mod_time: now,
        revision: 1,
        image,
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

pub(super) async fn update_function_code(
    server: &Arc<Server>,
    p: Params,
) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    let namespace = namespace(&p)?;
    let handler = p
        .str("Handler")?
        .filter(|h| !h.is_empty())
        .map(str::to_owned);
    let current = server.registry.get(&namespace, &name)?;
    if let Some(image) = image_config(&p)? {
        if current.image.is_none() {
            return Err(ApiError::new(
                "UnsupportedOperation",
                "a zip function cannot become an image function: create a new function",
            ));
        }
        server
            .registry
            .update(&namespace, &name, None, |r| {
                r.image = Some(image);
                Ok(())
            })
            .await?;
        return Ok(Reply::empty());
    }
    if current.image.is_some() {
        return Err(ApiError::new(
            "UnsupportedOperation",
            "an image function's code is its Code.ImageConfig, not a zip",
        ));
    }
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

pub(super) async fn update_function_configuration(
    server: &Arc<Server>,
    p: Params,
) -> Result<Reply, ApiError> {
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

fn variables(r: &FunctionRecord) -> Value {
    json!({
        "Variables": r.environment.iter()
            .map(|(k, v)| json!({"Key": k, "Value": v}))
            .collect::<Vec<_>>()
    })
}

pub(super) fn get_function(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
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
        "ImageConfig": image_json(&r),
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

pub(super) fn list_functions(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
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

pub(super) async fn delete_function(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?;
    let namespace = namespace(&p)?;
    qualifier(&p, "$LATEST")?;
    server.registry.delete(&namespace, name).await?;
    Ok(Reply::empty())
}

/// `ImageConfig` as `GetFunction` shows it; `null` for a zip function.
fn image_json(r: &FunctionRecord) -> Value {
    match &r.image {
        Some(i) => {
            let (command, args) = match i.command.split_first() {
                Some((c, rest)) => (c.clone(), rest.join(" ")),
                None => (String::new(), String::new()),
            };
            json!({
                "ImageType": i.image_type,
                "ImageUri": i.uri,
                "Command": command,
                "Args": args,
                "ImagePort": i.port,
            })
        }
        None => Value::Null,
    }
}
