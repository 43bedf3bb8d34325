//! `cargo scf deploy`: create the function, or update it when it exists.
//!
//! 1. `GetFunction`: does it exist? (`ResourceNotFound.*`: no.)
//! 2. No: `CreateFunction` with `Runtime: "CustomRuntime"` and `Code.ZipFile` (base64), plus
//!    the settings given. If it answers `ResourceInUse.Function` (created meanwhile), go on
//!    as for an existing function.
//! 3. Yes: `UpdateFunctionCode` with `ZipFile`, then `UpdateFunctionConfiguration` with the
//!    settings given, if any.
//!
//! After each change the function is polled with `GetFunction` until its `Status` is
//! `Active`: the cloud refuses another change, or runs the old code, while it is `Creating`
//! or `Updating`. `scf-local serve` answers `Active` at once.

use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::api::{ApiError, CloudApi};
use crate::Error;

/// Most `GetFunction` polls while waiting for `Active`.
const MAX_POLLS: u32 = 180;

/// The function's settings given on the command line; `None` leaves the platform's default
/// (on create) or the current value (on update).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// `Timeout` in seconds.
    pub timeout: Option<u32>,
    /// `InitTimeout` in seconds.
    pub init_timeout: Option<u32>,
    /// `MemorySize` in MB.
    pub memory_mb: Option<u32>,
    /// `Environment.Variables`; on update they replace the function's variables.
    pub env: Vec<(String, String)>,
}

impl Settings {
    /// Whether any setting was given.
    pub fn is_empty(&self) -> bool {
        *self == Settings::default()
    }

    /// Adds the settings to an action's parameters.
    fn add_to(&self, params: &mut Map<String, Value>) {
        if let Some(t) = self.timeout {
            params.insert("Timeout".into(), t.into());
        }
        if let Some(t) = self.init_timeout {
            params.insert("InitTimeout".into(), t.into());
        }
        if let Some(m) = self.memory_mb {
            params.insert("MemorySize".into(), m.into());
        }
        if !self.env.is_empty() {
            let vars: Vec<Value> = self
                .env
                .iter()
                .map(|(k, v)| json!({"Key": k, "Value": v}))
                .collect();
            params.insert("Environment".into(), json!({ "Variables": vars }));
        }
    }
}

/// What to deploy.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// `FunctionName`.
    pub name: String,
    /// `Namespace`.
    pub namespace: String,
    /// The zip, base64-encoded.
    pub zip_base64: String,
    /// The settings given.
    pub settings: Settings,
}

/// What `deploy` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeployOutcome {
    /// The function was created.
    Created,
    /// The function existed; its code (and settings, if given) were updated.
    Updated,
}

/// Runs a deployment through `api`. `progress` gets a line before each long step; `pause`
/// waits between polls.
pub fn deploy(
    api: &dyn CloudApi,
    d: &Deployment,
    progress: &mut dyn FnMut(&str, &str),
    pause: &dyn Fn(Duration),
) -> Result<DeployOutcome, Error> {
    let id = json!({"FunctionName": d.name, "Namespace": d.namespace});
    let exists = match api.call("GetFunction", &id) {
        Ok(_) => true,
        Err(e) if e.code().is_some_and(|c| c.starts_with("ResourceNotFound")) => false,
        Err(e) => return Err(e.into()),
    };
    if !exists {
        let mut params = Map::new();
        params.insert("FunctionName".into(), d.name.clone().into());
        params.insert("Namespace".into(), d.namespace.clone().into());
        params.insert("Runtime".into(), "CustomRuntime".into());
        params.insert("Code".into(), json!({ "ZipFile": d.zip_base64 }));
        d.settings.add_to(&mut params);
        progress(
            "Creating",
            &format!(
                "function {} ({} bytes of base64 code)",
                d.name,
                d.zip_base64.len()
            ),
        );
        match api.call("CreateFunction", &Value::Object(params)) {
            Ok(_) => {
                wait_active(api, &id, progress, pause)?;
                return Ok(DeployOutcome::Created);
            }
            Err(e) if e.code() == Some("ResourceInUse.Function") => {
                progress(
                    "Exists",
                    &format!("function {} was created meanwhile: updating it", d.name),
                );
            }
            Err(e) => return Err(e.into()),
        }
    }
    progress(
        "Uploading",
        &format!(
            "code of {} ({} bytes of base64)",
            d.name,
            d.zip_base64.len()
        ),
    );
    let code = json!({
        "FunctionName": d.name,
        "Namespace": d.namespace,
        "ZipFile": d.zip_base64,
    });
    api.call("UpdateFunctionCode", &code)?;
    wait_active(api, &id, progress, pause)?;
    if !d.settings.is_empty() {
        let mut params = Map::new();
        params.insert("FunctionName".into(), d.name.clone().into());
        params.insert("Namespace".into(), d.namespace.clone().into());
        d.settings.add_to(&mut params);
        progress("Configuring", &format!("function {}", d.name));
        api.call("UpdateFunctionConfiguration", &Value::Object(params))?;
        wait_active(api, &id, progress, pause)?;
    }
    Ok(DeployOutcome::Updated)
}

/// Polls `GetFunction` until `Status` is `Active`. A status ending in `Failed` is an error
/// with the platform's `StatusDesc`; no `Status` at all counts as active.
fn wait_active(
    api: &dyn CloudApi,
    id: &Value,
    progress: &mut dyn FnMut(&str, &str),
    pause: &dyn Fn(Duration),
) -> Result<(), Error> {
    let mut last = String::new();
    for _ in 0..MAX_POLLS {
        let function = api.call("GetFunction", id)?;
        let status = function["Status"].as_str().unwrap_or("Active");
        if status == "Active" {
            return Ok(());
        }
        if status.ends_with("Failed") {
            let desc = function["StatusDesc"].as_str().unwrap_or_default();
            return Err(Error::new(format!(
                "the function's status is {status}: {desc}"
            )));
        }
        if status != last {
            progress("Waiting", &format!("function status {status}"));
            last = status.to_owned();
        }
        pause(Duration::from_secs(1));
    }
    Err(Error::new(format!(
        "the function is still {last} after {MAX_POLLS} s"
    )))
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        Error::new(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    /// The fake's answer to the `n`th call (from 0) of an action.
    type Script = Box<dyn Fn(&str, usize) -> Result<Value, ApiError>>;

    /// A fake API answering each action from a script, recording calls.
    struct Fake {
        calls: RefCell<Vec<(String, Value)>>,
        answer: Script,
    }

    impl Fake {
        /// A fake whose calls are answered by `answer(action, n)`, `n` counting the earlier
        /// calls of that action.
        fn answering(answer: impl Fn(&str, usize) -> Result<Value, ApiError> + 'static) -> Fake {
            Fake {
                calls: RefCell::default(),
                answer: Box::new(answer),
            }
        }
    }

    impl CloudApi for Fake {
        fn call(&self, action: &str, params: &Value) -> Result<Value, ApiError> {
            let n = self
                .calls
                .borrow()
                .iter()
                .filter(|(a, _)| a == action)
                .count();
            self.calls
                .borrow_mut()
                .push((action.to_owned(), params.clone()));
            (self.answer)(action, n)
        }
    }

    fn platform(action: &str, code: &str) -> ApiError {
        ApiError::Platform {
            action: action.into(),
            code: code.into(),
            message: format!("{code} message"),
            request_id: "rid".into(),
        }
    }

    fn deployment(settings: Settings) -> Deployment {
        Deployment {
            name: "hello".into(),
            namespace: "default".into(),
            zip_base64: "UEsFBg==".into(),
            settings,
        }
    }

    fn run(
        fake: &Fake,
        d: &Deployment,
    ) -> (Result<DeployOutcome, Error>, Vec<String>, Vec<String>) {
        let mut lines = Vec::new();
        let r = deploy(fake, d, &mut |v, m| lines.push(format!("{v} {m}")), &|_| {});
        let actions = fake.calls.borrow().iter().map(|(a, _)| a.clone()).collect();
        (r, actions, lines)
    }

    #[test]
    fn creates_a_new_function() {
        let fake = Fake::answering(|action, n| match (action, n) {
            ("GetFunction", 0) => Err(platform(action, "ResourceNotFound.Function")),
            ("GetFunction", 1) => Ok(json!({"Status": "Creating"})),
            ("GetFunction", _) => Ok(json!({"Status": "Active"})),
            _ => Ok(json!({})),
        });
        let settings = Settings {
            timeout: Some(10),
            memory_mb: Some(256),
            env: vec![("GREETING".into(), "Hi".into())],
            ..Settings::default()
        };
        let (r, actions, lines) = run(&fake, &deployment(settings));
        assert_eq!(r.unwrap(), DeployOutcome::Created);
        assert_eq!(
            actions,
            [
                "GetFunction",
                "CreateFunction",
                "GetFunction",
                "GetFunction"
            ]
        );
        let create = &fake.calls.borrow()[1].1;
        assert_eq!(
            create,
            &json!({
                "FunctionName": "hello", "Namespace": "default", "Runtime": "CustomRuntime",
                "Code": {"ZipFile": "UEsFBg=="}, "Timeout": 10, "MemorySize": 256,
                "Environment": {"Variables": [{"Key": "GREETING", "Value": "Hi"}]}
            })
        );
        assert!(
            lines
                .iter()
                .any(|l| l == "Waiting function status Creating"),
            "{lines:?}"
        );
    }

    #[test]
    fn updates_an_existing_function() {
        let fake = Fake::answering(|_, _| Ok(json!({"Status": "Active"})));
        let (r, actions, _) = run(&fake, &deployment(Settings::default()));
        assert_eq!(r.unwrap(), DeployOutcome::Updated);
        assert_eq!(
            actions,
            ["GetFunction", "UpdateFunctionCode", "GetFunction"]
        );
        assert_eq!(
            fake.calls.borrow()[1].1,
            json!({"FunctionName": "hello", "Namespace": "default", "ZipFile": "UEsFBg=="})
        );

        let fake = Fake::answering(|_, _| Ok(json!({"Status": "Active"})));
        let settings = Settings {
            init_timeout: Some(30),
            ..Settings::default()
        };
        let (r, actions, _) = run(&fake, &deployment(settings));
        assert_eq!(r.unwrap(), DeployOutcome::Updated);
        assert_eq!(
            actions,
            [
                "GetFunction",
                "UpdateFunctionCode",
                "GetFunction",
                "UpdateFunctionConfiguration",
                "GetFunction"
            ]
        );
        assert_eq!(
            fake.calls.borrow()[3].1,
            json!({"FunctionName": "hello", "Namespace": "default", "InitTimeout": 30})
        );
    }

    #[test]
    fn a_function_created_meanwhile_is_updated() {
        let fake = Fake::answering(|action, n| match (action, n) {
            ("GetFunction", 0) => Err(platform(action, "ResourceNotFound.Function")),
            ("CreateFunction", _) => Err(platform(action, "ResourceInUse.Function")),
            _ => Ok(json!({"Status": "Active"})),
        });
        let (r, actions, _) = run(&fake, &deployment(Settings::default()));
        assert_eq!(r.unwrap(), DeployOutcome::Updated);
        assert_eq!(
            actions,
            [
                "GetFunction",
                "CreateFunction",
                "UpdateFunctionCode",
                "GetFunction"
            ]
        );
    }

    #[test]
    fn api_errors_are_shown_as_the_platform_sent_them() {
        let fake = Fake::answering(|action, _| match action {
            "GetFunction" => Err(platform(action, "ResourceNotFound.Function")),
            _ => Err(platform(action, "InvalidParameterValue.MemorySize")),
        });
        let (r, actions, _) = run(&fake, &deployment(Settings::default()));
        assert_eq!(
            r.unwrap_err().to_string(),
            "CreateFunction failed: InvalidParameterValue.MemorySize: InvalidParameterValue.MemorySize message (RequestId rid)"
        );
        assert_eq!(actions, ["GetFunction", "CreateFunction"]);

        let fake =
            Fake::answering(|action, _| Err(platform(action, "AuthFailure.SecretIdNotFound")));
        let (r, actions, _) = run(&fake, &deployment(Settings::default()));
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("AuthFailure.SecretIdNotFound"));
        assert_eq!(actions, ["GetFunction"]);
    }

    #[test]
    fn a_failed_status_is_an_error() {
        let fake = Fake::answering(|action, n| match (action, n) {
            ("GetFunction", 0) => Ok(json!({"Status": "Active"})),
            ("GetFunction", _) => Ok(json!({"Status": "UpdateFailed", "StatusDesc": "bad zip"})),
            _ => Ok(json!({})),
        });
        let (r, _, _) = run(&fake, &deployment(Settings::default()));
        assert_eq!(
            r.unwrap_err().to_string(),
            "the function's status is UpdateFailed: bad zip"
        );
    }
}
