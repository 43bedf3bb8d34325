//! API errors: the platform's code and a message, sent as
//! `{"Response": {"Error": {"Code": …, "Message": …}, "RequestId": …}}` with HTTP 200.
//!
//! Where the codes come from: the common codes of TencentCloud API 3.0 (`AuthFailure.*`,
//! `InvalidAction`, `MissingParameter`, `NoSuchVersion`, `RequestSizeLimitExceeded`,
//! `UnsupportedProtocol`, `InternalError`, …), and SCF's own codes as listed by the official
//! SDK (`tencentcloud/scf/v20180416/errorcodes.py`: `ResourceNotFound.Function`,
//! `ResourceInUse.Function`, `InvalidParameterValue.Runtime`, …). `scf-local/README.md`
//! has the table of which situation gets which code.

use std::fmt;

/// One API error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    /// The platform's code, such as `ResourceNotFound.Function`.
    pub code: &'static str,
    /// What went wrong, for people.
    pub message: String,
}

impl ApiError {
    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// `MissingParameter`: a required parameter is absent.
    pub fn missing(name: &str) -> ApiError {
        ApiError::new(
            "MissingParameter",
            format!("the required parameter `{name}` is missing"),
        )
    }

    /// `InvalidParameterValue` (or a more precise code) for a parameter of the wrong type.
    pub fn wrong_type(name: &str, expected: &str) -> ApiError {
        ApiError::new(
            "InvalidParameterValue",
            format!("the parameter `{name}` must be {expected}"),
        )
    }

    /// `InternalError`: the emulator itself failed.
    pub fn internal(message: impl fmt::Display) -> ApiError {
        ApiError::new("InternalError", message.to_string())
    }

    /// The reply body for this error.
    pub fn envelope(&self, request_id: &str) -> String {
        serde_json::json!({
            "Response": {
                "Error": {"Code": self.code, "Message": self.message},
                "RequestId": request_id,
            }
        })
        .to_string()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<super::store::StoreError> for ApiError {
    fn from(e: super::store::StoreError) -> Self {
        ApiError::internal(e)
    }
}
