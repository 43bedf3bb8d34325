//! `GetFunctionLogs`: the results and logs of past invocations, synchronous and `Event`
//! ones, filtered, ordered and paged as the platform does.

use std::sync::Arc;

use serde_json::{json, Value};

use super::datetime::{datetime, parse_datetime};
use super::dispatch::Reply;
use super::error::ApiError;
use super::params::Params;
use super::store::LogQuery;
use super::validation::{namespace, qualifier};
use super::Server;

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

pub(super) async fn get_function_logs(server: &Arc<Server>, p: Params) -> Result<Reply, ApiError> {
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
