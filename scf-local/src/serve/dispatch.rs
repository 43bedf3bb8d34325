//! Which action runs a call, and what an action answers ([`Reply`]).
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

use serde_json::{Map, Value};

use super::error::ApiError;
use super::params::Params;
use super::Server;
use super::{functions, invoke, logs};

/// What an action answers: the fields of `Response` (without `RequestId`), and the request
/// id to use when the action made one (an invocation's).
pub struct Reply {
    /// Fields of `Response`.
    pub fields: Map<String, Value>,
    /// The `RequestId`, when it must be a particular one.
    pub request_id: Option<String>,
}

impl Reply {
    pub(super) fn empty() -> Reply {
        Reply {
            fields: Map::new(),
            request_id: None,
        }
    }

    pub(super) fn of(value: Value) -> Reply {
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
        "CreateFunction" => functions::create_function(server, params, region).await,
        "UpdateFunctionCode" => functions::update_function_code(server, params).await,
        "UpdateFunctionConfiguration" => {
            functions::update_function_configuration(server, params).await
        }
        "GetFunction" => functions::get_function(server, params),
        "ListFunctions" => functions::list_functions(server, params),
        "DeleteFunction" => functions::delete_function(server, params).await,
        "Invoke" => invoke::invoke(server, params, invoke::InvokeAction::Invoke).await,
        "InvokeFunction" => {
            invoke::invoke(server, params, invoke::InvokeAction::InvokeFunction).await
        }
        "GetFunctionLogs" => logs::get_function_logs(server, params).await,
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
