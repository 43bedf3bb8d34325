//! Reading the clock on the cold path without std's `Instant::now`.
//!
//! The runtime notes when each event arrives. Taken with `Instant::now`, the first reading
//! faults in std's clock code, a page of text of its own in a static binary; read from the C
//! library's `clock_gettime`, the code is already in pages the start-up touched. What is left
//! is the vDSO: the C library's first `clock_gettime` looks its symbol up in the vDSO's ELF
//! tables and then reads the kernel's clock page, two page faults — several times the cost of
//! one system call. So the first event's arrival is read with the `clock_gettime` system call
//! itself ([`Via::Syscall`], about 170 ns on the benchmark machine) and every later reading
//! through the vDSO ([`Via::Vdso`], about 25 ns). The arrival stays a number of nanoseconds on
//! `CLOCK_MONOTONIC` — the clock `Instant` reads on Linux — and becomes an `Instant` only if a
//! handler asks for its deadline.

use std::time::{Duration, Instant};

/// How a reading reaches the kernel's clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Via {
    /// The C library's `clock_gettime`, through the vDSO once it has been looked up.
    Vdso,
    /// The `clock_gettime` system call: no vDSO pages touched.
    Syscall,
}

/// Nanoseconds on the monotonic clock (`Instant`'s clock).
#[cfg(target_os = "linux")]
pub(crate) fn monotonic_ns(via: Via) -> u64 {
    crate::sys::clock_ns(crate::sys::CLOCK_MONOTONIC, via == Via::Syscall)
}

/// Milliseconds since the Unix epoch (AWS deadlines are given so).
#[cfg(target_os = "linux")]
pub(crate) fn realtime_ms(via: Via) -> u64 {
    crate::sys::clock_ns(crate::sys::CLOCK_REALTIME, via == Via::Syscall) / 1_000_000
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn monotonic_ns(_: Via) -> u64 {
    static BASE: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    let base = *BASE.get_or_init(Instant::now);
    Instant::now().duration_since(base).as_nanos() as u64
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn realtime_ms(_: Via) -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// The `Instant` that is `at` on the monotonic clock (nanoseconds, as [`monotonic_ns`]).
pub(crate) fn instant_at(at: u64) -> Instant {
    let (now, now_ns) = (Instant::now(), monotonic_ns(Via::Vdso));
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

    /// `instant_at` of a reading `offset_ns` (signed) from now, bracketed by two `Instant`s:
    /// the reading is taken between them, and `instant_at`'s own two readings too, so on one
    /// clock the result is within the bracket's width of `start + offset`. Orderings only:
    /// the bound widens with the load, it never fails because of it.
    fn maps_within_the_bracket(via: Via, offset_ns: i64) {
        let start = Instant::now();
        let at = monotonic_ns(via).checked_add_signed(offset_ns).unwrap();
        let i = instant_at(at);
        let end = Instant::now();
        let width = end - start;
        let offset = Duration::from_nanos(offset_ns.unsigned_abs());
        if offset_ns >= 0 {
            let after = i.saturating_duration_since(start);
            assert!(
                after + width >= offset && after <= offset + width,
                "{after:?} after the start, not {offset:?} ± {width:?}"
            );
        } else {
            assert!(i < end, "{i:?} is not in the past");
            let before = start.saturating_duration_since(i);
            assert!(
                before <= offset + width && before + width >= offset,
                "{before:?} before the start, not {offset:?} ± {width:?}"
            );
        }
    }

    #[test]
    fn the_monotonic_clock_is_instants_clock() {
        for via in [Via::Vdso, Via::Syscall] {
            maps_within_the_bracket(via, 2_000_000_000);
            maps_within_the_bracket(via, -1_000_000_000);
        }
        // The realtime clock is `SystemTime`'s: each reading lies between two of its own.
        for via in [Via::Vdso, Via::Syscall] {
            let epoch_ms = || {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
            };
            let before = epoch_ms();
            let ms = realtime_ms(via);
            let after = epoch_ms();
            assert!(before <= ms && ms <= after, "{before} {ms} {after}");
        }
    }

    #[test]
    fn the_system_call_and_the_vdso_read_the_same_clock() {
        for clock in [Via::Syscall, Via::Vdso] {
            let a = monotonic_ns(Via::Vdso);
            let b = monotonic_ns(clock);
            let c = monotonic_ns(Via::Syscall);
            assert!(a <= b && b <= c, "{a} {b} {c}");
        }
    }
}
