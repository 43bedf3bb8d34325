//! `cargo scf invoke`: one event, run on this machine through `scf_local`, or in the cloud
//! (`--remote`) through the `Invoke` action.
//!
//! Both print the platform's `Result` JSON (`RetMsg`, `ErrMsg`, `Log`, `Duration`, …), so a
//! local run and a cloud run read the same.

use std::path::Path;

use bytes::Bytes;
use scf_local::{FunctionConfig, InvocationResult, Package, Pool};
use serde_json::{json, Value};

use crate::api::CloudApi;
use crate::Error;

/// The event when none is given: the platform's default.
pub const DEFAULT_EVENT: &str = "{}";

/// Checks that the event is JSON, as the platform's `Invoke` does before running anything.
pub fn check_event(event: &str) -> Result<(), Error> {
    scf_api::event::check_json(event.as_bytes()).map_err(|e| Error::new(format!("--event: {e}")))
}

/// The documented sample event called `name` (`apigw`, `timer`, …); the error lists the
/// names there are.
pub fn example_event(name: &str) -> Result<&'static str, Error> {
    scf_events::samples::lookup(name)
        .map(|s| s.json)
        .map_err(|e| Error::new(format!("--event-example: {e}")))
}

/// `event` with each `path=value` of `--set` applied (unchanged without any).
pub fn edit_event(event: String, changes: &[String]) -> Result<String, Error> {
    if changes.is_empty() {
        return Ok(event);
    }
    scf_events::samples::edit(&event, changes).map_err(|e| Error::new(format!("--set {e}")))
}

/// The parameters of a synchronous `Invoke` that returns the log's tail.
pub fn invoke_params(name: &str, namespace: &str, event: &str) -> Value {
    json!({
        "FunctionName": name,
        "Namespace": namespace,
        "InvocationType": "RequestResponse",
        "ClientContext": event,
        "LogType": "Tail",
    })
}

/// Calls the function in the cloud (or `scf-local serve`) and returns the answer:
/// `{"Result": {…}, "RequestId": …}`, the shape `scf-local invoke` prints too.
pub fn remote(
    api: &dyn CloudApi,
    name: &str,
    namespace: &str,
    event: &str,
) -> Result<Value, Error> {
    let response = api.call("Invoke", &invoke_params(name, namespace, event))?;
    if !response["Result"].is_object() {
        return Err(Error::new(format!(
            "Invoke: unexpected answer: no Result object in {response}"
        )));
    }
    Ok(response)
}

/// Whether an answer says the invocation succeeded (`Result.InvokeResult` 0).
pub fn succeeded(response: &Value) -> bool {
    response["Result"]["InvokeResult"].as_i64() == Some(0)
}

/// Runs one event on the code at `package` (a folder with `bootstrap`, or a zip) with the
/// emulator's instances, and stops them. `None` when interrupted (Ctrl-C).
pub fn local(
    package: &Path,
    config: FunctionConfig,
    event: &str,
) -> Result<Option<InvocationResult>, Error> {
    config.validate().map_err(|e| Error::new(e.to_string()))?;
    let package = Package::open(package).map_err(|e| Error::new(e.to_string()))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the local runtime: {e}")))?;
    let event = Bytes::from(event.to_owned());
    rt.block_on(async move {
        let pool = Pool::new(config, package).map_err(|e| Error::new(e.to_string()))?;
        let result = tokio::select! {
            r = pool.invoke(event) => Some(r),
            _ = tokio::signal::ctrl_c() => None,
        };
        pool.shutdown().await;
        Ok(result)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ApiError;

    struct Answer(Result<Value, ApiError>);

    impl CloudApi for Answer {
        fn call(&self, action: &str, params: &Value) -> Result<Value, ApiError> {
            assert_eq!(action, "Invoke");
            assert_eq!(params["ClientContext"], "{\"k\":1}");
            assert_eq!(params["LogType"], "Tail");
            self.0.clone()
        }
    }

    #[test]
    fn remote_results() {
        let ok = Answer(Ok(
            json!({"Result": {"RetMsg": "hi", "InvokeResult": 0}, "RequestId": "r"}),
        ));
        let response = remote(&ok, "f", "default", "{\"k\":1}").unwrap();
        assert_eq!(response["Result"]["RetMsg"], "hi");
        assert!(succeeded(&response));
        assert!(!succeeded(&json!({"Result": {"InvokeResult": 433}})));

        let missing = Answer(Ok(json!({"RequestId": "r"})));
        let err = remote(&missing, "f", "default", "{\"k\":1}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("Invoke: unexpected answer: no Result"),
            "{err}"
        );

        let refused = Answer(Err(ApiError::Platform {
            action: "Invoke".into(),
            code: "ResourceNotFound.Function".into(),
            message: "Function not found: f".into(),
            request_id: "r".into(),
        }));
        let err = remote(&refused, "f", "default", "{\"k\":1}").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invoke failed: ResourceNotFound.Function: Function not found: f (RequestId r)"
        );
    }

    #[test]
    fn events_must_be_json() {
        assert!(check_event("{\"a\": [1]}").is_ok());
        let err = check_event("{not json").unwrap_err().to_string();
        assert!(
            err.starts_with("--event: InvalidParameterValue: the event must be JSON"),
            "{err}"
        );
    }
}
