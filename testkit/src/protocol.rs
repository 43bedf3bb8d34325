//! The fixed facts of the fake runtime API that the message reader ([`crate::http`]) and the
//! servers ([`crate::runtime_api`]) share: which dialect is which, and the values every event
//! carries.

use scf_local::{Dialect, HeaderStyle};

/// SCF's runtime API with the documentation's `/next` header names (`request_id`,
/// `memory_limit_in_mb`, `time_limit_in_ms`).
pub const SCF: Dialect = Dialect::Scf {
    headers: HeaderStyle::Doc,
};

/// Request id given with every event of [`crate::runtime_api::ApiServer`] (fixed, so that the
/// `/next` answer is built once; under AWS's dialect the bootstrap posts its result to a path
/// with this id, which [`crate::http::Route`] checks).
pub const REQUEST_ID: &str = "6d5a1c0e-bench-4c1d-9e0a-000000000001";

/// AWS: the function ARN given with every event (the account is the one AWS's documentation
/// uses in its examples, as in `scf-local --api aws`).
pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:bench-echo";

/// AWS: the X-Ray trace header given with every event.
pub const TRACE_ID: &str =
    "Root=1-6745f0c0-6d5a1c0e4c1d9e0a00000001;Parent=6d5a1c0e4c1d9e0a;Sampled=0";

/// Whether `dialect` is AWS Lambda's runtime API (`AWS_LAMBDA_RUNTIME_API`, no ready call,
/// `/2018-06-01/runtime/invocation/...` with the request id in the result paths) rather than
/// SCF's (`SCF_RUNTIME_API`, a ready call, `/runtime/invocation/...`), whose header spelling
/// changes no path. `Dialect` is non-exhaustive; the kit speaks these two only.
pub fn is_aws(dialect: Dialect) -> bool {
    match dialect {
        Dialect::Aws => true,
        Dialect::Scf { .. } => false,
        other => panic!("the test kit does not speak {other:?}"),
    }
}
