//! The platform's limits on a function, in one table: [`FunctionConfig::validate`]
//! (`scf-local run` and `invoke`, the library) and `serve`'s parameter checks
//! (`CreateFunction`, `UpdateFunctionConfiguration`, `Invoke`) read the same constants.
//!
//! The source is Tencent Cloud's SCF documentation: the API reference of `CreateFunction`
//! (`MemorySize`: "64, or 128–3072 MB in steps of 128 MB"; `Timeout`: "1–900 s";
//! `Description`: at most 1000 characters), and the product page *Quota Limits* (memory from 64 MB to 3072 MB, in steps of 128 MB from 128 MB;
//! timeout 1 to 900 s; synchronous event and response 6 MB, asynchronous event 128 KB;
//! environment variables 4 KB per function).
//!
//! | setting | rule | constant |
//! |---|---|---|
//! | `MemorySize` | 64, or 128 to 3072 MB in steps of 128 | [`MEMORY_MIN_MB`], [`MEMORY_STEP_MB`], [`MEMORY_MAX_MB`], [`memory_size_allowed`] |
//! | `Timeout` | 1 to 900 s | [`TIMEOUT_MIN_SECS`], [`TIMEOUT_MAX_SECS`] |
//! | `InitTimeout` | 1 s to a day (the pages give a default, 65 s, and no maximum: the day is the emulator's) | [`INIT_TIMEOUT_MIN_SECS`], [`INIT_TIMEOUT_MAX_SECS`] |
//! | `Environment.Variables` | 4 KB of names and values in all | [`ENV_LIMIT`] |
//! | `Description` | 1000 characters | [`DESCRIPTION_MAX_CHARS`] |
//! | event of a synchronous invocation | 6 MB | [`EVENT_LIMIT`] |
//! | event of an asynchronous (`Event`) invocation | 128 KB | [`ASYNC_EVENT_LIMIT`] |
//! | response of an invocation | 6 MB | [`RESPONSE_LIMIT`] |
//!
//! The library takes a `Timeout` of less than a second (down to 1 ms), which the cloud API
//! cannot express: short timeouts make quick tests of a bootstrap's timeout handling.
//!
//! [`FunctionConfig::validate`]: super::FunctionConfig::validate

/// The smallest `MemorySize`, MB.
pub const MEMORY_MIN_MB: u32 = 64;

/// The step of `MemorySize` from 128 MB up, MB.
pub const MEMORY_STEP_MB: u32 = 128;

/// The largest `MemorySize`, MB.
pub const MEMORY_MAX_MB: u32 = 3072;

/// Whether `mb` is a `MemorySize` the platform takes: [`MEMORY_MIN_MB`], or a multiple of
/// [`MEMORY_STEP_MB`] up to [`MEMORY_MAX_MB`].
pub fn memory_size_allowed(mb: i64) -> bool {
    mb == i64::from(MEMORY_MIN_MB)
        || ((i64::from(MEMORY_STEP_MB)..=i64::from(MEMORY_MAX_MB)).contains(&mb)
            && mb % i64::from(MEMORY_STEP_MB) == 0)
}

/// The rule of [`memory_size_allowed`], in words, for error messages.
pub const MEMORY_RULE: &str = "64, or 128 to 3072 in steps of 128 (MB)";

/// The shortest `Timeout` the cloud API takes, seconds.
pub const TIMEOUT_MIN_SECS: u32 = 1;

/// The longest `Timeout`, seconds.
pub const TIMEOUT_MAX_SECS: u32 = 900;

/// The shortest `InitTimeout`, seconds.
pub const INIT_TIMEOUT_MIN_SECS: u32 = 1;

/// The longest `InitTimeout`, seconds: a day. The platform's pages give no maximum; the
/// emulator keeps one so that a typo does not leave an instance starting for ever.
pub const INIT_TIMEOUT_MAX_SECS: u32 = 86_400;

/// The most bytes of user variables (names and values) of one function.
pub const ENV_LIMIT: usize = 4 * 1024;

/// The longest `Description`, characters.
pub const DESCRIPTION_MAX_CHARS: usize = 1000;

/// The largest event of a synchronous invocation, bytes (406 `RequestTooLarge` beyond).
pub const EVENT_LIMIT: usize = 6 * 1024 * 1024;

/// The largest event of an asynchronous (`Event`) invocation, bytes.
pub const ASYNC_EVENT_LIMIT: usize = 128 * 1024;

/// The largest response of an invocation, bytes (407 beyond).
pub const RESPONSE_LIMIT: usize = 6 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        for ok in [64, 128, 256, 1536, 3072] {
            assert!(memory_size_allowed(ok), "{ok}");
        }
        for bad in [-128, 0, 32, 63, 65, 100, 192, 3071, 3200, 4096] {
            assert!(!memory_size_allowed(bad), "{bad}");
        }
    }
}
