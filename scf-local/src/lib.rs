//! `scf_local`: Tencent Cloud SCF's side of the Custom Runtime protocol, on your machine.
//!
//! It starts a function's `bootstrap` the way the platform does and serves it the runtime API
//! (`/runtime/init/ready`, `/runtime/invocation/next`, `/runtime/invocation/response`,
//! `/runtime/invocation/error`), with the platform's lifecycle, limits, status codes, log
//! lines and result JSON. Any language works: the bootstrap only needs HTTP. With
//! [`Dialect::Aws`] an instance serves AWS Lambda's runtime API instead
//! ([`aws_runtime_api`]), over the same lifecycle and with the same results. With
//! [`Shape::Image`] or [`Shape::Job`] it runs a function the way SCF runs an image instead: an
//! HTTP server the events are POSTed to, or a command run once per event.
//!
//! The library is what the `scf-local` binary and any other front end (the cloud API, another
//! runtime API dialect) share:
//!
//! - [`Package`]: the code, a directory or a zip;
//! - [`FunctionConfig`]: `Timeout`, `InitTimeout`, `MemorySize`, `Handler`, variables, and
//!   the emulator's own knobs (concurrency, idle time, log tail, header spelling);
//! - [`Pool`]: instances of one function; [`Pool::invoke`] runs one event and returns an
//!   [`InvocationResult`], whose [`InvocationResult::to_json`] is the platform's `Result`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use scf_local::{FunctionConfig, Package, Pool};
//!
//! let package = Package::open("function.zip".as_ref())?;
//! let pool = Pool::new(FunctionConfig::default(), package)?;
//! let event = br#"{"key1": "test value 1"}"#;
//! scf_local::event::check_json(event)?;
//! let result = pool.invoke(bytes::Bytes::from_static(event)).await;
//! println!("{}", result.to_json());
//! pool.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Where the files are, in the platform's words:
//!
//! | module | concept |
//! |---|---|
//! | [`package`] | the code package and `bootstrap`; `pack` writes one |
//! | `instance` | one instance: process tree, environment, init, timeouts, exit, memory |
//! | `keeper` | the process that holds an instance's processes and kills them all with it |
//! | `tree` | an instance's processes in `/proc`: memory, and who holds a runtime API connection |
//! | `invocation` | the lifecycle shared by an instance and its runtime API (no HTTP) |
//! | [`runtime_api`] | SCF's runtime API over HTTP |
//! | [`aws_runtime_api`] | AWS Lambda's runtime API over HTTP (`--api aws`), same lifecycle |
//! | `webserver` | a WebServer image function's side: the wait for its listen, events POSTed with `X-Scf-*` headers |
//! | [`pool`] | warm reuse, concurrency limit, idle reclaim |
//! | [`result`] | the `Result` JSON and the status codes |
//! | [`log`] | `START` / `Init Report` / `END` / `Report` lines and the 4 KB tail |
//! | [`event`] | the `InvalidParameterValue` check of `Invoke` (from `scf-api`) |
//! | [`local_api`] | `POST /invoke` of `scf-local run` |
//! | [`tc3`] | TC3-HMAC-SHA256, the TencentCloud API signature (sign and verify; from `scf-api`) |
//! | `serve` | `scf-local serve`: the TencentCloud API of SCF (`CreateFunction`, `Invoke`, …); feature `serve` |
//! | [`scratch`] | private temporary directories, reclaimed after a crash |
//! | `cli` | the command line; feature `serve` |
//!
//! The feature `serve` (on by default) adds `serve`, `cli` and the `scf-local` binary, and
//! with them SQLite; a front end that only runs functions (cargo-scf) turns it off.

#![deny(missing_docs)]
#![deny(clippy::undocumented_unsafe_blocks)]

pub mod aws_runtime_api;
#[cfg(feature = "serve")]
pub mod cli;
pub mod config;
mod http_server;
mod instance;
mod invocation;
mod keeper;
pub mod local_api;
pub mod log;
mod memory;
mod output;
pub mod package;
pub mod pool;
pub mod result;
pub mod runtime_api;
pub mod scratch;
#[cfg(feature = "serve")]
pub mod serve;
mod tree;
mod webserver;

/// The check `Invoke` makes of an event: one JSON value, else `InvalidParameterValue`. From
/// the `scf-api` crate, shared with cargo-scf.
pub use scf_api::event;
/// TC3-HMAC-SHA256, the TencentCloud API signature (sign and verify), and the UTC date of a
/// timestamp. From the `scf-api` crate, shared with cargo-scf.
pub use scf_api::tc3;

pub use config::{ConfigError, Dialect, FunctionConfig, HeaderStyle, Shape};
pub use package::{Package, PackageError};
pub use pool::{Pool, PoolStats, ReplaceablePool};
pub use result::{InvocationResult, Status};
