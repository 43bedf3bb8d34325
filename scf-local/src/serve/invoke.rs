//! The invocation actions: `Invoke` (`RequestResponse` or `Event`) and `InvokeFunction`,
//! running an event on the function's pool and recording its result for `GetFunctionLogs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{json, Map, Value};

use super::dispatch::Reply;
use super::error::ApiError;
use super::params::Params;
use super::registry::{Deployed, Slot};
use super::store::InvocationLog;
use super::validation::{namespace, qualifier};
use super::{now_ms, Server};
use crate::config::limits::{ASYNC_EVENT_LIMIT, EVENT_LIMIT};
use crate::pool::new_request_id;
use crate::result::{InvocationResult, Status};

/// How long an `Event` invocation waits for a free instance (retrying) before it gives up
/// with 432. The platform queues asynchronous events; so does the emulator, within this.
pub const ASYNC_QUEUE_TIME: Duration = Duration::from_secs(600);

/// Which of the two invocation actions a call is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum InvokeAction {
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

pub(super) async fn invoke(
    server: &Arc<Server>,
    p: Params,
    api: InvokeAction,
) -> Result<Reply, ApiError> {
    let name = p.required_str("FunctionName")?.to_owned();
    let namespace = namespace(&p)?;
    let (event_key, asynchronous) = match api {
        InvokeAction::InvokeFunction => ("Event", false),
        InvokeAction::Invoke => match p.str("InvocationType")?.unwrap_or("RequestResponse") {
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
        EVENT_LIMIT
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
            InvokeAction::Invoke => "InvalidParameterValue.ClientContext",
            InvokeAction::InvokeFunction => "InvalidParameterValue.Param",
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
