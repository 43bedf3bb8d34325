//! The workspace's one test kit (`publish = false`): what the runtime's tests, scf-local's,
//! cargo-scf's and the benchmark share.
//!
//! - [`runtime_api`]: the one fake runtime API, in SCF's dialect and AWS Lambda's. Two ways to
//!   drive it: [`runtime_api::ApiServer`], the lean threaded server the benchmark measures
//!   against (events handed out by a counter, results checked), and
//!   [`runtime_api::ScriptedApi`], one request at a time, each answer chosen by the test
//!   (framing, keep-alive or close), for the runtime's protocol tests. Both read with
//!   [`http::Conn`] and build `/next` answers with [`runtime_api::next_head`].
//! - [`http`]: just enough HTTP/1.1 (a message reader with a reused buffer, and a one-shot
//!   client, [`http::request`]).
//! - [`examples`]: the runtime's example bootstraps built for musl, as deployed.
//! - [`process`]: commands run under a time bound, killed (their process group) past it.
//! - [`procfs`]: what `/proc` says about a process: CPU time, faults, peak RSS, children,
//!   liveness, working directory.
//! - [`rie`]: AWS's runtime interface emulator, from a pinned `aws-sam-cli` wheel.
//! - [`protocol`]: the fixed facts both faces share (the request id handed out, the ARN, the trace id), and [`Dialect`], the workspace's one, re-exported from scf-local.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod examples;
pub mod http;
pub mod process;
pub mod procfs;
pub mod protocol;
pub mod rie;
pub mod runtime_api;

pub use protocol::{is_aws, SCF};
pub use scf_local::{Dialect, HeaderStyle};
