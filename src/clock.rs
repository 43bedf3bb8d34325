//! Reading the clock on the cold path without std's `Instant::now`.
//!
//! The runtime notes when each event arrives. Taken with `Instant::now`, the first reading
//! faults in std's clock code, a page of text of its own in a static binary; read from the C
//! library's `clock_gettime` (already in pages the start-up touched), only the vDSO's pages are
//! new. The arrival stays a number of nanoseconds on `CLOCK_MONOTONIC` — the clock `Instant`
//! reads on Linux — and becomes an `Instant` only if a handler asks for its deadline.

use std::time::{Duration, Instant};

/// Nanoseconds on the monotonic clock (`Instant`'s clock).
#[cfg(target_os = "linux")]
pub(crate) fn monotonic_ns() -> u64 {
    read(1) // CLOCK_MONOTONIC
}

/// Milliseconds since the Unix epoch (AWS deadlines are given so).
#[cfg(target_os = "linux")]
pub(crate) fn realtime_ms() -> u64 {
    read(0) / 1_000_000 // CLOCK_REALTIME
}

#[cfg(target_os = "linux")]
fn read(clock: core::ffi::c_int) -> u64 {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: core::ffi::c_int, ts: *mut Timespec) -> core::ffi::c_int;
    }
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec` (two 64-bit fields on 64-bit Linux,
    // glibc and musl alike); the clock ids are Linux's.
    unsafe {
        clock_gettime(clock, &mut ts);
    }
    (ts.tv_sec as u64)
        .saturating_mul(1_000_000_000)
        .saturating_add(ts.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn monotonic_ns() -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    Instant::now().duration_since(base).as_nanos() as u64
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn realtime_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The `Instant` that is `at` on the monotonic clock (nanoseconds, as [`monotonic_ns`]).
pub(crate) fn instant_at(at: u64) -> Instant {
    let (now, now_ns) = (Instant::now(), monotonic_ns());
    if at >= now_ns {
        now + Duration::from_nanos(at - now_ns)
    } else {
        now.checked_sub(Duration::from_nanos(now_ns - at))
            .unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_monotonic_clock_is_instants_clock() {
        let at = monotonic_ns() + 2_000_000_000;
        let i = instant_at(at);
        let left = i.saturating_duration_since(Instant::now());
        assert!(
            left > Duration::from_millis(1900) && left <= Duration::from_secs(2),
            "{left:?}"
        );
        let past = instant_at(monotonic_ns() - 1_000_000_000);
        assert!(past < Instant::now());
        let epoch_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        assert!(realtime_ms().abs_diff(epoch_ms) < 1000);
    }
}
