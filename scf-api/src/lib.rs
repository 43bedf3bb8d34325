//! `scf_api`: what a client of Tencent Cloud SCF's TencentCloud API and the emulator of that
//! API (`scf-local serve`) both need, in one place. Pure functions, no I/O, no clock.
//!
//! | module | concept |
//! |---|---|
//! | [`tc3`] | TC3-HMAC-SHA256, the TencentCloud API signature (sign and verify), and [`tc3::utc_date`], the UTC date of a timestamp |
//! | [`event`] | the `InvalidParameterValue` check of `Invoke`: an event must be JSON |
//!
//! `scf-local` re-exports both (`scf_local::tc3`, `scf_local::event`); `cargo-scf` signs its
//! calls and checks its events with them, without building the emulator's SQLite.
//!
//! ```
//! use scf_api::{event, tc3};
//!
//! assert!(event::check_json(br#"{"key1": "test value 1"}"#).is_ok());
//! assert_eq!(tc3::utc_date(1_700_000_000), "2023-11-14");
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod event;
pub mod tc3;
